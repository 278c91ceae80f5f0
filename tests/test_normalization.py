"""batch_norm, layer_norm and local_response_norm against PyTorch (outputs, all
gradients, running buffers) and float64 finite differences; error messages."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import striate
import striate.functional as F
from harness import check_against_torch, check_gradients, randn

BATCH_NORM_SHAPES = [(6, 3), (4, 3, 5), (3, 4, 5, 3), (2, 3, 3, 4, 2)]


def _batch_norm_pair(running_mean, running_var, **options):
    """striate and torch batch_norm with fresh copies of the running buffers in the
    input's dtype (the harness runs float32 and float64)."""
    def ours(x, *params):
        rm = striate.Tensor(running_mean.astype(x.dtype))
        rv = striate.Tensor(running_var.astype(x.dtype))
        return F.batch_norm(x, rm, rv, *params, **options)

    def theirs(x, *params):
        rm = torch.tensor(running_mean).to(x.dtype)
        rv = torch.tensor(running_var).to(x.dtype)
        return TF.batch_norm(x, rm, rv, *params, **options)
    return ours, theirs


@pytest.mark.parametrize("shape", BATCH_NORM_SHAPES)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_matches_torch(shape, training, affine):
    channels = shape[1]
    x = 2 * randn(*shape) + 1.5
    params = [randn(channels, seed=1), randn(channels, seed=2)] if affine else []
    running_mean, running_var = randn(channels, seed=3), np.abs(randn(channels, seed=4)) + 0.5
    ours, theirs = _batch_norm_pair(running_mean, running_var, training=training,
                                    momentum=0.2, eps=1e-3)
    check_against_torch(ours, theirs, [x] + params)
    check_gradients(ours, [x] + params)


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5, 6)])
def test_batch_norm_weight_without_bias_and_bias_without_weight(shape):
    x, p = randn(*shape), randn(shape[1], seed=1)
    for weight_given in (True, False):
        def ours(x, p):
            kwargs = {"weight": p} if weight_given else {"bias": p}
            return F.batch_norm(x, None, None, training=True, **kwargs)

        def theirs(x, p):
            kwargs = {"weight": p} if weight_given else {"bias": p}
            return TF.batch_norm(x, None, None, training=True, **kwargs)
        check_against_torch(ours, theirs, [x, p])


@pytest.mark.parametrize("shape", BATCH_NORM_SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_norm_running_buffers_follow_torch_over_several_steps(shape, dtype):
    channels = shape[1]
    rm, rv = striate.Tensor(np.zeros(channels, dtype)), striate.Tensor(np.ones(channels, dtype))
    arrays = rm.data, rv.data
    torch_dtype = torch.float32 if dtype == np.float32 else torch.float64
    rm_t, rv_t = torch.zeros(channels, dtype=torch_dtype), torch.ones(channels, dtype=torch_dtype)
    for step in range(4):
        x = (3 * randn(*shape, seed=10 + step) + step).astype(dtype)
        F.batch_norm(striate.Tensor(x), rm, rv, training=True, momentum=0.3)
        TF.batch_norm(torch.tensor(x), rm_t, rv_t, training=True, momentum=0.3)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(rm.data, rm_t.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(rv.data, rv_t.numpy(), rtol=tol, atol=tol)  # unbiased variance
    assert rm.data is arrays[0] and rv.data is arrays[1], "buffers must be updated in place"
    # evaluation then uses these statistics and leaves them alone
    x = randn(*shape, seed=99).astype(dtype)
    out = F.batch_norm(striate.Tensor(x), rm, rv, training=False)
    ref = TF.batch_norm(torch.tensor(x), rm_t, rv_t, training=False)
    np.testing.assert_allclose(out.data, ref.numpy(), rtol=tol * 10, atol=tol * 10)
    np.testing.assert_allclose(rm.data, rm_t.numpy(), rtol=tol, atol=tol)


def test_batch_norm_eval_accepts_batch_of_one_and_training_without_buffers():
    x = randn(1, 4)
    out = F.batch_norm(striate.Tensor(x), striate.Tensor(np.zeros(4)), striate.Tensor(np.ones(4)))
    np.testing.assert_allclose(out.data, x / np.sqrt(1 + 1e-5))
    y = F.batch_norm(striate.Tensor(randn(5, 4)), None, None, training=True)
    np.testing.assert_allclose(y.data.mean(axis=0), 0, atol=1e-12)


@pytest.mark.parametrize("shape", [(1, 3), (1, 3, 1), (1, 3, 1, 1)])
def test_batch_norm_training_needs_more_than_one_value_per_channel(shape):
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(striate.Tensor(randn(*shape)), None, None, training=True)


def test_batch_norm_errors_name_the_shapes():
    x = striate.Tensor(randn(4, 3, 5, 5))
    with pytest.raises(ValueError, match=r"running_mean of shape \(4,\) .* 3 channels .* \(4, 3, 5, 5\)"):
        F.batch_norm(x, striate.Tensor(np.zeros(4)), striate.Tensor(np.ones(3)))
    with pytest.raises(ValueError, match=r"weight of shape \(2,\)"):
        F.batch_norm(x, None, None, weight=striate.Tensor(np.ones(2)), training=True)
    with pytest.raises(ValueError, match=r"at least 2 dims, got shape \(5,\)"):
        F.batch_norm(striate.Tensor(randn(5)), None, None, training=True)
    with pytest.raises(ValueError, match="must be given in evaluation mode"):
        F.batch_norm(x, None, None, training=False)


# --------------------------------------------------------------------------- layer norm


@pytest.mark.parametrize("shape,normalized_shape", [((4, 6), 6), ((2, 3, 5), (5,)),
                                                    ((2, 3, 4, 5), (4, 5)), ((3, 4, 5), (3, 4, 5))])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_matches_torch(shape, normalized_shape, affine):
    norm = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
    x = 2 * randn(*shape) - 1
    params = [randn(*norm, seed=1), randn(*norm, seed=2)] if affine else []

    def ours(x, *params):
        return F.layer_norm(x, normalized_shape, *params, eps=1e-4)

    def theirs(x, *params):
        return TF.layer_norm(x, norm, *params, eps=1e-4)
    check_against_torch(ours, theirs, [x] + params)
    check_gradients(ours, [x] + params)


def test_layer_norm_errors_name_the_shapes():
    x = striate.Tensor(randn(2, 3, 4))
    with pytest.raises(ValueError, match=r"normalized_shape \(3,\) does not match .* \(2, 3, 4\)"):
        F.layer_norm(x, 3)
    with pytest.raises(ValueError, match=r"weight of shape \(3,\)"):
        F.layer_norm(x, 4, weight=striate.Tensor(np.ones(3)))


# --------------------------------------------------------------------------- local response norm


@pytest.mark.parametrize("shape", [(2, 7, 5), (2, 6, 3, 4), (1, 5, 2, 3, 2)])
@pytest.mark.parametrize("size,alpha,beta,k", [
    (5, 1e-4, 0.75, 2.0),    # AlexNet (Krizhevsky et al. 2012)
    (3, 0.5, 0.75, 1.0),     # large alpha so the normalization matters
    (4, 0.3, 0.5, 1.5),      # even size: asymmetric window
    (1, 0.2, 1.0, 1.0),
    (9, 0.4, 0.75, 1.0),     # window wider than the channels
])
def test_local_response_norm_matches_torch(shape, size, alpha, beta, k):
    x = 2 * randn(*shape)
    kwargs = dict(size=size, alpha=alpha, beta=beta, k=k)
    check_against_torch(F.local_response_norm, TF.local_response_norm, [x], **kwargs)
    check_gradients(F.local_response_norm, [x], **kwargs)


def test_local_response_norm_errors():
    with pytest.raises(ValueError, match=r"3-D or higher .* \(4, 5\)"):
        F.local_response_norm(striate.Tensor(randn(4, 5)), 3)
    with pytest.raises(ValueError, match="size must be a positive int"):
        F.local_response_norm(striate.Tensor(randn(2, 4, 5)), 0)
