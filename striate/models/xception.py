"""Xception (Chollet 2017, "Xception: deep learning with depthwise separable
convolutions").

The "extreme Inception": instead of a few branches each mixing space and
channels, a depthwise-separable convolution first filters every channel on its
own (a 3x3 convolution with ``groups = channels``) and then mixes channels with
a 1x1 convolution, decoupling spatial and cross-channel correlations. 36 such
layers in 14 modules, all but the first and last with residual connections:

* entry flow: two plain 3x3 convolutions (32, 64), then three blocks (128,
  256, 728 channels) that each halve the resolution with a 3x3/2 max-pool and a
  1x1/2 convolution on the shortcut;
* middle flow: eight blocks of three separable convolutions at 728 channels,
  19x19, with identity shortcuts;
* exit flow: a block to 1024 channels (and 10x10), separable convolutions to
  1536 and 2048, global average pooling, a fully connected layer.

Input 299x299. There is no torchvision Xception; names follow the common
PyTorch port (``conv1``, ``block1.rep``, ``block1.skip``, ``conv3``, ``fc``),
parameter counts follow Keras (22,855,952 trainable; Keras' 54,528
non-trainable are the batch norms' running statistics, buffers here).
"""
from .. import nn
from .common import he_init, scale_width
from .registry import register_model


class SeparableConv2d(nn.Module):
    """Depthwise (``groups = in_channels``) k x k convolution, then 1x1 pointwise:
    (N, in_channels, H, W) -> (N, out_channels, H', W').

    Parameters: in*k*k + in*out, against in*out*k*k for a full convolution.
    Neither has a bias (a batch norm follows), as in the paper and Keras.
    """

    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1, padding=1):
        super().__init__()
        self.depthwise = nn.Conv2d(in_channels, in_channels, kernel_size, stride=stride,
                                   padding=padding, groups=in_channels, bias=False)
        self.pointwise = nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


class Block(nn.Module):
    """``reps`` x (ReLU -> separable conv -> BN), a 3x3/2 max-pool when
    ``stride=2``, plus a shortcut (identity, or 1x1/stride conv + BN when the
    shape changes): (N, in_channels, H, W) -> (N, out_channels, H/stride, W/stride).

    ``grow_first``: the first separable convolution changes the channels (entry
    and middle flow); otherwise the last one does (the exit-flow block).
    ``start_with_relu=False`` for the first block, whose input has just been
    through a ReLU.
    """

    def __init__(self, in_channels, out_channels, reps, stride=1, start_with_relu=True,
                 grow_first=True):
        super().__init__()
        if out_channels != in_channels or stride != 1:
            self.skip = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )
        else:
            self.skip = None
        widths = [in_channels] + [out_channels if grow_first else in_channels] * (reps - 1) + \
                 [out_channels]
        layers = []
        for i in range(reps):
            if i > 0 or start_with_relu:
                layers.append(nn.ReLU())
            layers.append(SeparableConv2d(widths[i], widths[i + 1]))
            layers.append(nn.BatchNorm2d(widths[i + 1]))
        if stride != 1:
            layers.append(nn.MaxPool2d(kernel_size=3, stride=stride, padding=1))
        self.rep = nn.Sequential(*layers)

    def forward(self, x):
        shortcut = x if self.skip is None else self.skip(x)
        return self.rep(x) + shortcut


class Xception(nn.Module):
    """Entry flow (``conv1``, ``conv2``, ``block1``-``block3``), middle flow
    (``block4``-``block11``), exit flow (``block12``, ``conv3``, ``conv4``), ``fc``.

    Input (N, in_channels, 299, 299) -> (N, num_classes).

    ``small_input=True`` (28x28/32x32 images) gives ``conv1`` stride 1 and
    both stem convolutions padding 1, so only the four pooling blocks
    downsample. ``width`` scales every layer; ``middle_blocks`` sets the
    middle flow's depth (8 in the paper).

    Where this differs from the paper: nothing in the layers; the paper's
    optional fully connected layers before the classifier are left out, as in
    Keras. Initialization is PyTorch's defaults, with He normal convolutions.
    """

    def __init__(self, num_classes=1000, in_channels=3, width=1.0, small_input=False,
                 middle_blocks=8):
        super().__init__()
        c = [scale_width(channels, width) for channels in (32, 64, 128, 256, 728, 1024, 1536, 2048)]
        size = 32 if small_input else 299
        self.input_shape = (in_channels, size, size)
        stem_stride, stem_padding = (1, 1) if small_input else (2, 0)
        # entry flow
        self.conv1 = nn.Conv2d(in_channels, c[0], 3, stride=stem_stride, padding=stem_padding,
                               bias=False)                                 # 299 -> 149
        self.bn1 = nn.BatchNorm2d(c[0])
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(c[0], c[1], 3, padding=stem_padding, bias=False)  # -> 147
        self.bn2 = nn.BatchNorm2d(c[1])
        self.relu2 = nn.ReLU()
        self.block1 = Block(c[1], c[2], 2, stride=2, start_with_relu=False)  # -> 74
        self.block2 = Block(c[2], c[3], 2, stride=2)                         # -> 37
        self.block3 = Block(c[3], c[4], 2, stride=2)                         # -> 19
        # middle flow
        for i in range(middle_blocks):
            setattr(self, f"block{4 + i}", Block(c[4], c[4], 3))
        self.num_blocks = 4 + middle_blocks
        # exit flow
        setattr(self, f"block{self.num_blocks}",
                Block(c[4], c[5], 2, stride=2, grow_first=False))           # -> 10
        self.conv3 = SeparableConv2d(c[5], c[6])
        self.bn3 = nn.BatchNorm2d(c[6])
        self.relu3 = nn.ReLU()
        self.conv4 = SeparableConv2d(c[6], c[7])
        self.bn4 = nn.BatchNorm2d(c[7])
        self.relu4 = nn.ReLU()
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(c[7], num_classes)
        self.reset_parameters()

    def reset_parameters(self):
        he_init(self, mode="fan_out")

    def forward(self, x):
        x = self.relu1(self.bn1(self.conv1(x)))
        x = self.relu2(self.bn2(self.conv2(x)))
        for i in range(1, self.num_blocks + 1):
            x = getattr(self, f"block{i}")(x)
        x = self.relu3(self.bn3(self.conv3(x)))
        x = self.relu4(self.bn4(self.conv4(x)))
        return self.fc(self.avgpool(x).flatten(1))


@register_model()
def xception(num_classes=1000, in_channels=3, width=1.0, small_input=False, middle_blocks=8):
    """Xception for 299x299 input: 22,855,952 parameters for 1000 classes (Keras'
    trainable count)."""
    return Xception(num_classes, in_channels, width, small_input, middle_blocks)
