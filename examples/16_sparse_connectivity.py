# %% [markdown]
# # 16 Sparse connectivity and weight sharing, shown directly
#
# The notes' 1-D picture: five inputs x1..x5 and five outputs s1..s5. A fully
# connected layer joins every input to every output: 5 x 5 = 25 connections, each
# with its own weight ("each weight is used once"). A convolution with a kernel of
# width 3 joins each output only to the 3 inputs around it ("sparse interaction":
# 13 connections, since the two border outputs see only 2 inputs each), and all the
# outputs use the same 3 weights ("shared weights").
#
# We do not count by hand: we ask the layer. The matrix of a linear map is its
# Jacobian; we get it column by column by feeding the unit vectors e1..e5 through
# `F.conv1d`, then count its non-zero entries and its distinct values.
#
# Run: `python examples/16_sparse_connectivity.py`

# %%
import argparse

import numpy as np

import striate
import striate.functional as F

parser = argparse.ArgumentParser(description="sparse connectivity and weight sharing")
parser.add_argument("--fast", action="store_true", help="(accepted for symmetry)")
parser.add_argument("--out", help="(this script writes no file)")
args, _ = parser.parse_known_args()     # a notebook kernel passes arguments of its own

# %%
n = 5
kernel = np.array([2.0, 3.0, 5.0])                 # three distinct weights, easy to spot
columns = [F.conv1d(np.eye(n)[j][None, None], kernel[None, None], padding=1).data[0, 0]
           for j in range(n)]
conv_matrix = np.stack(columns, axis=1)            # output i, input j
print("the convolution as a 5x5 matrix (row = output s_i, column = input x_j):")
print(conv_matrix.astype(int))
connections = int(np.count_nonzero(conv_matrix))
shared = np.unique(conv_matrix[conv_matrix != 0])
print(f"fully connected: {n} x {n} = {n * n} connections, {n * n} weights")
print(f"convolution (kernel 3): {connections} connections, {len(shared)} shared weights "
      f"{shared.astype(int).tolist()}")

# %% [markdown]
# The receptive field of one output: the inputs that affect s3 (row 3 of the matrix),
# and the outputs one input affects (column 3): 3 each, against all 5 when fully
# connected.

# %%
print("s3 depends on inputs", [f"x{j + 1}" for j in np.flatnonzero(conv_matrix[2])])
print("x3 affects outputs", [f"s{i + 1}" for i in np.flatnonzero(conv_matrix[:, 2])])

# %% [markdown]
# Sharing has a price in the backward pass: a shared weight receives the gradient of
# every output it took part in, summed (the notes: "sum over all the paths in which
# a filter influences the output"). With dL/ds = 1 everywhere, the gradient of each
# weight is the sum of the inputs it multiplied.

# %%
x = striate.tensor(np.array([[[1.0, 2.0, 3.0, 4.0, 5.0]]]))
w = striate.tensor(kernel[None, None], requires_grad=True)
F.conv1d(x, w, padding=1).sum().backward()
by_hand = [1 + 2 + 3 + 4, 1 + 2 + 3 + 4 + 5, 2 + 3 + 4 + 5]   # w1 never meets x5, w3 never x1
print(f"dL/dw by autograd: {w.grad[0, 0].tolist()}; by hand (sums of the inputs it met): "
      f"{by_hand}")
