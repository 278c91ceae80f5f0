"""AlexNet (Krizhevsky, Sutskever and Hinton 2012, "ImageNet classification with
deep convolutional neural networks"), winner of ILSVRC 2012.

Two forms:

* :func:`alexnet_original`: the paper's network as the notes tabulate it
  ("AlexNet single GPU equivalent"), 227x227x3 input::

      conv1 11x11/4, 96     -> 55x55x96     (11*11*3+1)*96   =    34,944
      max-pool 3x3/2        -> 27x27x96
      conv2 5x5 pad 2, 256  -> 27x27x256    (5*5*96+1)*256   =   614,656
      max-pool 3x3/2        -> 13x13x256
      conv3 3x3 pad 1, 384  -> 13x13x384    (3*3*256+1)*384  =   885,120
      conv4 3x3 pad 1, 384  -> 13x13x384    (3*3*384+1)*384  = 1,327,488
      conv5 3x3 pad 1, 256  -> 13x13x256    (3*3*384+1)*256  =   884,992
      max-pool 3x3/2        -> 6x6x256
      fc6 4096, fc7 4096, fc8 1000 (dropout 0.5 before fc6 and fc7)

  ``input_size=224`` gives the other table of the notes, for the paper's
  stated 224x224 input, where every division rounds down:
  (224 - 11)/4 + 1 = 54.25 -> 54x54x96, 26x26x96, 26x26x256, 12x12x256,
  12x12x384, 12x12x384, 12x12x256, 5x5x256 (fc6 then sees 6,400 inputs, not 9,216).

* :func:`alexnet`: torchvision's single-stream variant (from Krizhevsky's 2014
  "One weird trick" paper: 64/192/384/256/256 filters, no normalization, an
  adaptive 6x6 pool before the classifier), whose ``state_dict`` matches
  torchvision's key for key.
"""
import functools

from .. import nn
from .common import scale_width
from .registry import register_model


class AlexNet(nn.Module):
    """torchvision's AlexNet: ``features``, ``avgpool`` (adaptive 6x6), ``classifier``.

    Input (N, in_channels, 224, 224) (any size from 63x63 up) -> (N, num_classes).
    ``width`` scales every layer (convolutions and the 4096-unit layers).
    """

    def __init__(self, num_classes=1000, in_channels=3, dropout=0.5, width=1.0):
        super().__init__()
        c = functools.partial(scale_width, width=width)
        self.input_shape = (in_channels, 224, 224)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c(64), kernel_size=11, stride=4, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(c(64), c(192), kernel_size=5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(c(192), c(384), kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(c(384), c(256), kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(c(256), c(256), kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = classifier_head(c(256) * 6 * 6, c(4096), num_classes, dropout)

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(x.flatten(1))


class AlexNetOriginal(nn.Module):
    """The 2012 paper's AlexNet on one GPU: ``features`` then ``classifier``.

    Input (N, in_channels, 227, 227) -> (N, num_classes).

    Where this differs from the paper (or the notes):

    * Input 227x227 by default: the paper says 224, but (224 - 11)/4 + 1 is
      not an integer; 227 gives the paper's 55x55 maps (the notes' arithmetic).
      ``input_size=224`` builds the notes' other table (54x54x96 ... 5x5x256,
      each size rounded down), with fc6 on 5*5*256 inputs.
    * ``groups=1`` (default) is the notes' "single GPU equivalent". The paper
      split the network over two GPUs, and conv2, conv4 and conv5 saw only
      the maps on their own GPU: ``groups=2`` reproduces that (fewer
      parameters: 2,334,080 in the convolutions instead of 3,747,200).
    * ``width`` (not in the paper) scales every layer, for cheap experiments.
    * Local response normalization: the paper's ``k=2, n=5, alpha=1e-4,
      beta=0.75`` with ``b = a / (k + alpha * sum a^2)^beta``. PyTorch's (and
      our) ``LocalResponseNorm`` divides alpha by n, so it gets ``alpha=5e-4``.
      As in the paper, it follows the ReLU of conv1 and conv2 and precedes the
      pooling; the notes' table lists the pooling first (same shapes).
    * fc8 gives logits (the paper's softmax is in the loss), and the table's
      parameter counts leave out the fully connected biases (62,369,152 in the
      notes; 62,378,344 with them).
    """

    def __init__(self, num_classes=1000, in_channels=3, dropout=0.5, groups=1, width=1.0,
                 input_size=227):
        super().__init__()
        if input_size not in (224, 227):
            raise ValueError(f"AlexNetOriginal: input_size must be 227 (the paper's maps) or 224 "
                             f"(the paper's stated input, the notes' 54x54 table), got "
                             f"{input_size!r}")

        def c(channels):  # scaled, and still divisible by the groups
            return groups * scale_width(channels // groups, width)

        self.input_shape = (in_channels, input_size, input_size)
        last = 6 if input_size == 227 else 5
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c(96), kernel_size=11, stride=4),            # conv1 -> 55x55x96
            nn.ReLU(),
            paper_lrn(),
            nn.MaxPool2d(kernel_size=3, stride=2),                              # -> 27x27x96
            nn.Conv2d(c(96), c(256), kernel_size=5, padding=2, groups=groups),  # conv2 -> 27x27x256
            nn.ReLU(),
            paper_lrn(),
            nn.MaxPool2d(kernel_size=3, stride=2),                              # -> 13x13x256
            *conv3_to_conv5(c, groups),                                         # -> 6x6x256
        )
        self.classifier = classifier_head(c(256) * last * last, c(4096), num_classes, dropout)

    def forward(self, x):
        return self.classifier(self.features(x))


def conv3_to_conv5(c, groups=1):
    """conv3-conv5 of the 2012 paper (kept by ZFNet) on 13x13 maps, then the last
    pool and a flatten: 13x13x256 -> 13x13x384 -> 13x13x384 -> 13x13x256 -> 9216.
    ``c`` scales a channel count; ``groups=2`` splits conv4 and conv5 over two GPUs."""
    return [
        nn.Conv2d(c(256), c(384), kernel_size=3, padding=1),                  # conv3
        nn.ReLU(),
        nn.Conv2d(c(384), c(384), kernel_size=3, padding=1, groups=groups),   # conv4
        nn.ReLU(),
        nn.Conv2d(c(384), c(256), kernel_size=3, padding=1, groups=groups),   # conv5
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),                                # -> 6x6x256
        nn.Flatten(),
    ]


def paper_lrn():
    """The 2012 paper's local response normalization (see AlexNetOriginal)."""
    return nn.LocalResponseNorm(size=5, alpha=5e-4, beta=0.75, k=2.0)


def classifier_head(in_features, hidden, num_classes, dropout):
    """AlexNet's (and ZFNet's) three fully connected layers, dropout before the first two."""
    return nn.Sequential(
        nn.Dropout(p=dropout),
        nn.Linear(in_features, hidden),        # fc6
        nn.ReLU(),
        nn.Dropout(p=dropout),
        nn.Linear(hidden, hidden),             # fc7
        nn.ReLU(),
        nn.Linear(hidden, num_classes),        # fc8
    )


@register_model()
def alexnet(num_classes=1000, in_channels=3, dropout=0.5, width=1.0):
    """torchvision's AlexNet (61,100,840 parameters for 1000 classes)."""
    return AlexNet(num_classes, in_channels, dropout, width)


@register_model()
def alexnet_original(num_classes=1000, in_channels=3, dropout=0.5, groups=1, width=1.0,
                     input_size=227):
    """The 2012 paper's AlexNet, 227x227 input, as in the notes' table
    (``groups=2``: the paper's two-GPU connectivity; ``input_size=224``: the
    notes' other table, 54x54x96 ... 5x5x256)."""
    return AlexNetOriginal(num_classes, in_channels, dropout, groups, width, input_size)
