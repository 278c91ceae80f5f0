# %% [markdown]
# # 21 Stride as a downsampled convolution; "valid" and "same"
#
# The notes: striding "shifts the kernel by more than one pixel" and is "equivalent to
# a down sampled convolution" that "reduces computational costs", while "features
# cannot be extracted as finely". A **valid** convolution keeps the kernel fully
# inside the image, so the image shrinks: output = input - (kernel - 1). A **same**
# convolution pads p zeros at the edges so that it does not shrink.
#
# We use the notes' 8x8 source layer and a 3x3 kernel.
#
# Run: `python examples/21_stride_valid_same.py`

# %%
import argparse

import numpy as np

import striate.functional as F

parser = argparse.ArgumentParser(description="stride, valid and same")
parser.add_argument("--fast", action="store_true", help="(accepted for symmetry)")
parser.add_argument("--out", help="(this script writes no file)")
args, _ = parser.parse_known_args()     # a notebook kernel passes arguments of its own

image = np.array([[2, 2, 6, 8, 2, 0, 1, 2], [4, 3, 4, 5, 1, 9, 6, 3],
                  [3, 9, 4, 4, 7, 7, 6, 9], [1, 3, 4, 6, 8, 2, 2, 1],
                  [8, 4, 6, 2, 3, 1, 8, 8], [5, 8, 9, 0, 1, 0, 2, 3],
                  [9, 2, 6, 6, 3, 6, 2, 1], [9, 8, 8, 2, 6, 3, 4, 5]], dtype=np.float64)
kernel = np.array([[1.0, 0, -1], [1, 0, -1], [1, 0, -1]])


def conv(x, **options):
    return F.conv2d(x[None, None], kernel[None, None], **options).data[0, 0]


# %% [markdown]
# Valid and same: 8 - (3 - 1) = 6, and with one pixel of zero padding 8 again.

# %%
valid, same = conv(image), conv(image, padding="same")
print(f"valid: 8 - (3 - 1) = {8 - (3 - 1)}; F.conv2d gives {valid.shape[0]}x{valid.shape[1]}")
print(f"same (padding 1): (8 - 3 + 2*1)/1 + 1 = {(8 - 3 + 2) // 1 + 1}; F.conv2d gives "
      f"{same.shape[0]}x{same.shape[1]}")
print("the valid map is the inside of the same map:", np.array_equal(valid, same[1:-1, 1:-1]))

# %% [markdown]
# Stride 2 is the stride-1 convolution keeping every second row and column. It computes
# a quarter of the outputs, so a quarter of the multiply-adds; what it skips is lost.

# %%
strided = conv(image, stride=2)
print(f"stride 2: (8 - 3)/2 + 1 = {(8 - 3) // 2 + 1} -> {strided.shape[0]}x{strided.shape[1]}")
print("stride 2 = stride 1, then every second pixel:", np.array_equal(strided, valid[::2, ::2]))
print(f"multiply-adds: stride 1 {valid.size * 9}, stride 2 {strided.size * 9} "
      f"({valid.size // strided.size}x fewer)")
print("stride-1 map:")
print(valid.astype(int))
print("stride-2 map (rows and columns 0, 2, 4 of it):")
print(strided.astype(int))
