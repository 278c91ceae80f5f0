"""``Linear`` (fully connected) and ``Flatten``, the bridge from feature maps to it.

Linear: input (*, in_features) -> (*, out_features), y = x W^T + b with
weight (out_features, in_features) as in PyTorch. Default initialization is
PyTorch's: ``kaiming_uniform_(weight, a=sqrt(5))`` = U(+-1/sqrt(in_features)),
bias from the same range.
"""
import math

from .. import backend
from .. import functional as F
from ..backend import xp
from ..functional.arguments import as_tensor, check_features, nonnegative_int
from . import init
from .module import Module, Parameter

__all__ = ["Linear", "Flatten"]


def add_weight_and_bias(module, weight_shape, bias_size, bias, dtype):
    """Register ``weight`` and ``bias`` (of ``bias_size``, or a None placeholder when
    ``bias`` is False), then initialize them with the module's ``reset_parameters``."""
    dtype = backend.default_float if dtype is None else dtype
    module.weight = Parameter(xp.empty(weight_shape, dtype=dtype))
    module.register_parameter("bias", Parameter(xp.empty((bias_size,), dtype=dtype))
                              if bias else None)
    module.reset_parameters()


def reset_fan_in_uniform(weight, bias):
    """PyTorch's default for linear and conv layers: ``kaiming_uniform_(a=sqrt(5))``,
    which is U(+-1/sqrt(fan_in)), and the bias from the same range."""
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = init.calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        init.uniform_(bias, -bound, bound)


class Linear(Module):
    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features = nonnegative_int(in_features, "in_features", "Linear")
        self.out_features = nonnegative_int(out_features, "out_features", "Linear")
        add_weight_and_bias(self, (out_features, in_features), out_features, bias, dtype)

    def reset_parameters(self):
        reset_fan_in_uniform(self.weight, self.bias)

    def forward(self, input):
        name = f"Linear({self.in_features}, {self.out_features})"
        input = as_tensor(input, op=name)
        check_features(input, self.in_features, name)
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Flatten(Module):
    """Merge dimensions ``start_dim`` .. ``end_dim`` (default: all but the batch)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):
        return F.flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
