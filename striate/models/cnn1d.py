"""A 1-D convolutional network for signals such as MNIST-1D, in the spirit of
the CNN of Greydanus 2020 ("Scaling down deep learning", the ``ConvBase`` of
the mnist1d repository): three convolutions with stride 2, then a linear
classifier on the flattened maps::

    (N, 1, 40) -> conv 5, stride 2, pad 1 -> (N, 25, 19)
               -> conv 3, stride 2, pad 1 -> (N, 25, 10)
               -> conv 3, stride 2, pad 1 -> (N, 25, 5) -> flatten 125 -> linear -> (N, 10)

Where this differs from the paper's network: ``channels`` sets the width
(25 in the paper, 64 by default here), and batch normalization follows each
convolution (not in the paper; ``batch_norm=False`` leaves it out). Both
make the default training of ``striate train --model cnn1d --dataset
mnist1d`` generalize better than the paper's 25-channel net, which fits the
4,000 training signals perfectly long before its test accuracy stops rising.

Symbols: N batch, C channels, L signal length.
"""
from collections import OrderedDict

from .. import nn
from .registry import register_model


def _conv_length(length, kernel, stride, padding):
    return (length + 2 * padding - kernel) // stride + 1


class CNN1d(nn.Module):
    """``features`` (three Conv1d + ReLU) and ``classifier`` (flatten, linear).

    Input (N, in_channels, length) -> logits (N, num_classes).
    """

    LAYERS = ((5, 2, 1), (3, 2, 1), (3, 2, 1))  # (kernel, stride, padding) of each convolution

    def __init__(self, num_classes=10, in_channels=1, length=40, channels=64, batch_norm=True):
        super().__init__()
        self.input_shape = (in_channels, length)
        layers, previous, size = OrderedDict(), in_channels, length
        for i, (kernel, stride, padding) in enumerate(self.LAYERS, 1):
            size = _conv_length(size, kernel, stride, padding)
            if size < 1:
                raise ValueError(f"CNN1d: a signal of length {length} is too short for its "
                                 f"{len(self.LAYERS)} stride-2 convolutions (conv{i} gives "
                                 f"length {size})")
            layers[f"conv{i}"] = nn.Conv1d(previous, channels, kernel_size=kernel, stride=stride,
                                           padding=padding, bias=not batch_norm)
            if batch_norm:
                layers[f"bn{i}"] = nn.BatchNorm1d(channels)
            layers[f"relu{i}"] = nn.ReLU()
            previous = channels
        self.features = nn.Sequential(layers)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(channels * size, num_classes))

    def forward(self, x):
        if x.ndim != 3:
            raise ValueError(f"CNN1d: expected signals (N, C, L), got shape {tuple(x.shape)}")
        return self.classifier(self.features(x))


@register_model()
def cnn1d(num_classes=10, in_channels=1, length=40, channels=64, batch_norm=True):
    """A 1-D CNN for signals of ``length`` points (MNIST-1D: 40), after
    Greydanus 2020: three stride-2 Conv1d layers and a linear classifier."""
    return CNN1d(num_classes, in_channels, length, channels, batch_norm)
