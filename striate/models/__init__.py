"""The model zoo of the lectures, one file per family, each model registered by name.

    model = striate.models.create("resnet18", num_classes=10, in_channels=1,
                                  small_input=True, width=0.25)
    striate.models.list_models()
    striate.models.model_options("resnet18")   # {"num_classes": 1000, ..., "width": 1.0, ...}

Every factory names its options as keyword parameters with defaults (no
``**kwargs``): ``num_classes`` and ``in_channels`` always; the big families also
``width`` (a channel multiplier) and ``small_input`` (a stem for 28x28 and
32x32 images). Every model has ``input_shape`` (C, H, W), the input size it was
designed for. Families that torchvision has (AlexNet, VGG, GoogLeNet, ResNet,
DenseNet) have torchvision's ``state_dict`` names and shapes.
"""
from .registry import create, list_models, model_options, register_model  # noqa: F401

from .lenet import lenet5, lenet5_classic  # noqa: F401,E402
from .alexnet import alexnet, alexnet_original  # noqa: F401,E402
from .zfnet import zfnet  # noqa: F401,E402
from .vgg import (vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19,  # noqa: F401,E402
                  vgg19_bn)
from .googlenet import googlenet  # noqa: F401,E402
from .resnet import resnet18, resnet34, resnet50, resnet101, resnet152  # noqa: F401,E402
from .xception import xception  # noqa: F401,E402
from .densenet import densenet121, densenet169, densenet201  # noqa: F401,E402
from .unet import unet  # noqa: F401,E402
from .cnn1d import cnn1d  # noqa: F401,E402
from .notation import from_notation  # noqa: F401,E402
