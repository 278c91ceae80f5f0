# %% [markdown]
# # 17 The notes' worked convolution on a 5x5 pixel-value image, and its edge maps
#
# One deck convolves a 5x5 patch of grey values with three 3x3 kernels and prints the
# 3x3 "convolved features": the X filter (672 510 705 / 267 314 376 / 446 307 439),
# a vertical edge detector and a horizontal one. The two edge kernels are Prewitt's
# (`striate.kernels.vertical_prewitt`, `horizontal_prewitt`): Sobel's pair without
# the centre weight 2. The other decks' edge kernels sit in the same table: the
# Sobel pair and the "mixed edge" kernel, and the 4- and 8-neighbour Laplacians.
#
# Run: `python examples/17_edge_maps_by_hand.py [--out FILE.png]`

# %%
import argparse
import os
import tempfile

import numpy as np

import striate.functional as F
from striate import kernels

parser = argparse.ArgumentParser(description="the notes' 5x5 worked convolution and edge maps")
parser.add_argument("--fast", action="store_true", help="(accepted for symmetry)")
parser.add_argument("--out", help="PNG to write (default: a temporary file)")
args, _ = parser.parse_known_args()     # a notebook kernel passes arguments of its own

# %% [markdown]
# The notes' image. The position of one output is the dot product of the kernel with
# the 3x3 window under it; we write the top-left one out, then let `F.conv2d` slide.

# %%
image = np.array([[194, 194, 194, 120, 138],
                  [1, 1, 1, 173, 132],
                  [227, 179, 56, 16, 144],
                  [34, 75, 52, 9, 175],
                  [38, 52, 50, 8, 180]], dtype=np.float64)
x_filter = np.array([[1.0, 0, 1], [0, 1, 0], [1, 0, 1]])
window = image[:3, :3]
print("top-left window x X filter: " + " + ".join(
    f"{int(v)}" for v in window[x_filter == 1]) + f" = {int((window * x_filter).sum())}")


def feature(kernel):
    """Valid cross-correlation of the notes' image, as a CNN layer computes it."""
    return F.conv2d(image[None, None], np.asarray(kernel)[None, None]).data[0, 0].astype(int)


for name, kernel in [("X filter", x_filter), ("vertical edges (Prewitt)", kernels.vertical_prewitt),
                     ("horizontal edges (Prewitt)", kernels.horizontal_prewitt)]:
    print(f"{name}:")
    print(feature(kernel))

# %% [markdown]
# Why these kernels find edges: a kernel is a dot product, so it answers strongly where
# the image looks like it. `vertical_prewitt` is "bright on the left, dark on the right":
# the right-hand column (16, 9, 8 against 144, 175, 180) gives the big negative
# responses -342 and -341; the dark second row gives horizontal's -158. Sobel weights
# the centre row twice: compare. The edge kernels sum to 0 (a flat patch gives 0);
# the notes' mixed-edge kernel sums to 1, so it keeps the brightness as well (the
# reddish tint of its panel in the picture).

# %%
print("vertical edges (Sobel, left_sobel):")
print(feature(kernels.left_sobel))
for name in ("laplacian", "outline", "mixed_edge"):
    print(f"{name} {kernels.KERNELS[name].astype(int).tolist()}:")
    print(feature(kernels.KERNELS[name]))

# %%
import matplotlib.pyplot as plt  # noqa: E402  (plotting only here)

photo = kernels.sample_image()
names = ["vertical_prewitt", "horizontal_prewitt", "left_sobel", "mixed_edge", "laplacian",
         "outline"]
figure, axes = plt.subplots(1, len(names) + 1, figsize=(2.2 * (len(names) + 1), 2.6))
axes[0].imshow(photo, cmap="gray")
axes[0].set_title("photo", fontsize=9)
for axis, name in zip(axes[1:], names):
    response = kernels.apply(photo, name)
    limit = np.abs(response).max()
    axis.imshow(response, cmap="seismic", vmin=-limit, vmax=limit)
    axis.set_title(name, fontsize=9)
for axis in axes:
    axis.axis("off")
figure.suptitle("The notes' edge kernels on a photo (red: positive, blue: negative)")
figure.tight_layout()
out = args.out or os.path.join(tempfile.mkdtemp(), "edge_maps.png")
figure.savefig(out, dpi=80)
print(f"wrote {out}")
