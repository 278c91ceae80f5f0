"""Normalization ops: batch norm, layer norm and local response norm, each one
fused ``Function`` with its backward written out (not composed from mean/var
ops), because batch norm sits after nearly every convolution of a modern CNN.

Symbols: N batch, C channels, S the product of the spatial dims (L, H*W or
D*H*W; 1 for (N, C) input), M = N*S the number of values per channel,
x_hat the normalized input, g the upstream gradient.
"""
import math

from .. import accel
from ..autograd import Function
from ..backend import xp
from .arguments import as_array, as_tensor, check_trailing_shape, positive_int, shape_tuple
from .windows import release, workspace_like

__all__ = ["batch_norm", "layer_norm", "local_response_norm"]


def _channel_dot(a, b):
    """sum over N and S of a * b, per channel, for (N, C, S) arrays: one BLAS
    dot product per channel when both are channel-major (three times faster
    than einsum, which multiplies and adds element by element), else einsum."""
    rows_a, rows_b = a.swapaxes(0, 1), b.swapaxes(0, 1)  # (C, N, S)
    if rows_a.flags.c_contiguous and rows_b.flags.c_contiguous:
        c = rows_a.shape[0]
        return xp.matmul(rows_a.reshape(c, 1, -1), rows_b.reshape(c, -1, 1)).reshape(c)
    return xp.einsum("ncs,ncs->c", a, b)


def _per_channel(values):
    """(C,) -> (C, 1): broadcasts against the (N, C, S) view."""
    return values[:, None]


# --------------------------------------------------------------------------- batch norm


class BatchNorm(Function):
    """Batch normalization (Ioffe & Szegedy 2015) over (N, C, *) input.

    forward(x, [weight (C,)], [bias (C,)]); which of weight/bias are present is
    told to ``__init__``. Training normalizes with the batch mean and biased
    variance and updates the running buffers in place: running = (1 - momentum)
    running + momentum stat, with the *unbiased* variance M/(M-1) var, exactly
    as PyTorch does. Evaluation normalizes with the running statistics.

    Backward in training (the paper's formula, summed per channel over (N, S)):
        dbeta = sum g,   dgamma = sum g x_hat,
        dx = gamma / sqrt(var + eps) * (g - dbeta / M - x_hat dgamma / M).
    The centred input xc = x - mean is made in a scratch buffer (forward:
    for the variance and out = xc (gamma inv_std) + beta) and made again in
    backward from x, which the graph keeps anyway: one pass more than keeping
    it, and a whole activation less held from forward to backward. x_hat
    appears as xc inv_std in these formulas. Per-channel sums use einsum, which
    reduces the (N, C, S) view without any transposed copy, and per-channel
    dot products BLAS where the layout allows (:func:`_channel_dot`).
    """

    def __init__(self, running_mean, running_var, training, momentum, eps,
                 has_weight, has_bias):
        self.running_mean, self.running_var = running_mean, running_var
        self.training, self.momentum, self.eps = training, momentum, eps
        self.has_weight, self.has_bias = has_weight, has_bias

    def forward(self, x, *params):
        weight = params[0] if self.has_weight else None
        bias = params[-1] if self.has_bias else None
        self.plan = self.fast_plan(x, weight, bias)
        if self.plan is not None:
            return self.fast_forward(x, weight, bias)
        n, c = x.shape[:2]
        x3 = x.reshape(n, c, math.prod(x.shape[2:]))
        centered = None
        if self.training and x.size == 0:
            # No values: no statistics to take and the running ones stay as
            # they are; the (empty) output uses mean 0 and variance 1, and the
            # weight and bias gradients are sums over nothing, zero (PyTorch's
            # rule for an empty batch).
            self.training = False
            mean, var = xp.zeros(c, x.dtype), xp.ones(c, x.dtype) - self.eps
        elif self.training:
            count = x3.shape[0] * x3.shape[2]
            mean = xp.einsum("ncs->c", x3) / count
            centered = self.subtract_mean(x3, mean)
            var = _channel_dot(centered, centered) / count
            self._update_running(mean, var, count)
            self.count = count
        else:
            mean, var = self.running_mean, self.running_var
        self.x3, self.mean = x3, mean
        self.inv_std = (1.0 / xp.sqrt(var + self.eps)).astype(x.dtype, copy=False)
        self.scale = self.inv_std * weight if weight is not None else self.inv_std
        if centered is not None:
            out = centered * _per_channel(self.scale)
            release(centered)
        else:  # x * scale + (bias - mean * scale): one pass over x
            out = x3 * _per_channel(self.scale)
            out -= _per_channel((mean * self.scale).astype(x.dtype, copy=False))
        if bias is not None:
            out += _per_channel(bias)
        return out.reshape(x.shape)

    def fast_plan(self, x, weight, bias):
        """The oneDNN plan for this call, or None for the NumPy route."""
        vectors = [v for v in (weight, bias) if v is not None]
        if not self.training:
            if any(self.needs_input_grad) or self.running_mean is None:
                return None
            vectors += [self.running_mean, self.running_var]
        if x.size == 0 or any(v.dtype != x.dtype for v in vectors):
            return None
        return accel.batch_norm(x, self.training, self.eps, weight is not None,
                                bias is not None)

    def fast_forward(self, x, weight, bias):
        weight, bias = [None if v is None else xp.ascontiguousarray(v) for v in (weight, bias)]
        if self.training:
            out, mean, var = self.plan.forward(x, weight, bias)
            self._update_running(mean, var, x.size // x.shape[1])
            if any(self.needs_input_grad):
                self.saved = (x, mean, var, weight, bias)
        else:
            out, _, _ = self.plan.forward(x, weight, bias,
                                          xp.ascontiguousarray(self.running_mean),
                                          xp.ascontiguousarray(self.running_var))
        return out

    @staticmethod
    def subtract_mean(x3, mean):
        """x - mean, per channel, in a workspace buffer of x's memory order."""
        return xp.subtract(x3, _per_channel(mean.astype(x3.dtype, copy=False)),
                           out=workspace_like(x3))

    def _update_running(self, mean, var, count):
        m = self.momentum
        if self.running_mean is not None:
            self.running_mean *= 1.0 - m
            self.running_mean += m * mean
        if self.running_var is not None:
            self.running_var *= 1.0 - m
            self.running_var += (m * count / (count - 1)) * var

    def backward(self, g):
        need_x = self.needs_input_grad[0]
        need_w = self.has_weight and self.needs_input_grad[1]
        need_b = self.has_bias and self.needs_input_grad[-1]
        if self.plan is not None:
            gx, gw, gb = self.plan.backward(g, *self.saved)
            self.saved = None
            return (gx if need_x else None,) + tuple(
                grad if need else None for grad, need, present in
                ((gw, need_w, self.has_weight), (gb, need_b, self.has_bias)) if present)
        g3 = g.reshape(self.x3.shape)
        batch_stats = need_x and self.training
        centered = self.subtract_mean(self.x3, self.mean) if need_w or batch_stats else None
        sum_g = xp.einsum("ncs->c", g3) if need_b or batch_stats else None
        sum_g_centered = (_channel_dot(g3, centered)
                          if need_w or batch_stats else None)

        gx = None
        if need_x:
            gx = g3 * _per_channel(self.scale)
            if self.training:  # the batch statistics depend on x too
                inv_std, scale = self.inv_std, self.scale
                centered *= _per_channel(sum_g_centered * (scale * inv_std * inv_std / self.count))
                gx -= centered  # (centered is scratch, used up here)
                gx -= _per_channel(sum_g * (scale / self.count))
            gx = gx.reshape(g.shape)
        release(centered)
        grads = [gx]
        if self.has_weight:
            grads.append(sum_g_centered * self.inv_std if need_w else None)
        if self.has_bias:
            grads.append(sum_g if need_b else None)
        return tuple(grads)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Batch normalization of (N, C), (N, C, L), (N, C, H, W) or (N, C, D, H, W) input.

    ``running_mean``/``running_var`` (C,) are updated in place (their ``.data``)
    when ``training``; they may be None in training (batch statistics only).
    """
    input = as_tensor(input, op="batch_norm")
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected an input of shape (N, C, *) with at least 2 "
                         f"dims, got shape {input.shape}")
    channels = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (channels,):
            raise ValueError(f"batch_norm: {name} of shape {tuple(t.shape)} does not match the "
                             f"{channels} channels of input of shape {input.shape}")
    if training and not isinstance(momentum, (int, float)):
        raise TypeError(f"batch_norm: momentum must be a number, got {momentum!r}")
    if training:
        values_per_channel = input.shape[0] * math.prod(input.shape[2:])
        if values_per_channel == 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when "
                             f"training, got input of shape {input.shape}")
    elif running_mean is None or running_var is None:
        raise ValueError("batch_norm: running_mean and running_var must be given in "
                         "evaluation mode (training=False)")
    fn = BatchNorm(None if running_mean is None else as_array(running_mean),
                   None if running_var is None else as_array(running_var), training, momentum, eps,
                   weight is not None, bias is not None)
    params = [p for p in (weight, bias) if p is not None]
    return fn(input, *params)


# --------------------------------------------------------------------------- layer norm


class LayerNorm(Function):
    """Layer normalization (Ba, Kiros & Hinton 2016) over the last dims.

    Each row of the (R, D) view (D = prod(normalized_shape)) is normalized with
    its own mean and biased variance; weight and bias (D,) act per element.
    Backward, with gh = g * weight:
        dx = inv_std * (gh - mean(gh) - x_hat mean(gh x_hat)),  the means along D.
    """

    def __init__(self, normalized_shape, eps, has_weight, has_bias):
        self.normalized_shape, self.eps = normalized_shape, eps
        self.has_weight, self.has_bias = has_weight, has_bias

    def forward(self, x, *params):
        size = math.prod(self.normalized_shape)
        weight = params[0].reshape(-1) if self.has_weight else None
        bias = params[-1].reshape(-1) if self.has_bias else None
        x2 = x.reshape(-1, size)
        x_hat = x2 - x2.mean(axis=1, keepdims=True)
        var = xp.einsum("rd,rd->r", x_hat, x_hat) / size
        self.inv_std = (1.0 / xp.sqrt(var + self.eps))[:, None]
        x_hat *= self.inv_std
        self.x_hat, self.weight = x_hat, weight
        out = x_hat * weight if weight is not None else x_hat.copy()
        if bias is not None:
            out += bias
        return out.reshape(x.shape)

    def backward(self, g):
        g2 = g.reshape(self.x_hat.shape)
        grads = [None]
        if self.needs_input_grad[0]:
            gh = g2 * self.weight if self.weight is not None else g2
            mean_gh = gh.mean(axis=1, keepdims=True)
            mean_gh_xhat = (xp.einsum("rd,rd->r", gh, self.x_hat) / gh.shape[1])[:, None]
            gx = gh - mean_gh
            gx -= self.x_hat * mean_gh_xhat
            gx *= self.inv_std
            grads[0] = gx.reshape(g.shape)
        param_shape = tuple(self.normalized_shape)
        if self.has_weight:
            grads.append(xp.einsum("rd,rd->d", g2, self.x_hat).reshape(param_shape)
                         if self.needs_input_grad[1] else None)
        if self.has_bias:
            grads.append(g2.sum(axis=0).reshape(param_shape) if self.needs_input_grad[-1] else None)
        return tuple(grads)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalize over the trailing dims ``normalized_shape`` (int or tuple)."""
    input = as_tensor(input, op="layer_norm")
    shape = shape_tuple(normalized_shape, "normalized_shape", "layer_norm")
    check_trailing_shape(input, shape, "layer_norm")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise ValueError(f"layer_norm: {name} of shape {tuple(t.shape)} does not match "
                             f"normalized_shape {shape}")
    fn = LayerNorm(shape, eps, weight is not None, bias is not None)
    return fn(input, *[p for p in (weight, bias) if p is not None])


# --------------------------------------------------------------------------- local response norm


def _channel_window_sum(a, before, after):
    """s[:, c] = a[:, c - before] + ... + a[:, c + after], zero outside the channels.

    A loop over the before + after + 1 offsets of the window (5 for AlexNet),
    each a whole-array add: exact, unlike differences of a cumulative sum.
    """
    channels = a.shape[1]
    padded = xp.zeros((a.shape[0], channels + before + after) + a.shape[2:], dtype=a.dtype)
    padded[:, before:before + channels] = a
    total = padded[:, :channels].copy()
    for offset in range(1, before + after + 1):
        total += padded[:, offset:offset + channels]
    return total


class LocalResponseNorm(Function):
    """AlexNet's "Norm" layer (Krizhevsky et al. 2012, section 3.3), with PyTorch's
    exact formula over (N, C, *) input:

        d_c = k + alpha / size * sum_{j = c - size//2}^{c + (size-1)//2} x_j^2,
        b_c = x_c / d_c^beta,

    channels outside [0, C) counting as 0. Note that alpha is divided by
    ``size`` (PyTorch and Caffe average the squares; the paper sums them).

    Backward: x_j appears in its own output and in every d_c whose window
    holds j, that is c in [j - (size-1)//2, j + size//2] (the mirrored window):
        dx_j = g_j / d_j^beta - 2 alpha beta / size * x_j * sum_c g_c b_c / d_c.
    """

    def __init__(self, size, alpha, beta, k):
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, x):
        before, after = self.size // 2, (self.size - 1) // 2
        window = _channel_window_sum(x * x, before, after)
        self.d = self.k + (self.alpha / self.size) * window
        self.d_pow = self.d ** self.beta
        self.x = x
        self.out = x / self.d_pow
        return self.out

    def backward(self, g):
        before, after = self.size // 2, (self.size - 1) // 2
        mirrored = _channel_window_sum(g * self.out / self.d, after, before)
        gx = g / self.d_pow
        gx -= (2.0 * self.alpha * self.beta / self.size) * self.x * mirrored
        return gx


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """Normalize each value by the energy of ``size`` neighbouring channels (dim 1)."""
    input = as_tensor(input, op="local_response_norm")
    if input.ndim < 3:
        raise ValueError(f"local_response_norm: expected a 3-D or higher input (N, C, *), "
                         f"got shape {input.shape}")
    positive_int(size, "size", "local_response_norm")
    if input.numel() == 0:
        return input
    return LocalResponseNorm(size, alpha, beta, k)(input)
