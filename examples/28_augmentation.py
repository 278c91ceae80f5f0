# %% [markdown]
# # 28 Data augmentation: the same meaning, other pixels
#
# The notes' "real world" slide: a network that learned Yoda from one pose should still
# know him shifted, rotated, sheared, locally warped or in other colours. Augmentation
# draws such transformations at random during training, so that the network sees many
# images with one label. Every transform here is `striate.data.augment`, one random draw
# per image, bilinear resampling.
#
# What this lesson shows: the transformations, and two checks that they are what they
# say (a zero transformation returns the image; a pure shift moves the digit's centre of
# mass by the shift). It does not measure the gain in accuracy (a training run per
# setting and seed); `striate train --augment` is the place for that.
#
# Run: `python examples/28_augmentation.py [--out FILE.png]`

# %%
import argparse
import os
import tempfile

import numpy as np

import striate
from striate.data import augment, load_dataset
from striate import kernels

parser = argparse.ArgumentParser(description="data augmentation")
parser.add_argument("--fast", action="store_true", help="(accepted for symmetry)")
parser.add_argument("--out", help="PNG to write (default: a temporary file)")
args, _ = parser.parse_known_args()     # a notebook kernel passes arguments of its own

striate.manual_seed(0)
digit = load_dataset("digits", "test").images[:1].astype(np.float32) / 255     # (1, 1, 28, 28)
photo = kernels.sample_image()[None, None, ::4, ::4].astype(np.float32)       # (1, 1, 64, 64)

transforms = {
    "translate": augment.RandomAffine(translate=(0.15, 0.15)),
    "rotate": augment.RandomRotation(30),
    "shear": augment.RandomAffine(shear=30),
    "local warping": augment.ElasticTransform(alpha=34.0, sigma=4.0),
    "brightness/contrast": augment.ColorJitter(brightness=0.5, contrast=0.5),
}

# %% [markdown]
# Checks: the identity draw, and a shift measured on the digit's centre of mass.

# %%
same = augment.RandomAffine(degrees=(0.0, 0.0))(digit)
print(f"rotation by exactly 0 degrees returns the digit: max |difference| "
      f"{np.abs(np.asarray(same) - digit).max():.1e}")


def centre_of_mass(image):
    rows, cols = np.indices(image.shape)
    return (rows * image).sum() / image.sum(), (cols * image).sum() / image.sum()


shift = augment.RandomAffine(translate=(3 / 28, 0.0))
moved = np.asarray(shift(np.repeat(digit, 200, axis=0)))
shifts = [centre_of_mass(m[0])[1] - centre_of_mass(digit[0, 0])[1] for m in moved]
print(f"horizontal shifts of 200 draws (at most 3 px): from {min(shifts):+.2f} to "
      f"{max(shifts):+.2f} px")

# %%
import matplotlib.pyplot as plt  # noqa: E402  (plotting only here)

draws = 6
figure, axes = plt.subplots(len(transforms), draws + 1, figsize=(1.4 * (draws + 1),
                                                                  1.5 * len(transforms)))
for row, (name, transform) in enumerate(transforms.items()):
    source = photo if name == "brightness/contrast" else digit
    samples = np.asarray(transform(np.repeat(source, draws, axis=0)))
    for col in range(draws + 1):
        image = source[0, 0] if col == 0 else samples[col - 1, 0]
        axes[row, col].imshow(image, cmap="gray", vmin=0, vmax=1)
        axes[row, col].axis("off")
    axes[row, 0].set_title(f"{name}: original, then {draws} draws", fontsize=8, loc="left")
figure.tight_layout()
out = args.out or os.path.join(tempfile.mkdtemp(), "augmentation.png")
figure.savefig(out, dpi=80)
print(f"wrote {out}")
