"""Convolution layers: ``Conv1d/2d/3d`` and ``ConvTranspose1d/2d/3d``.

The rank-specific classes are thin subclasses of one base per kind (Keras'
lesson); the arithmetic lives in ``striate.functional.conv``.

Weights (PyTorch's layout, so checkpoints load by name)::

    Conv:          weight (C_out, C_in / groups, *kernel),  bias (C_out,)
    ConvTranspose: weight (C_in, C_out / groups, *kernel),  bias (C_out,)

Default initialization is PyTorch's: ``kaiming_uniform_(weight, a=sqrt(5))``,
i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the bias from the same range,
with fan_in computed from the weight's shape (for a transposed convolution
that is C_out/groups * prod(kernel), as in PyTorch).
"""
from .. import functional as F
from ..functional.windows import to_tuple
from .linear import add_weight_and_bias, reset_fan_in_uniform
from .module import Module

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _spatial(nd):
    return ", ".join("DHW"[3 - nd:])


class _ConvNd(Module):
    """Shared constructor, initialization, input check and repr of all conv layers."""

    nd = None          # number of spatial dimensions, set by the subclasses
    transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                 bias, padding_mode, output_padding=0, dtype=None):
        super().__init__()
        name, nd = type(self).__name__, self.nd
        for arg, value in (("in_channels", in_channels), ("out_channels", out_channels),
                           ("groups", groups)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name}: {arg} must be a positive int, got {value!r}")
        if in_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) must be divisible by "
                             f"groups ({groups})")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels ({out_channels}) must be divisible by "
                             f"groups ({groups})")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {_PADDING_MODES}, "
                             f"got {padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = to_tuple(kernel_size, nd, "kernel_size", name)
        self.stride = to_tuple(stride, nd, "stride", name)
        self.dilation = to_tuple(dilation, nd, "dilation", name)
        for arg in ("kernel_size", "stride", "dilation"):
            if any(v <= 0 for v in getattr(self, arg)):
                raise ValueError(f"{name}: {arg} must be positive, got {getattr(self, arg)}")
        if isinstance(padding, str):
            if self.transposed or padding not in ("same", "valid"):
                allowed = "an int or a tuple" if self.transposed else "an int, a tuple, 'same' or 'valid'"
                raise ValueError(f"{name}: padding must be {allowed}, got {padding!r}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' needs stride 1, got stride={self.stride}")
            self.padding = padding
        else:
            self.padding = to_tuple(padding, nd, "padding", name)
            if any(p < 0 for p in self.padding):
                raise ValueError(f"{name}: padding must be non-negative, got {self.padding}")
        self.output_padding = to_tuple(output_padding, nd, "output_padding", name)
        self.padding_mode = padding_mode

        if self.transposed:
            shape = (in_channels, out_channels // groups) + self.kernel_size
        else:
            shape = (out_channels, in_channels // groups) + self.kernel_size
        add_weight_and_bias(self, shape, out_channels, bias, dtype)

    def reset_parameters(self):
        """PyTorch's default: He uniform with a=sqrt(5), bias U(+-1/sqrt(fan_in))."""
        reset_fan_in_uniform(self.weight, self.bias)

    def _check_input(self, input):
        """Quote the layer and the shapes when the input does not fit."""
        nd, name = self.nd, type(self).__name__
        shape = tuple(input.shape)
        if len(shape) not in (nd + 1, nd + 2):
            raise ValueError(f"{name}: expected a {nd + 2}-d input (N, C, {_spatial(nd)}) or a "
                             f"{nd + 1}-d unbatched one (C, {_spatial(nd)}), got shape {shape}")
        channels = shape[-nd - 1]
        if channels != self.in_channels:
            raise ValueError(f"{name}({self.in_channels}, {self.out_channels}): expected an input "
                             f"with {self.in_channels} channels, got shape {shape} "
                             f"({channels} channels)")

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
            if self.padding == "valid":
                pairs = [(0, 0)] * self.nd
            elif self.padding == "same":
                totals = [d * (k - 1) for k, d in zip(self.kernel_size, self.dilation)]
                pairs = [(t // 2, t - t // 2) for t in totals]
            else:
                pairs = [(p, p) for p in self.padding]
            self._explicit_pad = [p for pair in reversed(pairs) for p in pair]

    def forward(self, input):
        self._check_input(input)
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
        for o, s, d in zip(self.output_padding, self.stride, self.dilation):
            if o < 0 or o >= max(s, d):
                raise ValueError(f"{type(self).__name__}: output_padding {self.output_padding} "
                                 f"must be smaller than stride {self.stride} or dilation "
                                 f"{self.dilation}")

    def forward(self, input):
        self._check_input(input)
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
