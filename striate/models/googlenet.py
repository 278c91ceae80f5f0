"""GoogLeNet / Inception v1 (Szegedy et al. 2014, "Going deeper with
convolutions"), winner of ILSVRC 2014.

An Inception module runs four branches side by side on the same input and
concatenates their channels: a 1x1 convolution; 1x1 "reduce" then 3x3; 1x1
reduce then 5x5; 3x3 max-pool then 1x1 "pool proj". The 1x1 reductions keep
the cost down, so the network grows wider instead of only deeper. Two
auxiliary classifiers after inception4a and inception4d add gradient to the
middle of the network during training (weight 0.3 in the paper's loss).

Layout and ``state_dict`` names are torchvision's (``conv1.conv.weight``,
``inception3a.branch2.1.bn.running_mean``, ``aux1.fc2.bias``, ...).
"""
import functools
from collections import namedtuple

from .. import functional as F
from .. import nn
from ..nn import init
from .common import scale_width
from .registry import register_model

#: The paper's Table 1: in, #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj.
INCEPTION_CONFIGS = {
    "inception3a": (192, 64, 96, 128, 16, 32, 32),
    "inception3b": (256, 128, 128, 192, 32, 96, 64),
    "inception4a": (480, 192, 96, 208, 16, 48, 64),
    "inception4b": (512, 160, 112, 224, 24, 64, 64),
    "inception4c": (512, 128, 128, 256, 24, 64, 64),
    "inception4d": (512, 112, 144, 288, 32, 64, 64),
    "inception4e": (528, 256, 160, 320, 32, 128, 128),
    "inception5a": (832, 256, 160, 320, 32, 128, 128),
    "inception5b": (832, 384, 192, 384, 48, 128, 128),
}

#: What the network returns in training mode with ``aux_logits=True``.
GoogLeNetOutputs = namedtuple("GoogLeNetOutputs", ["logits", "aux_logits2", "aux_logits1"])


class BasicConv2d(nn.Module):
    """Convolution (no bias) -> batch norm (eps 0.001) -> ReLU: torchvision's unit.

    The paper has no batch normalization (it predates it); its convolutions
    have biases and are followed by ReLU directly.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride,
                              padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


class Inception(nn.Module):
    """Four branches concatenated along channels.

    (N, in_channels, H, W) -> (N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W).

    The "5x5" branch uses a 3x3 convolution, as torchvision does (a known
    slip in its port, kept so that its checkpoints load); the paper's is 5x5.
    """

    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(
            BasicConv2d(in_channels, ch3x3red, kernel_size=1),
            BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1),
        )
        self.branch3 = nn.Sequential(
            BasicConv2d(in_channels, ch5x5red, kernel_size=1),
            BasicConv2d(ch5x5red, ch5x5, kernel_size=3, padding=1),
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            BasicConv2d(in_channels, pool_proj, kernel_size=1),
        )

    def forward(self, x):
        branches = [self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)]
        return F.cat(branches, 1)


class InceptionAux(nn.Module):
    """Auxiliary classifier: 4x4 average pool -> 1x1 conv (128) -> fc 1024 -> dropout -> fc.

    (N, in_channels, H, W) -> (N, num_classes). The paper pools 5x5 with
    stride 3 (14x14 -> 4x4); torchvision pools adaptively to 4x4 (the same on
    224x224 input) and uses dropout 0.7 as the paper does.
    """

    def __init__(self, in_channels, num_classes, dropout=0.7, width=1.0):
        super().__init__()
        reduced, hidden = scale_width(128, width), scale_width(1024, width)
        self.pool = nn.AdaptiveAvgPool2d((4, 4))
        self.conv = BasicConv2d(in_channels, reduced, kernel_size=1)
        self.fc1 = nn.Linear(reduced * 4 * 4, hidden)
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout(p=dropout)
        self.fc2 = nn.Linear(hidden, num_classes)

    def forward(self, x):
        x = self.conv(self.pool(x)).flatten(1)
        return self.fc2(self.dropout(self.relu(self.fc1(x))))


class GoogLeNet(nn.Module):
    """Inception v1. Input (N, in_channels, 224, 224) -> (N, num_classes); in
    training mode with ``aux_logits=True`` a ``GoogLeNetOutputs(logits,
    aux_logits2, aux_logits1)`` tuple, as torchvision returns.

    ``small_input=True`` (28x28/32x32 images) makes ``conv1`` a 3x3 stride-1
    convolution and turns ``maxpool1``/``maxpool2`` into identities, so that
    only the two later pools downsample. ``width`` scales every layer.

    Where this differs from the paper: batch normalization in every
    convolution (``BasicConv2d``), the 3x3 "5x5" branch (see ``Inception``),
    no local response normalization after the stem, the adaptive pools, and
    dropout 0.2 before the final layer (the paper: 0.4).
    """

    def __init__(self, num_classes=1000, in_channels=3, aux_logits=False, dropout=0.2,
                 dropout_aux=0.7, width=1.0, small_input=False, init_weights=True):
        super().__init__()
        self.aux_logits = aux_logits
        size = 32 if small_input else 224
        self.input_shape = (in_channels, size, size)
        c = functools.partial(scale_width, width=width)
        if small_input:
            self.conv1 = BasicConv2d(in_channels, c(64), kernel_size=3, padding=1)
            self.maxpool1 = nn.Identity()
        else:
            self.conv1 = BasicConv2d(in_channels, c(64), kernel_size=7, stride=2, padding=3)
            self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(c(64), c(64), kernel_size=1)
        self.conv3 = BasicConv2d(c(64), c(192), kernel_size=3, padding=1)
        self.maxpool2 = nn.Identity() if small_input else nn.MaxPool2d(3, stride=2, ceil_mode=True)
        for name, config in INCEPTION_CONFIGS.items():
            setattr(self, name, Inception(*[c(channels) for channels in config]))
            if name == "inception3b":
                self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
            if name == "inception4e":
                self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        if aux_logits:
            self.aux1 = InceptionAux(c(512), num_classes, dropout_aux, width)
            self.aux2 = InceptionAux(c(528), num_classes, dropout_aux, width)
        else:
            self.aux1 = self.aux2 = None
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(c(1024), num_classes)
        if init_weights:
            self.reset_parameters()

    def reset_parameters(self):
        """torchvision's initialization: truncated N(0, 0.01) for conv and linear weights."""
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                init.trunc_normal_(module.weight, mean=0.0, std=0.01, a=-2, b=2)
            elif isinstance(module, nn.BatchNorm2d):
                init.ones_(module.weight)
                init.zeros_(module.bias)

    def forward(self, x):
        x = self.maxpool1(self.conv1(x))            # 224 -> 112 -> 56
        x = self.maxpool2(self.conv3(self.conv2(x)))  # -> 28
        x = self.maxpool3(self.inception3b(self.inception3a(x)))  # -> 14
        x = self.inception4a(x)
        aux1 = self.aux1(x) if self.aux1 is not None and self.training else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if self.aux2 is not None and self.training else None
        x = self.maxpool4(self.inception4e(x))      # -> 7
        x = self.inception5b(self.inception5a(x))
        x = self.fc(self.dropout(self.avgpool(x).flatten(1)))
        if self.aux_logits and self.training:
            return GoogLeNetOutputs(x, aux2, aux1)
        return x


@register_model()
def googlenet(num_classes=1000, in_channels=3, aux_logits=False, width=1.0, small_input=False,
              dropout=0.2, init_weights=True):
    """GoogLeNet (Inception v1), torchvision's layout: 6,624,904 parameters without
    the auxiliary heads (``aux_logits=True`` adds them: 13,004,888; torchvision's
    ``googlenet()`` builds them by default, so load its checkpoints with that)."""
    return GoogLeNet(num_classes, in_channels, aux_logits, dropout, width=width,
                     small_input=small_input, init_weights=init_weights)
