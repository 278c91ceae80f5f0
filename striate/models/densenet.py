"""DenseNet (Huang, Liu, van der Maaten and Weinberger 2017, "Densely connected
convolutional networks").

Inside a dense block every layer receives the concatenation of all earlier
feature maps of the block and adds ``growth_rate`` new ones, so features are
reused instead of relearned and the layers can be narrow. Each layer is
"DenseNet-BC": batch norm -> ReLU -> 1x1 conv (``bn_size * growth_rate``
channels, the bottleneck) -> batch norm -> ReLU -> 3x3 conv (``growth_rate``).
Between blocks, a transition (batch norm, ReLU, 1x1 conv halving the channels,
2x2 average pool) shrinks the maps.

Layout, ``state_dict`` names and initialization are torchvision's
(``features.denseblock2.denselayer3.conv1.weight``, ``features.transition1.norm.bias``, ...).
"""
from collections import OrderedDict

from .. import functional as F
from .. import nn
from ..nn import init
from .common import he_init, scale_width
from .registry import register_model


class DenseLayer(nn.Module):
    """BN-ReLU-Conv1x1-BN-ReLU-Conv3x3 on the concatenated earlier features.

    Input: a list of tensors (N, C_i, H, W) with sum C_i = ``in_channels``
    (or one tensor); output (N, growth_rate, H, W).
    """

    def __init__(self, in_channels, growth_rate, bn_size, drop_rate):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(in_channels)
        self.relu1 = nn.ReLU()
        self.conv1 = nn.Conv2d(in_channels, bn_size * growth_rate, kernel_size=1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
        self.relu2 = nn.ReLU()
        self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, kernel_size=3, padding=1,
                               bias=False)
        self.dropout = nn.Dropout(p=drop_rate) if drop_rate > 0 else None

    def forward(self, features):
        x = F.cat(features, 1) if isinstance(features, (list, tuple)) else features
        x = self.conv1(self.relu1(self.norm1(x)))
        x = self.conv2(self.relu2(self.norm2(x)))
        return x if self.dropout is None else self.dropout(x)


class DenseBlock(nn.ModuleDict):
    """``num_layers`` dense layers named ``denselayer1``, ...:
    (N, in_channels, H, W) -> (N, in_channels + num_layers * growth_rate, H, W)."""

    def __init__(self, num_layers, in_channels, growth_rate, bn_size, drop_rate):
        super().__init__()
        for i in range(num_layers):
            layer = DenseLayer(in_channels + i * growth_rate, growth_rate, bn_size, drop_rate)
            self.add_module(f"denselayer{i + 1}", layer)

    def forward(self, x):
        features = [x]
        for layer in self.values():
            features.append(layer(features))
        return F.cat(features, 1)


class Transition(nn.Sequential):
    """BN -> ReLU -> 1x1 conv -> 2x2 average pool: (N, C, H, W) -> (N, out_channels, H/2, W/2)."""

    def __init__(self, in_channels, out_channels):
        super().__init__(OrderedDict([
            ("norm", nn.BatchNorm2d(in_channels)),
            ("relu", nn.ReLU()),
            ("conv", nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False)),
            ("pool", nn.AvgPool2d(kernel_size=2, stride=2)),
        ]))


class DenseNet(nn.Module):
    """``features`` (stem, dense blocks and transitions, ``norm5``) -> ReLU ->
    global average pool -> ``classifier``.

    Input (N, in_channels, 224, 224) -> (N, num_classes). ``small_input=True``
    makes ``conv0`` a 3x3 stride-1 convolution and ``pool0`` an identity (the
    paper's own CIFAR networks use a 3x3 stem without pooling, but three
    blocks); ``width`` scales the growth rate and the stem's channels.

    Where this differs from the paper: nothing for the ImageNet networks
    (DenseNet-BC, compression 0.5); torchvision's initialization.
    """

    def __init__(self, growth_rate=32, block_config=(6, 12, 24, 16), num_init_features=64,
                 bn_size=4, drop_rate=0.0, num_classes=1000, in_channels=3, small_input=False):
        super().__init__()
        size = 32 if small_input else 224
        self.input_shape = (in_channels, size, size)
        stem = dict(kernel_size=3, stride=1, padding=1) if small_input else \
            dict(kernel_size=7, stride=2, padding=3)
        self.features = nn.Sequential(OrderedDict([
            ("conv0", nn.Conv2d(in_channels, num_init_features, bias=False, **stem)),
            ("norm0", nn.BatchNorm2d(num_init_features)),
            ("relu0", nn.ReLU()),
            ("pool0", nn.Identity() if small_input else
             nn.MaxPool2d(kernel_size=3, stride=2, padding=1)),
        ]))
        channels = num_init_features
        for i, num_layers in enumerate(block_config):
            block = DenseBlock(num_layers, channels, growth_rate, bn_size, drop_rate)
            self.features.add_module(f"denseblock{i + 1}", block)
            channels += num_layers * growth_rate
            if i != len(block_config) - 1:
                self.features.add_module(f"transition{i + 1}", Transition(channels, channels // 2))
                channels //= 2
        self.features.add_module("norm5", nn.BatchNorm2d(channels))
        self.relu = nn.ReLU()
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.classifier = nn.Linear(channels, num_classes)
        self.reset_parameters()

    def reset_parameters(self):
        """torchvision's initialization: He normal (fan in) convolutions, identity
        batch norms, zero classifier bias."""
        he_init(self, mode="fan_in")
        init.zeros_(self.classifier.bias)

    def forward(self, x):
        x = self.avgpool(self.relu(self.features(x)))
        return self.classifier(x.flatten(1))


def _densenet(growth_rate, block_config, num_init_features, num_classes=1000, in_channels=3,
              width=1.0, small_input=False, drop_rate=0.0, bn_size=4):
    """The one builder behind the three public factories."""
    return DenseNet(scale_width(growth_rate, width), block_config,
                    scale_width(num_init_features, width), bn_size, drop_rate, num_classes,
                    in_channels, small_input)


# The public factories: ``width`` scales the growth rate and the stem, ``small_input``
# gives the 3x3 stride-1 stem without max-pool, ``drop_rate`` is the dropout after
# each dense layer, ``bn_size`` the bottleneck's multiple of the growth rate.


@register_model()
def densenet121(num_classes=1000, in_channels=3, width=1.0, small_input=False, drop_rate=0.0,
                bn_size=4):
    """DenseNet-121: growth 32, blocks of 6, 12, 24, 16 layers; 7,978,856 parameters."""
    return _densenet(32, (6, 12, 24, 16), 64, num_classes, in_channels, width, small_input,
                     drop_rate, bn_size)


@register_model()
def densenet169(num_classes=1000, in_channels=3, width=1.0, small_input=False, drop_rate=0.0,
                bn_size=4):
    """DenseNet-169: growth 32, blocks of 6, 12, 32, 32 layers."""
    return _densenet(32, (6, 12, 32, 32), 64, num_classes, in_channels, width, small_input,
                     drop_rate, bn_size)


@register_model()
def densenet201(num_classes=1000, in_channels=3, width=1.0, small_input=False, drop_rate=0.0,
                bn_size=4):
    """DenseNet-201: growth 32, blocks of 6, 12, 48, 32 layers."""
    return _densenet(32, (6, 12, 48, 32), 64, num_classes, in_channels, width, small_input,
                     drop_rate, bn_size)
