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

import numpy as np

import striate
import striate.functional as F

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--fast", action="store_true", help="(accepted for symmetry)")
parser.add_argument("--out", help="(this script writes no file)")
parser.parse_known_args()     # a notebook kernel passes arguments of its own

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
