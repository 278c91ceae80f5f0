# %%
"""Convolution by hand and with striate.functional.conv2d.

The notes' worked examples: a 2x2 patch times a 2x2 filter (19), the 4x4
image with a 2x2 kernel, the 5x5 binary image with the X filter (no padding,
zero padding, stride 2), and the difference between the cross-correlation
CNN layers compute and the true convolution S = I * K of the notes' formula.

Run: python examples/02_convolution_by_hand.py
"""
import argparse

import numpy as np

import striate.functional as F

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--fast", action="store_true", help="(accepted for symmetry)")
parser.add_argument("--out", help="(this script writes no file)")
parser.parse_known_args()     # a notebook kernel passes arguments of its own


def slide(image, kernel, stride=1, padding=0):
    """Cross-correlation written out: the kernel slides, multiply and add."""
    image = np.pad(image, padding)
    kh, kw = kernel.shape
    rows = (image.shape[0] - kh) // stride + 1
    cols = (image.shape[1] - kw) // stride + 1
    out = np.zeros((rows, cols), dtype=image.dtype)
    for i in range(rows):
        for j in range(cols):
            window = image[i * stride:i * stride + kh, j * stride:j * stride + kw]
            out[i, j] = (window * kernel).sum()
    return out


def conv2d(image, kernel, **options):
    """The same through striate: images are (N, C, H, W), filters (O, C, KH, KW)."""
    return F.conv2d(image[None, None], kernel[None, None], **options).data[0, 0]


# %%
# One position: element-wise multiply and add.
patch = np.array([[1, 3], [5, 2]])
weights = np.array([[1, 2], [2, 1]])
print(f"(1 x 1) + (3 x 2) + (5 x 2) + (2 x 1) = {(patch * weights).sum()}")

# %%
# The 4x4 image and the 2x2 kernel.
image = np.arange(1, 17, dtype=np.float64).reshape(4, 4)
kernel = np.array([[-1.0, 1.0], [0.0, 1.0]])
print("4x4 image * 2x2 kernel, by hand:")
print(slide(image, kernel).astype(int))
print("with F.conv2d:")
print(conv2d(image, kernel).astype(int))

# %%
# The 5x5 binary image and the X filter.
binary = np.array([[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1],
                   [0, 0, 1, 1, 0], [0, 1, 1, 0, 0]], dtype=np.float64)
x_filter = np.array([[1.0, 0, 1], [0, 1, 0], [1, 0, 1]])
print("5x5 image with the X filter, no padding (3x3 feature map):")
print(conv2d(binary, x_filter).astype(int))
print("zero padding 1 (keeps 5x5):")
print(conv2d(binary, x_filter, padding=1).astype(int))
print("stride 2 (2x2):")
print(conv2d(binary, x_filter, stride=2).astype(int))
assert (slide(binary, x_filter, padding=1) == conv2d(binary, x_filter, padding=1)).all()

# %%
# Cross-correlation against true convolution. The notes write
# S(i, j) = sum_m sum_n I(i - m, j - n) K(m, n): the kernel is flipped.
# Their 4x4 example slides the kernel as printed, so it is a correlation;
# a true convolution gives the same numbers only with the kernel rotated 180 degrees.
true = F.convolve2d(image[None, None], kernel[None, None]).data[0, 0]
print("true convolution of the 4x4 image with the kernel as printed:")
print(true.astype(int))
rotated = F.convolve2d(image[None, None], kernel[::-1, ::-1].copy()[None, None]).data[0, 0]
print("true convolution with the kernel rotated by 180 degrees (= the correlation above):")
print(rotated.astype(int))
