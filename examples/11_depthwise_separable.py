# %%
"""Depthwise-separable convolution (Xception, Chollet 2017).

A standard KxK convolution from C_in to C_out channels has K*K*C_in*C_out
weights. Xception splits it: a depthwise KxK convolution (one filter per
channel, groups = C_in: K*K*C_in weights) and a pointwise 1x1 convolution
(C_in*C_out weights). The output has the same shape.

Run: python examples/11_depthwise_separable.py
"""
import argparse

import numpy as np

import striate
import striate.functional as F
import striate.nn as nn
from striate.models.xception import SeparableConv2d

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--fast", action="store_true", help="(accepted for symmetry)")
parser.add_argument("--out", help="(this script writes no file)")
parser.parse_known_args()     # a notebook kernel passes arguments of its own


def count(module):
    return sum(p.numel() for p in module.parameters())


K, C_in, C_out = 3, 128, 256
standard = nn.Conv2d(C_in, C_out, K, padding=1, bias=False)
depthwise = nn.Conv2d(C_in, C_in, K, padding=1, groups=C_in, bias=False)
pointwise = nn.Conv2d(C_in, C_out, 1, bias=False)
print(f"standard {K}x{K}, {C_in} -> {C_out}: {K}*{K}*{C_in}*{C_out} = {count(standard):,} weights")
print(f"depthwise {K}x{K} (groups={C_in}): {count(depthwise):,}; pointwise 1x1: "
      f"{count(pointwise):,}; together {count(depthwise) + count(pointwise):,}")
print(f"saving: {count(standard) / (count(depthwise) + count(pointwise)):.1f}x fewer weights")

x = np.random.default_rng(0).normal(size=(1, C_in, 8, 8)).astype(np.float32)
print("output shapes:", tuple(standard(x).shape), "and", tuple(pointwise(depthwise(x)).shape))

# %%
# The separable pair is a standard convolution whose filter is rank one
# across (space, channel): w[o, c] = p[o, c] * d[c].
d = depthwise.weight.data[:, 0]                       # (C_in, K, K)
p = pointwise.weight.data[:, :, 0, 0]                 # (C_out, C_in)
combined = p[:, :, None, None] * d[None]              # (C_out, C_in, K, K)
same = F.conv2d(x, combined, padding=1).data
print(f"depthwise then pointwise = one conv with w[o,c] = p[o,c]*d[c]: max |difference| "
      f"{abs(same - pointwise(depthwise(x)).data).max():.1e}")

block = SeparableConv2d(C_in, C_out)
print(f"striate's Xception SeparableConv2d({C_in}, {C_out}): {count(block):,} weights")

# %% [markdown]
# The notes' actual point about Xception: it is an "extreme version of inception" that
# decouples cross-channel and spatial correlations, *similar* to a depthwise-separable
# convolution, with two differences (the notes' table):
#
# | | depthwise separable | Xception (the notes' reading) |
# |---|---|---|
# | order | channel-wise spatial convolution first, then 1x1 | 1x1 convolution first, then channel-wise spatial |
# | nonlinearity | none between the two | ReLU after each step |
#
# Both orders below, with and without the ReLU. Without a nonlinearity the order only
# changes the parameter count (a rank-one filter either way); with a ReLU between the
# steps the pair is no longer any single convolution. (Chollet's paper argues the order
# matters little because the modules are stacked; its experiments found that a ReLU
# between the two steps made results worse; and its own implementation, like
# striate's `SeparableConv2d` and Keras', puts the depthwise step first with no ReLU
# inside and a ReLU before each separable convolution.)

# %%
spatial_first = count(depthwise) + count(pointwise)                        # K*K*C_in + C_in*C_out
pointwise_xc = nn.Conv2d(C_in, C_out, 1, bias=False)
depthwise_xc = nn.Conv2d(C_out, C_out, K, padding=1, groups=C_out, bias=False)
pointwise_first = count(pointwise_xc) + count(depthwise_xc)                # C_in*C_out + K*K*C_out
print(f"spatial first (depthwise separable): {K}*{K}*{C_in} + {C_in}*{C_out} = {spatial_first:,}")
print(f"1x1 first (Xception's order in the notes): {C_in}*{C_out} + {K}*{K}*{C_out} = "
      f"{pointwise_first:,}")

relu = lambda t: np.maximum(t, 0)
linear_xc = depthwise_xc(pointwise_xc(x)).data
nonlinear_xc = depthwise_xc(striate.tensor(relu(pointwise_xc(x).data))).data
# Without the ReLU, 1x1-then-depthwise is again one convolution, w[o,c] = d[o]*p[o,c].
d_xc = depthwise_xc.weight.data[:, 0]                                       # (C_out, K, K)
p_xc = pointwise_xc.weight.data[:, :, 0, 0]                                 # (C_out, C_in)
one_conv = F.conv2d(x, d_xc[:, None] * p_xc[:, :, None, None], padding=1).data
print(f"1x1 then depthwise, no ReLU = one conv: max |difference| "
      f"{abs(one_conv - linear_xc).max():.1e}")
print(f"with a ReLU after the 1x1 step, the same single conv misses by "
      f"{abs(one_conv - nonlinear_xc).max():.2f}")
