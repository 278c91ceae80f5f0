# %%
"""What a trained LeNet-5 learned: its first-layer filters and feature maps.

Train LeNet-5 on the embedded MNIST digits (a few seconds with --fast), then
look at the six 5x5 filters of C1 (edge and stroke detectors: a bright band
beside a dark one) and at the feature maps of a test digit, layer by layer:
28x28x6 after C1, 14x14x6 after S2, 10x10x16 after C3, 5x5x16 after S4 (rows
named as in the paper; C1 and C3 after their ReLU; all 16 maps of C3 and S4).

Run: python examples/13_lenet_filters_and_maps.py --out DIR [--fast]
"""
import argparse
import os
import tempfile

import numpy as np

import striate
import striate.functional as F
from striate import explain, models
from striate.data import DataLoader
from striate.data.datasets import load_dataset
from striate.explain.plots import feature_map_grid, filter_grid, save_figure

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--fast", action="store_true", help="train on 1,000 digits for 2 epochs")
parser.add_argument("--out", help="directory for the PNGs (default: a temporary one)")
args, _ = parser.parse_known_args()     # a notebook kernel passes arguments of its own
fast = args.fast or bool(os.environ.get("STRIATE_FAST"))

striate.manual_seed(0)
train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
mean, std = 0.1307, 0.3081                      # the MNIST statistics


def prepare(images):
    return (images.astype(np.float32) / 255.0 - mean) / std


model = models.create("lenet5")
optimizer = striate.optim.Adam(model.parameters(), lr=3e-3)
count, epochs = (1000, 2) if fast else (len(train), 4)
keep = np.random.default_rng(0).permutation(len(train))[:count]   # all ten classes
loader = DataLoader(striate.data.TensorDataset(prepare(train.images[keep]), train.labels[keep]),
                    batch_size=32, shuffle=True)
for epoch in range(epochs):
    for images, labels in loader:
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
model.eval()
with striate.no_grad():
    predictions = model(striate.tensor(prepare(test.images))).data.argmax(axis=1)
print(f"trained on {count} digits for {epochs} epoch(s): test accuracy "
      f"{100 * (predictions == test.labels).mean():.1f}%")

weights = explain.filters(model)
print(f"C1 filters: {weights.shape[0]} of {weights.shape[2]}x{weights.shape[3]}")
digit = prepare(test.images[:1])
# The paper's layer names for striate's modules: C1 and C3 are shown after their ReLU
# (what the next layer sees), S2 and S4 are the max-pooling subsamplings.
names = {"features.1": "C1", "features.2": "S2", "features.4": "C3", "features.5": "S4"}
raw = explain.feature_maps(model, digit, layers=list(names))
maps = {names[layer]: activation for layer, activation in raw.items()}
for name, activation in maps.items():
    n, c, h, w = activation.shape
    print(f"{name}: {h}x{w}x{c}")
print("the picture shows every map: all 6 of C1 and S2, all 16 of C3 and S4")

out = args.out or tempfile.mkdtemp()
os.makedirs(out, exist_ok=True)
save_figure(filter_grid(weights, "LeNet-5 C1: the six learned 5x5 filters"),
            os.path.join(out, "lenet_filters.png"))
save_figure(feature_map_grid(test.images[0] / 255.0, {k: v[0] for k, v in maps.items()},
                             f"LeNet-5 feature maps of a test digit (label {test.labels[0]}): "
                             "C1 and C3 after their ReLU", channels=16),
            os.path.join(out, "lenet_feature_maps.png"))
print(f"wrote {os.path.join(out, 'lenet_filters.png')} and "
      f"{os.path.join(out, 'lenet_feature_maps.png')}")
