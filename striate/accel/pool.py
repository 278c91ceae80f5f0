"""2-d max pooling, forward and backward, on oneDNN's pooling primitive.

The plan reads the input in its own layout, without a copy: NHWC (the fast
route's convolutions), C order, or channel-major (the NumPy route's
convolutions). A channel-major (N, C, H, W) array is a C-order (C, N, H, W)
one, and pooling treats every (image, channel) plane alike, so oneDNN is
told that shape: the same windows over the same planes.

In training the forward pass notes each window's winner in a *workspace*
(oneDNN's own small index array) and backward routes the gradient by it;
on a tie the first value in the window wins, as in PyTorch and on the NumPy
route. Padded values never win.
"""
import numpy as np

from . import dnnl
from .engine import Plan, c_strides, empty_nhwc, in_layout_of, lock, nhwc_strides


def _described(shape, layout):
    """(dims, strides) oneDNN is given for an (N, C, H, W) array of ``shape``
    laid out as ``layout`` (``engine.layout_of``)."""
    if layout == "channels-last":
        return shape, nhwc_strides(shape)
    if layout == "channel-major":
        shape = (shape[1], shape[0]) + tuple(shape[2:])
    return shape, c_strides(shape)


def _empty(shape, layout):
    """A new float32 array of ``shape`` (N, C, H, W) laid out as ``layout``."""
    if layout == "channels-last":
        return empty_nhwc(shape)
    if layout == "channel-major":
        return np.empty((shape[1], shape[0]) + tuple(shape[2:]), np.float32).swapaxes(0, 1)
    return np.empty(shape, np.float32)


class MaxPoolPlan(Plan):
    """Max pooling of one input shape and layout; ``pads`` are ((top,
    bottom), (left, right)), ``training`` adds the backward primitive."""

    def __init__(self, context, shape, layout, kernel, stride, pads, dilation, training):
        super().__init__(context)
        self.layout, self.training = layout, training
        n, c, h, w = shape
        out = [(size + sum(pad) - d * (k - 1) - 1) // s + 1
               for size, pad, k, s, d in zip((h, w), pads, kernel, stride, dilation)]
        self.x_shape, self.y_shape = shape, (n, c, *out)
        src = self.strided(*_described(shape, layout))
        dst = self.strided(*_described(self.y_shape, layout))
        geometry = [dnnl.dims(stride), dnnl.dims(kernel), dnnl.dims([d - 1 for d in dilation]),
                    dnnl.dims([p[0] for p in pads]), dnnl.dims([p[1] for p in pads])]
        fwd_pd = self.primitive_desc(
            "dnnl_pooling_forward_primitive_desc_create",
            dnnl.FORWARD_TRAINING if training else dnnl.FORWARD_INFERENCE, dnnl.POOLING_MAX,
            src, dst, *geometry, None)
        pds = [fwd_pd]
        roles = {"src": src, "dst": dst}
        if training:
            workspace = self.query(fwd_pd, "workspace")
            self.workspace_bytes = self.size(workspace)
            roles["workspace"] = workspace
            bwd_pd = self.primitive_desc(
                "dnnl_pooling_backward_primitive_desc_create", dnnl.POOLING_MAX, src, dst,
                *geometry, fwd_pd, None)
            self.bwd = self.primitive(bwd_pd, {"diff_src": src, "diff_dst": dst,
                                               "workspace": workspace})
            pds.append(bwd_pd)
        self.fwd = self.primitive(fwd_pd, roles)
        for pd in pds:
            if self.implementation(pd).startswith("ref"):
                raise dnnl.DnnlError("pooling: only a reference kernel", 0)

    def forward(self, x):
        """(y laid out as ``x``, the workspace backward reads, or None)."""
        out = _empty(self.y_shape, self.layout)
        args = {"src": x, "dst": out}
        workspace = None
        if self.training:
            workspace = args["workspace"] = np.empty(self.workspace_bytes, np.uint8)
        with lock:
            self.fwd(**args)
        return out, workspace

    def backward(self, grad, out, workspace):
        """dL/dx, laid out as the input, from dL/dy ``grad`` (``out`` is the
        forward's output, whose layout ``grad`` is put in)."""
        gx = _empty(self.x_shape, self.layout)
        with lock:
            self.bwd(diff_src=gx, diff_dst=in_layout_of(grad, out), workspace=workspace)
        return gx
