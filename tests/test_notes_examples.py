"""The worked examples of the lecture notes (``seeds/004_*.txt`` and
``seeds/000_*.txt``), with the notes' own numbers.

The notes write the filter as S(i, j) = sum_m sum_n I(i - m, j - n) K(m, n)
(a true convolution) but compute their examples by sliding the kernel as it is
(a cross-correlation, what CNN layers and PyTorch's conv2d do). Both readings
are checked: conv2d with the kernel as printed, convolve2d with it flipped.
"""
import numpy as np
import pytest

import striate.functional as F
from striate.functional.windows import output_size

IMAGE_4X4 = np.arange(1, 17, dtype=np.float64).reshape(4, 4)
KERNEL_2X2 = np.array([[-1., 1.], [0., 1.]])
EXPECTED_4X4 = [[7, 8, 9], [11, 12, 13], [15, 16, 17]]

BINARY_5X5 = np.array([[1, 1, 1, 0, 0],
                       [0, 1, 1, 1, 0],
                       [0, 0, 1, 1, 1],
                       [0, 0, 1, 1, 0],
                       [0, 1, 1, 0, 0]], dtype=np.float64)
X_FILTER = np.array([[1., 0., 1.], [0., 1., 0.], [1., 0., 1.]])

POOL_5X5 = np.array([[1, 1, 2, 0, 4],
                     [0, 1, 7, 1, 0],
                     [0, 8, 1, 1, 1],
                     [9, 0, 1, 3, 5],
                     [0, 4, 1, 0, 0]], dtype=np.float64)


def as_nchw(array):
    return array[None, None]


def naive_correlate(image, kernel, stride=1, padding=0):
    """Slide the kernel over the zero-padded image, one output pixel at a time
    (the oracle lives in the tests only)."""
    image = np.pad(image, padding)
    kh, kw = kernel.shape
    oh = (image.shape[0] - kh) // stride + 1
    ow = (image.shape[1] - kw) // stride + 1
    out = np.zeros((oh, ow))
    for i in range(oh):
        for j in range(ow):
            out[i, j] = np.sum(image[i * stride:i * stride + kh, j * stride:j * stride + kw] * kernel)
    return out


def conv(image, kernel, **options):
    return F.conv2d(as_nchw(image), as_nchw(kernel), **options).data[0, 0]


def test_4x4_image_with_2x2_kernel():
    np.testing.assert_array_equal(conv(IMAGE_4X4, KERNEL_2X2), EXPECTED_4X4)
    np.testing.assert_array_equal(naive_correlate(IMAGE_4X4, KERNEL_2X2), EXPECTED_4X4)


def test_4x4_example_as_a_true_convolution():
    """The notes' formula S = I * K gives the printed numbers for the kernel
    rotated by 180 degrees: convolve2d flips it back."""
    flipped = KERNEL_2X2[::-1, ::-1]
    result = F.convolve2d(as_nchw(IMAGE_4X4), as_nchw(flipped.copy())).data[0, 0]
    np.testing.assert_array_equal(result, EXPECTED_4X4)


def test_binary_image_with_x_filter():
    np.testing.assert_array_equal(conv(BINARY_5X5, X_FILTER), [[4, 3, 4], [2, 4, 3], [2, 3, 4]])


def test_binary_image_with_x_filter_zero_padded():
    result = conv(BINARY_5X5, X_FILTER, padding=1)
    np.testing.assert_array_equal(result, naive_correlate(BINARY_5X5, X_FILTER, padding=1))
    # the feature map printed in the notes, all five rows
    np.testing.assert_array_equal(result, [[2, 2, 3, 1, 1],
                                           [1, 4, 3, 4, 1],
                                           [1, 2, 4, 3, 3],
                                           [1, 2, 3, 4, 1],
                                           [0, 2, 2, 1, 1]])
    # the notes' point: padding 1 keeps the 5x5 size, the interior is the unpadded map
    np.testing.assert_array_equal(result[1:-1, 1:-1], conv(BINARY_5X5, X_FILTER))
    np.testing.assert_array_equal(conv(BINARY_5X5, X_FILTER, padding="same"), result)


def test_binary_image_with_x_filter_stride_2():
    result = conv(BINARY_5X5, X_FILTER, stride=2)
    np.testing.assert_array_equal(result, [[4, 4], [2, 4]])
    np.testing.assert_array_equal(result, naive_correlate(BINARY_5X5, X_FILTER, stride=2))


def test_max_pooling_3x3_stride_2():
    result = F.max_pool2d(as_nchw(POOL_5X5), kernel_size=3, stride=2).data[0, 0]
    np.testing.assert_array_equal(result, [[8, 7], [9, 5]])


@pytest.mark.parametrize("size, kernel, padding, stride, expected", [
    (227, 11, 0, 4, 55),     # AlexNet's first layer: (227 - 11)/4 + 1 = 55
    (7, 3, 1, 1, 7),         # the notes' "keep the original size": 7x7, 3x3, stride 1, zero padding
    (5, 3, 0, 2, 2),         # the stride-2 example above
    (55, 3, 0, 2, 27),       # AlexNet's overlapping pooling
])
def test_output_size_formula(size, kernel, padding, stride, expected):
    assert (size - kernel + 2 * padding) // stride + 1 == expected   # the notes' formula
    assert output_size(size, kernel, stride, padding) == expected


def test_alexnet_first_layer_shape_and_weights():
    image = np.zeros((1, 3, 227, 227), dtype=np.float32)
    weight = np.zeros((96, 3, 11, 11), dtype=np.float32)
    bias = np.zeros(96, dtype=np.float32)
    out = F.conv2d(image, weight, bias, stride=4)
    assert out.shape == (1, 96, 55, 55)
    assert weight.size + bias.size == (11 * 11 * 3 + 1) * 96 == 34944


def test_box_average_kernel():
    """The 3x3 box kernel (1/9 of ones) averages each neighbourhood: the same
    as 3x3 average pooling with stride 1."""
    box = np.full((3, 3), 1 / 9)
    image = np.arange(30, dtype=np.float64).reshape(5, 6) ** 1.5
    filtered = conv(image, box)
    np.testing.assert_allclose(filtered, naive_correlate(image, box), rtol=1e-12)
    np.testing.assert_allclose(filtered, F.avg_pool2d(as_nchw(image), 3, stride=1).data[0, 0],
                               rtol=1e-12)
    # on a constant image the box average changes nothing
    np.testing.assert_allclose(conv(np.full((4, 4), 7.0), box), np.full((2, 2), 7.0))
