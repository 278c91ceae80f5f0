# %% [markdown]
# # 19 One-dimensional convolution, and why true convolution commutes
#
# The notes define the discrete convolution (f * g)[n] = sum_m f[m] g[n - m] and note
# that it is commutative: f * g = g * f. A CNN layer computes something slightly
# different, the cross-correlation (f * g)[n] = sum_m f[m] g[n + m]: the kernel slides
# without being flipped. Cross-correlation is not commutative: swapping the two
# reverses the result. For learned filters the difference does not matter (the
# network learns the flipped filter), but the algebra of the notes needs the flip.
#
# Run: `python examples/19_conv1d_and_commutativity.py`

# %%
import argparse

import numpy as np

import striate.functional as F

parser = argparse.ArgumentParser(description="1-D convolution and commutativity")
parser.add_argument("--fast", action="store_true", help="(accepted for symmetry)")
parser.add_argument("--out", help="(this script writes no file)")
args, _ = parser.parse_known_args()     # a notebook kernel passes arguments of its own

f = np.array([1.0, 2.0, 3.0])
g = np.array([0.0, 1.0, 0.5, 2.0, -1.0])


def true_convolution(a, b):
    """(a * b)[n] = sum_m a[m] b[n - m], every n where they overlap ("full")."""
    out = np.zeros(len(a) + len(b) - 1)
    for n in range(len(out)):
        for m in range(len(a)):
            if 0 <= n - m < len(b):
                out[n] += a[m] * b[n - m]
    return out


def correlate(signal, kernel):
    """What a conv layer computes, through striate: F.conv1d, padded to 'full'."""
    pad = len(kernel) - 1
    return F.conv1d(signal[None, None], kernel[None, None], padding=pad).data[0, 0]


# %% [markdown]
# The sum written out, against NumPy's `np.convolve` (a true convolution), both orders.

# %%
print("f =", f.tolist(), " g =", g.tolist())
print("f * g by the sum:      ", true_convolution(f, g).tolist())
print("g * f by the sum:      ", true_convolution(g, f).tolist())
print("np.convolve(f, g):     ", np.convolve(f, g).tolist())
print("commutative:", np.allclose(true_convolution(f, g), true_convolution(g, f)))

# %% [markdown]
# A conv layer slides the kernel as it is: correlation. To get the true convolution out
# of `F.conv1d`, flip the kernel. Swapping signal and kernel in the correlation reverses
# the output instead of leaving it unchanged.

# %%
print("F.conv1d(g, f) (correlation):        ", correlate(g, f).tolist())
print("F.conv1d(g, flip(f)) = f * g:         ", correlate(g, f[::-1].copy()).tolist())
print("F.conv1d(f, g) (signal and kernel swapped):", correlate(f, g).tolist())
print("correlation commutes:", np.allclose(correlate(g, f), correlate(f, g)),
      "| swapped = reversed:", np.allclose(correlate(f, g), correlate(g, f)[::-1]))

# %% [markdown]
# The notes' seismogram: a source signal E sent through a system with impulse response
# R arrives as S = E * R. A single spike reproduces R where it occurs, scaled; the
# response to two spikes is the sum of two shifted copies (convolution is linear and
# shift-equivariant).

# %%
response = np.array([1.0, 0.6, 0.3, 0.1])
spikes = np.zeros(8)
spikes[1], spikes[5] = 1.0, 2.0
print("E (two spikes):", spikes.tolist())
print("S = E * R:     ", np.round(true_convolution(spikes, response), 2).tolist())
