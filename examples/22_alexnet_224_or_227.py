# %% [markdown]
# # 22 AlexNet at 224 or 227: why the notes have two tables
#
# The 2012 paper says its input is 224x224x3 and its first layer gives 55x55x96 with
# 11x11 filters at stride 4. The formula (W - F + 2P)/S + 1 disagrees:
# (224 - 11)/4 + 1 = 54.25. One deck therefore uses 227 (the "AlexNet single GPU
# equivalent" table: 55, 27, 13, 6); another keeps 224 and rounds down at every step
# (54x54x96, 26x26x96, 26x26x256, 12x12x256, 12x12x384, 12x12x384, 12x12x256,
# 5x5x256). Both are consistent; they describe two different networks, whose only
# parameter difference is fc6 (6x6x256 against 5x5x256 inputs).
# `alexnet_original(input_size=224)` builds the second.
#
# Run: `python examples/22_alexnet_224_or_227.py [--fast]`
# (`--fast` builds both at 1/8 width: same shapes, fewer channels; the parameter
# counts are computed from the full-width layer sizes either way.)

# %%
import argparse
import os

import striate
from striate import models

parser = argparse.ArgumentParser(description="AlexNet at 224 or 227")
parser.add_argument("--fast", action="store_true", help="1/8 of the channels")
parser.add_argument("--out", help="(this script writes no file)")
args, _ = parser.parse_known_args()     # a notebook kernel passes arguments of its own
fast = args.fast or bool(os.environ.get("STRIATE_FAST"))
width = 0.125 if fast else 1.0


def size(w, f, s, p=0):
    return (w - f + 2 * p) / s + 1


# %% [markdown]
# The formula by hand, without rounding, for both inputs.

# %%
for w in (224, 227):
    conv1 = size(w, 11, 4)
    print(f"input {w}: conv1 ({w} - 11)/4 + 1 = {conv1:g}", end="")
    if conv1 != int(conv1):
        print(f" -> rounded down to {int(conv1)}", end="")
    print()


def spatial(summary):
    channels = [l for l in summary.layers if l.type in ("Conv2d", "MaxPool2d")]
    return ", ".join(f"{l.output_shape[2]}x{l.output_shape[3]}x{round(l.output_shape[1] / width)}"
                     for l in channels)


# %% [markdown]
# The two networks' layer tables from `striate.summary`, beside the notes'.

# %%
for w, notes in [(227, "55x55x96, 27x27x96, 27x27x256, 13x13x256, 13x13x384, 13x13x384, "
                       "13x13x256, 6x6x256"),
                 (224, "54x54x96, 26x26x96, 26x26x256, 12x12x256, 12x12x384, 12x12x384, "
                       "12x12x256, 5x5x256")]:
    net = models.create("alexnet_original", input_size=w, width=width)
    summary = striate.summary(net, (3, w, w), depth=2)
    print(f"input {w}x{w}x3")
    print(f"  notes:   {notes}")
    print(f"  striate: {spatial(summary)}")

# %% [markdown]
# Parameters: the convolutions are the same in both (a filter does not care how far
# it slides); fc6 sees 6*6*256 = 9,216 or 5*5*256 = 6,400 inputs.

# %%
for w, last in [(227, 6), (224, 5)]:
    fc6 = last * last * 256 * 4096
    print(f"input {w}: fc6 {last}*{last}*256*4096 = {fc6:,} weights")
full = {w: sum(p.numel() for p in models.create("alexnet_original", input_size=w).parameters())
        for w in ((227, 224) if not fast else ())}
if full:
    print(f"all parameters (with biases): 227 -> {full[227]:,}; 224 -> {full[224]:,}; "
          f"difference {full[227] - full[224]:,} = (9,216 - 6,400) x 4,096")
