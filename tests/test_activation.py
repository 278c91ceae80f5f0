"""Activations against PyTorch (forward and gradient, float32 and float64) and
float64 finite differences; erf against Python's math.erf; stability at
extreme inputs."""
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import striate
import striate.functional as F
from harness import check_against_torch, check_gradients, randn

SHAPES = [(7,), (3, 5), (2, 3, 4, 5)]

# (striate name, keyword arguments); torch.nn.functional has the same names.
ELEMENTWISE = [
    ("relu", {}),
    ("relu6", {}),
    ("leaky_relu", {}),
    ("leaky_relu", {"negative_slope": 0.2}),
    ("elu", {}),
    ("elu", {"alpha": 0.5}),
    ("gelu", {}),
    ("gelu", {"approximate": "tanh"}),
    ("sigmoid", {}),
    ("tanh", {}),
    ("silu", {}),
    ("softplus", {}),
    ("softplus", {"beta": 2.0, "threshold": 5.0}),  # x = 3 randn crosses the threshold
    ("hardtanh", {}),
    ("hardtanh", {"min_val": -0.5, "max_val": 2.0}),
]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name,kwargs", ELEMENTWISE)
def test_elementwise_matches_torch(name, kwargs, shape):
    x = 3 * randn(*shape)  # negative and positive values, some beyond +-6
    check_against_torch(getattr(F, name), getattr(TF, name), [x], **kwargs)
    check_gradients(getattr(F, name), [x], **kwargs)


def test_erf_matches_math_erf_to_double_precision():
    x = np.concatenate([np.linspace(-7, 7, 20001), [0.0, 0.46875, -0.46875, 4.0, -4.0, 30.0]])
    expected = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(F.erf(striate.Tensor(x)).data, expected, rtol=2e-15, atol=1e-16)


def test_erf_against_torch():
    check_against_torch(F.erf, torch.erf, [2 * randn(4, 6)])
    check_gradients(F.erf, [2 * randn(4, 6)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_extreme_inputs_do_not_overflow(dtype):
    x = np.array([-1e4, -800.0, -100.0, -20.0, 0.0, 20.0, 100.0, 800.0, 1e4], dtype=dtype)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        ours = F.sigmoid(striate.Tensor(x)).data
    # atol: float32 sigmoid(-100) = 3.8e-44 is a denormal that torch flushes to 0
    np.testing.assert_allclose(ours, torch.sigmoid(torch.tensor(x)).numpy(), rtol=1e-6, atol=1e-37)
    assert ours.dtype == dtype


@pytest.mark.parametrize("name", ["elu", "silu", "softplus", "gelu"])
def test_smooth_activations_finite_at_extremes(name):
    x = np.array([-1e4, -100.0, 100.0, 1e4])
    np.testing.assert_allclose(getattr(F, name)(striate.Tensor(x)).data,
                               getattr(TF, name)(torch.tensor(x)).numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,dim", [((6,), 0), ((4, 5), 0), ((4, 5), 1), ((4, 5), -1),
                                       ((2, 3, 4, 5), 1), ((2, 3, 4, 5), 2), ((2, 3, 4, 5), -1)])
def test_softmax_family_matches_torch(name, shape, dim):
    x = 2 * randn(*shape)
    check_against_torch(getattr(F, name), getattr(TF, name), [x], dim=dim)
    check_gradients(getattr(F, name), [x], dim=dim)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_family_stable_for_huge_logits(name):
    x = np.array([[1000.0, 0.0, -1000.0], [3e4, 3e4, 3e4]], dtype=np.float32)
    ours = getattr(F, name)(striate.Tensor(x), dim=1).data
    assert np.isfinite(ours).all()
    np.testing.assert_allclose(ours, getattr(TF, name)(torch.tensor(x), dim=1).numpy(), rtol=1e-6)


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4), (2, 3, 4, 5)])
def test_softmax_implicit_dim_follows_torch(shape):
    x = randn(*shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns that the implicit dim is deprecated
        expected = TF.softmax(torch.tensor(x), dim=None).numpy()
    np.testing.assert_allclose(F.softmax(striate.Tensor(x)).data, expected, rtol=1e-12)


def test_softmax_rows_sum_to_one_and_bad_dim_is_reported():
    y = F.softmax(striate.Tensor(randn(3, 7)), dim=1).data
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-12)
    with pytest.raises(IndexError, match="softmax: dim 2 is out of range"):
        F.softmax(striate.Tensor(randn(3, 7)), dim=2)


def test_softmax_dtype_argument_casts_first():
    x = striate.Tensor(randn(3, 4).astype(np.float32), requires_grad=True)
    y = F.log_softmax(x, dim=1, dtype=np.float64)
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="gelu"):
        F.gelu(striate.Tensor(randn(3)), approximate="sigmoid")


def test_float32_in_float32_out():
    x = striate.Tensor(randn(4, 5).astype(np.float32))
    for name, kwargs in ELEMENTWISE:
        assert getattr(F, name)(x, **kwargs).dtype == np.float32, name
