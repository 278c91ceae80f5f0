"""A run's files checked against each other before it resumes: each tampered
run is refused with a message naming the file that disagrees and the one it
disagrees with; the two provably safe repairs are made and reported."""
import json
import os

import numpy as np
import pytest

from striate.train import read_metrics
from striate.train.runcheck import RunMismatchError, check_run

from test_schedules import trainer


def make_run(tmp_path, epochs=3, done=2):
    run = tmp_path / "run"
    t = trainer(run, "cosine", epochs)
    t.meta["config"] = {"epochs": epochs}
    t.fit(epochs, stop_after=done)
    return run


def resumed(run, epochs=3):
    """A new trainer resuming ``run`` (what ``striate train --resume`` does)."""
    t = trainer(run, "cosine", epochs)
    t.meta["config"] = {"epochs": epochs}
    t.resume_schedule("cosine", epochs)
    return t


def log_lines(run):
    return (run / "metrics.jsonl").read_text().splitlines(keepends=True)


def write_lines(run, lines):
    (run / "metrics.jsonl").write_text("".join(lines))


def edit_state(run, **changes):
    path = run / "checkpoint" / "training_state.json"
    state = json.loads(path.read_text())
    state.update(changes)
    path.write_text(json.dumps(state))


def test_a_clean_run_passes_and_resumes(tmp_path):
    run = make_run(tmp_path)
    assert check_run(run) == []
    t = resumed(run)
    t.fit(3)
    assert [r["epoch"] for r in read_metrics(run / "metrics.jsonl")] == [1, 2, 3]


def edited_value(run):
    lines = log_lines(run)
    record = json.loads(lines[0])
    record["train_loss"] = 0.001
    lines[0] = json.dumps(record) + "\n"
    write_lines(run, lines)


TAMPERED = {
    "edited line": (edited_value, r"metrics.jsonl: the lines of epochs 1-2 differ from those "
                                  r".*training_state.json recorded"),
    "garbage appended": (lambda run: write_lines(run, log_lines(run) + ["garbage\n"]),
                         r"metrics.jsonl: line 3 is not a JSON record"),
    "garbage in the middle": (lambda run: write_lines(run, [log_lines(run)[0], "{oops\n",
                                                            log_lines(run)[1]]),
                              r"metrics.jsonl: line 2 is not a JSON record"),
    "log deleted": (lambda run: os.remove(run / "metrics.jsonl"),
                    r"metrics.jsonl is missing, but .*training_state.json has trained 2"),
    "line removed": (lambda run: write_lines(run, log_lines(run)[:1]),
                     r"metrics.jsonl ends at epoch 1, but .*training_state.json has trained 2"),
    "lines swapped": (lambda run: write_lines(run, log_lines(run)[::-1]),
                      r"metrics.jsonl: line 1 is for epoch 2 where epoch 1 was expected"),
    "epoch past the plan": (lambda run: edit_state(run, epoch=7),
                            r"training_state.json: epoch 7 is past the 3 epochs of its own "
                            r"configuration"),
    "epoch not a count": (lambda run: edit_state(run, epoch="two"),
                          r"training_state.json: epoch 'two' is not a count of epochs"),
    "checkpoint older than the log": (lambda run: edit_state(run, epoch=0),
                                      r"metrics.jsonl has 2 epochs, but .*training_state.json "
                                      r"has trained only 0"),
}


def nan_weight(run):
    from safetensors.numpy import load_file, save_file

    path = str(run / "checkpoint" / "model.safetensors")
    weights = load_file(path)
    name = sorted(weights)[0]
    weights[name] = weights[name].copy()
    weights[name].flat[0] = np.nan
    save_file(weights, path)


TAMPERED["NaN weight"] = (nan_weight, r"model.safetensors: .* holds 1 non-finite value")


@pytest.mark.parametrize("case", sorted(TAMPERED))
def test_a_tampered_run_is_refused(tmp_path, case):
    run = make_run(tmp_path)
    tamper, message = TAMPERED[case]
    tamper(run)
    with pytest.raises(RunMismatchError, match=message):
        check_run(run)
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    with pytest.raises(RunMismatchError, match=message):
        resumed(run)  # the trainer's resume refuses too, and changes nothing
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


def test_a_torn_last_line_is_dropped_and_said(tmp_path):
    run = make_run(tmp_path)
    write_lines(run, log_lines(run) + ['{"epoch": 3, "train_lo'])
    notes = check_run(run)
    assert len(notes) == 1 and "last line was cut short" in notes[0]
    t = resumed(run)
    assert t.resume_notes == notes
    t.fit(3)
    assert [r["epoch"] for r in read_metrics(run / "metrics.jsonl")] == [1, 2, 3]
    assert check_run(run) == []


def test_an_epoch_logged_but_not_checkpointed_is_trained_again(tmp_path):
    run = make_run(tmp_path)
    write_lines(run, log_lines(run) + [json.dumps({"epoch": 3, "train_loss": 1.0}) + "\n"])
    notes = check_run(run)
    assert len(notes) == 1 and "epoch 3 was logged but not checkpointed" in notes[0]
    t = resumed(run)
    t.fit(3)
    records = read_metrics(run / "metrics.jsonl")
    assert [r["epoch"] for r in records] == [1, 2, 3] and records[2]["train_loss"] != 1.0
