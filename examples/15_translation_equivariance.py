# %% [markdown]
# # 15 Translation equivariance, and the shift robustness pooling adds
#
# The notes: "If input is shifted also output is shifted" (translational
# equivariance), and max pooling "induces robustness to small position shifts".
# We shift a digit by one pixel, convolve both with the same filter, and compare
# the feature maps: the map of the shifted digit is the old map shifted by the same
# pixel (exactly, away from the border). After a 2x2 max pooling the two outputs
# are no longer shifted copies of each other, but they are closer than before:
# pooling keeps the strongest response of each 2x2 window, wherever in the window it
# sits. (Robust, not invariant: a one-pixel shift still changes part of the output.)
#
# Run: `python examples/15_translation_equivariance.py [--out FILE.png]`

# %%
import argparse
import os
import tempfile

import numpy as np

import striate.functional as F
from striate.data import load_dataset

parser = argparse.ArgumentParser(description="translation equivariance and pooling")
parser.add_argument("--fast", action="store_true", help="(accepted for symmetry)")
parser.add_argument("--out", help="PNG to write (default: a temporary file)")
args, _ = parser.parse_known_args()     # a notebook kernel passes arguments of its own

# %% [markdown]
# A digit, and the same digit moved one pixel to the right (the column that falls
# off is blank, so nothing is lost). The filter is the notes' vertical edge kernel.

# %%
digit = load_dataset("digits", "test").images[0, 0].astype(np.float64) / 255
shifted = np.roll(digit, 1, axis=1)
assert digit[:, -1].max() == 0          # the rolled-in column is blank: a true shift
edge = np.array([[1.0, 0, -1], [1, 0, -1], [1, 0, -1]])
conv = lambda image: F.conv2d(image[None, None], edge[None, None], padding=1).data[0, 0]
a, b = conv(digit), conv(shifted)

# %% [markdown]
# Convolution: shifting the input shifts the feature map, by the same pixel.

# %%
moved = np.abs(b[:, 2:-1] - a[:, 1:-2]).max()
print(f"conv(shift(x)) - shift(conv(x)), inside the border: max |difference| = {moved:.1e}")
print(f"conv(shift(x)) - conv(x) (no shift undone): max |difference| = {np.abs(b - a).max():.2f}")

# %% [markdown]
# Max pooling 2x2 after the ReLU: the pooled maps of the two digits differ much less,
# relative to their size, than the maps before pooling did.

# %%
relu = lambda m: np.maximum(m, 0)
pool = lambda m: F.max_pool2d(m[None, None], 2).data[0, 0]
before = np.linalg.norm(relu(b) - relu(a)) / np.linalg.norm(relu(a))
after = np.linalg.norm(pool(relu(b)) - pool(relu(a))) / np.linalg.norm(pool(relu(a)))
print(f"relative change of the ReLU map under a 1-pixel shift: {before:.2f}")
print(f"relative change after 2x2 max pooling: {after:.2f}")

# %%
import matplotlib.pyplot as plt  # noqa: E402  (plotting only here)

figure, axes = plt.subplots(2, 3, figsize=(8, 5.6))
for row, (image, name) in enumerate([(digit, "digit"), (shifted, "shifted 1 px right")]):
    fmap = relu(conv(image))
    for col, (panel, title) in enumerate([(image, name), (fmap, "conv + ReLU"),
                                          (pool(fmap), "after 2x2 max pool")]):
        axes[row, col].imshow(panel, cmap="gray")
        axes[row, col].set_title(title, fontsize=9)
        axes[row, col].axis("off")
figure.suptitle("The feature map moves with the digit; the pooled map changes less")
out = args.out or os.path.join(tempfile.mkdtemp(), "equivariance.png")
figure.savefig(out, dpi=80)
print(f"wrote {out}")
