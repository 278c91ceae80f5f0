"""``striate.explain``: saliency and Grad-CAM against PyTorch on the same small
conv net; occlusion, top activations and MC dropout against closed forms on
constructed models; feature maps and filters; clear errors for bad input."""
import os

import numpy as np
import pytest
from cli_runner import run as _cli

import striate
import striate.nn as nn
from striate import explain

torch = pytest.importorskip("torch")


def small_net():
    """conv(2->4, 3x3, pad 1) -> ReLU -> maxpool 2 -> conv(4->5, 3x3) -> ReLU -> flatten -> linear(5*2*2 -> 3)."""
    striate.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(4, 5, 3), nn.ReLU(), nn.Flatten(), nn.Linear(20, 3))
    model.to(np.float64)
    reference = torch.nn.Sequential(
        torch.nn.Conv2d(2, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(4, 5, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(20, 3)
    ).double()
    with torch.no_grad():
        for (name, theirs) in reference.named_parameters():
            theirs.copy_(torch.from_numpy(np.array(model.state_dict()[name])))
    return model, reference


def images(n=3, seed=0):
    # Continuous random values: ties in max pooling have probability zero.
    return np.random.default_rng(seed).normal(size=(n, 2, 8, 8))


def torch_saliency(reference, x, target):
    inputs = torch.from_numpy(x).requires_grad_(True)
    logits = reference(inputs)
    logits[torch.arange(len(x)), torch.as_tensor(target)].sum().backward()
    return inputs.grad.abs().amax(dim=1).numpy()


def torch_grad_cam(reference, x, layer_index, target):
    """Selvaraju et al. written out in PyTorch."""
    stored = {}
    handle = reference[layer_index].register_forward_hook(
        lambda module, inputs, output: stored.update(a=output))
    inputs = torch.from_numpy(x)
    logits = reference(inputs)
    handle.remove()
    activation = stored["a"]
    score = logits[torch.arange(len(x)), torch.as_tensor(target)].sum()
    (gradient,) = torch.autograd.grad(score, activation)
    weights = gradient.mean(dim=(2, 3), keepdim=True)
    cam = torch.relu((weights * activation).sum(dim=1, keepdim=True))
    return torch.nn.functional.interpolate(cam, size=x.shape[2:], mode="bilinear",
                                          align_corners=False)[:, 0].detach().numpy()


def test_saliency_matches_pytorch():
    model, reference = small_net()
    x = images()
    predicted = reference(torch.from_numpy(x)).argmax(dim=1).numpy()
    ours = explain.saliency(model, x)
    assert ours.shape == (3, 8, 8)
    np.testing.assert_allclose(ours, torch_saliency(reference, x, predicted), rtol=1e-10,
                               atol=1e-12)
    # an explicit target, one per image
    target = [2, 0, 1]
    np.testing.assert_allclose(explain.saliency(model, x, target=target),
                               torch_saliency(reference, x, target), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("layer, index", [("3", 3), ("4", 4), ("0", 0)])
def test_grad_cam_matches_pytorch(layer, index):
    model, reference = small_net()
    x = images(seed=1)
    predicted = reference(torch.from_numpy(x)).argmax(dim=1).numpy()
    ours = explain.grad_cam(model, x, layer)
    expected = torch_grad_cam(reference, x, index, predicted)
    assert ours.shape == (3, 8, 8)
    assert expected.max() > 0  # the comparison is not between two zero maps
    np.testing.assert_allclose(ours, expected, rtol=1e-10, atol=1e-12)
    ones = explain.grad_cam(model, x, layer, target=1)
    np.testing.assert_allclose(ones, torch_grad_cam(reference, x, index, [1, 1, 1]),
                               rtol=1e-10, atol=1e-12)
    normalized = explain.grad_cam(model, x, layer, target=1, normalize=True)
    peaks = ones.max(axis=(1, 2))
    for i in range(3):
        if peaks[i] > 0:
            np.testing.assert_allclose(normalized[i], ones[i] / peaks[i], rtol=1e-12)


def test_gradient_views_leave_the_model_as_it_was():
    model, _ = small_net()
    model.train()
    model[2].training = False
    before = {name: p.data.copy() for name, p in model.named_parameters()}
    explain.saliency(model, images())
    explain.grad_cam(model, images(), "3")
    assert model.training and not model[2].training and model[0].training
    for name, parameter in model.named_parameters():
        assert parameter.grad is None, name
        assert parameter.requires_grad, name
        np.testing.assert_array_equal(parameter.data, before[name])
    assert not model[3]._forward_hooks


class Linear2(nn.Module):
    """Two classes: logit 1 = sum of the pixels in rows 0..3, columns 0..3; logit 0 = 0."""

    def __init__(self, size=12):
        super().__init__()
        self.size = size
        self.flatten = nn.Flatten()
        self.linear = nn.Linear(size * size, 2, bias=False)
        weight = np.zeros((2, size, size))
        weight[1, :4, :4] = 1.0
        self.linear.weight.data[...] = weight.reshape(2, -1)

    def forward(self, x):
        return self.linear(self.flatten(x))


def test_occlusion_of_the_evidence_lowers_the_probability():
    model = Linear2().to(np.float64)
    x = np.zeros((1, 1, 12, 12))
    x[0, 0, :4, :4] = 0.25          # evidence for class 1: logit 4.0
    drops = explain.occlusion(model, x, target=1, window=4, stride=2, fill=0.0)
    assert drops.shape == (1, (12 - 4) // 2 + 1, (12 - 4) // 2 + 1) == (1, 5, 5)

    def p1(logit):
        return 1.0 / (1.0 + np.exp(-logit))

    # Closed form: the patch at (r, c) hides (4 - r) x (4 - c) evidence pixels of 0.25 each.
    expected = np.zeros((5, 5))
    for i in range(5):
        for j in range(5):
            hidden = max(0, 4 - 2 * i) * max(0, 4 - 2 * j) * 0.25
            expected[i, j] = p1(4.0) - p1(4.0 - hidden)
    np.testing.assert_allclose(drops[0], expected, rtol=1e-12, atol=1e-15)
    assert drops[0, 0, 0] > 0.4                 # covering all the evidence: p falls to 1/2
    assert drops[0, 2:, 2:].max() == 0.0        # patches away from the evidence change nothing
    # the default target is the predicted class (class 1 here)
    np.testing.assert_allclose(explain.occlusion(model, x, window=4, stride=2), drops)


def test_top_activations_against_a_direct_ranking():
    # A 1x1 conv with weight 1 copies the image: channel 0's response is each image's maximum.
    model = nn.Sequential(nn.Conv2d(1, 2, 1, bias=False), nn.Flatten(), nn.Linear(2 * 9, 3))
    model.to(np.float64)
    model[0].weight.data[...] = np.array([1.0, -1.0]).reshape(2, 1, 1, 1)
    data = np.random.default_rng(5).normal(size=(40, 1, 3, 3))
    indices, values = explain.top_activations(model, data, "0", channel=0, k=5, batch_size=16)
    maxima = data.reshape(40, -1).max(axis=1)
    np.testing.assert_array_equal(indices, np.argsort(-maxima)[:5])
    np.testing.assert_allclose(values, np.sort(maxima)[::-1][:5])
    indices, values = explain.top_activations(model, data, "0", channel=1, k=3)
    np.testing.assert_allclose(values, np.sort(-data.reshape(40, -1).min(axis=1))[::-1][:3])
    # every channel at once: row m is channel m
    both, tops = explain.top_activations(model, data, "0", None, k=3)
    assert both.shape == tops.shape == (2, 3)
    np.testing.assert_array_equal(both[0], np.argsort(-maxima)[:3])
    np.testing.assert_allclose(tops[1], values)
    # a dataset object works too
    dataset = striate.data.TensorDataset(data, np.zeros(40, dtype=np.int64))
    assert list(explain.top_activations(model, dataset, "0", 0, k=5)[0]) == \
        list(np.argsort(-maxima)[:5])


def test_mc_dropout_matches_the_closed_form():
    """Dropout(p=1/2) on one input of 1, then logits (0, a): a kept unit gives
    p1 = sigmoid(2a) (inverted dropout doubles it), a dropped one 1/2, each
    with probability 1/2; so mean = (sigmoid(2a) + 1/2)/2, std = |sigmoid(2a) - 1/2|/2."""
    a = 1.5
    model = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(1, 2, bias=False))
    model.to(np.float64)
    model[2].weight.data[...] = [[0.0], [a]]
    x = np.ones((1, 1, 1, 1))
    samples = 4000
    mean, std = explain.mc_dropout(model, x, samples=samples, seed=0)
    kept = 1 / (1 + np.exp(-2 * a))
    expected_std = abs(kept - 0.5) / 2
    assert mean.shape == std.shape == (1, 2)
    assert abs(mean[0, 1] - (kept + 0.5) / 2) < 4 * expected_std / np.sqrt(samples)
    assert abs(std[0, 1] - expected_std) < 0.01 * expected_std + 1e-3
    np.testing.assert_allclose(mean.sum(axis=1), 1.0)
    assert model.training and model[1].training               # restored: it was training
    model.eval()
    first = explain.mc_dropout(model, x, samples=50, seed=1)
    assert not model.training and not model[1].training       # restored: it was evaluating
    np.testing.assert_array_equal(first[0], explain.mc_dropout(model, x, samples=50, seed=1)[0])
    # without dropout every pass is the model's evaluation output
    model[1].p = 0.0
    with pytest.raises(ValueError, match="no Dropout layer with p > 0"):
        explain.mc_dropout(model, x)


def test_feature_maps_shapes_and_no_hooks_left():
    model, reference = small_net()
    x = images(2)
    maps = explain.feature_maps(model, x)
    assert list(maps) == ["0", "1", "2", "3", "4", "5", "6"]
    assert maps["0"].shape == (2, 4, 8, 8) and maps["2"].shape == (2, 4, 4, 4)
    assert maps["3"].shape == (2, 5, 2, 2) and maps["6"].shape == (2, 3)
    with torch.no_grad():
        np.testing.assert_allclose(maps["3"], reference[:4](torch.from_numpy(x)).numpy(),
                                   rtol=1e-10, atol=1e-12)
    assert all(not m._forward_hooks for m in model.modules())
    only = explain.feature_maps(model, x[0], layers=["4"])
    assert list(only) == ["4"] and only["4"].shape == (1, 5, 2, 2)


def test_feature_maps_remove_hooks_when_the_forward_pass_fails():
    model, _ = small_net()
    with pytest.raises(ValueError):
        explain.feature_maps(model, np.zeros((1, 3, 8, 8)))   # 3 channels for a 2-channel conv
    assert all(not m._forward_hooks for m in model.modules())


def test_filters_are_scaled_per_filter_and_keep_the_sign():
    model, _ = small_net()
    weight = model[0].weight.data
    shown = explain.filters(model)
    assert shown.shape == (4, 2, 3, 3)
    np.testing.assert_allclose(np.abs(shown).max(axis=(1, 2, 3)), 1.0)
    np.testing.assert_allclose(shown * np.abs(weight).max(axis=(1, 2, 3), keepdims=True), weight)
    second = explain.filters(model, layer="3", per_filter=False)
    np.testing.assert_allclose(second, model[3].weight.data / np.abs(model[3].weight.data).max())


# --------------------------------------------------------------------------- bad input


def test_unknown_layer_lists_the_valid_names():
    model, _ = small_net()
    for call in (lambda: explain.grad_cam(model, images(), "conv9"),
                 lambda: explain.feature_maps(model, images(), layers=["conv9"]),
                 lambda: explain.top_activations(model, images(), "conv9", 0)):
        with pytest.raises(ValueError, match=r"no layer named 'conv9'; valid names: 0, 1, 2, 3"):
            call()


def test_grad_cam_needs_a_spatial_layer():
    model, _ = small_net()
    with pytest.raises(ValueError, match=r"not a spatial map .*conv layers: 0, 3"):
        explain.grad_cam(model, images(), "6")


def test_target_out_of_range():
    model, _ = small_net()
    for call in (lambda: explain.saliency(model, images(), target=3),
                 lambda: explain.grad_cam(model, images(), "3", target=[0, 1, 7]),
                 lambda: explain.occlusion(model, images(), target=-1, window=2)):
        with pytest.raises(ValueError, match=r"target class (3|7|-1) is out of range: the model "
                                             r"has 3 classes \(0..2\)"):
            call()


def test_occlusion_window_larger_than_the_image():
    model, _ = small_net()
    with pytest.raises(ValueError, match=r"window 9x9 is larger than the image 8x8"):
        explain.occlusion(model, images(), window=9)


def test_bad_images_and_models():
    model, _ = small_net()
    with pytest.raises(ValueError, match=r"\(N, C, H, W\) or one image \(C, H, W\), got shape \(8, 8\)"):
        explain.saliency(model, np.zeros((8, 8)))
    with pytest.raises(ValueError, match="no Dropout layer"):
        explain.mc_dropout(model, images())
    with pytest.raises(ValueError, match="channel 9 is out of range: layer '0' has 4 channels"):
        explain.top_activations(model, images(), "0", channel=9)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, 1e300])
def test_every_view_refuses_non_finite_input(bad):
    """NaN or infinity (1e300 becomes infinity in float32) in the images: each
    view refuses, naming itself, rather than drawing an all-zero or NaN map."""
    model, _ = small_net()
    model.to(np.float32)
    x = images()
    x[1, 0, 2, 3] = bad
    views = {
        "saliency": lambda: explain.saliency(model, x),
        "grad_cam": lambda: explain.grad_cam(model, x, "3"),
        "occlusion": lambda: explain.occlusion(model, x, window=4),
        "feature_maps": lambda: explain.feature_maps(model, x),
        "top_activations": lambda: explain.top_activations(model, x, "0", channel=0, k=2),
        "mc_dropout": lambda: explain.mc_dropout(
            nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(128, 3)), x),
    }
    for name, call in views.items():
        with pytest.raises(ValueError, match=rf"^{name}: the input holds 1 non-finite value\(s\) "
                                             rf"\(NaN or infinity\), the first at index "
                                             rf"\(1, 0, 2, 3\)"):
            call()


def test_occlusion_refuses_a_non_finite_fill():
    model, _ = small_net()
    for fill in (np.nan, np.inf, "grey"):
        with pytest.raises(ValueError, match="occlusion: fill must be a finite number"):
            explain.occlusion(model, images(), window=4, fill=fill)


# --------------------------------------------------------------------------- the commands

DIGITS_META = {"dataset": "digits", "classes": [str(i) for i in range(10)],
               "input_shape": [1, 28, 28], "normalization": {"mean": [0.1307], "std": [0.3081]},
               "framing": "digits", "background": "dark"}


def _checkpoint(path, name, **kwargs):
    from striate import models
    from striate.train import save_checkpoint

    striate.manual_seed(0)
    model = models.create(name, **kwargs)
    save_checkpoint(path / "checkpoint", model, epoch=1,
                    meta=dict(DIGITS_META, model={"name": name, "kwargs": kwargs}))
    return path


def _draw_seven(path):
    from PIL import Image, ImageDraw

    picture = Image.new("L", (120, 120), 255)
    ImageDraw.Draw(picture).line([(30, 25), (90, 25), (50, 100)], fill=0, width=10)
    picture.save(path)
    return path




@pytest.fixture(scope="module")
def lenet_run(tmp_path_factory):
    pytest.importorskip("safetensors")
    return _checkpoint(tmp_path_factory.mktemp("inspect") / "run", "lenet5", num_classes=10,
                       in_channels=1)


def test_inspect_writes_one_png_per_view(capsys, lenet_run, tmp_path):
    pytest.importorskip("matplotlib")
    digit = _draw_seven(tmp_path / "seven.png")
    out = tmp_path / "views"
    code, stdout, err = _cli(capsys, "inspect", lenet_run, digit, "--what",
                             "filters,maps,saliency,gradcam,occlusion,top", "--out", out)
    assert code == 0, err
    assert sorted(os.listdir(out)) == ["filters.png", "gradcam.png", "maps-seven.png",
                                       "occlusion.png", "saliency.png", "top.png"]
    assert stdout.split() == [str(out / name) for name in
                              ["filters.png", "maps-seven.png", "saliency.png", "gradcam.png",
                               "occlusion.png", "top.png"]]


def test_inspect_without_images_uses_test_digits(capsys, lenet_run, tmp_path):
    code, stdout, err = _cli(capsys, "inspect", lenet_run, "--what", "saliency",
                             "--out", tmp_path / "v")
    assert code == 0, err and (tmp_path / "v" / "saliency.png").exists()


@pytest.mark.parametrize("args, message", [
    (["--layer", "features.9"], "no layer named 'features.9'; valid names: features, features.0"),
    (["--target", "10"], "--target 10 is out of range: the model has 10 classes (0..9)"),
    (["--window", "40", "--what", "occlusion"], "window 40x40 is larger than the image 28x28"),
    (["--what", "filters,colours"], "unknown view 'colours'"),
])
def test_inspect_bad_input(capsys, lenet_run, tmp_path, args, message):
    digit = _draw_seven(tmp_path / "seven.png")
    code, _, err = _cli(capsys, "inspect", lenet_run, digit, "--out", tmp_path / "v", *args)
    assert code in (1, 2) and message in err and "Traceback" not in err


def test_inspect_undecodable_image(capsys, lenet_run, tmp_path):
    (tmp_path / "bad.png").write_bytes(b"\x89PNG broken")
    code, _, err = _cli(capsys, "inspect", lenet_run, tmp_path / "bad.png", "--out",
                        tmp_path / "v")
    assert code == 1 and "cannot decode this file as an image" in err
    assert not (tmp_path / "v").exists()


def test_predict_with_mc_dropout(capsys, tmp_path):
    pytest.importorskip("safetensors")
    run = _checkpoint(tmp_path / "vgg", "vgg11", num_classes=10, in_channels=1, width=0.0625,
                      small_input=True)
    digit = _draw_seven(tmp_path / "seven.png")
    code, out, err = _cli(capsys, "predict", run, digit, "--mc-dropout", "5", "--top", "2")
    assert code == 0, err
    assert out.startswith(f"{digit}: ") and out.count("±") == 2 and "MC dropout, 5 passes" in out


def test_predict_mc_dropout_needs_dropout(capsys, lenet_run, tmp_path):
    digit = _draw_seven(tmp_path / "seven.png")
    code, _, err = _cli(capsys, "predict", lenet_run, digit, "--mc-dropout", "5")
    assert code == 1 and "no Dropout layer" in err


@pytest.mark.parametrize("command", ["kernels", "inspect"])
def test_help_explains_every_option(capsys, command):
    from striate.cli import build_parser

    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    subparser = action.choices[command]
    code, out, _ = _cli(capsys, command, "--help")
    assert code == 0
    for option in subparser._actions:
        assert option.help, f"{command}: {option.option_strings or option.dest} has no help"


def test_grad_cam_layer_is_the_activation_after_the_last_conv():
    from striate.explain import grad_cam_layer

    assert grad_cam_layer(striate.models.create("lenet5")) == "features.4"   # ReLU after C3
    bare = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Conv2d(2, 2, 3))
    assert grad_cam_layer(bare) == "1"                                       # no activation after
    assert grad_cam_layer(nn.Sequential(nn.Flatten(), nn.Linear(4, 2))) is None
