"""2-d convolution, forward and both gradients, on oneDNN's primitives.

Symbols as in ``striate/functional/conv.py``::

    x  (N, C, H, W)      input        w  (O, C/G, KH, KW)   weight      b  (O,)
    y  (N, O, OH, OW)    output       G  groups

oneDNN's fast kernels want their own *blocked* layouts (channels cut into
blocks of 8 or 16 that lie side by side in memory). Plain NCHW descriptors
would force its slow reference-like kernels, so every primitive is created
with ``format_tag_any`` and says which layout it wants; the NumPy arrays are
reordered into that layout on the way in (from C order, channel-major or
NHWC), and out of it on the way out, into the *channel-major* layout the
NumPy route returns too (see ``functional/conv.py``). A reorder is a copy,
much cheaper than the convolution it feeds.

A :class:`Plan` holds, for one shape (input, weight, stride, padding,
dilation, groups, bias), the primitive descriptors, the primitives and their
memory objects. It is made once per shape and cached; its layouts are what
oneDNN picks for that shape on this CPU, so the same shape always runs the
same kernels: results are bit-identical from run to run at a fixed thread
count.

What a forward pass keeps for its backward (:class:`Saved`) is the input as
it was given (the graph holds it anyway, as the previous op's output) and
the weight in the layout the input gradient reads. The weight gradient
reorders the input again rather than keep a blocked copy of every layer's
input from forward to backward: a copy costs little time, the memory a
whole network's activations.
"""
import ctypes
import threading

import numpy as np

from . import dnnl

#: buffers whose contents live only during one call, by role; grown as needed
_scratch = {}
#: one call at a time: the scratch buffers, memory objects and stream are shared
_lock = threading.Lock()


def scratch(role, nbytes):
    """A float32 buffer of at least ``nbytes`` for ``role``, reused call after call."""
    buffer = _scratch.get(role)
    if buffer is None or buffer.nbytes < nbytes:
        buffer = _scratch[role] = np.empty((nbytes + 3) // 4, np.float32)
    return buffer


def fresh(nbytes):
    return np.empty((nbytes + 3) // 4, np.float32)


def _c_strides(shape):
    return tuple(int(np.prod(shape[i + 1:], dtype=np.int64)) for i in range(len(shape)))


def _channel_major_strides(shape):
    n, c, h, w = shape
    return (h * w, n * h * w, w, 1)


def channel_major(array):
    """True for a 4-d array whose memory is ordered (C, N, H, W)."""
    return array.ndim == 4 and array.transpose(1, 0, 2, 3).flags.c_contiguous


def nhwc(array):
    """True for a 4-d (N, C, H, W) array whose memory is ordered (N, H, W, C)."""
    return array.ndim == 4 and array.transpose(0, 2, 3, 1).flags.c_contiguous


def address(array):
    return array.__array_interface__["data"][0]


class Context:
    """The CPU engine, its stream, and the caches of descriptors and reorders."""

    def __init__(self, library):
        self.lib = library
        self.engine, self.stream = dnnl.handle(), dnnl.handle()
        library.call("dnnl_engine_create", ctypes.byref(self.engine), dnnl.CPU, 0)
        library.call("dnnl_stream_create", ctypes.byref(self.stream), self.engine,
                     dnnl.STREAM_DEFAULT_FLAGS)
        self.plain_mds = {}
        self.reorders = {}

    # ---------------------------------------------------------------- descriptors

    def tagged(self, shape, tag):
        md = dnnl.handle()
        self.lib.call("dnnl_memory_desc_create_with_tag", ctypes.byref(md), len(shape),
                      dnnl.dims(shape), dnnl.F32, tag)
        return md

    def strided(self, shape, strides):
        """The descriptor of a float32 array of ``shape`` with element ``strides``, cached."""
        key = (tuple(shape), tuple(strides))
        md = self.plain_mds.get(key)
        if md is None:
            md = dnnl.handle()
            self.lib.call("dnnl_memory_desc_create_with_strides", ctypes.byref(md), len(shape),
                          dnnl.dims(shape), dnnl.F32, dnnl.dims(strides))
            self.plain_mds[key] = md
        return md

    def of_array(self, array, shape=None):
        """The descriptor of ``array``'s memory seen with ``shape`` (default its
        own), and a name for its layout: "plain" (C order), "channel-major"
        (an (N, C, H, W) array whose memory is ordered (C, N, H, W), as the
        NumPy route returns) or "nhwc". Any other layout is the caller's to
        copy first (``accel.as_input``)."""
        if shape is None:
            shape = array.shape
        if array.flags.c_contiguous:
            return self.strided(shape, _c_strides(shape)), "plain"
        n, ch, h, w = shape
        if channel_major(array):
            return self.strided(shape, _channel_major_strides(shape)), "channel-major"
        return self.strided(shape, (h * w * ch, 1, w * ch, ch)), "nhwc"

    def size(self, md):
        return self.lib.raw("dnnl_memory_desc_get_size", md)

    def equal(self, a, b):
        return bool(self.lib.raw("dnnl_memory_desc_equal", a, b))

    # ---------------------------------------------------------------- execution

    def memory(self, md):
        """A memory object of ``md`` whose buffer is set at each execution."""
        memory = dnnl.handle()
        self.lib.call("dnnl_memory_create", ctypes.byref(memory), md, self.engine, None)
        return memory

    def primitive(self, pd, roles):
        """A :class:`Primitive` of ``pd`` taking the arguments ``roles`` (name -> md)."""
        primitive = dnnl.handle()
        self.lib.call("dnnl_primitive_create", ctypes.byref(primitive), pd)
        return Primitive(self, primitive, roles)

    def reorder(self, src_md, dst_md, key):
        """A cached reorder primitive from ``src_md`` to ``dst_md``; ``key`` names the pair."""
        primitive = self.reorders.get(key)
        if primitive is None:
            pd = dnnl.handle()
            self.lib.call("dnnl_reorder_primitive_desc_create", ctypes.byref(pd), src_md,
                          self.engine, dst_md, self.engine, None)
            primitive = self.reorders[key] = self.primitive(pd, {"from": src_md, "to": dst_md})
        return primitive

    def query(self, pd, role):
        return self.lib.raw("dnnl_primitive_desc_query_md", pd, dnnl.QUERY[role], 0)

    def implementation(self, pd):
        name = ctypes.c_char_p()
        self.lib.call("dnnl_primitive_desc_query", pd, dnnl.QUERY_IMPL_INFO_STR, 0,
                      ctypes.byref(name))
        return name.value.decode()


class Primitive:
    """A primitive with one memory object per argument, executed on buffers."""

    def __init__(self, context, primitive, roles):
        self.context, self.handle = context, primitive
        self.roles = list(roles)
        self.memories = [context.memory(md) for md in roles.values()]
        self.args = (dnnl.ExecArg * len(self.roles))(
            *[dnnl.ExecArg(dnnl.ARG[role], memory) for role, memory in
              zip(self.roles, self.memories)])

    def __call__(self, **buffers):
        lib = self.context.lib
        for role, memory in zip(self.roles, self.memories):
            lib.call("dnnl_memory_set_data_handle", memory, address(buffers[role]))
        lib.call("dnnl_primitive_execute", self.handle, self.context.stream, len(self.roles),
                 self.args)
        lib.call("dnnl_stream_wait", self.context.stream)


class Saved:
    """What a forward pass keeps for backward: the input as given, and the
    weight as a (buffer, descriptor) pair in the layout the forward used."""

    def __init__(self, x, weights):
        self.x, self.weights = x, weights


class Plan:
    """The primitives of one convolution shape (see the module docstring).

    ``pads`` are ((top, bottom), (left, right)); ``training`` makes the
    forward primitive a training one, which the backward ones are built from.
    Raises :class:`dnnl.DnnlError` if oneDNN has no implementation.
    """

    def __init__(self, context, x_shape, w_shape, bias, stride, pads, dilation, groups,
                 training):
        self.context = c = context
        self.key = (x_shape, w_shape, bias, stride, pads, dilation, groups, training)
        n, _, h, w = x_shape
        o, _, kh, kw = w_shape
        out_h = (h + sum(pads[0]) - dilation[0] * (kh - 1) - 1) // stride[0] + 1
        out_w = (w + sum(pads[1]) - dilation[1] * (kw - 1) - 1) // stride[1] + 1
        self.x_shape, self.y_shape = x_shape, (n, o, out_h, out_w)
        self.w_shape = w_shape
        # oneDNN's grouped weight is (G, O/G, C/G, KH, KW): the same memory as ours
        self.w_dims = w_shape if groups == 1 else (groups, o // groups) + w_shape[1:]
        self.geometry = [dnnl.dims(stride), dnnl.dims([d - 1 for d in dilation]),
                         dnnl.dims([p[0] for p in pads]), dnnl.dims([p[1] for p in pads])]
        self.any = {"src": c.tagged(x_shape, dnnl.ANY), "dst": c.tagged(self.y_shape, dnnl.ANY),
                    "diff_src": c.tagged(x_shape, dnnl.ANY),
                    "weights": c.tagged(self.w_dims, dnnl.ANY)}
        self.bias_md = c.tagged((o,), dnnl.TAG_A) if bias else None
        self.w_plain = c.tagged(self.w_dims, dnnl.TAG_ABCD if groups == 1 else dnnl.TAG_ABCDE)
        # Outputs and input gradients are returned channel-major, as the NumPy
        # route returns them: batch norm's per-channel sums run fastest on it.
        self.y_plain = c.strided(self.y_shape, _channel_major_strides(self.y_shape))
        self.x_plain = c.strided(x_shape, _channel_major_strides(x_shape))
        self.fwd_pd = dnnl.handle()
        c.lib.call("dnnl_convolution_forward_primitive_desc_create", ctypes.byref(self.fwd_pd),
                   c.engine, dnnl.FORWARD_TRAINING if training else dnnl.FORWARD_INFERENCE,
                   dnnl.CONVOLUTION_DIRECT, self.any["src"], self.any["weights"], self.bias_md,
                   self.any["dst"], *self.geometry, None)
        self.md = {role: c.query(self.fwd_pd, role) for role in ("src", "weights", "dst")}
        roles = {"src": self.md["src"], "weights": self.md["weights"], "dst": self.md["dst"]}
        if bias:
            roles["bias"] = self.bias_md
        self.fwd = c.primitive(self.fwd_pd, roles)
        self.bwd_data = self.bwd_weights = None

    def implementations(self):
        """The oneDNN kernels chosen, e.g. {'forward': 'brg:avx512_core', ...}."""
        names = {"forward": self.context.implementation(self.fwd_pd)}
        for label, pd in (("backward data", getattr(self, "bwd_data_pd", None)),
                          ("backward weights", getattr(self, "bwd_weights_pd", None))):
            if pd is not None:
                names[label] = self.context.implementation(pd)
        return names

    # ---------------------------------------------------------------- layout changes

    def into(self, array, md, role, keep=False, shape=None):
        """``array`` as a (buffer, md) pair in layout ``md``: the array itself
        if it already lies so, else reordered into a buffer (a fresh one if
        ``keep``, for a Saved; scratch otherwise)."""
        c = self.context
        user, layout = c.of_array(array, shape)
        if c.equal(user, md):
            return array, md
        buffer = fresh(c.size(md)) if keep else scratch(role, c.size(md))
        c.reorder(user, md, (self.key, role, layout))(**{"from": array, "to": buffer})
        return buffer, md

    def convert(self, pair, md, role):
        """A (buffer, md) ``pair`` in layout ``md`` (reordered into scratch if needed)."""
        buffer, have = pair
        c = self.context
        if c.equal(have, md):
            return buffer
        out = scratch(role, c.size(md))
        c.reorder(have, md, (self.key, role, "convert"))(**{"from": buffer, "to": out})
        return out

    def out_of(self, run, md, plain, shape, role):
        """Run ``run(buffer)`` writing in layout ``md``, and return the result
        as a fresh array of ``shape`` in layout ``plain`` (the weight's own, or
        channel-major for activations)."""
        c = self.context
        if plain is self.w_plain:
            out = np.empty(shape, np.float32)
        else:  # channel-major
            out = np.empty((shape[1], shape[0]) + shape[2:], np.float32).swapaxes(0, 1)
        if c.equal(md, plain):
            run(out)
            return out
        buffer = scratch(role, c.size(md))
        run(buffer)
        c.reorder(md, plain, (self.key, role, "out"))(**{"from": buffer, "to": out})
        return out

    # ---------------------------------------------------------------- the three passes

    def forward(self, x, w, b=None, keep=False):
        with _lock:
            return self._forward(x, w, b, keep)

    def backward(self, grad, saved, need_x, need_w, need_b):
        """(dL/dx or None, dL/dw or None, dL/db or None) from the output
        gradient ``grad`` (N, O, OH, OW); each fresh, dL/dx channel-major."""
        with _lock:
            return self._backward(grad, saved, need_x, need_w, need_b)

    def _forward(self, x, w, b, keep):
        """y (N, O, OH, OW), channel-major; and, if ``keep``, the :class:`Saved` for backward."""
        src = self.into(x, self.md["src"], "src")
        weights = self.into(w, self.md["weights"], "weights", keep=keep, shape=self.w_dims)
        args = {"src": src[0], "weights": weights[0]}
        if b is not None:
            args["bias"] = b if b.flags.c_contiguous else np.ascontiguousarray(b)

        def run(dst):
            self.fwd(dst=dst, **args)
        y = self.out_of(run, self.md["dst"], self.y_plain, self.y_shape, "dst")
        return y, (Saved(x, weights) if keep else None)

    def _backward(self, grad, saved, need_x, need_w, need_b):
        gx = gw = gb = None
        diff_dst = None
        if need_x:
            md = self.data_gradient_primitive()
            diff_dst = self.into(grad, md["diff_dst"], "diff_dst")
            weights = self.convert(saved.weights, md["weights"], "weights")

            def run(diff_src):
                self.bwd_data(diff_src=diff_src, weights=weights, diff_dst=diff_dst[0])
            gx = self.out_of(run, md["diff_src"], self.x_plain, self.x_shape, "diff_src")
        if need_w or need_b:
            md = self.weight_gradient_primitive()
            if diff_dst is None or not self.context.equal(diff_dst[1], md["diff_dst"]):
                diff_dst = self.into(grad, md["diff_dst"], "diff_dst_w")
            src = self.into(saved.x, md["src"], "src_w")[0]
            if self.bias_md is not None:
                gb = np.empty(self.w_shape[0], np.float32)
            extra = {"diff_bias": gb} if gb is not None else {}

            def run(diff_weights):
                self.bwd_weights(src=src, diff_weights=diff_weights, diff_dst=diff_dst[0],
                                 **extra)
            gw = self.out_of(run, md["diff_weights"], self.w_plain, self.w_dims,
                             "diff_weights").reshape(self.w_shape)
        return gx, (gw if need_w else None), (gb if need_b else None)

    def data_gradient_primitive(self):
        """The backward-data primitive (made on first use); its descriptors by role."""
        c = self.context
        if self.bwd_data is None:
            pd = self.bwd_data_pd = dnnl.handle()
            c.lib.call("dnnl_convolution_backward_data_primitive_desc_create", ctypes.byref(pd),
                       c.engine, dnnl.CONVOLUTION_DIRECT, self.any["diff_src"],
                       self.any["weights"], self.any["dst"], *self.geometry, self.fwd_pd, None)
            self.bwd_data_md = {role: c.query(pd, role)
                                for role in ("diff_src", "weights", "diff_dst")}
            self.bwd_data = c.primitive(pd, self.bwd_data_md)
        return self.bwd_data_md

    def weight_gradient_primitive(self):
        """The backward-weights primitive (made on first use); its descriptors by role."""
        c = self.context
        if self.bwd_weights is None:
            pd = self.bwd_weights_pd = dnnl.handle()
            c.lib.call("dnnl_convolution_backward_weights_primitive_desc_create",
                       ctypes.byref(pd), c.engine, dnnl.CONVOLUTION_DIRECT, self.any["src"],
                       c.tagged(self.w_dims, dnnl.ANY), self.bias_md, self.any["dst"],
                       *self.geometry, self.fwd_pd, None)
            self.bwd_weights_md = {role: c.query(pd, role)
                                   for role in ("src", "diff_weights", "diff_dst")}
            roles = dict(self.bwd_weights_md)
            if self.bias_md is not None:
                roles["diff_bias"] = self.bias_md
            self.bwd_weights = c.primitive(pd, roles)
        return self.bwd_weights_md
