# %% [markdown]
# # 24 What training costs: the notes' figures, redone from measured throughput
#
# The notes: a net for Chinese OCR (9HL-48x48-100C3-MP2-200C2-MP2-300C2-MP2-400C2-MP2-
# 500N-3755) and 1,121,749 training samples took, on one CPU thread (i7-920), "27h to
# forward propagate one epoch", "14 months to train for 30 epochs", "or one week on a
# GPU (2016)"; AlexNet trained "for 6 days on 2 GPUs".
#
# We build the OCR net from its notation, count its multiply-adds, time striate's
# forward and training step on this machine, and extrapolate to the notes' data set.
# An extrapolation, not a measurement: one batch, timed a few times, on a machine whose
# load we print beside the numbers.
#
# Run: `python examples/24_training_cost.py [--fast]`

# %%
import argparse
import os
import time

import numpy as np

import striate
import striate.functional as F
from striate.models import from_notation

parser = argparse.ArgumentParser(description="the cost of training, extrapolated")
parser.add_argument("--fast", action="store_true", help="a batch of 8, timed once")
parser.add_argument("--out", help="(this script writes no file)")
args, _ = parser.parse_known_args()     # a notebook kernel passes arguments of its own
fast = args.fast or bool(os.environ.get("STRIATE_FAST"))

NOTATION = "9HL-48x48-100C3-MP2-200C2-MP2-300C2-MP2-400C2-MP2-500N-3755"
SAMPLES, EPOCHS = 1_121_749, 30

# %% [markdown]
# The notes' arithmetic first: 27 hours per forward epoch is 87 ms per sample; 14
# months for 30 epochs is 14 days per training epoch, 12.6 times a forward epoch.

# %%
forward_epoch_h = 27
print(f"27 h / {SAMPLES:,} samples = {forward_epoch_h * 3600e3 / SAMPLES:.1f} ms per sample "
      "(forward, the notes' CPU)")
months_h = 14 * 30.44 * 24
print(f"14 months = {months_h:,.0f} h; / 30 epochs = {months_h / EPOCHS:,.0f} h per epoch = "
      f"{months_h / EPOCHS / forward_epoch_h:.1f} x the forward epoch")
print(f"one week on a GPU = {7 * 24} h: {months_h / (7 * 24):.0f} x faster than the CPU thread")

# %% [markdown]
# The net, as `striate.summary` counts it. The classification layer agrees with the
# notes exactly: 500 x 3,755 + 3,755 = 1,881,255 weights and 1.88 M connections. The
# feature extraction does not: the notation read literally gives conv1..conv4 and the
# 500-unit layer 1,602,400 weights and 73.1 M multiply-adds, where the notes print
# 321,800 and 26.37 M. Their 321,800 is close to conv1..conv3 alone (321,500); we
# could not find a reading of the notation that gives both of their numbers, so we
# use striate's counts below.

# %%
model = from_notation(NOTATION)
summary = striate.summary(model, (1, 48, 48))
head = summary.layers[-1]
features = summary.total_params - head.num_params
print(f"classification layer: {head.num_params:,} weights (notes: 1,881,255), "
      f"{head.mult_adds / 1e6:.2f} M connections (notes: 1.88 Million)")
print(f"feature extraction: {features:,} weights (notes: 321,800), "
      f"{(summary.total_mult_adds - head.mult_adds) / 1e6:.2f} M connections "
      f"(notes: 26.37 Million)")
print(f"per sample: {summary.total_mult_adds / 1e6:.1f} M multiply-adds forward")

# %% [markdown]
# Measured: a batch forward (no gradients), and a full training step (forward,
# backward, SGD update).

# %%
batch = 8 if fast else 64
repeats = 1 if fast else 3
rng = np.random.default_rng(0)
x = rng.standard_normal((batch, 1, 48, 48)).astype(np.float32)
y = rng.integers(0, 3755, batch)
optimizer = striate.optim.SGD(model.parameters(), lr=0.01)


def best_of(work):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times) / batch


def forward():
    with striate.no_grad():
        model(x)


def step():
    loss = F.cross_entropy(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


forward()                                   # warm-up: first-call allocations
per_forward, per_step = best_of(forward), best_of(step)
load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
print(f"this machine ({os.cpu_count()} cores, load average {load:.1f}), batch {batch}: "
      f"forward {1e3 * per_forward:.2f} ms, training step {1e3 * per_step:.2f} ms per sample")
print(f"  = {summary.total_mult_adds / per_forward / 1e9:.2f} G multiply-adds/s forward")
print(f"extrapolated: forward epoch {per_forward * SAMPLES / 3600:.1f} h (notes: 27 h); "
      f"30 training epochs {per_step * SAMPLES * EPOCHS / 3600 / 24:.1f} days "
      f"(notes: 14 months on one thread, one week on a GPU)")

# %% [markdown]
# AlexNet (the notes' 227 table, one GPU's worth of connections): multiply-adds per
# image from the output-size formula, OH x OW x K x (F x F x D) per conv layer plus the
# fully connected weights; 1.2 M ImageNet images; 90 epochs in the paper. At the rate
# just measured, with a training step costing what it cost above relative to the
# forward pass:

# %%
alex_layers = [(55, 96, 11, 3), (27, 256, 5, 96), (13, 384, 3, 256), (13, 384, 3, 384),
               (13, 256, 3, 384)]                     # output size, K, F, D
alex_mult_adds = sum(o * o * k * f * f * d for o, k, f, d in alex_layers)
alex_mult_adds += 9216 * 4096 + 4096 * 4096 + 4096 * 1000
rate = summary.total_mult_adds / per_forward
days = alex_mult_adds / rate * (per_step / per_forward) * 1.2e6 * 90 / 86400
print(f"AlexNet: {alex_mult_adds / 1e9:.2f} G multiply-adds per image forward")
print(f"AlexNet, 90 epochs of 1.2 M images at this machine's rate: {days:,.0f} days = "
      f"{days / 365:.0f} years (the paper: 6 days on 2 GPUs)")
