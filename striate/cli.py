"""The ``striate`` command line: train, evaluate, predict, summary, models, datasets.

    striate train                          # LeNet-5 on the embedded digits, no download
    striate evaluate runs/lenet5-digits
    striate predict runs/lenet5-digits my_digit.png
    striate summary resnet18 --input-shape 3,224,224

Every failure that comes from the user's input (unknown model, missing
dataset, corrupt file, bad checkpoint, undecodable image) ends with one clear
line on stderr and exit status 1 (2 for a malformed command line, as
argparse does), never a Python traceback; set ``STRIATE_DEBUG=1`` to see it
anyway. Checks come before writes, so a failing command leaves nothing
half-written behind.
"""
import argparse
import json
import os
import shutil
import sys
import time

__all__ = ["main", "build_parser"]


class UsageError(Exception):
    """A command that cannot run as given; the message says why and what to do."""


# --------------------------------------------------------------------------- argument types


def _bounded(convert, low, strict, what):
    """An argparse type: ``convert`` the text, then require value > low (``strict``)
    or value >= low, and a finite value."""
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not (value > low if strict else value >= low) or value == float("inf"):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value
    return parse


_positive_int = _bounded(int, 0, True, "a positive integer")
_non_negative_int = _bounded(int, 0, False, "an integer >= 0")
_non_negative_float = _bounded(float, 0.0, False, "a finite number >= 0")
_positive_float = _bounded(float, 0.0, True, "a finite number > 0")


def _shape(text):
    try:
        shape = tuple(int(v) for v in text.replace("x", ",").split(","))
    except ValueError:
        shape = ()
    if len(shape) != 3 or min(shape) <= 0:
        raise argparse.ArgumentTypeError(f"expected C,H,W such as 1,28,28, got {text!r}")
    return shape


def _model_arg(text):
    """``key=value`` with value a JSON literal (1, 0.25, true, null) or else a string."""
    key, sep, raw = text.partition("=")
    key = key.strip().replace("-", "_")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE such as width=0.25, got {text!r}")
    aliases = {"True": True, "False": False, "None": None}
    if raw in aliases:
        return key, aliases[raw]
    try:
        return key, json.loads(raw)
    except ValueError:
        return key, raw


# --------------------------------------------------------------------------- the parser


def _add_data_options(parser):
    parser.add_argument("--data-dir", metavar="DIR",
                        help="directory holding the dataset's IDX files (searched before "
                             "$STRIATE_DATA, ~/.cache/striate and /usr/share/datasets)")
    parser.add_argument("--download", action="store_true",
                        help="download a missing dataset from its official mirror (SHA-256 "
                             "checked) into ~/.cache/striate")


def _add_model_options(parser):
    parser.add_argument("--width", type=_positive_float, metavar="W",
                        help="width multiplier for the model's channels (e.g. 0.25), "
                             "for the models that take one")
    parser.add_argument("--small-input", action="store_true", default=None,
                        help="the model's small-input variant (e.g. a ResNet stem for "
                             "28x28 images), for the models that have one")
    parser.add_argument("--model-arg", type=_model_arg, action="append", metavar="KEY=VALUE",
                        help="any other keyword for the model's factory, e.g. "
                             "--model-arg dropout=0.3 (repeatable; values are JSON literals "
                             "or strings); `striate models` lists each model's options")


def _train_parser(subparsers):
    from .train.run import DEFAULT_LR, DEFAULTS, OPTIMIZERS, SCHEDULES

    d = DEFAULTS
    lrs = ", ".join(f"{k} {v:g}" for k, v in DEFAULT_LR.items())
    p = subparsers.add_parser(
        "train", help="train a model (default: LeNet-5 on the embedded digits)",
        description="Train a model on a dataset, evaluating on its test split after every "
                    "epoch. Writes OUT/checkpoint/ (weights and training state), "
                    "OUT/metrics.jsonl (one line per epoch) and OUT/learning_curve.png. "
                    "With no options: LeNet-5 on 5,000 embedded MNIST digits, no download.")
    p.add_argument("--model", help=f"model name, see `striate models` (default {d['model']})")
    p.add_argument("--dataset", help=f"dataset name, see `striate datasets` (default "
                                     f"{d['dataset']}: embedded, no download)")
    p.add_argument("--epochs", type=_positive_int, metavar="N",
                   help=f"total number of epochs, counting those before a --resume "
                        f"(default {d['epochs']})")
    p.add_argument("--batch-size", type=_positive_int, metavar="N",
                   help=f"images per training batch (default {d['batch_size']})")
    p.add_argument("--optimizer", choices=OPTIMIZERS, help=f"default {d['optimizer']}")
    p.add_argument("--lr", type=_positive_float, metavar="LR",
                   help=f"learning rate (the peak rate for onecycle); default per optimizer: {lrs}")
    p.add_argument("--momentum", type=_non_negative_float, metavar="M",
                   help="momentum for sgd (Nesterov) and rmsprop (default 0.9 for sgd, "
                        "0 for rmsprop)")
    p.add_argument("--weight-decay", type=_non_negative_float, metavar="WD",
                   help=f"L2 penalty (decoupled for adamw) (default {d['weight_decay']})")
    p.add_argument("--schedule", choices=SCHEDULES,
                   help=f"learning-rate schedule: none, step (/10 at 1/2 and 3/4 of the epochs), "
                        f"cosine (to 0), onecycle (warm up then anneal, per batch) "
                        f"(default {d['schedule']})")
    p.add_argument("--warmup", type=_non_negative_int, metavar="EPOCHS",
                   help="epochs of linear learning-rate warm-up before step/cosine/none "
                        f"(default {d['warmup']})")
    p.add_argument("--seed", type=int, metavar="N",
                   help=f"random seed: initialization, shuffling, augmentation (default {d['seed']})")
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                   help="data augmentation that keeps the label: random shifts of up to 2 "
                        "pixels for digits, random horizontal flips for Fashion-MNIST "
                        "(default on)")
    p.add_argument("--image-size", type=_positive_int, metavar="S",
                   help="resize images to SxS (default: the dataset's size)")
    p.add_argument("--limit", type=_positive_int, metavar="N",
                   help="use only N training and N/4 test images, spread evenly over each "
                        "split (quick trials)")
    _add_model_options(p)
    p.add_argument("--out", metavar="DIR",
                   help="output directory (default runs/MODEL-DATASET)")
    p.add_argument("--resume", nargs="?", const="", metavar="DIR",
                   help="continue the run in DIR (default: --out) exactly where it stopped, "
                        "with its stored settings; --epochs may raise the total")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing run in the output directory")
    p.add_argument("--stop-after", type=_positive_int, metavar="N",
                   help="stop after N epochs of this session (the schedule still spans "
                        "--epochs); continue later with --resume")
    _add_data_options(p)
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bars (they are also off when stderr is not a terminal)")
    # Defaults are None so that --resume can tell what was given; the help
    # strings state the real defaults (from striate.train.run.DEFAULTS).
    p.set_defaults(handler=cmd_train)
    return p


def build_parser():
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="striate",
        description="Convolutional networks from first principles, on NumPy: train, "
                    "evaluate and use image classifiers.",
        epilog="Run `striate COMMAND --help` for the options of a command.")
    parser.add_argument("--version", action="version", version=f"striate {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    _train_parser(subparsers)

    p = subparsers.add_parser(
        "evaluate", help="accuracy, per-class accuracy and a confusion matrix of a checkpoint",
        description="Evaluate a trained model on a dataset split: loss, top-1/top-5 accuracy, "
                    "per-class accuracy, and a confusion-matrix PNG.")
    p.add_argument("checkpoint", metavar="CHECKPOINT_DIR",
                   help="a run directory (runs/lenet5-digits) or its checkpoint/ directory")
    p.add_argument("--dataset", help="dataset to evaluate on (default: the one it was trained on)")
    p.add_argument("--split", choices=("test", "train"), default="test",
                   help="which split (default test)")
    p.add_argument("--batch-size", type=_positive_int, default=256, metavar="N",
                   help="images per batch (default 256)")
    p.add_argument("--limit", type=_positive_int, metavar="N",
                   help="only N images, spread evenly over the split")
    p.add_argument("--plot", metavar="PNG",
                   help="where to write the confusion matrix (default: "
                        "RUN_DIR/confusion_matrix-DATASET-SPLIT.png)")
    _add_data_options(p)
    p.set_defaults(handler=cmd_evaluate)

    p = subparsers.add_parser(
        "predict", help="classify image files with a trained model",
        description="Classify PNG/JPEG files of any size and mode: each is converted to the "
                    "model's input (grey or RGB, inverted if dark-on-light, cropped and "
                    "resized like the training images, normalized as in training) and the "
                    "most probable classes are printed.")
    p.add_argument("checkpoint", metavar="CHECKPOINT_DIR",
                   help="a run directory (runs/lenet5-digits) or its checkpoint/ directory")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files")
    p.add_argument("--top", type=_positive_int, default=3, metavar="K",
                   help="how many classes to print per image (default 3)")
    p.add_argument("--invert", choices=("auto", "yes", "no"), default="auto",
                   help="invert grey levels: auto (when the image is dark-on-light and the "
                        "training images were light-on-dark), yes or no (default auto)")
    p.set_defaults(handler=cmd_predict)

    p = subparsers.add_parser(
        "summary", help="layer-by-layer table of a model: shapes, parameters, mult-adds",
        description="Print a model's summary: each layer's output shape, parameter count, "
                    "mult-adds and receptive field, then the totals.")
    p.add_argument("model", metavar="MODEL", help="model name, see `striate models`")
    p.add_argument("--input-shape", type=_shape, metavar="C,H,W",
                   help="input shape without the batch (default: the model's usual input)")
    p.add_argument("--depth", type=_non_negative_int, default=3, metavar="N",
                   help="how deep to show nested blocks (default 3)")
    p.add_argument("--num-classes", type=_positive_int, metavar="K",
                   help="output classes (default: the model's default)")
    _add_model_options(p)
    p.set_defaults(handler=cmd_summary)

    p = subparsers.add_parser("models", help="list the available models and their options",
                              description="List the models `--model` accepts.")
    p.set_defaults(handler=cmd_models)
    p = subparsers.add_parser("datasets", help="list the datasets and where they were found",
                              description="List the datasets `--dataset` accepts and where "
                                          "their files are.")
    p.add_argument("--data-dir", metavar="DIR", help="also look in DIR")
    p.set_defaults(handler=cmd_datasets)
    return parser


# --------------------------------------------------------------------------- helpers


def _model_kwargs(args):
    kwargs = dict(args.model_arg or [])
    if args.width is not None:
        kwargs["width"] = args.width
    if args.small_input:
        kwargs["small_input"] = True
    return kwargs


def _run_dir(checkpoint_path):
    """The run directory that holds ``checkpoint/``, or the checkpoint dir itself."""
    parent, name = os.path.split(checkpoint_path)
    return parent if name == "checkpoint" else checkpoint_path


def _softmax(logits):
    from .backend import xp

    shifted = logits - logits.max(axis=1, keepdims=True)
    e = xp.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def _percent(value):
    return f"{100.0 * value:.2f}%"


def _probability(value):
    """A percentage that never rounds a near-certainty to "100.00%" or a tiny
    chance to "0.00%"."""
    text = _percent(value)
    if text == "100.00%" and value < 1.0:
        return ">99.99%"
    if text == "0.00%" and value > 0.0:
        return "<0.01%"
    return text


# --------------------------------------------------------------------------- train

#: Settings that may differ from the stored ones on --resume.
_RESUME_MAY_CHANGE = ("epochs",)


def _explicit_config(args):
    """The configuration keys the user set on the command line."""
    keys = ("model", "dataset", "epochs", "batch_size", "optimizer", "lr", "momentum",
            "weight_decay", "schedule", "warmup", "seed", "augment", "image_size", "limit")
    explicit = {k: getattr(args, k) for k in keys if getattr(args, k) is not None}
    model_kwargs = _model_kwargs(args)
    if model_kwargs:
        explicit["model_args"] = model_kwargs
    return explicit


def _existing_run(out):
    from .train.checkpoint import resolve_checkpoint
    from .train.trainer import METRICS_FILE

    return (resolve_checkpoint(out, must_exist=False) is not None
            or os.path.exists(os.path.join(out, METRICS_FILE)))


def _clear_run(out):
    from .train.trainer import CURVE_FILE, METRICS_FILE

    for name in (METRICS_FILE, CURVE_FILE):
        path = os.path.join(out, name)
        if os.path.exists(path):
            os.remove(path)
    checkpoint = os.path.join(out, "checkpoint")
    if os.path.isdir(checkpoint):
        shutil.rmtree(checkpoint)


def _resume_config(args, explicit):
    from .train.checkpoint import load_checkpoint
    from .train.run import DEFAULTS, default_out_dir

    path = args.resume or args.out or default_out_dir({**DEFAULTS, **explicit})
    checkpoint = load_checkpoint(path)
    config = dict(checkpoint.meta.get("config") or {})
    if not config:
        raise UsageError(f"{checkpoint.path} stores no training configuration; it cannot be resumed")
    conflicts = [f"--{k.replace('_', '-')} {explicit[k]!r} (the run has {config.get(k)!r})"
                 for k in explicit if k not in _RESUME_MAY_CHANGE and explicit[k] != config.get(k)]
    if conflicts:
        raise UsageError(f"cannot resume {checkpoint.path} with different settings: "
                         f"{'; '.join(conflicts)}. Resume without them, or start a new run "
                         "with --out")
    config.update({k: explicit[k] for k in _RESUME_MAY_CHANGE if k in explicit})
    return checkpoint, config, args.out or _run_dir(checkpoint.path)


def cmd_train(args):
    from .train.run import DEFAULT_LR, DEFAULTS, augmentation, default_out_dir, prepare_run
    from .train.trainer import CURVE_FILE, METRICS_FILE, NonFiniteLossError, Trainer

    explicit = _explicit_config(args)
    checkpoint = None
    if args.resume is not None:
        checkpoint, config, out = _resume_config(args, explicit)
    else:
        config = {**DEFAULTS, **explicit}
        out = args.out or default_out_dir(config)
        if _existing_run(out) and not args.overwrite:
            raise UsageError(f"{out} already holds a training run; continue it with --resume, "
                             "replace it with --overwrite, or choose another --out")
    run = prepare_run(config, args.data_dir, args.download,
                      normalization=checkpoint.meta.get("normalization") if checkpoint else None)
    if checkpoint is not None and checkpoint.epoch >= config["epochs"]:
        print(f"{out} has already trained {checkpoint.epoch} of {config['epochs']} epochs; "
              "nothing to do (raise --epochs to train longer)")
        return 0
    if checkpoint is None and args.overwrite:
        _clear_run(out)

    trainer = Trainer(run.model, run.optimizer, run.train_loader, run.test_loader,
                      scheduler=run.scheduler, scheduler_interval=run.interval, out_dir=out,
                      meta=run.meta(), progress=False if args.no_progress else None)
    if checkpoint is not None:
        trainer.resume(checkpoint.path)
        if checkpoint.meta.get("config", {}).get("epochs") != config["epochs"] and \
                config["schedule"] != "none":
            print(f"note: the {config['schedule']} schedule was built for "
                  f"{checkpoint.meta['config']['epochs']} epochs and now spans "
                  f"{config['epochs']}", file=sys.stderr)
    lr = config["lr"] if config["lr"] is not None else DEFAULT_LR[config["optimizer"]]
    verb = f"resuming at epoch {trainer.epoch + 1}" if checkpoint else "training"
    print(f"{verb}: {config['model']} on {config['dataset']} ({len(run.train_set):,} train / "
          f"{len(run.test_set):,} test images, {len(run.classes)} classes, input "
          f"{'x'.join(map(str, run.input_shape))}), {config['epochs']} epochs, "
          f"{config['optimizer']} lr {lr:g}, schedule {config['schedule']}, batch "
          f"{config['batch_size']}, augment {augmentation(config) or 'none'}, seed {config['seed']}")
    start = time.perf_counter()
    try:
        trainer.fit(config["epochs"], stop_after=args.stop_after)
    except (NonFiniteLossError, KeyboardInterrupt) as error:
        kept = (f"the checkpoint of epoch {trainer.epoch} in {trainer.checkpoint_path} is intact"
                if os.path.isdir(trainer.checkpoint_path) else "no checkpoint was written")
        if isinstance(error, KeyboardInterrupt):
            print(f"\nstriate train: interrupted during epoch {trainer.epoch + 1}; {kept}"
                  + (f"; continue with striate train --resume {out}" if trainer.epoch else ""),
                  file=sys.stderr)
            return 130
        raise UsageError(f"{error}; {kept}") from None
    seconds = time.perf_counter() - start
    last = trainer.history[-1] if trainer.history else {}
    if "test_acc" in last:
        print(f"test accuracy {_percent(last['test_acc'])} after {trainer.epoch} epochs "
              f"({seconds:.1f} s)")
    print(f"checkpoint:     {trainer.checkpoint_path}")
    print(f"metrics log:    {os.path.join(out, METRICS_FILE)}")
    print(f"learning curve: {os.path.join(out, CURVE_FILE)}")
    if trainer.epoch < config["epochs"]:
        print(f"stopped after epoch {trainer.epoch} of {config['epochs']}; continue with "
              f"striate train --resume {out}")
    return 0


# --------------------------------------------------------------------------- evaluate


def _evaluation_loader(checkpoint, args):
    from .backend import xp
    from .data import DataLoader
    from .data.dataset import Subset
    from .data.datasets import load_dataset
    from .train.run import build_transforms, spread_indices

    meta = checkpoint.meta
    name = args.dataset or meta.get("dataset")
    if not name:
        raise UsageError(f"{checkpoint.path} does not say which dataset it was trained on; "
                         "pass --dataset")
    dataset = load_dataset(name, args.split, data_dir=args.data_dir, download=args.download)
    if args.limit:
        dataset = Subset(dataset, spread_indices(len(dataset), args.limit))
    classes = meta.get("classes") or []
    if classes and len(dataset.classes) != len(classes):
        raise UsageError(f"dataset {name!r} has {len(dataset.classes)} classes but the model was "
                         f"trained on {len(classes)} ({meta.get('dataset')})")
    channels, height, width = meta["input_shape"]
    image_shape = tuple(dataset.gather(xp.arange(1))[0].shape[1:])
    if image_shape[0] != channels:
        raise UsageError(f"dataset {name!r} has {image_shape[0]}-channel images but the model "
                         f"takes {channels} channels")
    transform = build_transforms(meta.get("normalization") or {"mean": [0.0], "std": [1.0]},
                                 False, (height, width), image_shape[1:])
    return name, dataset, DataLoader(dataset, batch_size=args.batch_size, transform=transform)


def cmd_evaluate(args):
    from .train.checkpoint import load_checkpoint
    from .train.metrics import per_class_accuracy
    from .train.plots import plot_confusion_matrix
    from .train.trainer import evaluate

    checkpoint = load_checkpoint(args.checkpoint)
    model = checkpoint.build_model()
    name, dataset, loader = _evaluation_loader(checkpoint, args)
    metrics = evaluate(model, loader, num_classes=len(dataset.classes))
    classes = checkpoint.meta.get("classes") or dataset.classes
    model_name = checkpoint.meta.get("model", {}).get("name", "model")
    print(f"{model_name} (epoch {checkpoint.epoch}) on {name} {args.split}: "
          f"{metrics.count:,} images")
    print(f"accuracy {_percent(metrics.accuracy)}  top-{metrics.k} "
          f"{_percent(metrics.topk_accuracy)}  loss {metrics.loss:.4f}")
    print("per-class accuracy:")
    width = max(len(str(c)) for c in classes)
    recalls = per_class_accuracy(metrics.matrix)
    for index, (cls, recall) in enumerate(zip(classes, recalls)):
        row = metrics.matrix[index]
        print(f"  {str(cls):<{width}}  {_percent(recall):>7}  ({row[index]}/{row.sum()})")
    plot = args.plot or os.path.join(_run_dir(checkpoint.path),
                                     f"confusion_matrix-{name}-{args.split}.png")
    plot_confusion_matrix(metrics.matrix, classes, plot,
                          title=f"{model_name} on {name} {args.split}: accuracy "
                                f"{_percent(metrics.accuracy)}")
    print(f"confusion matrix: {plot}")
    return 0


# --------------------------------------------------------------------------- predict


def cmd_predict(args):
    from .autograd import Tensor, no_grad
    from .backend import xp
    from .train.checkpoint import load_checkpoint
    from .train.images import load_image, prepare_image

    checkpoint = load_checkpoint(args.checkpoint)
    meta = checkpoint.meta
    if "input_shape" not in meta:
        raise UsageError(f"{checkpoint.path} does not record the model's input shape")
    model = checkpoint.build_model()
    invert = {"auto": "auto" if meta.get("background") == "dark" else False,
              "yes": True, "no": False}[args.invert]
    norm = meta.get("normalization") or {}
    # Decode every file first: one bad file stops the command before any output.
    batch = xp.stack([prepare_image(load_image(path), meta["input_shape"], norm.get("mean"),
                                    norm.get("std"), invert=invert,
                                    framing=meta.get("framing", "resize"))
                      for path in args.images])
    with no_grad():
        probabilities = _softmax(model(Tensor(batch)).data.astype(xp.float64))
    classes = meta.get("classes") or [str(i) for i in range(probabilities.shape[1])]
    k = min(args.top, probabilities.shape[1])
    for path, row in zip(args.images, probabilities):
        best = xp.argsort(-row, kind="stable")[:k]
        print(f"{path}: " + ", ".join(f"{classes[i]} {_probability(row[i])}" for i in best))
    return 0


# --------------------------------------------------------------------------- summary, models, datasets


def cmd_summary(args):
    from . import models
    from .summary import summary

    kwargs = _model_kwargs(args)
    if args.num_classes:
        kwargs["num_classes"] = args.num_classes
    input_shape = args.input_shape
    if input_shape is not None:
        kwargs.setdefault("in_channels", input_shape[0])
    model = models.create(args.model, **kwargs)
    if input_shape is None:
        input_shape = model.input_shape  # every zoo model records its intended input
    print(summary(model, tuple(input_shape), depth=args.depth))
    return 0


def cmd_models(args):
    import inspect

    from . import models
    from .models.registry import get_model_factory

    for name in models.list_models():
        factory = get_model_factory(name)
        parameters = inspect.signature(factory).parameters.values()
        options = [p.name for p in parameters if p.name not in ("num_classes", "in_channels")
                   and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
        doc = " ".join((inspect.getdoc(factory) or "").split("\n\n")[0].split())
        print(f"{name:<20} {doc}")
        if options:
            print(f"{'':<20} options: {', '.join(options)}")
    return 0


def cmd_datasets(args):
    from .data.datasets import DEFAULT_DATASET, find_dataset_dir, list_datasets

    for name in list_datasets():
        if name == DEFAULT_DATASET:
            where = "embedded in striate (5,000 MNIST digits), no download"
        else:
            directory, _ = find_dataset_dir(name, args.data_dir)
            where = directory or (f"not found; `striate train --dataset {name} --download` "
                                  "fetches it")
        print(f"{name:<15} {where}")
    return 0


# --------------------------------------------------------------------------- main


def _expected_errors():
    """Exceptions that mean bad input, reported as one line without a traceback."""
    from .data.idx import IDXError
    from .train.checkpoint import CheckpointError
    from .train.images import ImageDecodeError

    return (UsageError, CheckpointError, ImageDecodeError, IDXError, ValueError, TypeError,
            OSError, KeyError, RuntimeError)


def main(argv=None):
    """Entry point of the ``striate`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = bool(os.environ.get("STRIATE_DEBUG"))
    try:
        return args.handler(args) or 0
    except KeyboardInterrupt:
        print("\nstriate: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `striate evaluate ... | head`: the reader left, nothing to report
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as error:  # noqa: BLE001 - the whole point: no traceback for users
        if debug:
            raise
        message = str(error) or type(error).__name__
        if isinstance(error, KeyError):
            message = f"missing entry {message}"
        if not isinstance(error, _expected_errors()):
            message = (f"{type(error).__name__}: {message} (this looks like a bug in striate; "
                       "set STRIATE_DEBUG=1 for the traceback)")
        print(f"striate {args.command}: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
