"""The one sliding-window utility shared by convolution, transposed convolution,
max pooling and average pooling. (Their arguments are checked and normalized
in ``arguments.py``.)

Symbols, per spatial dimension (there are ``nd`` = 1, 2 or 3 of them; the 2-d
names are used throughout, 1-d and 3-d drop or add a letter):

    N        batch size
    C        channels
    H, W     input size                     (D, H, W in 3-d)
    KH, KW   kernel size                    (the "F" of the lecture notes)
    SH, SW   stride                         (S)
    PH, PW   padding                        (P); as a (before, after) pair per dimension,
                                            because 'same' with an even kernel is uneven
    DH, DW   dilation                       (D): kernel taps sit D pixels apart
    OH, OW   output size
    K        KH*KW, the number of kernel offsets;  L = OH*OW, the number of output positions

Output size (the notes' ``(W - F + 2P)/S + 1`` with dilation and rounding made explicit)::

    OW = floor((W + PW_before + PW_after - DW*(KW - 1) - 1) / SW) + 1

``im2col`` is a strided *view*: element ``[n, c, kh, kw, oh, ow]`` is
``padded[n, c, oh*SH + kh*DH, ow*SW + kw*DW]``; nothing is copied until a caller
reshapes it for a matrix product. ``col2im`` is its adjoint: it adds every column
entry back to the input pixel it came from, looping over the K kernel offsets
only (each offset is one strided slice of the whole batch).
"""
import bisect
import itertools
import threading
from math import prod

from ..backend import as_strided, xp
from ..threads import split

__all__ = []  # building blocks of conv.py and pool.py, not re-exported


# --------------------------------------------------------------------------- sizes


def output_size(size, kernel, stride=1, padding=0, dilation=1, ceil_mode=False):
    """One spatial dimension: ``floor((W + 2P - D(K-1) - 1)/S) + 1``.

    ``padding`` is the per-side P (an int) or a (before, after) pair. With
    ``ceil_mode`` the division rounds up, but, as in PyTorch, the last window
    must start inside the input or the left padding, never in the right padding.
    AlexNet's first layer: ``output_size(227, 11, 4) == 55``.
    """
    before, after = (padding, padding) if isinstance(padding, int) else padding
    span = size + before + after - dilation * (kernel - 1) - 1
    if span < 0:
        return 0
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + before:
        out -= 1
    return out


def output_shape(spatial, kernel, stride, pads, dilation, ceil_mode=False):
    return tuple(output_size(w, k, s, p, d, ceil_mode)
                 for w, k, s, p, d in zip(spatial, kernel, stride, pads, dilation))


# --------------------------------------------------------------------------- workspace
#
# The im2col columns are large (K times the input) and short-lived. Allocated
# fresh each step, they pay a page fault on the first touch of every page, a
# cost of the order of filling them, and arrays over glibc's 32 MiB mmap
# threshold are returned to the system when freed, so they fault again every
# step (that was why a ResNet step cost more per image at batch 256). So
# scratch arrays that no caller can see come from here: byte buffers, lent as
# typed views of any shape and taken back by :func:`release`.
#
# A request takes the smallest idle buffer that holds it, if that is at most
# twice its size (a 2 MiB pad buffer should not tie up a 30 MiB column buffer
# that the next layer wants); so one set of buffers serves every layer of a
# network in turn. The pool keeps up to twice as many idle bytes as were ever
# lent out at once (at least MIN_POOL_BYTES): then every buffer of a training
# step comes back for the next step, whatever the batch size.

_idle = []        # idle byte buffers, smallest first
_lent = {}        # id(buffer) -> buffer, for the buffers handed out
_idle_bytes = 0
_lent_bytes = 0
_high_water = 0   # the most ever lent out at once
_lock = threading.Lock()  # the playground's server runs predictions on several threads
MIN_POOL_BYTES = 1 << 26  # the pool may always keep 64 MiB


def _size(buffer):
    return buffer.nbytes


def workspace(shape, dtype):
    """An uninitialized scratch array, recycled from an idle buffer when one fits."""
    global _idle_bytes, _lent_bytes, _high_water
    dtype = xp.dtype(dtype)
    size = prod(shape) * dtype.itemsize
    nbytes = max(1, size)
    with _lock:
        fits = bisect.bisect_left(_idle, nbytes, key=_size)
        found = fits < len(_idle) and _idle[fits].nbytes <= 2 * nbytes
        buffer = _idle.pop(fits) if found else xp.empty(nbytes, dtype=xp.uint8)
        if found:
            _idle_bytes -= buffer.nbytes
        _lent[id(buffer)] = buffer
        _lent_bytes += buffer.nbytes
        _high_water = max(_high_water, _lent_bytes)
    return buffer[:size].view(dtype).reshape(shape)


def release(array):
    """Give back a :func:`workspace` array (or any view of one); the caller
    must not use it again. Anything else, and a second release, is ignored."""
    global _idle_bytes, _lent_bytes
    if array is None or _lent is None or _lock is None:
        return  # (None while the interpreter shuts down)
    with _lock:
        buffer = _lent.pop(id(array if array.base is None else array.base), None)
        if buffer is None:
            return
        _lent_bytes -= buffer.nbytes
        if _idle_bytes + buffer.nbytes > max(MIN_POOL_BYTES, 2 * _high_water):
            return
        bisect.insort(_idle, buffer, key=_size)
        _idle_bytes += buffer.nbytes


def clear_workspace():
    """Drop every idle buffer (frees memory after training, for example)."""
    global _idle_bytes, _high_water
    with _lock:
        _idle.clear()
        _idle_bytes = 0
        _high_water = _lent_bytes


# --------------------------------------------------------------------------- pad / im2col / col2im


def pad(x, pads, value=0.0):
    """Pad the trailing ``len(pads)`` dimensions of ``x`` by (before, after) pairs.

    Returns a fresh array (or ``x`` itself when there is nothing to pad)."""
    if not any(b or a for b, a in pads):
        return x
    nd = len(pads)
    shape = x.shape[:-nd] + tuple(s + b + a for s, (b, a) in zip(x.shape[-nd:], pads))
    out = xp.full(shape, value, dtype=x.dtype)
    out[interior(x.shape, pads)] = x
    return out


def copy_split(destination, source):
    """``destination[...] = source``, cut across threads along the first axis
    that has more than one index (the copy is memory-bound)."""
    axis = 0 if destination.shape[0] > 1 or destination.ndim == 1 else 1
    lead = (slice(None),) * axis

    def work(start, stop):
        piece = lead + (slice(start, stop),)
        xp.copyto(destination[piece], source[piece])
    split(work, destination.shape[axis], destination.size)


def is_channel_major(x):
    """True for an (N, C, *S) array whose memory is ordered (C, N, *S), as
    convolutions return them (see ``conv.py``); with N = 1 both orders agree."""
    return x.ndim >= 3 and x.shape[0] > 1 and x.shape[1] > 1 and x.strides[0] < x.strides[1]


def in_layout(make, shape, dtype, channel_major):
    """``make(shape, dtype)`` (``xp.zeros``, :func:`workspace`, ...) for an
    (N, C, *S) ``shape``, its memory ordered (C, N, *S) if ``channel_major``."""
    shape = tuple(shape)
    if channel_major:
        return make((shape[1], shape[0]) + shape[2:], dtype).swapaxes(0, 1)
    return make(shape, dtype)


def workspace_like(x, shape=None):
    """A :func:`workspace` buffer of ``shape`` (default: ``x``'s) in ``x``'s
    memory order, channel-major or not, so that passes between the two run
    straight through memory."""
    return in_layout(workspace, x.shape if shape is None else shape, x.dtype, is_channel_major(x))


def pad_scratch(x, pads, value=0.0):
    """Like :func:`pad`, but into a recycled :func:`workspace` buffer: only the
    border is written besides the copy of ``x``, and the buffer has ``x``'s
    memory order (channel-major or not), so the copy is a straight one.
    Release it when done."""
    nd = len(pads)
    shape = x.shape[:-nd] + tuple(s + b + a for s, (b, a) in zip(x.shape[-nd:], pads))
    out = workspace_like(x, shape)
    lead = (slice(None),) * (x.ndim - nd)
    for axis, (before, after) in enumerate(pads):
        rest = (slice(None),) * (nd - axis - 1)
        out[lead + (slice(None),) * axis + (slice(0, before),) + rest] = value
        out[lead + (slice(None),) * axis + (slice(shape[x.ndim - nd + axis] - after, None),) + rest] = value
    copy_split(out[interior(x.shape, pads)], x)
    return out


def compact(x):
    """A copy of a view (a crop, say) in the same memory order as ``x``, with
    no gaps: channel-major stays channel-major."""
    return xp.array(x, order="K", copy=True)


def interior(shape, pads):
    """Index of the unpadded region inside a padded array."""
    nd = len(pads)
    return (Ellipsis,) + tuple(slice(b, b + s) for s, (b, _) in zip(shape[-nd:], pads))


def im2col(padded, kernel, stride, dilation, out_spatial):
    """View ``(N, C, *spatial)`` as ``(N, C, *kernel, *out_spatial)`` windows (no copy)."""
    lead, space = padded.strides[:2], padded.strides[2:]
    kernel_strides = tuple(st * d for st, d in zip(space, dilation))
    out_strides = tuple(st * s for st, s in zip(space, stride))
    return as_strided(padded, padded.shape[:2] + tuple(kernel) + tuple(out_spatial),
                      lead + kernel_strides + out_strides, writeable=False)


def offset_slices(kernel, stride, dilation, out_spatial):
    """For each kernel offset (kh, kw): the offset and the slice of the padded
    input that it touches at every output position."""
    for offset in itertools.product(*(range(k) for k in kernel)):
        yield offset, (Ellipsis,) + tuple(
            slice(k * d, k * d + (o - 1) * s + 1, s)
            for k, d, s, o in zip(offset, dilation, stride, out_spatial))


def col2im(cols, padded_shape, kernel, stride, dilation):
    """Adjoint of :func:`im2col`: scatter-add ``(N, C, *kernel, *out)`` columns
    into a zero array of the padded input's shape. Overlapping windows (stride
    < kernel) add up, which is exactly what the chain rule asks for."""
    nd = len(kernel)
    out_spatial = cols.shape[2 + nd:]
    # Add in the order the columns lie in memory: conv's GEMM layout is
    # channel-major (C, *K, N, *out), and accumulating it into a (C, N, *S)
    # array reads each offset's columns in one sweep instead of N strided ones.
    # The result is then a transposed view.
    channel_major = cols.strides[1] > cols.strides[0]
    if channel_major:
        cols = cols.swapaxes(0, 1)
        padded_shape = (padded_shape[1], padded_shape[0]) + tuple(padded_shape[2:])
    result = xp.zeros(padded_shape, dtype=cols.dtype)
    slices = list(offset_slices(kernel, stride, dilation, out_spatial))

    def work(start, stop):  # every offset, for the leading indices start:stop
        for offset, where in slices:
            result[start:stop][where] += cols[(slice(start, stop), slice(None)) + offset]
    split(work, result.shape[0], cols.size)
    return result.swapaxes(0, 1) if channel_major else result


def window_sum(padded, kernel, stride, dilation, out_spatial):
    """Sum of every window: (N, C, *S) -> (N, C, *out), by adding one strided
    slice per kernel offset (a sum-pool; the adjoint of :func:`col2im` with
    columns that are the same for every offset)."""
    total = None
    for _, where in offset_slices(kernel, stride, dilation, out_spatial):
        total = padded[where].copy() if total is None else xp.add(total, padded[where], out=total)
    return total


def ceil_mode_pads(spatial, kernel, stride, pads, dilation, out_spatial):
    """Padding extended after the input so that every window fits: with
    ``ceil_mode`` the last window may run past the (before, after) padding;
    those extra positions belong to no input and count for nothing."""
    result = []
    for w, k, s, (before, after), d, o in zip(spatial, kernel, stride, pads, dilation, out_spatial):
        needed = (o - 1) * s + d * (k - 1) + 1
        result.append((before, max(after, needed - w - before)))
    return tuple(result)


def crop(x, pads):
    """Remove (before, after) padding from the trailing dimensions (a view)."""
    nd = len(pads)
    return x[(Ellipsis,) + tuple(slice(b, s - a) for s, (b, a) in zip(x.shape[-nd:], pads))]
