# %%
"""Parameters of a fully connected layer against a convolutional layer.

The notes' example: a 32 x 32 RGB image ("Master Yoda") and 6 filters of
5 x 5. A fully connected layer from the 3,072 inputs to the 4,704 outputs
needs 14,450,688 weights; the convolution needs a few hundred.

The notes count (5 x 5 + 1) x 6 x 3 = 468: a 5 x 5 filter plus a bias for
each of the 6 filters and each of the 3 colour channels. A conv layer as
PyTorch (and striate) builds it has one filter of 5 x 5 x 3 per output map,
spanning all input channels, and one bias per map: (5 x 5 x 3 + 1) x 6 = 456.
The difference is the 2 extra biases per filter: 6 x 2 = 12.

Run: python examples/05_parameter_counts.py
"""
import argparse

import numpy as np

import striate.functional as F
import striate.nn as nn

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--fast", action="store_true", help="(accepted for symmetry)")
parser.add_argument("--out", help="(this script writes no file)")
parser.parse_known_args()     # a notebook kernel passes arguments of its own

inputs = 32 * 32 * 3
out = F.conv2d(np.zeros((1, 3, 32, 32), np.float32), np.zeros((6, 3, 5, 5), np.float32))
outputs = int(np.prod(out.shape[1:]))
print(f"input 32 x 32 x 3 = {inputs} values")
print(f"6 filters of 5 x 5: output {out.shape[2]} x {out.shape[3]} x {out.shape[1]} = {outputs} values")
print(f"fully connected: {inputs} x {outputs} = {inputs * outputs:,} weights")

notes = (5 * 5 + 1) * 6 * 3
print(f"the notes' count: (5 x 5 + 1) x 6 x 3 = {notes}")
layer = nn.Conv2d(3, 6, kernel_size=5)
counted = sum(p.numel() for p in layer.parameters())
print(f"nn.Conv2d(3, 6, 5) (as in PyTorch): weight {tuple(layer.weight.shape)} + bias "
      f"{tuple(layer.bias.shape)} = (5 x 5 x 3 + 1) x 6 = {counted}")
print(f"difference: {notes - counted} = 6 filters x 2 extra biases")
print(f"ratio fully connected / conv: {inputs * outputs / counted:,.0f}x")

# %%
# One filter of a colour image: 3 x 3 x 3 = 27 weights + 1 bias.
print("one 3x3 filter on an RGB image:", 3 * 3 * 3, "weights + 1 bias")
# AlexNet's first layer, from the notes' table.
alex = nn.Conv2d(3, 96, kernel_size=11, stride=4)
print(f"AlexNet conv1: (11*11*3 + 1)*96 = {sum(p.numel() for p in alex.parameters())}")
