"""ONNX export: every model of the zoo (at reduced width and input size) and
U-Net export, pass ``onnx.checker``, and onnxruntime (an independent
implementation of every op) gives striate's eval-mode outputs for batch
sizes 1 and 3 from one file with a dynamic batch axis."""
import os

import numpy as np
import pytest

import striate
from striate import functional as F
from striate import nn
from striate.onnx import OnnxExportError, export

onnx = pytest.importorskip("onnx", reason="ONNX export tests need the onnx package "
                                          "(pip install 'striate[onnx]')")
ort = pytest.importorskip("onnxruntime", reason="ONNX export tests need onnxruntime "
                                                "(pip install 'striate[onnx]')")

SMALL = {"width": 0.0625, "num_classes": 10}
SMALL_INPUT = {**SMALL, "small_input": True}

#: model name -> (factory options, input shape C, H, W): small, but every layer type intact.
CASES = {
    "lenet5": ({}, (1, 28, 28)),
    "lenet5_classic": ({}, (1, 32, 32)),
    "alexnet": (SMALL, (3, 63, 63)),             # 1x1 features -> adaptive 6x6 (uneven windows)
    "alexnet_original": (SMALL, (3, 227, 227)),  # local response norm
    "zfnet": (SMALL, (3, 224, 224)),
    "googlenet": (SMALL_INPUT, (3, 16, 16)),    # concatenated branches, ceil-mode pools
    "xception": ({**SMALL_INPUT, "middle_blocks": 2}, (3, 16, 16)),   # separable convolutions
    "unet": ({"width": 0.0625}, (1, 188, 188)),  # transposed convolutions, crop + concat
    "cnn1d": ({"channels": 8}, (1, 40)),          # 1-D convolutions, pooling and batch norm
}
for _name in ("vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19",
              "vgg19_bn", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
              "densenet121", "densenet169", "densenet201"):
    CASES[_name] = (SMALL_INPUT, (3, 16, 16))

EXTRA = {"unet_padded_bn": ("unet", {"width": 0.0625, "padded": True, "batch_norm": True},
                            (1, 32, 32))}


def _randomize(model, seed=0):
    """He-scaled random weights and non-trivial batch-norm statistics: the zoo's
    own initializations (N(0, 0.01) in GoogLeNet, say) at a sixteenth of the
    width let the signal vanish, and outputs that ignore the input would make
    the comparison empty."""
    rng = np.random.default_rng(seed)
    for name, param in model.named_parameters():
        if param.ndim > 1:
            fan_in = int(np.prod(param.shape[1:]))
            param.data[...] = rng.normal(0.0, np.sqrt(2.0 / fan_in), param.shape)
        elif name.endswith("weight"):
            param.data[...] = rng.uniform(0.5, 1.5, param.shape)
        else:
            param.data[...] = rng.uniform(-0.1, 0.1, param.shape)
    for name, buffer in model.named_buffers():
        if name.endswith("running_mean"):
            buffer.data[...] = rng.uniform(-0.1, 0.1, buffer.shape)
        elif name.endswith("running_var"):
            buffer.data[...] = rng.uniform(0.5, 1.5, buffer.shape)
    return model


def _check_against_onnxruntime(model, path, input_shape, seed=0):
    """Export, check, and compare for batch 1 and 3; returns the two maximum
    differences relative to the largest output magnitude."""
    export(model, path, input_shape)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    graph_input = onnx.load(str(path)).graph.input[0]
    assert graph_input.type.tensor_type.shape.dim[0].dim_param == "batch"
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    model.eval()
    errors = []
    for batch in (1, 3):
        x = np.random.default_rng(seed + batch).standard_normal((batch,) + input_shape)
        x = x.astype(np.float32)
        with striate.no_grad():
            expected = model(striate.Tensor(x)).data
        got = session.run(None, {"input": x})[0]
        assert got.shape == expected.shape
        scale = np.abs(expected).max()
        assert scale > 0
        if batch > 1:   # the output really depends on the input
            assert np.ptp(expected, axis=0).max() > 1e-3 * scale
        errors.append(float(np.abs(got - expected).max() / scale))
    return errors


def test_every_zoo_model_has_a_case():
    assert set(CASES) == set(striate.models.list_models())


@pytest.mark.parametrize("name", sorted(CASES) + sorted(EXTRA))
def test_zoo_model_matches_onnxruntime(tmp_path, name):
    factory, options, shape = (name,) + CASES[name] if name in CASES else EXTRA[name]
    model = _randomize(striate.models.create(factory, **options))
    errors = _check_against_onnxruntime(model, tmp_path / f"{name}.onnx", shape)
    assert max(errors) <= 1e-4, errors


class _EveryOp(nn.Module):
    """Ops the zoo does not use, each with the option that changes its ONNX form."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1, dilation=1)
        self.dilated = nn.Conv2d(4, 4, 3, padding=2, dilation=2, groups=2)
        self.up_nearest = nn.Upsample(scale_factor=2, mode="nearest")
        self.up_linear = nn.Upsample(scale_factor=2, mode="bilinear")
        self.up_corners = nn.Upsample(size=(11, 11), mode="bilinear", align_corners=True)
        self.avg = nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)
        self.avg_incl = nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.adaptive = nn.AdaptiveAvgPool2d((3, 2))
        self.norm = nn.LayerNorm(4)
        self.fc = nn.Linear(4, 5)

    def forward(self, x):
        x = self.conv(x)
        x = F.leaky_relu(x, 0.1) + F.elu(x) * F.silu(x)
        x = self.dilated(x)
        x = F.gelu(x) - F.gelu(x, approximate="tanh")
        x = F.pad(x, (1, 2, 0, 1), mode="reflect")
        x = F.relu6(x * 3.0) + F.softplus(x, beta=2.0)
        a = self.up_corners(self.avg(self.up_linear(x)))
        b = self.up_corners(self.avg_incl(self.maxpool(self.up_nearest(x))))
        x = F.cat([a, b[:, 1:3], b[:, :, ::-1]], 1)
        x = self.adaptive(x).permute(0, 2, 3, 1)[..., :4]       # (N, 3, 2, 4)
        x = self.fc(self.norm(F.sigmoid(x)))
        x = x.mean(dim=(1, 2)) + x.max(dim=2).sum(dim=1)
        return F.log_softmax(x, dim=1) + F.softmax(x, dim=1)


def test_ops_beyond_the_zoo_match_onnxruntime(tmp_path):
    errors = _check_against_onnxruntime(_EveryOp(), tmp_path / "ops.onnx", (3, 9, 9))
    assert max(errors) <= 1e-4, errors


def test_model_mode_restored_and_dropout_is_identity(tmp_path):
    model = striate.models.create("lenet5")
    model.classifier.append(nn.Dropout(0.5))
    model.train()
    export(model, tmp_path / "m.onnx", (1, 28, 28))
    assert all(m.training for m in model.modules())   # traced in eval mode, then restored
    assert "Dropout" not in {node.op_type for node in onnx.load(str(tmp_path / "m.onnx")).graph.node}
    errors = _check_against_onnxruntime(model, tmp_path / "m.onnx", (1, 28, 28))
    assert max(errors) <= 1e-4, errors


# --------------------------------------------------------------------------- refusals


class _Odd(striate.Function):
    def forward(self, x):
        return x * 2

    def backward(self, g):
        return g * 2


class _OddLayer(nn.Module):
    def forward(self, x):
        return _Odd()(x)


class _HasOddLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.odd = _OddLayer()

    def forward(self, x):
        return self.odd(self.conv(x))


def test_op_without_onnx_form_names_layer_and_writes_nothing(tmp_path):
    path = tmp_path / "odd.onnx"
    with pytest.raises(OnnxExportError, match=r"op _Odd in layer 'odd' \(_OddLayer\)"):
        export(_HasOddLayer(), path, (1, 8, 8))
    assert os.listdir(tmp_path) == []


def test_uneven_adaptive_max_pool_refused(tmp_path):
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.AdaptiveMaxPool2d(4))
    with pytest.raises(OnnxExportError, match=r"layer '1' \(AdaptiveMaxPool2d\).*uneven windows"):
        export(model, tmp_path / "m.onnx", (1, 9, 9))
    assert os.listdir(tmp_path) == []


def test_reshape_across_batch_refused_with_dynamic_batch(tmp_path):
    class Merge(nn.Module):
        def forward(self, x):
            return x.reshape(-1)
    with pytest.raises(OnnxExportError, match="moves the batch axis.*dynamic_batch=False"):
        export(Merge(), tmp_path / "m.onnx", (2, 3))
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("arguments,message", [
    (dict(input_shape=(1, 28)), r"export: the model does not take inputs of shape \(N, "
                                r"\*input_shape\) = \(2, 1, 28\) \(Conv2d\(1, 6\): .*\); "
                                r"input_shape is the shape of one input without the batch"),
    (dict(input_shape="1x28x28"), r"export: input_shape must be the positive sizes of one input"),
    (dict(input_shape=(1, 0, 28)), r"export: input_shape must be the positive sizes"),
    (dict(input_shape=(1, 28, 28), opset="17; drop"),
     r"export: opset must be an int between 13 and \d+, got '17; drop'"),
    (dict(input_shape=(1, 28, 28), opset=12), r"export: opset must be an int between 13"),
])
def test_bad_input_shape_and_opset_are_named(tmp_path, arguments, message):
    from striate import models

    with pytest.raises(ValueError, match=message):
        export(models.create("lenet5"), tmp_path / "m.onnx", **arguments)
    assert os.listdir(tmp_path) == []
