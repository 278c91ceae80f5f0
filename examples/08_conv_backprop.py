# %%
"""Backpropagation through a conv layer by hand, checked against autograd.

For u[a, b] = sum_ij w[i, j] x[i + a, j + b] (the notes' forward pass):

* dL/dw[i, j] = sum_ab dL/du[a, b] x[i + a, j + b]: every offset where the
  filter was applied adds to the weight's gradient (the notes: "sum over all
  the paths in which a filter influences the output"), i.e. a correlation of
  the input with the output gradient;
* dL/dx = the *full* correlation of the output gradient with the *flipped*
  filter ("backpropagation is also a convolution with flipped filters").

Run: python examples/08_conv_backprop.py
"""
import argparse
import os
import tempfile

import numpy as np

import striate
import striate.functional as F

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--fast", action="store_true", help="(accepted for symmetry)")
parser.add_argument("--out", help="PNG to write (default: a temporary file)")
args, _ = parser.parse_known_args()     # a notebook kernel passes arguments of its own

rng = np.random.default_rng(0)
x = rng.normal(size=(6, 7))
w = rng.normal(size=(3, 3))
upstream = rng.normal(size=(4, 5))          # dL/du for the 4x5 output


def correlate(image, kernel):
    kh, kw = kernel.shape
    rows, cols = image.shape[0] - kh + 1, image.shape[1] - kw + 1
    return np.array([[(image[a:a + kh, b:b + kw] * kernel).sum() for b in range(cols)]
                     for a in range(rows)])


# %%
# By hand.
grad_w = correlate(x, upstream)                                     # (3, 3)
padded = np.pad(upstream, ((2, 2), (2, 2)))                         # full: pad by K - 1
grad_x = correlate(padded, w[::-1, ::-1])                           # (6, 7)

# %%
# With autograd.
xt = striate.tensor(x[None, None], requires_grad=True)
wt = striate.tensor(w[None, None], requires_grad=True)
F.conv2d(xt, wt).backward(upstream[None, None])
print("output 6x7 * 3x3 ->", upstream.shape)
print(f"dL/dw by hand vs autograd: max |difference| = {abs(grad_w - wt.grad[0, 0]).max():.1e}")
print(f"dL/dx by hand (flipped filter) vs autograd: max |difference| = "
      f"{abs(grad_x - xt.grad[0, 0]).max():.1e}")
# The flip matters: the unflipped filter gives a different (wrong) input gradient.
wrong = correlate(padded, w)
print(f"without the flip: max |difference| = {abs(wrong - xt.grad[0, 0]).max():.2f}")

# %%
# The gradients themselves, not only their difference: dL/dw is 3x3 like w, dL/dx is
# 6x7 like x. Every entry of dL/dw is a sum over all 4x5 offsets.
np.set_printoptions(precision=2, suppress=True)
print("w:")
print(w)
print("the flipped filter w[::-1, ::-1] used for dL/dx:")
print(w[::-1, ::-1])
print("dL/dw (by hand):")
print(grad_w)
print("dL/dx (by hand):")
print(grad_x)

# %%
# Several channels and a bias, as a real layer has: 2 input channels, 3 filters.
# dL/dw[k, c] = correlate(x[c], dL/du[k]); dL/dx[c] = sum_k full-correlate(dL/du[k],
# flip(w[k, c])); dL/db[k] = the sum of dL/du[k] over all offsets.
xs = rng.normal(size=(2, 6, 7))
ws = rng.normal(size=(3, 2, 3, 3))
bs = rng.normal(size=3)
ups = rng.normal(size=(3, 4, 5))
gw = np.array([[correlate(xs[c], ups[k]) for c in range(2)] for k in range(3)])
gx = np.array([sum(correlate(np.pad(ups[k], 2), ws[k, c, ::-1, ::-1]) for k in range(3))
               for c in range(2)])
gb = ups.sum(axis=(1, 2))
xt = striate.tensor(xs[None], requires_grad=True)
wt = striate.tensor(ws, requires_grad=True)
bt = striate.tensor(bs, requires_grad=True)
F.conv2d(xt, wt, bt).backward(ups[None])
gaps = [abs(gw - wt.grad).max(), abs(gx - xt.grad[0]).max(), abs(gb - bt.grad).max()]
print("2 channels in, 3 filters, with bias: largest gap to autograd in dL/dw, dL/dx, dL/db: "
      + ", ".join(f"{g:.1e}" for g in gaps))

# %%
import matplotlib.pyplot as plt  # noqa: E402  (plotting only here)

panels = [(w, "filter w"), (w[::-1, ::-1], "flipped filter"), (upstream, "dL/du (4x5)"),
          (padded, "dL/du padded by 2"), (grad_x, "dL/dx = corr(padded, flipped)"),
          (grad_w, "dL/dw = corr(x, dL/du)")]
figure, axes = plt.subplots(1, len(panels), figsize=(15, 3))
for axis, (panel, title) in zip(axes, panels):
    limit = np.abs(panel).max()
    axis.imshow(panel, cmap="seismic", vmin=-limit, vmax=limit)
    for (i, j), value in np.ndenumerate(panel):
        axis.text(j, i, f"{value:.1f}", ha="center", va="center", fontsize=6)
    axis.set_title(title, fontsize=9)
    axis.axis("off")
figure.tight_layout()
out = args.out or os.path.join(tempfile.mkdtemp(), "conv_backprop.png")
figure.savefig(out, dpi=80)
print(f"wrote {out}")
