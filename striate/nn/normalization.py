"""Normalization layers: ``BatchNorm1d/2d/3d`` (Ioffe & Szegedy 2015),
``LayerNorm`` (Ba et al. 2016) and ``LocalResponseNorm`` (Krizhevsky et al. 2012).

Batch norm, per channel c over the batch and spatial positions::

    training:   y = (x - mean_B) / sqrt(var_B + eps) * weight + bias
                running_mean <- (1 - momentum) * running_mean + momentum * mean_B
                running_var  <- (1 - momentum) * running_var  + momentum * var_B (unbiased)
    evaluation: y = (x - running_mean) / sqrt(running_var + eps) * weight + bias

``momentum=None`` uses a cumulative average (factor 1/num_batches_tracked).
Parameters and buffers have PyTorch's names (``weight``, ``bias``,
``running_mean``, ``running_var``, ``num_batches_tracked``) so that
torchvision's state dicts load as they are.
"""
from .. import backend
from .. import functional as F
from ..backend import xp
from ..functional.arguments import (as_tensor, check_axis_size, check_ndim, check_trailing_shape,
                                    positive_int, shape_tuple)
from . import init
from .module import Module, Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm", "LocalResponseNorm"]


class _BatchNorm(Module):
    layouts = {}  # {ndim: "(N, C, H, W)"}: the input ranks the subclass accepts

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        name = type(self).__name__
        num_features = positive_int(num_features, "num_features", name)
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"{name}: momentum must be in [0, 1] or None, got {momentum}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.use_bias = affine and bias  # PyTorch 2.x: affine=True, bias=False scales only
        dtype = backend.default_float if dtype is None else dtype
        self.register_parameter("weight", Parameter(xp.ones(num_features, dtype=dtype))
                                if affine else None)
        self.register_parameter("bias", Parameter(xp.zeros(num_features, dtype=dtype))
                                if self.use_bias else None)
        if track_running_stats:
            self.register_buffer("running_mean", xp.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", xp.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", xp.array(0, dtype=xp.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    def reset_parameters(self):
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def _check_input(self, input):
        """Rank and channels, quoting this layer; returns the input as a tensor."""
        name = f"{type(self).__name__}({self.num_features})"
        input = as_tensor(input, op=name)
        check_ndim(input, self.layouts, name)
        check_axis_size(input, 1, self.num_features, "channels in dimension 1", name)
        return input

    def forward(self, input):
        input = self._check_input(input)
        # PyTorch's bookkeeping: count batches and pick the averaging factor.
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data += 1  # a 0-d array: += updates it in place
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked.data)
        # Batch statistics in training, and also in evaluation when none are tracked.
        use_batch_stats = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if track else None,
                            self.running_var if track else None, self.weight, self.bias,
                            use_batch_stats, factor, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.use_bias}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Input (N, C) or (N, C, L); statistics over N (and L)."""
    layouts = {2: "(N, C)", 3: "(N, C, L)"}


class BatchNorm2d(_BatchNorm):
    """Input (N, C, H, W); statistics over N, H and W."""
    layouts = {4: "(N, C, H, W)"}


class BatchNorm3d(_BatchNorm):
    """Input (N, C, D, H, W); statistics over N, D, H and W."""
    layouts = {5: "(N, C, D, H, W)"}


class LayerNorm(Module):
    """Normalize over the trailing ``normalized_shape`` dimensions of each sample;
    ``weight`` (ones) and ``bias`` (zeros) have that shape."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 device=None, dtype=None):
        super().__init__()
        self.normalized_shape = shape_tuple(normalized_shape, "normalized_shape", "LayerNorm")
        self.eps, self.elementwise_affine = eps, elementwise_affine
        self.use_bias = elementwise_affine and bias
        dtype = backend.default_float if dtype is None else dtype
        if elementwise_affine:
            self.weight = Parameter(xp.ones(self.normalized_shape, dtype=dtype))
            if bias:
                self.bias = Parameter(xp.zeros(self.normalized_shape, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, input):
        name = f"LayerNorm({self.normalized_shape})"
        input = as_tensor(input, op=name)
        check_trailing_shape(input, self.normalized_shape, name)
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.use_bias}")


class LocalResponseNorm(Module):
    """AlexNet's normalization across ``size`` neighbouring channels:
    ``b_c = a_c / (k + alpha/size * sum_{c' near c} a_c'^2)^beta``."""

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        size = positive_int(size, "size", "LocalResponseNorm")
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input):
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
