"""MNIST, Fashion-MNIST and KMNIST from their IDX files, and the dataset registry.

Each dataset is four files, ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each either raw or
gzipped (``.gz``). They are looked for, in this order, in

1. ``data_dir`` (the CLI's ``--data-dir``) itself, then ``data_dir/<name>``;
2. ``$STRIATE_DATA/<name>``;
3. the user cache, ``$XDG_CACHE_HOME/striate/<name>`` (default ``~/.cache/striate/<name>``);
4. ``/usr/share/datasets/<name>``, where Debian's packages put them
   (``apt-get install dataset-fashion-mnist``),

with ``<name>`` one of ``mnist``, ``fashion-mnist``, ``kmnist``. The first
directory holding all four wins. When none does and ``download=True``, the
missing ``.gz`` files are fetched from the official mirrors into the cache,
each checked against its published SHA-256 and written atomically (a
temporary file renamed into place only once verified). Otherwise
:class:`DatasetNotFoundError` lists every place looked at and how to get the
files.

Local files are not checked against the digests (Debian's Fashion-MNIST files
are recompressed copies, byte-wise different from the official archives), but
every file is checked structurally by the IDX reader, and images against labels.
"""
import dataclasses
import hashlib
import os
import sys

from .dataset import ImageDataset
from .embedded import DIGIT_CLASSES, embedded_digits
from .idx import read_idx

__all__ = ["DatasetNotFoundError", "SOURCES", "mnist", "fashion_mnist", "kmnist", "load_dataset",
           "list_datasets", "search_dirs", "find_dataset_dir", "download_dataset", "DEFAULT_DATASET"]

DEFAULT_DATASET = "digits"
DEBIAN_DATASETS = "/usr/share/datasets"
SPLIT_PREFIX = {"train": "train", "test": "t10k"}


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's files are in none of the places looked at (and could not be downloaded)."""


@dataclasses.dataclass(frozen=True)
class Source:
    """Where a dataset comes from: mirrors, published SHA-256 of each ``.gz``, classes."""
    name: str
    title: str
    homepage: str
    mirrors: tuple
    sha256: dict
    classes: tuple
    license: str
    debian_package: str = ""


# SHA-256 of the official .gz archives. MNIST: the files served by the CVDF and
# PyTorch mirrors of yann.lecun.com (the digests torchvision, TFDS and many
# others pin). Fashion-MNIST: the archives whose MD5 the Fashion-MNIST README
# publishes (8d4fb7e6..., 25c81989..., bef4ecab..., bb300cfd...). KMNIST: the
# archives of codh.rois.ac.jp as pinned by torchvision. Taken from those
# published lists, not computed here (there is no network on the build machine).
SOURCES = {
    "mnist": Source(
        name="mnist", title="MNIST handwritten digits",
        homepage="http://yann.lecun.com/exdb/mnist/",
        mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",
                 "https://storage.googleapis.com/cvdf-datasets/mnist/",
                 "http://yann.lecun.com/exdb/mnist/"),
        sha256={
            "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        },
        classes=tuple(DIGIT_CLASSES),
        license="CC BY-SA 3.0 (Yann LeCun and Corinna Cortes)"),
    "fashion-mnist": Source(
        name="fashion-mnist", title="Fashion-MNIST (Zalando article images)",
        homepage="https://github.com/zalandoresearch/fashion-mnist",
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                 "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/"),
        sha256={
            "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        },
        classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        license="MIT (Zalando SE)",
        debian_package="dataset-fashion-mnist"),
    "kmnist": Source(
        name="kmnist", title="Kuzushiji-MNIST (cursive Japanese hiragana)",
        homepage="https://github.com/rois-codh/kmnist",
        mirrors=("http://codh.rois.ac.jp/kmnist/dataset/kmnist/",),
        sha256={
            "train-images-idx3-ubyte.gz": "51467d22d8cc72929e2a028a0428f2086b092bb31cfb79c69cc0a90ce135fde4",
            "train-labels-idx1-ubyte.gz": "e38f9ebcd0f3ebcdec7fc8eabdcdaef93bb0df8ea12bee65224341c8183d8e17",
            "t10k-images-idx3-ubyte.gz": "edd7a857845ad6bb1d0ba43fe7e794d164fe2dce499a1694695a792adfac43c5",
            "t10k-labels-idx1-ubyte.gz": "20bb9a0ef54c7db3efc55a92eef5582c109615df22683c380526788f98e42a1c",
        },
        # Romanized readings of お き す つ な は ま や れ を, the classes in label order.
        classes=("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
        license="CC BY-SA 4.0 (KMNIST Dataset, created by CODH; adapted from the Kuzushiji Dataset, "
                "created by NIJL and others, doi:10.20676/00000341)"),
}

FILE_NAMES = tuple(SOURCES["mnist"].sha256)  # the same four names for every dataset

#: Datasets made by a function rather than read from IDX files:
#: name -> (module, function ``f(split)``, where the data comes from).
GENERATED = {
    "digit-scenes": ("striate.data.scenes", "digit_scenes",
                     "generated from the embedded digits: 48x48 scenes of 1-3 digits, per-pixel labels"),
    "mnist1d": ("striate.data.mnist1d", "mnist1d",
                "1-D signals generated by the mnist1d package (pip install 'striate[mnist1d]'), "
                "cached in ~/.cache/striate/mnist1d"),
}


# --------------------------------------------------------------------------- lookup

def cache_dir(name=None):
    """``$XDG_CACHE_HOME/striate`` (default ``~/.cache/striate``), or its ``name`` subfolder."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = os.path.join(root, "striate")
    return os.path.join(path, name) if name else path


def search_dirs(name, data_dir=None):
    """The directories looked at for dataset ``name``, in order."""
    dirs = []
    if data_dir:
        data_dir = os.path.expanduser(os.fspath(data_dir))
        dirs += [data_dir, os.path.join(data_dir, name)]
    if os.environ.get("STRIATE_DATA"):
        dirs.append(os.path.join(os.path.expanduser(os.environ["STRIATE_DATA"]), name))
    dirs += [cache_dir(name), os.path.join(DEBIAN_DATASETS, name)]
    return dirs


def _find_file(directory, gz_name):
    """The path of ``gz_name``, or of its uncompressed twin, in ``directory`` (or None).

    Also accepts the dotted spelling some copies use (``train-images.idx3-ubyte``).
    """
    raw = gz_name[:-len(".gz")]
    dotted = raw.replace("-idx", ".idx")
    for candidate in (gz_name, raw, dotted + ".gz", dotted):
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            return path
    return None


def _files_in(directory):
    return {gz: _find_file(directory, gz) for gz in FILE_NAMES}


def find_dataset_dir(name, data_dir=None):
    """``(directory, report)``: the first directory with all four files (or None) and,
    for each directory looked at, a line saying what was found there."""
    report = []
    for directory in search_dirs(name, data_dir):
        found = _files_in(directory)
        count = sum(path is not None for path in found.values())
        if count == len(FILE_NAMES):
            return directory, report
        if count:
            missing = ", ".join(gz for gz, path in found.items() if path is None)
            report.append(f"{directory}: incomplete, missing {missing}")
        elif os.path.isdir(directory):
            report.append(f"{directory}: no dataset files")
        else:
            report.append(f"{directory}: does not exist")
    return None, report


def _not_found_message(source, report, failures=()):
    lines = [f"dataset {source.name!r} ({source.title}) not found. Looked for its four files "
             f"({', '.join(FILE_NAMES)}, gzipped or not) in:"]
    lines += [f"  - {line}" for line in report]
    if failures:
        lines.append("Download failed:")
        lines += [f"  - {line}" for line in failures]
    lines.append("To get it, any of:")
    if source.debian_package:
        lines.append(f"  - on Debian/Ubuntu: sudo apt-get install {source.debian_package} "
                     f"(installs into {os.path.join(DEBIAN_DATASETS, source.name)})")
    lines.append("  - let striate download it when online: add --download on the command line, "
                 "or pass download=True in Python")
    lines.append(f"  - download the four files by hand from {source.mirrors[0]}<file> "
                 f"(e.g. {source.mirrors[0]}{FILE_NAMES[0]}) into {cache_dir(source.name)}, "
                 f"or into a directory of your own passed as --data-dir / data_dir, "
                 f"or into $STRIATE_DATA/{source.name}")
    lines.append(f"(homepage: {source.homepage})")
    return "\n".join(lines)


# --------------------------------------------------------------------------- download

CHUNK = 1 << 20


def _urlopen(url):
    """Opened here (not inline) so that tests can replace it; urllib.request
    (which pulls in http, email and ssl) is imported only when downloading."""
    import urllib.request
    return urllib.request.urlopen(url, timeout=60)


def _fetch(url, path, expected_sha256):
    """Stream ``url`` into a temporary file beside ``path``, check its SHA-256, rename.

    On any failure (network, checksum) the temporary file is removed and
    ``path`` is left untouched.
    """
    tmp = f"{path}.{os.getpid()}-{os.urandom(4).hex()}.part"
    digest = hashlib.sha256()
    try:
        with _urlopen(url) as response, open(tmp, "wb") as out:
            while True:
                chunk = response.read(CHUNK)
                if not chunk:
                    break
                digest.update(chunk)
                out.write(chunk)
        actual = digest.hexdigest()
        if actual != expected_sha256:
            raise ValueError(f"SHA-256 mismatch: expected {expected_sha256}, got {actual}")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def download_dataset(name, directory=None, log=None, data_dir=None):
    """Fetch the missing files of ``name`` into ``directory`` (default: the cache).

    Tries each mirror in turn for each file. Returns the directory; raises
    :class:`DatasetNotFoundError` (listing every failed attempt) if a file
    could not be fetched and verified from any mirror (``data_dir`` only
    completes the list of places looked at in that message).
    """
    source = _source(name)
    directory = directory or cache_dir(name)
    created = not os.path.isdir(directory)
    os.makedirs(directory, exist_ok=True)
    log = log or (lambda message: print(message, file=sys.stderr))
    failures = []
    for gz_name, sha in source.sha256.items():
        if _find_file(directory, gz_name):
            continue
        for mirror in source.mirrors:
            url = mirror + gz_name
            log(f"downloading {url} -> {directory}")
            try:
                _fetch(url, os.path.join(directory, gz_name), sha)
                break
            except Exception as error:  # network errors come in many classes; all mean "try the next mirror"
                failures.append(f"{url}: {type(error).__name__}: {error}")
        else:
            if created and not os.listdir(directory):
                os.rmdir(directory)  # leave no trace of a download that got nothing
            _, report = find_dataset_dir(source.name, data_dir)
            raise DatasetNotFoundError(_not_found_message(source, report, failures))
    return directory


# --------------------------------------------------------------------------- loading

def _source(name):
    key = str(name).lower().replace("_", "-")
    if key not in SOURCES:
        raise ValueError(f"unknown IDX dataset {name!r}; known: {', '.join(SOURCES)}")
    return SOURCES[key]


def load_idx_dataset(name, split="train", data_dir=None, download=False):
    """Dataset ``name`` ('mnist', 'fashion-mnist', 'kmnist'), ``split`` 'train' or 'test'.

    Returns an :class:`ImageDataset` of uint8 images (N, 1, 28, 28) and int64
    labels, with the class names; see the module docstring for where the files
    are looked for.
    """
    source = _source(name)
    if split not in SPLIT_PREFIX:
        raise ValueError(f"dataset {source.name!r}: split must be 'train' or 'test', got {split!r}")
    directory, report = find_dataset_dir(source.name, data_dir)
    if directory is None:
        if not download:
            raise DatasetNotFoundError(_not_found_message(source, report))
        directory = download_dataset(source.name, data_dir=data_dir)
    prefix = SPLIT_PREFIX[split]
    files = _files_in(directory)
    images_path = files[f"{prefix}-images-idx3-ubyte.gz"]
    labels_path = files[f"{prefix}-labels-idx1-ubyte.gz"]
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"dataset {source.name!r}: {images_path} holds images {images.shape} and "
                         f"{labels_path} labels {labels.shape}; expected (N, H, W) and (N,) with the same N")
    return ImageDataset(images[:, None], labels, source.classes, name=source.name, split=split,
                        source=directory)


def mnist(split="train", data_dir=None, download=False):
    """MNIST handwritten digits (60,000 train / 10,000 test, classes '0'..'9')."""
    return load_idx_dataset("mnist", split, data_dir, download)


def fashion_mnist(split="train", data_dir=None, download=False):
    """Fashion-MNIST (60,000 / 10,000 Zalando article images, 10 classes)."""
    return load_idx_dataset("fashion-mnist", split, data_dir, download)


def kmnist(split="train", data_dir=None, download=False):
    """Kuzushiji-MNIST (60,000 / 10,000 cursive hiragana, 10 classes)."""
    return load_idx_dataset("kmnist", split, data_dir, download)


# --------------------------------------------------------------------------- registry

def list_datasets():
    """Names accepted by :func:`load_dataset` (and ``striate train --dataset``)."""
    return [DEFAULT_DATASET] + list(SOURCES) + list(GENERATED)


def load_dataset(name=DEFAULT_DATASET, split="train", data_dir=None, download=False):
    """The dataset called ``name`` (see :func:`list_datasets`), split 'train' or 'test'.

    ``digits`` is the embedded MNIST subset (no files needed: ``data_dir`` and
    ``download`` are ignored); the others are read from IDX files as described
    in this module's docstring. Underscores and upper case are accepted
    (``fashion_mnist``).
    """
    key = str(name).lower().replace("_", "-")
    if key == DEFAULT_DATASET:
        if split not in ("train", "test"):
            raise ValueError(f"dataset 'digits': split must be 'train' or 'test', got {split!r}")
        return embedded_digits(split)
    if key in GENERATED:
        import importlib

        module, function, _ = GENERATED[key]
        return getattr(importlib.import_module(module), function)(split)
    if key not in SOURCES:
        raise ValueError(f"unknown dataset {name!r}; available: {', '.join(list_datasets())}")
    return load_idx_dataset(key, split, data_dir, download)
