"""``Upsample``: resize feature maps (nearest, linear, bilinear, trilinear) through
``striate.functional.interpolate``."""
from .. import functional as F
from ..functional.arguments import check_exactly_one
from .module import Module

__all__ = ["Upsample"]


class Upsample(Module):
    """Give either ``size`` (the output's spatial size) or ``scale_factor``."""

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        check_exactly_one("Upsample", size=size, scale_factor=scale_factor)
        if isinstance(scale_factor, (tuple, list)):
            scale_factor = tuple(float(f) for f in scale_factor)
        elif scale_factor is not None:
            scale_factor = float(scale_factor)
        self.size, self.scale_factor, self.mode = size, scale_factor, mode
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, input):
        return F.interpolate(input, size=self.size, scale_factor=self.scale_factor,
                             mode=self.mode, align_corners=self.align_corners)

    def extra_repr(self):
        what = f"size={self.size}" if self.size is not None else f"scale_factor={self.scale_factor}"
        return f"{what}, mode={self.mode!r}"
