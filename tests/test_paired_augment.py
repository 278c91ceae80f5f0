"""Segmentation: every spatial augmentation moves the label maps with the
images (one random draw for both, labels read by nearest neighbour), or
refuses them.

The check is exact, not a tolerance. Each image carries, beside its scene,
four coordinate channels (x + 1, W - x, y + 1, H - y): bilinear resampling
reproduces a linear ramp exactly wherever it reads no fill, and where the
two ramps of an axis agree it read none, so they give the very point each
output pixel was read from. The label the transform wrote there must be the
scene's label at that point (nearest pixel centre): per class, the IoU of the
labels written and the labels at the points read is 1.0."""
import numpy as np
import pytest

import striate
from striate.data import DataLoader
from striate.data import augment as A
from striate.data import transforms as T
from striate.data.augment_spec import (AUGMENT_OPTIONS, AugmentSpecError, build_augmentation,
                                       build_mix)
from striate.data.scenes import digit_scenes

SIZE = 48


@pytest.fixture(scope="module")
def scenes():
    data = digit_scenes("train", num_scenes=6, size=SIZE)
    return data.images.astype(np.float64) / 255.0, data.masks.astype(np.int64)


def with_coordinates(images):
    n, _, H, W = images.shape
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float64)
    ramps = np.stack([xs + 1, W - xs, ys + 1, H - ys])
    return np.concatenate([images, np.broadcast_to(ramps, (n,) + ramps.shape)], axis=1)


def read_points(out, in_size):
    """(sx, sy, exact) from the transformed coordinate channels."""
    H, W = in_size
    x1, x2, y1, y2 = out[:, 1], out[:, 2], out[:, 3], out[:, 4]
    sx, sx2, sy, sy2 = x1 - 1, W - x2, y1 - 1, H - y2
    exact = (np.abs(sx - sx2) < 1e-6) & (np.abs(sy - sy2) < 1e-6)
    # a point on the edge between two pixels could round either way
    for s in (sx, sy):
        frac = (s + 0.5) % 1.0
        exact &= (frac > 1e-6) & (frac < 1 - 1e-6)
    return sx, sy, exact


def class_ious(written, expected):
    return {int(c): ((written == c) & (expected == c)).sum() / ((written == c) | (expected == c)).sum()
            for c in np.union1d(np.unique(written), np.unique(expected))}


SPATIAL = {
    "flip": T.RandomHorizontalFlip(p=0.5),
    "shift": T.RandomCrop(SIZE, padding=4),
    "shift reflect": T.RandomCrop(SIZE, padding=4, padding_mode="reflect"),
    "rotate": A.RandomRotation(40),
    "translate": A.RandomAffine(translate=(0.2, 0.2)),
    "scale": A.RandomAffine(scale=(0.6, 1.4)),
    "shear": A.RandomAffine(shear=(-25, 25, -25, 25)),
    "affine": A.RandomAffine(degrees=30, translate=(0.1, 0.1), scale=(0.8, 1.2), shear=10),
    "elastic": A.ElasticTransform(alpha=34, sigma=4),
    "affine+elastic": A.RandomDistortion(A.RandomAffine(degrees=20), A.ElasticTransform()),
    "resize up": T.Resize(80),
    "resize down": T.Resize(30),
    "center crop": T.CenterCrop(32),
    # every item of --augment that moves pixels (colour would change the coordinates), but
    # the resized crop: a second resampling after it would make the coordinates' bilinear
    # reading and the labels' nearest one part at the ink's edges (the crop is tested alone)
    "spec with every spatial item": T.Compose(build_augmentation(
        ",".join(name for name in AUGMENT_OPTIONS if name not in (
            "mixup", "cutmix", "brightness", "contrast", "saturation", "hue", "erase", "crop")),
        channels=5, size=(SIZE, SIZE), dense=True).before_normalize),
}


@pytest.mark.parametrize("name", sorted(SPATIAL))
def test_labels_move_with_the_image(scenes, name):
    images, masks = scenes
    striate.manual_seed(7)
    out, labels = SPATIAL[name].pair(with_coordinates(images), masks)
    assert labels.shape == out.shape[:1] + out.shape[2:] and labels.dtype == masks.dtype
    sx, sy, exact = read_points(out, masks.shape[1:])
    assert exact.mean() > 0.5, "too few pixels read inside the image to check"
    n = np.broadcast_to(np.arange(len(masks))[:, None, None], sx.shape)
    expected = masks[n[exact], np.floor(sy[exact] + 0.5).astype(int),
                     np.floor(sx[exact] + 0.5).astype(int)]
    written = labels[exact]
    ious = class_ious(written, expected)
    assert len(ious) > 2 and all(v == 1.0 for v in ious.values()), ious
    # pixels read wholly from outside the image are background
    outside = (out[:, 1:].sum(axis=1) == 0)
    assert (labels[outside] == T.LABEL_FILL).all()


@pytest.mark.parametrize("name", sorted(SPATIAL))
def test_the_image_is_transformed_as_without_labels(scenes, name):
    """``pair`` draws what ``__call__`` draws: the images come out the same."""
    images, masks = scenes
    striate.manual_seed(3)
    alone = SPATIAL[name](with_coordinates(images))
    striate.manual_seed(3)
    paired, _ = SPATIAL[name].pair(with_coordinates(images), masks)
    np.testing.assert_array_equal(alone, paired)


def test_the_flip_that_once_mirrored_images_alone(scenes):
    """The bug seen in training: images mirrored, masks not, the ink's IoU
    with its own label map down to 0.1. Through the loader, paired."""
    images, masks = scenes
    data = striate.data.TensorDataset(images, masks)
    loader = DataLoader(data, batch_size=6, transform=T.RandomHorizontalFlip(p=1.0),
                        transform_targets=True)
    x, y = next(iter(loader))
    ink, labelled = x.data[:, 0] > 0.3, y.data > 0
    assert (ink & labelled).sum() / (ink | labelled).sum() == pytest.approx(
        ((images[:, 0] > 0.3) & (masks > 0)).sum() / ((images[:, 0] > 0.3) | (masks > 0)).sum())
    np.testing.assert_array_equal(y.data, masks[:, :, ::-1])


def test_colour_and_erasing_leave_labels_alone(scenes):
    images, masks = scenes
    for transform in (A.RandomErasing(p=1.0), A.ColorJitter(brightness=0.5, contrast=0.5),
                      T.Normalize([0.5], [0.2]), T.ToFloat()):
        _, labels = transform.pair(images, masks)
        np.testing.assert_array_equal(labels, masks)


def test_a_spatial_transform_without_a_label_rule_refuses(scenes):
    class Transpose(T.Transform):
        spatial = True

        def __call__(self, images):
            return images.swapaxes(-1, -2)

    images, masks = scenes
    with pytest.raises(TypeError, match="Transpose moves pixels but has no rule for label maps"):
        T.Compose([T.ToFloat(), Transpose()]).pair(images, masks)
    with pytest.raises(ValueError, match=r"expected label maps \(N, H, W\)"):
        T.RandomHorizontalFlip().pair(images, masks[:, :10])
    with pytest.raises(TypeError, match="integer class indices"):
        T.RandomHorizontalFlip().pair(images, masks.astype(np.float32))


@pytest.mark.parametrize("spec", ["mixup", "flip,cutmix", "mixup,cutmix"])
def test_batch_mixes_are_refused_for_label_maps(spec):
    with pytest.raises(AugmentSpecError, match="class labels of whole images, but a "
                                               "segmentation set's targets are label maps"):
        build_augmentation(spec, 1, (SIZE, SIZE), dense=True)
    with pytest.raises(AugmentSpecError, match="label maps"):
        build_mix(spec, 11, dense=True)
