"""striate.nn.init: fans and gains equal PyTorch's; every scheme draws the
distribution it promises (mean and standard deviation within 5 standard errors
of the sample size), in place, keeping the dtype, reproducibly under a seed."""
import math

import numpy as np
import pytest
import torch

import striate
import striate.nn as nn
from striate.nn import init

# Sample sizes large enough that 5 standard errors are a tight check.
SHAPE = (256, 64, 3, 3)   # fan_in = 576, fan_out = 2304, 147,456 values
N = math.prod(SHAPE)


def _check_distribution(values, mean, std, kind):
    """Sample mean and std against the population's, within 5 standard errors.

    SE(mean) = std / sqrt(n). SE(sample std) = std * sqrt((kurtosis - 1) / (4n)),
    with kurtosis 3 for a normal and 9/5 for a uniform distribution.
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    n = values.size
    kurtosis = {"normal": 3.0, "uniform": 9.0 / 5.0}[kind]
    assert abs(values.mean() - mean) <= 5 * std / math.sqrt(n)
    assert abs(values.std() - std) <= 5 * std * math.sqrt((kurtosis - 1) / (4 * n))


@pytest.mark.parametrize("shape", [(5, 3), (7, 4, 3), (8, 6, 3, 5), (4, 2, 3, 3, 2), (1, 1)])
def test_fans_equal_torch(shape):
    expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert init.calculate_fan_in_and_fan_out(nn.Parameter(np.zeros(shape))) == expected


def test_fans_need_two_dimensions():
    with pytest.raises(ValueError, match=r"fewer than 2 dimensions \(got shape \(5,\)\)"):
        init.calculate_fan_in_and_fan_out(nn.Parameter(np.zeros(5)))


@pytest.mark.parametrize("nonlinearity, param", [
    ("linear", None), ("conv2d", None), ("conv_transpose3d", None), ("sigmoid", None), ("tanh", None),
    ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", math.sqrt(5)),
    ("selu", None)])
def test_gain_equals_torch(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity, param), rel=1e-15)


def test_gain_rejects_unknown():
    with pytest.raises(ValueError, match="softsign"):
        init.calculate_gain("softsign")


def _fresh(dtype=np.float32):
    return nn.Parameter(np.zeros(SHAPE, dtype=dtype))


FAN_IN, FAN_OUT = 64 * 9, 256 * 9


@pytest.mark.parametrize("scheme, kind, mean, std", [
    (lambda t: init.uniform_(t, -2.0, 3.0), "uniform", 0.5, 5 / math.sqrt(12)),
    (lambda t: init.normal_(t, 1.5, 0.3), "normal", 1.5, 0.3),
    (lambda t: init.xavier_uniform_(t, gain=2.0), "uniform", 0.0,
     2.0 * math.sqrt(2.0 / (FAN_IN + FAN_OUT))),
    (lambda t: init.xavier_normal_(t), "normal", 0.0, math.sqrt(2.0 / (FAN_IN + FAN_OUT))),
    (lambda t: init.kaiming_uniform_(t, nonlinearity="relu"), "uniform", 0.0, math.sqrt(2.0 / FAN_IN)),
    (lambda t: init.kaiming_uniform_(t, a=math.sqrt(5)), "uniform", 0.0, 1 / math.sqrt(3 * FAN_IN)),
    (lambda t: init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu"), "normal", 0.0,
     math.sqrt(2.0 / FAN_OUT)),
    (lambda t: init.kaiming_normal_(t, a=0.2), "normal", 0.0,
     math.sqrt(2.0 / (1 + 0.04)) / math.sqrt(FAN_IN)),
])
def test_scheme_statistics(scheme, kind, mean, std):
    t = _fresh()
    returned = scheme(t)
    assert returned is t and t.dtype == np.float32
    _check_distribution(t.data, mean, std, kind)
    if kind == "uniform":  # and the bound is exactly sqrt(3) * std
        bound = math.sqrt(3) * std
        assert np.all(np.abs(t.data - mean) <= bound * (1 + 1e-6))
        assert np.abs(t.data - mean).max() > 0.99 * bound


def test_trunc_normal_stays_inside_and_has_the_truncated_std():
    t = _fresh(np.float64)
    init.trunc_normal_(t, mean=0.0, std=1.0, a=-1.0, b=2.0)
    assert t.data.min() >= -1.0 and t.data.max() <= 2.0
    dist = torch.distributions.Normal(0.0, 1.0)  # moments of the truncated normal, in closed form
    alpha, beta = torch.tensor(-1.0), torch.tensor(2.0)
    z = float(dist.cdf(beta) - dist.cdf(alpha))
    pa, pb = float(dist.log_prob(alpha).exp()), float(dist.log_prob(beta).exp())
    mean = (pa - pb) / z
    std = math.sqrt(1 + (-1.0 * pa - 2.0 * pb) / z - mean ** 2)
    assert abs(t.data.mean() - mean) <= 5 * std / math.sqrt(N)
    assert abs(t.data.std() - std) <= 5 * std * math.sqrt(2 / (4 * N))  # kurtosis below 3


@pytest.mark.parametrize("fill, value", [(init.zeros_, 0.0), (init.ones_, 1.0),
                                         (lambda t: init.constant_(t, -2.5), -2.5)])
def test_constant_fills(fill, value):
    t = nn.Parameter(np.full((3, 4), 7.0))
    fill(t)
    np.testing.assert_array_equal(t.data, np.full((3, 4), value))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_in_place_and_dtype_kept(dtype):
    t = _fresh(dtype)
    array = t.data
    init.kaiming_normal_(t)
    assert t.data is array and t.dtype == dtype


def test_seed_makes_models_reproducible():
    def build():
        return nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Flatten(), nn.Linear(8, 4))
    striate.manual_seed(7)
    a = build().state_dict()
    striate.manual_seed(7)
    b = build().state_dict()
    striate.manual_seed(8)
    c = build().state_dict()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(a["0.weight"], c["0.weight"])


@pytest.mark.parametrize("name, args, kwargs", [
    ("Linear", (300, 200), {}),
    ("Conv2d", (32, 64, 5), {}),
    ("Conv1d", (24, 96, 7), {"groups": 3}),
    ("Conv3d", (4, 32, (3, 3, 3)), {}),
    ("ConvTranspose2d", (48, 64, 4), {"groups": 2}),  # fan_in from weight dim 1, as in torch
])
def test_default_layer_init_is_pytorchs(name, args, kwargs):
    """kaiming_uniform_(a=sqrt(5)) = U(+-1/sqrt(fan_in)); bias from the same range."""
    layer = getattr(nn, name)(*args, **kwargs)
    reference = getattr(torch.nn, name)(*args, **kwargs)
    assert layer.weight.shape == tuple(reference.weight.shape)
    fan_in, _ = torch.nn.init._calculate_fan_in_and_fan_out(reference.weight)
    bound = 1 / math.sqrt(fan_in)
    weight, bias = layer.weight.data, layer.bias.data
    assert np.abs(weight).max() <= bound and np.abs(bias).max() <= bound
    _check_distribution(weight, 0.0, bound / math.sqrt(3), "uniform")
    # torch's own draw obeys the same bound (so both use one convention)
    assert float(reference.weight.detach().abs().max()) <= bound


def test_batch_norm_defaults():
    bn = nn.BatchNorm2d(5)
    np.testing.assert_array_equal(bn.weight.data, np.ones(5))
    np.testing.assert_array_equal(bn.bias.data, np.zeros(5))
    np.testing.assert_array_equal(bn.running_mean.data, np.zeros(5))
    np.testing.assert_array_equal(bn.running_var.data, np.ones(5))
    assert bn.num_batches_tracked.data.dtype == np.int64 and bn.num_batches_tracked.data == 0
