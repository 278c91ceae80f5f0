"""PyTorch checkpoints without PyTorch: files written here by the real
``torch.save`` are read by ``striate.io`` in a subprocess that never imports
torch, and must give torch's values bit for bit (and ResNet-18's logits);
pickles that name any other global are refused without running anything."""
import json
import os
import pickle
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

import striate.io as sio
from striate.io import CheckpointFileError, UnsafeCheckpointError

torch = pytest.importorskip("torch")
nn = torch.nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --------------------------------------------------------------------------- a torchvision ResNet-18, in torch


class TorchBasicBlock(nn.Module):
    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False),
                                            nn.BatchNorm2d(planes))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class TorchResNet18(nn.Module):
    """torchvision's resnet18 layout (same module names, so the same state_dict keys)."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        inplanes = 64
        for i, planes in enumerate((64, 128, 256, 512), start=1):
            stride = 1 if i == 1 else 2
            setattr(self, f"layer{i}", nn.Sequential(TorchBasicBlock(inplanes, planes, stride),
                                                     TorchBasicBlock(planes, planes)))
            inplanes = planes
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def _torch_resnet18():
    torch.manual_seed(0)
    model = TorchResNet18(num_classes=10)
    with torch.no_grad():  # non-trivial running statistics, so eval mode is really tested
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
                module.num_batches_tracked.fill_(7)
    return model.eval()


# --------------------------------------------------------------------------- files written by torch.save


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """The files, the values torch reads back from them, and ResNet-18's torch logits."""
    root = tmp_path_factory.mktemp("torch_files")
    model = _torch_resnet18()
    state = model.state_dict()
    torch.save(state, root / "resnet18.pth")
    torch.save({"epoch": 3, "arch": "resnet18",
                "state_dict": {f"module.{k}": v for k, v in state.items()}},
               root / "wrapped.pth")
    base = torch.arange(24, dtype=torch.float32) * 0.5 - 3
    tensors = {
        "base": base,
        "strided": base[2:20].view(3, 6)[:, ::2],   # offset 2, strides (6, 2), shared storage
        "transposed": base.view(4, 6).t(),           # strides (1, 6)
        "half": torch.linspace(-2, 2, 7, dtype=torch.float16),
        "bfloat": torch.tensor([1.5, -3.25, 1e30, 2 ** -20], dtype=torch.bfloat16),
        "long": torch.tensor([[-(2 ** 40), 5], [7, 2 ** 62]], dtype=torch.int64),
        "uint8": torch.arange(5, dtype=torch.uint8),
        "flag": torch.tensor([True, False]),
        "scalar": torch.tensor(2.5, dtype=torch.float64),
    }
    torch.save(tensors, root / "tensors.bin")
    expected = {k: (v.float() if v.dtype == torch.bfloat16 else v).numpy().copy()
                for k, v in tensors.items()}
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        logits = model(x).numpy()
    np.save(root / "input.npy", x.numpy())
    return root, state, expected, logits


_READER = textwrap.dedent("""
    import json, sys
    import numpy as np
    import striate, striate.io
    root = sys.argv[1]
    out = {}
    resnet = striate.io.load_torch(root + "/resnet18.pth")
    wrapped = striate.io.load(root + "/wrapped.pth")          # by content, not extension
    tensors = striate.io.load(root + "/tensors.bin")
    np.savez(root + "/resnet.npz", **resnet)
    np.savez(root + "/wrapped.npz", **wrapped)
    np.savez(root + "/tensors.npz", **tensors)
    model = striate.models.create("resnet18", num_classes=10)
    model.load_state_dict(resnet)
    model.eval()
    with striate.no_grad():
        logits = model(striate.Tensor(np.load(root + "/input.npy"))).data
    np.save(root + "/striate_logits.npy", logits)
    print(json.dumps({"torch_imported": "torch" in sys.modules,
                      "heavy": sorted(m for m in sys.modules if m.split(".")[0] == "torch")}))
""")


@pytest.fixture(scope="module")
def loaded(checkpoints):
    """Everything ``striate.io`` read, in a process that never imported torch."""
    root = checkpoints[0]
    env = dict(os.environ, PYTHONPATH=ROOT)
    result = subprocess.run([sys.executable, "-W", "ignore", "-c", _READER, str(root)],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    arrays = {name: dict(np.load(root / f"{name}.npz")) for name in ("resnet", "wrapped", "tensors")}
    return report, arrays, np.load(root / "striate_logits.npy")


def test_reader_process_never_imports_torch(loaded):
    report, _, _ = loaded
    assert report["torch_imported"] is False, report["heavy"]


def test_resnet18_state_dict_values_identical(checkpoints, loaded):
    _, state, _, _ = checkpoints
    arrays = loaded[1]["resnet"]
    assert list(arrays) == list(state)   # same names, same order
    for name, value in state.items():
        assert arrays[name].dtype == value.numpy().dtype, name
        np.testing.assert_array_equal(arrays[name], value.numpy(), err_msg=name)


def test_wrapped_state_dict_with_module_prefix(checkpoints, loaded):
    _, state, _, _ = checkpoints
    arrays = loaded[1]["wrapped"]
    assert set(arrays) == set(state)     # "state_dict" unwrapped, "module." stripped
    for name, value in state.items():
        np.testing.assert_array_equal(arrays[name], value.numpy(), err_msg=name)


def test_strided_views_and_dtypes_identical(checkpoints, loaded):
    _, _, expected, _ = checkpoints
    arrays = loaded[1]["tensors"]
    assert set(arrays) == set(expected)
    for name, value in expected.items():
        assert arrays[name].dtype == value.dtype, name
        assert arrays[name].shape == value.shape, name
        np.testing.assert_array_equal(arrays[name], value, err_msg=name)
    assert arrays["bfloat"].dtype == np.float32


def test_resnet18_logits_match_torch(checkpoints, loaded):
    torch_logits = checkpoints[3]
    striate_logits = loaded[2]
    scale = np.abs(torch_logits).max()
    assert np.abs(striate_logits - torch_logits).max() <= 1e-4 * scale


def test_shared_storage_read_once_arrays_independent(checkpoints):
    root = checkpoints[0]
    with pytest.warns(UserWarning, match="bfloat16"):
        arrays = sio.load_torch(root / "tensors.bin")
    arrays["base"][2] = 100.0   # a copy per tensor: writing one leaves the other alone
    assert arrays["strided"][0, 0] == -2.0
    assert arrays["strided"].flags.c_contiguous and arrays["strided"].flags.writeable


def test_key_option_and_prefix_choice(checkpoints):
    root = checkpoints[0]
    kept = sio.load_torch(root / "wrapped.pth", key="state_dict", strip_prefix=False)
    assert all(name.startswith("module.") for name in kept)
    with pytest.raises(CheckpointFileError, match="no entry 'weights'.*'epoch'"):
        sio.load_torch(root / "wrapped.pth", key="weights")
    with pytest.raises(CheckpointFileError, match="'arch' is not a dict of tensors"):
        sio.load_torch(root / "wrapped.pth", key="arch")


def test_safetensors_round_trip_and_detection(tmp_path):
    arrays = {"a": np.arange(12, dtype=np.float32).reshape(3, 4).T,   # not contiguous
              "b": np.array([1, -2], dtype=np.int64)}
    path = tmp_path / "w.pth"   # the extension lies: content decides
    sio.save_safetensors(arrays, path)
    assert sio.detect_format(path) == "safetensors"
    back = sio.load(path)
    for name, value in arrays.items():
        np.testing.assert_array_equal(back[name], value)
    assert [p.name for p in tmp_path.iterdir()] == ["w.pth"]   # no temporary left behind


# --------------------------------------------------------------------------- malicious pickles


def _zip_with_pickle(path, payload):
    """A torch.save-shaped archive whose data.pkl is ``payload``."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", payload)
        archive.writestr("archive/byteorder", "little")
        archive.writestr("archive/version", "3\n")
    return path


class _Payload:
    def __init__(self, function, argument):
        self.function, self.argument = function, argument

    def __reduce__(self):
        return self.function, (self.argument,)


def _malicious_files(tmp_path, marker):
    touch = f"open({str(marker)!r}, 'w').write('pwned')"
    return {
        "os.system": pickle.dumps(_Payload(os.system, f"touch {marker}"), protocol=2),
        "builtins.eval": pickle.dumps(_Payload(eval, touch), protocol=2),
        # a real-looking state dict with the call hidden in one entry
        "builtins.exec": pickle.dumps({"weight": [1.0, 2.0], "extra": _Payload(exec, touch)},
                                      protocol=2),
    }


@pytest.mark.parametrize("kind", ["os.system", "builtins.eval", "builtins.exec"])
def test_malicious_pickle_refused_and_not_executed(tmp_path, kind):
    marker = tmp_path / "marker"
    path = _zip_with_pickle(tmp_path / "evil.pt", _malicious_files(tmp_path, marker)[kind])
    with pytest.raises(UnsafeCheckpointError) as error:
        sio.load(path)
    message = str(error.value)
    assert "refused" in message and "nothing from the file was executed" in message
    assert kind.split(".")[1] in message          # the global is named
    assert not marker.exists()
    # the unpickler is really what stops it: plain pickle would have run the payload
    pickle.loads(zipfile.ZipFile(path).read("archive/data.pkl"))
    assert marker.exists()


def test_whole_module_pickle_refused(tmp_path):
    path = tmp_path / "model.pt"
    torch.save(nn.Linear(2, 3), path)   # pickles the class, not just tensors
    with pytest.raises(UnsafeCheckpointError, match="torch.nn.modules.linear.Linear"):
        sio.load_torch(path)


# --------------------------------------------------------------------------- damaged files


def test_truncated_zip_clear_error(checkpoints, tmp_path):
    data = (checkpoints[0] / "resnet18.pth").read_bytes()
    path = tmp_path / "truncated.pth"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointFileError, match="truncated or damaged"):
        sio.load(path)


def test_legacy_format_asks_to_resave(tmp_path):
    path = tmp_path / "legacy.pt"
    torch.save({"w": torch.ones(2)}, path, _use_new_zipfile_serialization=False)
    with pytest.raises(CheckpointFileError, match="legacy.*Re-save it with a current PyTorch"):
        sio.load(path)


def test_storage_too_short_for_its_tensor(tmp_path):
    good = tmp_path / "good.pt"
    torch.save({"w": torch.arange(10.0)}, good)
    bad = tmp_path / "bad.pt"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            dst.writestr(item, data[:16] if item.filename.endswith("data/0") else data)
    with pytest.raises(CheckpointFileError, match="reaches element 9 of storage data/0, which has 4"):
        sio.load_torch(bad)


def test_unknown_format_and_empty_file(tmp_path):
    (tmp_path / "x.pt").write_bytes(b"hello world, not weights")
    with pytest.raises(CheckpointFileError, match="neither a torch.save zip file nor a safetensors"):
        sio.load(tmp_path / "x.pt")
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(CheckpointFileError, match="empty"):
        sio.load(tmp_path / "empty.pt")
