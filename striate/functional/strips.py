"""im2col in long strips: the columns of a convolution copied in runs of a
whole flattened image rather than in rows of OW values.

``im2col`` (``windows.py``) copies each window row by row: OW values at a
time, 28 for a 28x28 image, 4 for a 4x4 one, and a NumPy copy pays a fixed
cost per row, so small images copy slowly. Flatten each padded image
instead. At stride 1, tap k of the kernel (offset (kh, kw)) reads, for the
flat output positions q = 0, 1, 2, ..., the flat pixels q + kh*Wp + kw: one
long strip per (channel, image, tap). Output (i, j) sits at q = i*Wp + j; the
positions in between (j >= OW, the last K-1 of each padded row) are junk,
computed and thrown away: about Wp/OW - 1 of the work (7% for 28x28 images
with padding 1, 38% for 4x4 ones).

With a stride S, output (i, j) reads pixel (S*i + kh, S*j + kw). Split the
padded image into its S*S *phases*, the planes of pixels (S*m + r, S*n + t),
once (one strided copy of the input); then tap (kh, kw) reads phase
(kh mod S, kw mod S) at (i + kh div S, j + kw div S): a stride-1 strip again.

At stride 1 the padding need not be copied at all (:class:`Shifts`): lay
the flat positions out on the *unpadded* image's rows, q = i*W + j, so that
tap (kh, kw) reads pixel q + (kh - P)*W + (kw - P) of the unpadded image.
Where that falls outside the image the padding would have supplied a zero:
before the first row or after the last, the strip is simply cut short and
its ends zeroed; off the left or right edge, the read wraps into the
neighbouring row, and those few entries (one or two per row) are zeroed
after the copy. With 'same' padding no position is junk at all, so the GEMM
result *is* the output, with nothing to crop, and the output gradient *is*
the matrix at the positions.

Symbols: N batch, C channels, K taps, (*S) the padded input, (*O) the output,
(*M) a phase plane (S/stride, rounded up), Q the strip length: the flat
positions from the first output to the last, in one image.
"""
import itertools
from math import prod

from ..backend import as_strided
from .windows import copy_split, release, workspace

__all__ = []  # a building block of conv.py

#: strips are used when they compute at most this many positions per output
MAX_WASTE = 1.5


def plane_strides(spatial):
    """Element strides of a C-ordered (*spatial) block: (H*W..., W, 1)."""
    strides, step = [], 1
    for size in reversed(spatial):
        strides.append(step)
        step *= size
    return tuple(reversed(strides))


def scattered_positions(geometry, grad, groups):
    """An output gradient (N, O, *O) at the flat positions of a strip
    ``geometry`` (its ``length`` and ``outputs``): (G, Og, N*Q), zero at the
    junk positions (they had no effect on the loss); a workspace buffer."""
    n, o = grad.shape[:2]
    flat = workspace((o, n, geometry.length), grad.dtype)
    flat.fill(0)
    geometry.outputs(flat)[...] = grad.swapaxes(0, 1)
    return flat.reshape(groups, o // groups, -1)


class Strips:
    """The strip geometry of one convolution of a padded input (see the
    module docstring).

    ``plan`` returns one, or None where strips would waste too much (a kernel
    nearly as large as the image) or the image planes are not contiguous.
    """

    #: whether :meth:`col2im` returns the padded input's gradient (crop it)
    padded_input = True
    #: whether every flat position is an output (nothing to crop or scatter)
    dense = False

    def __init__(self, padded_shape, kernel, stride, dilation, out_spatial):
        self.padded_shape, self.stride = tuple(padded_shape), tuple(stride)
        self.out_spatial = tuple(out_spatial)
        spatial = self.padded_shape[2:]
        self.grid = tuple(-(-s // st) for s, st in zip(spatial, stride))  # (*M)
        self.plane = plane_strides(self.grid)
        self.length = 1 + sum((o - 1) * p for o, p in zip(out_spatial, self.plane))
        self.phases = list(itertools.product(*(range(s) for s in stride)))
        self.taps = []  # per tap: (phase index, flat offset in the phase plane)
        for tap in itertools.product(*(range(k) for k in kernel)):
            reach = [t * d for t, d in zip(tap, dilation)]
            phase = tuple(r % s for r, s in zip(reach, stride))
            shift = sum((r // s) * p for r, s, p in zip(reach, stride, self.plane))
            self.taps.append((self.phases.index(phase), shift))

    @classmethod
    def plan(cls, padded_shape, kernel, stride, dilation, out_spatial, padded=None):
        """The geometry for a convolution of a ``padded_shape`` input, or None.
        Give the ``padded`` array itself when its columns will be read."""
        if prod(stride) > prod(padded_shape[2:]):
            return None  # more phases than pixels: a stride beyond the image
        strips = cls(padded_shape, kernel, stride, dilation, out_spatial)
        if strips.length > MAX_WASTE * prod(out_spatial):
            return None
        if padded is not None and len(strips.phases) == 1:  # read in place: one block per image
            item = padded.itemsize
            if tuple(st / item for st in padded.strides[2:]) != plane_strides(padded.shape[2:]):
                return None
        return strips

    # ----------------------------------------------------------------- forward

    def planes(self, padded):
        """The phase planes, flat: (R, C, N, prod(M)), and the buffer to
        release (None at stride 1, where the one plane is ``padded`` itself)."""
        n, c = self.padded_shape[:2]
        by_channel = padded.swapaxes(0, 1)  # (C, N, *S): free for channel-major input
        if len(self.phases) == 1:
            return by_channel.reshape(1, c, n, -1), None
        buffer = workspace((len(self.phases), c, n) + self.grid, padded.dtype)
        if any(s % st for s, st in zip(self.padded_shape[2:], self.stride)):
            buffer.fill(0)  # the ragged ends feed only junk positions, but must be finite
        for index, phase in enumerate(self.phases):
            source = by_channel[(Ellipsis,) + tuple(slice(r, None, s) for r, s in zip(phase, self.stride))]
            copy_split(buffer[index][(Ellipsis,) + tuple(slice(0, m) for m in source.shape[2:])], source)
        return buffer.reshape(len(self.phases), c, n, -1), buffer

    def columns(self, padded, groups):
        """The columns (G, Cg*K, N*Q), a workspace buffer: one strip copy per tap."""
        n, c = self.padded_shape[:2]
        planes, buffer = self.planes(padded)
        cols = workspace((groups, c // groups * len(self.taps), n * self.length), padded.dtype)
        by_tap = cols.reshape(c, len(self.taps), n, self.length)
        for k, (phase, shift) in enumerate(self.taps):
            copy_split(by_tap[:, k], planes[phase, :, :, shift:shift + self.length])
        release(buffer)
        return cols

    def outputs(self, flat):
        """The real outputs among the flat positions: (..., Q) -> (..., *O), a view."""
        item = flat.itemsize
        return as_strided(flat, flat.shape[:-1] + self.out_spatial,
                          flat.strides[:-1] + tuple(p * item for p in self.plane),
                          writeable=flat.flags.writeable)

    # ----------------------------------------------------------------- backward

    def positions(self, grad, groups):
        """An output gradient (N, O, *O) at the flat positions: (G, Og, N*Q),
        zero at the junk ones (they had no effect on the loss), and True: it
        is a workspace buffer (see :meth:`Shifts.positions`)."""
        return scattered_positions(self, grad, groups), True

    def col2im(self, cols):
        """Adjoint of :meth:`columns`: add (C, K, N, Q)-ordered columns back onto
        the padded input's pixels -> (N, C, *S), channel-major, a workspace
        buffer (release it)."""
        n, c = self.padded_shape[:2]
        by_tap = cols.reshape(c, len(self.taps), n, self.length)
        planes = workspace((len(self.phases), c, n, prod(self.grid)), cols.dtype)
        planes.fill(0)
        for k, (phase, shift) in enumerate(self.taps):
            planes[phase, :, :, shift:shift + self.length] += by_tap[:, k]
        spatial = self.padded_shape[2:]
        if len(self.phases) == 1:
            return planes[0].reshape((c, n) + spatial).swapaxes(0, 1)
        result = workspace((c, n) + spatial, cols.dtype)
        for index, phase in enumerate(self.phases):
            target = result[(Ellipsis,) + tuple(slice(r, None, s) for r, s in zip(phase, self.stride))]
            plane = planes[index].reshape((c, n) + self.grid)
            copy_split(target, plane[(Ellipsis,) + tuple(slice(0, m) for m in target.shape[2:])])
        release(planes)
        return result.swapaxes(0, 1)


class Shifts:
    """Stride-1 strips read straight from the unpadded input, the padding
    supplied by zeroing (see the module docstring).

    Positions: (O0, S1, ..., S_last) per image, flat q = i*W + j in 2-d, the
    output rows laid on the input's rows; Q = O0 * S1 * ... of them.
    """

    padded_input = False

    def __init__(self, shape, pads, kernel, dilation, out_spatial):
        self.shape, self.out_spatial = tuple(shape), tuple(out_spatial)
        spatial = self.shape[2:]
        self.grid = (out_spatial[0],) + spatial[1:]
        self.plane = plane_strides(spatial)
        self.length = prod(self.grid)
        self.dense = self.grid == self.out_spatial
        self.size = prod(spatial)
        # per dimension, the offset of each kernel index from the output pixel
        offsets = [[t * d - before for t in range(k)]
                   for k, d, (before, _) in zip(kernel, dilation, pads)]
        self.taps = []  # per tap: (flat shift, per-dimension offset)
        for offset in itertools.product(*offsets):
            self.taps.append((sum(o * p for o, p in zip(offset, self.plane)), offset))

    @classmethod
    def plan(cls, shape, pads, kernel, stride, dilation, out_spatial, x=None,
             columns_kept=False):
        """The geometry for a convolution of an input of ``shape`` (N, C, *S)
        with ``pads``, or None: strides, outputs wider than the input past
        the first dimension, padding wider than 1 there (unless every
        position is an output and the columns are ``columns_kept`` for the
        weight gradient), too many junk positions, no padding and junk
        positions (:class:`Strips` do better there), or image planes of
        ``x`` that are not contiguous.

        (Each pixel of side padding costs one strided write per row and tap
        that reads it, dearer than the padded copy it replaces once the
        padding is wider than 1: LeNet-5's 5x5 first layer, padding 2, took
        about 10% longer in forward this way. But where every position is an
        output ('same' padding), the output gradient is already the matrix
        the weight gradient takes with the columns, nothing scattered, and
        that pays for it in training: see docs/speed.md.)"""
        if (any(st != 1 for st in stride)
                or any(o > s for o, s in zip(out_spatial[1:], shape[3:]))):
            return None
        shifts = cls(shape, pads, kernel, dilation, out_spatial)
        if any(max(p) > 1 for p in pads[1:]) and not (shifts.dense and columns_kept):
            return None
        if shifts.length > MAX_WASTE * prod(out_spatial):
            return None
        if not shifts.dense and not any(b or a for b, a in pads):
            return None  # Strips read an unpadded input in place too, with fewer junk positions
        if x is not None and tuple(st / x.itemsize for st in x.strides[2:]) != shifts.plane:
            return None
        return shifts

    def span(self, shift):
        """The positions [lo, hi) whose pixel q + shift lies inside the image."""
        return max(0, -shift), min(self.length, self.size - shift)

    def zero_wrapped(self, tap, offset):
        """Zero the entries of one tap's strips ``tap`` (C, N, Q) at output
        positions where the tap, of per-dimension ``offset``, reads across a
        row end (off the image on a dimension past the first). Done tap by
        tap, right after its copy, while those cache lines are still near:
        a strided fill over the whole columns afterwards costs twice as much.
        (At the junk positions past the outputs the value does not matter as
        long as it is finite.)"""
        grid = tap.reshape(tap.shape[:2] + self.grid)
        for axis in range(1, len(self.grid)):
            size, out, o = self.grid[axis], self.out_spatial[axis], offset[axis]
            start, stop = (0, min(-o, out)) if o < 0 else (size - o, out) if o > 0 else (0, 0)
            if start < stop:
                grid[(slice(None),) * (2 + axis) + (slice(start, stop),)] = 0

    def columns(self, x, groups):
        """The columns (G, Cg*K, N*Q), a workspace buffer: one strip copy per tap."""
        n, c = self.shape[:2]
        source = x.swapaxes(0, 1).reshape(c, n, -1)  # (C, N, S): a view (planes contiguous)
        cols = workspace((groups, c // groups * len(self.taps), n * self.length), x.dtype)
        by_tap = cols.reshape(c, len(self.taps), n, self.length)
        for k, (shift, offset) in enumerate(self.taps):
            lo, hi = self.span(shift)
            target = by_tap[:, k]
            if hi > lo:
                copy_split(target[:, :, lo:hi], source[:, :, lo + shift:hi + shift])
            if lo > 0:
                target[:, :, :lo] = 0
            if max(hi, lo) < self.length:
                target[:, :, max(hi, lo):] = 0
            self.zero_wrapped(target, offset)
        return cols

    def outputs(self, flat):
        """The real outputs among the flat positions: (..., Q) -> (..., *O), a view."""
        grid = flat.reshape(flat.shape[:-1] + self.grid)
        return grid[(Ellipsis,) + tuple(slice(0, o) for o in self.out_spatial)]

    def positions(self, grad, groups):
        """An output gradient (N, O, *O) at the flat positions: (G, Og, N*Q),
        zero at the junk ones, and whether it is a workspace buffer (it is
        not when every position is an output and ``grad`` is channel-major:
        then it is ``grad`` itself)."""
        if not self.dense:
            return scattered_positions(self, grad, groups), True
        n, o = grad.shape[:2]
        by_channel = grad.swapaxes(0, 1)
        if by_channel.flags.c_contiguous:
            return by_channel.reshape(groups, o // groups, -1), False
        flat = workspace((o, n, self.length), grad.dtype)
        copy_split(flat.reshape(by_channel.shape), by_channel)
        return flat.reshape(groups, o // groups, -1), True

    def col2im(self, cols):
        """Adjoint of :meth:`columns`: add (C, K, N, Q)-ordered columns back onto
        the input's pixels -> (N, C, *S), channel-major, a workspace buffer
        (release it). The entries that read the padding are zeroed first
        (``cols`` is scratch and is overwritten there)."""
        n, c = self.shape[:2]
        by_tap = cols.reshape(c, len(self.taps), n, self.length)
        image = workspace((c, n, self.size), cols.dtype)
        image.fill(0)
        for k, (shift, offset) in enumerate(self.taps):
            lo, hi = self.span(shift)
            if hi > lo:
                self.zero_wrapped(by_tap[:, k], offset)
                image[:, :, lo + shift:hi + shift] += by_tap[:, k, :, lo:hi]
        return image.reshape((c, n) + self.shape[2:]).swapaxes(0, 1)
