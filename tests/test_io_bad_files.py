"""``striate.io`` on files built to mislead: sizes checked before anything is
allocated or inflated, and one clear error naming what is wrong with each."""
import os
import pickle
import time
import zipfile

import numpy as np
import pytest

import striate.io as sio
from striate.io import CheckpointFileError
from striate.limits import ENV_VAR, SizeLimitError, check_bytes, max_bytes

torch = pytest.importorskip("torch")


@pytest.fixture
def good(tmp_path):
    path = tmp_path / "good.pt"
    torch.save({"w": torch.arange(10.0)}, path)
    return path


def rewrite(src, dst, change):
    """Copy archive ``src`` to ``dst``, each member's bytes through
    ``change(name, data)`` (which may return a list of (name, data))."""
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            out = change(item.filename, old.read(item))
            for name, data in (out if isinstance(out, list) else [(item.filename, out)]):
                new.writestr(name, data, zipfile.ZIP_DEFLATED)
    return dst


def torch_zip(path, obj):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps(obj, protocol=2))
        archive.writestr("archive/byteorder", "little")
    return path


def test_stride_zero_tensor_of_2_to_the_40_elements_is_refused_before_allocating(tmp_path):
    path = tmp_path / "huge.pt"
    torch.save({"w": torch.ones(1).expand(2 ** 40)}, path)  # one stored element
    with pytest.raises(CheckpointFileError, match=r"size \(1099511627776,\) .* would need 4.0 "
                                                  rf"TiB, more than the limit .*{ENV_VAR}"):
        sio.load_torch(path)


def test_member_that_inflates_beyond_its_storage_is_not_inflated(good, tmp_path):
    """A deflated member far larger than the 10 elements its storage declares
    (zeros deflate a thousandfold): refused from the sizes alone, at once."""
    bomb = rewrite(good, tmp_path / "bomb.pt",
                   lambda name, data: b"\0" * (256 << 20) if name.endswith("data/0") else data)
    start = time.perf_counter()
    with pytest.raises(CheckpointFileError, match=r"member good/data/0 declares 256.0 MiB .* its "
                                                  r"storage holds 10 float32 element\(s\) "
                                                  r"\(40 bytes\).*was not inflated"):
        sio.load_torch(bomb)
    assert time.perf_counter() - start < 5  # inflating 256 MiB is what would take time


def test_storage_over_the_limit_is_refused_before_inflating(good, monkeypatch):
    monkeypatch.setenv(ENV_VAR, "16")
    with pytest.raises(CheckpointFileError, match=r"storage good/data/0 would need 40 B, more "
                                                  rf"than the limit of 16 B; .*{ENV_VAR}"):
        sio.load_torch(good)
    monkeypatch.setenv(ENV_VAR, "1K")
    assert sio.load_torch(good)["w"].shape == (10,)


def test_the_limit_variable_is_checked(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "16G")
    assert max_bytes() == 16 << 30
    monkeypatch.setenv(ENV_VAR, "lots")
    with pytest.raises(SizeLimitError, match=f"{ENV_VAR}='lots' is not a size"):
        check_bytes(1, "x", "op")


@pytest.mark.parametrize("content,shown", [(b"\xff\xfe\x00", r"b'\\xff\\xfe\\x00'"),
                                           (b"middle", "b'middle'")])
def test_byte_order_member_that_is_not_little_or_big(good, tmp_path, content, shown):
    bad = rewrite(good, tmp_path / "order.pt",
                  lambda name, data: content if name.endswith("byteorder") else data)
    with pytest.raises(CheckpointFileError, match=rf"member good/byteorder holds {shown}, not "
                                                  r"'little' or 'big'"):
        sio.load_torch(bad)


def test_two_data_pkl_members(good, tmp_path):
    bad = rewrite(good, tmp_path / "two.pt", lambda name, data: (
        [(name, data), ("other/data.pkl", data)] if name.endswith("data.pkl") else data))
    with pytest.raises(CheckpointFileError, match=r"holds 2 data.pkl members \(good/data.pkl, "
                                                  r"other/data.pkl\)"):
        sio.load_torch(bad)


def test_self_referencing_pickle(tmp_path):
    loop = {}
    loop["state_dict"] = loop
    with pytest.raises(CheckpointFileError, match="'state_dict' of the stored dict contains the "
                                                  "dict itself"):
        sio.load_torch(torch_zip(tmp_path / "loop.pt", loop))


def test_bad_crc(good, tmp_path):
    raw = bytearray(good.read_bytes())
    at = raw.find(np.float32(1.0).tobytes())  # inside the stored data/0 member
    raw[at + 3] ^= 1
    bad = tmp_path / "crc.pt"
    bad.write_bytes(bytes(raw))
    with pytest.raises(CheckpointFileError, match=r"Bad CRC-32 for file 'good/data/0'.*does not "
                                                  r"match its checksum"):
        sio.load_torch(bad)


def test_safetensors_file_given_to_load_torch(tmp_path):
    path = tmp_path / "w.safetensors"
    sio.save_safetensors({"w": np.zeros(3, np.float32)}, path)
    with pytest.raises(CheckpointFileError, match=r"is a safetensors file, not a torch.save file;"
                                                  r" read it with striate.io.load_safetensors"):
        sio.load_torch(path)
    assert sio.load(path)["w"].shape == (3,)


@pytest.mark.parametrize("function", [sio.load_torch, sio.load, sio.read_torch])
def test_directory_missing_file_and_non_path(tmp_path, function):
    name = function.__name__
    with pytest.raises(CheckpointFileError, match=r"is a directory; give the weights file"):
        function(tmp_path)
    with pytest.raises(CheckpointFileError, match=r"missing.pt: no such file"):
        function(tmp_path / "missing.pt")
    for bad in (5, None, b"w.pt"):
        with pytest.raises(TypeError, match=rf"^{name}: expected the path of a weights file"):
            function(bad)
    assert not os.path.exists("5")
