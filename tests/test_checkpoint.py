"""Checkpoints: the state round trip, atomic writing under simulated crashes,
clear errors for damaged files and other architectures, and loading in a new
process with identical predictions."""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import striate
import striate.nn as nn
import striate.optim as optim
from striate.train import checkpoint as ckpt
from striate.train.checkpoint import (CheckpointError, flatten_state, load_checkpoint,
                                      save_checkpoint, unflatten_state)


def small_model(hidden=8):
    return nn.Sequential(nn.Flatten(), nn.Linear(16, hidden), nn.ReLU(), nn.Linear(hidden, 3))


def trained_state(model):
    """An optimizer and scheduler with non-trivial state after two steps."""
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    x = striate.tensor(np.random.randn(6, 1, 4, 4).astype(np.float32))
    y = striate.tensor(np.array([0, 1, 2, 0, 1, 2]))
    for _ in range(2):
        optimizer.zero_grad()
        striate.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
        scheduler.step()
    return optimizer, scheduler


def assert_same_state(a, b):
    assert sorted(a) == sorted(b)  # safetensors returns keys sorted
    for key in a:
        assert np.array_equal(np.asarray(a[key]), np.asarray(b[key])), key
        assert np.asarray(a[key]).dtype == np.asarray(b[key]).dtype, key


# --------------------------------------------------------------------------- flatten / unflatten


def test_flatten_round_trip_keeps_int_keys_tuples_arrays_and_scalar_dtypes():
    state = {
        "state": {0: {"momentum_buffer": np.arange(6, dtype=np.float32).reshape(2, 3).T},
                  1: {"step": np.float32(3.0), "exp_avg": np.ones(2)}},
        "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0, 1], "nesterov": True,
                          "name": None}],
        "weird": {"__array__": 1},  # a user key that looks like our tags
    }
    arrays = {}
    encoded = flatten_state(state, arrays)
    text = json.dumps(encoded)  # plain JSON, no pickle
    decoded = unflatten_state(json.loads(text), arrays)
    assert set(decoded["state"]) == {0, 1}
    assert np.array_equal(decoded["state"][0]["momentum_buffer"],
                          np.arange(6, dtype=np.float32).reshape(2, 3).T)
    assert decoded["state"][0]["momentum_buffer"].flags.writeable
    assert isinstance(decoded["state"][1]["step"], np.float32)
    assert decoded["param_groups"][0]["betas"] == (0.9, 0.999)
    assert decoded["param_groups"][0]["name"] is None
    assert decoded["weird"] == {"__array__": 1}


def test_flatten_rejects_objects_it_cannot_store():
    with pytest.raises(TypeError, match="cannot store a object"):
        flatten_state({"x": object()}, {})


# --------------------------------------------------------------------------- save / load


def test_save_and_load_restore_model_optimizer_scheduler_and_rng(tmp_path):
    model = small_model()
    optimizer, scheduler = trained_state(model)
    striate.manual_seed(7)
    striate.random.generator().random(3)
    rng_state = striate.get_rng_state()
    path = save_checkpoint(tmp_path / "checkpoint", model, optimizer, scheduler, epoch=2,
                           meta={"model": {"name": "custom"}, "classes": ["a", "b", "c"]})
    assert sorted(os.listdir(path)) == sorted([ckpt.MODEL_FILE, ckpt.STATE_FILE, ckpt.JSON_FILE])
    expected_next = striate.random.generator().random(3)

    striate.manual_seed(99)
    other = small_model()
    other_optimizer = optim.SGD(other.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    other_scheduler = optim.lr_scheduler.StepLR(other_optimizer, step_size=1, gamma=0.5)
    loaded = load_checkpoint(tmp_path)  # the run directory works too
    loaded.load_model(other)
    loaded.restore_training(other_optimizer, other_scheduler)
    assert loaded.epoch == 2 and loaded.meta["classes"] == ["a", "b", "c"]
    assert_same_state(model.state_dict(), other.state_dict())
    assert other_optimizer.param_groups[0]["lr"] == optimizer.param_groups[0]["lr"]
    assert other_scheduler.state_dict() == scheduler.state_dict()
    for i, state in optimizer.state_dict()["state"].items():
        assert np.array_equal(state["momentum_buffer"],
                              other_optimizer.state_dict()["state"][i]["momentum_buffer"])
    assert np.array_equal(striate.random.generator().random(3), expected_next)
    assert striate.get_rng_state() != rng_state  # the generator moved on from the restored state


def test_non_contiguous_weights_are_saved_correctly(tmp_path):
    model = small_model()
    weight = model[1].weight
    weight.data = np.asfortranarray(weight.data)  # safetensors 0.8 would scramble this
    save_checkpoint(tmp_path / "checkpoint", model, epoch=0)
    assert np.array_equal(load_checkpoint(tmp_path).model_state["1.weight"], weight.data)


def test_other_architecture_gives_a_clear_error(tmp_path):
    save_checkpoint(tmp_path / "checkpoint", small_model(hidden=8), epoch=1,
                    meta={"model": {"name": "mlp8"}})
    wider = small_model(hidden=5)
    before = {k: v.copy() for k, v in wider.state_dict().items()}
    with pytest.raises(CheckpointError, match=r"(?s)saved from mlp8.*1\.weight.*\(8, 16\).*\(5, 16\)"):
        load_checkpoint(tmp_path).load_model(wider)
    assert_same_state(before, wider.state_dict())  # nothing was loaded
    with pytest.raises(CheckpointError, match="missing keys: 0.weight"):
        load_checkpoint(tmp_path).load_model(nn.Sequential(nn.Linear(16, 8), small_model()))


@pytest.mark.parametrize("damage", ["truncate_model", "garbage_json", "delete_state"])
def test_damaged_checkpoint_gives_a_clear_error(tmp_path, damage):
    path = save_checkpoint(tmp_path / "checkpoint", small_model(), epoch=1)
    if damage == "truncate_model":
        model_file = os.path.join(path, ckpt.MODEL_FILE)
        with open(model_file, "r+b") as f:
            f.truncate(os.path.getsize(model_file) // 2)
        match = "not a readable safetensors file"
    elif damage == "garbage_json":
        with open(os.path.join(path, ckpt.JSON_FILE), "w") as f:
            f.write("{not json")
        match = "not readable JSON"
    else:
        os.remove(os.path.join(path, ckpt.STATE_FILE))
        match = "no checkpoint at"
    with pytest.raises(CheckpointError, match=match):
        load_checkpoint(path)


def test_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nowhere")


# --------------------------------------------------------------------------- atomic writing


def _listing(directory):
    return sorted(os.listdir(directory))


def _saved_at_epoch_1_then_changed(run_dir):
    """A model whose weights differ from those of the checkpoint of epoch 1
    just saved in ``run_dir``; returns the model and the saved weights."""
    model = small_model()
    old_weights = model.state_dict()
    save_checkpoint(run_dir / "checkpoint", model, epoch=1)
    for p in model.parameters():
        p.data += 1.0
    return model, old_weights


def test_crash_while_writing_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    model, old_weights = _saved_at_epoch_1_then_changed(tmp_path)

    real_save = ckpt._safetensors_save

    def crash_half_way(arrays, path, metadata=None):
        real_save(arrays, path, metadata)
        if path.endswith(ckpt.STATE_FILE):
            with open(path, "r+b") as f:  # a torn write, then the process "dies"
                f.truncate(10)
            raise OSError("simulated crash: disk full")

    monkeypatch.setattr(ckpt, "_safetensors_save", crash_half_way)
    with pytest.raises(OSError, match="simulated crash"):
        save_checkpoint(tmp_path / "checkpoint", model, epoch=2)
    assert _listing(tmp_path) == ["checkpoint"]  # no temporary directory left behind
    loaded = load_checkpoint(tmp_path)
    assert loaded.epoch == 1
    assert_same_state(old_weights, loaded.model_state)


def test_crash_between_the_renames_is_recovered(tmp_path, monkeypatch):
    model, old_weights = _saved_at_epoch_1_then_changed(tmp_path)

    real_replace = os.replace
    calls = []

    def die_on_second_rename(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:  # old moved aside, new not yet in place
            raise KeyboardInterrupt("simulated kill")
        real_replace(src, dst)

    monkeypatch.setattr(ckpt.os, "replace", die_on_second_rename)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path / "checkpoint", model, epoch=2)
    monkeypatch.setattr(ckpt.os, "replace", real_replace)
    assert _listing(tmp_path) == [".checkpoint.old"]  # only the complete old one
    loaded = load_checkpoint(tmp_path)  # puts it back
    assert loaded.epoch == 1
    assert_same_state(old_weights, loaded.model_state)
    assert _listing(tmp_path) == ["checkpoint"]
    save_checkpoint(tmp_path / "checkpoint", model, epoch=2)  # and saving works again
    assert load_checkpoint(tmp_path).epoch == 2
    assert _listing(tmp_path) == ["checkpoint"]


def test_stale_temporary_directories_are_cleaned_on_the_next_save(tmp_path):
    os.makedirs(tmp_path / ".checkpoint.tmp-killed")
    (tmp_path / ".checkpoint.tmp-killed" / ckpt.MODEL_FILE).write_bytes(b"partial")
    save_checkpoint(tmp_path / "checkpoint", small_model(), epoch=1)
    assert _listing(tmp_path) == ["checkpoint"]


# --------------------------------------------------------------------------- a new process


NEW_PROCESS = textwrap.dedent("""
    import sys, json
    import numpy as np
    import striate
    from striate.train import load_checkpoint
    model = load_checkpoint(sys.argv[1]).build_model()
    x = np.load(sys.argv[2], allow_pickle=False)
    with striate.no_grad():
        out = model(striate.tensor(x)).data
    np.save(sys.argv[3], out, allow_pickle=False)
""")


def test_saved_model_gives_identical_predictions_in_a_new_process(tmp_path):
    from striate import models

    model = models.create("lenet5", num_classes=10, in_channels=1)
    # Move the weights away from their initialization, so the test is not trivial.
    for p in model.parameters():
        p.data += np.random.randn(*p.shape).astype(p.dtype) * 0.01
    model.eval()
    save_checkpoint(tmp_path / "checkpoint", model, epoch=3,
                    meta={"model": {"name": "lenet5", "kwargs": {"num_classes": 10,
                                                                 "in_channels": 1}}})
    x = np.random.randn(5, 1, 28, 28).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    with striate.no_grad():
        expected = model(striate.tensor(x)).data
    subprocess.run([sys.executable, "-c", NEW_PROCESS, str(tmp_path), str(tmp_path / "x.npy"),
                    str(tmp_path / "out.npy")], check=True, timeout=120)
    got = np.load(tmp_path / "out.npy", allow_pickle=False)
    assert got.dtype == expected.dtype
    # Bit-identical, not merely close: same weights, same code, same arithmetic.
    assert np.array_equal(got, expected), f"max |difference| {np.abs(got - expected).max()}"
