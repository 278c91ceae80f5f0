# %% [markdown]
# # 26 Inception: why wider, and what the 1x1 bottleneck saves
#
# The notes: Inception modules "let the model decide on the size of the convolution
# kernel"; GoogLeNet "grows wider instead of deeper" for a "reduction of computational
# expense". One module runs a 1x1, a 3x3, a 5x5 convolution and a 3x3 max pool side by
# side on the same input and concatenates the results along the channels, so the
# next layer can weigh whichever scale fits. Run naively, the 3x3 and 5x5 branches on
# all input channels are expensive; GoogLeNet first squeezes the channels with a 1x1
# convolution (the "bottleneck", lesson 10's 1x1 convolution at work).
#
# GoogLeNet's module 3a: input 28x28x192; branches 1x1: 64; 1x1 96 -> 3x3 128;
# 1x1 16 -> 5x5 32; pool -> 1x1 32; output 28x28x256.
#
# Run: `python examples/26_inception_bottleneck.py`

# %%
import argparse

import numpy as np

import striate
import striate.functional as F
import striate.nn as nn
from striate.models.googlenet import Inception

parser = argparse.ArgumentParser(description="Inception and its 1x1 bottleneck")
parser.add_argument("--fast", action="store_true", help="(accepted for symmetry)")
parser.add_argument("--out", help="(this script writes no file)")
args, _ = parser.parse_known_args()     # a notebook kernel passes arguments of its own

H = W = 28
C = 192


def conv(c_in, c_out, k):
    return nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False)


class Module3a(nn.Module):
    """The paper's module 3a (5x5 in the third branch); ``bottleneck=False`` drops the
    1x1 reductions before the 3x3 and 5x5 and after the pool."""

    def __init__(self, bottleneck=True):
        super().__init__()
        self.bottleneck = bottleneck
        self.b1 = conv(C, 64, 1)
        self.b2 = nn.Sequential(conv(C, 96, 1), conv(96, 128, 3)) if bottleneck else conv(C, 128, 3)
        self.b3 = nn.Sequential(conv(C, 16, 1), conv(16, 32, 5)) if bottleneck else conv(C, 32, 5)
        self.b4 = conv(C, 32, 1) if bottleneck else None

    def forward(self, x):
        pooled = F.max_pool2d(x, 3, stride=1, padding=1)
        fourth = self.b4(pooled) if self.bottleneck else pooled
        return F.cat([self.b1(x), self.b2(x), self.b3(x), fourth], 1)


def mult_adds(module):
    """Multiply-adds of the convolutions at 28x28: every output pixel, every weight."""
    return sum(H * W * m.weight.numel() for m in module.modules() if isinstance(m, nn.Conv2d))


# %%
x = np.random.default_rng(0).standard_normal((1, C, H, W)).astype(np.float32)
for bottleneck in (False, True):
    module = Module3a(bottleneck)
    y = module(x)
    weights = sum(p.numel() for p in module.parameters())
    name = "with 1x1 bottlenecks" if bottleneck else "naive (no 1x1 reductions)"
    print(f"{name}: output {y.shape[2]}x{y.shape[3]}x{y.shape[1]}, {weights:,} weights, "
          f"{mult_adds(module) / 1e6:,.1f} M multiply-adds")

# %% [markdown]
# The 5x5 branch alone, by hand: naive 28*28*32 outputs x 5*5*192 weights each; with
# the bottleneck 28*28*16 x 192 (the 1x1) plus 28*28*32 x 5*5*16.

# %%
naive5 = H * W * 32 * 5 * 5 * 192
reduced5 = H * W * 16 * 192 + H * W * 32 * 5 * 5 * 16
print(f"5x5 branch: 28*28*32*5*5*192 = {naive5:,} against 28*28*16*192 + 28*28*32*5*5*16 = "
      f"{reduced5:,} ({naive5 / reduced5:.1f}x fewer)")

# %% [markdown]
# striate's GoogLeNet builds the same module (with batch norm after each convolution);
# its third branch is a 3x3, as in torchvision's port, whose checkpoints it loads.

# %%
ours = Inception(192, 64, 96, 128, 16, 32, 32)
print(f"striate's Inception(192, 64, 96, 128, 16, 32, 32): output "
      f"{tuple(ours(x).shape[1:])}, {sum(p.numel() for p in ours.parameters()):,} parameters")
