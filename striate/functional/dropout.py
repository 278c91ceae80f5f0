"""Dropout (Srivastava et al. 2014), in its "inverted" form: during training each
element is kept with probability 1 - p and scaled by 1/(1 - p), so the expected
activation is unchanged and evaluation is the identity (no rescaling at test
time, as in PyTorch; the 2014 paper instead scales the weights at test time).

The mask is drawn from striate's one seeded generator (``striate.random``), so a
seed reproduces it; backward multiplies by the very same mask. The channel
variants (``dropout1d/2d/3d``, Tompson et al. 2015) drop whole feature maps:
their mask has shape (N, C, 1, ...) and broadcasts over the spatial dims.
"""
from .. import random
from ..autograd import Function
from ..backend import xp
from .arguments import as_tensor, check_probability, check_spatial_input

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d"]


class Dropout(Function):
    """Multiply by a fixed mask (0 or 1/(1-p)), broadcast over the input."""

    def __init__(self, mask):
        self.mask = mask

    def forward(self, x):
        return x * self.mask

    def backward(self, g):
        return g * self.mask


def _mask(shape, p, dtype):
    """Kept entries hold 1/(1-p), dropped ones 0; p == 1 drops everything."""
    if p == 1.0:
        return xp.zeros(shape, dtype=dtype)
    draw_dtype = dtype if dtype in (xp.float32, xp.float64) else xp.float64
    keep = random.generator().random(shape, dtype=draw_dtype) >= p
    return keep * dtype.type(1.0 / (1.0 - p))


def _apply(input, mask_shape, p, training, op):
    """``input`` (a checked Tensor) times a fresh mask of ``mask_shape``."""
    p = check_probability(p, "p", op)
    if not training or p == 0.0:
        return input
    if not xp.issubdtype(input.dtype, xp.floating):
        raise TypeError(f"{op}: expected a floating-point input, got {input.dtype} of shape "
                        f"{tuple(input.shape)}")
    return Dropout(_mask(mask_shape, p, input.dtype))(input)


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p) when
    ``training``; the identity otherwise. ``inplace`` is accepted and ignored."""
    input = as_tensor(input, op="dropout")
    return _apply(input, input.shape, p, training, "dropout")


def _channel_dropout(input, p, training, spatial, op):
    """Drop whole channels of (N, C, *spatial) or unbatched (C, *spatial) input."""
    check_spatial_input(input, spatial, op)
    channel_dims = input.ndim - spatial
    mask_shape = input.shape[:channel_dims] + (1,) * spatial
    return _apply(input, mask_shape, p, training, op)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, L) or (C, L) input."""
    return _channel_dropout(as_tensor(input, op="dropout1d"), p, training, 1, "dropout1d")


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, H, W) input. A 3-D input is read as (N, C, L),
    as PyTorch does today (it warns that this will change to (C, H, W))."""
    input = as_tensor(input, op="dropout2d")
    if input.ndim == 3:
        return _channel_dropout(input, p, training, 1, "dropout2d")
    return _channel_dropout(input, p, training, 2, "dropout2d")


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) input."""
    return _channel_dropout(as_tensor(input, op="dropout3d"), p, training, 3, "dropout3d")
