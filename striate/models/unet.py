"""U-Net (Ronneberger, Fischer and Brox 2015, "U-Net: convolutional networks for
biomedical image segmentation").

An encoder-decoder for per-pixel classification. The contracting path repeats
two unpadded 3x3 convolutions (+ ReLU) and a 2x2 max-pool, doubling the
channels (64 -> 1024); the expanding path repeats a 2x2 up-convolution
(transposed convolution, stride 2) that halves the channels, a concatenation
with the encoder's map of the same level (center-cropped, because the unpadded
convolutions lost its border), and two 3x3 convolutions. A 1x1 convolution maps
the 64 channels to the classes. The paper's Figure 1::

    572x572x1 -> 568x568x64 -> 280x280x128 -> 136x136x256 -> 64x64x512 -> 28x28x1024
              -> 52x52x512  -> 100x100x256 -> 196x196x128 -> 388x388x64 -> 388x388x2

Each output pixel sees a 184-pixel border of context; the paper tiles large
images with overlapping 572x572 windows ("overlap-tile"). ``padded=True``
pads every 3x3 convolution by 1 instead, so the output keeps the input size
(which must then be divisible by 16), the common modern form.
"""
from .. import functional as F
from .. import nn
from .common import scale_width
from .registry import register_model


class DoubleConv(nn.Sequential):
    """(3x3 conv [-> BN] -> ReLU) x 2: (N, in_channels, H, W) -> (N, out_channels, H-4, W-4)
    unpadded, or (N, out_channels, H, W) padded."""

    def __init__(self, in_channels, out_channels, padding=0, batch_norm=False):
        layers = []
        for channels_in in (in_channels, out_channels):
            layers.append(nn.Conv2d(channels_in, out_channels, kernel_size=3, padding=padding,
                                    bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm2d(out_channels))
            layers.append(nn.ReLU())
        super().__init__(*layers)


def center_crop(x, height, width):
    """The central (height, width) window of x (N, C, H, W): the paper's "copy and crop"."""
    top, left = (x.shape[-2] - height) // 2, (x.shape[-1] - width) // 2
    return x[:, :, top:top + height, left:left + width]


class UNet(nn.Module):
    """``encoder`` (4 DoubleConv) -> ``bottleneck`` -> (``upconvs``, ``decoder``) x 4 -> ``head``.

    Input (N, in_channels, H, W) -> (N, num_classes, H - 184, W - 184)
    unpadded (H = 572 gives 388; H must be 16k + 124 for every pooled map to be
    even), or (N, num_classes, H, W) padded (H divisible by 16).

    Where this differs from the paper: ``batch_norm=True`` (not in the paper)
    adds batch normalization after every convolution; the paper's dropout
    at the end of the contracting path and its pixel-wise loss weighting
    belong to training and are not part of the module. ``width`` scales
    every layer (64 channels at the top level in the paper).
    """

    def __init__(self, num_classes=2, in_channels=1, padded=False, width=1.0, batch_norm=False,
                 depth=4):
        super().__init__()
        self.padded = padded
        self.depth = depth
        size = 576 if padded else 572
        self.input_shape = (in_channels, size, size)
        padding = 1 if padded else 0
        channels = [scale_width(64 * 2 ** level, width) for level in range(depth + 1)]
        self.encoder = nn.ModuleList()
        previous = in_channels
        for level in range(depth):
            self.encoder.append(DoubleConv(previous, channels[level], padding, batch_norm))
            previous = channels[level]
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.bottleneck = DoubleConv(channels[depth - 1], channels[depth], padding, batch_norm)
        self.upconvs = nn.ModuleList()
        self.decoder = nn.ModuleList()
        for level in reversed(range(depth)):
            self.upconvs.append(nn.ConvTranspose2d(channels[level + 1], channels[level],
                                                   kernel_size=2, stride=2))
            self.decoder.append(DoubleConv(2 * channels[level], channels[level], padding,
                                           batch_norm))
        self.head = nn.Conv2d(channels[0], num_classes, kernel_size=1)

    def _check_poolable(self, x, level):
        height, width = x.shape[-2:]
        if height % 2 or width % 2 or min(height, width) < 2:
            shape = (f"divisible by {2 ** self.depth}" if self.padded
                     else "of the form 16k + 124 (e.g. 572)")
            raise ValueError(f"UNet: the feature map before pooling level {level + 1} is "
                             f"{height}x{width}, not even; input sizes must be {shape}")

    def forward(self, x):
        skips = []
        for level, block in enumerate(self.encoder):
            x = block(x)
            skips.append(x)
            self._check_poolable(x, level)
            x = self.pool(x)
        x = self.bottleneck(x)
        for upconv, block, skip in zip(self.upconvs, self.decoder, reversed(skips)):
            x = upconv(x)
            x = F.cat([center_crop(skip, *x.shape[-2:]), x], 1)
            x = block(x)
        return self.head(x)


@register_model()
def unet(num_classes=2, in_channels=1, padded=False, width=1.0, batch_norm=False, depth=4):
    """U-Net as in the 2015 paper (572x572 -> 388x388); ``padded=True`` keeps the input size.

    ``depth`` is the number of poolings (4 in the paper); with ``padded=True``
    the input sides must be divisible by ``2 ** depth``. A CPU-sized form for
    64x64 scenes: ``unet(num_classes=11, padded=True, width=0.125, depth=3)``.
    """
    return UNet(num_classes, in_channels, padded, width, batch_norm, depth)
