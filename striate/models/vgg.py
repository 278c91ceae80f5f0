"""VGG (Simonyan and Zisserman 2014, "Very deep convolutional networks for
large-scale image recognition"), runner-up of ILSVRC 2014: only 3x3
convolutions (stride 1, padding 1) and 2x2 max-pools, doubling the channels
after each pool. Two stacked 3x3 layers see a 5x5 window, three a 7x7, with
fewer parameters and more non-linearities than one big filter.

Configurations A, B, D, E of the paper's Table 1 are VGG-11, -13, -16, -19
("M" is a max-pool). The ``_bn`` variants add batch normalization after each
convolution (not in the paper, which predates it; torchvision's layout).
``state_dict`` keys and shapes are torchvision's.
"""
from .. import nn
from ..nn import init
from .common import he_init, scale_width
from .registry import register_model

CONFIGS = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
              512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"],
}


def make_features(config, in_channels, batch_norm, width=1.0, small_input=False):
    """The convolutional part: ``conv3x3 [-> BN] -> ReLU`` per number, max-pool per "M".

    ``small_input`` leaves out the first max-pool, so that a 28x28 or 32x32
    image keeps a map of at least 1x1 after the remaining four.
    """
    layers = []
    first_pool = True
    for item in config:
        if item == "M":
            if not (small_input and first_pool):
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            first_pool = False
            continue
        channels = scale_width(item, width)
        layers.append(nn.Conv2d(in_channels, channels, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(channels))
        layers.append(nn.ReLU())
        in_channels = channels
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """``features`` -> ``avgpool`` (adaptive, 7x7) -> flatten -> ``classifier``.

    Input (N, in_channels, 224, 224) -> (N, num_classes). With
    ``small_input=True`` (for 28x28 and 32x32 images) the first max-pool is
    left out and the adaptive pool gives 1x1, so the classifier starts from
    the last layer's channels instead of 512*7*7. ``width`` scales every layer
    (convolutions and the 4096-unit hidden layers).

    Where this differs from the paper: torchvision's adaptive average pool
    before the classifier (the paper evaluates densely, converting the fully
    connected layers to convolutions), and the paper's local response
    normalization variant (A-LRN) is not offered. Initialization is
    torchvision's (He normal for convolutions, N(0, 0.01) for the linear
    layers), not the paper's (shallow net A first, then deeper ones
    initialized from it).
    """

    def __init__(self, features, num_classes=1000, out_channels=512, small_input=False,
                 hidden=4096, dropout=0.5, init_weights=True, input_shape=None):
        super().__init__()
        pooled = 1 if small_input else 7
        self.input_shape = input_shape
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((pooled, pooled))
        self.classifier = nn.Sequential(
            nn.Linear(out_channels * pooled * pooled, hidden),
            nn.ReLU(),
            nn.Dropout(p=dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Dropout(p=dropout),
            nn.Linear(hidden, num_classes),
        )
        if init_weights:
            self.reset_parameters()

    def reset_parameters(self):
        """torchvision's initialization: :func:`he_init`, and N(0, 0.01) linear layers."""
        he_init(self, mode="fan_out")
        for module in self.classifier.modules():
            if isinstance(module, nn.Linear):
                init.normal_(module.weight, 0.0, 0.01)
                init.zeros_(module.bias)

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(x.flatten(1))


def _vgg(config, batch_norm, num_classes=1000, in_channels=3, width=1.0, small_input=False,
         dropout=0.5, init_weights=True):
    """The one builder behind the eight public factories."""
    size = 32 if small_input else 224
    features = make_features(CONFIGS[config], in_channels, batch_norm, width, small_input)
    return VGG(features, num_classes=num_classes, out_channels=scale_width(512, width),
               small_input=small_input, hidden=scale_width(4096, width), dropout=dropout,
               init_weights=init_weights, input_shape=(in_channels, size, size))


# The public factories: ``width`` multiplies every layer's channels, ``small_input``
# leaves out the first max-pool for 28x28 and 32x32 images (see :class:`VGG`).


@register_model()
def vgg11(num_classes=1000, in_channels=3, width=1.0, small_input=False, dropout=0.5,
          init_weights=True):
    """VGG-11 (configuration A): 8 convolutions, 3 fully connected layers."""
    return _vgg("vgg11", False, num_classes, in_channels, width, small_input, dropout, init_weights)


@register_model()
def vgg13(num_classes=1000, in_channels=3, width=1.0, small_input=False, dropout=0.5,
          init_weights=True):
    """VGG-13 (configuration B)."""
    return _vgg("vgg13", False, num_classes, in_channels, width, small_input, dropout, init_weights)


@register_model()
def vgg16(num_classes=1000, in_channels=3, width=1.0, small_input=False, dropout=0.5,
          init_weights=True):
    """VGG-16 (configuration D): 138,357,544 parameters for 1000 classes."""
    return _vgg("vgg16", False, num_classes, in_channels, width, small_input, dropout, init_weights)


@register_model()
def vgg19(num_classes=1000, in_channels=3, width=1.0, small_input=False, dropout=0.5,
          init_weights=True):
    """VGG-19 (configuration E): 143,667,240 parameters for 1000 classes."""
    return _vgg("vgg19", False, num_classes, in_channels, width, small_input, dropout, init_weights)


@register_model()
def vgg11_bn(num_classes=1000, in_channels=3, width=1.0, small_input=False, dropout=0.5,
             init_weights=True):
    """VGG-11 with batch normalization after every convolution."""
    return _vgg("vgg11", True, num_classes, in_channels, width, small_input, dropout, init_weights)


@register_model()
def vgg13_bn(num_classes=1000, in_channels=3, width=1.0, small_input=False, dropout=0.5,
             init_weights=True):
    """VGG-13 with batch normalization."""
    return _vgg("vgg13", True, num_classes, in_channels, width, small_input, dropout, init_weights)


@register_model()
def vgg16_bn(num_classes=1000, in_channels=3, width=1.0, small_input=False, dropout=0.5,
             init_weights=True):
    """VGG-16 with batch normalization."""
    return _vgg("vgg16", True, num_classes, in_channels, width, small_input, dropout, init_weights)


@register_model()
def vgg19_bn(num_classes=1000, in_channels=3, width=1.0, small_input=False, dropout=0.5,
             init_weights=True):
    """VGG-19 with batch normalization."""
    return _vgg("vgg19", True, num_classes, in_channels, width, small_input, dropout, init_weights)
