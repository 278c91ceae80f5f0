# %% [markdown]
# # 18 ReLU after convolution: "vertical edges activated"
#
# The notes apply the rectified linear unit f(x) = max(0, x) "after every convolution
# operation", a "pixel-by-pixel operation that replaces all negative values by zero",
# and show a photo's vertical edges lighting up. An edge kernel answers with a sign:
# `vertical_prewitt` is positive where the image is brighter on the left, negative
# where it is brighter on the right. After the ReLU only one kind of edge is left,
# which is why a layer learns both signs as separate filters.
#
# Run: `python examples/18_relu_after_conv.py [--out FILE.png]`

# %%
import argparse
import os
import tempfile

import numpy as np

import striate.functional as F
from striate import kernels

parser = argparse.ArgumentParser(description="ReLU after convolution")
parser.add_argument("--fast", action="store_true", help="(accepted for symmetry)")
parser.add_argument("--out", help="PNG to write (default: a temporary file)")
args, _ = parser.parse_known_args()     # a notebook kernel passes arguments of its own

# %% [markdown]
# The notes' 5x5 grey values (lesson 17) and their vertical-edge map, then the ReLU:
# the three negative responses of the right-hand column become 0.

# %%
image = np.array([[194, 194, 194, 120, 138], [1, 1, 1, 173, 132], [227, 179, 56, 16, 144],
                  [34, 75, 52, 9, 175], [38, 52, 50, 8, 180]], dtype=np.float64)
u = F.conv2d(image[None, None], kernels.vertical_prewitt[None, None])
z = F.relu(u)
print("u = conv(image, vertical_prewitt):")
print(u.data[0, 0].astype(int))
print("z = ReLU(u) = max(0, u):")
print(z.data[0, 0].astype(int))
print(f"negative responses set to zero: {int((u.data < 0).sum())} of {u.data.size}")

# %% [markdown]
# On the photo: the edge map, its ReLU (vertical edges with bright on the left), and
# the ReLU of the opposite filter (bright on the right). Together the two rectified
# maps hold the whole signed map: relu(u) - relu(-u) = u.

# %%
photo = kernels.sample_image()
signed = kernels.apply(photo, "vertical_prewitt")
positive, negative = np.maximum(signed, 0), np.maximum(-signed, 0)
print(f"relu(u) - relu(-u) = u on the photo: max |difference| "
      f"{np.abs(positive - negative - signed).max():.1e}")
print(f"share of the photo's pixels the ReLU switches off: {100 * (signed <= 0).mean():.0f}%")

import matplotlib.pyplot as plt  # noqa: E402  (plotting only here)

figure, axes = plt.subplots(1, 4, figsize=(11, 3.2))
# the zero padding makes the border an edge too: scale by the 99th percentile, not the max
limit = np.percentile(np.abs(signed), 99)
for axis, (panel, title, options) in zip(axes, [
        (photo, "photo", dict(cmap="gray")),
        (signed, "conv: vertical_prewitt", dict(cmap="seismic", vmin=-limit, vmax=limit)),
        (positive, "ReLU: vertical edges activated", dict(cmap="gray", vmin=0, vmax=limit)),
        (negative, "ReLU of the opposite filter", dict(cmap="gray", vmin=0, vmax=limit))]):
    axis.imshow(panel, **options)
    axis.set_title(title, fontsize=9)
    axis.axis("off")
figure.tight_layout()
out = args.out or os.path.join(tempfile.mkdtemp(), "relu_edges.png")
figure.savefig(out, dpi=80)
print(f"wrote {out}")
