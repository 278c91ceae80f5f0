"""Pooling layers: ``MaxPool1d/2d/3d``, ``AvgPool1d/2d/3d``, ``AdaptiveAvgPool1d/2d/3d``,
``AdaptiveMaxPool1d/2d``. They hold only their options; the work is done by
``striate.functional.pool``. As in PyTorch, ``stride`` defaults to the kernel
size (non-overlapping windows) and max pooling pads with -inf (an integer
type's minimum for integer input).
"""
from .. import functional as F
from ..functional.arguments import (check_pool_padding, nonnegative_tuple, positive_tuple,
                                    to_tuple)
from .module import Module

__all__ = ["MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
           "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d",
           "AdaptiveMaxPool1d", "AdaptiveMaxPool2d"]


def _refuse_indices(name, return_indices):
    # Indices exist for max-unpooling, which striate does not have (yet): say so up front.
    if return_indices:
        raise NotImplementedError(f"{name}: return_indices=True is not supported")


def _check_window(layer, kernel_size, stride, padding, dilation=1):
    """The layer's options, checked when it is built and quoting its name; they are
    kept as given (PyTorch's repr shows them so), and the op checks them again
    against each input."""
    name, nd = type(layer).__name__, layer.nd
    kernel = positive_tuple(kernel_size, nd, "kernel_size", name)
    positive_tuple(stride, nd, "stride", name)
    check_pool_padding(nonnegative_tuple(padding, nd, "padding", name), kernel, name)
    positive_tuple(dilation, nd, "dilation", name)


class _MaxPoolNd(Module):
    nd = None

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        _refuse_indices(type(self).__name__, return_indices)
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode
        _check_window(self, self.kernel_size, self.stride, padding, dilation)

    def forward(self, input):
        pool = getattr(F, f"max_pool{self.nd}d")
        return pool(input, self.kernel_size, self.stride, self.padding, self.dilation,
                    ceil_mode=self.ceil_mode)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """(N, C, W) -> (N, C, OW): the largest value of each window."""
    nd = 1


class MaxPool2d(_MaxPoolNd):
    """(N, C, H, W) -> (N, C, OH, OW): the largest value of each window."""
    nd = 2


class MaxPool3d(_MaxPoolNd):
    """(N, C, D, H, W) -> (N, C, OD, OH, OW): the largest value of each window."""
    nd = 3


class _AvgPoolNd(Module):
    nd = None

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override
        _check_window(self, self.kernel_size, self.stride, padding)

    def forward(self, input):
        pool = getattr(F, f"avg_pool{self.nd}d")
        kwargs = {} if self.divisor_override is None else {"divisor_override": self.divisor_override}
        return pool(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                    self.count_include_pad, **kwargs)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPoolNd):
    """(N, C, W) -> (N, C, OW): the mean of each window (no ``divisor_override``, as in PyTorch)."""
    nd = 1

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        # PyTorch keeps 1-tuples here (and only here), which its repr shows.
        stride = kernel_size if stride is None else stride
        super().__init__(*(to_tuple(v, 1, arg, "AvgPool1d") for v, arg in
                           ((kernel_size, "kernel_size"), (stride, "stride"), (padding, "padding"))),
                         ceil_mode, count_include_pad)


class AvgPool2d(_AvgPoolNd):
    """(N, C, H, W) -> (N, C, OH, OW): the mean of each window."""
    nd = 2


class AvgPool3d(_AvgPoolNd):
    """(N, C, D, H, W) -> (N, C, OD, OH, OW): the mean of each window."""
    nd = 3


class _AdaptivePoolNd(Module):
    """Pool to a fixed ``output_size`` whatever the input size (window i covers
    ``[floor(i*W/OW), ceil((i+1)*W/OW))``)."""

    nd, kind = None, None

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        return getattr(F, f"adaptive_{self.kind}_pool{self.nd}d")(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptivePoolNd):
    nd, kind = 1, "avg"


class AdaptiveAvgPool2d(_AdaptivePoolNd):
    nd, kind = 2, "avg"


class AdaptiveAvgPool3d(_AdaptivePoolNd):
    nd, kind = 3, "avg"


class _AdaptiveMaxPoolNd(_AdaptivePoolNd):
    kind = "max"

    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size)
        _refuse_indices(type(self).__name__, return_indices)
        self.return_indices = return_indices


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    nd = 1


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    nd = 2
