# %%
"""Skip connections keep the gradient alive.

A residual block computes G(x) = F(x) + x, so by the chain rule
dL/dx = dL/dG * dF/dx + dL/dG: the upstream gradient reaches x unchanged,
plus whatever flows through F. A deep stack of plain layers multiplies the
gradient by one Jacobian per layer and it fades; the residual stack keeps
the identity path. We measure the gradient norm at every layer of a plain
and a residual network of the same layers, and plot them.

Run: python examples/12_skip_connections.py --out gradients.png [--fast]
"""
import argparse
import os
import tempfile

import numpy as np

import striate
import striate.nn as nn

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--fast", action="store_true", help="16 layers instead of 30")
parser.add_argument("--out", help="PNG to write (default: a temporary file)")
args, _ = parser.parse_known_args()     # a notebook kernel passes arguments of its own
fast = args.fast or bool(os.environ.get("STRIATE_FAST"))

# %%
# 1. The identity, checked with autograd on one block G(x) = F(x) + x.
striate.manual_seed(0)
block = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.Tanh()).to(np.float64)
x = striate.tensor(np.random.default_rng(0).normal(size=(1, 4, 6, 6)), requires_grad=True)
upstream = np.random.default_rng(1).normal(size=(1, 4, 6, 6))
(block(x) + x).backward(upstream)
through_g = x.grad.copy()
x.grad = None
block(x).backward(upstream)
through_f = x.grad
print(f"dL/dx through G = F(x) + x equals dL/dx through F plus dL/dG: max |difference| = "
      f"{abs(through_g - (through_f + upstream)).max():.1e}")


# %%
# 2. Gradient flow through a deep plain net and a residual one with the same layers.
class Stack(nn.Module):
    def __init__(self, depth, residual):
        super().__init__()
        self.residual = residual
        self.layers = nn.ModuleList([nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.Tanh())
                                     for _ in range(depth)])

    def forward(self, x):
        self.outputs = []
        for layer in self.layers:
            y = layer(x)
            x = y + x if self.residual else y
            x.retain_grad()
            self.outputs.append(x)
        return x


depth = 16 if fast else 30
norms = {}
for residual in (False, True):
    striate.manual_seed(1)
    net = Stack(depth, residual).to(np.float64)
    for layer in net.layers:                 # small weights, as in a freshly started deep net
        layer[0].weight.data *= 0.5
    inputs = striate.tensor(np.random.default_rng(2).normal(size=(2, 8, 8, 8)))
    out = net(inputs)
    (out * out).mean().backward()
    norms[residual] = [float(np.linalg.norm(t.grad)) for t in net.outputs]
plain, res = norms[False], norms[True]
print(f"{depth} layers: gradient norm at layer 1 / at layer {depth}: plain "
      f"{plain[0] / plain[-1]:.2e}, residual {res[0] / res[-1]:.2f}")
print(f"first-layer gradient norm: plain {plain[0]:.2e}, residual {res[0]:.2e}")

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

figure = Figure(figsize=(7, 4.2), layout="constrained")
FigureCanvasAgg(figure)
axes = figure.subplots()
layers = np.arange(1, depth + 1)
axes.semilogy(layers, plain, "o-", label="plain: x = tanh(conv(x))")
axes.semilogy(layers, res, "s-", label="residual: x = tanh(conv(x)) + x")
axes.set_xlabel("layer (input side = 1)")
axes.set_ylabel("|| dL / d(layer output) ||")
axes.set_title(f"gradient flow through {depth} conv layers: the skip connection keeps it alive")
axes.grid(True, which="both", alpha=0.3)
axes.legend()
out = args.out or os.path.join(tempfile.mkdtemp(), "gradient_flow.png")
figure.savefig(out)
print(f"wrote {out}")
