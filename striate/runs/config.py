"""A training run from a plain configuration: what ``striate train``, the
playground and :func:`striate.runs.train` build.

The configuration is a flat dict of JSON values (model, dataset, epochs,
optimizer, learning rate, schedule, seed, ...; see :data:`DEFAULTS`). It is
stored in every checkpoint, so that ``--resume`` rebuilds the very same
data pipeline, model, optimizer and schedule before restoring their state.

Everything that can fail on bad input (unknown model or option, missing or
corrupt dataset) happens in :func:`prepare_run`, before anything is written to
disk.
"""
import os

from ..backend import xp
from .errors import RunConfigError
from ..train.schedules import first_plan
from .tasks import check_model_fits, check_task_augmentation, task_model_kwargs, task_of

__all__ = ["DEFAULTS", "OPTIMIZERS", "SCHEDULES", "AUGMENTATIONS", "DATASET_AUGMENTATION",
           "DATASET_FRAMING", "default_out_dir", "channel_stats", "spread_indices",
           "augmentation", "build_transforms", "mixing_loader", "prepare_run", "Run"]

#: The defaults of ``striate train``: LeNet-5 on the embedded digits, chosen to
#: pass 97% test accuracy in a few minutes on a 2-core CPU (measure it with
#: ``striate train``; the time is printed at the end).
DEFAULTS = {
    "model": "lenet5",
    "model_args": {},
    "dataset": "digits",
    "epochs": 10,
    "batch_size": 64,
    "optimizer": "sgd",
    "lr": None,            # None: the optimizer's default below
    "momentum": None,      # None: 0.9 for SGD, 0 for RMSprop (PyTorch's default)
    "weight_decay": 5e-4,
    "schedule": "onecycle",
    "warmup": 0,
    "seed": 0,
    "augment": True,
    "image_size": None,    # None: the dataset's own size (a folder: the model's)
    "limit": None,         # None: every image
    "data": None,          # a folder of images (see striate.data.folder) instead of dataset
    "val_split": 0.1,      # a folder without test/: the share held out, per class
    "normalize": None,     # None: mean/std of the training split; "imagenet": its presets
}

#: ``normalize`` presets: per-channel mean and std of RGB inputs in [0, 1].
NORMALIZE_PRESETS = {"imagenet": {"mean": [0.485, 0.456, 0.406],
                                  "std": [0.229, 0.224, 0.225]}}

#: A folder's model when none is named: LeNet-5 for images up to this side
#: (median of the short sides), else ResNet-18 at its native 224x224.
SMALL_IMAGES = 48

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
DEFAULT_LR = {"sgd": 0.05, "adam": 1e-3, "adamw": 1e-3, "rmsprop": 1e-3}
SCHEDULES = ("none", "step", "cosine", "onecycle")

#: Label-preserving augmentations: digits may shift but not mirror (a
#: mirrored 2 is no digit); clothes may mirror (a mirrored shoe is a shoe).
AUGMENTATIONS = ("shift", "flip")
DATASET_AUGMENTATION = {"digits": "shift", "mnist": "shift", "kmnist": "shift",
                        "fashion-mnist": "flip", "digit-scenes": None, "mnist1d": None}

#: How ``striate predict`` frames a picture for models trained on each dataset
#: (see :mod:`striate.data.images`).
DATASET_FRAMING = {"digits": "digits", "mnist": "digits", "kmnist": "digits",
                   "fashion-mnist": "fit"}


def default_out_dir(config):
    if config["model"] == "auto":  # a folder's model is chosen later, from its images
        return os.path.join("runs", config["dataset"])
    return os.path.join("runs", f"{config['model']}-{config['dataset']}")


def channel_stats(images, chunk=8192):
    """Per-channel mean and std of (N, C, ...) images or signals (integers
    scaled to [0, 1]), in chunks so that 60,000 images do not need a float64
    copy at once. ``images`` may also be a dataset: its images are gathered
    chunk by chunk (a folder's memory-mapped cache is never copied whole)."""
    if hasattr(images, "gather"):
        def blocks():
            for start in range(0, len(images), chunk):
                yield images.gather(xp.arange(start, min(len(images), start + chunk)))[0]
    else:
        def blocks():
            for start in range(0, len(images), chunk):
                yield images[start:start + chunk]
    first = next(blocks())
    scale = 1.0 / xp.iinfo(first.dtype).max if xp.issubdtype(first.dtype, xp.integer) else 1.0
    channels = first.shape[1]
    axes = (0,) + tuple(range(2, first.ndim))
    total, total_sq, count = xp.zeros(channels), xp.zeros(channels), 0
    for block in blocks():
        block = block.astype(xp.float64) * scale
        total += block.sum(axis=axes)
        total_sq += (block * block).sum(axis=axes)
        count += block.size // channels
    mean = total / max(count, 1)
    std = xp.sqrt(xp.maximum(total_sq / max(count, 1) - mean * mean, 1e-12))
    return [round(float(m), 6) for m in mean], [round(float(s), 6) for s in std]


def _load_split(config, split, data_dir, download):
    from ..data.datasets import load_dataset
    from ..data.dataset import Subset

    dataset = load_dataset(config["dataset"], split, data_dir=data_dir, download=download)
    limit = config.get("limit")
    if limit:
        dataset = Subset(dataset, spread_indices(len(dataset), limit if split == "train"
                                                 else max(1, limit // 4)))
    return dataset


def spread_indices(length, keep):
    """``keep`` indices spread evenly over ``range(length)``: a subset that
    covers every class even when a dataset is stored sorted by class."""
    keep = min(keep, length)
    return (xp.arange(keep) * length) // keep


def augmentation(config):
    """The augmentation spec ``config`` asks for (see
    :mod:`striate.data.augment_spec`): its dataset's preset (see
    :data:`DATASET_AUGMENTATION`, shifts for unknown ones) when ``augment``
    is True, none when False, else the spec string itself."""
    if not config["augment"]:
        return None
    if isinstance(config["augment"], str):
        return config["augment"]
    if config.get("data"):
        return "flip"  # photos of things: a mirrored cat is a cat
    return DATASET_AUGMENTATION.get(config["dataset"], "shift")


def build_transforms(normalization, augment, size, native_size, channels=1):
    """The batch transform: resize to ``size`` if it differs from the data's
    ``native_size``, scale to [0, 1], the ``augment`` spec (a string such as
    ``"shift"`` or ``"rotate=15,elastic"``, or none for False/None; batch
    mixing is :func:`mixing_loader`'s), normalize, then erasing if asked."""
    from ..data import transforms as T
    from ..data.augment_spec import build_augmentation

    if len(native_size) == 1:
        from ..data.signals import signal_transform
        return signal_transform(normalization, augment, size, native_size)
    steps = [T.ToFloat()]
    if size != native_size:
        steps.append(T.Resize(size))
    plan = build_augmentation(augment, channels, size) if augment else None
    steps += plan.before_normalize if plan else []
    steps.append(T.Normalize(normalization["mean"], normalization["std"]))
    steps += plan.after_normalize if plan else []
    return T.Compose(steps)


def mixing_loader(loader, augment, num_classes):
    """``loader`` wrapped to mix its batches when the ``augment`` spec asks
    for mixup or cutmix; ``loader`` itself otherwise."""
    from ..data.augment_spec import build_mix
    from ..data.mixing import MixingLoader

    mix = build_mix(augment, num_classes) if augment else None
    return MixingLoader(loader, mix) if mix is not None else loader


def build_optimizer(config, parameters):
    from .. import optim

    name, lr = config["optimizer"], config["lr"]
    lr = DEFAULT_LR[name] if lr is None else lr
    wd = config["weight_decay"]
    momentum = config["momentum"]
    if name == "sgd":
        momentum = 0.9 if momentum is None else momentum
        return optim.SGD(parameters, lr=lr, momentum=momentum, weight_decay=wd,
                         nesterov=momentum > 0)
    if name == "adam":
        return optim.Adam(parameters, lr=lr, weight_decay=wd)
    if name == "adamw":
        return optim.AdamW(parameters, lr=lr, weight_decay=wd)
    if name == "rmsprop":
        return optim.RMSprop(parameters, lr=lr, momentum=momentum or 0.0, weight_decay=wd)
    raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")


def build_scheduler(config, optimizer, steps_per_epoch):
    """``(scheduler or None, "epoch" | "batch")`` for ``config['schedule']``
    over the whole run (see :func:`striate.train.schedules.build_schedule`:
    step, cosine, one-cycle, and the warm-up before step and cosine)."""
    from ..train.schedules import build_schedule

    return build_schedule(config["schedule"], optimizer, config["epochs"], steps_per_epoch,
                          warmup=config["warmup"])


class Run:
    """Everything a training run needs, built and checked: the datasets and
    loaders, the model, optimizer and scheduler, and the checkpoint metadata;
    after :func:`striate.runs.train`, its ``trainer``, ``history`` and ``out``."""

    def __init__(self, config, train_set, test_set, normalization, input_shape, model,
                 model_kwargs, optimizer, scheduler, interval, train_loader, test_loader):
        self.config, self.model_kwargs = config, model_kwargs
        self.train_set, self.test_set = train_set, test_set
        self.normalization, self.input_shape = normalization, input_shape
        self.model, self.optimizer = model, optimizer
        self.scheduler, self.interval = scheduler, interval
        self.train_loader, self.test_loader = train_loader, test_loader
        self.trainer, self.out = None, None  # set once the run is trained (striate.runs.train)
        self.folder = None  # a folder dataset's record (see prepare_run)

    @property
    def history(self):
        """One dict of metrics per trained epoch (empty before training)."""
        return list(self.trainer.history) if self.trainer is not None else []

    @property
    def classes(self):
        return list(self.train_set.classes)

    def meta(self):
        """What a checkpoint stores to rebuild the model and its input pipeline."""
        return {
            "model": {"name": self.config["model"], "kwargs": self.model_kwargs},
            "dataset": self.config["dataset"],
            "classes": self.classes,
            "input_shape": list(self.input_shape),
            "normalization": self.normalization,
            "framing": "crop" if self.folder else DATASET_FRAMING.get(self.config["dataset"],
                                                                       "resize"),
            # built-in datasets: light objects on black; a folder's photos: any
            "background": None if self.folder else "dark",
            **({"folder": self.folder} if self.folder else {}),
            "config": self.config,
            "task": task_of(self.train_set),
            "title": f"{self.config['model']} on {self.config['dataset']}",
            "schedule_plan": first_plan(self.config["epochs"]),
        }

    def make_trainer(self, out_dir, progress=False, plot=True, distributed=None, **options):
        """A :class:`~striate.train.trainer.Trainer` of this run writing to
        ``out_dir``; ``options`` (loss, metrics, log) go to the trainer."""
        from ..train.trainer import Trainer

        return Trainer(self.model, self.optimizer, self.train_loader, self.test_loader,
                       scheduler=self.scheduler, scheduler_interval=self.interval,
                       out_dir=out_dir, meta=self.meta(), progress=progress, plot=plot,
                       distributed=distributed, **options)


def prepare_run(config, data_dir=None, download=False, normalization=None, init_weights=True,
                log=None, progress=None, expect_folder=None):
    """Load data and build model, optimizer and scheduler for ``config``.

    Seeds striate's generator with ``config['seed']`` first, so the model's
    initialization and every later random draw follow from the seed.
    ``normalization`` (from a checkpoint) skips recomputing the dataset's
    mean and std. A ``transfer`` entry (see :mod:`striate.runs.transfer`)
    loads initial weights (unless ``init_weights`` is False: a resumed run),
    replaces the head and freezes layers before the optimizer is built.

    With ``config['data']`` (a folder of images), a ``model`` of ``"auto"``
    and an unset ``image_size`` are decided from the folder and written into
    ``config``, so that the stored configuration rebuilds the same run.
    ``expect_folder`` (a resumed run's ``meta()['folder']``) must match the
    folder as it is now. ``log``: a function for one-line notes (the model
    chosen, the decode pass); ``progress``: the decode pass's bar.
    """
    from .. import models
    from ..data import DataLoader
    from ..models.registry import get_model_factory
    from ..random import manual_seed
    from .checks import check_input_fits, check_input_size

    kwargs = dict(config.get("model_args") or {})
    folder = None
    if config.get("data"):
        train_set, test_set, folder = _load_folder(config, log, progress, expect_folder)
    else:
        get_model_factory(config["model"])  # an unknown name fails before any data loads
    for decided in ("num_classes", "in_channels"):
        if decided in kwargs:
            raise RunConfigError(f"--model-arg {decided}={kwargs[decided]}: a run sizes the model "
                                 f"to its data ({decided.replace('_', ' ')} of "
                                 f"{config.get('data') or config['dataset']!r}); leave it out")

    manual_seed(config["seed"])
    if folder is None:
        train_set = _load_split(config, "train", data_dir, download)
        test_set = _load_split(config, "test", data_dir, download)
    channels, *spatial = train_set.gather(xp.arange(1))[0].shape[1:]
    size = (config["image_size"],) * len(spatial) if config.get("image_size") else tuple(spatial)
    if normalization is None:
        normalization = _normalization(config, train_set, int(channels))
    native = tuple(spatial)
    dense = task_of(train_set) == "segmentation"
    check_task_augmentation(augmentation(config), task_of(train_set))
    train_loader = DataLoader(train_set, batch_size=config["batch_size"], shuffle=True,
                              transform=build_transforms(normalization, augmentation(config),
                                                         size, native, int(channels)),
                              transform_targets=dense)  # a flip moves the label map too
    train_loader = mixing_loader(train_loader, augmentation(config), len(train_set.classes))
    test_loader = DataLoader(test_set, batch_size=max(256, config["batch_size"]),
                             transform=build_transforms(normalization, False, size, native))

    kwargs.update(num_classes=len(train_set.classes), in_channels=int(channels),
                  **task_model_kwargs(config["model"], task_of(train_set), kwargs))
    if folder is not None and "input_size" in models.model_options(config["model"]):
        kwargs.setdefault("input_size", int(size[-1]))  # a folder's frame: the model follows
    model = models.create(config["model"], **kwargs)
    check_model_fits(config["model"], model, (int(channels),) + tuple(size), task_of(train_set),
                     config["dataset"])
    if len(size) == 2:  # images: a dry forward names the layer an image size is too small for
        check_input_size(model, (int(channels),) + tuple(size), name=config["model"],
                         suggest=lambda shape: f"--image-size {shape[1]}")
    else:  # signals and volumes: a dry forward before training, not a failure in its first step
        import inspect

        takes_length = "length" in inspect.signature(get_model_factory(config["model"])).parameters
        check_input_fits(model, (int(channels),) + tuple(size), config["model"], config["dataset"],
                         suggest=f"use --model-arg length={size[-1]}" if takes_length
                         else "choose a model for that size")
    parameters = list(model.parameters())
    if config.get("transfer"):
        from .transfer import apply_transfer

        lr = DEFAULT_LR[config["optimizer"]] if config["lr"] is None else config["lr"]
        parameters = apply_transfer(model, config["transfer"], lr, load_weights=init_weights)
    optimizer = build_optimizer(config, parameters)
    scheduler, interval = build_scheduler(config, optimizer, len(train_loader))
    run = Run(config, train_set, test_set, normalization, (int(channels),) + tuple(size), model,
              kwargs, optimizer, scheduler, interval, train_loader, test_loader)
    run.folder = folder
    return run


def _normalization(config, train_set, channels):
    """The run's input normalization: a preset, or measured on ``train_set``."""
    preset = config.get("normalize")
    if preset is None:
        mean, std = channel_stats(train_set)
        return {"mean": mean, "std": std}
    if preset not in NORMALIZE_PRESETS:
        raise RunConfigError(f"--normalize {preset!r} is not a preset; choose one of "
                             f"{', '.join(NORMALIZE_PRESETS)}, or leave it out to measure the "
                             "training images")
    if channels != 3:
        raise RunConfigError(f"--normalize {preset} is for RGB images, but these have "
                             f"{channels} channel(s); leave it out to measure the training "
                             "images")
    return {key: list(values) for key, values in NORMALIZE_PRESETS[preset].items()}


def _native_side(name):
    from .. import models

    shape = getattr(models.create(name), "input_shape", None)
    return int(shape[-1]) if shape else None


def _load_folder(config, log, progress, expect_folder):
    """``(train, test, folder record)`` of ``config['data']``, deciding the
    model (for ``"auto"``) and the image size first."""
    from ..data.folder import index_folder, load_folder
    from ..data.dataset import Subset
    from ..models.registry import get_model_factory

    root = config["data"]
    index = index_folder(root)
    if expect_folder and expect_folder.get("fingerprint") != index.fingerprint:
        raise RunConfigError(f"the folder {root} has changed since this run started (files "
                             "added, removed or modified): the run's images and its validation "
                             "split would differ. Restore the folder, or start a new run")
    side = index.median_side
    if config["model"] == "auto":
        config["model"] = "lenet5" if side <= SMALL_IMAGES else "resnet18"
        if log is not None:
            log(f"model: {config['model']}, chosen for images of median side {side} pixels "
                "(name another with --model)")
    get_model_factory(config["model"])  # an unknown name fails before any image is decoded
    if not config.get("image_size"):
        config["image_size"] = _native_side(config["model"]) or min(side, 224)
    preset = config.get("normalize")
    if preset is not None and not index.colour_modes:  # grey for certain: say so before decoding
        _normalization(config, None, 1)
    if config["image_size"] < 8:
        raise RunConfigError(f"--image-size {config['image_size']} is too small to frame a "
                             "picture; use 8 or more")
    train, test, index, seconds = load_folder(root, config["image_size"], config["val_split"],
                                              config["seed"], progress=progress, log=log,
                                              index=index)
    limit = config.get("limit")
    if limit:
        train = Subset(train, spread_indices(len(train), limit))
        test = Subset(test, spread_indices(len(test), max(1, limit // 4)))
    record = {"root": index.root, "fingerprint": index.fingerprint, "held_out": index.held_out,
              "val_split": None if index.held_out else config["val_split"],
              "decode_seconds": round(seconds, 3), "images": int(len(index.files)),
              "skipped": len(index.unreadable)}
    return train, test, record
