"""Every layer against its torch.nn twin: the torch layer's state dict loads into
ours by name (so names and shapes match), then forward, the input gradient,
every parameter gradient and the updated buffers agree in float32 and float64
with the harness tolerances. Plus construction and forward errors, train/eval
behaviour and reprs."""
import numpy as np
import pytest
import torch

import striate
import striate.nn as nn
from harness import assert_close, randn, tie_free

DTYPES = [np.float32, np.float64]


def _torch_dtype(dtype):
    return torch.float64 if dtype == np.float64 else torch.float32


def _build(name, args, kwargs, dtype):
    """The torch layer (seeded) and ours holding the same weights."""
    torch.manual_seed(0)
    theirs = getattr(torch.nn, name)(*args, **kwargs).to(_torch_dtype(dtype))
    ours = getattr(nn, name)(*args, **kwargs).to(dtype)
    ours.load_state_dict(theirs.state_dict())  # strict: every name and shape must match
    return ours, theirs


def compare_layer(name, args, kwargs, input_shape, dtype, train=True, passes=1, inputs=None):
    ours, theirs = _build(name, args, kwargs, dtype)
    ours.train(train), theirs.train(train)
    for step in range(passes):  # several passes exercise running statistics
        x = (inputs if inputs is not None else randn(*input_shape, seed=step)).astype(dtype)
        xo = striate.Tensor(x.copy(), requires_grad=True)
        xt = torch.tensor(x.copy(), requires_grad=True)
        out, ref = ours(xo), theirs(xt)
        what = f"{name}{args}{kwargs} pass {step}"
        assert_close(out.data, ref.detach().numpy(), dtype, f"{what}: forward")
        assert out.dtype == dtype
        upstream = randn(*ref.shape, seed=100 + step).astype(dtype)
        ours.zero_grad(), theirs.zero_grad()
        out.backward(upstream)
        ref.backward(torch.tensor(upstream))
        assert_close(xo.grad, xt.grad.numpy(), dtype, f"{what}: input gradient")
        torch_params = dict(theirs.named_parameters())
        for pname, p in ours.named_parameters():
            assert_close(p.grad, torch_params[pname].grad.numpy(), dtype, f"{what}: grad of {pname}")
        torch_buffers = dict(theirs.named_buffers())
        for bname, b in ours.named_buffers():
            assert_close(b.data, torch_buffers[bname].numpy(), dtype, f"{what}: buffer {bname}")


# ------------------------------------------------------------------ convolution

CONV_CASES = [
    ("Conv1d", (3, 4, 3), {}, (2, 3, 9)),
    ("Conv1d", (4, 6, 3), dict(stride=2, padding=1, dilation=2, groups=2), (2, 4, 11)),
    ("Conv2d", (3, 4, (3, 2)), dict(stride=(2, 1), padding=(1, 0)), (2, 3, 7, 6)),
    ("Conv2d", (4, 6, 3), dict(padding="same", dilation=2, groups=2, bias=False), (2, 4, 7, 8)),
    ("Conv2d", (2, 4, 3), dict(padding=2, padding_mode="reflect"), (2, 2, 5, 6)),
    ("Conv2d", (2, 3, 3), dict(padding=1, stride=2, padding_mode="circular"), (1, 2, 6, 5)),
    ("Conv2d", (2, 3, 4), dict(padding="same", padding_mode="replicate"), (2, 2, 5, 5)),
    ("Conv2d", (3, 4, 3), {}, (3, 6, 6)),  # unbatched (C, H, W)
    ("Conv3d", (2, 4, (2, 3, 2)), dict(stride=(1, 2, 1), padding=1), (2, 2, 4, 5, 3)),
    ("ConvTranspose1d", (4, 2, 3), dict(stride=2, output_padding=1), (2, 4, 5)),
    ("ConvTranspose2d", (4, 6, 3), dict(stride=2, padding=1, output_padding=1, groups=2), (2, 4, 4, 5)),
    ("ConvTranspose2d", (3, 2, (3, 2)), dict(dilation=2, bias=False), (2, 3, 4, 4)),
    ("ConvTranspose3d", (2, 3, 2), dict(stride=2), (1, 2, 3, 2, 3)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, args, kwargs, shape", CONV_CASES)
def test_conv_layers(name, args, kwargs, shape, dtype):
    compare_layer(name, args, kwargs, shape, dtype)


# ------------------------------------------------------------------ linear, activations, shape

SIMPLE_CASES = [
    ("Linear", (5, 3), {}, (4, 5)),
    ("Linear", (5, 3), dict(bias=False), (2, 4, 5)),
    ("ReLU", (), {}, (3, 7)),
    ("LeakyReLU", (0.2,), {}, (3, 7)),
    ("ELU", (0.5,), {}, (3, 7)),
    ("GELU", (), {}, (3, 7)),
    ("GELU", (), dict(approximate="tanh"), (3, 7)),
    ("Sigmoid", (), {}, (3, 7)),
    ("Tanh", (), {}, (3, 7)),
    ("Softmax", (), dict(dim=1), (3, 4, 5)),
    ("LogSoftmax", (), dict(dim=-1), (3, 4, 5)),
    ("Identity", (3, "ignored"), dict(anything=1), (2, 3)),
    ("Flatten", (), {}, (2, 3, 4, 5)),
    ("Flatten", (0, 2), {}, (2, 3, 4, 5)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, args, kwargs, shape", SIMPLE_CASES)
def test_simple_layers(name, args, kwargs, shape, dtype):
    compare_layer(name, args, kwargs, shape, dtype)


def test_inplace_is_accepted_and_leaves_the_input_alone():
    x = striate.Tensor(np.array([-1.0, 2.0]))
    np.testing.assert_array_equal(nn.ReLU(inplace=True)(x).data, [0.0, 2.0])
    np.testing.assert_array_equal(x.data, [-1.0, 2.0])


# ------------------------------------------------------------------ normalization

NORM_CASES = [
    ("BatchNorm1d", (4,), {}, (6, 4)),
    ("BatchNorm1d", (4,), dict(momentum=None), (3, 4, 5)),
    ("BatchNorm2d", (3,), {}, (4, 3, 5, 5)),
    ("BatchNorm2d", (3,), dict(affine=False, eps=1e-3, momentum=0.3), (2, 3, 4, 3)),
    ("BatchNorm2d", (3,), dict(bias=False), (2, 3, 4, 3)),
    ("BatchNorm2d", (3,), dict(track_running_stats=False), (2, 3, 4, 3)),
    ("BatchNorm3d", (2,), {}, (2, 2, 3, 4, 3)),
    ("LayerNorm", (5,), {}, (3, 4, 5)),
    ("LayerNorm", ([4, 5],), dict(eps=1e-3), (3, 4, 5)),
    ("LayerNorm", (5,), dict(elementwise_affine=False), (3, 5)),
    ("LocalResponseNorm", (3,), {}, (2, 6, 4, 4)),
    ("LocalResponseNorm", (4,), dict(alpha=0.01, beta=0.5, k=2.0), (2, 5, 3, 3)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, args, kwargs, shape", NORM_CASES)
def test_normalization_training(name, args, kwargs, shape, dtype):
    compare_layer(name, args, kwargs, shape, dtype, train=True, passes=3)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, args, kwargs, shape", [c for c in NORM_CASES if "Batch" in c[0]])
def test_batch_norm_evaluation_uses_running_statistics(name, args, kwargs, shape, dtype):
    ours, theirs = _build(name, args, kwargs, dtype)
    for step in range(2):  # train both a little so the running statistics are not 0 and 1
        x = randn(*shape, seed=step).astype(dtype) * 2 + 1
        ours(striate.Tensor(x)), theirs(torch.tensor(x))
    state = theirs.state_dict()
    ours.load_state_dict(state)
    x = randn(*shape, seed=9).astype(dtype)
    ours.eval(), theirs.eval()
    assert_close(ours(striate.Tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), dtype, name)
    for key, value in ours.state_dict().items():  # evaluation leaves the statistics alone
        np.testing.assert_array_equal(value, state[key].numpy())


# ------------------------------------------------------------------ pooling and resampling

POOL_CASES = [
    ("MaxPool1d", (2,), {}, (2, 3, 9)),
    ("MaxPool2d", (3,), dict(stride=2, padding=1), (2, 3, 7, 6)),
    ("MaxPool2d", (3,), dict(stride=2, ceil_mode=True, dilation=2), (2, 2, 9, 8)),
    ("MaxPool3d", (2,), {}, (1, 2, 4, 4, 5)),
    ("AvgPool1d", (3,), dict(stride=2, padding=1), (2, 3, 8)),
    ("AvgPool2d", (3,), dict(stride=2, padding=1, count_include_pad=False), (2, 3, 7, 6)),
    ("AvgPool2d", (2,), dict(divisor_override=3, ceil_mode=True), (2, 3, 5, 5)),
    ("AvgPool3d", (2,), {}, (1, 2, 4, 4, 4)),
    ("AdaptiveAvgPool1d", (3,), {}, (2, 3, 7)),
    ("AdaptiveAvgPool2d", ((2, 3),), {}, (2, 3, 7, 5)),
    ("AdaptiveAvgPool3d", (2,), {}, (1, 2, 5, 4, 3)),
    ("AdaptiveMaxPool1d", (4,), {}, (2, 3, 9)),
    ("AdaptiveMaxPool2d", ((3, 2),), {}, (2, 3, 7, 5)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, args, kwargs, shape", POOL_CASES)
def test_pooling_layers(name, args, kwargs, shape, dtype):
    compare_layer(name, args, kwargs, shape, dtype, inputs=tie_free(shape))


UPSAMPLE_CASES = [
    ((), dict(scale_factor=2), (2, 3, 4, 5)),
    ((), dict(size=(5, 7), mode="bilinear"), (2, 3, 3, 4)),
    ((), dict(scale_factor=2, mode="bilinear", align_corners=True), (1, 2, 3, 3)),
    ((), dict(size=7, mode="linear"), (2, 3, 4)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("args, kwargs, shape", UPSAMPLE_CASES)
def test_upsample(args, kwargs, shape, dtype):
    compare_layer("Upsample", args, kwargs, shape, dtype)


# ------------------------------------------------------------------ dropout


def test_dropout_train_and_eval():
    layer = nn.Dropout(0.25)
    x = striate.Tensor(np.ones((200, 100)), requires_grad=True)
    out = layer(x)
    kept = out.data != 0
    np.testing.assert_allclose(out.data[kept], 1 / 0.75)
    n = kept.size  # the dropped fraction is p within 5 standard errors
    assert abs((1 - kept.mean()) - 0.25) <= 5 * np.sqrt(0.25 * 0.75 / n)
    out.sum().backward()
    np.testing.assert_allclose(x.grad, kept / 0.75)
    layer.eval()
    assert np.array_equal(layer(x).data, x.data)


def test_dropout_is_seeded():
    x = striate.Tensor(np.ones((10, 10)))
    striate.manual_seed(3)
    a = nn.Dropout()(x).data
    striate.manual_seed(3)
    b = nn.Dropout()(x).data
    np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ losses

LOSS_CASES = [
    ("CrossEntropyLoss", {}, "classes"),
    ("CrossEntropyLoss", dict(weight=[0.2, 1.0, 2.0, 0.5], ignore_index=1), "classes"),
    ("CrossEntropyLoss", dict(label_smoothing=0.1, reduction="sum"), "classes"),
    ("NLLLoss", dict(reduction="none"), "classes"),
    ("NLLLoss", dict(weight=[0.2, 1.0, 2.0, 0.5]), "classes"),
    ("MSELoss", {}, "values"),
    ("MSELoss", dict(reduction="sum"), "values"),
    ("BCEWithLogitsLoss", {}, "binary"),
    ("BCEWithLogitsLoss", dict(pos_weight=[0.5, 2.0, 1.0, 3.0]), "binary"),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, kwargs, target_kind", LOSS_CASES)
def test_losses(name, kwargs, target_kind, dtype):
    x = randn(6, 4).astype(dtype)
    rng = np.random.default_rng(1)
    target = {"classes": rng.integers(0, 4, 6), "values": randn(6, 4, seed=2).astype(dtype),
              "binary": rng.integers(0, 2, (6, 4)).astype(dtype)}[target_kind]
    ours_kwargs = {k: np.array(v, dtype=dtype) if isinstance(v, list) else v for k, v in kwargs.items()}
    torch_kwargs = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in ours_kwargs.items()}
    ours, theirs = getattr(nn, name)(**ours_kwargs), getattr(torch.nn, name)(**torch_kwargs)
    xo, xt = striate.Tensor(x.copy(), requires_grad=True), torch.tensor(x.copy(), requires_grad=True)
    out, ref = ours(xo, striate.Tensor(target)), theirs(xt, torch.tensor(target))
    assert_close(out.data, ref.detach().numpy(), dtype, f"{name} forward")
    upstream = randn(*ref.shape, seed=3).astype(dtype)
    out.backward(upstream)
    ref.backward(torch.tensor(upstream))
    assert_close(xo.grad, xt.grad.numpy(), dtype, f"{name} input gradient")
    assert list(ours.state_dict()) == list(theirs.state_dict())  # weights are buffers, as in torch


# ------------------------------------------------------------------ errors name the layer and shapes


@pytest.mark.parametrize("make, error, message", [
    (lambda: nn.Conv2d(3, 4, 3, groups=2), ValueError, r"Conv2d: groups=2 must divide both the input channels \(3\) and the output channels \(4\)"),
    (lambda: nn.Conv1d(4, 6, 3, groups=4), ValueError, r"Conv1d: groups=4 must divide .* the output channels \(6\)"),
    (lambda: nn.Conv2d(3, 4, 3, stride=2, padding="same"), ValueError, "Conv2d: padding='same' needs stride 1"),
    (lambda: nn.Conv2d(3, 4, 3, padding_mode="mirror"), ValueError, "Conv2d: padding_mode"),
    (lambda: nn.Conv2d(3, 4, (3, 3, 3)), ValueError, "Conv2d: kernel_size"),
    (lambda: nn.Conv2d(0, 4, 3), ValueError, "Conv2d: in_channels must be a positive int"),
    (lambda: nn.ConvTranspose2d(3, 4, 3, stride=2, output_padding=2), ValueError,
     "ConvTranspose2d: output_padding"),
    (lambda: nn.ConvTranspose2d(3, 4, 3, padding_mode="reflect"), ValueError,
     "ConvTranspose2d: only padding_mode='zeros'"),
    (lambda: nn.Dropout(1.5), ValueError, "Dropout: probability"),
    (lambda: nn.BatchNorm2d(0), ValueError, "BatchNorm2d: num_features"),
    (lambda: nn.Upsample(), ValueError, "Upsample: give exactly one"),
    (lambda: nn.CrossEntropyLoss(reduction="average"), ValueError, "CrossEntropyLoss: reduction"),
    (lambda: nn.GELU("fast"), ValueError, "GELU: approximate"),
    (lambda: nn.MaxPool2d(2, return_indices=True), NotImplementedError, "MaxPool2d: return_indices"),
])
def test_construction_errors(make, error, message):
    with pytest.raises(error, match=message):
        make()


@pytest.mark.parametrize("layer, shape, message", [
    (nn.Conv2d(3, 8, 3), (2, 4, 9, 9), r"Conv2d\(3, 8\): input of shape \(2, 4, 9, 9\) has 4 channels, but the layer expects 3"),
    (nn.Conv2d(3, 8, 3), (3, 9), r"Conv2d: expected a 3-d input \(C, H, W\) or a 4-d input \(N, C, H, W\), got shape \(3, 9\)"),
    (nn.ConvTranspose1d(3, 8, 3), (2, 5, 9), r"ConvTranspose1d\(3, 8\): input of shape \(2, 5, 9\) has 5 channels, but the layer expects 3"),
    (nn.Linear(10, 4), (2, 9), r"Linear\(10, 4\): input of shape \(2, 9\) has 9 features in its last dim, but the layer expects 10"),
    (nn.BatchNorm2d(3), (2, 3, 4), r"BatchNorm2d\(3\): expected a 4-d input \(N, C, H, W\), got shape \(2, 3, 4\)"),
    (nn.BatchNorm1d(3), (2, 4), r"BatchNorm1d\(3\): input of shape \(2, 4\) has 4 channels in dimension 1, but the layer expects 3"),
    (nn.LayerNorm((4, 5)), (2, 5, 4), r"LayerNorm\(\(4, 5\)\): .* got shape \(2, 5, 4\)"),
])
def test_forward_errors_name_layer_and_shapes(layer, shape, message):
    with pytest.raises(ValueError, match=message):
        layer(striate.Tensor(np.zeros(shape, dtype=np.float32)))


# ------------------------------------------------------------------ repr


@pytest.mark.parametrize("name, args, kwargs", [
    (name, args, kwargs) for name, args, kwargs, _ in CONV_CASES + SIMPLE_CASES + NORM_CASES + POOL_CASES
] + [("Upsample", args, kwargs) for args, kwargs, _ in UPSAMPLE_CASES] + [
    ("Dropout", (0.2,), {}), ("CrossEntropyLoss", (), {}), ("MSELoss", (), {}),
    ("ReLU", (), dict(inplace=True)), ("ELU", (), dict(inplace=True))])
def test_repr_equals_torch(name, args, kwargs):
    assert repr(getattr(nn, name)(*args, **kwargs)) == repr(getattr(torch.nn, name)(*args, **kwargs))
