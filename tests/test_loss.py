"""Losses against PyTorch (value and gradients of every differentiable input,
float32 and float64, every reduction) and float64 finite differences; numerical
stability at extreme logits; error messages."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import striate
import striate.functional as F
from harness import check_against_torch, check_gradients, randn

REDUCTIONS = ["mean", "sum", "none"]
CLASSES = 4
# input shapes: unbatched (C,), (N, C), and (N, C, H, W) as in segmentation
CLASS_SHAPES = [(CLASSES,), (5, CLASSES), (2, CLASSES, 3, 2)]


def _class_targets(shape, seed=0, ignore=True):
    target_shape = () if len(shape) == 1 else shape[:1] + shape[2:]
    target = np.random.default_rng(seed).integers(0, CLASSES, size=target_shape)
    if ignore and target.ndim:
        target.flat[1] = -100  # one element ignored (the default ignore_index)
    return target


def _torch_options(options, dtype):
    return {k: torch.tensor(v).to(dtype) if isinstance(v, np.ndarray) else v
            for k, v in options.items()}


def _pair(striate_fn, torch_fn, **options):
    """Both losses with ``options``; array options become tensors of the input's dtype."""
    def ours(*args):
        return striate_fn(*args, **{k: v.astype(args[0].dtype) if isinstance(v, np.ndarray) else v
                                    for k, v in options.items()})

    def theirs(*args):
        return torch_fn(*args, **_torch_options(options, args[0].dtype))
    return ours, theirs


CLASS_WEIGHT = np.array([0.5, 2.0, 1.0, 0.25])


@pytest.mark.parametrize("shape", CLASS_SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight", [None, CLASS_WEIGHT])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.15])
def test_cross_entropy_with_class_indices(shape, reduction, weight, label_smoothing):
    options = dict(reduction=reduction, label_smoothing=label_smoothing)
    if weight is not None:
        options["weight"] = weight
    ours, theirs = _pair(F.cross_entropy, TF.cross_entropy, **options)
    inputs = [3 * randn(*shape), _class_targets(shape)]
    check_against_torch(ours, theirs, inputs)
    check_gradients(ours, inputs)


@pytest.mark.parametrize("shape", CLASS_SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
def test_cross_entropy_with_class_probabilities(shape, reduction, label_smoothing):
    probabilities = np.abs(randn(*shape, seed=5))
    probabilities /= probabilities.sum(axis=0 if len(shape) == 1 else 1, keepdims=True)
    ours, theirs = _pair(F.cross_entropy, TF.cross_entropy, reduction=reduction,
                         label_smoothing=label_smoothing, weight=CLASS_WEIGHT)
    check_against_torch(ours, theirs, [randn(*shape), probabilities])  # target gradient too
    check_gradients(ours, [randn(*shape), probabilities])


def test_cross_entropy_custom_ignore_index_and_huge_logits():
    logits = np.array([[1e4, -1e4, 0.0], [0.0, 3e4, -3e4], [5.0, 1.0, 2.0]], dtype=np.float32)
    target = np.array([1, 7, 0])
    ours, theirs = _pair(F.cross_entropy, TF.cross_entropy, ignore_index=7)
    check_against_torch(ours, theirs, [logits, target], dtypes=(np.float32,))
    assert np.isfinite(F.cross_entropy(striate.Tensor(logits), target, ignore_index=7).item())


@pytest.mark.parametrize("shape", CLASS_SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight", [None, CLASS_WEIGHT])
def test_nll_loss(shape, reduction, weight):
    options = dict(reduction=reduction) if weight is None else dict(reduction=reduction, weight=weight)
    ours, theirs = _pair(F.nll_loss, TF.nll_loss, **options)
    log_probabilities = np.log(np.abs(randn(*shape)) + 0.1)
    check_against_torch(ours, theirs, [log_probabilities, _class_targets(shape)])
    check_gradients(ours, [log_probabilities, _class_targets(shape)])


def test_cross_entropy_equals_nll_of_log_softmax():
    x, t = striate.Tensor(randn(6, CLASSES)), _class_targets((6, CLASSES))
    np.testing.assert_allclose(F.cross_entropy(x, t).item(),
                               F.nll_loss(F.log_softmax(x, dim=1), t).item(), rtol=1e-12)


@pytest.mark.parametrize("op", [F.cross_entropy, F.nll_loss])
def test_class_target_errors(op):
    name = op.__name__
    x = striate.Tensor(randn(3, CLASSES))
    with pytest.raises(ValueError, match=rf"{name}: target value 4 is out of range for 4 classes"):
        op(x, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match=rf"{name}: target value -3 is out of range"):
        op(x, np.array([0, -3, 1]))
    with pytest.raises(ValueError, match=rf"{name}: target of shape \(2,\) does not match input "
                                         rf"of shape \(3, 4\)"):
        op(x, np.array([0, 1]))
    with pytest.raises(TypeError, match=rf"{name}: target must hold class indices"):
        op(x, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="weight of shape"):
        op(x, np.array([0, 1, 2]), weight=np.ones(3))
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        op(x, np.array([0, 1, 2]), reduction="average")


def test_cross_entropy_probability_target_of_wrong_shape():
    with pytest.raises(TypeError, match="for class probabilities give a float target of the "
                                        "input's shape"):
        F.cross_entropy(striate.Tensor(randn(3, 4)), np.ones((3, 5)) / 5)


# --------------------------------------------------------------------------- regression and binary


@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 4, 5)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_loss(shape, reduction):
    inputs = [randn(*shape), randn(*shape, seed=1)]  # target requires grad too
    check_against_torch(F.mse_loss, TF.mse_loss, inputs, reduction=reduction)
    check_gradients(F.mse_loss, inputs, reduction=reduction)


def test_mse_loss_broadcasts_with_a_warning_and_rejects_incompatible_shapes():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # both libraries warn
        check_against_torch(F.mse_loss, TF.mse_loss, [randn(3, 4), randn(1, 4, seed=1)])
    with pytest.warns(UserWarning, match="mse_loss: target shape"):
        F.mse_loss(striate.Tensor(randn(3, 4)), striate.Tensor(randn(4)))
    with pytest.raises(ValueError, match=r"mse_loss: input of shape \(3, 4\) and target of shape \(3,\)"):
        F.mse_loss(striate.Tensor(randn(3, 4)), striate.Tensor(randn(3)))


BINARY_SHAPES = [(6,), (4, 3), (2, 3, 2, 2)]


def _binary_options(shape, kind):
    if kind == "weight":
        return {"weight": np.abs(randn(*shape, seed=3)) + 0.1}
    if kind == "pos_weight":
        return {"pos_weight": np.abs(randn(shape[-1], seed=4)) + 0.2}
    if kind == "both":
        return {**_binary_options(shape, "weight"), **_binary_options(shape, "pos_weight")}
    return {}


@pytest.mark.parametrize("shape", BINARY_SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kind", ["plain", "weight", "pos_weight", "both"])
def test_binary_cross_entropy_with_logits(shape, reduction, kind):
    options = _binary_options(shape, kind)
    ours, theirs = _pair(F.binary_cross_entropy_with_logits, TF.binary_cross_entropy_with_logits,
                         reduction=reduction, **options)
    targets = np.random.default_rng(2).random(shape)  # soft targets; their gradient too
    check_against_torch(ours, theirs, [4 * randn(*shape), targets])
    check_gradients(ours, [4 * randn(*shape), targets])


def test_binary_cross_entropy_with_logits_is_stable_for_huge_logits():
    logits = np.array([-1e4, -200.0, 0.0, 200.0, 1e4], dtype=np.float32)
    targets = np.array([1.0, 0.0, 1.0, 1.0, 0.0], dtype=np.float32)
    ours, theirs = _pair(F.binary_cross_entropy_with_logits, TF.binary_cross_entropy_with_logits,
                         reduction="none", pos_weight=np.full(5, 3.0))
    check_against_torch(ours, theirs, [logits, targets], dtypes=(np.float32,))


@pytest.mark.parametrize("shape", BINARY_SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kind", ["plain", "weight"])
def test_binary_cross_entropy(shape, reduction, kind):
    ours, theirs = _pair(F.binary_cross_entropy, TF.binary_cross_entropy, reduction=reduction,
                         **_binary_options(shape, kind))
    rng = np.random.default_rng(5)
    inputs = [rng.uniform(0.05, 0.95, shape), rng.random(shape)]
    check_against_torch(ours, theirs, inputs)
    check_gradients(ours, inputs)


def test_binary_cross_entropy_clamps_at_zero_and_one_like_torch():
    x, t = np.array([0.0, 1.0, 0.0, 1.0, 0.5]), np.array([1.0, 0.0, 0.0, 1.0, 1.0])
    check_against_torch(F.binary_cross_entropy, TF.binary_cross_entropy, [x, t],
                        grad=[False, False], reduction="none")


def test_binary_losses_errors():
    x = striate.Tensor(randn(3, 2))
    for op in (F.binary_cross_entropy_with_logits, F.binary_cross_entropy):
        with pytest.raises(ValueError, match=rf"{op.__name__}: target of shape \(3,\) must have "
                                             rf"the same shape as input of shape \(3, 2\)"):
            op(x, striate.Tensor(np.ones(3)))
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(x, striate.Tensor(np.ones((3, 2))))
    with pytest.raises(ValueError, match=r"pos_weight of shape \(3,\)"):
        F.binary_cross_entropy_with_logits(x, np.ones((3, 2)), pos_weight=np.ones(3))
