"""LeNet-5 (LeCun, Bottou, Bengio and Haffner 1998, "Gradient-based learning
applied to document recognition"), the network the notes start from.

    C1 conv 5x5, 6 maps      32x32 -> 28x28x6
    S2 subsampling 2x2               -> 14x14x6
    C3 conv 5x5, 16 maps             -> 10x10x16
    S4 subsampling 2x2               -> 5x5x16
    C5 conv 5x5, 120 maps            -> 1x1x120   (a fully connected layer on 5x5 maps)
    F6 fully connected               -> 84
    output                           -> 10

Two forms: :func:`lenet5_classic`, close to the paper, and :func:`lenet5`, the
modern form of the notes (ReLU, max pooling, 28x28 MNIST input padded by 2 so
that C1 still gives 28x28).
"""
from collections import OrderedDict

from .. import nn
from .registry import register_model


class LeNet5(nn.Module):
    """LeNet-5: ``features`` (C1, S2, C3, S4) and ``classifier`` (C5/F6/output as
    fully connected layers).

    The modern form (``activation=nn.ReLU, pool=nn.MaxPool2d``) is the one in
    the notes. ``input_size`` (28 or 32, or anything between of even difference)
    sets C1's zero padding to ``(32 - input_size) / 2`` so that every later
    layer has the paper's size (28x28 after C1, 5x5x16 before the classifier).

    Input (N, in_channels, input_size, input_size) -> logits (N, num_classes).
    """

    def __init__(self, num_classes=10, in_channels=1, input_size=28,
                 activation=nn.ReLU, pool=nn.MaxPool2d):
        super().__init__()
        padding = 32 - input_size
        if padding < 0 or padding % 2:
            raise ValueError(f"LeNet5: input_size must be at most 32 and differ from 32 by an "
                             f"even number (C1 pads to 32x32), got {input_size}")
        self.input_shape = (in_channels, input_size, input_size)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, kernel_size=5, padding=padding // 2),  # C1
            activation(),
            pool(kernel_size=2, stride=2),                                   # S2
            nn.Conv2d(6, 16, kernel_size=5),                                 # C3
            activation(),
            pool(kernel_size=2, stride=2),                                   # S4
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120),                                      # C5
            activation(),
            nn.Linear(120, 84),                                              # F6
            activation(),
            nn.Linear(84, num_classes),                                      # output
        )

    def forward(self, x):
        return self.classifier(self.features(x))


class LeNet5Classic(nn.Module):
    """LeNet-5 as in the 1998 paper, with the paper's layer names.

    32x32 input, average-pool subsampling, tanh squashing, C5 a 5x5
    convolution giving 1x1x120. Input (N, in_channels, 32, 32) -> (N, num_classes).

    Where this differs from the paper:

    * S2 and S4: the paper multiplies each 2x2 sum by a trainable coefficient
      and adds a trainable bias per map (12 and 32 parameters) before the
      squashing; here it is a plain average pool with no parameters (the
      following convolution can absorb the scale).
    * C3: the paper connects each of the 16 maps to only a subset of S2's
      6 maps (its Table I, 1,516 parameters) to break symmetry and save
      computation; here every map sees all 6 (2,416 parameters).
    * Squashing: the paper uses the scaled tanh ``1.7159 * tanh(2a/3)``; here
      plain ``tanh``.
    * Output: the paper's 10 Euclidean RBF units compare F6 with fixed
      7x12 bitmap codes, trained with a special loss; here a linear layer
      giving logits for cross-entropy.
    * Input: the paper pads the 28x28 MNIST digits to 32x32 in the data; here
      the caller does the same (or uses :func:`lenet5` with ``input_size=28``).
    """

    def __init__(self, num_classes=10, in_channels=1):
        super().__init__()
        self.input_shape = (in_channels, 32, 32)
        self.features = nn.Sequential(OrderedDict([
            ("c1", nn.Conv2d(in_channels, 6, kernel_size=5)),   # 32x32 -> 28x28x6
            ("tanh1", nn.Tanh()),
            ("s2", nn.AvgPool2d(kernel_size=2, stride=2)),      # -> 14x14x6
            ("c3", nn.Conv2d(6, 16, kernel_size=5)),            # -> 10x10x16
            ("tanh3", nn.Tanh()),
            ("s4", nn.AvgPool2d(kernel_size=2, stride=2)),      # -> 5x5x16
            ("c5", nn.Conv2d(16, 120, kernel_size=5)),          # -> 1x1x120
            ("tanh5", nn.Tanh()),
        ]))
        self.classifier = nn.Sequential(OrderedDict([
            ("flatten", nn.Flatten()),                          # -> 120
            ("f6", nn.Linear(120, 84)),                         # -> 84
            ("tanh6", nn.Tanh()),
            ("output", nn.Linear(84, num_classes)),             # -> 10
        ]))

    def forward(self, x):
        return self.classifier(self.features(x))


@register_model()
def lenet5(num_classes=10, in_channels=1, input_size=28):
    """LeNet-5 in the modern form of the notes: ReLU and 2x2 max pooling, for 28x28
    input (C1 pads by 2). Pass ``input_size=32`` for unpadded 32x32 input."""
    return LeNet5(num_classes, in_channels, input_size)


@register_model()
def lenet5_classic(num_classes=10, in_channels=1):
    """LeNet-5 close to LeCun et al. 1998 (32x32 input, tanh, average-pool
    subsampling, C5 as a convolution); see :class:`LeNet5Classic` for where it
    differs from the paper."""
    return LeNet5Classic(num_classes, in_channels)
