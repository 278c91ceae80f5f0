"""linear against PyTorch and finite differences; dropout's statistics (with a
fixed seed), its mask reuse in backward, and its evaluation identity."""
import numpy as np
import pytest
import torch.nn.functional as TF

import striate
import striate.functional as F
from harness import check_against_torch, check_gradients, randn


# --------------------------------------------------------------------------- linear


@pytest.mark.parametrize("input_shape", [(4,), (5, 4), (2, 3, 4), (2, 1, 3, 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(input_shape, bias):
    inputs = [randn(*input_shape), randn(6, 4, seed=1)] + ([randn(6, seed=2)] if bias else [])
    check_against_torch(F.linear, TF.linear, inputs)
    check_gradients(F.linear, inputs)


def test_linear_gradient_only_where_asked():
    x, w = striate.Tensor(randn(3, 4)), striate.Tensor(randn(2, 4), requires_grad=True)
    F.linear(x, w).sum().backward()
    assert x.grad is None and w.grad.shape == (2, 4)


def test_linear_reports_feature_mismatch_with_shapes():
    with pytest.raises(ValueError, match=r"linear: input of shape \(3, 5\).*weight of shape \(2, 4\)"):
        F.linear(striate.Tensor(randn(3, 5)), striate.Tensor(randn(2, 4)))
    with pytest.raises(ValueError, match=r"linear: bias of shape \(3,\)"):
        F.linear(striate.Tensor(randn(3, 4)), striate.Tensor(randn(2, 4)), striate.Tensor(randn(3)))
    with pytest.raises(ValueError, match="weight must be 2-D"):
        F.linear(striate.Tensor(randn(3, 4)), striate.Tensor(randn(4)))


# --------------------------------------------------------------------------- dropout


def _fraction_tolerance(p, n):
    return 5 * np.sqrt(p * (1 - p) / n)  # 5 standard deviations of a binomial fraction


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_zeroes_a_fraction_p_and_scales_the_rest(p, dtype):
    striate.manual_seed(123)
    x = striate.Tensor(np.ones((200, 300), dtype=dtype), requires_grad=True)
    y = F.dropout(x, p=p, training=True)
    assert y.dtype == dtype
    dropped = y.data == 0
    assert abs(dropped.mean() - p) < _fraction_tolerance(p, dropped.size)
    np.testing.assert_allclose(y.data[~dropped], 1 / (1 - p), rtol=1e-6)
    assert abs(y.data.mean() - 1.0) < 0.05  # inverted dropout keeps the expectation

    upstream = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
    y.backward(upstream)
    # with x = 1 the output is the scaled mask itself: backward must use that same mask
    np.testing.assert_allclose(x.grad, upstream * y.data, rtol=1e-6)


def test_dropout_is_reproducible_from_the_seed_and_differs_between_calls():
    x = striate.Tensor(np.ones((50, 40)))
    striate.manual_seed(7)
    first, second = F.dropout(x, 0.5).data, F.dropout(x, 0.5).data
    striate.manual_seed(7)
    np.testing.assert_array_equal(F.dropout(x, 0.5).data, first)
    assert not np.array_equal(first, second)


@pytest.mark.parametrize("fn", [F.dropout, F.dropout1d, F.dropout2d, F.dropout3d])
def test_dropout_eval_is_identity(fn):
    shape = {F.dropout: (3, 4), F.dropout1d: (2, 3, 5), F.dropout2d: (2, 3, 4, 5),
             F.dropout3d: (2, 3, 2, 4, 5)}[fn]
    x = striate.Tensor(randn(*shape), requires_grad=True)
    y = fn(x, p=0.5, training=False)
    np.testing.assert_array_equal(y.data, x.data)
    np.testing.assert_array_equal(fn(x, p=0.0, training=True).data, x.data)


def test_dropout_p_one_zeroes_everything_and_bad_p_is_rejected():
    x = striate.Tensor(randn(4, 5), requires_grad=True)
    y = F.dropout(x, p=1.0)
    assert not y.data.any()
    y.sum().backward()
    assert not x.grad.any()
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match="between 0 and 1, but got"):
            F.dropout(x, p=p)
        with pytest.raises(ValueError, match="dropout2d"):
            F.dropout2d(striate.Tensor(randn(2, 3, 4, 4)), p=p)


@pytest.mark.parametrize("fn,shape,channel_dims", [
    (F.dropout1d, (40, 50, 6), 2),
    (F.dropout1d, (50, 6), 1),          # unbatched (C, L)
    (F.dropout2d, (40, 50, 3, 4), 2),
    (F.dropout2d, (40, 50, 6), 2),      # 3-D read as (N, C, L), as PyTorch does
    (F.dropout3d, (40, 50, 2, 3, 2), 2),
    (F.dropout3d, (50, 2, 3, 2), 1),    # unbatched (C, D, H, W)
])
def test_channel_dropout_drops_whole_channels(fn, shape, channel_dims):
    p = 0.3
    striate.manual_seed(3)
    x = striate.Tensor(np.ones(shape), requires_grad=True)
    y = fn(x, p=p)
    per_channel = y.data.reshape(shape[:channel_dims] + (-1,))
    assert (per_channel == per_channel[..., :1]).all(), "a channel was partly dropped"
    dropped = per_channel[..., 0] == 0
    assert abs(dropped.mean() - p) < _fraction_tolerance(p, dropped.size)
    np.testing.assert_allclose(per_channel[~dropped], 1 / (1 - p))
    upstream = randn(*shape, seed=4)
    y.backward(upstream)
    np.testing.assert_allclose(x.grad, upstream * y.data)


def test_channel_dropout_rejects_wrong_rank():
    with pytest.raises(ValueError, match=r"dropout3d: expected a 4-d .* got shape \(2, 3\)"):
        F.dropout3d(striate.Tensor(randn(2, 3)))
