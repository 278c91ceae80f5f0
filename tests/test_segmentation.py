"""Segmentation: metrics against hand-computed IoU and Dice (with a class absent
from both masks), the Dice loss against PyTorch, the digit-scenes dataset
(determinism, train and test scenes drawn from disjoint digits, labels from
the digit's own ink), and the train / evaluate / predict commands end to end."""
import os

import numpy as np
import pytest

from striate.autograd import Tensor
from striate.cli import main
from striate.data import load_dataset
from striate.data.embedded import embedded_digits
from striate.data.scenes import INK_LEVEL, digit_scenes
from striate.train.segmentation import (SegmentationMetrics, dice_loss, dice_per_class,
                                        foreground_iou, iou_per_class, mean_iou, pixel_accuracy)
from striate.train.metrics import confusion_matrix

# Classes 0..3; class 3 appears in neither mask.
TRUTH = np.array([[0, 0, 1, 1],
                  [0, 0, 1, 1],
                  [2, 2, 0, 0],
                  [2, 2, 0, 0]])
PRED = np.array([[0, 0, 1, 1],
                 [0, 1, 1, 1],
                 [2, 0, 0, 0],
                 [2, 2, 2, 0]])
# By hand: class 0 TP 6 FP 1 FN 2; class 1 TP 4 FP 1 FN 0; class 2 TP 3 FP 1 FN 1.
HAND_IOU = [6 / 9, 4 / 5, 3 / 5]
HAND_DICE = [12 / 15, 8 / 9, 6 / 8]


def _matrix():
    return confusion_matrix(PRED, TRUTH, 4)


def test_metrics_match_hand_computed_values():
    matrix = _matrix()
    np.testing.assert_allclose(iou_per_class(matrix)[:3], HAND_IOU)
    np.testing.assert_allclose(dice_per_class(matrix)[:3], HAND_DICE)
    assert np.isnan(iou_per_class(matrix)[3]) and np.isnan(dice_per_class(matrix)[3])
    assert pixel_accuracy(matrix) == pytest.approx(13 / 16)
    # The absent class is left out of the mean, not counted as 0 or 1.
    assert mean_iou(matrix) == pytest.approx(np.mean(HAND_IOU))
    assert mean_iou(matrix, ignore=(0,)) == pytest.approx((4 / 5 + 3 / 5) / 2)
    # Foreground: 8 true, 9 predicted, 7 shared -> 7 / 10.
    assert foreground_iou(matrix) == pytest.approx(0.7)


def test_metrics_match_set_operations_on_random_masks():
    rng = np.random.default_rng(1)
    truth, pred = rng.integers(0, 5, (3, 9, 7)), rng.integers(0, 5, (3, 9, 7))
    pred[pred == 4] = 3  # class 4 only in the truth: IoU 0, not NaN
    iou = iou_per_class(confusion_matrix(pred, truth, 6))
    for k in range(5):
        t, p = truth == k, pred == k
        assert iou[k] == pytest.approx((t & p).sum() / (t | p).sum())
    assert iou[4] == 0 and np.isnan(iou[5])


def test_epoch_metrics_accumulate_over_batches():
    logits = np.eye(4)[PRED].transpose(2, 0, 1)[None]  # one-hot scores: argmax = PRED
    whole = SegmentationMetrics(4)
    whole.update(0.5, logits, TRUTH[None])
    halves = SegmentationMetrics(4)
    halves.update(0.5, logits[..., :2, :], TRUTH[None, :2])
    halves.update(0.5, logits[..., 2:, :], TRUTH[None, 2:])
    assert (whole.matrix == halves.matrix).all()
    record = whole.summary("test")
    assert record["test_miou"] == pytest.approx(0.7)
    assert record["test_fg_iou"] == pytest.approx(0.7)
    assert record["test_dice"] == pytest.approx((8 / 9 + 6 / 8) / 2)
    assert record["test_iou"][3] is None


def test_dice_loss_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    logits = rng.standard_normal((2, 4, 5, 6))
    targets = rng.integers(0, 3, (2, 5, 6))  # class 3 absent: eps keeps its term at 1
    x = Tensor(logits, requires_grad=True)
    loss = dice_loss(x, Tensor(targets))
    loss.backward()

    t = torch.tensor(logits, requires_grad=True)
    p = torch.softmax(t, 1)
    g = torch.nn.functional.one_hot(torch.tensor(targets), 4).permute(0, 3, 1, 2).double()
    dims = (0, 2, 3)
    reference = 1 - ((2 * (p * g).sum(dims) + 1) / (p.sum(dims) + g.sum(dims) + 1)).mean()
    reference.backward()
    assert float(loss.data) == pytest.approx(reference.item(), rel=1e-10)
    np.testing.assert_allclose(x.grad.data if hasattr(x.grad, "data") else x.grad,
                               t.grad.numpy(), rtol=1e-8, atol=1e-12)


# --------------------------------------------------------------------------- the dataset


def test_scenes_are_deterministic_and_seeded():
    from striate.data import scenes

    a = digit_scenes("train", num_scenes=12, size=48, seed=3)
    scenes._cache.clear()  # regenerate, not a cached copy
    b = digit_scenes("train", num_scenes=12, size=48, seed=3)
    c = digit_scenes("train", num_scenes=12, size=48, seed=4)
    assert a.images.shape == (12, 1, 48, 48) and a.masks.shape == (12, 48, 48)
    assert (a.images == b.images).all() and (a.masks == b.masks).all()
    assert not (a.images == c.images).all()
    assert a.classes == ["background"] + [str(d) for d in range(10)]
    registered = load_dataset("digit-scenes", "test")
    assert len(registered) == 500 and registered.images.shape[1:] == (1, 48, 48)


def _ink_crops(images):
    """Each image's pixels inside the bounding box of its ink (>= INK_LEVEL), as bytes."""
    crops = []
    for image in images:
        rows = np.flatnonzero((image >= INK_LEVEL * 255).any(axis=1))
        cols = np.flatnonzero((image >= INK_LEVEL * 255).any(axis=0))
        crops.append(image[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].tobytes())
    return crops


@pytest.mark.parametrize("split", ["train", "test"])
def test_scenes_use_only_their_own_splits_digits(split):
    # One unscaled digit per scene: its ink box must be an exact copy of a source digit's.
    scenes = digit_scenes(split, num_scenes=40, size=32, max_digits=1, scales=(1.0, 1.0))
    own = embedded_digits(split)
    other = embedded_digits("test" if split == "train" else "train")
    own_crops = dict(zip(_ink_crops(own.images[:, 0]), own.labels))
    other_crops = set(_ink_crops(other.images[:, 0]))
    for image, mask, crop in zip(scenes.images[:, 0], scenes.masks,
                                 _ink_crops(scenes.images[:, 0])):
        assert crop in own_crops and crop not in other_crops
        # Labels: 1 + the digit's class exactly on its ink, background elsewhere.
        ink = image >= INK_LEVEL * 255
        assert set(np.unique(mask[ink])) == {1 + own_crops[crop]}
        assert (mask[~ink] == 0).all()


def test_scenes_reject_bad_parameters():
    with pytest.raises(ValueError, match="split"):
        digit_scenes("validation")
    with pytest.raises(ValueError, match="size=16"):
        digit_scenes("train", size=16)


# --------------------------------------------------------------------------- the commands


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _save_scene(path, image, size=None):
    from PIL import Image

    picture = Image.fromarray(image)
    if size:
        picture = picture.resize(size)
    picture.save(path)


def test_train_evaluate_predict_a_unet(tmp_path, capsys):
    pytest.importorskip("PIL")
    out = tmp_path / "run"
    code, text, err = run(capsys, "train", "--model", "unet", "--dataset", "digit-scenes",
                          "--width", "0.0625", "--model-arg", "depth=2", "--limit", "48",
                          "--batch-size", "16", "--epochs", "2", "--lr", "0.1",
                          "--dice-weight", "0.5", "--out", out, "--no-progress")
    assert code == 0, err
    assert "mIoU" in text and "fg IoU" in text and "test mean IoU" in text
    from striate.train import read_metrics
    records = read_metrics(out / "metrics.jsonl")
    assert records[-1]["train_loss"] < records[0]["train_loss"]
    assert len(records[-1]["test_iou"]) == 11 and "test_fg_iou" in records[-1]

    code, text, err = run(capsys, "evaluate", out, "--limit", "20")
    assert code == 0, err
    assert "mean IoU" in text and "foreground IoU" in text
    assert os.path.getsize(out / "class_iou-digit-scenes-test.png") > 0

    scenes = digit_scenes("test", num_scenes=2)
    _save_scene(tmp_path / "scene.png", scenes.images[0, 0])
    code, text, err = run(capsys, "predict", out, tmp_path / "scene.png",
                          "--overlay-dir", tmp_path / "overlays")
    assert code == 0, err
    overlay = tmp_path / "overlays" / "scene-overlay.png"
    assert str(overlay) in text
    from PIL import Image
    with Image.open(overlay) as picture:
        assert picture.size[0] == 48 * 4 and picture.mode == "RGB"

    # A scene whose sides the U-Net cannot pool: one clear line, nothing written.
    _save_scene(tmp_path / "odd.png", scenes.images[1, 0], size=(50, 50))
    code, _, err = run(capsys, "predict", out, tmp_path / "odd.png")
    assert code == 1 and "50x50" in err and "divisible by 4" in err
    assert not (tmp_path / "odd-overlay.png").exists()


def test_segmentation_and_classification_do_not_mix(tmp_path, capsys):
    code, _, err = run(capsys, "train", "--model", "lenet5", "--dataset", "digit-scenes",
                       "--out", tmp_path / "a")
    assert code == 1 and "label per pixel" in err
    code, _, err = run(capsys, "train", "--model", "unet", "--dataset", "digits",
                       "--out", tmp_path / "b")
    assert code == 1 and "one label per image" in err
    code, _, err = run(capsys, "train", "--model", "unet", "--dataset", "digit-scenes",
                       "--image-size", "32", "--limit", "8", "--out", tmp_path / "c")
    assert code == 1 and "--image-size" in err
    assert not any((tmp_path / d).exists() for d in "abc")


def test_a_new_segmentation_model_starts_from_the_class_priors():
    from striate import models
    from striate.runs.tasks import trainer_options

    scenes = digit_scenes("train", num_scenes=10, size=32)
    model = models.create("unet", num_classes=11, padded=True, width=0.0625, depth=2)
    options = trainer_options({"dice_weight": 0.0}, scenes, model)
    counts = np.array([(scenes.masks == k).sum() for k in range(11)], dtype=np.float64)
    np.testing.assert_allclose(model.head.bias.data,
                               np.log((counts + 1) / (counts.sum() + 11)), rtol=1e-6)
    assert set(options) == {"loss_fn", "metrics"}
    assert trainer_options({}, embedded_digits("test")) == {}
