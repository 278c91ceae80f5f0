"""Weight initialization schemes, with PyTorch's names and semantics.

Every function fills ``tensor.data`` in place (keeping its dtype), draws from
striate's one seeded generator (``striate.manual_seed`` makes a model
reproducible) and returns the tensor. The values differ from PyTorch's for the
same seed (a different generator); the distributions are the same.

Fans (for a weight of shape ``(out, in, *kernel)``, RF = prod(kernel))::

    fan_in  = in  * RF      (inputs that feed one output unit)
    fan_out = out * RF      (outputs that one input unit feeds)

He et al. 2015 ("Delving deep into rectifiers"): std = gain / sqrt(fan) keeps
the variance of activations (fan_in) or of gradients (fan_out) constant
through a ReLU network. Glorot & Bengio 2010: std = gain * sqrt(2 / (fan_in +
fan_out)) balances both.
"""
import math

from .. import random
from ..functional.arguments import as_array
from ..backend import xp

__all__ = ["calculate_gain", "calculate_fan_in_and_fan_out", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_",
           "zeros_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
           "kaiming_normal_"]


def _fill(tensor, values):
    """Write ``values`` into the tensor's array in place, in the tensor's dtype."""
    array = as_array(tensor)
    array[...] = xp.asarray(values).astype(array.dtype, copy=False)
    return tensor


def _shape(tensor):
    return tuple(tensor.shape)


def calculate_gain(nonlinearity, param=None):
    """The gain that keeps activations' variance after ``nonlinearity``:
    1 for linear/conv/sigmoid, 5/3 for tanh, sqrt(2) for ReLU,
    sqrt(2 / (1 + slope^2)) for leaky ReLU (slope ``param``, default 0.01), 3/4 for SELU."""
    linear = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d", "sigmoid"]
    if nonlinearity in linear:
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def calculate_fan_in_and_fan_out(tensor):
    """``(fan_in, fan_out)`` of a weight of shape ``(out, in, *kernel)`` (see the module docstring)."""
    shape = _shape(tensor)
    if len(shape) < 2:
        raise ValueError("Fan in and fan out can not be computed for a tensor with fewer than 2 "
                         f"dimensions (got shape {shape})")
    receptive_field = math.prod(shape[2:])
    return shape[1] * receptive_field, shape[0] * receptive_field


_calculate_fan_in_and_fan_out = calculate_fan_in_and_fan_out  # PyTorch's (private) name


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode {mode!r} is not supported, use 'fan_in' or 'fan_out'")
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor, a=0.0, b=1.0):
    """Fill with U(a, b)."""
    return _fill(tensor, random.generator().uniform(a, b, _shape(tensor)))


def normal_(tensor, mean=0.0, std=1.0):
    """Fill with N(mean, std^2)."""
    return _fill(tensor, random.generator().normal(mean, std, _shape(tensor)))


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0):
    """Fill with N(mean, std^2) restricted to [a, b] (``a``, ``b`` are absolute bounds).

    Differs from PyTorch in method, not distribution: we redraw values that
    fall outside [a, b] (rejection sampling) where PyTorch inverts the CDF.
    """
    if not a < b:
        raise ValueError(f"trunc_normal_: need a < b, got a={a}, b={b}")
    rng = random.generator()
    values = rng.normal(mean, std, _shape(tensor))
    outside = (values < a) | (values > b)
    for _ in range(1000):  # each round keeps the fraction inside [a, b]; a few rounds suffice
        count = int(outside.sum())
        if count == 0:
            break
        values[outside] = rng.normal(mean, std, count)
        outside = (values < a) | (values > b)
    values = xp.clip(values, a, b)  # only matters for an interval far out in a tail
    return _fill(tensor, values)


def constant_(tensor, val):
    return _fill(tensor, xp.full(_shape(tensor), val))


def ones_(tensor):
    return constant_(tensor, 1.0)


def zeros_(tensor):
    return constant_(tensor, 0.0)


def xavier_uniform_(tensor, gain=1.0):
    """Glorot uniform: U(-bound, bound), bound = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std  # U(-b, b) has std b / sqrt(3)
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor, gain=1.0):
    """Glorot normal: N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std)


def _kaiming_std(tensor, a, mode, nonlinearity):
    if 0 in _shape(tensor):
        return None
    fan = _calculate_correct_fan(tensor, mode)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    """He uniform: U(-bound, bound), bound = gain * sqrt(3 / fan).

    ``a`` is the negative slope of the leaky ReLU that follows. PyTorch's
    conv and linear layers use ``a=sqrt(5)``, which gives bound = 1/sqrt(fan_in).
    """
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:  # an empty tensor: nothing to fill
        return tensor
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    """He normal: N(0, std^2), std = gain / sqrt(fan)."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    return normal_(tensor, 0.0, std)
