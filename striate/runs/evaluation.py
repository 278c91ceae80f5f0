"""The data a trained run is judged on: a split of its dataset, framed and
normalized as the run's checkpoint says, checked against what the model takes.

``striate evaluate`` and ``striate inspect`` read their images here, so that
an evaluation sees exactly the pipeline that training saw (minus the
augmentation).
"""
from ..backend import xp
from .errors import RunConfigError

__all__ = ["evaluation_loader", "split_images"]


def _transform(meta, image_shape):
    from .config import build_transforms

    _, *size = meta["input_shape"]
    return build_transforms(meta.get("normalization") or {"mean": [0.0], "std": [1.0]},
                            False, tuple(size), tuple(image_shape))


def evaluation_loader(meta, where, dataset=None, split="test", data_dir=None, download=False,
                      limit=None, batch_size=256):
    """``(name, dataset, loader)`` for the run with checkpoint metadata ``meta``
    (stored at ``where``, named in messages): ``dataset`` (default the run's
    own) and its ``split``, the first ``limit`` images spread over it."""
    from ..data import DataLoader
    from ..data.dataset import Subset
    from ..data.datasets import load_dataset
    from .checks import check_data_dir
    from .config import spread_indices

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


def split_images(meta, count=None, split="test"):
    """``(display images in [0, 1], model inputs, labels)`` of ``count`` images
    spread over the run's ``split`` (all of them for None)."""
    from ..data.datasets import load_dataset
    from ..data.transforms import to_float
    from .config import spread_indices

    name = meta.get("dataset")
    if not name:
        raise RunConfigError("the run does not record its dataset; pass IMAGE files")
    dataset = load_dataset(name, split)
    keep = spread_indices(len(dataset), count) if count else xp.arange(len(dataset))
    images = dataset.gather(keep)[0]
    transform = _transform(meta, images.shape[2:])
    return to_float(images), transform(images), [f"{name} {split} #{int(i)}" for i in keep]
