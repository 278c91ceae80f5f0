# %% [markdown]
# # 20 Convolution as a dot product that measures alignment
#
# The notes: "The dot product is a measure of alignment between x and y (in particular,
# it is zero if x and y are orthogonal). The convolution operator is nothing but a dot
# product: it measures how well the filter fits the respective part of an image."
#
# We hide a template (a 7x7 patch cut from a digit) in a noisy image and use the
# template itself as the filter. The feature map peaks exactly where the template
# sits; divided by the norms (the cosine of the angle between filter and window), the
# peak is the best alignment in the image (below 1 only because of the noise added on
# top of the template). A filter orthogonal to the template scores 0 on it.
#
# Run: `python examples/20_dot_product_alignment.py [--out FILE.png]`

# %%
import argparse
import os
import tempfile

import numpy as np

import striate.functional as F
from striate.data import load_dataset

parser = argparse.ArgumentParser(description="convolution as a dot product")
parser.add_argument("--fast", action="store_true", help="(accepted for symmetry)")
parser.add_argument("--out", help="PNG to write (default: a temporary file)")
args, _ = parser.parse_known_args()     # a notebook kernel passes arguments of its own

# %%
rng = np.random.default_rng(0)
digit = load_dataset("digits", "test").images[1, 0].astype(np.float64) / 255
template = digit[10:17, 10:17] - digit[10:17, 10:17].mean()    # zero mean: a pattern, not brightness
image = 0.2 * rng.standard_normal((40, 40))
row, col = 22, 9
image[row:row + 7, col:col + 7] += template

response = F.conv2d(image[None, None], template[None, None]).data[0, 0]
ones = np.ones((1, 1, 7, 7))
window_norms = np.sqrt(F.conv2d((image ** 2)[None, None], ones).data[0, 0])
cosine = response / (window_norms * np.linalg.norm(template))
peak = np.unravel_index(response.argmax(), response.shape)
print(f"template hidden at (row, col) = ({row}, {col}); feature map peaks at "
      f"({peak[0]}, {peak[1]})")
print(f"cosine between filter and window at the peak: {cosine[peak]:.2f}; "
      f"elsewhere at most {np.delete(cosine.ravel(), response.argmax()).max():.2f}")

# %% [markdown]
# Orthogonal means no response: remove from a random filter its component along the
# template (one Gram-Schmidt step) and the dot product with the template is 0.

# %%
other = rng.standard_normal((7, 7))
orthogonal = other - (other * template).sum() / (template * template).sum() * template
print(f"template . template = {(template * template).sum():.2f}; "
      f"template . orthogonal filter = {(template * orthogonal).sum():.1e}")

# %%
import matplotlib.pyplot as plt  # noqa: E402  (plotting only here)

figure, axes = plt.subplots(1, 3, figsize=(9, 3.2))
axes[0].imshow(template, cmap="gray")
axes[0].set_title("filter = template (7x7)", fontsize=9)
axes[1].imshow(image, cmap="gray")
axes[1].add_patch(plt.Rectangle((col - 0.5, row - 0.5), 7, 7, fill=False, color="red"))
axes[1].set_title("image with the template hidden", fontsize=9)
shown = axes[2].imshow(cosine, cmap="viridis")
axes[2].plot(peak[1], peak[0], "r+", markersize=12)
axes[2].set_title("cosine(filter, window) per offset", fontsize=9)
figure.colorbar(shown, ax=axes[2], fraction=0.046)
for axis in axes:
    axis.axis("off")
figure.tight_layout()
out = args.out or os.path.join(tempfile.mkdtemp(), "alignment.png")
figure.savefig(out, dpi=80)
print(f"wrote {out}")
