# %%
"""Dilated and 1x1 convolutions.

* Dilation spaces a filter's taps apart. The notes, in 1-d with a filter of
  3: no dilation computes w0 x0 + w1 x1 + w2 x2, "dilation 1" (one gap)
  w0 x0 + w1 x2 + w2 x4. striate (like PyTorch) counts the step between
  taps, so the notes' one gap is dilation=2. A 3x3 filter with dilation 2
  covers 5x5 pixels with 9 weights.
* A 1x1 convolution (Lin et al. 2013, "Network in Network") mixes channels
  at each pixel: W2 = W1, H2 = H1, D2 = K. The notes' example: 6x6x3 with
  three 1x1x3 filters gives 6x6x3.

Run: python examples/10_dilated_and_1x1.py
"""
import argparse

import numpy as np

import striate
import striate.functional as F
import striate.nn as nn

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--fast", action="store_true", help="(accepted for symmetry)")
parser.add_argument("--out", help="(this script writes no file)")
parser.parse_known_args()     # a notebook kernel passes arguments of its own

x = np.arange(10, 20, dtype=np.float64)          # x0..x9 = 10..19
w = np.array([1.0, 100.0, 10000.0])              # readable: each tap leaves its own digits
plain = F.conv1d(x[None, None], w[None, None]).data[0, 0]
dilated = F.conv1d(x[None, None], w[None, None], dilation=2).data[0, 0]
print(f"no dilation, first output: w0*x0 + w1*x1 + w2*x2 = {plain[0]:.0f} "
      f"(= {w[0] * x[0] + w[1] * x[1] + w[2] * x[2]:.0f})")
print(f"one gap (dilation=2), first output: w0*x0 + w1*x2 + w2*x4 = {dilated[0]:.0f} "
      f"(= {w[0] * x[0] + w[1] * x[2] + w[2] * x[4]:.0f})")
print(f"output lengths: {len(plain)} without, {len(dilated)} with dilation (10 - 5 + 1)")

rf = striate.summary(nn.Sequential(nn.Conv2d(1, 1, 3, dilation=2)), (1, 9, 9)).layers[-1]
print(f"3x3 filter, dilation 2: receptive field {rf.receptive_field[0]}x"
      f"{rf.receptive_field[1]} with {rf.num_params - 1} weights")

# %%
# 1x1 convolution: 6x6x3 volume, three 1x1x3 filters.
rng = np.random.default_rng(0)
volume = rng.normal(size=(1, 3, 6, 6))
filters = rng.normal(size=(3, 3, 1, 1))
out = F.conv2d(volume, filters).data
print(f"1x1 convolution: {volume.shape[2]}x{volume.shape[3]}x{volume.shape[1]} with 3 filters "
      f"1x1x3 -> {out.shape[2]}x{out.shape[3]}x{out.shape[1]}")
# At every pixel it is the same matrix product over channels.
per_pixel = np.einsum("oc,nchw->nohw", filters[:, :, 0, 0], volume)
print(f"1x1 conv = per-pixel matrix product: max |difference| {abs(out - per_pixel).max():.1e}")
reduce = F.conv2d(np.zeros((1, 256, 28, 28), np.float32), np.zeros((64, 256, 1, 1), np.float32))
print(f"channel reduction: 28x28x256 -> {reduce.shape[2]}x{reduce.shape[3]}x{reduce.shape[1]} "
      f"with {64 * 256:,} weights")
