"""Reading ``torch.save`` files without PyTorch and without running their code.

The format (``torch/serialization.py``, zip format since PyTorch 1.6)::

    NAME/data.pkl        a pickle of the saved object; every tensor in it is a call
                         torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
                         requires_grad, backward_hooks) (``_v3`` adds a dtype), whose
                         storage is a *persistent id*
                         ("storage", torch.FloatStorage, key, location, numel)
    NAME/data/KEY        the raw bytes of storage KEY, in the byte order of
    NAME/byteorder       ("little" when absent)

A pickle may name any global and call it, which is how a malicious ``.pt`` runs
code. Here the unpickler resolves only a fixed table of names to functions of
our own (``_GLOBALS``): the tensor rebuild functions, the storage types, the
dtypes that ``_v3`` passes, and ``collections.OrderedDict``. Any other name is
refused before anything is called. The rebuild functions check every offset,
size and stride against the storage, then read the elements with
``as_strided`` and copy them: each array is contiguous, writable and
independent, and a storage that several tensors view (slices, tied weights)
is read from the archive once.

bfloat16 has no NumPy type: its storages become float32 (exact: a bfloat16 is
the top half of a float32), with a warning naming how many.
"""
import collections
import io
import os
import pickle
import warnings
import zipfile
import zlib

import numpy as np

from ..limits import SizeLimitError, check_bytes, check_elements, format_bytes

__all__ = ["CheckpointFileError", "UnsafeCheckpointError", "read_torch"]


class CheckpointFileError(ValueError):
    """A weights file that cannot be read: damaged, truncated, or of an unknown format."""


class UnsafeCheckpointError(CheckpointFileError):
    """A pickle that names a global outside the tensor-rebuilding allowlist."""


# --------------------------------------------------------------------------- storages

#: Storage class name -> NumPy dtype of its elements ("bfloat16" is decoded specially).
_STORAGE_DTYPES = {
    "DoubleStorage": "float64", "FloatStorage": "float32", "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32",
    "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8",
    "BoolStorage": "bool", "ComplexDoubleStorage": "complex128",
    "ComplexFloatStorage": "complex64", "UntypedStorage": "uint8",
}

#: ``torch.<dtype>`` globals that ``_rebuild_tensor_v3`` receives.
_TORCH_DTYPES = {
    "float64": "float64", "double": "float64", "float32": "float32", "float": "float32",
    "float16": "float16", "half": "float16", "bfloat16": "bfloat16", "int64": "int64",
    "long": "int64", "int32": "int32", "int": "int32", "int16": "int16", "short": "int16",
    "int8": "int8", "uint8": "uint8", "uint16": "uint16", "uint32": "uint32",
    "uint64": "uint64", "bool": "bool", "complex64": "complex64", "complex128": "complex128",
}


class _StorageType:
    """What ``torch.FloatStorage`` (and friends) resolve to: a name and an element dtype."""

    def __init__(self, name, dtype):
        self.name, self.dtype = name, dtype

    def __repr__(self):
        return f"torch.{self.name}"


class _DType:
    """What ``torch.float32`` (and friends) resolve to."""

    def __init__(self, name):
        self.name = name


class _Storage:
    """One storage of the archive: its raw bytes, the dtype it was saved with, and
    its elements decoded per dtype on first use (``_v3`` may view bytes as any)."""

    def __init__(self, raw, dtype, key, big_endian, path):
        self.raw, self.dtype, self.key = raw, dtype, key
        self.big_endian, self.path = big_endian, path
        self._decoded = {}

    def elements(self, dtype):
        if dtype not in self._decoded:
            self._decoded[dtype] = _decode(self.raw, dtype, self.big_endian, self.key, self.path)
        return self._decoded[dtype]


def _decode(raw, dtype, big_endian, key, path):
    """The elements of a raw byte buffer as a 1-d array; bfloat16 becomes float32."""
    if dtype == "bfloat16":
        bits = raw.view(">u2" if big_endian else "<u2").astype(np.uint32)
        return (bits << 16).view(np.float32)
    numpy_dtype = np.dtype(dtype)
    if raw.size % numpy_dtype.itemsize:
        raise CheckpointFileError(f"{path}: storage data/{key} holds {raw.size} bytes, not a "
                                  f"whole number of {dtype} elements; the file is damaged")
    if big_endian and numpy_dtype.itemsize > 1:
        return raw.view(numpy_dtype.newbyteorder(">")).astype(numpy_dtype)
    return raw.view(numpy_dtype)


def _view(storage, offset, size, stride, dtype, path):
    """Copy the elements that (offset, size, stride) select from ``storage``, after
    checking that every one of them lies inside it."""
    elements = storage.elements(dtype)
    try:
        size = tuple(int(n) for n in size)
        stride = tuple(int(s) for s in stride)
        offset = int(offset)
    except (TypeError, ValueError):
        raise CheckpointFileError(f"{path}: a tensor of storage data/{storage.key} has a "
                                  f"malformed size {size!r} or stride {stride!r}") from None
    if len(size) != len(stride) or offset < 0 or any(n < 0 for n in size) \
            or any(s < 0 for s in stride):
        raise CheckpointFileError(f"{path}: a tensor of storage data/{storage.key} has an "
                                  f"invalid offset {offset}, size {size} or stride {stride}")
    if 0 in size:
        return np.zeros(size, dtype=elements.dtype)
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= elements.size:
        raise CheckpointFileError(
            f"{path}: a tensor of size {size}, stride {stride} at offset {offset} reaches "
            f"element {last} of storage data/{storage.key}, which has {elements.size}; "
            "the file is damaged")
    item = elements.itemsize
    try:
        check_elements(size, item, f"a tensor of size {size} (stride {stride}) of storage "
                       f"data/{storage.key}", "load_torch")
    except SizeLimitError as error:
        raise CheckpointFileError(f"{path}: {error}") from None
    view = np.lib.stride_tricks.as_strided(elements[offset:], shape=size,
                                           strides=tuple(s * item for s in stride),
                                           writeable=False)
    return np.array(view, order="C")


# --------------------------------------------------------------------------- reading members

#: bytes inflated at a time: memory beyond the storage itself stays bounded
CHUNK = 16 << 20


def _read_member(archive, name, storage_type, numel, path):
    """The bytes of storage member ``name`` as a uint8 array, after checking
    the size its zip entry declares against the elements the pickle declares
    for it (``numel``) and against the size limit; inflated in chunks of
    :data:`CHUNK` bytes into one buffer of the declared size, so that a member
    that inflates to more than it declares is caught after one chunk."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise CheckpointFileError(f"{path}: the archive lacks {name}; the file is "
                                  "damaged") from None
    itemsize = 2 if storage_type.dtype == "bfloat16" else np.dtype(storage_type.dtype).itemsize
    if isinstance(numel, int) and not isinstance(numel, bool) and numel >= 0 \
            and info.file_size > numel * itemsize:
        raise CheckpointFileError(
            f"{path}: member {name} declares {format_bytes(info.file_size)} "
            f"({info.file_size} bytes), but its storage holds {numel} "
            f"{storage_type.dtype} element(s) ({numel * itemsize} bytes); the file is damaged "
            "or built to exhaust memory, and was not inflated")
    try:
        check_bytes(info.file_size, f"storage {name}", "load_torch")
    except SizeLimitError as error:
        raise CheckpointFileError(f"{path}: {error}") from None
    buffer = np.empty(info.file_size, dtype=np.uint8)
    filled = 0
    with archive.open(info) as member:
        while True:
            chunk = member.read(min(CHUNK, info.file_size - filled + 1))
            if not chunk:
                break
            if filled + len(chunk) > info.file_size:
                raise CheckpointFileError(f"{path}: member {name} inflates to more than the "
                                          f"{info.file_size} bytes it declares; the file is "
                                          "damaged")
            buffer[filled:filled + len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
            filled += len(chunk)
    if filled != info.file_size:
        raise CheckpointFileError(f"{path}: member {name} holds {filled} bytes, not the "
                                  f"{info.file_size} it declares; the file is damaged")
    return buffer


# --------------------------------------------------------------------------- the unpickler


class _TorchUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` whose globals come from ``_GLOBALS`` only and whose
    persistent ids are storages of the archive."""

    def __init__(self, stream, archive, prefix, big_endian, path):
        super().__init__(stream)
        self.archive, self.prefix, self.big_endian, self.path = archive, prefix, big_endian, path
        self.storages = {}
        self.bfloat16_storages = set()

    def find_class(self, module, name):
        target = _GLOBALS.get((module, name))
        if target is None:
            raise UnsafeCheckpointError(
                f"{self.path}: refused to load: the pickle asks for the global "
                f"'{module}.{name}', which is not a tensor, storage or container type. "
                "A checkpoint that names other globals can run code when loaded; "
                "nothing from the file was executed")
        if isinstance(target, str):  # a rebuild function: bind it to this file
            return getattr(self, target)
        return target

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType) and isinstance(pid[2], str)):
            raise CheckpointFileError(f"{self.path}: unexpected persistent id {pid!r} in the "
                                      "pickle (only tensor storages are supported)")
        _, storage_type, key, _location, numel = pid
        if key not in self.storages:
            raw = _read_member(self.archive, f"{self.prefix}data/{key}", storage_type, numel,
                               self.path)
            self.storages[key] = _Storage(raw, storage_type.dtype, key, self.big_endian,
                                          self.path)
        return self.storages[key]

    # Bound as the targets of the rebuild globals.
    def _rebuild_tensor(self, storage, storage_offset, size, stride):
        return self._rebuild(storage, storage_offset, size, stride, None)

    def _rebuild_tensor_v2(self, storage, storage_offset, size, stride, requires_grad=False,
                           backward_hooks=None, metadata=None):
        return self._rebuild(storage, storage_offset, size, stride, None)

    def _rebuild_tensor_v3(self, storage, storage_offset, size, stride, requires_grad, backward_hooks,
                           dtype, metadata=None):
        if not isinstance(dtype, _DType):
            raise CheckpointFileError(f"{self.path}: _rebuild_tensor_v3 got dtype {dtype!r}")
        return self._rebuild(storage, storage_offset, size, stride, dtype.name)

    def _rebuild_parameter(self, data, requires_grad=False, backward_hooks=None):
        if not isinstance(data, np.ndarray):
            raise CheckpointFileError(f"{self.path}: a Parameter wraps a {type(data).__name__}, "
                                      "not a tensor")
        return data

    def _rebuild(self, storage, offset, size, stride, dtype):
        if not isinstance(storage, _Storage):
            raise CheckpointFileError(f"{self.path}: a tensor's storage is a "
                                      f"{type(storage).__name__}, not a storage of the archive")
        dtype = dtype or storage.dtype
        if dtype == "bfloat16":
            self.bfloat16_storages.add(storage.key)
        return _view(storage, offset, size, stride, dtype, self.path)


_REBUILDERS = ("_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3", "_rebuild_parameter")

#: The whole allowlist: (module, name) -> what it resolves to. A string names a
#: rebuild method of the unpickler; nothing here is PyTorch code.
_GLOBALS = {("collections", "OrderedDict"): collections.OrderedDict}
_GLOBALS.update({("torch._utils", name): name for name in _REBUILDERS})
_GLOBALS.update({("torch", name): _StorageType(name, dtype)
                 for name, dtype in _STORAGE_DTYPES.items()})
_GLOBALS[("torch.storage", "UntypedStorage")] = _StorageType("UntypedStorage", "uint8")
_GLOBALS.update({("torch", name): _DType(dtype) for name, dtype in _TORCH_DTYPES.items()})


# --------------------------------------------------------------------------- the archive


def _data_pickle(archive, path):
    """The archive's ``NAME/data.pkl`` member and the ``NAME/`` prefix."""
    candidates = [n for n in archive.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
    if not candidates:
        raise CheckpointFileError(f"{path}: a zip archive, but not one written by torch.save "
                                  "(no NAME/data.pkl in it)")
    if len(candidates) > 1:
        shown = ", ".join(sorted(candidates)[:4]) + (", ..." if len(candidates) > 4 else "")
        raise CheckpointFileError(f"{path}: the archive holds {len(candidates)} data.pkl "
                                  f"members ({shown}), where torch.save writes one; it was "
                                  "assembled by hand or damaged")
    return candidates[0], candidates[0][:-len("data.pkl")]


def check_path(path, op):
    """A path (str or os.PathLike) of an existing regular file, or a clear error."""
    if isinstance(path, (bytes, bytearray)) or not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{op}: expected the path of a weights file (a str or os.PathLike), "
                        f"got {type(path).__name__} {path!r:.60}")
    if os.path.isdir(path):
        raise CheckpointFileError(f"{path} is a directory; give the weights file inside it "
                                  "(a .pt, .pth or .safetensors file)")
    if not os.path.exists(path):
        raise CheckpointFileError(f"{path}: no such file")


def _byte_order(archive, prefix, path):
    """Whether the archive's storages are big-endian (its ``byteorder`` member,
    'little' or 'big'; absent before PyTorch 1.10, which wrote little-endian)."""
    try:
        raw = archive.read(prefix + "byteorder")
    except KeyError:
        return False
    try:
        order = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        order = None
    if order not in ("little", "big"):
        raise CheckpointFileError(f"{path}: member {prefix}byteorder holds {raw[:20]!r}, not "
                                  "'little' or 'big'; the file is damaged")
    return order == "big"


def read_torch(path):
    """The object that ``torch.save`` wrote to ``path`` (zip format), with every
    tensor as a NumPy array; dicts, lists, tuples, numbers and strings as
    themselves. Nothing from the file is executed (see the module docstring).

    Raises :class:`UnsafeCheckpointError` for a pickle that names any other
    global, and :class:`CheckpointFileError` for a truncated or damaged file.
    """
    check_path(path, "read_torch")
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as error:
        raise CheckpointFileError(f"{path}: the zip archive is truncated or damaged ({error}); "
                                  "save or download the file again") from None
    except OSError as error:
        raise CheckpointFileError(f"{path}: cannot be read ({error.strerror or error})") from None
    with archive:
        member, prefix = _data_pickle(archive, path)
        try:
            big_endian = _byte_order(archive, prefix, path)
            pickled = archive.read(member)
            unpickler = _TorchUnpickler(io.BytesIO(pickled), archive, prefix, big_endian, path)
            obj = unpickler.load()
        except CheckpointFileError:
            raise
        except zipfile.BadZipFile as error:
            raise CheckpointFileError(f"{path}: the archive is damaged ({error}: the member "
                                      "does not match its checksum); save or download the "
                                      "file again") from None
        except (zlib.error, EOFError, pickle.UnpicklingError) as error:
            raise CheckpointFileError(f"{path}: the archive is damaged ({error}); save or "
                                      "download the file again") from None
        except RecursionError:
            raise CheckpointFileError(f"{path}: the pickle in the archive nests deeper than "
                                      "Python can follow; it is not a state dict") from None
        except (TypeError, AttributeError, IndexError, ValueError, KeyError) as error:
            raise CheckpointFileError(f"{path}: the pickle in the archive is malformed "
                                      f"({type(error).__name__}: {error})") from None
    if unpickler.bfloat16_storages:
        warnings.warn(f"{path}: {len(unpickler.bfloat16_storages)} bfloat16 storage(s) "
                      "converted to float32 (exactly; NumPy has no bfloat16)", stacklevel=3)
    return obj
