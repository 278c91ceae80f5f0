"""What the commands check before they start work: optional packages, output
paths, an explicit ``--data-dir``, the model's input size, finite weights.

Each check either passes quietly or raises :class:`~.errors.RunConfigError` with
a message that names the problem and the way out, so that a command fails in
its first second, with nothing written, instead of after an epoch of training.
"""
import importlib
import os
import sys

from .errors import RunConfigError

__all__ = ["INSTALL_EXTRAS", "missing_package", "require", "note_missing",
           "check_output_dir", "existing_run", "check_outside", "check_directory",
           "check_data_dir", "check_input_size", "check_input_fits", "check_finite_weights"]

INSTALL_EXTRAS = 'pip install "striate[train]"'

#: The optional packages (module name -> what it is called on PyPI, what it is for).
OPTIONAL = {
    "safetensors": ("safetensors", "to read and write checkpoints"),
    "matplotlib": ("matplotlib", "to draw plots"),
    "PIL": ("Pillow", "to read image files"),
    "tqdm": ("tqdm", "to show progress bars"),
}


def missing_package(module):
    """True when ``module`` cannot be imported."""
    try:
        importlib.import_module(module)
    except ImportError:
        return True
    return False


def require(command, *modules):
    """Raise a :class:`RunConfigError` naming the fix if any of ``modules`` is missing."""
    absent = [m for m in modules if missing_package(m)]
    if absent:
        needs = "; ".join(f"{OPTIONAL[m][0]} ({OPTIONAL[m][1]})" for m in absent)
        raise RunConfigError(f"striate {command} needs {needs}, which is not installed. "
                             f"Install it with: {INSTALL_EXTRAS}")


def note_missing(module, consequence):
    """False (and a note on stderr saying ``consequence``) when ``module`` is
    missing; True when it is there."""
    if not missing_package(module):
        return True
    name = OPTIONAL[module][0]
    print(f"note: {name} is not installed, so {consequence} ({INSTALL_EXTRAS} adds it)",
          file=sys.stderr)
    return False


# --------------------------------------------------------------------------- paths

def check_output_dir(path, option="--out"):
    """``path`` is a directory that exists and is writable, or one that can be made
    (:class:`~striate.runs.outputs.OutputPlan`'s check of an output folder)."""
    from .outputs import OutputPlan

    OutputPlan().writes_dir(os.path.expanduser(os.fspath(path)), option).check()


def existing_run(out):
    """True when ``out`` already holds a training run (a checkpoint or a metrics log)."""
    from ..train.checkpoint import resolve_checkpoint
    from ..train.layout import RunLayout

    return (resolve_checkpoint(out, must_exist=False) is not None
            or os.path.exists(RunLayout(out).metrics_file))


def check_outside(out, data, option="--out"):
    """A run directory ``out`` may not lie inside the folder of images ``data``
    (its files would be read as data next time), nor hold it."""
    out_real = os.path.realpath(os.path.expanduser(out))
    data_real = os.path.realpath(os.path.expanduser(data))
    if out_real == data_real or out_real.startswith(data_real + os.sep):
        raise RunConfigError(f"{option} {out} lies inside the image folder {data}; write the "
                             "run somewhere else")
    if data_real.startswith(out_real + os.sep):
        raise RunConfigError(f"{option} {out} holds the image folder {data}; write the run "
                             "somewhere else")


# --------------------------------------------------------------------------- data

def check_directory(path, option):
    """``path`` (expanded) if it is an existing directory, else a :class:`RunConfigError`."""
    where = os.path.expanduser(os.fspath(path))
    if not os.path.lexists(where):
        raise RunConfigError(f"{option} {path} does not exist")
    if not os.path.isdir(where):
        raise RunConfigError(f"{option} {path} is not a directory (it is a file); give the "
                             "directory that holds the dataset's files")
    return where


def check_data_dir(dataset, data_dir, download=False, option="--data-dir"):
    """``data_dir`` (the user's explicit ``--data-dir``) holds ``dataset``, or
    (with ``download``) will: it is used, never silently passed over for a copy
    found elsewhere. Returns ``data_dir``; None passes through."""
    if data_dir is None:
        return None
    from ..data.datasets import (DEFAULT_DATASET, FILE_NAMES, SOURCES, download_dataset,
                                 find_dataset_dir)

    key = str(dataset).lower().replace("_", "-")
    if key == DEFAULT_DATASET:
        raise RunConfigError(f"{option} {data_dir} would not be used: the dataset {key!r} is "
                             f"embedded in striate and reads no files. Leave out {option}, or "
                             f"name a dataset read from files, e.g. --dataset mnist")
    if key not in SOURCES:
        return data_dir  # the loader names the unknown dataset
    where = check_directory(data_dir, option)
    looked = [where, os.path.join(where, key)]
    found, report = find_dataset_dir(key, where)
    if found in looked:
        return data_dir
    if download:
        download_dataset(key, directory=looked[1], data_dir=where)
        return data_dir
    details = "; ".join(line for line in report if line.split(": ")[0] in looked)
    elsewhere = (f" striate found {key} in {found}: leave out {option} to use that copy."
                 if found else "")
    raise RunConfigError(f"dataset {key!r} is not in {option} {data_dir}: looked for "
                         f"{', '.join(FILE_NAMES)} (gzipped or not) in {looked[0]} and {looked[1]} "
                         f"({details}). Put the four files there, or add --download to fetch them "
                         f"into {looked[1]}.{elsewhere}")


# --------------------------------------------------------------------------- the model

def _dry_forward(model, input_shape):
    """None if ``model`` takes one zero image of ``input_shape`` (C, H, W);
    else ``(module path, module, error)`` of the innermost layer that failed."""
    from ..autograd import Tensor, no_grad
    from ..backend import xp

    names = {id(m): name for name, m in model.named_modules()}
    entered = []  # the modules whose forward is running, innermost last

    def enter(module, inputs):
        entered.append(module)

    def leave(module, inputs, output):
        entered.pop()

    handles = []
    for module in dict.fromkeys(m for _, m in model.named_modules()):
        handles += [module.register_forward_pre_hook(enter), module.register_forward_hook(leave)]
    training = model.training
    model.eval()  # no batch statistics from one image, no dropout draws from the generator
    try:
        with no_grad(), xp.errstate(all="ignore"):
            model(Tensor(xp.zeros((1,) + tuple(input_shape), dtype=xp.float32)))
    except Exception as error:  # noqa: BLE001 - any failure here is the input's size
        layer = entered[-1] if entered else model
        return names.get(id(layer), "") or type(layer).__name__, layer, error
    finally:
        for handle in handles:
            handle.remove()
        model.train(training)
    return None


def _smallest_working_size(model, input_shape, limit):
    """The smallest (C, max(H, S), max(W, S)) with S <= ``limit`` that the model
    takes, by bisection (a larger input never makes a layer's output smaller);
    None if even S = ``limit`` fails."""
    channels, height, width = input_shape

    def shape(size):
        return (channels, max(height, size), max(width, size))

    low, high = min(height, width), limit  # low fails; is high any better?
    if high <= low or _dry_forward(model, shape(high)) is not None:
        return None
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if _dry_forward(model, shape(middle)) is None else (middle, high)
    return shape(high)


def check_input_size(model, input_shape, suggest, name="the model"):
    """Run ``model`` on one zero image of ``input_shape`` (C, H, W, no grad).

    On failure raise a :class:`RunConfigError` naming the layer that failed (its
    module path and type, and its own complaint), the smallest input that
    works (or the model's own ``input_shape``) and ``suggest(shape)``, the
    option that asks for it (e.g. ``--image-size 63``).
    """
    failure = _dry_forward(model, input_shape)
    if failure is None:
        return
    path, layer, error = failure
    channels, height, width = input_shape
    failed = f"layer {path} ({type(layer).__name__}) fails on them ({error})"
    native = tuple(getattr(model, "input_shape", ()) or ())
    limit = max(64, 2 * max(height, width), *native[1:])
    shape = _smallest_working_size(model, input_shape, limit)
    if shape is not None:
        raise RunConfigError(f"{height}x{width} images are too small for {name}: {failed}; "
                             f"{name} needs images of at least {shape[1]}x{shape[2]}: use "
                             f"{suggest(shape)}")
    advice = ""
    if len(native) == 3 and _dry_forward(model, (channels,) + native[1:]) is None:
        usable = (channels,) + native[1:]
        advice = f"; it takes {native[1]}x{native[2]} images: use {suggest(usable)}"
    raise RunConfigError(f"{name} cannot take {channels}-channel {height}x{width} images: "
                         f"{failed}{advice}")


def check_input_fits(model, input_shape, name, dataset, suggest="build it for the data's size"):
    """A :class:`RunConfigError` naming the failing layer when ``model`` cannot
    take one sample of ``input_shape`` (any number of dimensions), with the
    model's own ``input_shape`` where it has one and ``suggest``, the way out."""
    failure = _dry_forward(model, input_shape)
    if failure is None:
        return
    path, layer, error = failure
    native = tuple(getattr(model, "input_shape", ()) or ())
    built = f" (it was built for {'x'.join(map(str, native))})" if native else ""
    raise RunConfigError(f"{name}{built} cannot take the {'x'.join(map(str, input_shape))} "
                         f"samples of {dataset}: layer {path} ({type(layer).__name__}) fails on "
                         f"them ({error}); {suggest}")


def check_finite_weights(model, where):
    """Refuse a model whose weights hold NaN or infinity: every prediction it
    makes would be NaN, or an argmax of garbage."""
    from ..backend import xp
    from ..functional.arguments import as_array

    for name, value in model.state_dict().items():
        data = as_array(value)
        if xp.issubdtype(data.dtype, xp.floating) and not xp.isfinite(data).all():
            raise RunConfigError(f"the weights of {name} in {where} are NaN or infinite: the model "
                                 "is damaged (its training diverged); retrain it or use an earlier "
                                 "checkpoint")
