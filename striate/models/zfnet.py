"""ZFNet (Zeiler and Fergus 2013, "Visualizing and understanding convolutional
networks"), winner of ILSVRC 2013: AlexNet with a smaller, denser first layer,
chosen after the authors' deconvnet visualizations showed AlexNet's 11x11/4
filters aliasing and many of them dead.

Their Figure 3, 224x224x3 input::

    conv1 7x7/2, 96      -> 110x110x96   max-pool 3x3/2 -> 55x55x96, contrast norm
    conv2 5x5/2, 256     -> 26x26x256    max-pool 3x3/2 -> 13x13x256, contrast norm
    conv3 3x3/1, 384     -> 13x13x384
    conv4 3x3/1, 384     -> 13x13x384
    conv5 3x3/1, 256     -> 13x13x256    max-pool 3x3/2 -> 6x6x256
    fc6 4096, fc7 4096, fc8 num_classes  (dropout 0.5 before fc6 and fc7)
"""
import functools

from .. import nn
from .alexnet import classifier_head, conv3_to_conv5, paper_lrn
from .common import scale_width
from .registry import register_model


class ZFNet(nn.Module):
    """ZFNet: ``features`` then ``classifier``.

    Input (N, in_channels, 224, 224) -> (N, num_classes).

    Where this differs from the paper: the paper gives no paddings; the ones
    here (1 for conv1 and the first two pools, 1 for conv3-5) are those that
    reproduce its feature-map sizes (110, 55, 26, 13, 13, 6). Its "contrast
    normalization across feature maps" is AlexNet's local response
    normalization (the same constants). The paper used a single GPU, so no
    grouped convolutions. ``width`` (not in the paper) scales every layer.
    """

    def __init__(self, num_classes=1000, in_channels=3, dropout=0.5, width=1.0):
        super().__init__()
        c = functools.partial(scale_width, width=width)
        self.input_shape = (in_channels, 224, 224)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c(96), kernel_size=7, stride=2, padding=1),  # -> 110x110x96
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),                   # -> 55x55x96
            paper_lrn(),
            nn.Conv2d(c(96), c(256), kernel_size=5, stride=2),                  # -> 26x26x256
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),                   # -> 13x13x256
            paper_lrn(),
            *conv3_to_conv5(c),                                                 # -> 6x6x256
        )
        self.classifier = classifier_head(c(256) * 6 * 6, c(4096), num_classes, dropout)

    def forward(self, x):
        return self.classifier(self.features(x))


@register_model()
def zfnet(num_classes=1000, in_channels=3, dropout=0.5, width=1.0):
    """ZFNet (Zeiler and Fergus 2013) for 224x224 input."""
    return ZFNet(num_classes, in_channels, dropout, width)
