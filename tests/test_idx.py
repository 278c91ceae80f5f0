"""The IDX reader and writer: round trips, the byte layout, and every way a file can be broken."""
import gzip
import os
import struct

import numpy as np
import pytest

from striate.data import IDXError, read_idx, write_idx

FASHION = "/usr/share/datasets/fashion-mnist"


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dtype,shape", [
    (np.uint8, (7, 5, 3)),
    (np.uint8, (11,)),
    (np.int8, (4, 6)),
    (np.int16, (3, 2, 2, 2)),
    (np.int32, (5, 1)),
    (np.float32, (2, 3)),
    (np.float64, (9,)),
])
def test_round_trip(tmp_path, suffix, dtype, shape):
    rng = np.random.default_rng(0)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        array = rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)
    else:
        array = rng.standard_normal(shape).astype(dtype)
    path = tmp_path / f"a-idx{len(shape)}{suffix}"
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.shape == shape
    np.testing.assert_array_equal(back, array)
    back[...] = 0  # the result is a writable array of its own


def test_byte_layout_is_big_endian_mnist_style(tmp_path):
    """Header and payload exactly as the MNIST page describes them."""
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "img", images)
    raw = (tmp_path / "img").read_bytes()
    assert raw[:4] == bytes([0, 0, 0x08, 3])  # magic 0x00000803
    assert struct.unpack(">3I", raw[4:16]) == (2, 3, 4)
    assert raw[16:] == images.tobytes()

    values = np.array([1, -2, 70000], dtype=np.int32)
    write_idx(tmp_path / "ints", values)
    raw = (tmp_path / "ints").read_bytes()
    assert raw[:4] == bytes([0, 0, 0x0C, 1])
    assert struct.unpack(">I3i", raw[4:]) == (3, 1, -2, 70000)


def test_reads_a_file_written_by_hand(tmp_path):
    """A reference file built with struct only (not with our writer)."""
    labels = [3, 1, 4, 1, 5]
    (tmp_path / "labels").write_bytes(struct.pack(">I I 5B", 0x00000801, 5, *labels))
    np.testing.assert_array_equal(read_idx(tmp_path / "labels"), labels)
    floats = [0.5, -1.25]
    (tmp_path / "floats").write_bytes(struct.pack(">BBBB I 2f", 0, 0, 0x0D, 1, 2, *floats))
    out = read_idx(tmp_path / "floats")
    assert out.dtype == np.float32 and out.dtype.isnative
    np.testing.assert_array_equal(out, floats)


def test_gzip_output_is_deterministic_and_readable_by_gzip(tmp_path):
    array = np.arange(100, dtype=np.uint8).reshape(10, 10)
    write_idx(tmp_path / "a.gz", array)
    write_idx(tmp_path / "b.gz", array)
    assert (tmp_path / "a.gz").read_bytes() == (tmp_path / "b.gz").read_bytes()
    with gzip.open(tmp_path / "a.gz") as f:
        assert f.read()[:4] == bytes([0, 0, 8, 2])


def test_gzip_detected_by_content_not_name(tmp_path):
    array = np.arange(6, dtype=np.uint8)
    write_idx(tmp_path / "x.gz", array)
    os.rename(tmp_path / "x.gz", tmp_path / "x-no-suffix")
    np.testing.assert_array_equal(read_idx(tmp_path / "x-no-suffix"), array)


def _images_file(tmp_path, suffix=""):
    path = tmp_path / f"train-images-idx3-ubyte{suffix}"
    write_idx(path, np.random.default_rng(0).integers(0, 256, (10, 28, 28), dtype=np.uint8))
    return path


def test_truncated_raw_file_names_file_and_sizes(tmp_path):
    path = _images_file(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[:-100])
    with pytest.raises(IDXError) as info:
        read_idx(path)
    message = str(info.value)
    assert str(path) in message and "truncated" in message
    assert "7,840" in message and "7,740" in message  # expected 10*28*28 bytes, found 100 fewer
    assert "(10, 28, 28)" in message


def test_trailing_bytes_are_an_error(tmp_path):
    path = _images_file(tmp_path)
    path.write_bytes(path.read_bytes() + b"\0\0")
    with pytest.raises(IDXError, match="longer than its header"):
        read_idx(path)


def test_truncated_header(tmp_path):
    path = tmp_path / "short"
    path.write_bytes(bytes([0, 0, 8, 3]) + struct.pack(">I", 10))
    with pytest.raises(IDXError, match="truncated header"):
        read_idx(path)


def _cut_in_half(data):
    return data[: len(data) // 2]


def _zero_a_run(data):
    middle = len(data) // 2
    return data[:middle] + bytes(64) + data[middle + 64:]


def _flip_crc(data):
    return data[:-8] + bytes([data[-8] ^ 0xFF]) + data[-7:]  # the CRC-32 in the gzip trailer


@pytest.mark.parametrize("damage,word", [(_cut_in_half, "truncated"), (_zero_a_run, "corrupt"),
                                         (_flip_crc, "corrupt")])
def test_damaged_gzip_names_file(tmp_path, damage, word):
    path = _images_file(tmp_path, ".gz")
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(IDXError) as info:
        read_idx(path)
    assert str(path) in str(info.value) and word in str(info.value)


@pytest.mark.parametrize("header,pattern", [
    (bytes([1, 2, 8, 1]), "two zero bytes"),
    (bytes([0, 0, 0x07, 1]), "unknown IDX type code 0x07"),
    (bytes([0, 0, 8, 0]), "0 dimensions"),
    (b"PK\x03", "shorter than the 4-byte magic"),
])
def test_bad_magic(tmp_path, header, pattern):
    path = tmp_path / "bad"
    path.write_bytes(header + bytes(8))
    if len(header) < 4:
        path.write_bytes(header)
    with pytest.raises(IDXError, match=pattern) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_idx_error_is_a_value_error():
    assert issubclass(IDXError, ValueError)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope")


def test_write_rejects_unsupported_dtype_and_scalars(tmp_path):
    with pytest.raises(TypeError, match="uint16"):
        write_idx(tmp_path / "x", np.zeros(3, dtype=np.uint16))
    with pytest.raises(ValueError, match="dimensions"):
        write_idx(tmp_path / "x", np.float32(1.0))
    assert not os.path.exists(tmp_path / "x")


def test_write_is_atomic_no_temporary_left(tmp_path):
    write_idx(tmp_path / "a.gz", np.zeros((3, 3), dtype=np.uint8))
    assert sorted(os.listdir(tmp_path)) == ["a.gz"]
    umask = os.umask(0)
    os.umask(umask)
    # ordinary permissions, not mkstemp's private 0o600
    assert os.stat(tmp_path / "a.gz").st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.skipif(not os.path.isdir(FASHION), reason="Debian's dataset-fashion-mnist is not installed")
def test_real_fashion_mnist_labels_file():
    labels = read_idx(os.path.join(FASHION, "t10k-labels-idx1-ubyte.gz"))
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(labels), [1000] * 10)
