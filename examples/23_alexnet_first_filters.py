# %% [markdown]
# # 23 AlexNet's 96 learned first-layer filters, on the data at hand
#
# The notes show AlexNet's first layer: 96 filters of 11x11x3, each of the 55x55x96
# neurons connected to an 11x11x3 region, learned on ImageNet: oriented edges, stripes
# of several frequencies, colour blobs. "Filters are initialized at random and then
# learned"; "the convolutional layer learns the most useful filters for its task".
#
# We have no ImageNet here, so we train an AlexNet-style first layer on the embedded
# digits: 96 filters, a ReLU and an overlapping 3x3/2 max pool (AlexNet's), then a
# linear classifier. The filters are 7x7 at stride 2 rather than 11x11 at stride 4:
# AlexNet's filter covers 11/227 of the image width, and an 11x11 filter on a 28x28
# digit would see almost half of it. Grey digits give grey filters: no colour blobs.
#
# How do we know the filters learned something? Random filters are noise: neighbouring
# weights are uncorrelated. Learned edge and stroke detectors are smooth: neighbouring
# weights agree. We measure that correlation before and after training.
#
# Run: `python examples/23_alexnet_first_filters.py [--fast] [--out FILE.png]`

# %%
import argparse
import os
import tempfile

import numpy as np

import striate
import striate.functional as F
import striate.nn as nn
from striate.data import DataLoader, TensorDataset, load_dataset

parser = argparse.ArgumentParser(description="AlexNet-style first-layer filters")
parser.add_argument("--fast", action="store_true", help="1,000 digits, 1 epoch")
parser.add_argument("--out", help="PNG to write (default: a temporary file)")
args, _ = parser.parse_known_args()     # a notebook kernel passes arguments of its own
fast = args.fast or bool(os.environ.get("STRIATE_FAST"))

# %%
striate.manual_seed(0)
train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
prepare = lambda images: (images.astype(np.float32) / 255 - 0.1307) / 0.3081
conv1 = nn.Conv2d(1, 96, kernel_size=7, stride=2)                 # 28 -> 11x11x96
model = nn.Sequential(conv1, nn.ReLU(), nn.MaxPool2d(3, stride=2),  # -> 5x5x96
                      nn.Flatten(), nn.Linear(5 * 5 * 96, 10))
print(f"conv1: 96 filters of 7x7x1 -> output {(28 - 7) // 2 + 1}x{(28 - 7) // 2 + 1}x96, "
      f"{conv1.weight.numel() + conv1.bias.numel():,} parameters "
      f"(AlexNet's: (11*11*3 + 1)*96 = {(11 * 11 * 3 + 1) * 96:,})")


def neighbour_correlation(weights):
    """Mean correlation between horizontally and vertically adjacent filter weights."""
    w = weights[:, 0] - weights[:, 0].mean(axis=(1, 2), keepdims=True)
    pairs = [(w[:, :, :-1], w[:, :, 1:]), (w[:, :-1, :], w[:, 1:, :])]
    return np.mean([(a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()) for a, b in pairs])


# AlexNet's initialization: weights from a Gaussian of standard deviation 0.01 (far
# smaller than the default He/Kaiming scale, so what training adds is what we see).
conv1.weight.data[...] = np.random.default_rng(0).normal(0, 0.01, conv1.weight.shape)
initial = conv1.weight.data.copy()
count, epochs = (1000, 1) if fast else (len(train), 3)
keep = np.random.default_rng(0).permutation(len(train))[:count]
loader = DataLoader(TensorDataset(prepare(train.images[keep]), train.labels[keep]),
                    batch_size=32, shuffle=True)
optimizer = striate.optim.Adam(model.parameters(), lr=2e-3)
for epoch in range(epochs):
    for images, labels in loader:
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
with striate.no_grad():
    predicted = model(striate.tensor(prepare(test.images))).data.argmax(axis=1)
print(f"trained on {count} digits for {epochs} epoch(s): test accuracy "
      f"{100 * (predicted == test.labels).mean():.1f}%")
learned = conv1.weight.data
print(f"neighbouring-weight correlation: random init {neighbour_correlation(initial):.2f}, "
      f"learned {neighbour_correlation(learned):.2f}")

# %%
import matplotlib.pyplot as plt  # noqa: E402  (plotting only here)

figure, axes = plt.subplots(8, 24, figsize=(14, 5))
for index, axis in enumerate(axes.ravel()):
    source = initial if index % 24 < 12 else learned
    f = source[(index // 24) * 12 + index % 12, 0]
    axis.imshow(f, cmap="gray", vmin=-np.abs(f).max(), vmax=np.abs(f).max())
    axis.axis("off")
figure.suptitle("96 first-layer filters, 7x7: at random initialization (left) and learned "
                "on the digits (right)")
out = args.out or os.path.join(tempfile.mkdtemp(), "first_layer_filters.png")
figure.savefig(out, dpi=80)
print(f"wrote {out}")
