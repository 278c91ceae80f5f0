"""Folders of images as datasets, decoded once into a memory-mapped cache.

Two layouts are read:

* ``DIR/CLASS/*.png``: one subfolder per class; the run draws its own
  validation split (:func:`stratified_split`);
* ``DIR/train/CLASS/...`` beside ``DIR/test/CLASS/...`` (or ``DIR/val/``):
  the two splits as given; their class folders must have the same names.

Class names are the subfolders' names, sorted. Images may sit in nested
folders inside a class folder; hidden files (``.DS_Store``) are passed over,
and so are files at the top of DIR (a README). Any other file whose
extension is not an image's is refused: a stray file in a class folder is
more often a mistake than an intention.

Reading is done once. :func:`index_folder` lists the files with their sizes
and modification times (no file is opened) and reads every image's header
(size and mode) when the folder is new or has changed; :func:`decode_folder`
then decodes every image, frames it (:func:`~striate.data.images.crop_frame`:
short side scaled, centre cut out) and writes one uint8 array
``(N, C, S, S)`` as a ``.npy`` file that later epochs and later runs read
through a memory map. Both are cached under :func:`cache_root`, keyed by the
file list, sizes and modification times, so a changed folder is read again.

Colour is decided per dataset: if any image has colour, all are RGB (an
image in an RGB mode whose three channels are equal counts as grey);
transparency is laid on white. Files that cannot be decoded are skipped,
named and counted, up to :data:`MAX_UNREADABLE` of the folder; more stops.
An image over striate's pixel limit (:func:`striate.limits.max_pixels`, which
``STRIATE_MAX_PIXELS`` raises) is refused from its header, before it is decoded.

Symbols: N images, C channels (1 or 3), S the side of the square frame.
"""
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import warnings

from ..backend import xp

__all__ = ["FolderError", "FolderIndex", "IMAGE_EXTENSIONS", "MAX_UNREADABLE",
           "cache_root", "index_folder", "decode_folder", "stratified_split", "load_folder"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
#: Largest share of a folder's images that may be undecodable and skipped.
MAX_UNREADABLE = 0.01
SPLIT_NAMES = ("train", "test", "val")
CACHE_VERSION = 1  # bump when the framing or the file format changes
SHOWN = 3  # file names quoted in a message


class FolderError(ValueError):
    """A folder that cannot be read as a dataset; the message names the path
    and what to change."""


def _quote(paths, total=None):
    total = len(paths) if total is None else total
    shown = ", ".join(paths[:SHOWN])
    return shown + (f" and {total - SHOWN} more" if total > SHOWN else "")


# --------------------------------------------------------------------------- listing

def _walk_images(folder, root, option):
    """Sorted relative paths (to ``root``) of the image files under ``folder``,
    following symbolic links but refusing a link that loops back."""
    found, seen = [], set()

    def visit(directory, relative):
        real = os.path.realpath(directory)
        if real in seen:
            raise FolderError(f"{option} {root}: {relative} is a symbolic link that loops "
                              "back to a folder above it; remove the link")
        seen.add(real)
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as error:
            raise FolderError(f"{option} {root}: cannot list {directory} "
                              f"({error.strerror})") from None
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = relative + os.sep + entry.name
            if entry.is_dir():  # follows links
                visit(entry.path, path)
                continue
            if os.path.splitext(entry.name)[1].lower() not in IMAGE_EXTENSIONS:
                raise FolderError(
                    f"{option} {root}: {path} is not an image file (the images read are "
                    f"{', '.join(IMAGE_EXTENSIONS)}); move it out of the dataset folder")
            found.append(path)
        seen.discard(real)  # a folder linked twice side by side is no loop

    visit(folder, os.path.relpath(folder, root))
    return found


def _class_folders(directory, root, option):
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError as error:
        raise FolderError(f"{option} {root}: cannot list {directory} ({error.strerror})") \
            from None
    folders = [e.name for e in entries if not e.name.startswith(".") and e.is_dir()]
    loose = [e.name for e in entries if not e.name.startswith(".") and not e.is_dir()
             and os.path.splitext(e.name)[1].lower() in IMAGE_EXTENSIONS]
    return folders, loose


def _layout(root, option):
    """``{split: directory}`` (``train`` and maybe ``test``) of the folder at ``root``."""
    if not os.path.lexists(root):
        raise FolderError(f"{option} {root}: no such folder")
    if not os.path.isdir(root):
        raise FolderError(f"{option} {root} is a file, not a folder; give the folder that "
                          "holds one subfolder per class")
    folders, loose = _class_folders(root, root, option)
    if not folders:
        if loose:
            raise FolderError(f"{option} {root} holds images ({_quote(loose)}) but no class "
                              f"folders; put each class's images in {root}/CLASS_NAME/")
        raise FolderError(f"{option} {root} is empty: it needs one subfolder of images per "
                          f"class ({root}/CLASS_NAME/*.png), or train/ and test/ folders "
                          "holding them")
    if "train" not in folders:
        return {"train": root}
    others = [f for f in folders if f not in SPLIT_NAMES]
    if others:
        raise FolderError(f"{option} {root} holds train/ beside other folders ({_quote(others)}); "
                          "with a train/ folder it may hold only train/ and test/ (or val/)")
    if "test" in folders and "val" in folders:
        raise FolderError(f"{option} {root} holds both test/ and val/; keep one of them as the "
                          "held-out split")
    splits = {"train": os.path.join(root, "train")}
    for name in ("test", "val"):
        if name in folders:
            splits["test"] = os.path.join(root, name)
    return splits


def _stat(root, relative):
    try:
        info = os.stat(os.path.join(root, relative))
    except OSError:
        return None
    return [info.st_size, info.st_mtime_ns]


def _list(root, option):
    """(splits, classes, files, labels, split of each file)."""
    layout = _layout(root, option)
    per_split = {}
    for split, directory in layout.items():
        folders, loose = _class_folders(directory, root, option)
        where = os.path.relpath(directory, root)
        where = root if where == "." else os.path.join(root, where)
        if loose:
            raise FolderError(f"{option} {root}: {where} holds images ({_quote(loose)}) outside "
                              "any class folder; move them into their class's folder")
        if not folders:
            raise FolderError(f"{option} {root}: {where} holds no class folders; it needs one "
                              "subfolder of images per class")
        per_split[split] = {name: _walk_images(os.path.join(directory, name), root, option)
                            for name in folders}
        empty = [os.path.join(where, name) for name, files in per_split[split].items()
                 if not files]
        if empty:
            raise FolderError(f"{option} {root}: the class folder {_quote(empty)} holds no "
                              "image file; add images or remove the folder")
    classes = sorted(per_split["train"])
    if "test" in per_split and sorted(per_split["test"]) != classes:
        test_name = os.path.basename(layout["test"])
        missing = sorted(set(classes) - set(per_split["test"]))
        extra = sorted(set(per_split["test"]) - set(classes))
        parts = ([f"missing in {test_name}/: {_quote(missing)}"] if missing else []) + \
            ([f"only in {test_name}/: {_quote(extra)}"] if extra else [])
        raise FolderError(f"{option} {root}: the class folders of train/ and {test_name}/ "
                          f"differ ({'; '.join(parts)}); give both the same class names")
    if len(classes) < 2:
        raise FolderError(f"{option} {root}: only one class ({classes[0]}); a classifier needs "
                          "at least two class folders")
    files, labels, splits = [], [], []
    for split in per_split:
        for label, name in enumerate(classes):
            for relative in per_split[split][name]:
                files.append(relative)
                labels.append(label)
                splits.append(split)
    return layout, classes, files, labels, splits


# --------------------------------------------------------------------------- the cache

def cache_root():
    """Where decoded folders are kept: ``$STRIATE_CACHE/folders``, else
    ``~/.cache/striate/folders``."""
    base = os.environ.get("STRIATE_CACHE") or os.path.join(os.path.expanduser("~"), ".cache",
                                                           "striate")
    return os.path.join(base, "folders")


def _fingerprint(root, files, stats):
    digest = hashlib.sha256()
    digest.update(json.dumps([CACHE_VERSION, os.path.realpath(root)]).encode())
    for relative, stat in zip(files, stats):
        digest.update(json.dumps([relative, stat]).encode())
    return digest.hexdigest()


class FolderIndex:
    """A listed folder: its ``classes``, the ``files`` (relative paths) that
    will be decoded with their ``labels`` and ``splits`` (``"train"`` or
    ``"test"``), the ``skipped`` files whose header is unreadable, each
    file's header size (``sizes``, (N, 2) width and height) and whether any
    has a colour mode, and the ``fingerprint`` of the whole listing.
    ``stored``: whether the listing is in the cache yet (it is written with
    the first decoded array); ``unreadable``: every file skipped, set by
    :func:`load_folder` once decoding has found the rest."""

    def __init__(self, root, record, directory):
        self.root, self.directory, self.record = root, directory, record
        self.classes = record["classes"]
        self.files = record["files"]
        self.labels = xp.asarray(record["labels"], dtype=xp.int64)
        self.splits = xp.asarray(record["splits"])
        self.sizes = xp.asarray(record["sizes"], dtype=xp.int64).reshape(-1, 2)
        self.colour_modes = record["colour_modes"]
        self.skipped = record["skipped"]
        self.fingerprint = record["fingerprint"]
        self.held_out = record["held_out"]  # "test", "val" or None
        self.stored = False
        self.unreadable = list(self.skipped)

    @property
    def median_side(self):
        """The median of the images' short sides, in pixels."""
        return int(xp.median(self.sizes.min(axis=1))) if len(self.sizes) else 0


def _headers(root, files, option):
    """Each file's (width, height) and colour flag from its header; the
    unreadable ones as None. A file over the pixel limit stops here."""
    from PIL import Image

    from ..limits import PIXELS_VAR, max_pixels
    from .images import GREY_MODES

    limit = max_pixels()
    out = []
    for relative in files:
        path = os.path.join(root, relative)
        try:
            with warnings.catch_warnings():  # the size is checked below, against our own limit
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                image = Image.open(path)
            with image:
                width, height, mode = image.width, image.height, image.mode
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
            out.append(None)
            continue
        if width * height > limit:
            raise FolderError(f"{option} {root}: {relative} is {width}x{height} pixels, more than "
                              f"the {limit:,} striate reads; shrink it or move it out (or raise "
                              f"the limit with the environment variable {PIXELS_VAR})")
        out.append((width, height, mode not in GREY_MODES))
    return out


def _too_many_unreadable(root, option, bad, total):
    if bad and len(bad) > MAX_UNREADABLE * total:
        raise FolderError(f"{option} {root}: {len(bad)} of {total} image files cannot be decoded "
                          f"({_quote(bad)}); more than {MAX_UNREADABLE:.0%} are unreadable, so "
                          "the folder is refused: repair or remove them")


def index_folder(root, option="--data", cache=None):
    """The :class:`FolderIndex` of the folder at ``root``; :class:`FolderError`
    names what is wrong with it. Opens no image file when ``cache`` (default
    :func:`cache_root`) already holds the listing of an unchanged folder."""
    root = os.path.abspath(os.path.expanduser(os.fspath(root)))
    cache = cache_root() if cache is None else cache
    if os.path.realpath(cache).startswith(os.path.realpath(root) + os.sep):
        raise FolderError(f"{option} {root}: the decode cache {cache} lies inside the dataset "
                          "folder, where it would be read as data; set STRIATE_CACHE elsewhere")
    layout, classes, files, labels, splits = _list(root, option)
    stats = [_stat(root, f) for f in files]
    fingerprint = _fingerprint(root, files, stats)
    directory = os.path.join(cache, fingerprint[:32])
    index_file = os.path.join(directory, "index.json")
    try:
        with open(index_file) as f:
            record = json.load(f)
        if record.get("fingerprint") == fingerprint:
            index = FolderIndex(root, record, directory)
            index.stored = True
            return index
    except (OSError, ValueError):
        pass
    headers = _headers(root, files, option)
    bad = [f for f, h in zip(files, headers) if h is None]
    keep = [i for i, h in enumerate(headers) if h is not None]
    held_out = os.path.basename(layout["test"]) if "test" in layout else None
    record = {"fingerprint": fingerprint, "classes": classes,
              "files": [files[i] for i in keep], "labels": [labels[i] for i in keep],
              "splits": [splits[i] for i in keep], "stats": [stats[i] for i in keep],
              "sizes": [list(headers[i][:2]) for i in keep],
              "colour_modes": any(headers[i][2] for i in keep), "skipped": bad,
              "held_out": held_out}
    _check_classes_left(root, option, record, classes)
    _too_many_unreadable(root, option, bad, len(files))
    return FolderIndex(root, record, directory)  # cached with the first decoded array


def _check_classes_left(root, option, record, classes):
    for split in ("train", "test"):
        present = {label for label, s in zip(record["labels"], record["splits"]) if s == split}
        if split in record["splits"] and len(present) < len(classes):
            lost = [classes[i] for i in range(len(classes)) if i not in present]
            raise FolderError(f"{option} {root}: no readable image is left in the class folder "
                              f"{_quote(lost)} ({split}); add images that Pillow can decode")


def _write_json(directory, name, record):
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=directory)
    with os.fdopen(fd, "w") as f:
        json.dump(record, f)
    os.replace(tmp, os.path.join(directory, name))


def _progress(total, enabled):
    if enabled:
        try:
            from tqdm import tqdm
        except ImportError:
            return None
        return tqdm(total=total, unit="img", desc="decoding", leave=False, file=sys.stderr)
    return None


def decode_folder(index, size, option="--data", progress=None, log=None, channels=None):
    """``(images, kept, seconds)``: the uint8 array (N, C, size, size) of the
    folder's images, memory-mapped from the cache (decoded now if it is not
    there yet, ``seconds`` then the time the pass took, else 0), and the
    indices into ``index.files`` of the images it holds (undecodable ones
    are left out). ``progress``: show a bar (default: when stderr is a
    terminal). ``log``: a function for the one-line report of the pass.
    ``channels``: 1 or 3 to force grey or RGB (default: decided by the images)."""
    from PIL import Image

    from .images import crop_frame, load_image

    size = int(size)
    name = f"images-{size}" + (f"-c{channels}" if channels else "")
    array_file = os.path.join(index.directory, name + ".npy")
    meta_file = os.path.join(index.directory, name + ".json")
    try:
        with open(meta_file) as f:
            meta = json.load(f)
        if meta.get("fingerprint") == index.fingerprint:
            return xp.load(array_file, mmap_mode="r"), xp.asarray(meta["kept"], xp.int64), 0.0
    except (OSError, ValueError):
        pass
    count = len(index.files)
    forced = channels is not None
    channels = channels or (3 if index.colour_modes else 1)
    os.makedirs(index.directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".npy", dir=index.directory)
    os.close(fd)
    bar = _progress(count, sys.stderr.isatty() if progress is None else progress)
    start = time.perf_counter()
    try:
        array = xp.lib.format.open_memmap(tmp, mode="w+", dtype=xp.uint8,
                                          shape=(count, channels, size, size))
        kept, bad, grey = [], [], True
        for i, relative in enumerate(index.files):
            try:
                image = load_image(os.path.join(index.root, relative))
            except (ValueError, OSError, Image.DecompressionBombError):
                bad.append(relative)
                continue
            frame = crop_frame(image, size, size, channels)
            if channels == 3 and grey and not forced and not (
                    (frame[0] == frame[1]).all() and (frame[1] == frame[2]).all()):
                grey = False
            array[len(kept)] = frame
            kept.append(i)
            if bar is not None:
                bar.update(1)
        _check_classes_left(index.root, option,
                            {"labels": [int(index.labels[i]) for i in kept],
                             "splits": [str(index.splits[i]) for i in kept]}, index.classes)
        _too_many_unreadable(index.root, option, index.skipped + bad,
                             count + len(index.skipped))
        if _changed(index):
            raise FolderError(f"{option} {index.root}: the folder changed while it was being "
                              "read; run again once it is stable")
        array.flush()
        del array
        _finish(tmp, array_file, len(kept), channels == 3 and grey and not forced)
        seconds = time.perf_counter() - start
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        for directory in (index.directory, os.path.dirname(index.directory)):
            try:
                os.rmdir(directory)  # only if empty: a failed first pass leaves nothing
            except OSError:
                break
        raise
    finally:
        if bar is not None:
            bar.close()
    if not index.stored:
        _write_json(index.directory, "index.json", index.record)
        index.stored = True
    _write_json(index.directory, name + ".json",
                {"fingerprint": index.fingerprint, "kept": kept, "skipped": bad,
                 "seconds": round(seconds, 3)})
    if log is not None:
        log(f"decoded {len(kept):,} images of {index.root} in {seconds:.1f} s "
            f"({len(kept) / max(seconds, 1e-9):,.0f} images/s) into {array_file}")
    return xp.load(array_file, mmap_mode="r"), xp.asarray(kept, dtype=xp.int64), seconds


def _changed(index):
    return [_stat(index.root, f) for f in index.files] != index.record["stats"]


def _finish(tmp, target, rows, to_grey):
    """Move the decoded array ``tmp`` into place, cut to ``rows`` images, and
    to one channel when every image turned out grey."""
    full = xp.load(tmp, mmap_mode="r")
    if rows == len(full) and not to_grey:
        del full
        os.replace(tmp, target)
        return
    channels = 1 if to_grey else full.shape[1]
    fd, cut = tempfile.mkstemp(prefix=".cut.", suffix=".npy", dir=os.path.dirname(tmp))
    os.close(fd)
    out = xp.lib.format.open_memmap(cut, mode="w+", dtype=xp.uint8,
                                    shape=(rows,) + (channels,) + full.shape[2:])
    for start in range(0, rows, 4096):
        out[start:start + 4096] = full[start:min(rows, start + 4096), :channels]
    out.flush()
    del out, full
    os.replace(cut, target)
    os.remove(tmp)


# --------------------------------------------------------------------------- splits

def stratified_split(labels, fraction, seed):
    """``(train, held_out)`` index arrays: from every class, ``round(fraction *
    n)`` of its n samples (at least one when n >= 2, never all of them) drawn
    with a generator seeded by ``seed``, independent of striate's own."""
    if not 0.0 < fraction < 1.0:
        raise FolderError(f"--val-split must be between 0 and 1 (exclusive), got {fraction}")
    labels = xp.asarray(labels)
    rng = xp.random.default_rng(seed)
    train, held = [], []
    for label in xp.unique(labels):
        members = xp.flatnonzero(labels == label)
        members = members[rng.permutation(len(members))]
        take = min(len(members) - 1, max(1 if len(members) >= 2 else 0,
                                         int(round(fraction * len(members)))))
        held.append(members[:take])
        train.append(members[take:])
    return xp.sort(xp.concatenate(train)), xp.sort(xp.concatenate(held))


def load_folder(root, size, val_split=0.1, seed=0, option="--data", progress=None, log=None,
                name=None, index=None):
    """``(train, test, index, seconds)``: two :class:`~striate.data.dataset.Subset`
    of one :class:`~striate.data.dataset.ImageDataset` over the decoded cache.

    ``test`` is the folder's ``test/`` (or ``val/``) when it has one, else a
    :func:`stratified_split` of ``val_split`` of the training images, seeded
    by ``seed``. ``seconds``: how long decoding took (0 from the cache).
    ``index``: the folder's :class:`FolderIndex`, when it has just been made.
    """
    from .dataset import ImageDataset, Subset

    index = index_folder(root, option) if index is None else index
    images, kept, seconds = decode_folder(index, size, option, progress=progress, log=log)
    unread = set(range(len(index.files))) - set(kept.tolist())
    skipped = index.skipped + [index.files[i] for i in sorted(unread)]
    index.unreadable = skipped
    if skipped and log is not None:
        log(f"note: skipped {len(skipped)} unreadable file(s) of {index.root}: "
            f"{_quote(skipped)}")
    labels = index.labels[kept]
    splits = index.splits[kept]
    data = ImageDataset(images, labels, index.classes, name=name or os.path.basename(index.root),
                        split="all", source=index.root)
    if index.held_out:
        train = xp.flatnonzero(splits == "train")
        test = xp.flatnonzero(splits == "test")
    else:
        part, held = stratified_split(labels, val_split, seed)
        train, test = part, held
        if len(test) == 0:
            raise FolderError(f"{option} {index.root}: --val-split {val_split} leaves no "
                              "validation image; raise it or add a test/ folder")
    return Subset(data, train), Subset(data, test), index, seconds
