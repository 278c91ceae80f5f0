"""Batch normalization, forward and backward, on oneDNN's primitive.

The statistics are per channel over everything else, so the plan reads the
input as a 3-d (N, C, S) array (S the product of the spatial sizes) in one
of the layouts oneDNN's fast kernels take without a copy:

* "channels-last": the (N, S, C) memory of the fast route's convolutions
  (oneDNN's ``nwc``);
* "plain": C order (``ncw``);
* "channel-major": the (C, N, S) memory of the NumPy route's convolutions,
  read as a batch of one, (1, C, N*S) in C order: the same values per
  channel, hence the same statistics.

oneDNN returns the batch mean and the biased variance; the running
statistics are updated from them by the op (``functional/normalization.py``)
exactly as on the NumPy route. The backward pass is the same formula as the
NumPy route's (the module docstring there), gradients of the weight
(oneDNN's *scale*) and bias (*shift*) included.
"""
import math

import numpy as np

from . import dnnl
from .engine import Plan, in_layout_of, lock


def _strides(shape, layout):
    """(dims, strides) of the 3-d view oneDNN is given for an input of ``shape``."""
    n, c = shape[:2]
    s = math.prod(shape[2:])
    if layout == "channels-last":
        return (n, c, s), (s * c, 1, c)
    if layout == "plain":
        return (n, c, s), (c * s, s, 1)
    return (1, c, n * s), (c * n * s, n * s, 1)  # channel-major


class BatchNormPlan(Plan):
    """Batch norm of one input shape and layout (see the module docstring).

    ``training``: batch statistics (and a backward primitive); otherwise the
    running statistics given to :meth:`forward`. Raises ``dnnl.DnnlError``
    where oneDNN has only its reference kernel (the NumPy route is as fast).
    """

    def __init__(self, context, shape, layout, training, eps, has_weight, has_bias):
        super().__init__(context)
        self.layout, self.training = layout, training
        self.channels = shape[1]
        data = self.strided(*_strides(shape, layout))
        flags = ((dnnl.USE_SCALE if has_weight else 0) | (dnnl.USE_SHIFT if has_bias else 0)
                 | (0 if training else dnnl.USE_GLOBAL_STATS))
        self.flags = flags
        self.fwd_pd = self.primitive_desc(
            "dnnl_batch_normalization_forward_primitive_desc_create",
            dnnl.FORWARD_TRAINING if training else dnnl.FORWARD_INFERENCE, data, data,
            float(eps), flags, None)
        vector = self.tagged((shape[1],), dnnl.TAG_A)
        roles = {"src": data, "dst": data, "mean": vector, "variance": vector}
        roles.update({role: vector for role, present in (("scale", has_weight),
                                                        ("shift", has_bias)) if present})
        self.fwd = self.primitive(self.fwd_pd, roles)
        self.bwd = self.bwd_pd = None
        if training:
            affine = has_weight or has_bias
            self.bwd_pd = self.primitive_desc(
                "dnnl_batch_normalization_backward_primitive_desc_create",
                dnnl.BACKWARD if affine else dnnl.BACKWARD_DATA, data, data, data, float(eps),
                flags, self.fwd_pd, None)
            roles = {"src": data, "mean": vector, "variance": vector, "diff_dst": data,
                     "diff_src": data}
            roles.update({role: vector for role, present in
                          (("scale", has_weight), ("diff_scale", has_weight),
                           ("diff_shift", has_bias)) if present})
            self.bwd = self.primitive(self.bwd_pd, roles)
        for pd in (self.fwd_pd, self.bwd_pd):
            if pd is not None and self.implementation(pd).startswith("ref"):
                raise dnnl.DnnlError("batch normalization: only a reference kernel", 0)

    def forward(self, x, weight, bias, mean=None, variance=None):
        """(y laid out as ``x``, mean, biased variance): the batch's statistics
        in training, else the running ``mean`` and ``variance`` given."""
        out = np.empty_like(x)
        if self.training:
            mean = np.empty(self.channels, np.float32)
            variance = np.empty(self.channels, np.float32)
        args = {"src": x, "dst": out, "mean": mean, "variance": variance}
        if weight is not None:
            args["scale"] = weight
        if bias is not None:
            args["shift"] = bias
        with lock:
            self.fwd(**args)
        return out, mean, variance

    def backward(self, grad, x, mean, variance, weight, bias):
        """(dL/dx laid out as ``x``, dL/dweight or None, dL/dbias or None)."""
        grad = in_layout_of(grad, x)
        gx = np.empty_like(x)
        args = {"src": x, "mean": mean, "variance": variance, "diff_dst": grad,
                "diff_src": gx}
        gw = gb = None
        if weight is not None:
            gw = np.empty(self.channels, np.float32)
            args.update(scale=weight, diff_scale=gw)
        if bias is not None:  # the shift is not read: its gradient is a sum of grad
            gb = np.empty(self.channels, np.float32)
            args["diff_shift"] = gb
        with lock:
            self.bwd(**args)
        return gx, gw, gb
