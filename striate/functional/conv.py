"""Convolution (the cross-correlation CNN layers use), transposed convolution,
and the true, kernel-flipped convolution of the lecture notes.

To read the whole convolution on one screen first (stride, padding, groups;
forward and both gradients as im2col plus one matrix product, without the
fast routes below), see ``examples/25_textbook_convolution.py``: the same
results as this module, checked against it and PyTorch there.

Symbols (see ``windows.py`` for the index arithmetic)::

    x  (N, C, H, W)          input          w  (O, C/G, KH, KW)   conv weight
    y  (N, O, OH, OW)        output         b  (O,)               bias
    G  groups;  Cg = C/G, Og = O/G channels per group;  K = KH*KW;  L = OH*OW

Forward is im2col + GEMM: the padded input, viewed as windows
``(N, C, KH, KW, OH, OW)`` without copying, is copied once into columns
``(G, Cg*K, N*L)``, and each group's weight ``(Og, Cg*K)`` multiplies them in a
single GEMM over all N*L positions. One large GEMM rather than N per-sample
ones, because every BLAS call synchronizes its threads and a batched matmul
makes N of them. The columns live in a recycled workspace
(``windows.workspace``), because a fresh allocation of that size pays a page
fault on every first touch. The columns are copied as *strips*
(``strips.py``): each image flattened, one long run per (channel, tap),
which copies several times faster than OW-long rows. At stride 1 the runs
are read from the unpadded input and the padding becomes zeroed entries
(``Shifts``), so no padded copy is made; with a stride, from the phase
planes of a padded copy (``Strips``). Winograd's F(2x2, 3x3)
(``winograd.py``) is a third route for 3x3 stride-1 layers, exact but off by
default: on NumPy its transforms cost more than the multiplications they
save.

The GEMM's ``(O, N, L)`` result is returned as it lies, *channel-major*: an
(N, O, OH, OW) array whose memory is ordered (O, N, OH, OW) (a transposed
view, no copy). Element-wise ops (bias, batch norm, ReLU, residual adds) keep
that layout, and the next convolution wants exactly it: its columns are
channel-major, and the output gradient it receives in backward is already the
``(O, N*L)`` matrix its GEMMs take. So no transposing copy is made between
convolutions, in forward or backward. Indexing, shapes and values are those
of any (N, C, H, W) array; only ``strides`` tell the difference.

Where ``striate[fast]`` is installed, float32 2-d convolutions run on
oneDNN instead (``striate/accel``, asked at the top of ``Conv.forward``);
what this file computes is the NumPy route, the reference they are tested
against.

Backward, as the lecture notes derive it:

* input gradient: a *transposed convolution* of the output gradient with the
  same weight, i.e. a full cross-correlation of the (stride-dilated, padded)
  gradient with the spatially flipped, in/out-swapped filters. At stride 1 we
  compute exactly that (:func:`correlate_flipped`) unless the layer widens the
  channels more than twofold; otherwise (and always with a stride, where the
  dilated gradient would be mostly zeros) we compute ``w^T @ grad`` as columns
  and scatter-add them back with col2im, the adjoint of im2col
  (:func:`correlate_transposed`). ``tests/test_conv.py`` checks the flipped
  filter identity explicitly for both;
* weight gradient: every kernel tap sees every output position, so the gradient
  sums over all offsets: one GEMM of the output gradient with the columns.
  Where the input gradient takes the flipped route, the columns it builds of
  the output gradient give the weight gradient too, paired with x itself
  (:func:`weight_gradient_flipped`): then x's columns, nine times x for a 3x3
  kernel, are not kept from forward to backward;
* bias gradient: the output gradient summed over N and all positions.

The same two kernels, swapped, give ``conv_transpose``: its forward is conv's
input gradient and its input gradient is conv's forward.
"""
from math import prod

from .. import accel
from ..autograd import Function
from ..backend import xp
from .arguments import (as_tensor, call_as_batch, check_axis_size, check_groups,
                        check_output_padding, check_spatial_input, check_window_fits,
                        nonnegative_tuple, padding_pairs, positive_int, positive_tuple)
from . import winograd
from .strips import Shifts, Strips
from .windows import (col2im, compact, copy_split, crop, im2col, output_shape, pad_scratch,
                      release, workspace)

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "convolve2d"]


# --------------------------------------------------------------------------- the two kernels


def pad_and_correlate(x, pads, w, stride, dilation, groups, columns_wanted=False,
                      columns_kept=False):
    """Pad ``x`` (N, C, *S) by the (before, after) ``pads`` and cross-correlate
    it with ``w`` (O, Cg, *K).

    Returns the output (N, O, *out), channel-major, and a :class:`Saved`
    record of what the weight gradient needs: im2col columns if
    ``columns_wanted``, else whatever the fastest route keeps.
    ``columns_kept`` says that the weight gradient will be taken from them
    (it decides the route for wide 'same' padding, see ``Shifts.plan``).
    """
    nd = len(pads)
    spatial = tuple(s + b + a for s, (b, a) in zip(x.shape[2:], pads))
    out_spatial = output_shape(spatial, w.shape[2:], stride, ((0, 0),) * nd, dilation)
    if (winograd.enabled and not columns_wanted
            and winograd.applies(w.shape[2:], stride, dilation, groups)):
        extra = winograd.even_padding(out_spatial)  # whole 2x2 output blocks
        padded = padded_scratch(x, tuple((b, a + e) for (b, a), e in zip(pads, extra)))
        out, tiles = winograd.correlate(padded, w)
        if any(extra):
            out = compact(out[:, :, :out_spatial[0], :out_spatial[1]])
        saved = Saved("winograd", tiles)
    else:
        shifts = Shifts.plan(x.shape, pads, w.shape[2:], stride, dilation, out_spatial, x,
                             columns_kept)
        if shifts is not None:  # stride 1: no padded copy at all
            saved = Saved("strips", shifts.columns(x, groups), shifts)
            return saved.apply_weight(w, x.shape[0], out_spatial), saved
        padded = padded_scratch(x, pads)
        out, saved = correlate(padded, w, stride, dilation, groups, out_spatial)
    release_padded(padded, x)
    return out, saved


class Saved:
    """What a convolution's backward needs from its forward pass: the
    ``route`` it took and its ``buffer`` (a workspace array): im2col's
    ``"columns"`` or ``"strips"`` (G, Cg*K, positions), or Winograd's tiles;
    for strips also their geometry, ``strips`` (a :class:`Strips` or
    :class:`Shifts`)."""

    def __init__(self, route, buffer, strips=None):
        self.route, self.buffer, self.strips = route, buffer, strips
        self.grad = self.flat_grad = None
        self.flat_owned = False  # whether flat_grad is a workspace buffer

    def positions(self, grad, groups):
        """The output gradient (N, O, *out) as the (G, Og, positions) matrix
        that pairs with the columns (made once per backward pass)."""
        if self.route == "columns":
            return channels_first(grad, groups)
        if self.grad is not grad:
            self.forget_gradient()
            self.flat_grad, self.flat_owned = self.strips.positions(grad, groups)
            self.grad = grad
        return self.flat_grad

    def apply_weight(self, w, n, out_spatial):
        """The GEMM with the columns -> (N, O, *out_spatial), channel-major."""
        if self.route == "columns" or self.strips.dense:
            return apply_weight(w, self.buffer, n, out_spatial)
        flat = gemm(w, self.buffer, out=True)                  # (G, Og, N*Q), scratch
        out = compact(self.strips.outputs(flat.reshape(w.shape[0], n, -1)))
        release(flat)
        return out.swapaxes(0, 1)

    def forget_gradient(self):
        if self.flat_owned:
            release(self.flat_grad)
        self.grad = self.flat_grad = None
        self.flat_owned = False

    def weight_gradient(self, grad, groups, weight_shape):
        if self.route == "winograd":
            return winograd.weight_gradient(grad, self.buffer, weight_shape)
        return weight_gradient(self.positions(grad, groups), self.buffer, weight_shape)

    def input_gradient(self, grad, w, groups, pads):
        """The adjoint of the strips route: ``w^T @ grad`` as strip columns,
        added back onto the padded input's pixels, cropped by ``pads``
        -> (N, C, *input), channel-major."""
        o, cg = w.shape[:2]
        w_t = w.reshape(groups, o // groups, -1).transpose(0, 2, 1)  # (G, Cg*K, Og)
        positions = self.positions(grad, groups)
        cols = xp.matmul(w_t, positions, out=workspace(w_t.shape[:2] + positions.shape[2:],
                                                      positions.dtype))
        padded = self.strips.col2im(cols)
        release(cols)
        out = compact(crop(padded, pads) if self.strips.padded_input else padded)
        release(padded)
        return out

    def release(self):
        self.forget_gradient()
        release(self.buffer)
        self.buffer = None


def correlate(padded, w, stride, dilation, groups, out_spatial):
    """Cross-correlate ``padded`` (N, C, *S) with ``w`` (O, Cg, *K): im2col
    (by strips where they apply, see ``strips.py``), then one GEMM per group.

    Returns the output (N, O, *out_spatial), channel-major, and the
    :class:`Saved` columns.
    """
    saved = im2col_columns(padded, w.shape[2:], stride, dilation, groups, out_spatial)
    return saved.apply_weight(w, padded.shape[0], out_spatial), saved


def im2col_columns(padded, kernel, stride, dilation, groups, out_spatial):
    """The columns of ``padded`` (N, C, *S), as strips where they apply."""
    strips = Strips.plan(padded.shape, kernel, stride, dilation, out_spatial, padded)
    if strips is not None:
        return Saved("strips", strips.columns(padded, groups), strips)
    return Saved("columns", columns(padded, kernel, stride, dilation, groups, out_spatial))


def columns(padded, kernel, stride, dilation, groups, out_spatial):
    """im2col, copied into GEMM layout: (N, C, *S) -> (G, Cg*K, N*L).

    The result is a recycled workspace buffer: ``release`` it when done."""
    return copy_columns(im2col(padded, kernel, stride, dilation, out_spatial), len(kernel), groups)


def copy_columns(windows, nd, groups):
    """Copy a window view (N, C, *K, *positions) of ``nd`` kernel dimensions
    into a workspace buffer (G, Cg*K, N*positions), the same memory as
    (C, *K, N, *positions)."""
    n, c = windows.shape[:2]
    kernel, positions = windows.shape[2:2 + nd], windows.shape[2 + nd:]
    cols = workspace((groups, c // groups * prod(kernel), n * prod(positions)), windows.dtype)
    order = (1,) + tuple(range(2, 2 + nd)) + (0,) + tuple(range(2 + nd, windows.ndim))
    copy_split(cols.reshape(tuple(windows.shape[i] for i in order)), windows.transpose(order))
    return cols


def gemm(w, cols, out=False):
    """One GEMM per group: (G, Og, Cg*K) @ (G, Cg*K, P) -> (G, Og, P), into a
    workspace buffer if ``out`` (release it)."""
    groups = cols.shape[0]
    w = w.reshape(groups, w.shape[0] // groups, -1)
    buffer = workspace(w.shape[:2] + cols.shape[2:], cols.dtype) if out else None
    return xp.matmul(w, cols, out=buffer)


def apply_weight(w, cols, n, out_spatial):
    """:func:`gemm`, returned as (N, O, *out), channel-major."""
    # (O, N, *out) memory seen as (N, O, *out): no copy
    return gemm(w, cols).reshape((w.shape[0], n) + tuple(out_spatial)).swapaxes(0, 1)


def channels_first(grad, groups):
    """(N, O, *out) -> (G, Og, N*L), the layout of the columns' positions:
    free for a channel-major ``grad``, one transposing copy otherwise."""
    n, o = grad.shape[:2]
    moved = xp.ascontiguousarray(grad.swapaxes(0, 1)).reshape(o, n, -1)
    return moved.reshape(groups, o // groups, -1)


def padded_scratch(x, pads):
    """``x`` padded into a workspace buffer, or ``x`` itself if no padding."""
    return pad_scratch(x, pads) if any(b or a for b, a in pads) else x


def release_padded(padded, x):
    if padded is not x:
        release(padded)


def correlate_transposed(grad, w, stride, dilation, groups, padded_shape):
    """The adjoint of :func:`correlate` with respect to its input: spread each
    output value back over its window, weighted by the filter.

    ``grad`` (N, O, *out), ``w`` (O, Cg, *K) -> (N, C, *padded_shape[2:]).
    Equivalently (the notes' derivation): a full cross-correlation of the
    stride-dilated ``grad`` with the spatially flipped filters, in/out swapped.
    """
    n, o = grad.shape[:2]
    kernel, out_spatial = w.shape[2:], grad.shape[2:]
    cg, nd = w.shape[1], len(kernel)
    w_t = w.reshape(groups, o // groups, cg * prod(kernel)).transpose(0, 2, 1)  # (G, Cg*K, Og)
    cols = xp.matmul(w_t, channels_first(grad, groups))                        # (G, Cg*K, N*L)
    cols = cols.reshape((groups * cg,) + tuple(kernel) + (n,) + tuple(out_spatial))
    cols = cols.transpose((1 + nd, 0) + tuple(range(1, 1 + nd)) + tuple(range(2 + nd, 2 + 2 * nd)))
    return col2im(cols, padded_shape, kernel, stride, dilation)


def correlate_flipped(grad, w, dilation, groups, pads, columns_wanted=False):
    """Stride-1 input gradient computed literally as the notes derive it: the
    full cross-correlation of the output gradient, zero-padded by D*(K-1) - P on
    each side, with the filters flipped in space and with in/out swapped.

    ``grad`` (N, O, *out), ``w`` (O, Cg, *K) -> (N, C, *input), and the
    :class:`Saved` columns of ``grad`` (release them). Needs every padding
    P <= D*(K-1) (otherwise the "padding" of grad would be a crop).
    """
    kernel = w.shape[2:]
    o, cg = w.shape[:2]
    full = tuple((d * (k - 1) - before, d * (k - 1) - after)
                 for k, d, (before, after) in zip(kernel, dilation, pads))
    # (O, Cg, *K) -> (G, Og, Cg, *K) -> flip space -> (G, Cg, Og, *K) -> (G*Cg, Og, *K)
    spatial = tuple(range(3, 3 + len(kernel)))
    flipped = xp.flip(w.reshape((groups, o // groups, cg) + kernel), axis=spatial)
    swapped = flipped.swapaxes(1, 2).reshape((groups * cg, o // groups) + kernel)
    return pad_and_correlate(grad, full, swapped, (1,) * len(kernel), dilation, groups,
                             columns_wanted)


def weight_gradient_flipped(grad_columns, x, groups, weight_shape):
    """The weight gradient from the columns that :func:`correlate_flipped`
    built of the output gradient, paired with the input ``x`` itself.

    dL/dw[o, c, k] sums grad[o, p - k] * x_padded[c, p] over every sample and
    padded position p. The padding is zero, so only the real input pixels q
    count, and column (o, t) of the flipped correlation holds exactly
    grad[o, q + P - k] at pixel q when t = K-1-k (the taps run the other way).
    So one GEMM of those columns (G, Og*K, P) with x at the same positions
    (G, Cg, P), transposed, gives every tap of every filter: x's own columns,
    nine times its size for a 3x3 kernel, never need to be kept.
    """
    o, cg = weight_shape[:2]
    kernel = tuple(weight_shape[2:])
    at_positions = grad_columns.positions(x, groups)                      # (G, Cg, P)
    taps = xp.matmul(grad_columns.buffer, at_positions.transpose(0, 2, 1))  # (G, Og*K, Cg)
    taps = taps.reshape((groups, o // groups) + kernel + (cg,))
    taps = xp.flip(taps, axis=tuple(range(2, 2 + len(kernel))))           # t = K-1-k
    return xp.ascontiguousarray(xp.moveaxis(taps, -1, 2)).reshape(weight_shape)


def weight_gradient(positions, cols, weight_shape):
    """dL/dw[o, c, kh, kw] = sum over samples and positions of grad[o, pos] times
    the input pixel that tap (kh, kw) saw there: one GEMM per group, the
    gradient at every position, ``positions`` (G, Og, P), times the columns
    (G, Cg*K, P) transposed.

    Computed as (columns @ grad^T)^T rather than grad @ columns^T: the same
    result, but OpenBLAS splits this order's long inner dimension across
    threads far better (``benchmarks/ops.py`` shows the difference).
    """
    transposed = xp.matmul(cols, positions.transpose(0, 2, 1))  # (G, Cg*K, Og)
    return xp.ascontiguousarray(transposed.transpose(0, 2, 1)).reshape(weight_shape)


#: the im2col columns of one GEMM that nothing keeps are made for a few samples
#: at a time, so that they stay under this size (one sample at least)
CHUNK_BYTES = 64 << 20


def chunk_size(x_shape, w_shape, itemsize):
    """How many samples of an ``x_shape`` (N, C, *S) input, correlated with
    an (O, C/G, *K) weight of ``w_shape``, have columns of at most
    :data:`CHUNK_BYTES` (the columns hold C*K values per pixel, about as many
    per output position at stride 1)."""
    per_sample = prod(x_shape[1:]) * prod(w_shape[2:]) * itemsize
    return max(1, CHUNK_BYTES // max(1, per_sample))


def empty_gradients(needs, x_shape, w_shape, grad):
    """The gradients of a convolution of an empty batch: an empty input
    gradient, zero weight and bias gradients (sums over no samples)."""
    gx = xp.zeros(x_shape, grad.dtype) if needs[0] else None
    gw = xp.zeros(w_shape, grad.dtype) if needs[1] else None
    gb = xp.zeros(grad.shape[1], grad.dtype) if len(needs) > 2 and needs[2] else None
    return gx, gw, gb


def _bias_shape(nd):
    return (-1,) + (1,) * nd


# --------------------------------------------------------------------------- Functions


class Conv(Function):
    """N-d cross-correlation, PyTorch's ``conv{1,2,3}d``; ``pads`` are (before, after) pairs."""

    def __init__(self, stride, pads, dilation, groups):
        self.stride, self.pads, self.dilation, self.groups = stride, pads, dilation, groups
        # Two routes to the same input gradient (see the module docstring). The
        # flipped correlation copies O*K values per input pixel, col2im C*K values
        # plus K strided adds; so the flipped route wins while O <= 2C and loses
        # when a layer widens the channels more (LeNet's C=1, O=6), as the
        # shapes of benchmarks/ops.py show.
        # Strided convolutions always take col2im, which never touches the
        # zeros that a stride-dilated gradient would contain.
        self.flipped_ok = all(s == 1 for s in stride)

    def forward(self, x, w, b=None):
        if x.shape[0] == 0:
            self.plan = None
            return self.empty_forward(x, w)
        # float32 2-d convolutions go to oneDNN where it is installed and takes the shape
        self.plan = accel.convolution(x, w, b is not None, self.stride, self.pads,
                                      self.dilation, self.groups, any(self.needs_input_grad))
        if self.plan is not None:
            out, self.plan_saved = self.plan.forward(accel.as_input(x), xp.ascontiguousarray(w),
                                                     b, keep=any(self.needs_input_grad))
            return out
        need_x, need_w = self.needs_input_grad[:2]
        reach = [d * (k - 1) for k, d in zip(w.shape[2:], self.dilation)]
        self.flipped_ok = (self.flipped_ok and w.shape[0] <= 2 * x.shape[1]
                           and all(max(p) <= r for p, r in zip(self.pads, reach)))
        # The weight gradient needs x's columns (or Winograd tiles), nine times
        # x for a 3x3 kernel, unless the input gradient takes the flipped route:
        # then the columns it makes of the output gradient serve both
        # (weight_gradient_flipped), and x itself is all that is kept.
        self.from_grad_columns = need_x and need_w and self.flipped_ok
        keeps_columns = need_w and not self.from_grad_columns
        if keeps_columns:
            out, saved = pad_and_correlate(x, self.pads, w, self.stride, self.dilation,
                                           self.groups, columns_kept=True)
        else:  # the columns are scratch: make them a few samples at a time
            out, saved = self.correlate_in_chunks(x, w), None
        if b is not None:
            out += b.reshape(_bias_shape(out.ndim - 2))
        self.padded_shape = x.shape[:2] + tuple(s + b + a for s, (b, a) in
                                                zip(x.shape[2:], self.pads))
        self.w = w if need_x else None
        self.x = x if self.from_grad_columns else None
        self.saved = saved
        self.w_shape = w.shape
        return out

    def correlate_in_chunks(self, x, w):
        """The output (N, O, *out), channel-major, computed for at most
        :func:`chunk_size` samples at a time: the columns of a whole batch
        (K times the input) are never made at once when nothing keeps them."""
        n = x.shape[0]
        step = chunk_size(x.shape, w.shape, x.itemsize)
        if step >= n:
            out, saved = pad_and_correlate(x, self.pads, w, self.stride, self.dilation,
                                           self.groups)
            saved.release()
            return out
        out = None
        for start in range(0, n, step):
            part, saved = pad_and_correlate(x[start:start + step], self.pads, w, self.stride,
                                            self.dilation, self.groups)
            saved.release()
            if out is None:  # channel-major, as the unchunked output
                out = xp.empty((part.shape[1], n) + part.shape[2:], part.dtype).swapaxes(0, 1)
            out[start:start + step] = part
        return out

    def __del__(self):
        # The graph is gone (CPython frees it as soon as the last reference
        # goes): the saved buffer can serve the next forward pass.
        saved = getattr(self, "saved", None)
        if saved is not None and release is not None:  # None during interpreter shutdown
            saved.release()

    def empty_forward(self, x, w):
        """An empty batch: an empty output, and zero gradients for the weights
        (a sum over no samples), as PyTorch gives; the strip and column
        layouts below assume at least one sample."""
        self.empty, self.x_shape, self.w_shape = True, x.shape, w.shape
        spatial = tuple(s + b + a for s, (b, a) in zip(x.shape[2:], self.pads))
        out = output_shape(spatial, w.shape[2:], self.stride, ((0, 0),) * len(spatial),
                           self.dilation)
        return xp.zeros((0, w.shape[0]) + tuple(out), x.dtype)

    def backward(self, grad):
        if getattr(self, "empty", False):
            return empty_gradients(self.needs_input_grad, self.x_shape, self.w_shape, grad)
        need_x, need_w = self.needs_input_grad[:2]
        need_b = len(self.needs_input_grad) > 2 and self.needs_input_grad[2]
        if self.plan is not None:
            return self.plan.backward(accel.as_input(grad), self.plan_saved, need_x, need_w,
                                      need_b)
        gx = gw = gb = None
        if need_x:
            # Input gradient = transposed convolution of the output gradient
            # (a correlation with the flipped filters, as the notes derive it).
            if self.flipped_ok:
                gx, gw = self.flipped_in_chunks(grad)
            elif self.saved is not None and self.saved.route == "strips":
                gx = self.saved.input_gradient(grad, self.w, self.groups, self.pads)
            else:
                gx = compact(crop(correlate_transposed(grad, self.w, self.stride, self.dilation,
                                                       self.groups, self.padded_shape), self.pads))
        if need_w and gw is None:
            # Weight gradient: sum over every offset where the filter was applied.
            gw = self.saved.weight_gradient(grad, self.groups, self.w_shape)
        if need_b:
            gb = grad.sum(axis=(0,) + tuple(range(2, grad.ndim)))
        if self.saved is not None:
            self.saved.forget_gradient()  # shared by gx and gw only
        return gx, gw, gb

    def flipped_in_chunks(self, grad):
        """The input gradient by the flipped correlation and, when the forward
        kept x for it, the weight gradient from the same columns; for at most
        :func:`chunk_size` samples at a time (the columns of the output
        gradient are K times its size)."""
        n = grad.shape[0]
        step = chunk_size(grad.shape, (self.w_shape[1] * self.groups,) + self.w_shape[:1]
                          + self.w_shape[2:], grad.itemsize)
        gx = gw = None
        for start in range(0, n, step):
            part = slice(start, start + step)
            gx_part, grad_columns = correlate_flipped(grad[part], self.w, self.dilation,
                                                      self.groups, self.pads,
                                                      self.from_grad_columns)
            if self.from_grad_columns:
                gw_part = weight_gradient_flipped(grad_columns, self.x[part], self.groups,
                                                  self.w_shape)
                gw = gw_part if gw is None else gw + gw_part
            grad_columns.release()
            if step >= n:
                return gx_part, gw
            if gx is None:
                gx = xp.empty((gx_part.shape[1], n) + gx_part.shape[2:],
                              gx_part.dtype).swapaxes(0, 1)
            gx[part] = gx_part
        return gx, gw


class ConvTranspose(Function):
    """N-d transposed convolution, PyTorch's ``conv_transpose{1,2,3}d``.

    ``w`` is (C, O/G, *K): seen from conv's side it is a conv weight mapping O
    channels to C, and this op is that conv's input gradient. Output size per
    dimension: ``(I-1)*S - 2P + D*(K-1) + output_padding + 1``.
    """

    def __init__(self, stride, padding, output_padding, dilation, groups):
        self.stride, self.dilation, self.groups = stride, dilation, groups
        self.pads = tuple((p, p) for p in padding)
        self.output_padding = output_padding

    def forward(self, x, w, b=None):
        in_spatial, kernel = x.shape[2:], w.shape[2:]
        full = tuple((i - 1) * s + d * (k - 1) + 1 + op for i, s, d, k, op in
                     zip(in_spatial, self.stride, self.dilation, kernel, self.output_padding))
        full_shape = (x.shape[0], w.shape[1] * self.groups) + full
        if x.shape[0] == 0:  # an empty batch (see Conv.empty_forward)
            self.empty, self.x_shape, self.w_shape = True, x.shape, w.shape
            cropped = tuple(f - 2 * p for f, (p, _) in zip(full, self.pads))
            return xp.zeros(full_shape[:2] + cropped, x.dtype)
        strips = Strips.plan(full_shape, kernel, self.stride, self.dilation, in_spatial)
        if strips is not None:  # conv's input gradient, by strips
            adjoint = Saved("strips", None, strips)
            out = adjoint.input_gradient(x, w, self.groups, self.pads)
            adjoint.release()
        else:
            out = compact(crop(correlate_transposed(x, w, self.stride, self.dilation,
                                                    self.groups, full_shape), self.pads))
        if b is not None:
            out += b.reshape(_bias_shape(len(kernel)))
        self.x = x if self.needs_input_grad[1] else None
        self.w = w if self.needs_input_grad[0] else None
        self.w_shape, self.in_spatial = w.shape, in_spatial
        return out

    def backward(self, grad):
        if getattr(self, "empty", False):
            return empty_gradients(self.needs_input_grad, self.x_shape, self.w_shape, grad)
        need_x, need_w = self.needs_input_grad[:2]
        gx = gw = gb = None
        if need_x or need_w:
            # The input gradient of a transposed convolution is a plain convolution.
            padded = padded_scratch(grad, self.pads)
            saved = im2col_columns(padded, self.w_shape[2:], self.stride, self.dilation,
                                   self.groups, self.in_spatial)
            release_padded(padded, grad)
            if need_x:
                gx = saved.apply_weight(self.w, grad.shape[0], self.in_spatial)
            if need_w:
                # Roles swapped: our input plays conv's output gradient.
                gw = saved.weight_gradient(self.x, self.groups, self.w_shape)
            saved.release()
        if len(self.needs_input_grad) > 2 and self.needs_input_grad[2]:
            gb = grad.sum(axis=(0,) + tuple(range(2, grad.ndim)))
        return gx, gw, gb


# --------------------------------------------------------------------------- the door


def _check_weight(op, nd, x, w, b, out_channels, weight_layout):
    """Rank and dtype of the weight, shape and dtype of the bias."""
    if w.ndim != nd + 2:
        raise ValueError(f"{op}: expected a {nd + 2}-d weight {weight_layout}, got shape {tuple(w.shape)}")
    if w.dtype != x.dtype:
        raise TypeError(f"{op}: input ({x.dtype}) and weight ({w.dtype}) must have the same dtype")
    if b is not None:
        if tuple(b.shape) != (out_channels,):
            raise ValueError(f"{op}: bias must have shape ({out_channels},) for weight of shape "
                             f"{tuple(w.shape)}, got {tuple(b.shape)}")
        if b.dtype != x.dtype:
            raise TypeError(f"{op}: input ({x.dtype}) and bias ({b.dtype}) must have the same dtype")


def _tensors(op, input, weight, bias):
    x, w = as_tensor(input, op=op), as_tensor(weight, op=op)
    b = None if bias is None else as_tensor(bias, op=op)
    return x, w, b, (x, w) if b is None else (x, w, b)


def _conv(nd, op, input, weight, bias, stride, padding, dilation, groups):
    x, w, b, inputs = _tensors(op, input, weight, bias)
    unbatched = check_spatial_input(x, nd, op)
    _check_weight(op, nd, x, w, b, w.shape[0], "(out, in/groups, *kernel)")
    groups = check_groups(groups, x.shape[-nd - 1], w.shape[0], op, x, w)
    check_axis_size(x, -nd - 1, w.shape[1] * groups, "channels", op, weight=w, groups=groups)
    stride = positive_tuple(stride, nd, "stride", op)
    dilation = positive_tuple(dilation, nd, "dilation", op)
    kernel = tuple(w.shape[2:])
    pads = padding_pairs(padding, nd, kernel, stride, dilation, op)
    check_window_fits(x, kernel, pads, dilation, op)
    return call_as_batch(Conv(stride, pads, dilation, groups), inputs, unbatched)


def _conv_transpose(nd, op, input, weight, bias, stride, padding, output_padding, groups, dilation):
    x, w, b, inputs = _tensors(op, input, weight, bias)
    unbatched = check_spatial_input(x, nd, op)
    groups = positive_int(groups, "groups", op)
    out_channels = w.shape[1] * groups if w.ndim == nd + 2 else None
    _check_weight(op, nd, x, w, b, out_channels, "(in, out/groups, *kernel)")
    check_groups(groups, w.shape[0], out_channels, op, x, w)
    check_axis_size(x, -nd - 1, w.shape[0], "channels", op, weight=w)
    stride = positive_tuple(stride, nd, "stride", op)
    dilation = positive_tuple(dilation, nd, "dilation", op)
    padding = nonnegative_tuple(padding, nd, "padding", op)
    output_padding = nonnegative_tuple(output_padding, nd, "output_padding", op)
    check_output_padding(output_padding, stride, dilation, op)
    out = tuple((i - 1) * s - 2 * p + d * (k - 1) + op_ + 1 for i, s, p, d, k, op_ in
                zip(x.shape[-nd:], stride, padding, dilation, w.shape[2:], output_padding))
    if any(o <= 0 for o in out):
        raise ValueError(f"{op}: output size {out} is not positive for input {tuple(x.shape)}, "
                         f"weight {tuple(w.shape)}, stride {stride}, padding {padding}")
    return call_as_batch(ConvTranspose(stride, padding, output_padding, dilation, groups),
                         inputs, unbatched)


# --------------------------------------------------------------------------- public functions


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-d cross-correlation: input (N, C, W), weight (O, C/groups, KW) -> (N, O, OW)."""
    return _conv(1, "conv1d", input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-d cross-correlation, as CNN layers use it (PyTorch's ``conv2d``).

    input (N, C, H, W) or (C, H, W); weight (O, C/groups, KH, KW); bias (O,).
    ``padding`` is an int, a pair, ``'valid'`` or ``'same'`` (stride 1 only).
    ``groups == C`` is a depthwise convolution.
    """
    return _conv(2, "conv2d", input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-d cross-correlation: input (N, C, D, H, W), weight (O, C/groups, KD, KH, KW)."""
    return _conv(3, "conv3d", input, weight, bias, stride, padding, dilation, groups)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed 1-d convolution: input (N, C, W), weight (C, O/groups, KW)."""
    return _conv_transpose(1, "conv_transpose1d", input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed 2-d convolution ("up-convolution" in U-Net): input (N, C, H, W),
    weight (C, O/groups, KH, KW) -> (N, O, (H-1)*SH - 2*PH + DH*(KH-1) + output_padding + 1, ...)."""
    return _conv_transpose(2, "conv_transpose2d", input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed 3-d convolution: input (N, C, D, H, W), weight (C, O/groups, KD, KH, KW)."""
    return _conv_transpose(3, "conv_transpose3d", input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


def convolve2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """The true (kernel-flipped) 2-d convolution of the lecture notes,

        S(i, j) = (I * K)(i, j) = sum_m sum_n I(i - m, j - n) K(m, n),

    evaluated at the positions where the flipped kernel lies inside the (padded)
    image. It equals :func:`conv2d` (a cross-correlation, what CNN layers and
    PyTorch call convolution) applied with the kernel rotated by 180 degrees;
    since the filters are learned, CNNs do not need the flip. Arguments and
    shapes as in :func:`conv2d`.
    """
    w = as_tensor(weight, op="convolve2d")
    if w.ndim != 4:
        raise ValueError(f"convolve2d: expected a 4-d weight (out, in/groups, KH, KW), "
                         f"got shape {tuple(w.shape)}")
    flipped = w[:, :, ::-1, ::-1]
    return _conv(2, "convolve2d", input, flipped, bias, stride, padding, dilation, groups)
