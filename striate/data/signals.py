"""Batch transforms for 1-D signals ``(N, C, L)``: the counterpart of
:mod:`striate.data.transforms` (whose image transforms act on the last two
axes) for sequences such as MNIST-1D.

Symbols: N batch, C channels, L length.
"""
from .transforms import Compose, ToFloat, Transform, normalize

__all__ = ["NormalizeSignals", "signal_transform"]


class NormalizeSignals(Transform):
    """Per-channel ``(x - mean[c]) / std[c]`` on float signals (N, C, L)."""

    def __init__(self, mean, std):
        self.mean, self.std = mean, std

    def __call__(self, signals):
        if getattr(signals, "ndim", 0) != 3:
            raise ValueError(f"NormalizeSignals: expected signals (N, C, L), got shape "
                             f"{getattr(signals, 'shape', type(signals).__name__)}")
        # A signal is an image one pixel wide: the image normalization's checks apply.
        return normalize(signals[..., None], self.mean, self.std)[..., 0]


def signal_transform(normalization, augment, size, native_size):
    """The batch transform for 1-D data: scale to float, normalize per channel.
    Signals are not resized or augmented: ``size`` must equal ``native_size``
    and ``augment`` be None/False."""
    if tuple(size) != tuple(native_size):
        raise ValueError(f"1-D signals of length {native_size[0]} cannot be resized to {size}; "
                         "leave out --image-size")
    if augment:
        raise ValueError(f"augmentation {augment!r} is for images; 1-D signals take none "
                         "(pass --no-augment)")
    return Compose([ToFloat(), NormalizeSignals(normalization["mean"], normalization["std"])])
