"""The fast route's passes between convolutions (batch norm, ReLU, the sum
of a residual connection, max pooling: ``striate/accel``) against the NumPy
route and PyTorch, in float32, in every layout an activation arrives in.

Tolerances: ReLU, the sum and max pooling's forward move or add values
exactly, so they must match the NumPy route bit for bit, gradients
included (a pooling gradient is routed, not computed: a winner chosen
differently on a tie would show). Batch norm sums a channel's values in
another order than NumPy, so its results agree within ``RTOL`` = 1e-5 of the
reference's largest magnitude (as in ``test_accel.py``); running statistics
too.

In CI a skip of this module fails the run (``conftest.py``).
"""
import numpy as np
import pytest

import striate
import striate.functional as F
from striate import accel

RTOL = 1e-5

needs_onednn = pytest.mark.skipif(not accel.available(),
                                  reason='oneDNN is not installed: pip install "striate[fast]"')
pytestmark = needs_onednn


@pytest.fixture
def route():
    yield accel.set_enabled
    accel.set_enabled(None)


def laid_out(array, layout):
    """``array`` (N, C, *S) with the same values in memory order ``layout``."""
    if layout == "NHWC":
        moved = np.ascontiguousarray(np.moveaxis(array, 1, -1))
        return np.moveaxis(moved, -1, 1)
    if layout == "channel-major":
        return np.ascontiguousarray(array.swapaxes(0, 1)).swapaxes(0, 1)
    if layout == "strided":  # every other column of a wider array: not dense
        return np.repeat(array, 2, axis=-1)[..., ::2]
    return np.ascontiguousarray(array)


def close(ours, reference, what):
    assert ours.shape == reference.shape, what
    scale = max(float(np.abs(reference).max()), 1e-30)
    np.testing.assert_allclose(ours, reference, rtol=RTOL, atol=RTOL * scale, err_msg=what)


def run_both(route, compute):
    """compute() on the fast route and on the NumPy route: (fast, numpy) results."""
    results = []
    for on in (True, False):
        route(on)
        results.append([np.asarray(r) for r in compute()])
    return results


def gradient_of(t):
    return np.asarray(t.grad.data if hasattr(t.grad, "data") else t.grad)


LAYOUTS = ["NHWC", "plain", "channel-major"]


# --------------------------------------------------------------------------- ReLU and add


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("grad_layout", ["same", "plain"])
def test_relu_matches_the_numpy_route_bit_for_bit(route, layout, grad_layout):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 24, 15, 13)).astype(np.float32)
    x[0, 0, :3] = 0.0   # the gradient at 0 is 0, as in PyTorch
    x = laid_out(x, layout)
    upstream = rng.standard_normal(x.shape).astype(np.float32)
    upstream = laid_out(upstream, layout if grad_layout == "same" else "plain")
    assert accel.relu(x) is not None

    def compute():
        X = striate.Tensor(x, requires_grad=True)
        y = F.relu(X)
        y.backward(striate.Tensor(upstream))
        return y.data, gradient_of(X), y.data.strides == x.strides
    fast, reference = run_both(route, compute)
    for a, b in zip(fast, reference):
        assert np.array_equal(a, b)
    assert fast[2], "the output is laid out as the input"


def test_relu_leaves_small_and_gapped_arrays_to_numpy(route):
    route(True)
    assert accel.relu(np.ones((2, 3, 4, 4), np.float32)) is None       # below the size
    assert accel.relu(laid_out(np.ones((4, 24, 15, 13), np.float32), "strided")) is None
    assert accel.relu(np.ones((4, 24, 15, 13), np.float64)) is None
    route(False)
    assert accel.relu(np.ones((4, 24, 15, 13), np.float32)) is None


@pytest.mark.parametrize("layout", LAYOUTS)
def test_residual_sum_matches_the_numpy_route_bit_for_bit(route, layout):
    rng = np.random.default_rng(1)
    a = laid_out(rng.standard_normal((4, 32, 14, 14)).astype(np.float32), layout)
    b = laid_out(rng.standard_normal((4, 32, 14, 14)).astype(np.float32), layout)
    route(True)
    assert accel.add(a, b) is not None
    assert accel.add(a, laid_out(np.asarray(b), "plain" if layout != "plain" else "NHWC")) is None
    assert accel.add(a, np.ascontiguousarray(b[:, :1])) is None   # a broadcast: NumPy's

    def compute():
        A, B = striate.Tensor(a, requires_grad=True), striate.Tensor(b, requires_grad=True)
        y = A + B
        y.backward(striate.Tensor(np.ones(y.shape, np.float32)))
        return y.data, gradient_of(A), gradient_of(B)
    fast, reference = run_both(route, compute)
    for x, y in zip(fast, reference):
        assert np.array_equal(x, y)


# --------------------------------------------------------------------------- batch norm

BN_SHAPES = [(8, 16, 7, 9), (4, 5, 6, 6), (3, 32, 10), (6, 12), (2, 8, 3, 4, 5)]


def _batch_norm(x, affine, training, upstream, grad=True):
    c = x.shape[1]
    rng = np.random.default_rng(7)
    running_mean = striate.Tensor(rng.standard_normal(c).astype(np.float32))
    running_var = striate.Tensor(rng.uniform(0.5, 2.0, c).astype(np.float32))
    X = striate.Tensor(x, requires_grad=grad)
    W = striate.Tensor(rng.uniform(0.5, 1.5, c).astype(np.float32), requires_grad=grad) if affine else None
    B = striate.Tensor(rng.standard_normal(c).astype(np.float32), requires_grad=grad) if affine else None
    y = F.batch_norm(X, running_mean, running_var, W, B, training=training, momentum=0.1, eps=1e-5)
    out = [y.data, running_mean.data.copy(), running_var.data.copy()]
    if grad:
        y.backward(striate.Tensor(upstream))
        out += [gradient_of(X)] + ([gradient_of(W), gradient_of(B)] if affine else [])
    return out


@pytest.mark.parametrize("shape, layout", [
    (shape, layout) for shape in BN_SHAPES
    for layout in (["channels last", "plain", "channel-major"] if len(shape) > 2 else ["plain"])],
    ids=str)
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_training_matches_the_numpy_route(route, shape, layout, affine):
    rng = np.random.default_rng(2)
    x = (3.0 + 2.0 * rng.standard_normal(shape)).astype(np.float32)   # off-centre, negative too
    upstream = rng.standard_normal(shape).astype(np.float32)
    if layout == "channels last":
        x = np.moveaxis(np.ascontiguousarray(np.moveaxis(x, 1, -1)), -1, 1)
    elif layout == "channel-major":
        x = np.ascontiguousarray(x.swapaxes(0, 1)).swapaxes(0, 1)
    route(True)
    assert accel.batch_norm(x, True, 1e-5, affine, affine) is not None
    fast, reference = run_both(route, lambda: _batch_norm(x, affine, True, upstream))
    names = ["output", "running mean", "running var", "input grad", "weight grad", "bias grad"]
    for name, a, b in zip(names, fast, reference):
        close(a, b, f"{name} of {shape} {layout}")


@pytest.mark.parametrize("layout", LAYOUTS)
def test_batch_norm_evaluation_matches_the_numpy_route(route, layout):
    rng = np.random.default_rng(3)
    x = laid_out(rng.standard_normal((4, 16, 6, 5)).astype(np.float32), layout)
    with striate.no_grad():
        fast, reference = run_both(route, lambda: _batch_norm(x, True, False, None, grad=False))
    for a, b in zip(fast, reference):
        close(a, b, "evaluation")
    # evaluation with a gradient asked for (a frozen layer, fine-tuning) stays on NumPy,
    # and is right
    upstream = rng.standard_normal(x.shape).astype(np.float32)
    fast, reference = run_both(route, lambda: _batch_norm(x, True, False, upstream))
    for a, b in zip(fast, reference):
        close(a, b, "evaluation with gradients")


def test_batch_norm_layers_against_pytorch_float32(route):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    x = rng.standard_normal((8, 16, 9, 9)).astype(np.float32)
    x = np.moveaxis(np.ascontiguousarray(np.moveaxis(x, 1, -1)), -1, 1)   # as a fast conv gives it
    upstream = rng.standard_normal(x.shape).astype(np.float32)
    route(True)
    layer = striate.nn.BatchNorm2d(16)
    reference = torch.nn.BatchNorm2d(16)
    for _ in range(2):   # two steps: the running statistics move
        X, TX = striate.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        y, ty = layer(X), reference(TX)
        y.backward(striate.Tensor(upstream))
        ty.backward(torch.tensor(upstream))
        close(y.data, ty.detach().numpy(), "output")
        close(gradient_of(X), TX.grad.numpy(), "input grad")
        close(gradient_of(layer.weight), reference.weight.grad.numpy(), "weight grad")
        close(gradient_of(layer.bias), reference.bias.grad.numpy(), "bias grad")
        layer.weight.grad = layer.bias.grad = None
        reference.zero_grad()
    close(layer.running_mean.data, reference.running_mean.numpy(), "running mean")
    close(layer.running_var.data, reference.running_var.numpy(), "running var")


# --------------------------------------------------------------------------- max pooling

# (x shape, kernel, stride, padding, dilation, ceil mode)
POOLS = [
    ((4, 6, 28, 28), 2, 2, 0, 1, False),     # LeNet-5's
    ((4, 16, 10, 10), 2, 2, 0, 1, False),
    ((2, 8, 13, 13), 3, 2, 1, 1, False),     # ResNet's stem: overlapping, padded
    ((2, 8, 13, 11), 3, 2, 0, 1, True),      # AlexNet's, ceil mode
    ((2, 5, 12, 12), 3, 1, 1, 2, False),     # dilated
    ((2, 4, 9, 8), (3, 2), (2, 1), (1, 0), 1, False),   # asymmetric
]


def _pool(x, setting, upstream):
    _, kernel, stride, padding, dilation, ceil_mode = setting
    X = striate.Tensor(x, requires_grad=True)
    y = F.max_pool2d(X, kernel, stride, padding, dilation, ceil_mode)
    y.backward(striate.Tensor(upstream))
    return y.data, gradient_of(X)


@pytest.mark.parametrize("setting", POOLS, ids=lambda s: f"{s[0]}-k{s[1]}-s{s[2]}-p{s[3]}-d{s[4]}-{s[5]}")
@pytest.mark.parametrize("layout", LAYOUTS)
def test_max_pool_matches_the_numpy_route(route, setting, layout):
    rng = np.random.default_rng(5)
    x = rng.standard_normal(setting[0]).astype(np.float32)
    x = np.maximum(x, 0)                       # ReLU'd: whole windows of tied zeros
    x[:, :, ::3] = np.round(x[:, :, ::3])      # and ties between equal positive values
    x = laid_out(x, layout)
    route(True)
    with striate.no_grad():
        out_shape = F.max_pool2d(striate.Tensor(x), *setting[1:]).shape
    upstream = rng.standard_normal(out_shape).astype(np.float32)
    fast, reference = run_both(route, lambda: _pool(x, setting, upstream))
    assert np.array_equal(fast[0], reference[0])
    overlapping = np.any(np.atleast_1d(setting[2]) < np.atleast_1d(setting[1]))
    if overlapping:   # a pixel winning two windows sums two gradients, in some order
        close(fast[1], reference[1], "input grad")
    else:
        assert np.array_equal(fast[1], reference[1])


def test_max_pool_takes_the_fast_route_and_leaves_the_rest(route):
    route(True)
    x = np.zeros((2, 3, 8, 8), np.float32)
    assert accel.max_pool(x, (2, 2), (2, 2), ((0, 0), (0, 0)), (1, 1), True) is not None
    assert accel.max_pool(x.astype(np.float64), (2, 2), (2, 2), ((0, 0),) * 2, (1, 1), True) is None
    assert accel.max_pool(x[..., ::2], (2, 2), (2, 2), ((0, 0),) * 2, (1, 1), True) is None


def test_max_pool_against_pytorch_float32(route):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    x = laid_out(np.maximum(rng.standard_normal((4, 8, 12, 12)), 0).astype(np.float32), "NHWC")
    upstream = rng.standard_normal((4, 8, 6, 6)).astype(np.float32)
    route(True)
    X = striate.Tensor(x, requires_grad=True)
    y = F.max_pool2d(X, 3, 2, 1)
    y.backward(striate.Tensor(upstream))
    TX = torch.tensor(np.ascontiguousarray(x), requires_grad=True)
    ty = torch.nn.functional.max_pool2d(TX, 3, 2, 1)
    ty.backward(torch.tensor(upstream))
    assert np.array_equal(y.data, ty.detach().numpy())
    close(gradient_of(X), TX.grad.numpy(), "input grad")


# --------------------------------------------------------------------------- a whole network


def test_a_resnet_step_matches_the_numpy_route(route):
    """Every pass above chained as a ResNet chains them (NHWC from end to end)."""
    def step():
        striate.manual_seed(0)
        model = striate.models.create("resnet18", num_classes=10, in_channels=1, width=0.25,
                                      small_input=True)
        x = np.random.default_rng(8).standard_normal((4, 1, 16, 16)).astype(np.float32)
        loss = F.cross_entropy(model(striate.Tensor(x)), striate.Tensor(np.arange(4)))
        loss.backward()
        return [loss.data] + [gradient_of(p) for p in model.parameters()]
    fast, reference = run_both(route, step)
    route(True)
    kinds = {key[0] for key, plan in accel._plans.items() if plan is not None}
    assert {"convolution", "batch norm", "relu", "add"} <= kinds, kinds
    for i, (a, b) in enumerate(zip(fast, reference)):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4 * max(np.abs(b).max(), 1e-3),
                                   err_msg=f"tensor {i}")


def test_activations_pass_between_layers_without_a_reorder(route, monkeypatch):
    """NHWC from one convolution to the next, through batch norm, ReLU and max
    pooling, forward and backward: the only reorders are of the weights."""
    from striate import nn
    from striate.accel.engine import Plan

    reordered = []
    reorder = Plan.reorder
    monkeypatch.setattr(Plan, "reorder", lambda self, a, b, key: reordered.append(key[0])
                        or reorder(self, a, b, key))
    route(True)
    striate.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16),
                          nn.ReLU(), nn.Conv2d(16, 16, 3, stride=2, padding=1), nn.ReLU(),
                          nn.Flatten(), nn.Linear(16 * 7 * 7, 10))
    x = np.random.default_rng(9).standard_normal((64, 1, 28, 28)).astype(np.float32)
    loss = F.cross_entropy(model(striate.Tensor(x)), striate.Tensor(np.arange(64) % 10))
    loss.backward()
    assert reordered and set(reordered) <= {"weights", "weights_x", "diff_weights"}, reordered


def test_the_plan_cache_is_bounded_and_plans_free_their_handles(route, monkeypatch):
    import gc

    from striate.accel.engine import Plan

    destroyed = []
    close = Plan.close
    monkeypatch.setattr(Plan, "close",
                        lambda self: destroyed.append(len(self._handles)) or close(self))
    monkeypatch.setattr(accel, "PLAN_CACHE_SIZE", 4)
    route(True)
    for size in range(20000, 20010):
        F.relu(striate.Tensor(np.ones(size, np.float32)))
    gc.collect()
    assert len(accel._plans) <= 4
    assert len([n for n in destroyed if n]) >= 6, destroyed   # the dropped plans' handles
