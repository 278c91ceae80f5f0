"""2-d convolution, forward and both gradients, on oneDNN's primitives.

Symbols as in ``striate/functional/conv.py``::

    x  (N, C, H, W)      input        w  (O, C/G, KH, KW)   weight      b  (O,)
    y  (N, O, OH, OW)    output       G  groups

oneDNN's fast kernels read and write activations *channels last* (NHWC:
the C values of a pixel side by side), or in their own *blocked* layouts
(channels cut into blocks of 8 or 16); plain NCHW descriptors would force
its slow reference-like kernels. A plan asks for NHWC activations first:
then a network's activations pass from one convolution to the next (through
batch norm, ReLU and max pooling, which the fast route also runs on NHWC,
see ``norm.py``, ``eltwise.py``, ``pool.py``) without a single copy. Where
oneDNN would answer NHWC with a reference kernel (some grouped shapes), the
plan takes the layouts oneDNN picks itself (``format_tag_any``) and
reorders on the way in and out. Either way outputs and input gradients come
back as NHWC arrays, and inputs are taken as they are when C order, NHWC or
channel-major (the NumPy route's layout), reordered into the primitive's
layout when it differs. A reorder is a copy, much cheaper than the
convolution it feeds, but on a small ResNet the reorders between blocked
and plain layouts were 24 ms of a 124 ms training step: hence NHWC.

A :class:`ConvPlan` holds, for one shape (input, weight, stride, padding,
dilation, groups, bias), the primitive descriptors, the primitives and their
memory objects. It is made once per shape and cached; the layout choice is
fixed by the shape and the CPU, so the same shape always runs the same
kernels: results are bit-identical from run to run at a fixed thread count.

Weights are reordered into the primitive's layout at each pass that reads
them (they change at each step). What a forward pass keeps for its backward
(:class:`Saved`) is the weight as given and the input in the layout the
forward read it in: for an NHWC input, the input itself (the next op keeps
it anyway); for any other (a network's first layer, an NCHW array) the
reordered copy instead of the original, which the weight gradient then
reads without reordering it a second time.
"""
import numpy as np

from . import dnnl
from .engine import Plan, c_strides, empty_nhwc, fresh, layout_of, lock, nhwc_strides, scratch


class Saved:
    """What a forward pass keeps for backward: the input, a (buffer,
    descriptor) pair in the layout the forward read it in, and the weight
    array as given (reordered again for the input gradient, whose kernel
    mostly wants another layout than the forward's anyway: a blocked copy of
    every weight kept from forward to backward was a U-Net's 108 MiB)."""

    def __init__(self, x, weights):
        self.x, self.weights = x, weights


class ConvPlan(Plan):
    """The primitives of one convolution shape (see the module docstring).

    ``pads`` are ((top, bottom), (left, right)); ``training`` makes the
    forward primitive a training one and builds the two backward ones from
    it. Raises :class:`dnnl.DnnlError` if oneDNN has no implementation.
    """

    def __init__(self, context, x_shape, w_shape, bias, stride, pads, dilation, groups,
                 training):
        super().__init__(context)
        self.key = (x_shape, w_shape, bias, stride, pads, dilation, groups, training)
        n, _, h, w = x_shape
        o, _, kh, kw = w_shape
        out_h = (h + sum(pads[0]) - dilation[0] * (kh - 1) - 1) // stride[0] + 1
        out_w = (w + sum(pads[1]) - dilation[1] * (kw - 1) - 1) // stride[1] + 1
        self.x_shape, self.y_shape = x_shape, (n, o, out_h, out_w)
        self.w_shape, self.training = w_shape, training
        # oneDNN's grouped weight is (G, O/G, C/G, KH, KW): the same memory as ours
        self.w_dims = w_shape if groups == 1 else (groups, o // groups) + w_shape[1:]
        self.geometry = [dnnl.dims(stride), dnnl.dims([d - 1 for d in dilation]),
                         dnnl.dims([p[0] for p in pads]), dnnl.dims([p[1] for p in pads])]
        # oneDNN 3.2's weight gradient of a strided 1x1 convolution on NHWC
        # (its jit_1x1 kernel) writes past its buffers when the input has fewer
        # channels than a vector holds (a ResNet's downsampling shortcut on an
        # 8-channel input crashed the process): blocked layouts for those.
        if (kh, kw) == (1, 1) and any(s > 1 for s in stride):
            self.build(dnnl.ANY)
            return
        self.build(dnnl.TAG_NHWC)
        if any(name.startswith("ref") for name in self.implementations().values()):
            self.close()  # no fast NHWC kernel: the layouts oneDNN prefers, with reorders
            self.build(dnnl.ANY)

    def build(self, activations):
        """The primitives, their activations described by the tag ``activations``."""
        o = self.w_shape[0]
        self.activations = "NHWC" if activations == dnnl.TAG_NHWC else "blocked"
        src, dst = self.tagged(self.x_shape, activations), self.tagged(self.y_shape, activations)
        weights = self.tagged(self.w_dims, dnnl.ANY)
        self.bias_md = self.tagged((o,), dnnl.TAG_A) if self.key[2] else None
        self.w_plain = self.tagged(self.w_dims, dnnl.TAG_ABCD if len(self.w_dims) == 4
                                   else dnnl.TAG_ABCDE)
        # Outputs and input gradients are returned NHWC whatever the primitive's layout
        self.y_plain = self.strided(self.y_shape, nhwc_strides(self.y_shape))
        self.x_plain = self.strided(self.x_shape, nhwc_strides(self.x_shape))
        self.fwd_pd = self.primitive_desc(
            "dnnl_convolution_forward_primitive_desc_create",
            dnnl.FORWARD_TRAINING if self.training else dnnl.FORWARD_INFERENCE,
            dnnl.CONVOLUTION_DIRECT, src, weights, self.bias_md, dst, *self.geometry, None)
        self.md = {role: self.query(self.fwd_pd, role) for role in ("src", "weights", "dst")}
        roles = dict(self.md)
        if self.bias_md is not None:
            roles["bias"] = self.bias_md
        self.fwd = self.primitive(self.fwd_pd, roles)
        self.bwd_data_pd = self.bwd_weights_pd = None
        if not self.training:
            return
        self.bwd_data_pd = pd = self.primitive_desc(
            "dnnl_convolution_backward_data_primitive_desc_create", dnnl.CONVOLUTION_DIRECT,
            src, weights, dst, *self.geometry, self.fwd_pd, None)
        self.bwd_data_md = {role: self.query(pd, role) for role in ("diff_src", "weights",
                                                                     "diff_dst")}
        self.bwd_data = self.primitive(pd, self.bwd_data_md)
        self.bwd_weights_pd = pd = self.primitive_desc(
            "dnnl_convolution_backward_weights_primitive_desc_create", dnnl.CONVOLUTION_DIRECT,
            src, self.tagged(self.w_dims, dnnl.ANY), self.bias_md, dst, *self.geometry,
            self.fwd_pd, None)
        self.bwd_weights_md = {role: self.query(pd, role) for role in ("src", "diff_weights",
                                                                        "diff_dst")}
        roles = dict(self.bwd_weights_md)
        if self.bias_md is not None:
            roles["diff_bias"] = self.bias_md
        self.bwd_weights = self.primitive(pd, roles)

    def implementations(self):
        """The oneDNN kernels chosen, e.g. {'forward': 'brgconv:avx512_core', ...}."""
        names = {"forward": self.implementation(self.fwd_pd)}
        for label, pd in (("backward data", self.bwd_data_pd),
                          ("backward weights", self.bwd_weights_pd)):
            if pd is not None:
                names[label] = self.implementation(pd)
        return names

    # ---------------------------------------------------------------- layout changes

    def of_array(self, array, shape=None):
        """The descriptor of ``array``'s memory, and the name of its layout
        (``engine.layout_of``); an array given a ``shape`` of its own (a
        grouped weight) is read in C order. Any other layout is the caller's
        to copy first (``accel.as_input``)."""
        if shape is not None:
            return self.described(shape, "plain"), "plain"
        layout = layout_of(array)
        if layout is None:
            raise ValueError(f"convolution: an input of strides {array.strides} reached oneDNN")
        return self.described(array.shape, layout), layout

    def described(self, shape, layout):
        key = ("md", tuple(shape), layout)
        md = self._cached.get(key)
        if md is None:
            if layout == "plain":
                strides = c_strides(shape)
            elif layout == "channels-last":
                strides = nhwc_strides(shape)
            else:
                n, c, h, w = shape
                strides = (h * w, n * h * w, w, 1)
            md = self._cached[key] = self.strided(shape, strides)
        return md

    def into(self, array, md, role, keep=False, shape=None):
        """``array`` as a (buffer, md) pair in layout ``md``: the array itself
        if it already lies so, else reordered into a buffer (a fresh one if
        ``keep``, for a Saved; scratch otherwise)."""
        user, layout = self.of_array(array, shape)
        if self.equal(user, md):
            return array, md
        buffer = fresh(self.size(md)) if keep else scratch(role, self.size(md))
        self.reorder(user, md, (role, layout))(**{"from": array, "to": buffer})
        return buffer, md

    def convert(self, pair, md, role):
        """A (buffer, md) ``pair`` in layout ``md`` (reordered into scratch if needed)."""
        buffer, have = pair
        if self.equal(have, md):
            return buffer
        out = scratch(role, self.size(md))
        self.reorder(have, md, (role, "convert"))(**{"from": buffer, "to": out})
        return out

    def out_of(self, run, md, plain, shape, role):
        """Run ``run(buffer)`` writing in layout ``md``, and return the result
        as a fresh array of ``shape`` in layout ``plain`` (the weight's own, or
        NHWC for activations)."""
        out = np.empty(shape, np.float32) if plain is self.w_plain else empty_nhwc(shape)
        if self.equal(md, plain):
            run(out)
            return out
        buffer = scratch(role, self.size(md))
        run(buffer)
        self.reorder(md, plain, (role, "out"))(**{"from": buffer, "to": out})
        return out

    # ---------------------------------------------------------------- the three passes

    def forward(self, x, w, b=None, keep=False):
        with lock:
            return self._forward(x, w, b, keep)

    def backward(self, grad, saved, need_x, need_w, need_b):
        """(dL/dx or None, dL/dw or None, dL/db or None) from the output
        gradient ``grad`` (N, O, OH, OW); each fresh, dL/dx NHWC."""
        with lock:
            return self._backward(grad, saved, need_x, need_w, need_b)

    def _forward(self, x, w, b, keep):
        """y (N, O, OH, OW), NHWC; and, if ``keep``, the :class:`Saved` for backward."""
        src = self.into(x, self.md["src"], "src", keep=keep)
        weights = self.into(w, self.md["weights"], "weights", shape=self.w_dims)
        args = {"src": src[0], "weights": weights[0]}
        if b is not None:
            args["bias"] = b if b.flags.c_contiguous else np.ascontiguousarray(b)

        def run(dst):
            self.fwd(dst=dst, **args)
        y = self.out_of(run, self.md["dst"], self.y_plain, self.y_shape, "dst")
        return y, (Saved(src, w) if keep else None)

    def _backward(self, grad, saved, need_x, need_w, need_b):
        gx = gw = gb = None
        diff_dst = None
        if need_x:
            md = self.bwd_data_md
            diff_dst = self.into(grad, md["diff_dst"], "diff_dst")
            weights = self.into(saved.weights, md["weights"], "weights_x", shape=self.w_dims)[0]

            def run(diff_src):
                self.bwd_data(diff_src=diff_src, weights=weights, diff_dst=diff_dst[0])
            gx = self.out_of(run, md["diff_src"], self.x_plain, self.x_shape, "diff_src")
        if need_w or need_b:
            md = self.bwd_weights_md
            if diff_dst is None or not self.equal(diff_dst[1], md["diff_dst"]):
                diff_dst = self.into(grad, md["diff_dst"], "diff_dst_w")
            src = self.convert(saved.x, md["src"], "src_w")
            if self.bias_md is not None:
                gb = np.empty(self.w_shape[0], np.float32)
            extra = {"diff_bias": gb} if gb is not None else {}

            def run(diff_weights):
                self.bwd_weights(src=src, diff_weights=diff_weights, diff_dst=diff_dst[0],
                                 **extra)
            gw = self.out_of(run, md["diff_weights"], self.w_plain, self.w_dims,
                             "diff_weights").reshape(self.w_shape)
        return gx, (gw if need_w else None), (gb if need_b else None)
