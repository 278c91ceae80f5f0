"""interpolate against PyTorch (output and input gradient) and float64 finite
differences, for every mode and rank, up- and down-sampling, integer and
fractional scale factors, align_corners both ways; errors."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import striate
import striate.functional as F
from harness import check_against_torch, check_gradients, randn

CASES = [
    # nearest, 3-D / 4-D / 5-D
    ((2, 3, 5), dict(size=9)),
    ((2, 3, 5), dict(scale_factor=2)),
    ((2, 3, 5), dict(scale_factor=1.7)),
    ((2, 3, 8), dict(size=3)),                                   # downsampling
    ((2, 3, 5, 4), dict(size=(7, 9))),
    ((2, 3, 5, 4), dict(scale_factor=(2, 3))),
    ((2, 2, 7, 6), dict(scale_factor=0.5)),
    ((1, 2, 3, 4, 5), dict(scale_factor=2)),
    ((1, 2, 3, 4, 5), dict(size=(2, 7, 3))),
    ((2, 3, 5, 4), dict(scale_factor=1.3, recompute_scale_factor=True)),
    ((2, 3, 5, 4), dict(scale_factor=2.05)),                     # 2-D: doubled axes use o // 2
    # nearest-exact
    ((2, 3, 5, 4), dict(size=(7, 3), mode="nearest-exact")),
    ((1, 2, 3, 4, 5), dict(scale_factor=1.5, mode="nearest-exact")),
    # linear (3-D)
    ((2, 3, 5), dict(size=11, mode="linear", align_corners=True)),
    ((2, 3, 5), dict(scale_factor=1.5, mode="linear")),
    ((2, 3, 9), dict(size=4, mode="linear", align_corners=False)),
    # bilinear (4-D)
    ((2, 3, 5, 4), dict(size=(7, 9), mode="bilinear", align_corners=False)),
    ((2, 3, 5, 4), dict(size=(7, 9), mode="bilinear", align_corners=True)),
    ((2, 3, 5, 4), dict(scale_factor=2, mode="bilinear")),
    ((2, 3, 5, 4), dict(scale_factor=2.5, mode="bilinear", align_corners=True)),
    ((2, 3, 9, 8), dict(size=(4, 3), mode="bilinear")),          # downsampling
    ((2, 3, 9, 8), dict(size=(4, 1), mode="bilinear", align_corners=True)),
    ((2, 3, 5, 4), dict(scale_factor=1.3, mode="bilinear", recompute_scale_factor=True)),
    # trilinear (5-D)
    ((1, 2, 3, 4, 5), dict(scale_factor=2, mode="trilinear")),
    ((1, 2, 3, 4, 2), dict(size=(5, 3, 4), mode="trilinear", align_corners=True)),
]


@pytest.mark.parametrize("shape,kwargs", CASES)
def test_interpolate_matches_torch(shape, kwargs):
    x = randn(*shape)
    check_against_torch(F.interpolate, TF.interpolate, [x], **kwargs)
    check_gradients(F.interpolate, [x], **kwargs)


SWEEP_MODES = [("nearest", 3), ("nearest", 4), ("nearest", 5), ("nearest-exact", 4),
               ("linear", 3), ("bilinear", 4), ("trilinear", 5)]


@pytest.mark.parametrize("mode,ndim", SWEEP_MODES)
def test_interpolate_index_rules_match_torch_over_many_sizes(mode, ndim):
    """Forward only, many (size, scale) pairs: catches PyTorch's special cases
    (unchanged or doubled axes, fractional factors, clamping at the border)."""
    rng = np.random.default_rng(0)
    corners = [False, True] if "linear" in mode else [None]
    for n in range(1, 10):
        for factor in [0.5, 0.7, 1.05, 1.1, 1.3, 1.9, 2.0, 2.05, 2.5, 3.3]:
            if math.floor(n * factor) < 1:
                continue
            shape = (1, 2) + (3,) * (ndim - 3) + (n,)
            shape = shape[:2] + shape[2:][::-1] if n % 2 else shape  # the odd axis moves
            x = rng.standard_normal(shape)
            for align_corners in corners:
                kwargs = dict(scale_factor=factor, mode=mode, align_corners=align_corners)
                expected = TF.interpolate(torch.tensor(x), **kwargs).numpy()
                np.testing.assert_allclose(F.interpolate(striate.Tensor(x), **kwargs).data,
                                           expected, rtol=1e-12, atol=1e-12, err_msg=str(kwargs))


def test_nearest_2x_is_pixel_repetition():
    x = randn(2, 3, 4, 5)
    y = F.interpolate(striate.Tensor(x), scale_factor=2).data
    np.testing.assert_array_equal(y, x.repeat(2, axis=2).repeat(2, axis=3))


def test_bilinear_with_aligned_corners_keeps_the_corners():
    x = randn(1, 2, 4, 6)
    y = F.interpolate(striate.Tensor(x), size=(7, 11), mode="bilinear", align_corners=True).data
    np.testing.assert_allclose(y[..., [0, 0, -1, -1], [0, -1, 0, -1]],
                               x[..., [0, 0, -1, -1], [0, -1, 0, -1]], rtol=1e-12)


def test_interpolate_errors():
    x = striate.Tensor(randn(1, 2, 4, 4))
    with pytest.raises(ValueError, match="align_corners can only be set"):
        F.interpolate(x, scale_factor=2, align_corners=True)
    with pytest.raises(ValueError, match=r"mode 'linear' needs a 3-D input, got shape \(1, 2, 4, 4\)"):
        F.interpolate(x, scale_factor=2, mode="linear")
    with pytest.raises(ValueError, match="exactly one of size and scale_factor"):
        F.interpolate(x, size=8, scale_factor=2)
    with pytest.raises(ValueError, match="exactly one of size and scale_factor"):
        F.interpolate(x)
    with pytest.raises(ValueError, match="unknown mode 'bicubic'"):
        F.interpolate(x, scale_factor=2, mode="bicubic")
    with pytest.raises(ValueError, match=r"3-D, 4-D or 5-D input .* \(4, 4\)"):
        F.interpolate(striate.Tensor(randn(4, 4)), scale_factor=2)
    with pytest.raises(ValueError, match="one entry per spatial dim"):
        F.interpolate(x, size=(3, 4, 5))
    with pytest.raises(ValueError, match="must both be positive"):
        F.interpolate(x, scale_factor=0.1)
