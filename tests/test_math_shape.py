"""Elementwise, reduction and shape ops: forward and gradients against PyTorch,
and float64 finite differences, over broadcasting and negative values."""
import numpy as np
import pytest
import torch

import striate.functional as F
from harness import check_against_torch, check_gradients, randn, tie_free

BINARY = {
    "add": (lambda a, b: a + b),
    "sub": (lambda a, b: a - b),
    "mul": (lambda a, b: a * b),
    "div": (lambda a, b: a / b),
}
BROADCAST_SHAPES = [((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((3, 1), (1, 5)), ((1,), (2, 3)), ((2, 1, 4), (3, 1))]


@pytest.mark.parametrize("op", sorted(BINARY))
@pytest.mark.parametrize("shapes", BROADCAST_SHAPES)
def test_binary_broadcasting(op, shapes):
    a, b = randn(*shapes[0], seed=1), randn(*shapes[1], seed=2) + 3.0  # keep divisors away from 0
    check_against_torch(BINARY[op], BINARY[op], [a, b])
    check_gradients(BINARY[op], [a, b])


def test_reflected_operators_with_scalars():
    a = randn(2, 3)
    for fn in (lambda x: 2.0 - x, lambda x: 3.0 / (x * x + 1.0), lambda x: 1.5 + x * 2.0, lambda x: -x):
        check_against_torch(fn, fn, [a])


@pytest.mark.parametrize("shapes", [((3, 4), (4, 5)), ((2, 3, 4), (4, 2)), ((4,), (4, 3)), ((3, 4), (4,)),
                                    ((4,), (4,)), ((2, 1, 3, 4), (5, 4, 2))])
def test_matmul(shapes):
    a, b = randn(*shapes[0], seed=1), randn(*shapes[1], seed=2)
    check_against_torch(lambda x, y: x @ y, lambda x, y: x @ y, [a, b])
    check_gradients(lambda x, y: x @ y, [a, b])


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "abs"])
def test_unary(name):
    x = randn(3, 5)
    if name in ("log", "sqrt"):
        x = np.abs(x) + 0.5
    check_against_torch(getattr(F, name), getattr(torch, name), [x])
    check_gradients(getattr(F, name), [x])


def test_clip_and_pow():
    x = randn(4, 5) * 2
    check_against_torch(lambda t: t.clip(-1.0, 0.5), lambda t: t.clamp(-1.0, 0.5), [x])
    check_against_torch(lambda t: t.clip(min=0.0), lambda t: t.clamp(min=0.0), [x])
    base = np.abs(x) + 0.5
    check_against_torch(lambda t: t ** 3, lambda t: t ** 3, [x])
    check_against_torch(lambda t: t ** 0.5, lambda t: t ** 0.5, [base])
    check_against_torch(lambda a, b: a ** b, lambda a, b: a ** b, [base, randn(4, 5, seed=3)])
    check_gradients(lambda a, b: a ** b, [base, randn(4, 5, seed=3)])


@pytest.mark.parametrize("dim", [None, 0, 1, -1, (0, 2)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_reductions(dim, keepdim):
    x = randn(3, 4, 5)
    torch_dim = dim if dim is not None else tuple(range(3))
    check_against_torch(lambda t: t.sum(dim, keepdim), lambda t: t.sum(torch_dim, keepdim), [x])
    check_against_torch(lambda t: t.mean(dim, keepdim), lambda t: t.mean(torch_dim, keepdim), [x])
    check_against_torch(lambda t: t.var(dim, keepdim), lambda t: t.var(torch_dim, keepdim=keepdim), [x])
    tf = tie_free((3, 4, 5))
    check_against_torch(lambda t: t.max(dim, keepdim), lambda t: t.amax(torch_dim, keepdim), [tf])
    check_against_torch(lambda t: t.min(dim, keepdim), lambda t: t.amin(torch_dim, keepdim), [tf])
    check_gradients(lambda t: t.var(dim, keepdim), [x])


def test_max_with_ties_shares_gradient_like_amax():
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    check_against_torch(lambda t: t.max(1), lambda t: t.amax(1), [x])
    check_against_torch(lambda t: t.max(), lambda t: t.amax(), [x])


def test_elementwise_maximum_minimum_where():
    a, b = randn(3, 4, seed=1), randn(3, 4, seed=2)
    check_against_torch(F.maximum, torch.maximum, [a, b])
    check_against_torch(F.minimum, torch.minimum, [a, b])
    cond = a > 0
    check_against_torch(lambda x, y: F.where(cond, x, y), lambda x, y: torch.where(torch.tensor(cond), x, y), [a, b])


INDEXES = [(1,), (slice(None), 2), (slice(1, None), slice(None, None, 2)), (Ellipsis, -1),
           (np.array([0, 2, 0]),), (slice(None), np.array([1, 1, 3])), (None, 0)]


@pytest.mark.parametrize("index", INDEXES, ids=range(len(INDEXES)))
def test_getitem(index):
    x = randn(3, 4, 2)
    torch_index = tuple(torch.tensor(i) if isinstance(i, np.ndarray) else i for i in index)
    check_against_torch(lambda t: t[index], lambda t: t[torch_index], [x])


def test_boolean_mask_index():
    x = randn(3, 4)
    mask = x > 0
    check_against_torch(lambda t: t[mask], lambda t: t[torch.tensor(mask)], [x])


def test_reshape_permute_transpose_flatten_squeeze():
    x = randn(2, 3, 4, 1)
    check_against_torch(lambda t: t.reshape(6, 4), lambda t: t.reshape(6, 4), [x])
    check_against_torch(lambda t: t.reshape(-1), lambda t: t.reshape(-1), [x])
    check_against_torch(lambda t: t.permute(2, 0, 3, 1) * 1.0, lambda t: t.permute(2, 0, 3, 1) * 1.0, [x])
    check_against_torch(lambda t: t.transpose(0, 2), lambda t: t.transpose(0, 2), [x])
    check_against_torch(lambda t: t.flatten(1), lambda t: t.flatten(1), [x])
    check_against_torch(lambda t: t.flatten(1, 2), lambda t: t.flatten(1, 2), [x])
    check_against_torch(lambda t: t.squeeze(), lambda t: t.squeeze(), [x])
    check_against_torch(lambda t: t.unsqueeze(1), lambda t: t.unsqueeze(1), [x])
    check_against_torch(lambda t: t.expand(5, 2, 3, 4, 3), lambda t: t.expand(5, 2, 3, 4, 3), [x])


def test_shape_errors_are_clear():
    x = F.reshape(randn(2, 3), 3, 2)
    with pytest.raises(ValueError, match=r"reshape: cannot view a tensor of shape \(3, 2\).*\(4, 2\)"):
        x.reshape(4, 2)
    with pytest.raises(ValueError, match=r"cat: .*\(2, 3\), \(2, 4\)"):
        F.cat([randn(2, 3), randn(2, 4)], dim=0)
    with pytest.raises(ValueError, match="stack: .*same shape"):
        F.stack([randn(2, 3), randn(3, 2)])
    with pytest.raises(ValueError, match="permutation"):
        x.permute(0, 0)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat_and_stack(dim):
    a, b, c = randn(2, 3, seed=1), randn(2, 3, seed=2), randn(2, 3, seed=3)
    if dim == 0:
        b = randn(4, 3, seed=2)
    elif dim in (1, -1):
        b = randn(2, 5, seed=2)
    check_against_torch(lambda *t: F.cat(t, dim), lambda *t: torch.cat(t, dim), [a, b, c] if dim == 1 else [a, b])
    a2 = randn(2, 3, seed=4)
    check_against_torch(lambda *t: F.stack(t, dim), lambda *t: torch.stack(t, dim), [a, a2, c])
    check_gradients(lambda *t: F.stack(t, dim), [a, a2, c])


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("pad", [(1, 2), (2, 1, 0, 2), (1, 1, 1, 1)])
def test_pad(mode, pad):
    # PyTorch's non-constant modes pad the last len(pad)/2 dims of a batched (N, C, ...) input.
    x = randn(2, 3, 4, 5) if len(pad) == 4 or mode == "constant" else randn(2, 3, 5)
    kwargs = {"value": -1.5} if mode == "constant" else {}
    check_against_torch(lambda t: F.pad(t, pad, mode, **kwargs),
                        lambda t: torch.nn.functional.pad(t, pad, mode, **kwargs), [x])
    check_gradients(lambda t: F.pad(t, pad, mode, **kwargs), [x])


def test_pad_errors():
    with pytest.raises(ValueError, match="reflect padding"):
        F.pad(randn(1, 1, 2, 2), (2, 2), mode="reflect")
    with pytest.raises(ValueError, match="unknown mode"):
        F.pad(randn(1, 1, 2, 2), (1, 1), mode="mirror")
