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

Symbols: N batch, C channels, K taps, (*S) the padded input, (*O) the output,
(*M) a phase plane (S/stride, rounded up), Q the strip length: the flat
positions from the first output to the last, in one image.
"""
import itertools
from math import prod

from ..backend import as_strided, xp
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


class Strips:
    """The strip geometry of one convolution (see the module docstring).

    ``plan`` returns one, or None where strips would waste too much (a kernel
    nearly as large as the image) or the image planes are not contiguous.
    """

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
        zero at the junk ones (they had no effect on the loss)."""
        n, o = grad.shape[:2]
        flat = workspace((o, n, self.length), grad.dtype)  # release it
        flat.fill(0)
        self.outputs(flat)[...] = grad.swapaxes(0, 1)
        return flat.reshape(groups, o // groups, -1)

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
