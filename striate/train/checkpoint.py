"""Checkpoints: everything needed to continue a training run exactly, or to
rebuild the model for evaluation and prediction, with no pickle anywhere.

A checkpoint is a directory of three files::

    checkpoint/
        model.safetensors            the model's state_dict (weights and buffers)
        training_state.safetensors   the arrays of the optimizer and scheduler state
        training_state.json          everything else: epoch, RNG state, optimizer and
                                     scheduler scalars, model name and constructor
                                     arguments, dataset, class names, input shape,
                                     normalization, the training configuration

safetensors holds only raw arrays plus a header, and JSON only plain values, so
loading a checkpoint can never run code (unlike ``torch.save``'s pickle). The
optimizer's nested state (per-parameter dicts keyed by integer index, tuples,
arrays) is flattened: each array goes into ``training_state.safetensors`` under
a dotted key, and the JSON keeps ``{"__array__": key}`` in its place.

Atomicity. The three files must change together, and a crash must never leave
a half-written checkpoint under the final name. A new checkpoint is written
completely into a hidden temporary directory beside the final one and fsynced;
then the old directory is renamed aside (``.checkpoint.old``), the new one
renamed into place, and the old one deleted. Every rename is atomic, so at
every instant one complete checkpoint exists, under ``checkpoint`` or (for the
instant between the two renames) ``.checkpoint.old``, which
:func:`resolve_checkpoint` puts back if it finds it alone.
"""
import contextlib
import glob
import json
import os
import shutil
import tempfile

from .. import backend
from ..autograd import Tensor
from ..backend import xp
from ..functional.arguments import as_array
from ..random import get_rng_state
from .atomic import default_permissions, fsync_dir, fsync_file
from .layout import RunLayout

__all__ = ["CheckpointError", "Checkpoint", "save_checkpoint", "load_checkpoint",
           "resolve_checkpoint", "flatten_state", "unflatten_state"]

FORMAT = "striate-checkpoint"
VERSION = 1
MODEL_FILE = "model.safetensors"
STATE_FILE = "training_state.safetensors"
JSON_FILE = "training_state.json"


class CheckpointError(RuntimeError):
    """A checkpoint is missing, unreadable, or does not fit the model."""


# --------------------------------------------------------------------------- nested state <-> JSON + arrays

_RESERVED = {"__array__", "__tensor__", "__scalar__", "__tuple__", "__items__"}


def _contiguous(array):
    """A C-contiguous version of ``array`` that keeps 0-d arrays 0-d
    (``ascontiguousarray`` would make them 1-d). safetensors 0.8 writes
    strided arrays wrongly, so everything it sees goes through here."""
    array = xp.asarray(array)
    return array if array.flags.c_contiguous else array.copy(order="C")


def flatten_state(value, arrays, key="state"):
    """``value`` as plain JSON, moving every array into ``arrays[key...]``.

    Handles what optimizer and scheduler ``state_dict()`` return: dicts (with
    string or integer keys), lists, tuples, None/bool/int/float/str, backend
    arrays, 0-d NumPy scalars (kept with their dtype, so a float32 step size
    comes back float32) and Tensors.
    """
    if isinstance(value, Tensor):
        arrays[key] = _contiguous(value.data)
        return {"__tensor__": key}
    if backend.is_array(value):
        arrays[key] = _contiguous(value)
        return {"__array__": key}
    if isinstance(value, xp.generic):
        arrays[key] = _contiguous(value)
        return {"__scalar__": key}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and not _RESERVED & set(value):
            return {k: flatten_state(v, arrays, f"{key}.{k}") for k, v in value.items()}
        # JSON object keys are strings only: keep integer keys exact as pairs.
        return {"__items__": [[flatten_state(k, arrays, f"{key}.k{i}"),
                               flatten_state(v, arrays, f"{key}.{k}")]
                              for i, (k, v) in enumerate(value.items())]}
    if isinstance(value, tuple):
        return {"__tuple__": [flatten_state(v, arrays, f"{key}.{i}") for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [flatten_state(v, arrays, f"{key}.{i}") for i, v in enumerate(value)]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot store a {type(value).__name__} in a checkpoint (at {key!r}); "
                    "state_dict() values must be arrays, numbers, strings, lists, tuples or dicts")


def unflatten_state(value, arrays):
    """Inverse of :func:`flatten_state`; arrays come back as fresh writable copies."""
    if isinstance(value, dict):
        if len(value) == 1:
            (tag, content), = value.items()
            if tag in ("__array__", "__tensor__", "__scalar__"):
                if content not in arrays:
                    raise CheckpointError(f"{STATE_FILE} lacks the array {content!r} that "
                                          f"{JSON_FILE} refers to")
                array = xp.array(arrays[content])  # copy: writable, owned
                if tag == "__tensor__":
                    return Tensor(array)
                return array[()] if tag == "__scalar__" else array
            if tag == "__tuple__":
                return tuple(unflatten_state(v, arrays) for v in content)
            if tag == "__items__":
                return {unflatten_state(k, arrays): unflatten_state(v, arrays) for k, v in content}
        return {k: unflatten_state(v, arrays) for k, v in value.items()}
    if isinstance(value, list):
        return [unflatten_state(v, arrays) for v in value]
    return value


# --------------------------------------------------------------------------- writing


def _safetensors_save(arrays, path, metadata=None):
    from safetensors.numpy import save_file

    save_file({k: _contiguous(v) for k, v in arrays.items()}, path, metadata=metadata)


def _old_name(path):
    parent, name = os.path.split(os.path.abspath(path))
    return os.path.join(parent, f".{name}.old")


def _tmp_prefix(path):
    return f".{os.path.basename(os.path.abspath(path))}.tmp-"


def save_checkpoint(path, model, optimizer=None, scheduler=None, *, epoch, meta=None,
                    rng_state=None):
    """Write a checkpoint directory at ``path`` atomically (see the module docstring).

    ``epoch`` is the number of completed epochs; ``meta`` is any JSON-able dict
    (model name and kwargs, dataset, class names, normalization, config) stored
    as is; ``rng_state`` defaults to striate's generator right now.
    """
    path = os.path.abspath(path)
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    resolve_checkpoint(path, must_exist=False)  # finish a swap a crash interrupted
    for stale in glob.glob(os.path.join(parent, _tmp_prefix(path) + "*")):
        shutil.rmtree(stale, ignore_errors=True)  # left by a process killed mid-write

    weights = {name: as_array(v) for name, v in model.state_dict().items()}
    arrays = {}
    state = {
        "format": FORMAT,
        "version": VERSION,
        "epoch": int(epoch),
        "rng_state": flatten_state(get_rng_state() if rng_state is None else rng_state,
                                   arrays, "rng"),
        "optimizer": None if optimizer is None else flatten_state(optimizer.state_dict(),
                                                                  arrays, "optimizer"),
        "scheduler": None if scheduler is None else flatten_state(scheduler.state_dict(),
                                                                  arrays, "scheduler"),
        "meta": meta or {},
    }
    text = json.dumps(state, indent=1)  # fails here, before touching the disk, if not JSON-able

    tmp = tempfile.mkdtemp(prefix=_tmp_prefix(path), dir=parent)
    try:
        _safetensors_save(weights, os.path.join(tmp, MODEL_FILE), metadata={"format": FORMAT})
        _safetensors_save(arrays, os.path.join(tmp, STATE_FILE), metadata={"format": FORMAT})
        with open(os.path.join(tmp, JSON_FILE), "w", encoding="utf-8") as f:
            f.write(text)
        for name in (MODEL_FILE, STATE_FILE, JSON_FILE):
            default_permissions(os.path.join(tmp, name))
            fsync_file(os.path.join(tmp, name))
        default_permissions(tmp)
        fsync_dir(tmp)
        _swap_into_place(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def _swap_into_place(tmp, path):
    old = _old_name(path)
    if os.path.exists(old):
        shutil.rmtree(old)  # resolve_checkpoint ran first, so `path` is complete
    if os.path.exists(path):
        os.replace(path, old)
    os.replace(tmp, path)
    fsync_dir(os.path.dirname(path))
    shutil.rmtree(old, ignore_errors=True)


# --------------------------------------------------------------------------- reading


def _is_complete(directory):
    return all(os.path.isfile(os.path.join(directory, n)) for n in (MODEL_FILE, STATE_FILE, JSON_FILE))


def resolve_checkpoint(path, must_exist=True):
    """The checkpoint directory for ``path``: ``path`` itself, or the
    ``checkpoint`` directory inside a run directory. Repairs a swap that a
    crash interrupted. Raises :class:`CheckpointError` if there is none."""
    path = os.path.abspath(path)
    inside = RunLayout(path).checkpoint_dir
    candidates = [inside, path]
    for candidate in candidates:
        old = _old_name(candidate)
        if not os.path.exists(candidate) and os.path.isdir(old) and _is_complete(old):
            with contextlib.suppress(OSError):
                os.replace(old, candidate)  # the crash came between the two renames
        if os.path.isdir(candidate) and _is_complete(candidate):
            return candidate
    if must_exist:
        if not os.path.exists(path):
            raise CheckpointError(f"no checkpoint at {path}: the directory does not exist")
        raise CheckpointError(
            f"no checkpoint at {path}: expected {MODEL_FILE}, {STATE_FILE} and {JSON_FILE} "
            f"in it or in {inside}")
    return None


class Checkpoint:
    """A checkpoint read from disk: ``model_state`` (name -> array), ``epoch``,
    ``meta``, and the optimizer/scheduler/RNG state, ready to restore."""

    def __init__(self, path, model_state, state, arrays):
        self.path = path
        self.model_state = model_state
        self.epoch = state.get("epoch", 0)
        self.meta = state.get("meta", {})
        self._state = state
        self._arrays = arrays

    @property
    def optimizer_state(self):
        return unflatten_state(self._state.get("optimizer"), self._arrays)

    @property
    def scheduler_state(self):
        return unflatten_state(self._state.get("scheduler"), self._arrays)

    @property
    def rng_state(self):
        return unflatten_state(self._state.get("rng_state"), self._arrays)

    def build_model(self):
        """A new model of the stored architecture with the stored weights, in eval mode."""
        from .. import models

        spec = self.meta.get("model") or {}
        if "name" not in spec:
            raise CheckpointError(f"{self.path}: the checkpoint does not name its model "
                                  "architecture; build the model yourself and call load_model()")
        model = models.create(spec["name"], **spec.get("kwargs", {}))
        self.load_model(model)
        model.eval()
        return model

    def load_model(self, model):
        """Copy the stored weights into ``model`` (strict: every name and shape must match)."""
        try:
            model.load_state_dict(self.model_state, strict=True)
        except (KeyError, ValueError, RuntimeError, TypeError) as error:
            stored = (self.meta.get("model") or {}).get("name", "an unknown model")
            raise CheckpointError(
                f"the checkpoint at {self.path} (saved from {stored}) does not fit "
                f"{type(model).__name__}: {error}") from None

    def restore_training(self, optimizer=None, scheduler=None, restore_rng=True):
        """Put the optimizer, scheduler and random generator back as they were."""
        from ..random import set_rng_state

        if optimizer is not None and self._state.get("optimizer") is not None:
            optimizer.load_state_dict(self.optimizer_state)
        if scheduler is not None and self._state.get("scheduler") is not None:
            scheduler.load_state_dict(self.scheduler_state)
        if restore_rng and self._state.get("rng_state") is not None:
            set_rng_state(self.rng_state)


def _safetensors_load(path):
    from safetensors.numpy import load_file

    try:
        return load_file(path)
    except Exception as error:  # SafetensorError, or OSError for unreadable files
        raise CheckpointError(f"{path} is not a readable safetensors file ({error}); "
                              "the checkpoint is damaged") from None


def load_checkpoint(path):
    """Read the checkpoint at ``path`` (a checkpoint or run directory)."""
    directory = resolve_checkpoint(path)
    json_path = os.path.join(directory, JSON_FILE)
    try:
        with open(json_path, encoding="utf-8") as f:
            state = json.load(f)
    except (OSError, ValueError) as error:
        raise CheckpointError(f"{json_path} is not readable JSON ({error}); "
                              "the checkpoint is damaged") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{json_path} is not a striate checkpoint")
    if state.get("version", 0) > VERSION:
        raise CheckpointError(f"{json_path} has format version {state['version']}; this "
                              f"striate reads up to version {VERSION}: upgrade striate")
    model_state = _safetensors_load(os.path.join(directory, MODEL_FILE))
    arrays = _safetensors_load(os.path.join(directory, STATE_FILE))
    return Checkpoint(directory, model_state, state, arrays)
