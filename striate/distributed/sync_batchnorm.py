"""Synchronized batch norm: statistics over the global batch, not the rank's share.

Symbols (as in :mod:`striate.functional.normalization`): N batch, C channels,
S spatial positions, M_r = n_r S the values per channel on rank r,
M = sum M_r over the ranks, xc = x - mean, g the upstream gradient.

Forward: every rank sums x and x^2 per channel in float64 (float64, so that
var = E[x^2] - mean^2 keeps its digits when the mean is large against the
spread), appends M_r, and one all-reduce gives the global mean and biased
variance; the running buffers get the unbiased variance M/(M-1) var, as in
single-process batch norm.

Backward: the loss each rank differentiates is its *local* mean; the global
loss is sum_r (M_r/M) L_r (see :mod:`striate.distributed.buckets`). With the
globally scaled upstream gradient g' = (M_r/M) g, single-process batch norm
gives dx = scale (g' - A/M - xc inv_std^2 B/M) with A = sum g', B = sum g' xc
over all ranks. The gradient reducer later multiplies everything this rank
produced by M_r/M, so dx is returned divided by that factor:

    dx = scale (g - A/M_r - xc inv_std^2 B/M_r),  scale = weight inv_std,

one all-reduce of (A, B) per layer. dweight = sum_r g xc inv_std and dbias =
sum_r g stay local sums: the gradient reducer adds them up like any other
parameter's gradient. With one rank, M_r = M and A, B are the local sums:
the formula is single-process batch norm's.

:func:`convert_sync_batchnorm` switches a model's ``BatchNorm1d/2d/3d`` to
these in place (same parameters, buffers and state-dict names; evaluation
is unchanged).
"""
from .. import nn
from ..autograd import Function, Tensor
from ..backend import xp

__all__ = ["SyncBatchNormFunction", "sync_batch_norm", "SyncBatchNorm1d", "SyncBatchNorm2d",
           "SyncBatchNorm3d", "convert_sync_batchnorm"]


def _data(t):
    return None if t is None else (t.data if isinstance(t, Tensor) else t)


class SyncBatchNormFunction(Function):
    """Training-mode batch norm over the global batch; forward(x, [weight], [bias])."""

    def __init__(self, communicator, running_mean, running_var, momentum, eps, has_weight,
                 has_bias):
        self.communicator = communicator
        self.running_mean, self.running_var = running_mean, running_var
        self.momentum, self.eps = momentum, eps
        self.has_weight, self.has_bias = has_weight, has_bias

    def forward(self, x, *params):
        weight = params[0] if self.has_weight else None
        bias = params[-1] if self.has_bias else None
        n, c = x.shape[:2]
        x3 = x.reshape(n, c, -1)
        local = x3.shape[0] * x3.shape[2]
        stats = xp.empty(2 * c + 1)
        stats[:c] = xp.einsum("ncs->c", x3, dtype=xp.float64)
        stats[c:2 * c] = xp.einsum("ncs,ncs->c", x3, x3, dtype=xp.float64)
        stats[-1] = local
        self.communicator.all_reduce(stats)
        total = stats[-1]
        if total <= 1:
            raise ValueError(f"SyncBatchNorm: expected more than 1 value per channel over all "
                             f"ranks when training, got {int(total)} (input shape {x.shape} here)")
        mean = stats[:c] / total
        var = xp.maximum(stats[c:2 * c] / total - mean * mean, 0.0)
        m = self.momentum
        if self.running_mean is not None:
            self.running_mean *= 1.0 - m
            self.running_mean += (m * mean).astype(self.running_mean.dtype)
        if self.running_var is not None:
            self.running_var *= 1.0 - m
            self.running_var += (m * total / (total - 1) * var).astype(self.running_var.dtype)
        self.local, self.total = local, total
        self.centered = x3 - mean.astype(x.dtype)[:, None]
        self.inv_std = (1.0 / xp.sqrt(var + self.eps)).astype(x.dtype)
        self.scale = self.inv_std * weight if weight is not None else self.inv_std
        out = self.centered * self.scale[:, None]
        if bias is not None:
            out += bias[:, None]
        return out.reshape(x.shape)

    def backward(self, g):
        need_x = self.needs_input_grad[0]
        g3 = g.reshape(self.centered.shape)
        c = g3.shape[1]
        sums = xp.empty(2 * c)
        sums[:c] = xp.einsum("ncs->c", g3, dtype=xp.float64)
        sums[c:] = xp.einsum("ncs,ncs->c", g3, self.centered, dtype=xp.float64)
        local_sum_g = sums[:c].astype(g.dtype)
        local_sum_gc = sums[c:].astype(g.dtype)
        gx = None
        if need_x:
            # Every rank calls this all-reduce: each rank's graph holds the same layers.
            sums *= self.local / self.total
            self.communicator.all_reduce(sums)
            a = (sums[:c] / self.local).astype(g.dtype)
            b = (sums[c:] / self.local).astype(g.dtype)
            inv_std, scale = self.inv_std, self.scale
            gx = g3 * scale[:, None]
            gx -= self.centered * (b * scale * inv_std * inv_std)[:, None]
            gx -= (a * scale)[:, None]
            gx = gx.reshape(g.shape)
        grads = [gx]
        if self.has_weight:
            grads.append(local_sum_gc * self.inv_std if self.needs_input_grad[1] else None)
        if self.has_bias:
            grads.append(local_sum_g if self.needs_input_grad[-1] else None)
        return tuple(grads)


def sync_batch_norm(input, running_mean, running_var, weight, bias, momentum, eps, communicator):
    """Training-mode batch norm of (N, C, *) ``input`` with statistics over every
    rank's batch; ``running_mean``/``running_var`` (C,) are updated in place."""
    input = input if isinstance(input, Tensor) else Tensor(input)
    if input.ndim < 2:
        raise ValueError(f"sync_batch_norm: expected an input of shape (N, C, *), got {input.shape}")
    fn = SyncBatchNormFunction(communicator, _data(running_mean), _data(running_var), momentum,
                               eps, weight is not None, bias is not None)
    return fn(input, *[p for p in (weight, bias) if p is not None])


class _SyncBatchNorm:
    """Mixed in before a ``BatchNormNd``: training uses global statistics."""

    communicator = None

    def forward(self, input):
        if not self.training or self.communicator is None:
            return super().forward(input)
        name = type(self).__name__
        if input.ndim < 2 or input.shape[1] != self.num_features:
            raise ValueError(f"{name}({self.num_features}): expected {self.num_features} "
                             f"channels in dimension 1, got shape {tuple(input.shape)}")
        # The same bookkeeping as single-process batch norm.
        factor = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats:
            self.num_batches_tracked.data += 1
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked.data)
        running = self.track_running_stats
        return sync_batch_norm(input, self.running_mean if running else None,
                               self.running_var if running else None, self.weight, self.bias,
                               factor, self.eps, self.communicator)


class SyncBatchNorm1d(_SyncBatchNorm, nn.BatchNorm1d):
    """:class:`~striate.nn.BatchNorm1d` with statistics over all ranks in training."""


class SyncBatchNorm2d(_SyncBatchNorm, nn.BatchNorm2d):
    """:class:`~striate.nn.BatchNorm2d` with statistics over all ranks in training."""


class SyncBatchNorm3d(_SyncBatchNorm, nn.BatchNorm3d):
    """:class:`~striate.nn.BatchNorm3d` with statistics over all ranks in training."""


_SYNC = {nn.BatchNorm1d: SyncBatchNorm1d, nn.BatchNorm2d: SyncBatchNorm2d,
         nn.BatchNorm3d: SyncBatchNorm3d}


def convert_sync_batchnorm(model, communicator):
    """Turn every ``BatchNorm1d/2d/3d`` of ``model`` into its synchronized
    variant, in place (the module keeps its parameters, buffers and names, so
    optimizers and checkpoints are unaffected); returns how many were converted."""
    converted = 0
    for module in model.modules():
        sync = _SYNC.get(type(module))
        if sync is not None:
            module.__class__ = sync
            converted += 1
        if isinstance(module, _SyncBatchNorm):
            module.communicator = communicator
    return converted
