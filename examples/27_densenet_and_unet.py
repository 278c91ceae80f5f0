# %% [markdown]
# # 27 DenseNet and U-Net: two more ways to keep early features
#
# ResNet adds a block's input to its output, G(x) = F(x) + x (lesson 12). The notes'
# last decks show two relatives:
#
# * **DenseNet** (2016): every layer of a block receives the feature maps of *all*
#   earlier layers, concatenated, and adds k new maps (the growth rate): the channels
#   grow linearly, in + l * k after l layers, and the block's input travels to the end
#   untouched (its gradient arrives there directly, as through a skip connection).
# * **U-Net**: an encoder that halves the maps and doubles the channels, a decoder that
#   "projects discriminative features with low resolution to the image with high
#   resolution" by up-convolution and concatenation with the encoder's maps of the same
#   level ("copy and crop"), then a 1x1 convolution to one score per class and pixel.
#   The paper's 572x572 input gives a 388x388 segmentation (unpadded 3x3 convolutions
#   lose 2 pixels each).
#
# Run: `python examples/27_densenet_and_unet.py [--fast]`

# %%
import argparse
import os

import numpy as np

import striate
from striate import models
from striate.models.densenet import DenseBlock

parser = argparse.ArgumentParser(description="DenseNet and U-Net")
parser.add_argument("--fast", action="store_true", help="a 1/16-width U-Net")
parser.add_argument("--out", help="(this script writes no file)")
args, _ = parser.parse_known_args()     # a notebook kernel passes arguments of its own
fast = args.fast or bool(os.environ.get("STRIATE_FAST"))

# %% [markdown]
# A dense block of DenseNet-121's first stage: 64 maps in, 6 layers, growth rate 32.

# %%
block = DenseBlock(num_layers=6, in_channels=64, growth_rate=32, bn_size=4, drop_rate=0)
block.eval()
x = striate.tensor(np.random.default_rng(0).standard_normal((1, 64, 8, 8)).astype(np.float32),
                   requires_grad=True)
y = block(x)
inputs = [layer.conv1.weight.shape[1] for layer in block.values()]
print(f"dense layer inputs: {inputs} (64 + l * 32)")
print(f"block output channels: 64 + 6 * 32 = {64 + 6 * 32}; striate: {y.shape[1]}")
print("the block's input is the first 64 output channels, unchanged:",
      bool(np.array_equal(y.data[:, :64], x.data)))
y.sum().backward()
total = x.grad.copy()
x2 = striate.tensor(x.data, requires_grad=True)
block(x2)[:, 64:].sum().backward()          # only the paths through the layers
print(f"dL/dx, L = sum(output): minus the part through the layers leaves exactly the direct "
      f"path's 1: max |difference from 1| = {np.abs(total - x2.grad - 1).max():.1e}")

# %% [markdown]
# U-Net: the paper's shapes level by level (unpadded), from `striate.summary`.

# %%
width = 1 / 16 if fast else 1.0
unet = models.create("unet", width=width)
summary = striate.summary(unet, (1, 572, 572), depth=3)
levels = [l for l in summary.layers if l.type == "DoubleConv"]
print("U-Net double convolutions (HxW): " + ", ".join(
    f"{l.output_shape[2]}" for l in levels))
head = summary.layers[-1]
print(f"input 572x572 -> segmentation {head.output_shape[2]}x{head.output_shape[3]}x"
      f"{head.output_shape[1]} (the paper: 388x388x2)")
if not fast:
    print(f"U-Net parameters: {summary.total_params:,}")
