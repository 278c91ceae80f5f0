"""The run layer's Python door: :func:`striate.runs.train` does what
``striate train`` does, from a dict or keywords, with the same checks."""
import numpy as np
import pytest

import striate.runs
from striate.train import load_checkpoint

from cli_runner import run as cli

SMALL = dict(dataset="digits", epochs=1, limit=256, batch_size=64)


def test_door_equals_the_command_line(capsys, tmp_path):
    # Same configuration, same seed: the notebook's run and the command's run
    # end with bit-identical weights and the same logged accuracy.
    run = striate.runs.train(SMALL, out=tmp_path / "door", plot=False, model="lenet5")
    code, out, err = cli(capsys, "train", "--dataset", "digits", "--epochs", "1", "--limit",
                         "256", "--batch-size", "64", "--out", tmp_path / "cli",
                         "--no-progress")
    assert code == 0, err
    stored = load_checkpoint(str(tmp_path / "cli"))
    assert stored.meta["config"] == run.config
    mine = run.model.state_dict()
    assert set(mine) == set(stored.model_state)
    for name, value in stored.model_state.items():
        assert np.array_equal(np.asarray(value), mine[name]), name
    assert len(run.history) == 1 and 0.0 <= run.history[0]["test_acc"] <= 1.0
    assert load_checkpoint(str(tmp_path / "door")).meta["config"] == run.config


@pytest.mark.parametrize("config, settings, message", [
    ({"epoch": 3}, {}, "unknown configuration keys \\['epoch'\\]"),
    (None, {"optimiser": "sgd"}, "unknown configuration keys \\['optimiser'\\]"),
    ("lenet5", {}, "the configuration must be a dict"),
    (None, {"model": "no-such-net"}, "no-such-net"),
])
def test_door_refuses_bad_configurations_before_any_work(tmp_path, config, settings, message):
    with pytest.raises((striate.runs.RunConfigError, ValueError), match=message):
        striate.runs.train(config, out=tmp_path / "run", **settings)
    assert not (tmp_path / "run").exists()


def test_door_refuses_an_existing_run(tmp_path):
    striate.runs.train(SMALL, out=tmp_path / "run", plot=False, limit=64)
    with pytest.raises(striate.runs.RunConfigError, match="already holds a training run"):
        striate.runs.train(SMALL, out=tmp_path / "run", plot=False, limit=64)
