# %%
"""The output-size formula: (W - F + 2P)/S + 1.

Every example of the notes, computed by the formula and checked against the
shape striate's conv2d actually returns.

Run: python examples/03_output_size.py
"""
import argparse

import numpy as np

import striate.functional as F

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--fast", action="store_true", help="(accepted for symmetry)")
parser.add_argument("--out", help="(this script writes no file)")
parser.parse_known_args()     # a notebook kernel passes arguments of its own


def formula(w, f, p, s):
    return (w - f + 2 * p) // s + 1


examples = [
    ("7x7 image, 3x3 kernel, stride 1", 7, 3, 0, 1),
    ("7x7 image, 3x3 kernel, stride 2", 7, 3, 0, 2),
    ("7x7 image, 3x3 kernel, stride 1, zero padding", 7, 3, 1, 1),
    ("W=5, f=3, s=1, p=1", 5, 3, 1, 1),
    ("W=5, f=3, s=2, p=1", 5, 3, 1, 2),
    ("AlexNet conv1: 227x227, 11x11, stride 4", 227, 11, 0, 4),
    ("LeNet-5 C1: 28x28, 5x5, padding 2", 28, 5, 2, 1),
    ("LeNet-5 C3: 14x14, 5x5", 14, 5, 0, 1),
]
for label, w, f, p, s in examples:
    size = formula(w, f, p, s)
    out = F.conv2d(np.zeros((1, 1, w, w), np.float32), np.zeros((1, 1, f, f), np.float32),
                   stride=s, padding=p)
    assert out.shape[-1] == size
    print(f"{label}: ({w} - {f} + 2*{p})/{s} + 1 = {size}")

# %%
# Pooling uses the same formula with P = 0: (W - F)/S + 1.
for label, w, f, s in [("AlexNet pool1: 55, 3x3, stride 2", 55, 3, 2),
                       ("AlexNet pool2: 27, 3x3, stride 2", 27, 3, 2),
                       ("AlexNet pool5: 13, 3x3, stride 2", 13, 3, 2),
                       ("224x224x64, 2x2 max pool, stride 2", 224, 2, 2)]:
    size = formula(w, f, 0, s)
    pooled = F.max_pool2d(np.zeros((1, 1, w, w), np.float32), f, stride=s)
    assert pooled.shape[-1] == size
    print(f"{label}: ({w} - {f})/{s} + 1 = {size}")
