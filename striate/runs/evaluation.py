"""The data a trained run is judged on: a split of its dataset, framed and
normalized as the run's checkpoint says, checked against what the model takes.

``striate evaluate`` and ``striate inspect`` read their images here, so that
an evaluation sees exactly the pipeline that training saw (minus the
augmentation).
"""
import os

from ..backend import xp
from .errors import RunConfigError

__all__ = ["evaluation_loader", "split_images", "folder_split"]


def _transform(meta, image_shape):
    from .config import build_transforms

    _, *size = meta["input_shape"]
    return build_transforms(meta.get("normalization") or {"mean": [0.0], "std": [1.0]},
                            False, tuple(size), tuple(image_shape))


def evaluation_loader(meta, where, dataset=None, split="test", data_dir=None, download=False,
                      limit=None, batch_size=256, folder=None, log=None):
    """``(name, dataset, loader)`` for the run with checkpoint metadata ``meta``
    (stored at ``where``, named in messages): ``dataset`` (default the run's
    own) and its ``split``, ``limit`` images spread over it. ``folder``: a
    folder of images instead (see :func:`folder_split`)."""
    from ..data import DataLoader
    from ..data.dataset import Subset
    from ..data.datasets import load_dataset
    from .checks import check_data_dir
    from .config import spread_indices

    config = meta.get("config") or {}
    if folder or config.get("data"):
        name, data = folder_split(meta, folder, split, log)
        if limit:
            data = Subset(data, spread_indices(len(data), limit))
        return name, data, DataLoader(data, batch_size=batch_size,
                                      transform=_transform(meta, meta["input_shape"][1:]))
    name = dataset or meta.get("dataset")
    if not name:
        raise RunConfigError(f"{where} does not say which dataset it was trained on; "
                             "pass --dataset")
    data_dir = check_data_dir(name, data_dir, download)
    data = load_dataset(name, split, data_dir=data_dir, download=download)
    if limit:
        data = Subset(data, spread_indices(len(data), limit))
    classes = meta.get("classes") or []
    if classes and len(data.classes) != len(classes):
        raise RunConfigError(f"dataset {name!r} has {len(data.classes)} classes but the model "
                             f"was trained on {len(classes)} ({meta.get('dataset')})")
    channels = meta["input_shape"][0]
    image_shape = tuple(data.gather(xp.arange(1))[0].shape[1:])
    if len(image_shape) != len(meta["input_shape"]):
        def kind(shape):
            return f"{len(shape) - 1}-D inputs of {'x'.join(map(str, shape))}"
        raise RunConfigError(f"--dataset {name}: its {kind(image_shape)} do not fit this model, "
                             f"trained on {meta.get('dataset')} ({kind(meta['input_shape'])}); "
                             f"evaluate it on data of that kind")
    if image_shape[0] != channels:
        raise RunConfigError(f"dataset {name!r} has {image_shape[0]}-channel images but the "
                             f"model takes {channels} channels")
    transform = _transform(meta, image_shape[1:])
    return name, data, DataLoader(data, batch_size=batch_size, transform=transform)


def split_images(meta, count=None, split="test", folder=None, log=None):
    """``(display images in [0, 1], model inputs, labels)`` of ``count`` images
    spread over the run's ``split`` (all of them for None), or over another
    ``folder`` of images (see :func:`folder_split`)."""
    from ..data.datasets import load_dataset
    from ..data.transforms import to_float
    from .config import spread_indices

    name = meta.get("dataset")
    if folder or (meta.get("config") or {}).get("data"):
        name, dataset = folder_split(meta, folder, split, log)
    elif not name:
        raise RunConfigError("the run does not record its dataset; pass IMAGE files")
    else:
        dataset = load_dataset(name, split)
    keep = spread_indices(len(dataset), count) if count else xp.arange(len(dataset))
    images = dataset.gather(keep)[0]
    transform = _transform(meta, images.shape[2:])
    return to_float(images), transform(images), [f"{name} {split} #{int(i)}" for i in keep]


def folder_split(meta, folder=None, split="test", log=None):
    """``(name, dataset)``: the ``split`` of the run's own folder of images,
    drawn as in training (its test/ or val/ folder, else the same seeded
    stratified split), or, with ``folder``, another folder's images (its
    ``split`` when it has train/ and test/, else all of them), labelled by
    class name with the run's class indices."""
    from ..data.dataset import ImageDataset, Subset
    from ..data.folder import decode_folder, index_folder, stratified_split

    config = meta.get("config") or {}
    own = folder is None
    root = config.get("data") if own else folder
    if not root:
        raise RunConfigError("the run was not trained on a folder of images; pass --data DIR")
    channels, height, _ = meta["input_shape"]
    index = index_folder(root)
    recorded = (meta.get("folder") or {}).get("fingerprint")
    if own and recorded and recorded != index.fingerprint and log is not None:
        log(f"note: {index.root} has changed since training; the {split} split is drawn "
            "from the folder as it is now")
    classes = list(meta.get("classes") or index.classes)
    unknown = [c for c in index.classes if c not in classes]
    if unknown:
        raise RunConfigError(f"--data {index.root}: the class folder(s) {', '.join(unknown)} "
                             f"are not classes of this run (its classes: {', '.join(classes)})")
    images, kept, _ = decode_folder(index, height, log=log)
    if images.shape[1] != channels:
        images, kept, _ = decode_folder(index, height, log=log, channels=channels)
    mapping = xp.asarray([classes.index(c) for c in index.classes], dtype=xp.int64)
    labels = mapping[index.labels[kept]]
    splits = index.splits[kept]
    name = os.path.basename(index.root)
    data = ImageDataset(images, labels, classes, name=name, split=split, source=index.root)
    if index.held_out:
        keep = xp.flatnonzero(splits == ("train" if split == "train" else "test"))
    elif own:
        train, held = stratified_split(labels, config.get("val_split") or 0.1,
                                       config.get("seed", 0))
        keep = train if split == "train" else held
    else:
        keep = xp.arange(len(labels))
    return name, Subset(data, keep)
