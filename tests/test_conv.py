"""conv1d/2d/3d, conv_transpose1d/2d/3d and convolve2d against PyTorch (forward
and input, weight and bias gradients, float32 and float64), float64 finite
differences, the flipped-filter identity of the input gradient, and errors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as T

import striate
import striate.functional as F
from harness import check_against_torch, check_gradients, randn

# PyTorch warns that it copies the input for 'same' with an even kernel; we do the same.
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")

# (input shape, weight shape, options); weights are (out, in/groups, *kernel)
CONV2D = [
    ((2, 3, 7, 6), (4, 3, 3, 3), {}),
    ((2, 3, 8, 7), (4, 3, 3, 3), dict(stride=2, padding=1)),
    ((1, 2, 9, 6), (3, 2, 3, 2), dict(stride=(2, 1), padding=(1, 2))),
    ((2, 2, 9, 9), (3, 2, 3, 3), dict(dilation=2, padding=2)),
    ((2, 2, 11, 8), (2, 2, 2, 3), dict(stride=3, dilation=(2, 1))),
    ((2, 4, 6, 7), (6, 2, 3, 3), dict(groups=2, padding=1)),
    ((2, 3, 6, 6), (3, 1, 3, 3), dict(groups=3, padding=1)),             # depthwise
    ((2, 3, 7, 5), (6, 1, 3, 3), dict(groups=3, stride=2)),              # depthwise, multiplier 2
    ((2, 4, 5, 5), (8, 4, 1, 1), {}),                                    # pointwise (separable's 2nd half)
    ((2, 1, 8, 7), (6, 1, 5, 5), dict(padding=2)),                       # LeNet's first layer, O > 2C
    ((2, 4, 7, 7), (8, 4, 1, 1), dict(stride=2)),                        # ResNet's downsample
    ((2, 3, 7, 6), (4, 3, 3, 3), dict(padding="same")),
    ((2, 3, 7, 6), (4, 3, 4, 2), dict(padding="same")),                  # even kernel: extra pad after
    ((2, 3, 7, 8), (4, 3, 3, 2), dict(padding="same", dilation=2)),
    ((2, 3, 7, 6), (4, 3, 3, 3), dict(padding="valid")),
    ((1, 2, 4, 5), (3, 2, 2, 2), dict(padding=3)),                       # padding larger than the kernel
    ((1, 2, 5, 5), (3, 2, 5, 5), {}),                                    # kernel as large as the input
]

CONV1D = [
    ((2, 3, 9), (4, 3, 3), {}),
    ((2, 4, 10), (6, 2, 4), dict(stride=2, padding=1, groups=2)),
    ((1, 3, 11), (3, 1, 3), dict(dilation=3, padding="same", groups=3)),
]

CONV3D = [
    ((1, 2, 4, 5, 4), (3, 2, 2, 3, 2), {}),
    ((2, 2, 5, 4, 5), (4, 1, 3, 3, 3), dict(stride=(2, 1, 2), padding=1, groups=2)),
    ((1, 2, 5, 5, 5), (2, 2, 3, 3, 3), dict(dilation=2, padding="same")),
]

# (input shape, weight shape, options); weights are (in, out/groups, *kernel)
TRANSPOSED = [
    (2, (2, 3, 4, 5), (3, 2, 3, 3), {}),
    (2, (2, 3, 4, 4), (3, 2, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    (2, (1, 4, 3, 5), (4, 3, 2, 3), dict(stride=(2, 3), padding=(0, 1), output_padding=(1, 2),
                                         groups=2)),
    (2, (1, 2, 4, 3), (2, 2, 3, 2), dict(stride=2, dilation=2, output_padding=1)),
    (2, (2, 4, 3, 3), (4, 1, 2, 2), dict(stride=2, groups=4)),           # U-Net style, depthwise
    (1, (2, 3, 6), (3, 2, 3), dict(stride=2, padding=1, output_padding=1)),
    (1, (1, 4, 5), (4, 1, 4), dict(stride=3, groups=2, dilation=2)),
    (3, (1, 2, 3, 2, 3), (2, 2, 2, 3, 2), dict(stride=2, padding=(0, 1, 0), output_padding=(1, 0, 1))),
]

CONV_FUNCTIONS = {1: (F.conv1d, T.conv1d), 2: (F.conv2d, T.conv2d), 3: (F.conv3d, T.conv3d)}
TRANSPOSED_FUNCTIONS = {1: (F.conv_transpose1d, T.conv_transpose1d),
                        2: (F.conv_transpose2d, T.conv_transpose2d),
                        3: (F.conv_transpose3d, T.conv_transpose3d)}


def _case_inputs(x_shape, w_shape, out_channels, bias):
    inputs = [randn(*x_shape, seed=1), randn(*w_shape, seed=2)]
    if bias:
        inputs.append(randn(out_channels, seed=3))
    return inputs


def _conv_cases():
    for cases in (CONV1D, CONV2D, CONV3D):
        for x_shape, w_shape, options in cases:
            yield len(x_shape) - 2, x_shape, w_shape, options


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("nd, x_shape, w_shape, options", list(_conv_cases()))
def test_conv_matches_torch(nd, x_shape, w_shape, options, bias):
    ours, theirs = CONV_FUNCTIONS[nd]
    inputs = _case_inputs(x_shape, w_shape, w_shape[0], bias)
    check_against_torch(ours, theirs, inputs, **options)


@pytest.mark.parametrize("nd, x_shape, w_shape, options", list(_conv_cases()))
def test_conv_finite_differences(nd, x_shape, w_shape, options):
    inputs = _case_inputs(x_shape, w_shape, w_shape[0], bias=True)
    check_gradients(CONV_FUNCTIONS[nd][0], inputs, **options)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("nd, x_shape, w_shape, options", TRANSPOSED)
def test_conv_transpose_matches_torch(nd, x_shape, w_shape, options, bias):
    ours, theirs = TRANSPOSED_FUNCTIONS[nd]
    inputs = _case_inputs(x_shape, w_shape, w_shape[1] * options.get("groups", 1), bias)
    check_against_torch(ours, theirs, inputs, **options)


@pytest.mark.parametrize("nd, x_shape, w_shape, options", TRANSPOSED)
def test_conv_transpose_finite_differences(nd, x_shape, w_shape, options):
    inputs = _case_inputs(x_shape, w_shape, w_shape[1] * options.get("groups", 1), bias=True)
    check_gradients(TRANSPOSED_FUNCTIONS[nd][0], inputs, **options)


def test_only_some_inputs_need_gradients():
    x, w, b = randn(2, 3, 6, 6, seed=1), randn(4, 3, 3, 3, seed=2), randn(4, seed=3)
    for flags in ([True, False, False], [False, True, False], [False, False, True]):
        check_against_torch(F.conv2d, T.conv2d, [x, w, b], grad=flags, stride=2, padding=1)
        check_against_torch(F.conv_transpose2d, T.conv_transpose2d, [x, randn(3, 2, 3, 3), randn(2)],
                            grad=flags, stride=2)


def test_unbatched_input_like_torch():
    x, w = randn(3, 7, 6, seed=1), randn(4, 3, 3, 3, seed=2)
    check_against_torch(F.conv2d, T.conv2d, [x, w], padding=1)
    check_against_torch(F.conv_transpose2d, T.conv_transpose2d, [x, randn(3, 2, 2, 2)], stride=2)


def test_float32_stays_float32_and_no_grad_records_nothing():
    x = striate.Tensor(randn(2, 3, 6, 6).astype(np.float32), requires_grad=True)
    w = striate.Tensor(randn(4, 3, 3, 3, seed=1).astype(np.float32), requires_grad=True)
    out = F.conv2d(x, w, padding=1)
    out.sum().backward()
    assert out.dtype == np.float32 and x.grad.dtype == np.float32 and w.grad.dtype == np.float32
    with striate.no_grad():
        again = F.conv2d(x, w, padding=1)
    assert not again.requires_grad and again.creator is None
    np.testing.assert_array_equal(again.data, out.data)


def test_recycled_columns_are_never_shared():
    """Columns saved for backward come from a recycled workspace: convolutions
    of the same shape in one graph, a second backward (retain_graph) and a graph
    freed in between must all still give PyTorch's gradients."""
    xs = [randn(2, 3, 6, 6, seed=s) for s in (1, 2)]
    w = randn(3, 3, 3, 3, seed=3)
    ours = [striate.Tensor(x, requires_grad=True) for x in xs]
    theirs = [torch.tensor(x, requires_grad=True) for x in xs]
    ws, wt = striate.Tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    F.conv2d(ours[0], ws, padding=1).sum().backward()              # a graph made and freed
    ws.grad = ours[0].grad = None
    loss = (F.conv2d(F.conv2d(ours[0], ws, padding=1), ws, padding=1) * F.conv2d(ours[1], ws, padding=1)).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    ref = (T.conv2d(T.conv2d(theirs[0], wt, padding=1), wt, padding=1) * T.conv2d(theirs[1], wt, padding=1)).sum()
    ref.backward(retain_graph=True)
    ref.backward()
    for a, b in zip(ours + [ws], theirs + [wt]):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-10, atol=1e-10)


# --------------------------------------------------------------------------- backward as the notes derive it


def _dilate(grad, stride):
    """Insert stride-1 zeros between the gradient's pixels (the stride undone)."""
    n, c, oh, ow = grad.shape
    sh, sw = stride
    out = np.zeros((n, c, (oh - 1) * sh + 1, (ow - 1) * sw + 1))
    out[:, :, ::sh, ::sw] = grad
    return out


@pytest.mark.parametrize("c", [4, 2])   # both routes: O <= 2C and O > 2C
@pytest.mark.parametrize("stride, padding, dilation, groups", [
    ((1, 1), (0, 0), (1, 1), 1), ((1, 1), (1, 2), (1, 1), 1), ((2, 2), (1, 1), (1, 1), 1),
    ((2, 1), (0, 1), (2, 1), 2), ((1, 1), (1, 1), (1, 1), 2)])
def test_input_gradient_is_full_correlation_with_flipped_filters(stride, padding, dilation, groups, c):
    """The notes: dL/dx is the full cross-correlation of the (stride-dilated)
    output gradient with the spatially flipped filters, input and output
    channels swapped (per group)."""
    o, k = 8, (3, 3)
    x = striate.Tensor(randn(2, c, 9, 8, seed=1), requires_grad=True)
    w = randn(o, c // groups, *k, seed=2)
    out = F.conv2d(x, w, stride=stride, padding=padding, dilation=dilation, groups=groups)
    grad = randn(*out.shape, seed=3)
    out.backward(grad)

    flipped = w[:, :, ::-1, ::-1].reshape(groups, o // groups, c // groups, *k)
    swapped = flipped.transpose(0, 2, 1, 3, 4).reshape(c, o // groups, *k)   # (in, out/groups, KH, KW)
    dilated = _dilate(grad, stride)
    full = [(d * (kk - 1), d * (kk - 1)) for d, kk in zip(dilation, k)]
    padded = np.pad(dilated, [(0, 0), (0, 0)] + full)
    correlation = F.conv2d(padded, swapped, dilation=dilation, groups=groups).data
    # Rows/columns of the padded input that no window reached get no gradient;
    # undo the padding of the forward pass.
    h, wd = x.shape[2:]
    expected = np.zeros((2, c, h + 2 * padding[0], wd + 2 * padding[1]))
    expected[:, :, :correlation.shape[2], :correlation.shape[3]] = correlation
    expected = expected[:, :, padding[0]:padding[0] + h, padding[1]:padding[1] + wd]
    np.testing.assert_allclose(x.grad, expected, rtol=1e-10, atol=1e-10)


def test_weight_gradient_sums_over_all_offsets():
    """dL/dw[o, c, m, n] = sum over samples and output positions of
    grad[o, i, j] * x[c, i + m, j + n] (stride 1, no padding)."""
    x, w = randn(2, 3, 6, 5, seed=1), striate.Tensor(randn(2, 3, 2, 3, seed=2), requires_grad=True)
    out = F.conv2d(x, w)
    grad = randn(*out.shape, seed=3)
    out.backward(grad)
    oh, ow = out.shape[2:]
    expected = np.zeros(w.shape)
    for m in range(2):
        for n in range(3):
            expected[:, :, m, n] = np.einsum("noij,ncij->oc", grad, x[:, :, m:m + oh, n:n + ow])
    np.testing.assert_allclose(w.grad, expected, rtol=1e-10, atol=1e-10)


# --------------------------------------------------------------------------- true convolution


def naive_convolve2d(image, kernel):
    """S(i, j) = sum_m sum_n I(i - m, j - n) K(m, n), at the positions where the
    kernel lies inside the image (the oracle lives in the tests only)."""
    kh, kw = kernel.shape
    out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            si, sj = i + kh - 1, j + kw - 1   # S's index in the image's coordinates
            out[i, j] = sum(image[si - m, sj - n] * kernel[m, n] for m in range(kh) for n in range(kw))
    return out


def test_convolve2d_is_the_notes_formula():
    image, kernel = randn(6, 7, seed=1), randn(3, 2, seed=2)
    ours = F.convolve2d(image[None, None], kernel[None, None]).data[0, 0]
    np.testing.assert_allclose(ours, naive_convolve2d(image, kernel), rtol=1e-12)


def _torch_flipped_correlation(x, w, b=None, **options):
    return T.conv2d(x, w.flip(-2, -1), b, **options)


@pytest.mark.parametrize("options", [{}, dict(stride=2, padding=1), dict(groups=2, dilation=2, padding=2)])
def test_convolve2d_is_correlation_with_flipped_kernel(options):
    inputs = [randn(2, 4, 7, 6, seed=1), randn(4, 4 // options.get("groups", 1), 3, 2, seed=2),
              randn(4, seed=3)]
    check_against_torch(F.convolve2d, _torch_flipped_correlation, inputs, **options)
    check_gradients(F.convolve2d, inputs, **options)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("call, message", [
    (lambda: F.conv2d(randn(3, 5, 5, 1, 1), randn(2, 3, 3, 3)), r"conv2d: expected a 3-d .*shape \(3, 5, 5, 1, 1\)"),
    (lambda: F.conv2d(randn(5, 5), randn(2, 3, 3, 3)), r"conv2d: expected .*got shape \(5, 5\)"),
    (lambda: F.conv2d(randn(1, 3, 5, 5), randn(2, 3, 3)), r"conv2d: expected a 4-d weight.*\(2, 3, 3\)"),
    (lambda: F.conv2d(randn(1, 4, 5, 5), randn(2, 3, 3, 3)), r"conv2d: input of shape \(1, 4, 5, 5\) has 4 channels.*\(2, 3, 3, 3\)"),
    (lambda: F.conv2d(randn(1, 4, 5, 5), randn(3, 2, 3, 3), groups=2), r"conv2d: groups=2 must divide.*output channels \(3\)"),
    (lambda: F.conv2d(randn(1, 3, 5, 5), randn(3, 1, 3, 3), groups=2), r"conv2d: groups=2 must divide.*input channels \(3\)"),
    (lambda: F.conv2d(randn(1, 3, 5, 5), randn(3, 3, 3, 3), groups=0), r"conv2d: groups must be a positive int"),
    (lambda: F.conv2d(randn(1, 3, 2, 2), randn(2, 3, 3, 3)), r"conv2d: input of shape \(1, 3, 2, 2\) is too small: the kernel \(3, 3\) .* spans \(3, 3\), more than the padded input \(2, 2\) .* at least \(3, 3\)"),
    (lambda: F.conv2d(randn(1, 3, 5, 5), randn(2, 3, 3, 3), dilation=3), r"conv2d: input of shape \(1, 3, 5, 5\) is too small: the kernel \(3, 3\) with dilation \(3, 3\) spans \(7, 7\)"),
    (lambda: F.conv2d(randn(1, 3, 5, 5), randn(2, 3, 3, 3), randn(3)), r"conv2d: bias must have shape \(2,\).*got \(3,\)"),
    (lambda: F.conv2d(randn(1, 3, 5, 5), randn(2, 3, 3, 3), stride=0), r"conv2d: stride must be positive"),
    (lambda: F.conv2d(randn(1, 3, 5, 5), randn(2, 3, 3, 3), dilation=(1, -1)), r"conv2d: dilation must be positive"),
    (lambda: F.conv2d(randn(1, 3, 5, 5), randn(2, 3, 3, 3), padding=-1), r"conv2d: padding must be non-negative"),
    (lambda: F.conv2d(randn(1, 3, 5, 5), randn(2, 3, 3, 3), padding="full"), r"conv2d: padding must be .*'same' or 'valid', got 'full'"),
    (lambda: F.conv2d(randn(1, 3, 5, 5), randn(2, 3, 3, 3), padding="same", stride=2), r"conv2d: padding='same' needs stride 1"),
    (lambda: F.conv2d(randn(1, 3, 5, 5), randn(2, 3, 3, 3), stride=(1, 2, 3)), r"conv2d: stride must be an int or a tuple of 2 ints"),
    (lambda: F.conv1d(randn(1, 3, 5, 5), randn(2, 3, 3)), r"conv1d: expected a 2-d .*\(1, 3, 5, 5\)"),
    (lambda: F.conv3d(randn(1, 3, 5, 5, 5), randn(2, 2, 3, 3, 3)), r"conv3d: input of shape \(1, 3, 5, 5, 5\) has 3 channels"),
    (lambda: F.conv_transpose2d(randn(1, 3, 5, 5), randn(2, 3, 3, 3)), r"conv_transpose2d: input of shape \(1, 3, 5, 5\) has 3 channels.*expects 2"),
    (lambda: F.conv_transpose2d(randn(1, 4, 5, 5), randn(4, 3, 3, 3), groups=3), r"conv_transpose2d: groups=3 must divide"),
    (lambda: F.conv_transpose2d(randn(1, 3, 5, 5), randn(3, 2, 3, 3), stride=2, output_padding=2), r"conv_transpose2d: output_padding \(2, 2\) must be smaller"),
    (lambda: F.conv_transpose2d(randn(1, 3, 5, 5), randn(3, 2, 3, 3), padding="same"), r"conv_transpose2d: padding must be an int"),
    (lambda: F.conv_transpose2d(randn(1, 3, 5, 5), randn(3, 2, 3, 3), randn(3)), r"conv_transpose2d: bias must have shape \(2,\)"),
    (lambda: F.conv_transpose2d(randn(1, 3, 1, 1), randn(3, 2, 1, 1), padding=1), r"conv_transpose2d: output size \(-1, -1\) is not positive"),
    (lambda: F.convolve2d(randn(1, 3, 5, 5), randn(3, 3)), r"convolve2d: expected a 4-d weight"),
])
def test_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_dtype_mismatch_is_a_type_error():
    with pytest.raises(TypeError, match=r"conv2d: input \(float32\) and weight \(float64\)"):
        F.conv2d(randn(1, 3, 5, 5).astype(np.float32), randn(2, 3, 3, 3))


def test_errors_match_torch_on_what_is_rejected():
    """Every error case above is an error in PyTorch too (no stricter rules)."""
    with pytest.raises(RuntimeError):
        T.conv2d(torch.zeros(1, 3, 2, 2), torch.zeros(2, 3, 3, 3))
    with pytest.raises(RuntimeError):
        T.conv2d(torch.zeros(1, 4, 5, 5), torch.zeros(3, 2, 3, 3), groups=2)
    with pytest.raises(RuntimeError):
        T.conv_transpose2d(torch.zeros(1, 3, 5, 5), torch.zeros(3, 2, 3, 3), stride=2, output_padding=2)
