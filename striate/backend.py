"""The one module that talks to the array library directly.

Every op in striate gets its arrays from ``xp`` here instead of importing NumPy
itself (tinygrad's rule: ops don't use the array library outside the backend).
Swapping ``xp`` for CuPy is then the whole of a GPU port: the ops, the
autograd core and the layers stay as they are.

It also holds the few array helpers that both the autograd core and the ops
use (:func:`sum_to`, :func:`normalize_dims`): living here, below both, they
need no import between the two.
"""
import numpy as xp  # noqa: F401  (re-exported: `from striate.backend import xp`)
from numpy.lib.stride_tricks import as_strided  # noqa: F401

ndarray = xp.ndarray

#: dtype of tensors made from Python floats and of new parameters.
default_float = xp.float32


def is_array(value):
    """True for an array of the backend (a NumPy ndarray today)."""
    return isinstance(value, ndarray)


def is_floating(dtype):
    """True for a floating-point dtype (only those carry gradients)."""
    return xp.issubdtype(dtype, xp.floating)


def lowest(dtype):
    """The smallest value of ``dtype``: -inf for floats, the minimum of an integer
    type (-128 for int8), False for bool. Max pooling pads with it so that the
    padding never wins a window (-inf cast to int8 would be 0)."""
    dtype = xp.dtype(dtype)
    if xp.issubdtype(dtype, xp.integer):
        return dtype.type(xp.iinfo(dtype).min)
    if dtype == xp.bool_:
        return xp.False_
    return dtype.type(-xp.inf)


def sum_to(grad, shape):
    """Sum ``grad`` over the axes that broadcasting added or stretched, giving ``shape``.

    The adjoint of broadcasting ``shape`` to ``grad.shape``: every binary op's
    backward uses it so that each input receives a gradient of its own shape.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1)
    grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


def normalize_dims(dim, ndim, op=None):
    """``dim`` (None, int or tuple, negatives allowed) as a sorted tuple of axes of
    an ``ndim``-d array; None means all of them. ``op`` names the caller in the
    IndexError for a dim out of range."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    for d in dims:
        if not -ndim <= d < max(ndim, 1):
            raise IndexError(f"{op + ': ' if op else ''}dim {d} is out of range for a tensor "
                             f"with {ndim} dimensions")
    return tuple(sorted(d % max(ndim, 1) for d in dims))
