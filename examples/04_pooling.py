# %%
"""Pooling, and how max pooling routes the gradient.

The notes' 5x5 image, max-pooled with a 3x3 window and stride 2, gives
[[8, 7], [9, 5]]. In the backward pass each output's gradient goes to the
one input that was the maximum; every other input gets zero.

Run: python examples/04_pooling.py
"""
import argparse

import numpy as np

import striate
import striate.functional as F

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--fast", action="store_true", help="(accepted for symmetry)")
parser.add_argument("--out", help="(this script writes no file)")
parser.parse_known_args()     # a notebook kernel passes arguments of its own

image = np.array([[1, 1, 2, 0, 4],
                  [0, 1, 7, 1, 0],
                  [0, 8, 1, 1, 1],
                  [9, 0, 1, 3, 5],
                  [0, 4, 1, 0, 0]], dtype=np.float64)
x = striate.tensor(image[None, None], requires_grad=True)
pooled = F.max_pool2d(x, kernel_size=3, stride=2)
print("max pooling, 3x3 window, stride 2:")
print(pooled.data[0, 0].astype(int))

# %%
# Backward with gradient 1 for every output: the 1s land on the maxima.
pooled.sum().backward()
print("gradient routed back to the input (1 where an output took its maximum):")
print(x.grad[0, 0].astype(int))
winners = [(int(r), int(c)) for r, c in zip(*np.nonzero(x.grad[0, 0]))]
print(f"the maxima sit at {winners}: values {[int(image[r, c]) for r, c in winners]}")

# %%
# Average pooling spreads the gradient evenly instead.
y = striate.tensor(image[None, None], requires_grad=True)
F.avg_pool2d(y, kernel_size=3, stride=2).sum().backward()
print("average pooling spreads it: the centre pixel (in all 4 windows) gets 4/9 =",
      round(float(y.grad[0, 0, 2, 2]), 4))

# %%
# The notes' volume example: 224x224x64 -> 112x112x64 with 2x2 windows, stride 2.
volume = np.zeros((1, 64, 224, 224), np.float32)
print("224x224x64 after 2x2 max pooling, stride 2:",
      "x".join(map(str, F.max_pool2d(volume, 2, stride=2).shape[2:] + (64,))))
