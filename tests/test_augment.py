"""Augmentation: each transform against an independent computation (scipy's
resampler, np.rot90, closed-form field statistics, hand-computed ranges),
seeded reproducibility, exact resume with augmentation on, Mixup/CutMix label
mixing and the soft-target loss, the spec parser's errors and ``striate augment``."""
import math

import numpy as np
import pytest
from cli_runner import run

import striate
from striate.data import transforms as T
from striate.data.augment import (ColorJitter, ElasticTransform, RandomAffine, RandomErasing,
                                  RandomRotation, affine_inverse, gaussian_smoothing_matrix,
                                  warp_affine)
from striate.data.augment_spec import (AUGMENT_OPTIONS, AugmentSpecError, build_augmentation,
                                       build_mix, parse_augment_spec)
from striate.data.mixing import CutMix, Mixup, one_hot
from striate.train import load_checkpoint

ndimage = pytest.importorskip("scipy.ndimage")


def images(n=4, c=1, h=12, w=12, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).random((n, c, h, w)).astype(dtype)


# --------------------------------------------------------------------------- affine


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
def test_identity_affine_leaves_images_bit_identical(dtype):
    x = images(dtype=np.float64)
    x = (x * 255).astype(dtype) if dtype == np.uint8 else x.astype(dtype)
    out = RandomAffine(degrees=0, translate=(0, 0), scale=(1, 1), shear=0)(x)
    assert out.dtype == x.dtype and np.array_equal(out, x)


@pytest.mark.parametrize("angle,k", [(90, 1), (-90, -1), (180, 2), (270, 3)])
def test_quarter_turns_equal_rot90(angle, k):
    x = images(c=3, h=9, w=9)
    out = RandomRotation(degrees=(angle, angle))(x)
    assert np.array_equal(out, np.rot90(x, k=k, axes=(2, 3)))


def _scipy_warp(image, inverse, fill):
    """scipy.ndimage.affine_transform (order 1) of one (H, W) image; scipy
    indexes (row, col) = (y, x), so the (x, y) map is transposed."""
    a = inverse
    matrix = np.array([[a[1, 1], a[1, 0]], [a[0, 1], a[0, 0]]])
    offset = np.array([a[1, 2], a[0, 2]])
    return ndimage.affine_transform(image.astype(np.float64), matrix, offset, order=1,
                                    mode="grid-constant", cval=fill)


@pytest.mark.parametrize("fill", [0.0, 0.7])
def test_random_affine_matches_scipy_resampler(fill):
    x = images(n=6, c=2, h=11, w=15, seed=3, dtype=np.float64)
    transform = RandomAffine(degrees=40, translate=(0.2, 0.1), scale=(0.7, 1.3),
                             shear=(-15, 15, -10, 10), fill=fill)
    striate.manual_seed(7)
    forward = transform.sample(6, 11, 15)
    striate.manual_seed(7)
    out = transform(x)
    inverse = affine_inverse(forward)
    for n in range(6):
        for c in range(2):
            np.testing.assert_allclose(out[n, c], _scipy_warp(x[n, c], inverse[n], fill),
                                       atol=1e-5)


def test_half_pixel_shift_by_hand():
    """Output (x, y) reads the input at x - 0.5: the mean of two neighbours,
    and half the fill at the left border."""
    x = np.arange(12, dtype=np.float64).reshape(1, 1, 3, 4)
    inverse = np.array([[[1.0, 0.0, -0.5], [0.0, 1.0, 0.0]]])
    out = warp_affine(x, inverse, fill=10.0)
    expected = np.array([[5.0, 0.5, 1.5, 2.5], [7.0, 4.5, 5.5, 6.5], [9.0, 8.5, 9.5, 10.5]])
    np.testing.assert_array_equal(out[0, 0], expected)


def test_affine_draws_stay_in_their_ranges():
    forward = RandomAffine(degrees=(-20, 30), scale=(0.8, 1.1)).sample(2000, 8, 8)
    linear = forward[:, :, :2]
    scale = np.sqrt(np.linalg.det(linear))
    angle = np.degrees(np.arctan2(linear[:, 0, 1], linear[:, 0, 0]))  # counter-clockwise
    assert scale.min() >= 0.8 - 1e-12 and scale.max() <= 1.1 + 1e-12
    assert angle.min() >= -20 - 1e-9 and angle.max() <= 30 + 1e-9
    assert angle.min() < -19 and angle.max() > 29  # the whole range is used
    # The centre (3.5, 3.5) stays put without translation.
    np.testing.assert_allclose(forward @ np.array([3.5, 3.5, 1.0]), 3.5, atol=1e-12)


@pytest.mark.parametrize("kwargs,message", [
    ({"degrees": -5}, "non-negative"), ({"translate": (1.5, 0)}, "[0, 1]"),
    ({"scale": (0, 1)}, "positive"), ({"shear": 95}, "shear"), ({"degrees": "x"}, "number"),
])
def test_random_affine_rejects_bad_arguments(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=r"RandomAffine") as info:
        RandomAffine(**kwargs)
    assert message in str(info.value)


# --------------------------------------------------------------------------- elastic


def test_elastic_field_statistics_match_the_closed_form():
    """Uniform(-1, 1) noise (variance 1/3) smoothed by a normalised Gaussian g
    of width sigma: far from the border each component has variance
    alpha^2 / 3 * (sum g^2)^2, and sum g^2 = 1 / (2 sqrt(pi) sigma) in the
    continuous limit; neighbours are correlated by exp(-1 / (4 sigma^2))."""
    alpha, sigma, size = 10.0, 3.0, 40
    field = ElasticTransform(alpha=alpha, sigma=sigma).displacement(400, size, size)
    interior = field[:, :, 14:26, 14:26]
    expected_std = alpha * math.sqrt(1 / 3) / (2 * math.sqrt(math.pi) * sigma)
    assert abs(interior.mean()) < 0.05 * expected_std
    np.testing.assert_allclose(interior.std(), expected_std, rtol=0.03)
    a, b = field[:, 0, 14:26, 14:25].ravel(), field[:, 0, 14:26, 15:26].ravel()
    np.testing.assert_allclose(np.corrcoef(a, b)[0, 1], math.exp(-1 / (4 * sigma ** 2)), atol=0.02)
    dx, dy = field[:, 0, 20, 20], field[:, 1, 20, 20]
    assert abs(np.corrcoef(dx, dy)[0, 1]) < 0.15  # independent components


def test_gaussian_smoothing_matrix_is_a_normalised_gaussian():
    g = gaussian_smoothing_matrix(41, 2.0)
    np.testing.assert_allclose(g[20].sum(), 1.0, atol=1e-12)
    ratio = g[20, 21] / g[20, 20]
    np.testing.assert_allclose(ratio, math.exp(-1 / 8), rtol=1e-12)


def test_elastic_moves_each_pixel_by_its_displacement():
    """Bilinear sampling is exact on a linear ramp: out(x, y) = x + dx(x, y)
    wherever the displaced position stays inside the image."""
    h = w = 20
    ramp = np.tile(np.arange(w, dtype=np.float64), (3, 1, h, 1))
    transform = ElasticTransform(alpha=8, sigma=3)
    striate.manual_seed(11)
    d = transform.displacement(3, h, w)
    striate.manual_seed(11)
    out = transform(ramp)
    xs, ys = np.meshgrid(np.arange(w), np.arange(h))
    inside = ((xs + d[:, 0] >= 0) & (xs + d[:, 0] <= w - 1)
              & (ys + d[:, 1] >= 0) & (ys + d[:, 1] <= h - 1))
    assert inside.mean() > 0.5
    np.testing.assert_allclose(out[:, 0][inside], (xs + d[:, 0])[inside], atol=1e-9)


def test_elastic_rejects_negative_sigma():
    with pytest.raises(ValueError, match="ElasticTransform: sigma must be positive, got -1"):
        ElasticTransform(sigma=-1)


# --------------------------------------------------------------------------- colour


def test_brightness_factors_cover_their_range():
    x = np.full((3000, 1, 2, 2), 0.4, dtype=np.float64)
    factor = ColorJitter(brightness=0.3)(x)[:, 0, 0, 0] / 0.4
    assert factor.min() >= 0.7 - 1e-12 and factor.max() <= 1.3 + 1e-12
    assert factor.min() < 0.71 and factor.max() > 1.29


def test_contrast_scales_the_spread_about_the_mean():
    x = images(n=2000, h=6, w=6, dtype=np.float64) * 0.5 + 0.25  # never clipped
    out = ColorJitter(contrast=0.4)(x)
    ratio = out.std(axis=(1, 2, 3)) / x.std(axis=(1, 2, 3))
    np.testing.assert_allclose(out.mean(axis=(1, 2, 3)), x.mean(axis=(1, 2, 3)), atol=1e-12)
    assert ratio.min() >= 0.6 - 1e-9 and ratio.max() <= 1.4 + 1e-9
    assert ratio.min() < 0.62 and ratio.max() > 1.38


def test_saturation_and_hue_keep_grey_and_luma():
    rgb = images(n=200, c=3, h=4, w=4, dtype=np.float64) * 0.5 + 0.25
    grey = np.repeat(rgb[:, :1], 3, axis=1)
    luma = np.array([0.299, 0.587, 0.114])[None, :, None, None]
    hue = ColorJitter(hue=0.5)
    np.testing.assert_allclose(hue(grey), grey, atol=1e-12)  # grey has no hue
    shifted = hue(rgb)
    inside = ((shifted > 0) & (shifted < 1)).all(axis=1, keepdims=True)
    np.testing.assert_allclose(((shifted - rgb) * luma).sum(axis=1, keepdims=True)[inside], 0,
                               atol=1e-9)
    assert np.abs(shifted - rgb).max() > 0.1
    desaturated = ColorJitter(saturation=(0, 0))(rgb)
    np.testing.assert_allclose(desaturated, np.repeat((rgb * luma).sum(1, keepdims=True), 3, 1),
                               atol=1e-12)


def test_hue_and_saturation_on_grayscale_are_errors():
    with pytest.raises(ValueError, match="saturation and hue need RGB images"):
        ColorJitter(hue=0.1)(images())


# --------------------------------------------------------------------------- erasing


def test_erasing_rectangles_areas_and_probability():
    n, h, w = 4000, 28, 28
    scale, ratio = (0.02, 0.33), (0.3, 3.3)
    out = RandomErasing(p=0.5, scale=scale, ratio=ratio, value=0.0)(np.ones((n, 1, h, w)))
    erased = out[:, 0] == 0
    count = erased.sum(axis=(1, 2))
    hit = count > 0
    assert abs(hit.mean() - 0.5) < 4 * math.sqrt(0.25 / n)
    rows, cols = erased.any(axis=2).sum(axis=1), erased.any(axis=1).sum(axis=1)
    assert np.array_equal(count, rows * cols)  # each erased region is one rectangle
    area = count[hit] / (h * w)
    # Sides are rounded to whole pixels: at most half a pixel each way.
    side = math.sqrt(h * w)
    assert area.min() >= scale[0] * (1 - 1 / (2 * side * math.sqrt(scale[0] * ratio[0]))) ** 2
    assert area.max() <= scale[1] * (1 + 1 / math.sqrt(scale[1] * ratio[0] * h * w)) ** 2
    aspect = rows[hit] / cols[hit]
    assert aspect.min() < 0.45 and aspect.max() > 2.5


# --------------------------------------------------------------------------- reproducibility


SPEC = "flip,shift=2,rotate=20,translate=0.1,scale=0.1,shear=10,elastic,brightness,contrast,erase"


def _pipeline(spec=SPEC):
    plan = build_augmentation(spec, 1, (12, 12))
    return T.Compose([T.ToFloat()] + plan.before_normalize + plan.after_normalize)


def test_same_seed_gives_the_same_batch():
    x = (images(n=8) * 255).astype(np.uint8)
    striate.manual_seed(5)
    first = _pipeline()(x)
    striate.manual_seed(5)
    again = _pipeline()(x)
    striate.manual_seed(6)
    other = _pipeline()(x)
    assert np.array_equal(first, again)
    assert not np.allclose(first, other)
    assert not np.allclose(first, T.ToFloat()(x))


def _weights(path):
    return load_checkpoint(path).model_state


def test_resume_is_exact_with_augmentation_on(capsys, tmp_path):
    """Two epochs straight == one epoch, stop, resume for the second, bit for
    bit, with geometric, elastic, colour, erasing and mixing draws in play."""
    spec = "rotate=10,shear=10,elastic,contrast,erase,mixup=0.4,cutmix"
    common = ["--limit", "64", "--batch-size", "16", "--augment", spec, "--no-progress"]
    assert run(capsys, "train", "--out", tmp_path / "straight", "--epochs", "2", *common)[0] == 0
    assert run(capsys, "train", "--out", tmp_path / "resumed", "--epochs", "2", "--stop-after",
               "1", *common)[0] == 0
    code, out, err = run(capsys, "train", "--resume", tmp_path / "resumed", "--no-progress")
    assert code == 0, err
    assert "resuming at epoch 2" in out
    straight, resumed = _weights(tmp_path / "straight"), _weights(tmp_path / "resumed")
    assert straight.keys() == resumed.keys()
    for key in straight:
        assert np.array_equal(straight[key], resumed[key]), key
    # The augmentation really ran: without it the same seed trains other weights.
    assert run(capsys, "train", "--out", tmp_path / "plain", "--epochs", "2", "--limit", "64",
               "--batch-size", "16", "--no-augment", "--no-progress")[0] == 0
    plain = _weights(tmp_path / "plain")
    assert not all(np.array_equal(plain[k], straight[k]) for k in plain)


# --------------------------------------------------------------------------- mixing


def test_mixup_mixes_images_and_labels_in_the_same_proportion():
    """Image i is constant at value i and has label i, so a mixed image's value
    must equal its target's expected label, sum_k target[k] * k."""
    n = 10
    x = np.broadcast_to(np.arange(n, dtype=np.float32)[:, None, None, None], (n, 1, 5, 5)).copy()
    mixed, targets = Mixup(alpha=0.4, num_classes=n)(x, np.arange(n))
    np.testing.assert_allclose(targets.sum(axis=1), 1, rtol=1e-6)
    assert ((targets > 0).sum(axis=1) <= 2).all()
    np.testing.assert_allclose(mixed[:, 0, 0, 0], targets @ np.arange(n), rtol=1e-5, atol=1e-5)
    assert np.ptp(mixed, axis=(1, 2, 3)).max() == 0  # mixed pixel by pixel alike


def test_cutmix_label_weights_are_the_pasted_area():
    n = 10
    x = np.broadcast_to(np.arange(n, dtype=np.float32)[:, None, None, None], (n, 1, 16, 16)).copy()
    striate.manual_seed(3)
    for _ in range(5):
        mixed, targets = CutMix(alpha=1.0, num_classes=n)(x, np.arange(n))
        for i in range(n):
            values, counts = np.unique(mixed[i], return_counts=True)
            for value, count in zip(values, counts):
                np.testing.assert_allclose(targets[i, int(value)], count / 256, rtol=1e-6)


def test_soft_target_loss_is_the_mixture_of_the_hard_losses():
    """cross_entropy is linear in the target: CE(lam e_a + (1-lam) e_b) =
    lam CE(a) + (1-lam) CE(b), against PyTorch on the hard labels."""
    torch = pytest.importorskip("torch")
    logits = np.random.default_rng(0).normal(size=(6, 5))
    a, b, lam = np.array([0, 1, 2, 3, 4, 0]), np.array([4, 3, 2, 1, 0, 1]), 0.3
    soft = lam * one_hot(a, 5, np.float64) + (1 - lam) * one_hot(b, 5, np.float64)
    ours = float(striate.functional.cross_entropy(striate.Tensor(logits),
                                                  striate.Tensor(soft)).data)
    t = torch.tensor(logits)
    theirs = (lam * torch.nn.functional.cross_entropy(t, torch.tensor(a))
              + (1 - lam) * torch.nn.functional.cross_entropy(t, torch.tensor(b))).item()
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_spec_with_both_mixes_picks_one_per_batch():
    mix = build_mix("mixup,cutmix", 4)
    assert [type(m).__name__ for m in mix.mixes] == ["Mixup", "CutMix"]
    assert build_mix("rotate", 4) is None
    with pytest.raises(ValueError, match="alpha must be positive"):
        Mixup(alpha=0, num_classes=4)


# --------------------------------------------------------------------------- specs and errors


def test_spec_parser_defaults_and_values():
    assert parse_augment_spec("rotate=15,shear=10,elastic") == {
        "rotate": 15.0, "shear": 10.0, "elastic": AUGMENT_OPTIONS["elastic"].default}
    assert parse_augment_spec(" shift = 1 , flip ") == {"shift": 1, "flip": 0.5}


@pytest.mark.parametrize("spec,problem", [
    ("rotat=15", "unknown name 'rotat'"),
    ("rotate=15,,shear", "empty item"),
    ("", "empty item"),
    ("rotate=abc", "is not a number"),
    ("rotate==3", "is not a number"),
    ("shift=1.5", "is not an integer"),
    ("rotate=500", "out of range"),
    ("elastic,sigma=-1", "sigma=-1 is out of range"),
    ("elastic,sigma=0", "out of range"),
    ("erase=1.5", "erase=1.5 is out of range"),
    ("flip=-0.1", "out of range"),
    ("mixup=0", "out of range"),
    ("rotate,rotate=3", "given twice"),
    ("sigma=3", "add 'elastic'"),
])
def test_bad_specs_name_the_problem_the_syntax_and_the_names(spec, problem):
    with pytest.raises(AugmentSpecError) as info:
        parse_augment_spec(spec)
    message = str(info.value)
    assert problem in message
    assert "NAME or NAME=VALUE" in message and ", ".join(AUGMENT_OPTIONS) in message


@pytest.mark.parametrize("spec,fragment", [
    ("hue=0.1", "hue needs RGB images, but these have 1 channel"),
    ("saturation,hue", "saturation and hue need RGB images"),
    ("rotat=15", "unknown name 'rotat'"),
    ("erase=2", "erase=2 is out of range"),
])
def test_train_rejects_bad_specs_before_training(capsys, tmp_path, spec, fragment):
    out = tmp_path / "run"
    code, stdout, err = run(capsys, "train", "--augment", spec, "--out", out, "--limit", "64")
    assert code not in (0, None)
    assert fragment in err and "Traceback" not in err
    assert "epoch" not in stdout and not out.exists()


def test_augment_presets_still_work(capsys, tmp_path):
    from striate.runs.config import DEFAULTS, augmentation

    assert augmentation({**DEFAULTS, "augment": True}) == "shift"
    assert augmentation({**DEFAULTS, "augment": True, "dataset": "fashion-mnist"}) == "flip"
    assert augmentation({**DEFAULTS, "augment": False}) is None
    code, out, err = run(capsys, "train", "--augment", "--epochs", "1", "--limit", "64",
                         "--out", tmp_path / "run", "--no-progress")
    assert code == 0, err
    assert "augment shift" in out
    # Test-time flip averaging only when asked for.
    code, plain, err = run(capsys, "evaluate", tmp_path / "run", "--plot", tmp_path / "cm.png")
    assert code == 0 and "flip-averaged" not in plain
    code, flipped, err = run(capsys, "evaluate", tmp_path / "run", "--tta", "flip", "--plot",
                             tmp_path / "cm-flip.png")
    assert code == 0, err
    assert "flip-averaged" in flipped


def test_flip_averaging_is_the_mean_of_the_two_softmaxes():
    from scipy.special import softmax

    from striate.train.tta import with_tta

    model = striate.models.create("lenet5")
    model.eval()
    x = images(n=5, h=28, w=28)
    with striate.no_grad():
        averaged = with_tta(model, "flip")(striate.Tensor(x)).data
        plain = model(striate.Tensor(x)).data
        mirrored = model(striate.Tensor(np.ascontiguousarray(x[..., ::-1]))).data
    expected = np.log((softmax(plain, axis=1) + softmax(mirrored, axis=1)) / 2)
    np.testing.assert_allclose(averaged, expected, rtol=1e-5, atol=1e-6)
    assert with_tta(model, None) is model


# --------------------------------------------------------------------------- striate augment


def test_augment_command_writes_a_grid_of_copies(capsys, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from PIL import Image

    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "augment")
    assert code == 0, err
    grid = np.asarray(Image.open(tmp_path / "augment.png").convert("L"))
    assert grid.shape[0] > 300 and grid.std() > 20  # a picture, not a blank page
    assert "16 augmented copies" in out
    source = tmp_path / "shape.png"
    Image.fromarray((np.eye(40) * 255).astype(np.uint8)).save(source)
    code, out, err = run(capsys, "augment", source, "--transforms", "rotate=30", "--n", "4",
                         "--out", tmp_path / "grid.png")
    assert code == 0, err and (tmp_path / "grid.png").exists()
    code, _, err = run(capsys, "augment", "--transforms", "mixup")
    assert code == 1 and "no effect on one image" in err


def test_random_resized_crop_reads_a_scaled_box():
    from striate.data.augment import RandomResizedCrop

    # An image whose value is its column (channel 0) and its row (channel 1):
    # the crop's output is then the box's own coordinates, so we can read back
    # each image's box and check it against the definition.
    n, size = 200, 32
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    images = np.broadcast_to(np.stack([xs, ys]), (n, 2, size, size)).copy()
    striate.manual_seed(3)
    out = RandomResizedCrop(area=0.3)(images)
    step_x = out[:, 0, 0, 2] - out[:, 0, 0, 1]   # box width / W
    step_y = out[:, 1, 2, 0] - out[:, 1, 1, 0]   # box height / H
    # away from the first and last row and column (a read within half a pixel
    # of the border takes the border pixel), the box is sampled linearly
    dx, dy = np.diff(out[:, 0, :, 1:-1], axis=2), np.diff(out[:, 1, 1:-1], axis=1)
    np.testing.assert_allclose(dx, np.broadcast_to(step_x[:, None, None], dx.shape), atol=1e-9)
    np.testing.assert_allclose(dy, np.broadcast_to(step_y[:, None, None], dy.shape), atol=1e-9)
    area = step_x * step_y
    assert (area >= 0.3 - 1e-9).all() and (area <= 1 + 1e-9).all()
    assert area.min() < 0.4 and area.max() > 0.9  # the draws span the range
    aspect = step_x / step_y
    assert (aspect >= 3 / 4 - 1e-9).all() and (aspect <= 4 / 3 + 1e-9).all()
    # the box lies inside the image: every read is inside it
    assert out.min() >= 0 and out.max() <= size - 1
    whole = RandomResizedCrop(area=1.0, ratio=(1.0, 1.0))(images[:3])
    np.testing.assert_allclose(whole, images[:3], atol=1e-9)  # the whole image: identity


def test_crop_in_an_augmentation_spec():
    from striate.data.augment import RandomResizedCrop

    plan = build_augmentation("flip,crop=0.5", 3, (16, 16))
    crops = [t for t in plan.before_normalize if isinstance(t, RandomResizedCrop)]
    assert len(crops) == 1 and crops[0].area == 0.5
    with pytest.raises(AugmentSpecError, match="crop"):
        build_augmentation("crop=0", 3, (16, 16))
