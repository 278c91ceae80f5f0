"""Bad input to the Python API: every op and layer refuses it at the door with
the right exception type and a message that names the op or layer, the
problem and, where shapes are involved, the shapes. One row per bad input.

Each row is a call that must fail, so a check deleted from the code turns its
row red; the messages are matched, not just the types, so that an error
NumPy raises by accident (from deep inside a computation, naming neither the
op nor the shapes) does not pass for the intended one.
"""
import numpy as np
import pytest

import striate
import striate.functional as F
import striate.nn as nn


def randn(*shape):
    return np.random.default_rng(0).standard_normal(shape)


def t(*shape):
    return striate.Tensor(randn(*shape))


def linear_state(**changes):
    """A valid state dict of ``nn.Linear(2, 3)`` with ``changes`` applied (None deletes a key)."""
    state = {"weight": np.zeros((3, 2)), "bias": np.zeros(3)}
    state.update(changes)
    return {k: v for k, v in state.items() if v is not None}


CASES = [
    # ---- wrong number of dims
    ("conv2d input of 2 dims", lambda: F.conv2d(t(2, 3), t(4, 3, 3, 3)), ValueError,
     r"conv2d: expected a 3-d input \(C, H, W\) or a 4-d input \(N, C, H, W\), got shape \(2, 3\)"),
    ("max_pool1d input of 4 dims", lambda: F.max_pool1d(t(1, 2, 3, 4), 2), ValueError,
     r"max_pool1d: expected a 2-d input \(C, W\) or a 3-d input \(N, C, W\), got shape \(1, 2, 3, 4\)"),
    ("Conv2d layer fed a 5-d input", lambda: nn.Conv2d(3, 4, 3)(t(1, 1, 3, 5, 5)), ValueError,
     r"Conv2d: expected a 3-d input \(C, H, W\) or a 4-d input .* got shape \(1, 1, 3, 5, 5\)"),
    ("BatchNorm2d fed a 3-d input", lambda: nn.BatchNorm2d(3)(t(2, 3, 4)), ValueError,
     r"BatchNorm2d\(3\): expected a 4-d input \(N, C, H, W\), got shape \(2, 3, 4\)"),
    ("conv2d weight of 3 dims", lambda: F.conv2d(t(1, 3, 5, 5), t(4, 3, 3)), ValueError,
     r"conv2d: expected a 4-d weight \(out, in/groups, \*kernel\), got shape \(4, 3, 3\)"),

    # ---- channels, features, groups
    ("conv2d channels of input and weight differ", lambda: F.conv2d(t(1, 4, 5, 5), t(2, 3, 3, 3)),
     ValueError, r"conv2d: input of shape \(1, 4, 5, 5\) has 4 channels, but the weight of shape "
                 r"\(2, 3, 3, 3\) with groups=1 expects 3"),
    ("Conv2d layer fed the wrong channels", lambda: nn.Conv2d(3, 8, 3)(t(2, 5, 9, 9)), ValueError,
     r"Conv2d\(3, 8\): input of shape \(2, 5, 9, 9\) has 5 channels, but the layer expects 3"),
    ("conv2d groups not dividing the channels",
     lambda: F.conv2d(t(1, 3, 5, 5), t(4, 1, 3, 3), groups=2), ValueError,
     r"conv2d: groups=2 must divide both the input channels \(3\) and the output channels \(4\); "
     r"input \(1, 3, 5, 5\), weight \(4, 1, 3, 3\)"),
    ("Conv1d groups not dividing out_channels", lambda: nn.Conv1d(4, 6, 3, groups=4), ValueError,
     r"Conv1d: groups=4 must divide both the input channels \(4\) and the output channels \(6\)"),
    ("conv_transpose2d groups of zero",
     lambda: F.conv_transpose2d(t(1, 3, 5, 5), t(3, 2, 3, 3), groups=0), ValueError,
     r"conv_transpose2d: groups must be a positive int, got 0"),
    ("Linear fed the wrong features", lambda: nn.Linear(10, 4)(t(2, 9)), ValueError,
     r"Linear\(10, 4\): input of shape \(2, 9\) has 9 features in its last dim, but the layer "
     r"expects 10"),
    ("linear bias of the wrong size", lambda: F.linear(t(2, 3), t(4, 3), t(5)), ValueError,
     r"linear: bias of shape \(5,\) does not match the 4 output features of weight \(4, 3\)"),
    ("BatchNorm1d fed the wrong channels", lambda: nn.BatchNorm1d(3)(t(2, 4)), ValueError,
     r"BatchNorm1d\(3\): input of shape \(2, 4\) has 4 channels in dimension 1, but the layer "
     r"expects 3"),
    ("batch_norm running_mean of the wrong size",
     lambda: F.batch_norm(t(4, 3, 2, 2), np.zeros(4), np.ones(3)), ValueError,
     r"batch_norm: running_mean of shape \(4,\) does not match the 3 channels of input of shape "
     r"\(4, 3, 2, 2\)"),

    # ---- stride, padding, dilation, kernel
    ("conv2d negative stride", lambda: F.conv2d(t(1, 3, 5, 5), t(2, 3, 3, 3), stride=-1),
     ValueError, r"conv2d: stride must be positive, got -1"),
    ("Conv2d zero stride", lambda: nn.Conv2d(3, 4, 3, stride=(1, 0)), ValueError,
     r"Conv2d: stride must be positive, got \(1, 0\)"),
    ("conv1d fractional stride", lambda: F.conv1d(t(1, 3, 8), t(2, 3, 3), stride=1.5), TypeError,
     r"conv1d: stride must be an int or a tuple of 1 ints, got 1.5"),
    ("Conv3d dilation 0", lambda: nn.Conv3d(2, 2, 3, dilation=0), ValueError,
     r"Conv3d: dilation must be positive, got 0"),
    ("max_pool2d dilation 0", lambda: F.max_pool2d(t(1, 1, 6, 6), 2, dilation=0), ValueError,
     r"max_pool2d: dilation must be positive, got 0"),
    ("conv2d negative padding", lambda: F.conv2d(t(1, 3, 5, 5), t(2, 3, 3, 3), padding=(1, -2)),
     ValueError, r"conv2d: padding must be non-negative, got \(1, -2\)"),
    ("Conv2d unknown padding name", lambda: nn.Conv2d(3, 4, 3, padding="full"), ValueError,
     r"Conv2d: padding must be an int, a tuple, 'same' or 'valid', got 'full'"),
    ("max_pool2d padding more than half the kernel",
     lambda: F.max_pool2d(t(1, 1, 6, 6), 3, padding=2), ValueError,
     r"max_pool2d: pad should be at most half of kernel size, but got padding=\(2, 2\) for "
     r"kernel_size=\(3, 3\)"),
    ("MaxPool2d built with too much padding", lambda: nn.MaxPool2d(2, padding=2), ValueError,
     r"MaxPool2d: pad should be at most half of kernel size, but got padding=\(2, 2\)"),
    ("conv_transpose2d output_padding too large",
     lambda: F.conv_transpose2d(t(1, 3, 4, 4), t(3, 2, 3, 3), stride=2, output_padding=2),
     ValueError, r"conv_transpose2d: output_padding \(2, 2\) must be smaller than either stride "
                 r"\(2, 2\) or dilation \(1, 1\)"),
    ("conv2d kernel larger than the padded input",
     lambda: F.conv2d(t(1, 3, 4, 4), t(2, 3, 5, 5), padding=0), ValueError,
     r"conv2d: input of shape \(1, 3, 4, 4\) is too small: the kernel \(5, 5\) .* spans \(5, 5\), "
     r"more than the padded input \(4, 4\) .* must be at least \(5, 5\)"),
    ("Conv2d layer fed an input smaller than its kernel",
     lambda: nn.Conv2d(3, 4, 5, padding=1)(t(1, 3, 2, 2)), ValueError,
     r"Conv2d\(3, 4\): input of shape \(1, 3, 2, 2\) is too small: .* the padded input \(4, 4\) "
     r"\(padding \(1, 1\)\); the spatial size must be at least \(3, 3\)"),
    ("max_pool2d dilated kernel larger than the input",
     lambda: F.max_pool2d(t(1, 1, 5, 5), 3, dilation=3), ValueError,
     r"max_pool2d: input of shape \(1, 1, 5, 5\) is too small: the kernel \(3, 3\) with dilation "
     r"\(3, 3\) spans \(7, 7\)"),

    # ---- values that are not numbers, or of the wrong dtype
    ("conv2d of a string", lambda: F.conv2d("abc", t(2, 3, 3, 3)), TypeError,
     r"conv2d: cannot make a tensor of str 'abc': .* not dtype <U3"),
    ("relu of an object array", lambda: F.relu(np.array([1.0, None], dtype=object)), TypeError,
     r"ReLU: cannot make a tensor of an array of dtype object and shape \(2,\)"),
    ("Linear fed a ragged list", lambda: nn.Linear(2, 1)([[1.0, 2.0], [3.0]]), ValueError,
     r"Linear\(2, 1\): cannot make a tensor of list \[\[1.0, 2.0\], \[3.0\]\]"),
    ("conv2d input and weight of different dtypes",
     lambda: F.conv2d(randn(1, 3, 5, 5).astype(np.float32), randn(2, 3, 3, 3)), TypeError,
     r"conv2d: input \(float32\) and weight \(float64\) must have the same dtype"),
    ("avg_pool2d of integers", lambda: F.avg_pool2d(np.ones((1, 1, 4, 4), dtype=np.int64), 2),
     TypeError, r"avg_pool2d: expected a floating-point input .* got int64 of shape \(1, 1, 4, 4\)"),
    ("dropout of integers", lambda: F.dropout(np.ones((2, 3), dtype=np.int32), 0.5), TypeError,
     r"dropout: expected a floating-point input, got int32 of shape \(2, 3\)"),
    ("mse_loss target of strings", lambda: F.mse_loss(t(2), ["a", "b"]), ValueError,
     r"mse_loss: cannot make a tensor of list \['a', 'b'\]"),

    # ---- targets of the losses
    ("cross_entropy target of non-integer floats",
     lambda: F.cross_entropy(t(3, 4), np.array([0.5, 1.0, 2.0])), TypeError,
     r"cross_entropy: target must hold class indices \(an integer dtype\), got float64 of shape "
     r"\(3,\) for input of shape \(3, 4\)"),
    ("nll_loss target of booleans", lambda: F.nll_loss(t(3, 4), np.array([True, False, True])),
     TypeError, r"nll_loss: target must hold class indices \(an integer dtype\), got bool"),
    ("cross_entropy target out of range", lambda: F.cross_entropy(t(3, 4), np.array([0, 4, 1])),
     ValueError, r"cross_entropy: target value 4 is out of range for 4 classes \(expected 0..3"),
    ("CrossEntropyLoss negative target",
     lambda: nn.CrossEntropyLoss()(t(2, 3), np.array([-1, 0])), ValueError,
     r"cross_entropy: target value -1 is out of range for 3 classes"),
    ("cross_entropy batch sizes differ", lambda: F.cross_entropy(t(3, 4), np.array([0, 1])),
     ValueError, r"cross_entropy: target of shape \(2,\) does not match input of shape \(3, 4\); "
                 r"expected target shape \(3,\)"),
    ("cross_entropy unbatched logits with a batched target",
     lambda: F.cross_entropy(t(4), np.array([1])), ValueError,
     r"cross_entropy: target of shape \(1,\) does not match input of shape \(4,\); expected "
     r"target shape \(\)"),
    ("cross_entropy class weight of the wrong size",
     lambda: F.cross_entropy(t(3, 4), np.array([0, 1, 2]), weight=np.ones(3)), ValueError,
     r"cross_entropy: weight of shape \(3,\) must have one entry per class \(4,\) for input of "
     r"shape \(3, 4\)"),
    ("mse_loss batch sizes differ", lambda: F.mse_loss(t(3, 4), t(5, 4)), ValueError,
     r"mse_loss: input of shape \(3, 4\) and target of shape \(5, 4\) cannot be broadcast"),
    ("binary_cross_entropy shapes differ", lambda: F.binary_cross_entropy(
        striate.Tensor(np.full((2, 3), 0.5)), np.ones((3, 2))), ValueError,
     r"binary_cross_entropy: target of shape \(3, 2\) must have the same shape as input of shape "
     r"\(2, 3\)"),
    ("binary_cross_entropy of NaN", lambda: F.binary_cross_entropy(
        striate.Tensor(np.array([0.5, np.nan])), np.array([1.0, 0.0])), ValueError,
     r"binary_cross_entropy: all elements of input should be between 0 and 1 .*NaN"),
    ("MSELoss unknown reduction", lambda: nn.MSELoss(reduction="average"), ValueError,
     r"MSELoss: reduction='average' is not a valid value for reduction; choose one of 'none', "
     r"'mean', 'sum'"),

    # ---- dropout probability
    ("dropout p above 1", lambda: F.dropout(t(2, 3), p=1.5), ValueError,
     r"dropout: probability p must be between 0 and 1, but got 1.5"),
    ("dropout p NaN", lambda: F.dropout2d(t(2, 3, 4, 4), p=float("nan")), ValueError,
     r"dropout2d: probability p must be between 0 and 1, but got nan"),
    ("Dropout p a string", lambda: nn.Dropout("half"), TypeError,
     r"Dropout: probability p must be a number, got 'half'"),

    # ---- normalized shapes
    ("layer_norm normalized_shape not the trailing dims", lambda: F.layer_norm(t(2, 3, 4), (3, 5)),
     ValueError, r"layer_norm: normalized_shape \(3, 5\) does not match the trailing dims of the "
                 r"input: expected \(\*, 3, 5\), got shape \(2, 3, 4\)"),
    ("LayerNorm with a negative size", lambda: nn.LayerNorm((4, -1)), ValueError,
     r"LayerNorm: normalized_shape must be a positive int or a non-empty tuple of positive ints, "
     r"got \(4, -1\)"),
    ("LayerNorm with an empty shape", lambda: nn.LayerNorm(()), ValueError,
     r"LayerNorm: normalized_shape must be .* got \(\)"),
    ("LayerNorm layer fed the wrong trailing dims", lambda: nn.LayerNorm((4, 5))(t(2, 5, 4)),
     ValueError, r"LayerNorm\(\(4, 5\)\): normalized_shape \(4, 5\) does not match .* got shape "
                 r"\(2, 5, 4\)"),

    # ---- elementwise and shape ops
    ("add of shapes that do not broadcast", lambda: t(2, 3) + t(4), ValueError,
     r"Add: inputs of shapes \(2, 3\) and \(4,\) cannot be broadcast together"),
    ("maximum of shapes that do not broadcast", lambda: F.maximum(t(2, 3), t(2)), ValueError,
     r"Maximum: inputs of shapes \(2, 3\) and \(2,\) cannot be broadcast together"),
    ("matmul of mismatched inner dims", lambda: t(2, 3) @ t(4, 5), ValueError,
     r"matmul: shapes \(2, 3\) and \(4, 5\) do not match: the last dim of the first \(3\) must "
     r"equal the second-to-last dim of the second \(4\)"),
    ("transpose of a dim out of range", lambda: t(2, 3).transpose(0, 4), IndexError,
     r"transpose: dim 4 is out of range for a tensor with 2 dimensions"),
    ("unsqueeze of a dim out of range", lambda: t(2, 3).unsqueeze(5), IndexError,
     r"unsqueeze: dim 5 is out of range for a tensor of shape \(2, 3\) \(expected -3..2\)"),
    ("expand to an incompatible shape", lambda: t(2, 3).expand(4, 3), ValueError,
     r"expand: cannot expand a tensor of shape \(2, 3\) to \(4, 3\)"),

    ("interpolate with neither size nor scale_factor", lambda: F.interpolate(t(1, 1, 4, 4)),
     ValueError, r"interpolate: give exactly one of size and scale_factor, got size=None, "
                 r"scale_factor=None"),

    # ---- load_state_dict
    ("load_state_dict missing key", lambda: nn.Linear(2, 3).load_state_dict(
        linear_state(bias=None)), RuntimeError,
     r"loading state_dict into Linear \(nothing was loaded\):\s+missing keys: bias"),
    ("load_state_dict unexpected key", lambda: nn.Linear(2, 3).load_state_dict(
        linear_state(scale=np.ones(1))), RuntimeError,
     r"loading state_dict into Linear \(nothing was loaded\):\s+unexpected keys: scale"),
    ("load_state_dict shape mismatch", lambda: nn.Linear(2, 3).load_state_dict(
        linear_state(weight=np.zeros((2, 3)))), RuntimeError,
     r"Linear \(nothing was loaded\):\s+shape or type mismatches: weight: checkpoint shape "
     r"\(2, 3\), model shape \(3, 2\)"),
    ("load_state_dict value of strings", lambda: nn.Linear(2, 3).load_state_dict(
        linear_state(bias=np.array(["a", "b", "c"]))), RuntimeError,
     r"Linear \(nothing was loaded\):\s+shape or type mismatches: bias: value of type ndarray "
     r"and dtype <U1 does not hold real numbers"),
]


@pytest.mark.parametrize("what, call, error, message", CASES, ids=[case[0] for case in CASES])
def test_bad_input_is_refused_clearly(what, call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_every_row_is_a_distinct_bad_input():
    assert len(CASES) >= 25
    assert len({case[0] for case in CASES}) == len(CASES)


def test_refusal_leaves_the_module_unchanged():
    """load_state_dict checks every key before it copies any."""
    layer = nn.Linear(2, 3)
    before = {k: v.copy() for k, v in layer.state_dict().items()}
    with pytest.raises(RuntimeError):
        layer.load_state_dict(linear_state(weight=np.ones((3, 2)), bias=np.ones(4)))
    for key, value in layer.state_dict().items():
        np.testing.assert_array_equal(value, before[key])
