"""Convolution layers: ``Conv1d/2d/3d`` and ``ConvTranspose1d/2d/3d``.

The rank-specific classes are thin subclasses of one base per kind; the
arithmetic lives in ``striate.functional.conv``, and the checks of arguments
and inputs in ``striate.functional.arguments``, shared with the ops.

Weights (PyTorch's layout, so checkpoints load by name)::

    Conv:          weight (C_out, C_in / groups, *kernel),  bias (C_out,)
    ConvTranspose: weight (C_in, C_out / groups, *kernel),  bias (C_out,)

Default initialization is PyTorch's: ``kaiming_uniform_(weight, a=sqrt(5))``,
i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the bias from the same range,
with fan_in computed from the weight's shape (for a transposed convolution
that is C_out/groups * prod(kernel), as in PyTorch).
"""
from .. import functional as F
from ..functional.arguments import (as_tensor, check_axis_size, check_choice, check_groups,
                                    check_output_padding, check_spatial_input, check_window_fits,
                                    nonnegative_tuple, padding_pairs, positive_int, positive_tuple)
from .linear import add_weight_and_bias, reset_fan_in_uniform
from .module import Module

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """Shared constructor, initialization, input check and repr of all conv layers."""

    nd = None          # number of spatial dimensions, set by the subclasses
    transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                 bias, padding_mode, output_padding=0, dtype=None):
        super().__init__()
        name, nd = type(self).__name__, self.nd
        self.in_channels = positive_int(in_channels, "in_channels", name)
        self.out_channels = positive_int(out_channels, "out_channels", name)
        self.groups = check_groups(groups, self.in_channels, self.out_channels, name)
        self.padding_mode = check_choice(padding_mode, _PADDING_MODES, "padding_mode", name)
        self.kernel_size = positive_tuple(kernel_size, nd, "kernel_size", name)
        self.stride = positive_tuple(stride, nd, "stride", name)
        self.dilation = positive_tuple(dilation, nd, "dilation", name)
        # self.pads: the padding as (before, after) pairs, which 'same' needs
        if self.transposed:
            self.padding = nonnegative_tuple(padding, nd, "padding", name)
            self.pads = tuple((p, p) for p in self.padding)
        else:
            self.pads = padding_pairs(padding, nd, self.kernel_size, self.stride, self.dilation,
                                      name)
            self.padding = padding if isinstance(padding, str) else tuple(b for b, _ in self.pads)
        self.output_padding = nonnegative_tuple(output_padding, nd, "output_padding", name)

        if self.transposed:
            shape = (in_channels, out_channels // groups) + self.kernel_size
        else:
            shape = (out_channels, in_channels // groups) + self.kernel_size
        add_weight_and_bias(self, shape, out_channels, bias, dtype)

    def reset_parameters(self):
        """PyTorch's default: He uniform with a=sqrt(5), bias U(+-1/sqrt(fan_in))."""
        reset_fan_in_uniform(self.weight, self.bias)

    def _check_input(self, input):
        """The checks of the op, quoting this layer: rank, channels, and (for a
        convolution) an input at least as large as the dilated kernel. Returns
        the input as a tensor."""
        nd = self.nd
        input = as_tensor(input, op=type(self).__name__)
        check_spatial_input(input, nd, type(self).__name__)
        name = f"{type(self).__name__}({self.in_channels}, {self.out_channels})"
        check_axis_size(input, -nd - 1, self.in_channels, "channels", name)
        if not self.transposed:
            check_window_fits(input, self.kernel_size, self.pads, self.dilation, name)
        return input

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self.nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self.nd:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self.nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class _Conv(_ConvNd):
    """Cross-correlation (what deep learning calls convolution), any rank."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, dtype=dtype)
        if padding_mode != "zeros":
            # Pad the input explicitly, then convolve without padding (PyTorch does the same).
            # F.pad takes (before, after) pairs starting from the last dimension.
            self._explicit_pad = [p for pair in reversed(self.pads) for p in pair]

    def forward(self, input):
        input = self._check_input(input)
        conv = getattr(F, f"conv{self.nd}d")
        padding = self.padding
        if self.padding_mode != "zeros":
            input = F.pad(input, self._explicit_pad, mode=self.padding_mode)
            padding = 0
        return conv(input, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)


class _ConvTranspose(_ConvNd):
    """Transposed convolution (the gradient of a convolution w.r.t. its input), any rank.

    Output size per dimension: ``(I - 1)*S - 2P + D*(K - 1) + output_padding + 1``.
    Only ``padding_mode='zeros'`` is supported, as in PyTorch.
    """

    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        if padding_mode != "zeros":
            raise ValueError(f"{type(self).__name__}: only padding_mode='zeros' is supported, "
                             f"got {padding_mode!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, output_padding=output_padding, dtype=dtype)
        check_output_padding(self.output_padding, self.stride, self.dilation, type(self).__name__)

    def forward(self, input):
        input = self._check_input(input)
        conv = getattr(F, f"conv_transpose{self.nd}d")
        return conv(input, self.weight, self.bias, self.stride, self.padding,
                    self.output_padding, self.groups, self.dilation)


class Conv1d(_Conv):
    """Input (N, C_in, W) -> (N, C_out, OW); see the module docstring."""
    nd = 1


class Conv2d(_Conv):
    """Input (N, C_in, H, W) -> (N, C_out, OH, OW); see the module docstring."""
    nd = 2


class Conv3d(_Conv):
    """Input (N, C_in, D, H, W) -> (N, C_out, OD, OH, OW); see the module docstring."""
    nd = 3


class ConvTranspose1d(_ConvTranspose):
    nd = 1


class ConvTranspose2d(_ConvTranspose):
    nd = 2


class ConvTranspose3d(_ConvTranspose):
    nd = 3
