"""``striate.io.save_torch`` and ``striate export --format pytorch``: a state
dict that PyTorch itself reads with ``torch.load(weights_only=True)``."""
import numpy as np
import pytest

import striate
from cli_runner import run
from striate.io import load_torch, save_torch

torch = pytest.importorskip("torch")


def _state():
    rng = np.random.default_rng(0)
    return {
        "conv.weight": rng.standard_normal((4, 3, 3, 3)).astype(np.float32),
        "bn.num_batches_tracked": np.array(7, dtype=np.int64),     # 0-d
        "transposed": np.arange(12.0).reshape(3, 4).T,              # not contiguous, float64
        "half": rng.standard_normal(5).astype(np.float16),
        "mask": np.array([True, False, True]),
        "large": np.array([2 ** 40, -3, 0], dtype=np.int64),
        "bytes": np.arange(250, 256, dtype=np.uint8),
        "small": np.array([-128, 127], dtype=np.int8),
    }


def test_pytorch_reads_what_save_torch_writes(tmp_path):
    state = _state()
    save_torch(state, tmp_path / "w.pth")
    loaded = torch.load(tmp_path / "w.pth", weights_only=True)
    assert list(loaded) == list(state)
    for name, array in state.items():
        assert loaded[name].shape == array.shape, name
        assert loaded[name].numpy().dtype == array.dtype, name
        np.testing.assert_array_equal(loaded[name].numpy(), array, err_msg=name)


def test_striate_reads_it_back(tmp_path):
    state = _state()
    save_torch(state, tmp_path / "w.pth")
    back = load_torch(tmp_path / "w.pth")
    assert set(back) == set(state)
    for name, array in state.items():
        assert back[name].dtype == array.dtype and back[name].shape == array.shape
        np.testing.assert_array_equal(back[name], array)


def test_a_resnet_state_dict_loads_into_a_torch_module_by_name(tmp_path):
    model = striate.models.create("resnet18", num_classes=10)
    save_torch(model.state_dict(), tmp_path / "r.pth")
    loaded = torch.load(tmp_path / "r.pth", weights_only=True)
    assert len(loaded) == len(model.state_dict())
    layer = torch.nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
    layer.load_state_dict({"weight": loaded["conv1.weight"]})
    expected = np.asarray(getattr(model.state_dict()["conv1.weight"], "data",
                                  model.state_dict()["conv1.weight"]))
    np.testing.assert_array_equal(layer.weight.detach().numpy(), expected)


def test_a_dtype_without_a_storage_is_refused(tmp_path):
    with pytest.raises(TypeError, match="complex64"):
        save_torch({"z": np.zeros(2, np.complex64)}, tmp_path / "z.pth")
    assert not (tmp_path / "z.pth").exists()


def test_export_pytorch_then_convert(capsys, tmp_path):
    out = tmp_path / "run"
    assert run(capsys, "train", "--out", out, "--limit", "64", "--epochs", "1",
               "--no-progress")[0] == 0
    code, text, err = run(capsys, "export", out, "--format", "pytorch", "--out",
                          tmp_path / "lenet5.pth")
    assert code == 0, err
    loaded = torch.load(tmp_path / "lenet5.pth", weights_only=True)
    assert loaded["features.0.weight"].shape == (6, 1, 5, 5)
    code, _, err = run(capsys, "convert", tmp_path / "lenet5.pth", tmp_path / "lenet5.safetensors")
    assert code == 0, err
