"""Reading and writing the IDX format of MNIST and its relatives.

The format (LeCun, Cortes and Burges, http://yann.lecun.com/exdb/mnist/) is a
header followed by the raw array, all sizes big-endian::

    bytes 0-1   zero
    byte  2     type code: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                           0x0D float32, 0x0E float64
    byte  3     number of dimensions D
    4*D bytes   the size of each dimension, uint32 big-endian
    payload     prod(sizes) items of the type, big-endian, C order

so MNIST's image file starts with the magic number 0x00000803 (uint8, 3 dims:
N, 28, 28) and its label file with 0x00000801 (uint8, 1 dim: N). Files are read
raw or gzip-compressed (recognized by the gzip magic bytes, not the name).

Every way a file can be wrong (not gzip after all, a broken gzip stream, a bad
magic number, an unknown type code, a payload shorter or longer than the header
promises) raises :class:`IDXError` naming the file and what was expected; the
reader never executes anything from the file.
"""
import gzip
import os
import struct
import zlib

from ..backend import xp

__all__ = ["IDXError", "read_idx", "write_idx"]

# type code -> big-endian dtype of the payload (the IDX specification's table).
_DTYPES = {
    0x08: xp.dtype(">u1"),
    0x09: xp.dtype(">i1"),
    0x0B: xp.dtype(">i2"),
    0x0C: xp.dtype(">i4"),
    0x0D: xp.dtype(">f4"),
    0x0E: xp.dtype(">f8"),
}
_CODES = {dtype.newbyteorder("="): code for code, dtype in _DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


class IDXError(ValueError):
    """An IDX file that cannot be read: corrupt, truncated or not IDX at all."""


def _read_bytes(path):
    """The decompressed content of ``path`` (gzip detected by its magic bytes)."""
    with open(path, "rb") as f:
        raw = f.read()
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError as error:  # the stream stops before its end marker
        raise IDXError(f"{path}: the gzip stream is truncated ({len(raw):,} compressed bytes "
                       f"end before the end of the data): {error}; download the file again") from None
    except (OSError, zlib.error) as error:  # bad CRC, bad length, invalid deflate data
        raise IDXError(f"{path}: the gzip data is corrupt ({error}); download the file again") from None


def read_idx(path):
    """Read an IDX file (raw or ``.gz``) into an array in native byte order.

    Returns a new writable array whose shape is the dimensions of the header
    and whose dtype follows the type code (uint8 for MNIST's images and labels).
    Raises :class:`IDXError` for anything malformed and ``FileNotFoundError``
    when the file is missing.
    """
    path = os.fspath(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise IDXError(f"{path}: not an IDX file: {len(data)} bytes, shorter than the 4-byte magic number")
    zero, code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0:
        raise IDXError(f"{path}: not an IDX file: magic number 0x{data[:4].hex()} "
                       "does not start with two zero bytes (expected e.g. 0x00000803 for images)")
    if code not in _DTYPES:
        known = ", ".join(f"0x{c:02X} ({d.name})" for c, d in _DTYPES.items())
        raise IDXError(f"{path}: unknown IDX type code 0x{code:02X} in magic number 0x{data[:4].hex()}; "
                       f"known codes: {known}")
    if ndim == 0:
        raise IDXError(f"{path}: the IDX header declares 0 dimensions")
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise IDXError(f"{path}: truncated header: {ndim} dimensions need {header_size} header bytes, "
                       f"the file has {len(data)}")
    shape = struct.unpack(f">{ndim}I", data[4:header_size])
    dtype = _DTYPES[code]
    expected = dtype.itemsize
    for size in shape:
        expected *= size
    actual = len(data) - header_size
    if actual != expected:
        what = "truncated" if actual < expected else "longer than its header says"
        raise IDXError(f"{path}: {what}: the header declares shape {shape} of {dtype.name} "
                       f"= {expected:,} payload bytes, but the file holds {actual:,}")
    array = xp.frombuffer(data, dtype=dtype, offset=header_size).reshape(shape)
    return array.astype(dtype.newbyteorder("="))  # a native-order, writable copy


def write_idx(path, array, compresslevel=9):
    """Write ``array`` as an IDX file, gzip-compressed when ``path`` ends in ``.gz``.

    The write is atomic (a temporary file in the same directory renamed over
    ``path``), so a crash never leaves half a file behind; the gzip header
    carries no time stamp, so the same array always gives the same bytes.
    """
    path = os.fspath(path)
    array = xp.asarray(array)
    dtype = array.dtype.newbyteorder("=")
    if dtype not in _CODES:
        names = ", ".join(d.name for d in _CODES)
        raise TypeError(f"write_idx: IDX cannot store dtype {array.dtype}; supported: {names}")
    if array.ndim == 0 or array.ndim > 255:
        raise ValueError(f"write_idx: IDX stores 1 to 255 dimensions, got shape {array.shape}")
    if any(size >= 2**32 for size in array.shape):
        raise ValueError(f"write_idx: IDX sizes are 32-bit, got shape {array.shape}")
    header = struct.pack(f">HBB{array.ndim}I", 0, _CODES[dtype], array.ndim, *array.shape)
    payload = xp.ascontiguousarray(array, dtype=_DTYPES[_CODES[dtype]]).tobytes()
    content = header + payload
    if path.endswith(".gz"):
        content = gzip.compress(content, compresslevel=compresslevel, mtime=0)
    atomic_write_bytes(path, content)


def atomic_write_bytes(path, content):
    """Write ``content`` to ``path`` through a temporary file and a rename.

    The temporary file sits in the same directory (a rename is atomic only
    within one file system) and gets the usual permissions (0o666 minus the
    umask), unlike ``tempfile.mkstemp``'s private 0o600.
    """
    tmp = os.path.join(os.path.dirname(os.path.abspath(path)),
                       f".{os.path.basename(path)}.{os.getpid()}-{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
