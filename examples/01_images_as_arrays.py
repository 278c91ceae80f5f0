# %%
"""Images are arrays of numbers.

A grey image is a matrix of intensities, integers in [0, 255] or floats in
[0, 1]; a colour image has three such matrices (RGB). The notes resize a
3600 x 2400 photo to 36 x 24 and count its values, and then ask why a fully
connected network is a bad idea for images.

Run: python examples/01_images_as_arrays.py [--fast]
"""
import argparse

import numpy as np

from striate import kernels

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--fast", action="store_true", help="(nothing heavy here; accepted for symmetry)")
parser.add_argument("--out", help="(this script writes no file)")
parser.parse_known_args()     # a notebook kernel passes arguments of its own

# %%
# The 6x6 grey image of the notes, as 8-bit integers...
pixels = np.array([[170, 238, 85, 255, 221, 0],
                   [68, 136, 17, 170, 119, 68],
                   [221, 0, 238, 136, 0, 255],
                   [119, 255, 85, 170, 136, 238],
                   [238, 17, 221, 68, 119, 255],
                   [85, 170, 119, 221, 17, 136]], dtype=np.uint8)
print("a 6x6 image as integers in [0, 255]:")
print(pixels)
# ... and as floats in [0, 1], what a network sees.
print("the same image as floats in [0, 1]:")
print(np.round(pixels / 255.0, 3))

# %%
# A real photograph is just a bigger matrix.
photo = kernels.sample_image()
print(f"the shipped photo: shape {photo.shape}, values from {photo.min():.3f} to {photo.max():.3f}")
print("its top-left 4x4 corner:")
print(np.round(photo[:4, :4], 3))

# %%
# The notes' count: a 3600 x 2400 photo resized to 36 x 24.
height, width = 36, 24
print(f"3600 x 2400 resized to {height} x {width}: {height * width} values")

# %%
# Why not a fully connected network? 100 x 100 pixels, 1,000 neurons in the first layer.
pixels_in, neurons = 100 * 100, 1000
print(f"100 x 100 = {pixels_in} pixels; fully connected to {neurons} neurons: "
      f"{pixels_in * neurons:,} weights in the first layer alone")
