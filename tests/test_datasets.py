"""Dataset lookup, the not-found message, verified downloads, the real files and the embedded digits."""
import dataclasses
import hashlib
import os
import urllib.error

import numpy as np
import pytest

from striate.data import DatasetNotFoundError, IDXError, embedded_digits, list_datasets, load_dataset
from striate.data import datasets as ds
from striate.data.embedded import split_indices
from striate.data.idx import write_idx

FASHION = "/usr/share/datasets/fashion-mnist"
SIZES = {"train": 12, "t10k": 5}


def write_fake_dataset(directory, gz=True, offset=0):
    """Four small IDX files in the MNIST layout; ``offset`` makes their content distinguishable."""
    os.makedirs(directory, exist_ok=True)
    rng = np.random.default_rng(offset)
    suffix = ".gz" if gz else ""
    for prefix, n in SIZES.items():
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        images[:, 0, 0] = offset
        write_idx(os.path.join(directory, f"{prefix}-images-idx3-ubyte{suffix}"), images)
        write_idx(os.path.join(directory, f"{prefix}-labels-idx1-ubyte{suffix}"), np.arange(n, dtype=np.uint8) % 10)


@pytest.fixture
def places(tmp_path, monkeypatch):
    """Isolated lookup places: an explicit dir, $STRIATE_DATA, the XDG cache and a fake Debian root."""
    paths = {name: tmp_path / name for name in ("explicit", "env", "xdg", "debian")}
    monkeypatch.setenv("STRIATE_DATA", str(paths["env"]))
    monkeypatch.setenv("XDG_CACHE_HOME", str(paths["xdg"]))
    monkeypatch.setattr(ds, "DEBIAN_DATASETS", str(paths["debian"]))
    return paths


def marker(dataset):
    return int(dataset.images[0, 0, 0, 0])


def test_lookup_order(places):
    write_fake_dataset(places["debian"] / "mnist", offset=4)
    assert marker(load_dataset("mnist")) == 4
    assert load_dataset("mnist").source == str(places["debian"] / "mnist")
    write_fake_dataset(places["xdg"] / "striate" / "mnist", offset=3)
    assert marker(load_dataset("mnist")) == 3
    write_fake_dataset(places["env"] / "mnist", offset=2)
    assert marker(load_dataset("mnist")) == 2
    write_fake_dataset(places["explicit"] / "mnist", offset=1)
    assert marker(load_dataset("mnist", data_dir=places["explicit"])) == 1  # <root>/<name>
    write_fake_dataset(places["explicit"], offset=5)
    assert marker(load_dataset("mnist", data_dir=places["explicit"])) == 5  # the directory itself
    assert marker(load_dataset("mnist")) == 2  # without data_dir, the environment variable


def test_home_cache_without_xdg(places, monkeypatch, tmp_path):
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert ds.cache_dir("kmnist") == str(tmp_path / "home" / ".cache" / "striate" / "kmnist")


@pytest.mark.parametrize("gz", [True, False])
def test_fake_dataset_contents(places, gz):
    write_fake_dataset(places["env"] / "kmnist", gz=gz)
    train, test = load_dataset("kmnist", "train"), ds.kmnist("test")
    assert train.images.shape == (SIZES["train"], 1, 28, 28) and train.images.dtype == np.uint8
    assert test.images.shape == (SIZES["t10k"], 1, 28, 28)
    assert train.labels.dtype == np.int64
    np.testing.assert_array_equal(train.labels, np.arange(SIZES["train"]) % 10)
    assert train.classes == list(ds.SOURCES["kmnist"].classes) and len(train.classes) == 10


def test_dotted_file_names_are_found(places):
    directory = places["env"] / "mnist"
    write_fake_dataset(directory)
    for name in os.listdir(directory):
        os.rename(directory / name, directory / name.replace("-idx", ".idx"))
    assert len(load_dataset("mnist")) == SIZES["train"]


def test_incomplete_directory_is_skipped_and_reported(places):
    write_fake_dataset(places["env"] / "mnist")
    os.remove(places["env"] / "mnist" / "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("mnist", "test")
    assert "incomplete, missing t10k-labels-idx1-ubyte.gz" in str(info.value)


def test_not_found_lists_every_place_and_how_to_get_it(places):
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("fashion-mnist", data_dir=places["explicit"])
    message = str(info.value)
    for place in (places["explicit"], places["explicit"] / "fashion-mnist", places["env"] / "fashion-mnist",
                  places["xdg"] / "striate" / "fashion-mnist", places["debian"] / "fashion-mnist"):
        assert str(place) in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert ds.SOURCES["fashion-mnist"].mirrors[0] + "train-images-idx3-ubyte.gz" in message
    assert "download=True" in message
    assert isinstance(info.value, FileNotFoundError)


def test_corrupt_local_file_is_an_idx_error(places):
    write_fake_dataset(places["env"] / "mnist")
    path = places["env"] / "mnist" / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(IDXError, match="train-images-idx3-ubyte.gz"):
        load_dataset("mnist")


def test_images_and_labels_must_agree(places):
    write_fake_dataset(places["env"] / "mnist")
    write_idx(places["env"] / "mnist" / "train-labels-idx1-ubyte.gz", np.zeros(3, dtype=np.uint8))
    with pytest.raises(ValueError, match=r"\(12, 28, 28\).*\(3,\)"):
        load_dataset("mnist")


# --------------------------------------------------------------------------- downloads

@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A file:// mirror of a fake 'mnist' whose digests are the real ones of its files."""
    directory = tmp_path / "mirror"
    write_fake_dataset(directory, offset=7)
    digests = {name: hashlib.sha256((directory / name).read_bytes()).hexdigest() for name in ds.FILE_NAMES}
    source = dataclasses.replace(ds.SOURCES["mnist"], mirrors=(directory.as_uri() + "/",), sha256=digests)
    monkeypatch.setitem(ds.SOURCES, "mnist", source)
    return source


def test_download_verifies_and_lands_in_cache(places, mirror):
    with pytest.raises(DatasetNotFoundError):
        load_dataset("mnist")  # download=False never touches the network
    dataset = load_dataset("mnist", download=True)
    cache = places["xdg"] / "striate" / "mnist"
    assert dataset.source == str(cache) and marker(dataset) == 7
    assert sorted(os.listdir(cache)) == sorted(ds.FILE_NAMES)  # no temporary files left
    assert marker(load_dataset("mnist")) == 7  # now found without downloading


def test_download_checksum_mismatch_leaves_nothing(places, mirror, monkeypatch):
    wrong = dict(mirror.sha256, **{"t10k-images-idx3-ubyte.gz": "0" * 64})
    monkeypatch.setitem(ds.SOURCES, "mnist", dataclasses.replace(mirror, sha256=wrong))
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("mnist", download=True)
    message = str(info.value)
    assert "SHA-256 mismatch" in message and "0" * 64 in message
    assert mirror.sha256["t10k-images-idx3-ubyte.gz"] in message  # the digest actually computed
    cache = places["xdg"] / "striate" / "mnist"
    # the verified files stay; the bad one (and any temporary) does not
    assert sorted(os.listdir(cache)) == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]


def test_download_falls_back_to_the_next_mirror(places, mirror, monkeypatch, tmp_path):
    dead = (tmp_path / "dead").as_uri() + "/"
    monkeypatch.setitem(ds.SOURCES, "mnist", dataclasses.replace(mirror, mirrors=(dead,) + mirror.mirrors))
    assert marker(load_dataset("mnist", download=True)) == 7


def test_offline_download_gives_the_full_message(places, monkeypatch):
    def offline(url):
        raise urllib.error.URLError("no network")
    monkeypatch.setattr(ds, "_urlopen", offline)
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("kmnist", download=True, data_dir=places["explicit"])
    message = str(info.value)
    assert "Download failed" in message and "no network" in message
    for mirror in ds.SOURCES["kmnist"].mirrors:
        assert mirror + "train-images-idx3-ubyte.gz" in message
    assert str(places["explicit"]) in message and str(places["debian"] / "kmnist") in message
    assert not os.path.exists(places["xdg"] / "striate" / "kmnist")


def test_interrupted_download_leaves_no_partial_file(places, mirror, monkeypatch):
    class Broken:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self, n):
            if getattr(self, "sent", False):
                raise ConnectionResetError("connection reset mid-file")
            self.sent = True
            return b"\x1f\x8b partial"
    monkeypatch.setattr(ds, "_urlopen", lambda url: Broken())
    with pytest.raises(DatasetNotFoundError, match="connection reset mid-file"):
        load_dataset("mnist", download=True)
    assert not os.path.exists(places["xdg"] / "striate" / "mnist")


def test_published_digests_are_well_formed():
    for source in ds.SOURCES.values():
        assert set(source.sha256) == set(ds.FILE_NAMES)
        for digest in source.sha256.values():
            assert len(digest) == 64 and int(digest, 16) >= 0
        assert len(source.classes) == 10


# --------------------------------------------------------------------------- registry

def test_registry_names_and_errors():
    assert list_datasets() == ["digits", "mnist", "fashion-mnist", "kmnist", "digit-scenes",
                               "mnist1d"]
    with pytest.raises(ValueError, match="available: digits, mnist, fashion-mnist, kmnist, "
                                         "digit-scenes, mnist1d"):
        load_dataset("cifar10")
    with pytest.raises(ValueError, match="split"):
        load_dataset("digits", "validation")
    with pytest.raises(ValueError, match="split"):
        load_dataset("mnist", "val")


# --------------------------------------------------------------------------- the real files

@pytest.mark.skipif(not os.path.isdir(FASHION), reason="Debian's dataset-fashion-mnist is not installed")
def test_real_fashion_mnist(monkeypatch, tmp_path):
    monkeypatch.delenv("STRIATE_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    train, test = load_dataset("fashion_mnist", "train"), ds.fashion_mnist("test")
    assert train.source == FASHION
    assert train.images.shape == (60000, 1, 28, 28) and test.images.shape == (10000, 1, 28, 28)
    assert train.images.dtype == np.uint8 and train.labels.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(train.labels), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(test.labels), [1000] * 10)
    assert train.images.max() == 255 and train.images.min() == 0
    assert train.classes[0] == "T-shirt/top" and train.classes[9] == "Ankle boot"


# --------------------------------------------------------------------------- embedded digits

def test_embedded_digits_counts_and_range():
    train, test, everything = embedded_digits("train"), embedded_digits("test"), embedded_digits("all")
    assert len(everything) == 5000 and len(train) == 4000 and len(test) == 1000
    np.testing.assert_array_equal(np.bincount(everything.labels), [500] * 10)
    np.testing.assert_array_equal(np.bincount(train.labels), [400] * 10)
    np.testing.assert_array_equal(np.bincount(test.labels), [100] * 10)
    assert everything.images.shape == (5000, 1, 28, 28) and everything.images.dtype == np.uint8
    assert everything.images.min() == 0 and everything.images.max() == 255
    assert train.classes == [str(d) for d in range(10)] and train.name == "digits"


def test_embedded_split_disjoint_and_complete():
    everything = embedded_digits("all")
    train_idx = split_indices(everything.labels, "train")
    test_idx = split_indices(everything.labels, "test")
    assert len(np.intersect1d(train_idx, test_idx)) == 0
    np.testing.assert_array_equal(np.union1d(train_idx, test_idx), np.arange(5000))
    # disjoint in content too: no test image also appears among the training images
    train_rows = {row.tobytes() for row in embedded_digits("train").images.reshape(4000, -1)}
    assert not any(row.tobytes() in train_rows for row in embedded_digits("test").images.reshape(1000, -1))


def test_embedded_split_is_deterministic_and_independent_of_seed():
    import striate
    first = embedded_digits("test")
    striate.manual_seed(123)
    second = load_dataset("digits", "test")
    np.testing.assert_array_equal(first.images, second.images)
    np.testing.assert_array_equal(first.labels, second.labels)
    first.images[...] = 0  # callers get copies: the cache is not damaged
    assert embedded_digits("test").images.max() == 255
