"""Pooling: max, average and adaptive average/max over 1, 2 or 3 spatial dims.

Symbols as in ``windows.py``: x (N, C, H, W), kernel (KH, KW), stride (SH, SW)
defaulting to the kernel size, padding (PH, PW) on both sides, dilation (DH,
DW, max-pool only), output (N, C, OH, OW).

Max and average pooling share convolution's window arithmetic (output size,
ceil mode, one strided slice per kernel offset) through ``windows.py``: they
loop over the KH*KW kernel offsets, never over pixels. Adaptive pooling is
separable: one averaging matrix (or one max per output index) per axis.
"""
import math
import numbers

from .. import accel, backend
from ..autograd import Function
from ..backend import lowest, xp
from .arguments import (as_tensor, call_as_batch, check_pool_padding, check_spatial_input,
                        check_window_fits, nonnegative_tuple, positive_tuple)
from .windows import (ceil_mode_pads, col2im, compact, crop, in_layout, is_channel_major,
                      offset_slices, output_shape, pad, window_sum)

__all__ = ["max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
           "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
           "adaptive_max_pool1d", "adaptive_max_pool2d"]


# --------------------------------------------------------------------------- max / average


class MaxPool(Function):
    """Max over each window. The input is padded with the dtype's lowest value
    (-inf for floats, the minimum of an integer type) so that padding never wins
    (a padding of 0 would be wrong for windows of negative values).

    ``pads`` are (before, after) pairs, already extended for ceil mode.
    With NaN inputs the output is NaN, as in PyTorch, but the gradient is not
    routed to the NaN (PyTorch routes it there).

    Forward is a running maximum over the KH*KW offsets. Where the windows
    tile the input (kernel = stride, no padding: LeNet's and VGG's pools)
    that is all it does, and backward finds each window's winner again by
    comparing input and output, offset by offset: fewer passes over memory
    than noting the winner as the maximum is taken, and nothing kept that the
    graph does not hold anyway. Where windows overlap (AlexNet's 3x3 stride-2
    pools), each input pixel sits in several windows and backward would read
    it for every one of them, so forward notes the winning offset instead.

    2-d float32 pooling takes the fast route where it is on (oneDNN, both
    threads, the winners noted in its workspace: ``striate/accel/pool.py``).
    """

    def __init__(self, kernel, stride, pads, dilation, out_spatial):
        self.kernel, self.stride, self.pads, self.dilation = kernel, stride, pads, dilation
        self.out_spatial = out_spatial
        # Windows that tile the input (kernel == stride, nothing padded, no
        # dilation): every input pixel is in exactly one (or none, at a
        # leftover edge; checked in forward).
        self.tiles = (kernel == stride and not any(b or a for b, a in pads)
                      and all(d == 1 for d in dilation))

    def offsets(self):
        return enumerate(offset_slices(self.kernel, self.stride, self.dilation, self.out_spatial))

    def forward(self, x):
        self.plan = accel.max_pool(x, self.kernel, self.stride, self.pads, self.dilation,
                                   self.needs_input_grad[0])
        if self.plan is not None:
            out, self.workspace = self.plan.forward(x)
            if self.needs_input_grad[0]:
                self.out = out
            return out
        padded = pad(x, self.pads, value=lowest(x.dtype))
        self.tiles = self.tiles and all(o * k == size for o, k, size in
                                        zip(self.out_spatial, self.kernel, padded.shape[2:]))
        note_winner = self.needs_input_grad[0] and not self.tiles
        index_type = xp.uint8 if math.prod(self.kernel) <= 256 else xp.int32
        best = winner = better = None
        for k, (_, where) in self.offsets():
            values = padded[where]
            if best is None:
                best = values.copy(order="K")  # keeps a channel-major layout
                if note_winner:
                    winner = xp.zeros_like(best, dtype=index_type)
                    better = xp.empty_like(best, dtype=xp.bool_)
            elif winner is None:
                xp.maximum(best, values, out=best)
            else:
                # Strict >: on a tie the first offset wins, as in PyTorch. Offsets
                # come in increasing k, so the winner is the largest k that beat
                # the running max: whole-array arithmetic, no masked scatter.
                xp.greater(values, best, out=better)
                xp.maximum(best, values, out=best)
                xp.maximum(winner, better.astype(index_type) * index_type(k), out=winner)
        if self.needs_input_grad[0] and self.tiles:
            self.padded, self.out = padded, best
        elif self.needs_input_grad[0]:
            self.winner, self.padded_shape = winner, padded.shape
            self.channel_major = is_channel_major(x)
        return best

    def backward(self, grad):
        # Max-pool backward ROUTES the gradient: each window's gradient goes to
        # its winning input alone (d max / d x_i is 1 for the winner, 0 for the
        # rest); where overlapping windows share a winner, the gradients add.
        if self.plan is not None:
            return self.plan.backward(grad, self.out, self.workspace)
        if self.tiles:
            return self.route_by_comparison(grad)
        grad_padded = in_layout(xp.zeros, self.padded_shape, grad.dtype, self.channel_major)
        for k, (_, where) in self.offsets():
            grad_padded[where] += grad * (self.winner == k)
        return compact(crop(grad_padded, self.pads)) if any(b or a for b, a in self.pads) else grad_padded

    def route_by_comparison(self, grad):
        """Tiling windows: the winner is the first offset whose input equals the
        output (PyTorch's tie rule); ``unrouted`` holds the gradient of the
        windows whose winner is not found yet. Each pixel is written once."""
        padded, out = self.padded, self.out
        grad_padded = xp.empty_like(padded)
        # in the output's memory order (channel-major after a convolution),
        # whatever the gradient's (a flatten hands it back batch-major): the
        # passes below then run straight through memory
        unrouted = xp.empty_like(out)
        unrouted[...] = grad
        last = math.prod(self.kernel) - 1
        for k, (_, where) in self.offsets():
            routed = xp.multiply(unrouted, padded[where] == out, out=grad_padded[where])
            if k < last:
                unrouted -= routed  # exact: these windows' whole gradient, or zero
        return grad_padded


class AvgPool(Function):
    """Mean over each window: a sum-pool divided by a per-position divisor.

    The divisor follows PyTorch: with ``count_include_pad`` it counts the
    window's positions inside the zero-padded input (not those that ceil mode
    adds past it), otherwise only the real input positions; ``divisor_override``
    replaces it. The divisor map is a sum-pool of a ones mask over what counts.
    """

    def __init__(self, kernel, stride, padding, pads, out_spatial, count_include_pad,
                 divisor_override):
        self.kernel, self.stride, self.padding, self.pads = kernel, stride, padding, pads
        self.dilation = (1,) * len(kernel)
        self.out_spatial = out_spatial
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def divisor(self, spatial, dtype):
        if self.divisor_override is not None:
            return xp.asarray(self.divisor_override, dtype=dtype)
        if self.count_include_pad:  # ones over the zero-padded input, zeros past it (ceil mode)
            counted = tuple(w + 2 * p for w, p in zip(spatial, self.padding))
            mask = pad(xp.ones(counted, dtype=dtype),
                       tuple((0, after - p) for p, (_, after) in zip(self.padding, self.pads)))
        else:  # ones over the real input only
            mask = pad(xp.ones(spatial, dtype=dtype), self.pads)
        return window_sum(mask[None, None], self.kernel, self.stride, self.dilation,
                          self.out_spatial)

    def forward(self, x):
        padded = pad(x, self.pads)
        self.padded_shape = padded.shape
        self.div = self.divisor(x.shape[2:], x.dtype)
        total = window_sum(padded, self.kernel, self.stride, self.dilation, self.out_spatial)
        total /= self.div
        return total

    def backward(self, grad):
        # Every input receives grad / divisor from each window that contains it:
        # col2im of columns that are the same for every kernel offset.
        share = grad / self.div
        nd = len(self.kernel)
        cols = xp.broadcast_to(xp.expand_dims(share, tuple(range(2, 2 + nd))),
                               share.shape[:2] + self.kernel + share.shape[2:])
        grad_padded = col2im(cols, self.padded_shape, self.kernel, self.stride, self.dilation)
        return xp.ascontiguousarray(crop(grad_padded, self.pads))


def _pool_arguments(op, nd, x, kernel_size, stride, padding, dilation, ceil_mode):
    """Check like PyTorch; returns kernel, stride, padding, dilation, the
    (ceil-extended) pads, the output size and whether ``x`` is unbatched."""
    unbatched = check_spatial_input(x, nd, op)
    kernel = positive_tuple(kernel_size, nd, "kernel_size", op)
    stride = kernel if stride is None or stride == [] else positive_tuple(stride, nd, "stride", op)
    dilation = positive_tuple(dilation, nd, "dilation", op)
    padding = nonnegative_tuple(padding, nd, "padding", op)
    check_pool_padding(padding, kernel, op)
    pairs = tuple((p, p) for p in padding)
    check_window_fits(x, kernel, pairs, dilation, op)
    spatial = tuple(x.shape[-nd:])
    out = output_shape(spatial, kernel, stride, pairs, dilation, ceil_mode)
    pads = ceil_mode_pads(spatial, kernel, stride, pairs, dilation, out)
    return kernel, stride, padding, dilation, pads, out, unbatched


def _max_pool(nd, op, input, kernel_size, stride, padding, dilation, ceil_mode):
    x = as_tensor(input, op=op)
    kernel, stride, _, dilation, pads, out, unbatched = _pool_arguments(
        op, nd, x, kernel_size, stride, padding, dilation, ceil_mode)
    return call_as_batch(MaxPool(kernel, stride, pads, dilation, out), (x,), unbatched)


def _avg_pool(nd, op, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override):
    x = as_tensor(input, op=op)
    kernel, stride, padding, _, pads, out, unbatched = _pool_arguments(
        op, nd, x, kernel_size, stride, padding, 1, ceil_mode)
    if not backend.is_floating(x.dtype):
        raise TypeError(f"{op}: expected a floating-point input (a mean of integers is not an "
                        f"integer), got {x.dtype} of shape {tuple(x.shape)}")
    if divisor_override is not None and divisor_override == 0:
        raise ValueError(f"{op}: divisor_override must not be zero")
    function = AvgPool(kernel, stride, padding, pads, out, count_include_pad, divisor_override)
    return call_as_batch(function, (x,), unbatched)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Max over windows of (N, C, W); stride defaults to ``kernel_size``."""
    return _max_pool(1, "max_pool1d", input, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Max over KH x KW windows of (N, C, H, W) -> (N, C, OH, OW).

    ``stride`` defaults to ``kernel_size`` (non-overlapping windows); AlexNet's
    overlapping pooling is ``kernel_size=3, stride=2``. Padding is -inf (an
    integer type's minimum for integer input) and at most half the kernel;
    ``ceil_mode`` keeps a last, partial window.
    """
    return _max_pool(2, "max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Max over windows of (N, C, D, H, W); stride defaults to ``kernel_size``."""
    return _max_pool(3, "max_pool3d", input, kernel_size, stride, padding, dilation, ceil_mode)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Mean over windows of (N, C, W); stride defaults to ``kernel_size``."""
    return _avg_pool(1, "avg_pool1d", input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, None)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over KH x KW windows of (N, C, H, W) (LeNet's "subsampling").

    Zero padding counts in the mean when ``count_include_pad`` (PyTorch's
    default); ``divisor_override`` divides every window sum by that number.
    """
    return _avg_pool(2, "avg_pool2d", input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over windows of (N, C, D, H, W); stride defaults to ``kernel_size``."""
    return _avg_pool(3, "avg_pool3d", input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


# --------------------------------------------------------------------------- adaptive


def adaptive_bounds(size, out):
    """PyTorch's adaptive windows along one axis: output i covers input
    ``[floor(i*size/out), ceil((i+1)*size/out))``; windows overlap when
    ``size`` is not a multiple of ``out``."""
    return [((i * size) // out, -(-((i + 1) * size) // out)) for i in range(out)]


def averaging_matrix(size, out, dtype):
    """(out, size) matrix whose row i averages output i's window."""
    matrix = xp.zeros((out, size), dtype=dtype)
    for i, (start, end) in enumerate(adaptive_bounds(size, out)):
        matrix[i, start:end] = 1.0 / (end - start)
    return matrix


class AdaptiveAvgPool(Function):
    """Adaptive average pooling is separable: a product of one averaging matrix
    per spatial axis, applied as a matmul along that axis (its backward applies
    the transposed matrices). Output size 1 is global average pooling."""

    def __init__(self, out_spatial):
        self.out_spatial = out_spatial

    @staticmethod
    def along(x, axis, matrix):
        """Contract ``x``'s ``axis`` with ``matrix``'s columns: (.., size, ..) -> (.., rows, ..)."""
        moved = xp.moveaxis(x, axis, -1)
        return xp.moveaxis(xp.matmul(moved, matrix.T), -1, axis)

    def forward(self, x):
        self.global_mean = all(out == 1 for out in self.out_spatial)
        if self.global_mean:
            # every matrix is one row of 1/size: a mean over the spatial axes,
            # which reads x once in whatever layout it lies (NHWC on the fast route)
            self.like = x
            return x.mean(axis=tuple(range(2, x.ndim)), keepdims=True)
        self.matrices = [averaging_matrix(size, out, x.dtype)
                         for size, out in zip(x.shape[2:], self.out_spatial)]
        for axis, matrix in enumerate(self.matrices, start=2):
            x = self.along(x, axis, matrix)
        return xp.ascontiguousarray(x)

    def backward(self, grad):
        if self.global_mean:  # each input pixel gets 1/size of its channel's gradient
            like, self.like = self.like, None
            gx = xp.empty_like(like)
            gx[...] = grad * grad.dtype.type(1 / (math.prod(like.shape[2:]) or 1))
            return gx
        for axis, matrix in enumerate(self.matrices, start=2):
            grad = self.along(grad, axis, matrix.T)
        return xp.ascontiguousarray(grad)


class AdaptiveMaxAxis(Function):
    """Adaptive max along one axis (max is separable, so adaptive_max_pool2d is
    this op along H, then along W). Loops over the output indices of the axis."""

    def __init__(self, axis, out):
        self.axis, self.out = axis, out

    def forward(self, x):
        moved = xp.moveaxis(x, self.axis, -1)
        self.bounds = adaptive_bounds(moved.shape[-1], self.out)
        self.input_shape = x.shape
        values, self.winners = [], []
        for start, end in self.bounds:
            window = moved[..., start:end]
            winner = window.argmax(axis=-1)  # first maximum, as in PyTorch
            self.winners.append(winner)
            values.append(xp.take_along_axis(window, winner[..., None], axis=-1)[..., 0])
        return xp.ascontiguousarray(xp.moveaxis(xp.stack(values, axis=-1), -1, self.axis))

    def backward(self, grad):
        # Routed, as in max pooling: each output's gradient goes to its window's winner.
        moved_grad = xp.moveaxis(grad, self.axis, -1)
        shape = list(self.input_shape)
        shape.append(shape.pop(self.axis))
        result = xp.zeros(shape, dtype=grad.dtype)
        for i, ((start, end), winner) in enumerate(zip(self.bounds, self.winners)):
            positions = xp.arange(end - start)
            result[..., start:end] += (positions == winner[..., None]) * moved_grad[..., i:i + 1]
        return xp.ascontiguousarray(xp.moveaxis(result, -1, self.axis))


def _adaptive_sizes(op, nd, x, output_size):
    """The output size, None entries filled from the input, and whether ``x`` is unbatched."""
    unbatched = check_spatial_input(x, nd, op)
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * nd
    if len(sizes) == 1:
        sizes = tuple(sizes) * nd
    if len(sizes) != nd:
        raise ValueError(f"{op}: output_size must be an int or a tuple of {nd}, got {output_size!r}")
    spatial = x.shape[-nd:]
    if not all(s is None or isinstance(s, numbers.Integral) for s in sizes):
        raise TypeError(f"{op}: output_size must hold ints (or None), got {output_size!r}")
    sizes = tuple(w if s is None else int(s) for s, w in zip(sizes, spatial))
    if any(s <= 0 for s in sizes):
        raise ValueError(f"{op}: output_size must be positive, got {output_size!r}")
    if any(w <= 0 for w in spatial):
        raise ValueError(f"{op}: input of shape {tuple(x.shape)} has an empty spatial dimension")
    return sizes, unbatched


def _adaptive_avg(nd, op, input, output_size):
    x = as_tensor(input, op=op)
    sizes, unbatched = _adaptive_sizes(op, nd, x, output_size)
    return call_as_batch(AdaptiveAvgPool(sizes), (x,), unbatched)


def _adaptive_max(nd, op, input, output_size):
    x = as_tensor(input, op=op)
    sizes, unbatched = _adaptive_sizes(op, nd, x, output_size)

    def separable(t):
        for axis, out in enumerate(sizes, start=2):
            t = AdaptiveMaxAxis(axis, out)(t)
        return t
    return call_as_batch(separable, (x,), unbatched)


def adaptive_avg_pool1d(input, output_size):
    """Average (N, C, W) down to (N, C, output_size), windows chosen by PyTorch's rule."""
    return _adaptive_avg(1, "adaptive_avg_pool1d", input, output_size)


def adaptive_avg_pool2d(input, output_size):
    """Average (N, C, H, W) down to (N, C, *output_size); ``output_size=1`` is
    global average pooling (GoogLeNet, ResNet). ``None`` keeps that size."""
    return _adaptive_avg(2, "adaptive_avg_pool2d", input, output_size)


def adaptive_avg_pool3d(input, output_size):
    """Average (N, C, D, H, W) down to (N, C, *output_size)."""
    return _adaptive_avg(3, "adaptive_avg_pool3d", input, output_size)


def adaptive_max_pool1d(input, output_size):
    """Max of (N, C, W) down to (N, C, output_size) (values only, no indices)."""
    return _adaptive_max(1, "adaptive_max_pool1d", input, output_size)


def adaptive_max_pool2d(input, output_size):
    """Max of (N, C, H, W) down to (N, C, *output_size) (values only, no indices)."""
    return _adaptive_max(2, "adaptive_max_pool2d", input, output_size)
