# %%
"""Receptive fields: one 7x7 convolution against a stack of three 3x3.

Both see a 7 x 7 patch of the input, but the stack has fewer weights
(3 x (C x (3 x 3 x C)) = 27 C^2 against C x (7 x 7 x C) = 49 C^2) and puts
two more nonlinearities in between. striate.summary's RF column tracks the
receptive field layer by layer.

Run: python examples/06_receptive_fields.py
"""
import argparse

import striate
import striate.nn as nn

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--fast", action="store_true", help="(accepted for symmetry)")
parser.add_argument("--out", help="(this script writes no file)")
parser.parse_known_args()     # a notebook kernel passes arguments of its own

C = 64
large = nn.Sequential(nn.Conv2d(C, C, 7, bias=False), nn.ReLU())
small = nn.Sequential(nn.Conv2d(C, C, 3, bias=False), nn.ReLU(),
                      nn.Conv2d(C, C, 3, bias=False), nn.ReLU(),
                      nn.Conv2d(C, C, 3, bias=False), nn.ReLU())
for name, model in (("one 7x7", large), ("three 3x3", small)):
    result = striate.summary(model, (C, 15, 15))
    print(f"{name}: receptive field {result.layers[-1].receptive_field[0]} pixels, "
          f"{result.total_params:,} weights, output {result.layers[-1].output_shape[2:]}")
print(f"C = {C}: 49 C^2 = {49 * C * C:,}, 27 C^2 = {27 * C * C:,}")
print("the stack, layer by layer (RF grows 3 -> 5 -> 7):")
print(striate.summary(small, (C, 15, 15)))
