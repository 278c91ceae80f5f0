"""Resampling: ``interpolate`` (nearest, linear, bilinear, trilinear), as used by
U-Net-style decoders and ``nn.Upsample``.

Symbols: N batch, C channels, then one to three spatial dims of input sizes
(L | H, W | D, H, W) and output sizes (OL | OH, OW | OD, OH, OW).

Every mode here is separable: resampling a 2-D image is resampling its rows,
then its columns. Along one axis each output position o reads at most two
input positions i0(o) <= i1(o) with weights l0(o) + l1(o) = 1 (nearest: one
position, weight 1), so the forward is two ``take``s and a weighted sum per
axis, O(output) work with no loop over pixels. Because i0 and i1 never
decrease with o, the backward (a scatter-add of the gradient onto those
positions) is a sum over runs of equal index, done as one dense gather and
add per position within the runs (:func:`_scatter_axis`).
"""
import math

from ..autograd import Function
from ..backend import xp
from .arguments import as_tensor, check_exactly_one

__all__ = ["interpolate", "upsample"]

_LINEAR_MODES = {"linear": 1, "bilinear": 2, "trilinear": 3}
_NEAREST_MODES = ("nearest", "nearest-exact")


# --------------------------------------------------------------------------- source positions
# PyTorch's index arithmetic (aten/src/ATen/native/UpSample.h), reproduced so
# that outputs agree exactly, including non-integer scale factors.


def _inverse_scale(in_size, out_size, scale_factor):
    """Input pixels per output pixel: 1/scale_factor when one was given, else in/out."""
    if scale_factor is not None and scale_factor > 0:
        return 1.0 / scale_factor
    return in_size / out_size


def _nearest_taps(in_size, out_size, scale_factor, exact, shortcut):
    """'nearest': i = floor(o * s); 'nearest-exact': i = floor((o + 0.5) * s), clamped.
    PyTorch computes these in float32, so we do too (it decides ties).

    ``shortcut``: PyTorch's 2-D 'nearest' kernel (not its 1-D or 3-D ones)
    copies an axis whose size is unchanged and uses i = o // 2 when it doubles,
    whatever the scale factor; with a fractional factor such as 1.1 or 2.05
    that differs from the formula, so we follow it there.
    """
    if shortcut and out_size == in_size:
        return [(xp.arange(out_size), None)]
    if shortcut and out_size == 2 * in_size:
        return [(xp.arange(out_size) // 2, None)]
    scale = xp.float32(_inverse_scale(in_size, out_size, scale_factor))
    o = xp.arange(out_size, dtype=xp.float32)
    if exact:
        o += xp.float32(0.5)
    index = xp.minimum(xp.floor(o * scale).astype(xp.int64), in_size - 1)
    return [(index, None)]


def _linear_taps(in_size, out_size, scale_factor, align_corners):
    """Source position x(o) = o * (in - 1)/(out - 1) with aligned corners, else
    (o + 0.5) * s - 0.5 clamped at 0 (pixel centres); then i0 = floor(x),
    i1 = min(i0 + 1, in - 1), l1 = x - i0, l0 = 1 - l1."""
    o = xp.arange(out_size, dtype=xp.float64)
    if in_size == out_size:  # PyTorch copies such an axis, whatever the scale factor says
        scale_factor = None
    if align_corners:
        scale = (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
        source = o * scale
    else:
        source = xp.maximum((o + 0.5) * _inverse_scale(in_size, out_size, scale_factor) - 0.5, 0.0)
    i0 = xp.minimum(xp.floor(source).astype(xp.int64), in_size - 1)
    l1 = xp.clip(source - i0, 0.0, 1.0)
    i1 = xp.minimum(i0 + 1, in_size - 1)
    return [(i0, 1.0 - l1), (i1, l1)]


# --------------------------------------------------------------------------- the op


def _weights_along(weights, axis, ndim, dtype):
    shape = [1] * ndim
    shape[axis] = weights.size
    return weights.astype(dtype).reshape(shape)


def _resample_axis(x, axis, taps):
    """out[..., o, ...] = sum over taps of w(o) * x[..., i(o), ...] along ``axis``."""
    out = None
    for index, weights in taps:
        part = xp.take(x, index, axis=axis)
        if weights is not None:
            part *= _weights_along(weights, axis, x.ndim, x.dtype)
        if out is None:
            out = part
        else:
            out += part
    return out


def _scatter_axis(g, axis, taps, in_size):
    """The adjoint of :func:`_resample_axis`: grad[..., i, ...] = sum of w(o) g[..., o, ...]
    over the o with i(o) = i.

    Indices never decrease with o, so each source i owns a run of consecutive
    outputs first(i), first(i) + 1, ..., first(i) + length(i) - 1 (length 0 if
    no output reads i), at most about ceil(out/in) + 1 long. We loop over the
    position r within the runs (like a loop over kernel offsets): step r
    gathers output first(i) + r for every i at once and adds it where
    length(i) > r. Every step is a dense gather and add, where the plain
    scatter-add ``add.at`` is unbuffered and goes element by element.
    """
    shape = list(g.shape)
    shape[axis] = in_size
    grad = xp.zeros(shape, dtype=g.dtype)
    out_size = g.shape[axis]
    for index, weights in taps:
        starts = xp.flatnonzero(xp.diff(index, prepend=-1))  # first o of each run
        first = xp.zeros(in_size, dtype=xp.int64)
        length = xp.zeros(in_size, dtype=xp.int64)
        first[index[starts]] = starts
        length[index[starts]] = xp.diff(starts, append=out_size)
        for r in range(int(length.max())):
            outputs = xp.minimum(first + r, out_size - 1)
            taken = xp.take(g, outputs, axis=axis)
            present = length > r
            if weights is not None:  # weight each gathered output, 0 where the run is over
                taken *= _weights_along(weights[outputs] * present, axis, g.ndim, g.dtype)
            elif not present.all():
                taken *= _weights_along(present, axis, g.ndim, g.dtype)
            grad += taken
    return grad


class Interpolate(Function):
    """forward(x (N, C, *spatial)) -> (N, C, *out_spatial); ``taps`` holds, per
    spatial axis, the (index, weights) pairs of :func:`_nearest_taps` or
    :func:`_linear_taps`. Backward applies the adjoint axis by axis in reverse."""

    def __init__(self, taps):
        self.taps = taps

    # The axes are independent, so any order gives the same result. Gathers along
    # the last (contiguous) axis are the slowest, so they run on the smaller
    # array: first in the forward (on the input), last in the backward.
    def forward(self, x):
        self.input_shape = x.shape
        out = x
        for k in reversed(range(len(self.taps))):
            out = _resample_axis(out, 2 + k, self.taps[k])
        return out

    def backward(self, g):
        for k, taps in enumerate(self.taps):
            g = _scatter_axis(g, 2 + k, taps, self.input_shape[2 + k])
        return g


# --------------------------------------------------------------------------- functional form


def _per_dim(value, count, name):
    if value is None:
        return None
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,) * count
    if len(values) != count:
        raise ValueError(f"interpolate: {name} {value!r} must have one entry per spatial dim "
                         f"({count})")
    return values


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dims of (N, C, L), (N, C, H, W) or (N, C, D, H, W) input.

    Give exactly one of ``size`` (output size, int or tuple) and ``scale_factor``
    (float or tuple; the output size is floor(input size * factor)). Modes:
    'nearest' and 'nearest-exact' (any of the three ranks), 'linear' (3-D),
    'bilinear' (4-D), 'trilinear' (5-D); ``align_corners`` (linear modes only,
    default False) maps corner pixel centres onto each other. PyTorch's rules,
    including using 1/scale_factor (not in/out) for the source positions unless
    ``recompute_scale_factor`` is True.
    """
    input = as_tensor(input, op="interpolate")
    if input.ndim not in (3, 4, 5):
        raise ValueError(f"interpolate: expected a 3-D, 4-D or 5-D input (N, C, *spatial), "
                         f"got shape {input.shape}")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    spatial = input.ndim - 2
    if mode in _LINEAR_MODES:
        if _LINEAR_MODES[mode] != spatial:
            raise ValueError(f"interpolate: mode {mode!r} needs a {_LINEAR_MODES[mode] + 2}-D "
                             f"input, got shape {input.shape}")
        align_corners = bool(align_corners)
    elif mode in _NEAREST_MODES:
        if align_corners is not None:
            raise ValueError("interpolate: align_corners can only be set with the interpolating "
                             "modes linear | bilinear | trilinear")
    else:
        raise ValueError(f"interpolate: unknown mode {mode!r}; choose from "
                         f"{', '.join(_NEAREST_MODES + tuple(_LINEAR_MODES))}")
    check_exactly_one("interpolate", size=size, scale_factor=scale_factor)

    in_sizes = input.shape[2:]
    sizes, factors = _per_dim(size, spatial, "size"), _per_dim(scale_factor, spatial, "scale_factor")
    if factors is not None:
        sizes = tuple(math.floor(n * f) for n, f in zip(in_sizes, factors))
        if recompute_scale_factor:  # positions from in/out instead of 1/scale_factor
            factors = None
    if factors is None:
        factors = (None,) * spatial
    if any(n <= 0 for n in sizes) or any(n <= 0 for n in in_sizes):
        raise ValueError(f"interpolate: input of shape {input.shape} and output spatial size "
                         f"{tuple(sizes)} must both be positive")

    taps = []
    for n_in, n_out, factor in zip(in_sizes, sizes, factors):
        if mode in _NEAREST_MODES:
            taps.append(_nearest_taps(n_in, int(n_out), factor, mode == "nearest-exact",
                                      shortcut=mode == "nearest" and spatial == 2))
        else:
            taps.append(_linear_taps(n_in, int(n_out), factor, align_corners))
    return Interpolate(taps)(input)


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated PyTorch alias of :func:`interpolate`."""
    return interpolate(input, size, scale_factor, mode, align_corners)
