"""Small helpers shared by the model families."""
from .. import nn
from ..nn import init


def scale_width(channels, width):
    """``channels`` times the width multiplier, rounded, at least 1.

    ``width=1`` gives the paper's network; ``width=0.25`` a quarter of every
    layer's channels (MobileNet's width multiplier), which is what lets the big
    networks train on 28x28 and 32x32 images on a CPU.
    """
    if width <= 0:
        raise ValueError(f"width multiplier must be positive, got {width}")
    return max(1, int(round(channels * width)))


def he_init(model, mode="fan_out"):
    """torchvision's initialization of convolutional networks: He normal
    convolution weights (He et al. 2015; ``mode="fan_out"`` keeps the gradients'
    variance, ``"fan_in"`` the activations'), zero convolution biases, and batch
    norms starting as the identity (scale 1, shift 0)."""
    for module in model.modules():
        if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            init.kaiming_normal_(module.weight, mode=mode, nonlinearity="relu")
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)):
            init.ones_(module.weight)
            init.zeros_(module.bias)
