"""ResNet (He, Zhang, Ren and Sun 2015, "Deep residual learning for image
recognition"), winner of ILSVRC 2015.

Each block learns a residual F(x) and outputs ``relu(F(x) + shortcut(x))``; the
identity shortcut lets gradients pass straight through, so 152 layers still
train. ResNet-18/34 stack ``BasicBlock`` (two 3x3 convolutions), ResNet-50/101/152
``Bottleneck`` (1x1 reduce, 3x3, 1x1 expand by ``expansion = 4``). The stem
(7x7/2 convolution, 3x3/2 max-pool) is followed by four stages of blocks at
64, 128, 256, 512 channels, each but the first halving the resolution in
its first block, then global average pooling and one fully connected layer.

Layout, ``state_dict`` names and initialization are torchvision's
(``layer1.0.conv1.weight``, ``layer2.0.downsample.1.running_var``, ...).
"""
from .. import nn
from ..nn import init
from .common import he_init, scale_width
from .registry import register_model


def conv3x3(in_channels, out_channels, stride=1, groups=1, dilation=1):
    """3x3 convolution with padding (no bias: a batch norm follows)."""
    return nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=dilation,
                     groups=groups, dilation=dilation, bias=False)


def conv1x1(in_channels, out_channels, stride=1):
    """1x1 convolution (no bias)."""
    return nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a shortcut: (N, C_in, H, W) -> (N, planes, H/stride, W/stride)."""

    expansion = 1

    def __init__(self, in_channels, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(in_channels, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 reduce -> 3x3 -> 1x1 expand, with a shortcut:
    (N, C_in, H, W) -> (N, 4 * planes, H/stride, W/stride).

    The stride sits on the 3x3 convolution, as in torchvision ("ResNet v1.5");
    the paper puts it on the first 1x1, which skips three quarters of the
    input and is slightly less accurate.
    """

    expansion = 4

    def __init__(self, in_channels, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv1x1(in_channels, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU()
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """Stem -> ``layer1``..``layer4`` -> global average pool -> ``fc``.

    Input (N, in_channels, 224, 224) -> (N, num_classes).

    ``small_input=True`` (for 28x28 and 32x32 images, as in the paper's own
    CIFAR experiments) makes ``conv1`` a 3x3 stride-1 convolution and
    ``maxpool`` an identity, so the image is downsampled only by the stages.
    ``width`` scales every layer's channels (0.25: 16, 32, 64, 128 planes).

    Where this differs from the paper: the stride of ``Bottleneck`` (see
    there); shortcuts that change shape are 1x1 convolutions with batch
    norm (the paper's option B); the paper's CIFAR networks (ResNet-20/32/...,
    three stages of 16/32/64 channels) are not these small-input variants.
    """

    def __init__(self, block, layers, num_classes=1000, in_channels=3, width=1.0,
                 small_input=False, zero_init_residual=False):
        super().__init__()
        self.inplanes = scale_width(64, width)  # channels entering the next block
        size = 32 if small_input else 224
        self.input_shape = (in_channels, size, size)
        stem = dict(kernel_size=3, stride=1, padding=1) if small_input else \
            dict(kernel_size=7, stride=2, padding=3)
        self.conv1 = nn.Conv2d(in_channels, self.inplanes, bias=False, **stem)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU()
        self.maxpool = nn.Identity() if small_input else \
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, scale_width(64, width), layers[0])
        self.layer2 = self._make_layer(block, scale_width(128, width), layers[1], stride=2)
        self.layer3 = self._make_layer(block, scale_width(256, width), layers[2], stride=2)
        self.layer4 = self._make_layer(block, scale_width(512, width), layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(scale_width(512, width) * block.expansion, num_classes)
        self.reset_parameters(zero_init_residual)

    def _make_layer(self, block, planes, blocks, stride=1):
        """One stage: ``blocks`` blocks, the first one changing stride and width."""
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes * block.expansion, stride),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def reset_parameters(self, zero_init_residual=False):
        """torchvision's initialization (:func:`he_init`); ``zero_init_residual``
        zeroes each block's last batch-norm scale, so that every block starts as
        the identity (Goyal et al. 2017)."""
        he_init(self, mode="fan_out")
        if zero_init_residual:
            for module in self.modules():
                if isinstance(module, Bottleneck):
                    init.zeros_(module.bn3.weight)
                elif isinstance(module, BasicBlock):
                    init.zeros_(module.bn2.weight)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


# The public factories: ``width`` multiplies every layer's channels, ``small_input``
# gives the 3x3 stride-1 stem without max-pool, ``zero_init_residual`` starts
# every block as the identity (see :class:`ResNet`).


@register_model()
def resnet18(num_classes=1000, in_channels=3, width=1.0, small_input=False,
             zero_init_residual=False):
    """ResNet-18: BasicBlock x [2, 2, 2, 2]; 11,689,512 parameters for 1000 classes."""
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes, in_channels, width, small_input,
                  zero_init_residual)


@register_model()
def resnet34(num_classes=1000, in_channels=3, width=1.0, small_input=False,
             zero_init_residual=False):
    """ResNet-34: BasicBlock x [3, 4, 6, 3]."""
    return ResNet(BasicBlock, [3, 4, 6, 3], num_classes, in_channels, width, small_input,
                  zero_init_residual)


@register_model()
def resnet50(num_classes=1000, in_channels=3, width=1.0, small_input=False,
             zero_init_residual=False):
    """ResNet-50: Bottleneck x [3, 4, 6, 3]; 25,557,032 parameters for 1000 classes."""
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes, in_channels, width, small_input,
                  zero_init_residual)


@register_model()
def resnet101(num_classes=1000, in_channels=3, width=1.0, small_input=False,
              zero_init_residual=False):
    """ResNet-101: Bottleneck x [3, 4, 23, 3]."""
    return ResNet(Bottleneck, [3, 4, 23, 3], num_classes, in_channels, width, small_input,
                  zero_init_residual)


@register_model()
def resnet152(num_classes=1000, in_channels=3, width=1.0, small_input=False,
              zero_init_residual=False):
    """ResNet-152: Bottleneck x [3, 8, 36, 3]; 60,192,808 parameters for 1000 classes."""
    return ResNet(Bottleneck, [3, 8, 36, 3], num_classes, in_channels, width, small_input,
                  zero_init_residual)
