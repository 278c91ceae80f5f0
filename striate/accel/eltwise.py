"""Elementwise passes on oneDNN: ReLU (forward and backward, the eltwise
primitive) and the sum of two arrays (a residual connection, the binary
primitive).

Each value is looked at alone, so the arrays' layout does not matter as
long as their values fill one block of memory (``engine.dense``) in the same
order: a plan sees the block as a flat run of ``size`` values, and the
output is made in the same layout as the input. NumPy runs these on one
thread; oneDNN on every thread. For ReLU it is also one pass instead of
two (NumPy's mask for backward, then the maximum): backward reads the
output instead of a mask (``relu_use_dst_for_bwd``: the gradient passes
where the output is positive, 0 at 0 as in PyTorch).
"""
import numpy as np

from . import dnnl
from .engine import Plan, in_layout_of, lock


class ReluPlan(Plan):
    """max(x, 0) over ``size`` float32 values, and its gradient."""

    def __init__(self, context, size):
        super().__init__(context)
        flat = self.tagged((size,), dnnl.TAG_A)
        fwd_pd = self.primitive_desc("dnnl_eltwise_forward_primitive_desc_create",
                                     dnnl.FORWARD_TRAINING, dnnl.RELU_USE_DST, flat, flat,
                                     0.0, 0.0, None)
        self.fwd = self.primitive(fwd_pd, {"src": flat, "dst": flat})
        bwd_pd = self.primitive_desc("dnnl_eltwise_backward_primitive_desc_create",
                                     dnnl.RELU_USE_DST, flat, flat, flat, 0.0, 0.0, fwd_pd,
                                     None)
        self.bwd = self.primitive(bwd_pd, {"diff_src": flat, "diff_dst": flat, "dst": flat})

    def forward(self, x):
        """max(x, 0), a new array laid out as ``x``."""
        out = np.empty_like(x)
        with lock:
            self.fwd(src=x, dst=out)
        return out

    def backward(self, grad, out):
        """dL/dx from dL/dy ``grad`` and the forward's output ``out``."""
        grad = in_layout_of(grad, out)
        gx = np.empty_like(out)
        with lock:
            self.bwd(diff_src=gx, diff_dst=grad, dst=out)
        return gx


class AddPlan(Plan):
    """a + b over ``size`` float32 values (the gradient passes to both as it is)."""

    def __init__(self, context, size):
        super().__init__(context)
        flat = self.tagged((size,), dnnl.TAG_A)
        pd = self.primitive_desc("dnnl_binary_primitive_desc_create", dnnl.BINARY_ADD, flat,
                                 flat, flat, None)
        self.add = self.primitive(pd, {"src": flat, "src_1": flat, "dst": flat})

    def forward(self, a, b):
        """a + b, a new array laid out as ``a`` (``b`` lies the same way)."""
        out = np.empty_like(a)
        with lock:
            self.add(src=a, src_1=b, dst=out)
        return out
