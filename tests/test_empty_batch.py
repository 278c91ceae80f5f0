"""Empty batches (N = 0): every op gives an empty output and the gradients
PyTorch gives (empty for the input, zero for weights: a sum over no samples,
NaN for the mean of no losses)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import striate
import striate.functional as F
from striate import models

from harness import check_against_torch

rng = np.random.default_rng(0)


def empty(*shape):
    return np.zeros(shape, np.float32)


def rand(*shape):
    return rng.standard_normal(shape).astype(np.float32)


CASES = [
    # name, striate op, torch op, inputs, keyword arguments
    ("conv2d padding 2", F.conv2d, TF.conv2d, [empty(0, 1, 28, 28), rand(6, 1, 5, 5), rand(6)],
     dict(padding=2)),
    ("conv2d valid", F.conv2d, TF.conv2d, [empty(0, 1, 28, 28), rand(6, 1, 5, 5), rand(6)], {}),
    ("conv2d stride 2", F.conv2d, TF.conv2d, [empty(0, 3, 9, 9), rand(4, 3, 3, 3), rand(4)],
     dict(stride=2, padding=1)),
    ("conv2d groups", F.conv2d, TF.conv2d, [empty(0, 4, 6, 6), rand(4, 2, 3, 3)],
     dict(groups=2, padding=1)),
    ("conv1d", F.conv1d, TF.conv1d, [empty(0, 1, 40), rand(4, 1, 3)], dict(padding=1)),
    ("conv3d", F.conv3d, TF.conv3d, [empty(0, 1, 5, 5, 5), rand(2, 1, 3, 3, 3)], dict(padding=1)),
    ("conv_transpose2d", F.conv_transpose2d, TF.conv_transpose2d,
     [empty(0, 2, 7, 7), rand(2, 3, 2, 2), rand(3)], dict(stride=2)),
    ("conv_transpose2d padding", F.conv_transpose2d, TF.conv_transpose2d,
     [empty(0, 2, 7, 7), rand(2, 3, 3, 3)], dict(stride=2, padding=1, output_padding=1)),
    ("max_pool2d", F.max_pool2d, TF.max_pool2d, [empty(0, 2, 8, 8)], dict(kernel_size=3, stride=2,
                                                                          padding=1)),
    ("avg_pool2d", F.avg_pool2d, TF.avg_pool2d, [empty(0, 2, 8, 8)], dict(kernel_size=2)),
    ("adaptive_avg_pool2d", F.adaptive_avg_pool2d, TF.adaptive_avg_pool2d, [empty(0, 2, 8, 8)],
     dict(output_size=1)),
    ("batch_norm eval", lambda x, w, b: F.batch_norm(x, np.zeros(3, np.float32),
                                                      np.ones(3, np.float32), w, b),
     lambda x, w, b: TF.batch_norm(x, torch.zeros(3), torch.ones(3), w, b),
     [empty(0, 3, 4, 4), rand(3), rand(3)], {}),
    ("batch_norm 1d eval", lambda x: F.batch_norm(x, np.zeros(5, np.float32),
                                                   np.ones(5, np.float32)),
     lambda x: TF.batch_norm(x, torch.zeros(5), torch.ones(5)), [empty(0, 5)], {}),
    ("batch_norm training", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
     lambda x, w, b: TF.batch_norm(x, None, None, w, b, training=True),
     [empty(0, 3, 4, 4), rand(3), rand(3)], {}),
    ("linear", F.linear, TF.linear, [empty(0, 20), rand(10, 20), rand(10)], {}),
    ("mean", lambda x: F.mean(x), lambda x: x.mean(), [empty(0, 3)], {}),
    ("cross_entropy mean", lambda x: F.cross_entropy(x, np.zeros(0, np.int64)),
     lambda x: TF.cross_entropy(x, torch.zeros(0, dtype=torch.long)), [empty(0, 10)], {}),
    ("cross_entropy sum", lambda x: F.cross_entropy(x, np.zeros(0, np.int64), reduction="sum"),
     lambda x: TF.cross_entropy(x, torch.zeros(0, dtype=torch.long), reduction="sum"),
     [empty(0, 10)], {}),
    ("cross_entropy dense", lambda x: F.cross_entropy(x, np.zeros((0, 4, 4), np.int64)),
     lambda x: TF.cross_entropy(x, torch.zeros((0, 4, 4), dtype=torch.long)),
     [empty(0, 3, 4, 4)], {}),
    ("mse_loss", lambda x: F.mse_loss(x, np.zeros((0, 4), np.float32)),
     lambda x: TF.mse_loss(x, torch.zeros(0, 4)), [empty(0, 4)], {}),
]


@pytest.mark.parametrize("name,ours,theirs,inputs,kwargs", CASES, ids=[c[0] for c in CASES])
def test_empty_batch_matches_torch(name, ours, theirs, inputs, kwargs):
    check_against_torch(ours, theirs, inputs, **kwargs)


def test_batch_norm_training_on_empty_batch_keeps_running_statistics():
    mean, var = np.full(3, 0.5, np.float32), np.full(3, 2.0, np.float32)
    out = F.batch_norm(striate.Tensor(empty(0, 3, 4, 4)), mean, var, training=True)
    assert out.shape == (0, 3, 4, 4)
    np.testing.assert_array_equal(mean, np.full(3, 0.5, np.float32))
    np.testing.assert_array_equal(var, np.full(3, 2.0, np.float32))


def test_batch_norm_training_on_one_value_still_refused():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(striate.Tensor(empty(1, 3, 1, 1)), None, None, training=True)


@pytest.mark.parametrize("name,shape", [("lenet5", (0, 1, 28, 28)), ("resnet18", (0, 3, 32, 32))])
def test_model_on_empty_batch(name, shape):
    """A whole network, forward and backward, on an empty batch: empty logits,
    empty input gradient, every parameter gradient zero (as PyTorch gives)."""
    model = models.create(name, num_classes=10) if name != "lenet5" else models.create(name)
    model.train()
    x = striate.Tensor(empty(*shape), requires_grad=True)
    logits = model(x)
    assert logits.shape == (0, 10)
    loss = F.cross_entropy(logits, np.zeros(0, np.int64), reduction="sum")
    loss.backward()
    assert float(loss.data) == 0.0
    assert x.grad.shape == shape
    for pname, p in model.named_parameters():
        assert p.grad is not None and p.grad.shape == p.shape, pname
        assert not np.any(p.grad), pname
