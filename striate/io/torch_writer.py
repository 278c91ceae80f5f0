"""Writing ``torch.save`` files without PyTorch: a state dict that
``torch.load(path, weights_only=True)`` reads, and :func:`~.state.load_torch`
too.

The zip layout is the one :mod:`.torch_zip` reads (``NAME/data.pkl``,
``NAME/data/KEY``, ``NAME/byteorder``, ``NAME/version``). The pickle names
globals that are not importable here (``torch._utils._rebuild_tensor_v2``,
``torch.FloatStorage``), so it is written opcode by opcode (protocol 2),
not with :mod:`pickle`: an ``OrderedDict`` of name -> tensor, each tensor a
call ``_rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())``
on a persistent id ``("storage", torch.<Type>Storage, key, "cpu", numel)``.
Only the names that the weights-only unpickler allows are written.
"""
import collections
import os
import struct
import zipfile

import numpy as np

from .atomic import atomic_path

__all__ = ["save_torch"]

#: NumPy dtype -> torch storage class.
_STORAGES = {
    "float64": "DoubleStorage", "float32": "FloatStorage", "float16": "HalfStorage",
    "int64": "LongStorage", "int32": "IntStorage", "int16": "ShortStorage",
    "int8": "CharStorage", "uint8": "ByteStorage", "bool": "BoolStorage",
}


class _PickleWriter:
    """The few protocol-2 opcodes a state dict needs."""

    def __init__(self):
        self.out = bytearray(b"\x80\x02")        # PROTO 2

    def global_(self, module, name):
        self.out += b"c" + module.encode() + b"\n" + name.encode() + b"\n"

    def int_(self, value):
        if 0 <= value < 256:
            self.out += b"K" + bytes([value])      # BININT1
        elif -2 ** 31 <= value < 2 ** 31:
            self.out += b"J" + struct.pack("<i", value)  # BININT
        else:                                      # LONG1: little-endian two's complement
            data = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
            self.out += b"\x8a" + bytes([len(data)]) + data

    def str_(self, text):
        data = text.encode("utf-8")
        self.out += b"X" + struct.pack("<I", len(data)) + data   # BINUNICODE

    def tuple_(self, items):
        self.out += b"("                           # MARK
        for item in items:
            self.int_(item)
        self.out += b"t"                           # TUPLE

    def ordered_dict(self):
        self.global_("collections", "OrderedDict")
        self.out += b")R"                          # EMPTY_TUPLE, REDUCE

    def tensor(self, key, storage, numel, shape, strides):
        self.global_("torch._utils", "_rebuild_tensor_v2")
        self.out += b"("                           # MARK: the call's arguments
        self.out += b"("                           # MARK: the persistent id
        self.str_("storage")
        self.global_("torch", storage)
        self.str_(key)
        self.str_("cpu")
        self.int_(numel)
        self.out += b"tQ"                          # TUPLE, BINPERSID
        self.int_(0)                               # storage offset
        self.tuple_(shape)
        self.tuple_(strides)
        self.out += b"\x89"                        # NEWFALSE: requires_grad
        self.ordered_dict()                        # backward hooks
        self.out += b"tR"                          # TUPLE, REDUCE


def save_torch(state, path, archive="archive"):
    """Write ``state`` (name -> array) as a ``torch.save`` zip file at ``path``
    (atomically: a temporary file, then a rename). Arrays are written
    C-contiguous, little-endian; bfloat16 and other dtypes without a torch
    storage here raise ``TypeError``."""
    arrays = collections.OrderedDict()
    for name, value in state.items():
        array = np.asarray(getattr(value, "data", value), order="C")  # 0-d stays 0-d
        if array.dtype.name not in _STORAGES:
            raise TypeError(f"save_torch: {name} has dtype {array.dtype}, which has no torch "
                            f"storage here (supported: {', '.join(_STORAGES)})")
        arrays[str(name)] = array.astype(array.dtype.newbyteorder("<"), copy=False)
    pickle = _PickleWriter()
    pickle.ordered_dict()
    pickle.out += b"("                             # MARK: the dict's items
    for key, (name, array) in enumerate(arrays.items()):
        strides = tuple(s // array.itemsize for s in array.strides) if array.ndim else ()
        pickle.str_(name)
        pickle.tensor(str(key), _STORAGES[array.dtype.name], array.size, array.shape, strides)
    pickle.out += b"u."                            # SETITEMS, STOP
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_path(path) as tmp:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
            zf.writestr(f"{archive}/data.pkl", bytes(pickle.out))
            zf.writestr(f"{archive}/byteorder", "little")
            for key, array in enumerate(arrays.values()):
                zf.writestr(f"{archive}/data/{key}", array.tobytes())
            zf.writestr(f"{archive}/version", "3\n")
    return path
