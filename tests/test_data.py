"""Datasets, the DataLoader contract (batching, seeded shuffling, exact resume) and the batch transforms."""
import json

import numpy as np
import pytest

import striate
from striate.data import DataLoader, Dataset, ImageDataset, Subset, TensorDataset, random_split
from striate.data import transforms as T


def numbered(n, channels=1, size=4):
    """Images whose every pixel holds the sample index, labels = index % 10."""
    images = np.broadcast_to(np.arange(n, dtype=np.uint8)[:, None, None, None], (n, channels, size, size)).copy()
    return TensorDataset(images, np.arange(n) % 10)


class ItemOnly(Dataset):
    """A general dataset without ``gather``: the loader's slow path."""

    def __init__(self, base):
        self.base = base

    def __len__(self):
        return len(self.base)

    def __getitem__(self, i):
        return self.base[i]


def loader_indices(loader):
    """Sample indices in the order a loader produced them (recovered from the pixels)."""
    out = []
    for images, _ in loader:
        out.append(np.rint(images.data[:, 0, 0, 0] * 255).astype(int))
    return np.concatenate(out)


# --------------------------------------------------------------------------- datasets

def test_tensor_dataset_items_and_errors():
    data = TensorDataset(np.arange(12).reshape(6, 2), striate.tensor(np.arange(6)))
    assert len(data) == 6
    x, y = data[4]
    np.testing.assert_array_equal(x, [8, 9])
    assert y == 4
    with pytest.raises(ValueError, match=r"\(6, 2\), \(5,\)"):
        TensorDataset(np.zeros((6, 2)), np.zeros(5))


def test_image_dataset_checks_labels():
    with pytest.raises(ValueError, match="outside 0..1"):
        ImageDataset(np.zeros((3, 1, 2, 2), np.uint8), np.array([0, 1, 2]), ["a", "b"])
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        ImageDataset(np.zeros((3, 2, 2), np.uint8), np.array([0, 1, 1]), ["a", "b"])


def test_subset_keeps_gather_and_classes():
    base = ImageDataset(np.arange(10, dtype=np.uint8).reshape(10, 1, 1, 1), np.arange(10) % 3, list("abc"))
    sub = Subset(base, [7, 2, 5])
    assert len(sub) == 3 and sub.classes == ["a", "b", "c"]
    np.testing.assert_array_equal(sub.gather(np.array([2, 0]))[0].ravel(), [5, 7])
    assert sub[1][0].item() == 2
    assert not hasattr(Subset(ItemOnly(base), [0]), "gather")
    with pytest.raises(IndexError, match="outside a dataset of length 10"):
        Subset(base, [10])


@pytest.mark.parametrize("lengths", [[70, 20, 10], [0.7, 0.2, 0.1], [0.5, 0.5]])
def test_random_split_partitions(lengths):
    data = numbered(100)
    parts = random_split(data, lengths, seed=3)
    assert sum(len(p) for p in parts) == 100
    everything = np.concatenate([p.indices for p in parts])
    np.testing.assert_array_equal(np.sort(everything), np.arange(100))
    again = random_split(data, lengths, seed=3)
    for a, b in zip(parts, again):
        np.testing.assert_array_equal(a.indices, b.indices)


def test_random_split_uses_striate_seed_and_checks_lengths():
    data = numbered(20)
    striate.manual_seed(5)
    a = random_split(data, [10, 10])
    striate.manual_seed(5)
    b = random_split(data, [10, 10])
    np.testing.assert_array_equal(a[0].indices, b[0].indices)
    with pytest.raises(ValueError, match="sum to the dataset length 20"):
        random_split(data, [10, 5])


# --------------------------------------------------------------------------- loader

@pytest.mark.parametrize("n,batch_size,drop_last", [(10, 3, False), (10, 3, True), (9, 3, False),
                                                    (9, 3, True), (2, 5, False), (2, 5, True)])
def test_loader_len_and_batch_sizes(n, batch_size, drop_last):
    loader = DataLoader(numbered(n), batch_size=batch_size, drop_last=drop_last)
    sizes = [len(x) for x, _ in loader]
    assert len(sizes) == len(loader)
    expected = [batch_size] * (n // batch_size)
    if not drop_last and n % batch_size:
        expected.append(n % batch_size)
    assert sizes == expected


def test_loader_dtypes_and_scaling():
    images, labels = next(iter(DataLoader(numbered(5), batch_size=5)))
    assert isinstance(images, striate.Tensor) and isinstance(labels, striate.Tensor)
    assert images.dtype == np.float32 and labels.dtype == np.int64
    assert images.shape == (5, 1, 4, 4)
    np.testing.assert_allclose(images.data[:, 0, 0, 0], np.arange(5) / 255, rtol=1e-6)
    np.testing.assert_array_equal(labels.data, np.arange(5))


def test_loader_without_shuffle_keeps_order():
    np.testing.assert_array_equal(loader_indices(DataLoader(numbered(11), batch_size=4)), np.arange(11))


def test_loader_shuffle_is_a_permutation_that_changes_per_epoch():
    loader = DataLoader(numbered(50), batch_size=8, shuffle=True)
    first, second = loader_indices(loader), loader_indices(loader)
    np.testing.assert_array_equal(np.sort(first), np.arange(50))
    np.testing.assert_array_equal(np.sort(second), np.arange(50))
    assert not np.array_equal(first, second)


def test_loader_shuffle_determined_by_manual_seed():
    def two_epochs(seed):
        striate.manual_seed(seed)
        loader = DataLoader(numbered(30), batch_size=7, shuffle=True)
        return np.concatenate([loader_indices(loader), loader_indices(loader)])
    np.testing.assert_array_equal(two_epochs(1), two_epochs(1))
    assert not np.array_equal(two_epochs(1), two_epochs(2))


def test_restoring_rng_state_replays_order_and_augmentation():
    """The trainer's resume contract: state saved after epoch 1 replays epoch 2 exactly."""
    transform = T.Compose([T.RandomCrop(4, padding=1), T.RandomHorizontalFlip()])
    data = TensorDataset(np.random.default_rng(0).integers(0, 256, (40, 1, 4, 4), dtype=np.uint8),
                         np.arange(40) % 10)

    def epoch(loader):
        return [(x.data.copy(), y.data.copy()) for x, y in loader]

    striate.manual_seed(0)
    loader = DataLoader(data, batch_size=16, shuffle=True, transform=transform)
    epoch(loader)
    saved = json.loads(json.dumps(striate.get_rng_state()))  # as a checkpoint stores it
    uninterrupted = epoch(loader)

    striate.manual_seed(99)  # a new process starts from some other state
    resumed_loader = DataLoader(data, batch_size=16, shuffle=True, transform=transform)
    striate.set_rng_state(saved)
    resumed = epoch(resumed_loader)
    assert len(resumed) == len(uninterrupted)
    for (xa, ya), (xb, yb) in zip(uninterrupted, resumed):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)


def test_permutation_drawn_at_iter_time():
    striate.manual_seed(4)
    loader = DataLoader(numbered(20), batch_size=5, shuffle=True)
    iterator = iter(loader)
    striate.manual_seed(77)  # reseeding after iter() must not change this epoch
    got = np.concatenate([np.rint(x.data[:, 0, 0, 0] * 255).astype(int) for x, _ in iterator])
    striate.manual_seed(4)
    np.testing.assert_array_equal(got, loader_indices(loader))


def test_explicit_generator_leaves_striate_generator_alone():
    before = striate.get_rng_state()
    a = loader_indices(DataLoader(numbered(20), batch_size=6, shuffle=True, generator=np.random.default_rng(8)))
    b = loader_indices(DataLoader(numbered(20), batch_size=6, shuffle=True, generator=np.random.default_rng(8)))
    np.testing.assert_array_equal(a, b)
    assert striate.get_rng_state() == before


def test_fast_and_slow_paths_agree():
    data = numbered(13, channels=2)
    striate.manual_seed(2)
    fast = [(x.data, y.data) for x, y in DataLoader(data, batch_size=4, shuffle=True)]
    striate.manual_seed(2)
    slow = [(x.data, y.data) for x, y in DataLoader(ItemOnly(data), batch_size=4, shuffle=True)]
    for (xf, yf), (xs, ys) in zip(fast, slow):
        np.testing.assert_array_equal(xf, xs)
        np.testing.assert_array_equal(yf, ys)
        assert xs.dtype == np.float32 and ys.dtype == np.int64


def test_loader_rejects_bad_batch_size():
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(numbered(3), batch_size=0)


# --------------------------------------------------------------------------- transforms

def test_to_float_and_normalize():
    x = np.array([0, 51, 255], dtype=np.uint8).reshape(1, 1, 1, 3)
    f = T.ToFloat()(x)
    assert f.dtype == np.float32
    np.testing.assert_allclose(f.ravel(), [0, 0.2, 1], rtol=1e-6)
    rgb = np.random.default_rng(0).random((2, 3, 4, 5)).astype(np.float32)
    mean, std = [0.1, 0.2, 0.3], [0.5, 0.25, 2.0]
    out = T.Normalize(mean, std)(rgb)
    for c in range(3):
        np.testing.assert_allclose(out[:, c], (rgb[:, c] - mean[c]) / std[c], rtol=1e-6)
    assert out.dtype == np.float32
    with pytest.raises(ValueError, match=r"2 values of mean for images with 3 channels \(shape \(2, 3, 4, 5\)\)"):
        T.Normalize([0, 0], [1, 1])(rgb)
    with pytest.raises(TypeError, match="ToFloat"):
        T.Normalize(0.5, 0.5)(x)


def naive_padded(images, ph, pw, fill=0):
    n, c, h, w = images.shape
    out = np.full((n, c, h + 2 * ph, w + 2 * pw), fill, dtype=images.dtype)
    for i in range(n):
        out[i, :, ph:ph + h, pw:pw + w] = images[i]
    return out


@pytest.mark.parametrize("size,padding", [(4, 1), ((3, 5), (2, 0)), (6, 0), (3, 2)])
def test_random_crop_matches_a_window_of_the_padded_image(size, padding):
    """Every crop equals exactly one window of the (naively) padded image, and all offsets occur."""
    n = 300
    images = (np.random.default_rng(0).random((n, 2, 6, 6)) + 1).astype(np.float32)  # no zeros: unique windows
    crop = T.RandomCrop(size, padding=padding)
    out = crop(images)
    h, w = crop.size
    ph, pw = crop.padding
    assert out.shape == (n, 2, h, w)
    padded = naive_padded(images, ph, pw)
    seen = set()
    for i in range(n):
        matches = [(t, l) for t in range(6 + 2 * ph - h + 1) for l in range(6 + 2 * pw - w + 1)
                   if np.array_equal(padded[i, :, t:t + h, l:l + w], out[i])]
        assert len(matches) == 1
        seen.add(matches[0])
    assert len(seen) == (6 + 2 * ph - h + 1) * (6 + 2 * pw - w + 1)


def test_random_crop_fill_modes_and_errors():
    x = np.arange(16, dtype=np.uint8).reshape(1, 1, 4, 4)
    out = T.RandomCrop(8, padding=2, fill=9)(x)  # the only window: the whole padded image
    np.testing.assert_array_equal(out[0, 0, 0], [9] * 8)
    np.testing.assert_array_equal(out[0, 0, 2:6, 2:6], x[0, 0])
    edge = T.RandomCrop(6, padding=1, padding_mode="edge")(x)
    np.testing.assert_array_equal(edge[0, 0, 0], [0, 0, 1, 2, 3, 3])
    with pytest.raises(ValueError, match="larger than the padded images"):
        T.RandomCrop(7, padding=1)(x)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        T.RandomCrop(2)(np.zeros((4, 4)))


def test_random_transforms_deterministic_under_seed():
    x = np.random.default_rng(0).random((16, 1, 8, 8))
    t = T.Compose([T.RandomCrop(8, padding=2), T.RandomHorizontalFlip()])
    striate.manual_seed(3)
    a, a2 = t(x), t(x)
    striate.manual_seed(3)
    b = t(x)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, a2)


def test_horizontal_flip_correctness():
    x = np.random.default_rng(0).random((200, 3, 5, 7))
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1)(x), x[..., ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=0)(x), x)
    out = T.RandomHorizontalFlip(p=0.5)(x)
    flipped = np.array([np.array_equal(o, xi[..., ::-1]) for o, xi in zip(out, x)])
    kept = np.array([np.array_equal(o, xi) for o, xi in zip(out, x)])
    assert np.all(flipped ^ kept) and 60 < flipped.sum() < 140


def test_center_crop():
    x = np.arange(2 * 6 * 7).reshape(2, 6, 7)
    np.testing.assert_array_equal(T.CenterCrop((2, 3))(x), x[:, 2:4, 2:5])
    with pytest.raises(ValueError, match="larger"):
        T.center_crop(x, 8)


@pytest.mark.parametrize("mode", ["nearest", "bilinear", "area"])
@pytest.mark.parametrize("in_size,out_size", [((28, 28), (28, 28)), ((64, 48), (28, 28)), ((7, 5), (28, 20)),
                                              ((100, 37), (13, 9)), ((30, 30), (28, 28))])
def test_resize_matches_torch(mode, in_size, out_size):
    torch = pytest.importorskip("torch")
    # float64, so that a formula difference cannot hide behind float32 rounding
    x = np.random.default_rng(0).random((2, 3) + in_size)
    ours = T.Resize(out_size, interpolation=mode)(x)
    if mode == "area":
        ref = torch.nn.functional.adaptive_avg_pool2d(torch.from_numpy(x), out_size)
    else:
        extra = {"align_corners": False} if mode == "bilinear" else {}
        ref = torch.nn.functional.interpolate(torch.from_numpy(x), size=out_size, mode=mode, **extra)
    assert ours.shape == ref.shape and ours.dtype == np.float64
    np.testing.assert_allclose(ours, ref.numpy(), rtol=1e-12, atol=1e-12)
    assert T.resize(x.astype(np.float32), out_size, mode).dtype == np.float32


def test_resize_single_image_and_uint8():
    image = np.random.default_rng(0).integers(0, 256, (50, 40), dtype=np.uint8)
    out = T.resize(image, 28, "area")
    assert out.shape == (28, 28) and out.dtype == np.uint8
    np.testing.assert_allclose(out, T.resize(image.astype(np.float64), 28, "area"), atol=0.5)
    with pytest.raises(ValueError, match="interpolation"):
        T.resize(image, 28, "cubic")


def test_loader_applies_transform_to_batches():
    data = numbered(10, size=6)
    loader = DataLoader(data, batch_size=4, transform=T.Compose([T.CenterCrop(4), T.ToFloat(), T.Normalize(0.5, 0.25)]))
    images, labels = next(iter(loader))
    assert images.shape == (4, 1, 4, 4) and images.dtype == np.float32
    np.testing.assert_allclose(images.data[:, 0, 0, 0], (np.arange(4) / 255 - 0.5) / 0.25, rtol=1e-5)
