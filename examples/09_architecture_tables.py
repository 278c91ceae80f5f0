# %%
"""LeNet-5, AlexNet and VGG-16 as striate.summary tables, beside the notes' numbers.

* LeNet-5 (the notes' table): 28x28x6 -> 14x14x6 -> 10x10x16 -> 5x5x16 -> 120 -> 84 -> 10.
* AlexNet (the notes' table, 227x227 input): conv1 34,944 weights, conv2 614,656,
  conv3 885,120, conv4 1,327,488, conv5 884,992, FC6 37,748,736, FC7 16,777,216,
  FC8 4,096,000, overall 62,369,152 (the notes leave out the 9,192 biases
  of the fully connected layers; striate counts them).
* VGG-16: 7x7x512 pooled maps, flattened to 25,088, then 4,096, 4,096, 1,000.

Where striate's numbers differ from the notes', and why:

* LeNet-5: the notes' table uses sigmoid and 2x2 *average* pooling (as LeCun's
  network did, with a scaled tanh); striate's ``lenet5`` is the modern form
  (ReLU, max pooling). Built with ``activation=nn.Sigmoid, pool=nn.AvgPool2d``
  it is the notes' network exactly: same shapes, same 61,706 parameters
  (activations and pooling have none). ``lenet5_classic`` is the 1998 paper's
  (32x32 input, tanh, average pooling).
* VGG-16: the notes say "120M params"; striate counts 138,357,544, the paper's
  138 M (its Table 2). The three fully connected layers alone hold 123,642,856
  (89%): "120M" is about their share, or a rounding of it; the 13 conv layers
  add 14,714,688.

Run: python examples/09_architecture_tables.py [--fast]
(--fast feeds VGG-16 a 32x32 image: the adaptive pool still gives 7x7x512,
so the classifier and the parameter count are the same, at 1/49 of the work.)
"""
import argparse
import os

import striate
from striate import models

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--fast", action="store_true", help="VGG-16 on 32x32 input")
parser.add_argument("--out", help="(this script writes no file)")
args, _ = parser.parse_known_args()     # a notebook kernel passes arguments of its own
fast = args.fast or bool(os.environ.get("STRIATE_FAST"))


def shape(layer):
    return "x".join(str(s) for s in list(layer.output_shape[2:]) + [layer.output_shape[1]])


lenet = striate.summary(models.create("lenet5"), (1, 28, 28), depth=2)
print("LeNet-5")
print(lenet)
print("LeNet-5 shapes:", ", ".join(shape(l) for l in lenet.layers
                                   if l.type in ("Conv2d", "MaxPool2d", "Linear")))

# %%
# The notes' LeNet: sigmoid and average pooling, same layers.
from striate import nn  # noqa: E402
from striate.models.lenet import LeNet5  # noqa: E402

notes_lenet = striate.summary(LeNet5(activation=nn.Sigmoid, pool=nn.AvgPool2d), (1, 28, 28),
                              depth=2)
print("LeNet-5 as in the notes: activation Sigmoid, pooling AvgPool2d")
print("notes' LeNet shapes:", ", ".join(shape(l) for l in notes_lenet.layers
                                        if l.type in ("Conv2d", "AvgPool2d", "Linear")))
print(f"parameters: notes' form {notes_lenet.total_params:,}, ReLU/max form "
      f"{lenet.total_params:,} (activations and pooling have no parameters)")

alexnet = striate.summary(models.create("alexnet_original"), (3, 227, 227), depth=2)
print("AlexNet (227x227)")
print(alexnet)
convs = [l for l in alexnet.layers if l.type == "Conv2d"]
fcs = [l for l in alexnet.layers if l.type == "Linear"]
print("AlexNet conv parameters:", ", ".join(f"{l.num_params:,}" for l in convs))
print("AlexNet FC weights (no bias):", ", ".join(f"{l.num_params - l.output_shape[-1]:,}"
                                                 for l in fcs))
print(f"AlexNet conv shapes: {', '.join(shape(l) for l in convs)}")
notes_total = sum(l.num_params for l in convs) + sum(l.num_params - l.output_shape[-1] for l in fcs)
print(f"AlexNet overall, counted as the notes do: {notes_total:,}; with the FC biases: "
      f"{alexnet.total_params:,}")
print(f"AlexNet conv layers: {sum(l.num_params for l in convs) / 1e6:.1f} million")

size = 32 if fast else 224
vgg = striate.summary(models.create("vgg16"), (3, size, size), depth=2)
print(f"VGG-16 ({size}x{size})")
print(vgg)
pooled = next(l for l in vgg.layers if l.type == "AdaptiveAvgPool2d")
print(f"VGG-16 pooled: {shape(pooled)}; flattened: {pooled.output_shape[1] * 7 * 7:,}; "
      f"hidden: {', '.join(f'{l.output_shape[-1]:,}' for l in vgg.layers if l.type == 'Linear')}")
print(f"VGG-16 parameters: {vgg.total_params:,} (the notes: 120M; the paper: 138M)")
vgg_fc = sum(l.num_params for l in vgg.layers if l.type == "Linear")
print(f"VGG-16 fully connected layers: {vgg_fc:,} ({100 * vgg_fc / vgg.total_params:.0f}%); "
      f"conv layers: {vgg.total_params - vgg_fc:,}")
