"""max/avg pooling (1-d, 2-d, 3-d), adaptive average and max pooling against
PyTorch (forward and input gradient, float32 and float64), float64 finite
differences, and PyTorch's validation. Max-pool inputs are tie-free, so that
the winner of every window (where the gradient is routed) is unambiguous."""
import numpy as np
import pytest
import torch
import torch.nn.functional as T

import striate
import striate.functional as F
from harness import check_against_torch, check_gradients, tie_free

MAX_POOL = [
    (2, (2, 3, 8, 8), dict(kernel_size=2)),
    (2, (2, 2, 9, 7), dict(kernel_size=3, stride=2)),                       # AlexNet's overlapping pooling
    (2, (2, 2, 9, 7), dict(kernel_size=3, stride=2, padding=1)),
    (2, (1, 2, 7, 8), dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1))),
    (2, (1, 2, 9, 8), dict(kernel_size=3, stride=2, ceil_mode=True)),
    (2, (1, 2, 8, 9), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    (2, (1, 2, 9, 9), dict(kernel_size=2, stride=2, padding=1, dilation=2)),
    (2, (1, 2, 6, 7), dict(kernel_size=3, stride=1, padding=1)),            # GoogLeNet's branch pool
    (1, (2, 3, 11), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    (1, (2, 3, 10), dict(kernel_size=2, dilation=3)),
    (3, (1, 2, 5, 6, 5), dict(kernel_size=2)),
    (3, (1, 2, 5, 5, 6), dict(kernel_size=(3, 2, 3), stride=2, padding=1, ceil_mode=True)),
]

AVG_POOL = [
    (2, (2, 3, 8, 8), dict(kernel_size=2)),
    (2, (2, 2, 9, 7), dict(kernel_size=3, stride=2)),
    (2, (2, 2, 9, 7), dict(kernel_size=3, stride=2, padding=1)),
    (2, (2, 2, 9, 7), dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
    (2, (1, 2, 8, 9), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    (2, (1, 2, 8, 9), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)),
    (2, (1, 2, 9, 8), dict(kernel_size=(2, 3), stride=2, ceil_mode=True)),
    (2, (1, 2, 7, 8), dict(kernel_size=(3, 2), stride=(1, 2), padding=(1, 0), divisor_override=5)),
    (1, (2, 3, 11), dict(kernel_size=4, stride=3, padding=2, ceil_mode=True)),
    (1, (2, 3, 11), dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
    (3, (1, 2, 4, 5, 6), dict(kernel_size=2)),
    (3, (1, 2, 5, 5, 6), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)),
    (3, (1, 2, 4, 5, 4), dict(kernel_size=2, stride=1, divisor_override=3)),
]

ADAPTIVE = [
    (2, (2, 3, 8, 8), 1),              # global average pooling
    (2, (2, 3, 8, 8), 4),              # divisible
    (2, (2, 3, 7, 9), (3, 4)),         # not divisible: overlapping windows
    (2, (1, 2, 5, 7), (6, 8)),         # larger than the input: windows repeat pixels
    (2, (1, 2, 6, 7), (None, 3)),      # None keeps that size
    (1, (2, 3, 10), 3),
    (1, (2, 3, 5), 1),
    (3, (1, 2, 5, 4, 7), (2, 3, 3)),
]

MAX = {1: (F.max_pool1d, T.max_pool1d), 2: (F.max_pool2d, T.max_pool2d), 3: (F.max_pool3d, T.max_pool3d)}
AVG = {1: (F.avg_pool1d, T.avg_pool1d), 2: (F.avg_pool2d, T.avg_pool2d), 3: (F.avg_pool3d, T.avg_pool3d)}
ADAPTIVE_AVG = {1: (F.adaptive_avg_pool1d, T.adaptive_avg_pool1d),
                2: (F.adaptive_avg_pool2d, T.adaptive_avg_pool2d),
                3: (F.adaptive_avg_pool3d, T.adaptive_avg_pool3d)}
ADAPTIVE_MAX = {1: (F.adaptive_max_pool1d, T.adaptive_max_pool1d),
                2: (F.adaptive_max_pool2d, T.adaptive_max_pool2d)}


@pytest.mark.parametrize("nd, shape, options", MAX_POOL)
def test_max_pool_matches_torch(nd, shape, options):
    ours, theirs = MAX[nd]
    check_against_torch(ours, theirs, [tie_free(shape)], **options)
    check_gradients(ours, [tie_free(shape)], **options)


@pytest.mark.parametrize("nd, shape, options", [case for case in MAX_POOL if
                                                 np.any(case[2].get("padding", 0))
                                                 or case[2].get("ceil_mode")])
def test_max_pool_pads_with_minus_infinity(nd, shape, options):
    """All-negative input with padding: a zero pad (DeZero's bug) would win."""
    values = tie_free(shape, low=-9.0, high=-1.0)
    ours, theirs = MAX[nd]
    check_against_torch(ours, theirs, [values], **options)
    assert ours(values, **options).data.max() < 0


INTEGER_DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8]


@pytest.mark.parametrize("dtype", INTEGER_DTYPES)
def test_max_pool_pads_integers_with_the_dtype_minimum(dtype):
    """The padding of an integer input is the dtype's minimum: -inf cast to int8
    or int16 is 0, which beat every window of negative values."""
    x = np.full((1, 1, 2, 2), -3 if np.issubdtype(dtype, np.signedinteger) else 3, dtype=dtype)
    out = F.max_pool2d(x, 3, stride=1, padding=1)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out.data, x)   # every window holds the whole input
    np.testing.assert_array_equal(out.data, T.max_pool2d(torch.tensor(x), 3, 1, 1).numpy())


@pytest.mark.parametrize("dtype", INTEGER_DTYPES)
@pytest.mark.parametrize("nd, shape, options", [case for case in MAX_POOL if
                                                 np.any(case[2].get("padding", 0))
                                                 or case[2].get("ceil_mode")])
def test_integer_max_pool_matches_torch(nd, shape, options, dtype):
    """Integers spanning the dtype's range, padded windows included. PyTorch has
    no integer max_pool1d, so the 1-d case goes through its max_pool2d on (N, C, 1, W)."""
    info = np.iinfo(dtype)
    x = np.random.default_rng(nd).integers(info.min, info.max, size=shape, dtype=dtype,
                                           endpoint=True)
    ours = MAX[nd][0](x, **options)
    if nd == 1:
        height = {"kernel_size": 1, "stride": 1, "padding": 0, "dilation": 1}
        options2d = {k: (height[k], v) if k in height else v for k, v in options.items()}
        reference = T.max_pool2d(torch.tensor(x[:, :, None]), **options2d)[:, :, 0]
    else:
        reference = MAX[nd][1](torch.tensor(x), **options)
    assert ours.dtype == dtype
    np.testing.assert_array_equal(ours.data, reference.numpy())


@pytest.mark.parametrize("options", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                     dict(kernel_size=3, stride=1)])
@pytest.mark.parametrize("channel_major", [False, True])
def test_max_pool_gives_a_tied_window_s_gradient_to_its_first_maximum(options, channel_major):
    """After a ReLU many windows are all zeros: PyTorch routes the gradient to
    the first maximum in scan order, and so must we (tiling and overlapping
    windows, plain and channel-major input)."""
    rng = np.random.default_rng(0)
    x = np.maximum(rng.integers(-3, 3, size=(3, 4, 8, 8)), 0).astype(np.float32)
    if channel_major:
        x = np.ascontiguousarray(x.swapaxes(0, 1)).swapaxes(0, 1)
    ours = striate.Tensor(x, requires_grad=True)
    out = F.max_pool2d(ours, **options)
    upstream = rng.standard_normal(out.shape).astype(np.float32)
    out.backward(upstream)
    theirs = torch.tensor(np.ascontiguousarray(x), requires_grad=True)
    T.max_pool2d(theirs, **options).backward(torch.tensor(upstream))
    np.testing.assert_array_equal(out.data, T.max_pool2d(torch.tensor(np.ascontiguousarray(x)),
                                                         **options).numpy())
    # (overlapping windows add their shares in another order: rounding only)
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-6, atol=1e-6)


def test_max_pool_routes_gradient_to_the_winner():
    x = striate.Tensor(np.array([[[[1., 5., 2.], [4., 3., 0.], [7., 6., 8.]]]]), requires_grad=True)
    out = F.max_pool2d(x, 2, stride=1)              # windows overlap: 5 wins twice
    out.backward(np.array([[[[1., 10.], [100., 1000.]]]]))
    expected = np.zeros((3, 3))
    expected[0, 1] = 1 + 10                         # 5 wins the two top windows
    expected[2, 0] = 100                            # 7
    expected[2, 2] = 1000                           # 8
    np.testing.assert_array_equal(x.grad[0, 0], expected)


@pytest.mark.parametrize("nd, shape, options", AVG_POOL)
def test_avg_pool_matches_torch(nd, shape, options):
    ours, theirs = AVG[nd]
    check_against_torch(ours, theirs, [tie_free(shape)], **options)
    check_gradients(ours, [tie_free(shape)], **options)


@pytest.mark.parametrize("nd, shape, output_size", ADAPTIVE)
def test_adaptive_avg_pool_matches_torch(nd, shape, output_size):
    ours, theirs = ADAPTIVE_AVG[nd]
    check_against_torch(ours, theirs, [tie_free(shape)], output_size=output_size)
    check_gradients(ours, [tie_free(shape)], output_size=output_size)


@pytest.mark.parametrize("nd, shape, output_size", [case for case in ADAPTIVE if case[0] < 3])
def test_adaptive_max_pool_matches_torch(nd, shape, output_size):
    ours, theirs = ADAPTIVE_MAX[nd]
    check_against_torch(ours, theirs, [tie_free(shape)], output_size=output_size)
    check_gradients(ours, [tie_free(shape)], output_size=output_size)


def test_global_average_pooling_is_the_mean():
    x = tie_free((2, 3, 5, 7))
    np.testing.assert_allclose(F.adaptive_avg_pool2d(x, 1).data, x.mean(axis=(2, 3), keepdims=True))


def test_unbatched_input_like_torch():
    x = tie_free((3, 7, 6))
    check_against_torch(F.max_pool2d, T.max_pool2d, [x], kernel_size=3, stride=2, padding=1)
    check_against_torch(F.avg_pool2d, T.avg_pool2d, [x], kernel_size=2)
    check_against_torch(F.adaptive_avg_pool2d, T.adaptive_avg_pool2d, [x], output_size=(2, 4))
    check_against_torch(F.adaptive_max_pool2d, T.adaptive_max_pool2d, [x], output_size=(2, 4))


def test_float32_stays_float32():
    x = striate.Tensor(tie_free((1, 2, 6, 6)).astype(np.float32), requires_grad=True)
    for out in (F.max_pool2d(x, 2), F.avg_pool2d(x, 3, 2, 1), F.adaptive_avg_pool2d(x, 3),
                F.adaptive_max_pool2d(x, 4)):
        assert out.dtype == np.float32
        x.grad = None
        out.sum().backward()
        assert x.grad.dtype == np.float32


@pytest.mark.parametrize("call, message", [
    (lambda: F.max_pool2d(tie_free((1, 2, 3, 5, 5)), 2), r"max_pool2d: expected a 3-d .*\(1, 2, 3, 5, 5\)"),
    (lambda: F.max_pool1d(tie_free((1, 2, 5, 5)), 2), r"max_pool1d: expected a 2-d .*\(1, 2, 5, 5\)"),
    (lambda: F.max_pool2d(tie_free((1, 2, 5, 5)), 3, padding=2), r"max_pool2d: pad should be at most half"),
    (lambda: F.avg_pool2d(tie_free((1, 2, 5, 5)), 2, padding=2), r"avg_pool2d: pad should be at most half"),
    (lambda: F.max_pool2d(tie_free((1, 2, 5, 5)), 0), r"max_pool2d: kernel_size must be positive"),
    (lambda: F.max_pool2d(tie_free((1, 2, 5, 5)), 2, stride=0), r"max_pool2d: stride must be positive"),
    (lambda: F.max_pool2d(tie_free((1, 2, 5, 5)), 2, dilation=0), r"max_pool2d: dilation must be positive"),
    (lambda: F.max_pool2d(tie_free((1, 2, 5, 5)), 6), r"max_pool2d: input of shape \(1, 2, 5, 5\) is too small.*must be at least \(6, 6\)"),
    (lambda: F.avg_pool2d(tie_free((1, 2, 5, 5)), 2, padding="same"), r"avg_pool2d: padding must be an int"),
    (lambda: F.avg_pool2d(tie_free((1, 2, 5, 5)), 2, divisor_override=0), r"avg_pool2d: divisor_override must not be zero"),
    (lambda: F.max_pool2d(tie_free((1, 2, 5, 5)), (2, 2, 2)), r"max_pool2d: kernel_size must be an int or a tuple of 2"),
    (lambda: F.adaptive_avg_pool2d(tie_free((1, 2, 5, 5)), (2, 0)), r"adaptive_avg_pool2d: output_size must be positive"),
    (lambda: F.adaptive_avg_pool2d(tie_free((1, 2, 5, 5)), (2, 2, 2)), r"adaptive_avg_pool2d: output_size must be an int or a tuple of 2"),
    (lambda: F.adaptive_max_pool2d(tie_free((2, 5)), 2), r"adaptive_max_pool2d: expected a 3-d .*\(2, 5\)"),
])
def test_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
