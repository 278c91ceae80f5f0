"""The one module that talks to the array library directly.

Every op in striate gets its arrays from ``xp`` here instead of importing NumPy
itself (tinygrad's rule: ops don't use the array library outside the backend).
Swapping ``xp`` for CuPy is then the whole of a GPU port: the ops, the
autograd core and the layers stay as they are.
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
