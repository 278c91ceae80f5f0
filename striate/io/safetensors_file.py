"""safetensors files: a JSON header and raw little-endian arrays, nothing to execute.

Writing goes through :func:`striate.io.atomic.atomic_path`, so a crash leaves
the old file or the new one, never half of one. safetensors 0.8 writes a
non-contiguous array's memory as if it were contiguous (scrambling it), so
every array is made C-contiguous first.
"""
import numpy as np

from .atomic import atomic_path
from .torch_zip import CheckpointFileError

__all__ = ["load_safetensors", "save_safetensors"]


def _require_safetensors(what):
    try:
        import safetensors.numpy
    except ImportError:
        raise ImportError(f"{what} needs the safetensors package: pip install safetensors") from None
    return safetensors.numpy


def load_safetensors(path):
    """``{name: array}`` from a safetensors file (arrays are writable copies)."""
    backend = _require_safetensors("load_safetensors")
    try:
        arrays = backend.load_file(path)
    except Exception as error:  # SafetensorError has no public base class to catch
        raise CheckpointFileError(f"{path} is not a readable safetensors file ({error}); "
                                  "it may be truncated or damaged") from None
    return {name: np.array(value) for name, value in arrays.items()}


def save_safetensors(arrays, path, metadata=None):
    """Write ``{name: array}`` to ``path`` atomically; ``metadata`` is a dict of
    strings stored in the header. Tensors (anything with ``.data`` holding an
    array) are accepted as well as arrays."""
    backend = _require_safetensors("save_safetensors")
    prepared = {}
    for name, value in arrays.items():
        if not isinstance(name, str):
            raise TypeError(f"save_safetensors: names must be strings, got {name!r}")
        array = getattr(value, "data", value)
        array = np.asarray(array)
        if array.dtype == object:
            raise TypeError(f"save_safetensors: {name!r} is not a numeric array "
                            f"(got {type(value).__name__})")
        # copy(order="C") rather than ascontiguousarray: that would turn 0-d into 1-d.
        prepared[name] = array if array.flags.c_contiguous else array.copy(order="C")
    if metadata is not None and not all(isinstance(k, str) and isinstance(v, str)
                                        for k, v in metadata.items()):
        raise TypeError("save_safetensors: metadata must map strings to strings")
    with atomic_path(path) as tmp:
        backend.save_file(prepared, tmp, metadata=metadata)
    return path
