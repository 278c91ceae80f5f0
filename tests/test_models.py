"""The model zoo: registry, exact parameter counts and torchvision state_dict
layouts, output shapes on each model's intended input, and gradients reaching
every parameter.

Expected numbers come from torchvision's and Keras' published counts and from
tests/data/torchvision_state_dicts.json.gz, written once by real torchvision
(see tests/data/README.md); never from our own output.
"""
import gzip
import json
import os

import numpy as np
import pytest

import striate
import striate.models as models
from striate import nn

REFERENCE_FILE = os.path.join(os.path.dirname(__file__), "data", "torchvision_state_dicts.json.gz")

# torchvision's published counts (1000 classes), and Keras' trainable count for Xception.
PUBLISHED_PARAM_COUNTS = {
    "alexnet": 61_100_840, "vgg16": 138_357_544, "vgg19": 143_667_240, "googlenet": 6_624_904,
    "resnet18": 11_689_512, "resnet50": 25_557_032, "resnet152": 60_192_808,
    "densenet121": 7_978_856, "xception": 22_855_952,
}

ALL_MODELS = ["lenet5", "lenet5_classic", "alexnet", "alexnet_original", "zfnet",
              "vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn",
              "googlenet", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
              "xception", "densenet121", "densenet169", "densenet201", "unet"]


@pytest.fixture(scope="module")
def reference():
    with gzip.open(REFERENCE_FILE, "rt", encoding="utf-8") as f:
        return json.load(f)["models"]


def _patch_init(monkeypatch, fill):
    for name in nn.init.__all__:
        if name.endswith("_"):  # the in-place initializers
            monkeypatch.setattr(nn.init, name, fill)


@pytest.fixture
def cheap_init(monkeypatch):
    """Skip random initialization while building: structure tests only look at
    names and shapes, and drawing VGG-19's 140M random weights would dominate them."""
    _patch_init(monkeypatch, lambda tensor, *args, **kwargs: tensor)


@pytest.fixture
def zero_init(monkeypatch):
    """Zero weights instead of random ones: for shape checks that run a forward pass."""
    def fill(tensor, *args, **kwargs):
        tensor.data[...] = 0
        return tensor
    _patch_init(monkeypatch, fill)


def count(model):
    return sum(p.numel() for p in model.parameters())


def layout(model):
    return [[key, list(value.shape)] for key, value in model.state_dict().items()]


# --------------------------------------------------------------------------- registry


def test_registry_lists_every_model():
    assert set(ALL_MODELS) <= set(models.list_models())
    assert models.list_models() == sorted(models.list_models())


def test_unknown_model_names_the_available_ones():
    with pytest.raises(ValueError, match="unknown model 'resnet19'.*resnet18.*Available models:.*"
                                         "lenet5"):
        models.create("resnet19")


@pytest.mark.parametrize("name", ["lenet5", "vgg11", "resnet18", "densenet121"])
def test_unknown_option_is_a_clear_error(name):
    with pytest.raises(TypeError, match=f"model '{name}' does not accept.*colour.*"
                                        "it takes: num_classes=.*in_channels="):
        models.create(name, colour=True)


def test_misspelt_option_suggests_the_right_one():
    with pytest.raises(TypeError, match=r"'widht' \(did you mean 'width'\?\)"):
        models.create("resnet18", widht=0.5)


# Options that work on each family, written out by hand: the listing must show them.
FAMILY_OPTIONS = {
    "resnet50": {"num_classes": 1000, "in_channels": 3, "width": 1.0, "small_input": False,
                 "zero_init_residual": False},
    "vgg16_bn": {"num_classes": 1000, "in_channels": 3, "width": 1.0, "small_input": False,
                 "dropout": 0.5, "init_weights": True},
    "densenet169": {"num_classes": 1000, "in_channels": 3, "width": 1.0, "small_input": False,
                    "drop_rate": 0.0, "bn_size": 4},
    "lenet5": {"num_classes": 10, "in_channels": 1, "input_size": 28},
}


@pytest.mark.parametrize("name", sorted(FAMILY_OPTIONS))
def test_model_options_lists_each_option_with_its_default(name):
    assert models.model_options(name) == FAMILY_OPTIONS[name]
    assert list(models.model_options(name))[:2] == ["num_classes", "in_channels"]


def test_model_options_of_an_unknown_model_names_the_available_ones():
    with pytest.raises(ValueError, match="unknown model 'resnet19'"):
        models.model_options("resnet19")


def test_register_model_rejects_a_second_model_of_the_same_name():
    with pytest.raises(ValueError, match="already registered"):
        models.register_model("lenet5")(lambda num_classes=10, in_channels=1: None)


@pytest.mark.parametrize("factory, message", [
    (lambda num_classes=10, in_channels=1, **kwargs: None, r"takes \*\*kwargs"),
    (lambda num_classes=10, in_channels=1, *args: None, r"takes \*args"),
    (lambda num_classes, in_channels=1: None, "'num_classes' .* has no default"),
    (lambda num_classes=10: None, "lacks the option.*in_channels"),
])
def test_register_model_requires_named_options_with_defaults(factory, message):
    with pytest.raises(TypeError, match=message):
        models.register_model("not_registered")(factory)
    assert "not_registered" not in models.list_models()


@pytest.mark.parametrize("name", ALL_MODELS)
def test_every_factory_takes_num_classes_and_in_channels(name, cheap_init):
    # Every listed option is accepted; small variants where offered, to keep this cheap.
    options = models.model_options(name)
    options.update(num_classes=7, in_channels=2)
    if "width" in options:
        options["width"] = 0.125
    model = models.create(name, **options)
    assert model.input_shape[0] == 2
    weights = [p for p in model.parameters() if p.ndim >= 2]
    assert weights[0].shape[1] == 2          # the first layer reads 2 channels
    assert weights[-1].shape[0] == 7          # the last layer writes 7 classes


# --------------------------------------------------------------------------- exact layouts


@pytest.mark.parametrize("name", sorted(PUBLISHED_PARAM_COUNTS))
def test_parameter_counts_match_the_published_ones(name, cheap_init):
    assert count(models.create(name)) == PUBLISHED_PARAM_COUNTS[name]


TORCHVISION_NAMES = ["alexnet", "vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn",
                     "vgg16_bn", "vgg19_bn", "googlenet", "googlenet_aux", "resnet18", "resnet34",
                     "resnet50", "resnet101", "resnet152", "densenet121", "densenet169",
                     "densenet201"]


@pytest.mark.parametrize("name", TORCHVISION_NAMES)
def test_state_dict_matches_torchvision(name, reference, cheap_init):
    if name == "googlenet_aux":
        model = models.create("googlenet", aux_logits=True)
    else:
        model = models.create(name)
    expected = reference[name]
    assert count(model) == expected["num_params"]
    ours, theirs = layout(model), expected["state_dict"]
    missing = [k for k, _ in theirs if k not in dict(ours)]
    unexpected = [k for k, _ in ours if k not in dict(theirs)]
    assert not missing and not unexpected, f"missing {missing[:5]}, unexpected {unexpected[:5]}"
    assert ours == theirs  # same order and shapes too


def test_alexnet_original_matches_the_lecture_table(cheap_init):
    convs = [m for m in models.create("alexnet_original").modules() if isinstance(m, nn.Conv2d)]
    # (11*11*3+1)*96, (5*5*96+1)*256, (3*3*256+1)*384, (3*3*384+1)*384, (3*3*384+1)*256
    assert [count(c) for c in convs] == [34_944, 614_656, 885_120, 1_327_488, 884_992]


def test_alexnet_original_two_gpu_split_halves_conv2_4_5(cheap_init):
    convs = [m for m in models.create("alexnet_original", groups=2).modules()
             if isinstance(m, nn.Conv2d)]
    assert [c.weight.shape[1] for c in convs] == [3, 48, 256, 192, 192]


def test_lenet5_classic_layers_have_the_papers_sizes():
    model = models.create("lenet5_classic")
    named = dict(model.named_modules())
    # C1: 6*(5*5+1) = 156, C3 fully connected: 16*(6*25+1) = 2416, C5: 120*(16*25+1) = 48120,
    # F6: 84*(120+1) = 10164 (LeCun et al. 1998, section II-B)
    sizes = {name: count(named[f"features.{name}"]) for name in ("c1", "c3", "c5")}
    assert sizes == {"c1": 156, "c3": 2416, "c5": 48_120}
    assert count(named["classifier.f6"]) == 10_164


# --------------------------------------------------------------------------- forward and backward

# name -> (options, input size): each model on its intended input, the big ones
# at reduced width (spatial shapes do not depend on width).
TRAIN_CASES = {
    "lenet5": ({}, 28),
    "lenet5_classic": ({}, 32),
    "alexnet": ({"width": 0.125}, 224),
    "alexnet_original": ({"width": 0.125}, 227),
    "zfnet": ({"width": 0.125}, 224),
    "vgg11": ({"width": 0.0625}, 224),
    "vgg16_bn": ({"width": 0.0625, "small_input": True}, 32),
    "googlenet": ({"width": 0.125, "aux_logits": True}, 224),
    "resnet18": ({"width": 0.125}, 224),
    "resnet50": ({"width": 0.0625, "small_input": True}, 28),
    "densenet121": ({"width": 0.25, "small_input": True}, 28),
    "xception": ({"width": 0.0625}, 299),
    "unet": ({"width": 0.0625}, 188),
}


def _loss(output):
    outputs = output if isinstance(output, tuple) else (output,)
    return sum((o * o).mean() for o in outputs)


@pytest.mark.parametrize("name", sorted(TRAIN_CASES))
def test_forward_and_backward_reach_every_parameter(name):
    options, size = TRAIN_CASES[name]
    in_channels = 1 if name.startswith(("lenet", "unet")) else 3
    model = models.create(name, num_classes=5, in_channels=in_channels, **options)
    model.train()
    x = striate.Tensor(np.random.default_rng(0).standard_normal(
        (2, in_channels, size, size)).astype(np.float32))
    output = model(x)
    if name == "googlenet":  # training mode: main and both auxiliary heads
        assert [o.shape for o in output] == [(2, 5)] * 3
    elif name == "unet":
        assert output.shape == (2, 5, size - 184, size - 184)
    else:
        assert output.shape == (2, 5)
    _loss(output).backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None, f"{name}: no gradient for {pname}"
        assert p.grad.shape == p.shape
        assert np.isfinite(p.grad).all(), f"{name}: non-finite gradient for {pname}"
    assert any(np.abs(p.grad).max() > 0 for p in model.parameters())


# Full-width models on their intended input, forward only: one member of every
# family but U-Net, whose full-width forward at 572x572 is by far the most
# expensive; its shapes are checked at reduced width below, and they do not
# depend on width.
FULL_SIZE = ["lenet5", "lenet5_classic", "alexnet", "zfnet", "vgg16", "googlenet", "resnet50",
             "xception", "densenet121"]


@pytest.mark.parametrize("name", FULL_SIZE)
def test_full_model_output_shape(name, zero_init):  # shapes only: skip drawing 138M weights
    model = models.create(name).eval()
    x = striate.Tensor(np.zeros((1,) + model.input_shape, dtype=np.float32))
    with striate.no_grad():
        output = model(x)
    assert output.shape == (1, 10 if name.startswith("lenet") else 1000)


def test_googlenet_eval_mode_returns_only_the_logits():
    model = models.create("googlenet", aux_logits=True, width=0.125, num_classes=4).eval()
    with striate.no_grad():
        output = model(striate.Tensor(np.zeros((1, 3, 64, 64), dtype=np.float32)))
    assert output.shape == (1, 4)


# --------------------------------------------------------------------------- small inputs


@pytest.mark.parametrize("name", ["resnet18", "vgg11_bn", "googlenet", "densenet121", "xception"])
@pytest.mark.parametrize("size", [28, 32])
def test_small_input_variants_take_mnist_and_cifar_sizes(name, size):
    model = models.create(name, num_classes=10, in_channels=1, width=0.125, small_input=True)
    assert model.input_shape == (1, 32, 32)
    with striate.no_grad():
        output = model.eval()(striate.Tensor(np.zeros((2, 1, size, size), dtype=np.float32)))
    assert output.shape == (2, 10)


def test_small_input_resnet_replaces_the_stem():
    model = models.create("resnet18", small_input=True, width=0.25, num_classes=10)
    assert model.conv1.kernel_size == (3, 3) and model.conv1.stride == (1, 1)
    assert isinstance(model.maxpool, nn.Identity)
    assert model.layer1[0].conv1.out_channels == 16  # a quarter of 64


def test_family_options_reach_the_model():
    resnet = models.create("resnet18", width=0.125, zero_init_residual=True)
    assert all(np.all(block.bn2.weight.data == 0) for block in resnet.layer1)
    vgg = models.create("vgg11", width=0.0625, dropout=0.3)
    assert [m.p for m in vgg.classifier if isinstance(m, nn.Dropout)] == [0.3, 0.3]
    densenet = models.create("densenet121", width=0.25, drop_rate=0.1, bn_size=2)
    layer = densenet.features.denseblock1.denselayer1
    assert layer.dropout.p == 0.1 and layer.conv1.out_channels == 2 * 8  # bn_size * growth 32/4


def test_width_must_be_positive():
    with pytest.raises(ValueError, match="width"):
        models.create("resnet18", width=0)


def test_lenet5_takes_32x32_input_without_padding():
    model = models.create("lenet5", input_size=32, in_channels=3)
    assert model.features[0].padding == (0, 0)
    assert model(striate.Tensor(np.zeros((1, 3, 32, 32), dtype=np.float32))).shape == (1, 10)
    with pytest.raises(ValueError, match="input_size"):
        models.create("lenet5", input_size=27)


# --------------------------------------------------------------------------- U-Net


def test_unet_unpadded_keeps_the_papers_shapes():
    """572x572 -> 388x388 (Ronneberger et al. 2015, Figure 1); width does not change shapes."""
    model = models.create("unet", width=0.0625).eval()
    with striate.no_grad():
        output = model(striate.Tensor(np.zeros((1, 1, 572, 572), dtype=np.float32)))
    assert output.shape == (1, 2, 388, 388)


@pytest.mark.parametrize("size", [64, 96])
def test_unet_padded_returns_the_input_size(size):
    model = models.create("unet", padded=True, width=0.0625, num_classes=3, in_channels=2)
    output = model(striate.Tensor(np.zeros((1, 2, size, size), dtype=np.float32)))
    assert output.shape == (1, 3, size, size)


@pytest.mark.parametrize("padded, size", [(False, 190), (True, 72)])
def test_unet_rejects_sizes_that_do_not_pool_evenly(padded, size):
    model = models.create("unet", padded=padded, width=0.0625)
    with pytest.raises(ValueError, match="UNet.*not even"):
        model(striate.Tensor(np.zeros((1, 1, size, size), dtype=np.float32)))
