# %% [markdown]
# # 25 The textbook convolution: forward and both gradients on one screen
#
# `striate.functional.conv2d` carries fast routes (strips, phase planes, Winograd,
# channel-major layouts) spread over several files. This lesson is the whole
# convolution without them: stride, padding and groups, forward and both gradients,
# as im2col and one matrix product, beside the notes' derivation:
#
#   u[a,b,k] = sum_{i,j,c} w[k,c,i,j] x[c, i + a*S, j + b*S] + w0[k]        (forward)
#   dL/dw[k,c,i,j] = sum_{a,b} dL/du[a,b,k] x[c, i + a*S, j + b*S]            (summed over
#                    every offset: "all the paths in which a filter influences the output")
#   dL/dx = the output gradient sent back through the same windows: col2im of W^T dL/du
#           (for stride 1 and no groups, the full convolution with the flipped filters)
#
# im2col lays every window of the (padded) input out as a column; the layer is then
# one matrix product of the filters (rows) with the columns. Groups split the channels
# into G independent convolutions: one more (batched) axis of the same product.
#
# Run: `python examples/25_textbook_convolution.py`

# %%
import argparse

import numpy as np

import striate
import striate.functional as F

parser = argparse.ArgumentParser(description="the textbook convolution")
parser.add_argument("--fast", action="store_true", help="(accepted for symmetry)")
parser.add_argument("--out", help="(this script writes no file)")
args, _ = parser.parse_known_args()     # a notebook kernel passes arguments of its own


# %%
def im2col(xp, kh, kw, stride, oh, ow):
    """(N, C, H, W) padded input -> (N, C, KH, KW, OH, OW): every window's pixels."""
    n, c = xp.shape[:2]
    cols = np.empty((n, c, kh, kw, oh, ow), dtype=xp.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = xp[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride]
    return cols


def col2im(cols, shape, stride):
    """The adjoint of im2col: add every window's pixels back where they came from."""
    n, c, kh, kw, oh, ow = cols.shape
    xp = np.zeros(shape, dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            xp[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride] += cols[:, :, i, j]
    return xp


def conv_forward(x, w, b, stride=1, padding=0, groups=1):
    """x (N, C, H, W), w (K, C/G, KH, KW), b (K,) -> u (N, K, OH, OW), and what backward needs."""
    n, c, h, wd = x.shape
    k, cg, kh, kw = w.shape
    oh, ow = (h + 2 * padding - kh) // stride + 1, (wd + 2 * padding - kw) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    cols = im2col(xp, kh, kw, stride, oh, ow).reshape(n, groups, cg * kh * kw, oh * ow)
    wg = w.reshape(groups, k // groups, cg * kh * kw)         # (G, K/G, C/G*KH*KW)
    u = np.matmul(wg, cols).reshape(n, k, oh, ow)            # the one product, per group
    return u + b[None, :, None, None], (x.shape, xp.shape, cols, w, stride, padding, groups)


def conv_backward(du, saved):
    """dL/du (N, K, OH, OW) -> dL/dx (N, C, H, W), dL/dw (K, C/G, KH, KW), dL/db (K,)."""
    x_shape, padded_shape, cols, w, stride, padding, groups = saved
    k, cg, kh, kw = w.shape
    n, _, oh, ow = du.shape
    dug = du.reshape(n, groups, k // groups, oh * ow)
    # dL/dw: each weight met one pixel per offset; sum those products over offsets and images.
    dw = np.matmul(dug, cols.transpose(0, 1, 3, 2)).sum(axis=0).reshape(w.shape)
    # dL/dx: each window's pixels get W^T dL/du, then go back where im2col took them from.
    wg = w.reshape(groups, k // groups, cg * kh * kw)
    dcols = np.matmul(wg.transpose(0, 2, 1), dug).reshape(n, groups * cg, kh, kw, oh, ow)
    dxp = col2im(dcols, padded_shape, stride)
    dx = dxp[:, :, padding:padding + x_shape[2], padding:padding + x_shape[3]]
    return dx, dw, du.sum(axis=(0, 2, 3))


# %% [markdown]
# Checked against striate's `F.conv2d` (all its fast routes) and, if installed, PyTorch,
# in float64, over strides, paddings and groups, with odd sizes.

# %%
rng = np.random.default_rng(0)
worst = {"forward": 0.0, "dL/dx": 0.0, "dL/dw": 0.0, "dL/db": 0.0}
try:
    import torch
except ImportError:
    torch = None
cases = [(1, 0, 1), (2, 1, 1), (1, 2, 2), (3, 1, 3), (2, 0, 6)]    # stride, padding, groups
for stride, padding, groups in cases:
    x = rng.standard_normal((2, 6, 9, 8))
    w = rng.standard_normal((6, 6 // groups, 3, 3))
    b = rng.standard_normal(6)
    u, saved = conv_forward(x, w, b, stride, padding, groups)
    du = rng.standard_normal(u.shape)
    dx, dw, db = conv_backward(du, saved)

    xt, wt, bt = (striate.tensor(a, requires_grad=True) for a in (x, w, b))
    ut = F.conv2d(xt, wt, bt, stride=stride, padding=padding, groups=groups)
    ut.backward(du)
    references = [(ut.data, xt.grad, wt.grad, bt.grad)]
    if torch is not None:
        xq, wq, bq = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
        uq = torch.nn.functional.conv2d(xq, wq, bq, stride=stride, padding=padding,
                                        groups=groups)
        uq.backward(torch.tensor(du))
        references.append((uq.detach().numpy(), xq.grad.numpy(), wq.grad.numpy(),
                           bq.grad.numpy()))
    for reference in references:
        for name, mine, theirs in zip(worst, (u, dx, dw, db), reference):
            worst[name] = max(worst[name], float(np.abs(mine - np.asarray(theirs)).max()))
against = "F.conv2d and PyTorch" if torch is not None else "F.conv2d (PyTorch not installed)"
print(f"{len(cases)} cases (stride, padding, groups) = {cases}, against {against}:")
for name, difference in worst.items():
    print(f"  {name}: max |difference| = {difference:.1e}")

# %% [markdown]
# The notes: "backpropagation is also a convolution with flipped filters". For stride 1
# and one group, dL/dx above equals the full correlation of dL/du with the filters
# rotated by 180 degrees and their in/out channels swapped.

# %%
x, w, b = rng.standard_normal((1, 2, 6, 6)), rng.standard_normal((3, 2, 3, 3)), np.zeros(3)
u, saved = conv_forward(x, w, b)
du = rng.standard_normal(u.shape)
dx = conv_backward(du, saved)[0]
flipped = w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)               # (C, K, KH, KW)
dx_flipped = conv_forward(du, flipped, np.zeros(2), padding=2)[0]
print(f"dL/dx = full correlation with the flipped filters: max |difference| = "
      f"{np.abs(dx - dx_flipped).max():.1e}")
