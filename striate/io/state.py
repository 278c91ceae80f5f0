"""A state dict (name -> array) from a weights file, whatever wrote it.

``load`` looks at the first bytes, not the extension: ``PK\\x03\\x04`` is a zip
(``torch.save`` since PyTorch 1.6), an 8-byte little-endian length followed by
``{`` is a safetensors header, and a pickle opcode is the legacy ``torch.save``
format, which we do not read (it must be re-saved by a current PyTorch).

Checkpoints in the wild wrap the state dict (``{"state_dict": ...}``,
``{"model": ...}``, with the epoch and optimizer beside it) and DataParallel/DDP
prefix every name with ``module.`` (``torch.compile`` with ``_orig_mod.``);
:func:`load_torch` unwraps both.
"""
import numpy as np

from .safetensors_file import load_safetensors
from .torch_zip import CheckpointFileError, check_path, read_torch

__all__ = ["detect_format", "load", "load_torch"]

#: Keys under which training scripts commonly store the model's state dict, tried in order.
WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "module", "net", "network")
#: Name prefixes added by wrappers around the model (DataParallel/DDP, torch.compile).
WRAPPER_PREFIXES = ("module.", "_orig_mod.")


def detect_format(path, op="detect_format"):
    """``"torch"`` (zip), ``"safetensors"``, or a :class:`CheckpointFileError`
    that says what the file is instead (``op`` names the caller in errors)."""
    check_path(path, op)
    with open(path, "rb") as f:
        head = f.read(9)
    if head[:4] == b"PK\x03\x04":
        return "torch"
    if len(head) == 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") > 1:
        return "safetensors"
    if head[:1] == b"\x80":
        raise CheckpointFileError(
            f"{path} is in PyTorch's legacy (pre-1.6, non-zip) torch.save format, which "
            "striate does not read. Re-save it with a current PyTorch: "
            "torch.save(torch.load(OLD, weights_only=True), NEW)")
    if not head:
        raise CheckpointFileError(f"{path} is empty")
    if head[:4] in (b"PK\x05\x06", b"PK\x07\x08"):
        raise CheckpointFileError(f"{path}: the zip archive is truncated or damaged")
    raise CheckpointFileError(f"{path} is neither a torch.save zip file nor a safetensors "
                              f"file (it starts with {head[:8]!r})")


def _is_state(value):
    return isinstance(value, dict) and value and all(isinstance(v, np.ndarray)
                                                     for v in value.values())


def _describe(obj):
    if isinstance(obj, dict):
        return ", ".join(f"{k!r} ({type(v).__name__})" for k, v in list(obj.items())[:12]) + (
            ", ..." if len(obj) > 12 else "")
    return type(obj).__name__


def _select(obj, key, path, seen=None):
    """The dict of arrays inside what ``torch.save`` stored (``seen``: the
    ids of the dicts already searched, so that a dict that contains itself
    ends the search)."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        raise CheckpointFileError(f"{path}: the stored dict contains itself; it is not a "
                                  "state dict")
    seen.add(id(obj))
    if key is not None:
        if not isinstance(obj, dict) or key not in obj:
            raise CheckpointFileError(f"{path} has no entry {key!r}; it holds {_describe(obj)}")
        obj = obj[key]
        if not _is_state(obj):
            raise CheckpointFileError(f"{path}: entry {key!r} is not a dict of tensors; it "
                                      f"holds {_describe(obj)}")
        return obj
    if _is_state(obj):
        return obj
    if isinstance(obj, dict):
        for wrapper in WRAPPER_KEYS:
            if _is_state(obj.get(wrapper)):
                return obj[wrapper]
            if isinstance(obj.get(wrapper), dict):
                if id(obj[wrapper]) in seen:
                    raise CheckpointFileError(f"{path}: the entry {wrapper!r} of the stored "
                                              "dict contains the dict itself; it is not a "
                                              "state dict")
                try:
                    return _select(obj[wrapper], None, path, seen)
                except CheckpointFileError:
                    pass
    raise CheckpointFileError(f"{path} holds no dict of tensors under any of the usual keys "
                              f"({', '.join(WRAPPER_KEYS)}); it holds {_describe(obj)}. "
                              "Name the entry with key=... (--key on the command line)")


def strip_wrapper_prefix(state):
    """Drop a prefix that every name carries (``module.`` from DataParallel/DDP)."""
    for prefix in WRAPPER_PREFIXES:
        if state and all(name.startswith(prefix) for name in state):
            return {name[len(prefix):]: value for name, value in state.items()}
    return state


def load_torch(path, key=None, strip_prefix=True):
    """``{name: array}`` from a ``torch.save`` zip file, without importing torch
    and without executing anything from the file.

    ``key`` picks the entry holding the state dict in a larger checkpoint; by
    default the file itself (if it is a dict of tensors) or the first of
    :data:`WRAPPER_KEYS` that holds one. ``strip_prefix`` removes a ``module.``
    (or ``_orig_mod.``) prefix shared by every name.
    """
    if detect_format(path, "load_torch") == "safetensors":
        raise CheckpointFileError(f"{path} is a safetensors file, not a torch.save file; read "
                                  "it with striate.io.load_safetensors (or striate.io.load, "
                                  "which reads either)")
    state = dict(_select(read_torch(path), key, path))
    bad = [name for name in state if not isinstance(name, str)]
    if bad:
        raise CheckpointFileError(f"{path}: the state dict has non-string names {bad[:5]}")
    return strip_wrapper_prefix(state) if strip_prefix else state


def load(path, key=None, strip_prefix=True):
    """``{name: array}`` from a PyTorch checkpoint or a safetensors file, told
    apart by their content (see :func:`detect_format`)."""
    if detect_format(path, "load") == "safetensors":
        state = load_safetensors(path)
        return strip_wrapper_prefix(state) if strip_prefix else state
    return load_torch(path, key=key, strip_prefix=strip_prefix)
