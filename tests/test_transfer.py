"""Transfer learning: loading by name, freezing (frozen parameters and batch-norm
statistics bit-identical after fine-tuning), new heads, the command line
(``train --init-from``, ``convert``, ``export``) and its errors. The worked
example (examples/14) is checked, over its seeds, in test_examples.py."""
import os

import numpy as np
import pytest
from cli_runner import run

import striate
from striate import optim
from striate.data import DataLoader, TensorDataset
from striate.io import save_safetensors
from striate.train import Trainer, load_checkpoint, save_checkpoint
from striate.transfer import (LoadReport, TransferError, count_parameters, find_head, freeze,
                              load_matching, parameter_groups, replace_head)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))




def _small_resnet(classes=3):
    return striate.models.create("resnet18", width=0.0625, small_input=True, num_classes=classes,
                                 in_channels=1)


def _fine_tune(model, steps=3):
    rng = np.random.default_rng(0)
    data = TensorDataset(rng.standard_normal((steps * 8, 1, 8, 8)).astype(np.float32),
                         rng.integers(0, 3, steps * 8))
    optimizer = optim.SGD(parameter_groups(model, lr=0.1, lr_head=0.5), lr=0.1, momentum=0.9,
                          weight_decay=1e-3)
    Trainer(model, optimizer, DataLoader(data, batch_size=8), progress=False, plot=False,
            log=None).fit(1)


# --------------------------------------------------------------------------- freezing


def test_frozen_parameters_and_batch_norm_statistics_bit_identical():
    model = _small_resnet()
    frozen = freeze(model, "conv1,bn1,layer1")
    assert frozen and all(n.split(".")[0] in ("conv1", "bn1", "layer1") for n in frozen)
    before = {k: v.copy() for k, v in model.state_dict().items()}
    model.train()
    assert model.bn1.training is False and model.layer1[0].bn1.training is False
    assert model.layer2[0].bn1.training is True
    _fine_tune(model)
    after = model.state_dict()
    frozen_layers = ("conv1.", "bn1.", "layer1.")
    for name in before:
        if name.startswith(frozen_layers):   # weights and running statistics alike
            assert np.array_equal(before[name], after[name]), name
            assert before[name].tobytes() == after[name].tobytes(), name
    changed = [n for n in before if not n.startswith(frozen_layers)
               and not np.array_equal(before[n], after[n])]
    assert "fc.weight" in changed and "layer2.0.bn1.running_mean" in changed
    assert "layer4.1.conv2.weight" in changed


def test_all_but_head_and_counts():
    model = striate.models.create("lenet5")
    freeze(model, ["all-but-head"])
    trainable, frozen = count_parameters(model)
    assert trainable == 84 * 10 + 10
    assert frozen == sum(p.data.size for p in model.parameters()) - trainable
    assert striate.summary(model, (1, 28, 28)).trainable_params == trainable


def test_freeze_pattern_matching_nothing_is_an_error_and_freezes_nothing():
    model = striate.models.create("lenet5")
    with pytest.raises(TransferError, match=r"'layer9' matches no parameter.*features, classifier"):
        freeze(model, ["features.*", "layer9"])
    assert all(p.requires_grad for p in model.parameters())


def test_replace_head_changes_only_the_classifier():
    model = _small_resnet(classes=3)
    assert replace_head(model, 7) == "fc"
    with striate.no_grad():
        assert model(striate.Tensor(np.zeros((2, 1, 8, 8), np.float32))).shape == (2, 7)
    unet = striate.models.create("unet", width=0.0625, padded=True)
    assert find_head(unet) == "head"
    replace_head(unet, 4)
    with striate.no_grad():
        assert unet(striate.Tensor(np.zeros((1, 1, 16, 16), np.float32))).shape == (1, 4, 16, 16)


# --------------------------------------------------------------------------- loading by name


def test_load_matching_reports_loaded_new_and_skipped(capsys):
    source = striate.models.create("lenet5", num_classes=10)
    target = striate.models.create("lenet5", num_classes=5)
    report = load_matching(target, source.state_dict())
    assert isinstance(report, LoadReport)
    assert report.skipped == [("classifier.5.weight", (10, 84), (5, 84)),
                              ("classifier.5.bias", (10,), (5,))]
    assert report.new == [] and len(report.loaded) == 8
    np.testing.assert_array_equal(target.features[0].weight.data, source.features[0].weight.data)
    assert "skipped classifier.5.weight: checkpoint (10, 84), model (5, 84)" in capsys.readouterr().out
    with pytest.raises(TransferError, match="shapes differ.*classifier.5.weight"):
        load_matching(striate.models.create("lenet5", num_classes=5), source.state_dict(),
                      allow_shape_change=False)


def test_load_matching_with_no_common_name_lists_missing_and_unexpected():
    model = striate.models.create("lenet5")
    before = {k: v.copy() for k, v in model.state_dict().items()}
    with pytest.raises(TransferError, match=r"missing keys: features.0.weight.*\n.*unexpected "
                                            r"keys: conv1.weight"):
        load_matching(model, _small_resnet().state_dict())
    assert all(np.array_equal(before[k], v) for k, v in model.state_dict().items())


# --------------------------------------------------------------------------- command line


@pytest.fixture
def pretrained_file(tmp_path):
    """A LeNet-5 state dict with 5 classes, as PyTorch would save it (or safetensors)."""
    model = striate.models.create("lenet5", num_classes=5)
    state = model.state_dict()
    torch = pytest.importorskip("torch")
    path = tmp_path / "pretrained.pth"
    torch.save({"state_dict": {f"module.{k}": torch.from_numpy(v) for k, v in state.items()}},
               path)
    return path, state


def test_train_init_from_torch_file_freeze_new_head(capsys, tmp_path, pretrained_file):
    path, state = pretrained_file
    out = tmp_path / "run"
    code, stdout, err = run(capsys, "train", "--init-from", path, "--freeze", "features.*",
                            "--new-head", "--lr-head", "0.1", "--epochs", "2", "--stop-after", "1",
                            "--limit", "64", "--batch-size", "32", "--out", out, "--no-progress")
    assert code == 0, err
    assert "loaded 8 tensors from the checkpoint, 2 new" in stdout
    assert "froze 4 parameter tensors" in stdout and "2,572 frozen" in stdout
    trained = load_checkpoint(out).model_state
    for name in ("features.0.weight", "features.0.bias", "features.3.weight", "features.3.bias"):
        assert trained[name].tobytes() == state[name].tobytes()
    assert not np.array_equal(trained["classifier.1.weight"], state["classifier.1.weight"])
    assert trained["classifier.5.weight"].shape == (10, 84)
    # resume rebuilds the same frozen model and optimizer groups
    code, stdout, err = run(capsys, "train", "--resume", out, "--no-progress")
    assert code == 0, err
    resumed = load_checkpoint(out).model_state
    assert resumed["features.0.weight"].tobytes() == state["features.0.weight"].tobytes()


def test_train_init_from_run_directory(capsys, tmp_path):
    model = striate.models.create("lenet5")
    save_checkpoint(tmp_path / "source" / "checkpoint", model, epoch=1)
    code, stdout, err = run(capsys, "train", "--init-from", tmp_path / "source", "--freeze",
                            "all-but-head", "--epochs", "1", "--limit", "32", "--out",
                            tmp_path / "run", "--no-progress")
    assert code == 0, err
    assert "loaded 10 tensors" in stdout and "850 trainable" in stdout


@pytest.mark.parametrize("case", ["shape", "keys", "pattern", "no-init"])
def test_train_transfer_errors_write_nothing(capsys, tmp_path, pretrained_file, case):
    path, _ = pretrained_file
    resnet = tmp_path / "resnet.safetensors"
    save_safetensors(_small_resnet().state_dict(), resnet)
    args = {"shape": ["--init-from", path],                     # 5-class head, 10-class data
            "keys": ["--init-from", resnet],
            "pattern": ["--init-from", path, "--new-head", "--freeze", "layer1"],
            "no-init": ["--freeze", "features.*"]}[case]
    expected = {"shape": ["classifier.5.weight: checkpoint (5, 84), model (10, 84)", "--new-head"],
                "keys": ["missing keys: features.0.weight", "unexpected keys: bn1.", "layer1.0.bn1."],
                "pattern": ["'layer1' matches no parameter", "features, classifier"],
                "no-init": ["--freeze need(s) --init-from"]}[case]
    out = tmp_path / "run"
    code, _, err = run(capsys, "train", *args, "--epochs", "1", "--limit", "32", "--out", out,
                       "--no-progress")
    assert code == 1 and "Traceback" not in err
    for fragment in expected:
        assert fragment in err, err
    assert not out.exists()


def test_convert_and_its_errors(capsys, tmp_path, pretrained_file):
    path, state = pretrained_file
    target = tmp_path / "w.safetensors"
    code, stdout, err = run(capsys, "convert", path, target)
    assert code == 0, err
    back = striate.io.load(target)
    assert set(back) == set(state)
    for name, value in state.items():
        assert back[name].tobytes() == value.tobytes()
    code, _, err = run(capsys, "convert", path, target)
    assert code == 1 and "--overwrite" in err
    truncated = tmp_path / "cut.pth"
    truncated.write_bytes(path.read_bytes()[:300])
    code, _, err = run(capsys, "convert", truncated, tmp_path / "cut.safetensors")
    assert code == 1 and "truncated or damaged" in err and "Traceback" not in err
    assert not (tmp_path / "cut.safetensors").exists()
    torch = pytest.importorskip("torch")
    legacy = tmp_path / "legacy.pt"
    torch.save({"w": torch.ones(2)}, legacy, _use_new_zipfile_serialization=False)
    code, _, err = run(capsys, "convert", legacy, tmp_path / "legacy.safetensors")
    assert code == 1 and "Re-save it with a current PyTorch" in err
    assert not (tmp_path / "legacy.safetensors").exists()


def test_export_command(capsys, tmp_path):
    onnx = pytest.importorskip("onnx", reason="needs the onnx package (striate[onnx])")
    model = striate.models.create("lenet5")
    run_dir = tmp_path / "run"
    save_checkpoint(run_dir / "checkpoint", model, epoch=1,
                    meta={"model": {"name": "lenet5", "kwargs": {}}, "input_shape": [1, 28, 28]})
    code, stdout, err = run(capsys, "export", run_dir, "--format", "onnx")
    assert code == 0, err
    onnx.checker.check_model(onnx.load(str(run_dir / "model.onnx")), full_check=True)
    code, _, err = run(capsys, "export", run_dir)
    assert code == 1 and "--overwrite" in err


@pytest.mark.parametrize("command", ["convert", "export", "train"])
def test_new_options_have_help(capsys, command):
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    for option in {"convert": ["--key", "--keep-prefix", "--overwrite"],
                   "export": ["--format", "--out", "--opset", "--static-batch"],
                   "train": ["--init-from", "--init-key", "--freeze", "--new-head",
                             "--lr-head"]}[command]:
        assert option in out
