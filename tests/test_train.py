"""The training loop: metrics against hand-computed examples, exact resume
(4 epochs straight == 2 + resume + 2, bit-identical, and the schedule and step
count after a resume against their closed forms), the learning rate used and
logged under every schedule, the NaN guard, and the files a run writes."""
import json
import math
import os

import numpy as np
import pytest

import striate
import striate.nn as nn
import striate.optim as optim
from striate.data import DataLoader, TensorDataset
from striate.data import transforms as T
from striate.train import (EpochMetrics, NonFiniteLossError, RunLayout, Trainer, accuracy,
                           confusion_matrix, evaluate, load_checkpoint, per_class_accuracy,
                           read_metrics, run_dir_of, topk_correct)

# --------------------------------------------------------------------------- metrics

# 4 samples, 3 classes. Rankings per row: [2,1,0], [0,2,1], [1,0,2], [2,0,1].
LOGITS = np.array([[0.1, 0.5, 0.9],
                   [2.0, -1.0, 0.3],
                   [0.2, 0.8, -0.5],
                   [0.0, -0.3, 0.4]], dtype=np.float32)
TARGETS = np.array([1, 0, 2, 0])


def test_topk_correct_by_hand():
    # top-1 predictions 2, 0, 1, 2: only row 1 is right.
    assert topk_correct(LOGITS, TARGETS, 1) == 1
    # top-2 sets {2,1}, {0,2}, {1,0}, {2,0}: rows 0, 1, 3 contain their target.
    assert topk_correct(LOGITS, TARGETS, 2) == 3
    assert topk_correct(LOGITS, TARGETS, 3) == 4
    assert topk_correct(LOGITS, TARGETS, 5) == 4  # k clipped to the number of classes
    assert accuracy(striate.tensor(LOGITS), striate.tensor(TARGETS), topk=(1, 2)) == (0.25, 0.75)


def test_confusion_matrix_by_hand():
    predictions = np.array([0, 1, 1, 2, 2, 2, 0])
    targets = np.array([0, 1, 2, 2, 2, 0, 0])
    expected = np.array([[2, 0, 1],   # true 0: predicted 0, 0, 2
                         [0, 1, 0],   # true 1: predicted 1
                         [0, 1, 2]])  # true 2: predicted 1, 2, 2
    matrix = confusion_matrix(predictions, targets, 3)
    assert np.array_equal(matrix, expected)
    np.testing.assert_allclose(per_class_accuracy(matrix), [2 / 3, 1.0, 2 / 3])
    assert np.isnan(per_class_accuracy(np.zeros((2, 2), dtype=np.int64))).all()


@pytest.mark.parametrize("bad", [dict(predictions=[0, 3], targets=[0, 1]),
                                 dict(predictions=[0, 1, 2], targets=[0, 1])])
def test_confusion_matrix_rejects_bad_input(bad):
    with pytest.raises(ValueError, match="confusion_matrix"):
        confusion_matrix(np.array(bad["predictions"]), np.array(bad["targets"]), 3)


def test_epoch_metrics_weight_the_loss_by_batch_size():
    metrics = EpochMetrics(3, topk=2)
    metrics.update(1.0, LOGITS[:3], TARGETS[:3])  # mean loss 1.0 over 3 samples
    metrics.update(4.0, LOGITS[3:], TARGETS[3:])  # mean loss 4.0 over 1 sample
    assert metrics.count == 4
    assert metrics.loss == pytest.approx((3 * 1.0 + 4.0) / 4)
    assert metrics.accuracy == 0.25 and metrics.topk_accuracy == 0.75
    assert np.array_equal(metrics.matrix, confusion_matrix(LOGITS.argmax(1), TARGETS, 3))
    assert metrics.summary("test") == {"test_loss": metrics.loss, "test_acc": 0.25,
                                       "test_top2_acc": 0.75}


# --------------------------------------------------------------------------- a tiny problem

def tiny_data(n=120, seed=0):
    """3 classes of 1x6x6 images with a class-dependent bright patch, plus noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, size=n)
    images = rng.normal(0, 0.3, size=(n, 1, 6, 6)).astype(np.float32)
    for c in range(3):
        images[labels == c, 0, 2 * c:2 * c + 2, 1:5] += 1.5
    return images, labels


def tiny_model():
    # Conv-free so it does not depend on conv speed; dropout makes resume
    # depend on the random state too.
    return nn.Sequential(nn.Flatten(), nn.Linear(36, 16), nn.ReLU(), nn.Dropout(0.25),
                         nn.Linear(16, 3))


# Learning-rate closed forms (k: 0-based epoch, t: 0-based optimizer step) and
# the hook that records the rate of each step.

BASE_LR = 0.1


def record_lrs(optimizer):
    """Make ``optimizer`` note in ``optimizer.used_lrs`` the learning rate (first
    parameter group) that each of its steps uses."""
    optimizer.used_lrs = []
    step = optimizer.step

    def step_and_record(closure=None):
        optimizer.used_lrs.append(optimizer.param_groups[0]["lr"])
        return step(closure)

    optimizer.step = step_and_record
    return optimizer


def cosine(k, T, base=BASE_LR, eta_min=0.0):
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * k / T)) / 2


def warmup(k, w, start=0.1, base=BASE_LR):
    return base * (start + (1 - start) * min(k, w) / w)


def one_cycle(t, total, max_lr=BASE_LR, pct_start=0.3):
    """Smith and Topin's 1cycle, cosine annealed: max_lr/25 up to max_lr over the
    first 30% of the steps, then down to max_lr/25/1e4 at the last step."""
    low, high, final = max_lr / 25, max_lr, max_lr / 25 / 1e4
    peak = pct_start * total - 1

    def anneal(start, end, fraction):
        return end + (start - end) * (1 + math.cos(math.pi * fraction)) / 2

    if t <= peak:
        return anneal(low, high, t / peak)
    return anneal(high, final, (t - peak) / (total - 1 - peak))


def build(config, out_dir, seed=0, plot=False):
    """A trainer for 4 epochs of 6 batches whose optimizer records the rates
    it uses (``optimizer.used_lrs``); see :data:`RESUME_SCHEDULES`."""
    striate.manual_seed(seed)
    images, labels = tiny_data()
    train = DataLoader(TensorDataset(images[:96], labels[:96]), batch_size=16, shuffle=True,
                       transform=T.RandomCrop(6, padding=1))  # augmentation draws randomness
    test = DataLoader(TensorDataset(images[96:], labels[96:]), batch_size=10)
    model = tiny_model()
    if config == "sgd-onecycle":
        optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True,
                              weight_decay=1e-4)
        scheduler = optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1,
                                                  total_steps=4 * len(train))
        interval = "batch"
    else:
        optimizer = optim.Adam(model.parameters(), lr=0.01, weight_decay=1e-4)
        scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=4)
        interval = "epoch"
    record_lrs(optimizer)
    return Trainer(model, optimizer, train, test, scheduler=scheduler,
                   scheduler_interval=interval, out_dir=out_dir, progress=False, log=None,
                   topk=2, meta={"title": "tiny"}, plot=plot)


def _without_times(records):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]


# The rate of each of build()'s 4 x 6 steps (t: 0-based step), written out here.
RESUME_SCHEDULES = {
    "sgd-onecycle": lambda t: one_cycle(t, 4 * 6, max_lr=0.1),
    "adam-cosine": lambda t: cosine(t // 6, 4, base=0.01),
}


@pytest.mark.parametrize("config", ["sgd-onecycle", "adam-cosine"])
def test_resume_is_exact(tmp_path, config):
    expected_lrs = [RESUME_SCHEDULES[config](t) for t in range(4 * 6)]
    straight = build(config, str(tmp_path / "straight"))
    straight.fit(4)
    rng_after_straight = striate.get_rng_state()

    first = build(config, str(tmp_path / "resumed"))
    first.fit(4, stop_after=2)
    assert first.epoch == 2
    assert first.optimizer.used_lrs == pytest.approx(expected_lrs[:12], rel=1e-12)
    # A crash after logging epoch 3 but before its checkpoint: the log line must go.
    with open(tmp_path / "resumed" / "metrics.jsonl", "a") as f:
        f.write(json.dumps({"epoch": 3, "train_loss": 123.0}) + "\n")

    # A new trainer with a different seed: everything must come from the checkpoint.
    second = build(config, str(tmp_path / "resumed"), seed=1234)
    second.resume()
    assert second.epoch == 2
    second.fit(4)
    assert striate.get_rng_state() == rng_after_straight

    # Against independent values: the schedule continues where its closed form
    # says, and 2 + 2 epochs took 4 x 6 optimizer (and one-cycle) steps.
    assert second.optimizer.used_lrs == pytest.approx(expected_lrs[12:], rel=1e-12)
    assert straight.optimizer.used_lrs == pytest.approx(expected_lrs, rel=1e-12)
    if config == "sgd-onecycle":
        assert second.scheduler.last_epoch == 4 * 6
    else:
        assert {s["step"] for s in second.optimizer.state.values()} == {4 * 6}
        assert second.scheduler.last_epoch == 4
    logged = [r["lr"] for r in read_metrics(tmp_path / "resumed" / "metrics.jsonl")]
    assert logged == pytest.approx(expected_lrs[5::6], rel=1e-12)

    # Against the uninterrupted run: bit-identical.

    a, b = straight.model.state_dict(), second.model.state_dict()
    assert list(a) == list(b)
    for key in a:
        assert np.array_equal(a[key], b[key]), f"{key} differs after resume"
    opt_a, opt_b = straight.optimizer.state_dict(), second.optimizer.state_dict()
    assert opt_a["param_groups"] == opt_b["param_groups"]
    assert straight.scheduler.state_dict() == second.scheduler.state_dict()
    log_a = read_metrics(tmp_path / "straight" / "metrics.jsonl")
    log_b = read_metrics(tmp_path / "resumed" / "metrics.jsonl")
    assert [r["epoch"] for r in log_b] == [1, 2, 3, 4]
    assert _without_times(log_a) == _without_times(log_b)
    assert load_checkpoint(tmp_path / "resumed").epoch == 4


def test_training_learns_and_writes_its_files(tmp_path):
    trainer = build("adam-cosine", str(tmp_path), plot=True)
    history = trainer.fit(4)
    assert len(history) == 4
    assert history[-1]["test_acc"] >= 0.9  # the patches are easy to tell apart
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert sorted(os.listdir(tmp_path)) == ["checkpoint", "learning_curve.png", "metrics.jsonl"]
    assert sorted(trainer.layout.training_outputs) == sorted(
        os.path.join(str(tmp_path), name) for name in os.listdir(tmp_path))
    with open(tmp_path / "learning_curve.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    record = read_metrics(tmp_path / "metrics.jsonl")[-1]
    assert {"epoch", "lr", "train_loss", "train_acc", "test_loss", "test_acc", "test_top2_acc",
            "test_confusion", "seconds"} <= set(record)
    assert np.array(record["test_confusion"]).sum() == 24
    # evaluate() agrees with the record and with a direct computation.
    metrics = evaluate(trainer.model, trainer.test_loader, topk=2)
    assert metrics.accuracy == record["test_acc"]
    images, labels = tiny_data()
    trainer.model.eval()
    with striate.no_grad():
        logits = trainer.model(striate.tensor(images[96:])).data
    assert metrics.correct == int((logits.argmax(1) == labels[96:]).sum())


def test_nan_guard_names_epoch_and_batch(tmp_path):
    images, labels = tiny_data(64)
    images[40] = np.nan  # sample 40 is in batch 3 (batches of 16, no shuffling)
    striate.manual_seed(0)
    model = tiny_model()
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.1),
                      DataLoader(TensorDataset(images, labels), batch_size=16),
                      out_dir=str(tmp_path), progress=False, log=None)
    with pytest.raises(NonFiniteLossError, match=r"became nan at epoch 1, batch 3 of 4"):
        trainer.fit(2)
    assert all(np.isfinite(p.data).all() for p in model.parameters())  # the bad step was not taken
    assert not os.path.exists(tmp_path / "checkpoint")  # nothing half-done was written


def test_nan_guard_catches_divergence(tmp_path):
    images, labels = tiny_data(64)
    striate.manual_seed(0)
    model = tiny_model()
    loader = DataLoader(TensorDataset(images * 1e3, labels), batch_size=16)
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=1e12), loader, loader,
                      out_dir=str(tmp_path), progress=False, log=None)
    with pytest.raises(NonFiniteLossError, match=r"(?s)(nan|inf).*epoch \d+.*lower learning rate"):
        trainer.fit(20)
    if os.path.exists(tmp_path / "checkpoint"):  # only finite weights are ever saved
        weights = load_checkpoint(tmp_path).model_state
        assert all(np.isfinite(w).all() for w in weights.values())
        assert all(np.isfinite(r["test_loss"]) for r in read_metrics(tmp_path / "metrics.jsonl"))


def test_progress_bar_runs(tmp_path, capsys):
    trainer = build("adam-cosine", None)
    trainer.progress = True
    trainer.log = print
    trainer.fit(1)
    captured = capsys.readouterr()
    assert "epoch 1/1" in captured.out and "test loss" in captured.out
    assert "epoch 1" in captured.err  # tqdm's description


# -------------------------------------------------------------------------- learning-rate schedules
#
# The rate each optimizer step actually used, and the rate each metrics record
# logs, against closed forms written out in this file (cosine, warmup,
# one_cycle above), not against the schedulers' own code.

EPOCHS, STEPS = 6, 6  # tiny_data's 96 training images in batches of 16


def _run_py(schedule, warmup_epochs=0):
    """The schedule ``striate train --schedule ... --warmup ...`` builds."""
    def make(optimizer):
        from striate.runs.config import build_scheduler

        return build_scheduler({"schedule": schedule, "epochs": EPOCHS, "warmup": warmup_epochs},
                               optimizer, STEPS)
    return make


def _per_epoch(make_scheduler):
    return lambda optimizer: (make_scheduler(optimizer), "epoch")


S = optim.lr_scheduler
# name -> (optimizer -> (scheduler, interval), closed form of the rate at epoch k, step t)
SCHEDULES = {
    "step": (_per_epoch(lambda o: S.StepLR(o, step_size=2, gamma=0.5)),
             lambda k, t: BASE_LR * 0.5 ** (k // 2)),
    "multistep": (_per_epoch(lambda o: S.MultiStepLR(o, milestones=[2, 5], gamma=0.1)),
                  lambda k, t: BASE_LR * 0.1 ** ((k >= 2) + (k >= 5))),
    "exponential": (_per_epoch(lambda o: S.ExponentialLR(o, gamma=0.7)),
                    lambda k, t: BASE_LR * 0.7 ** k),
    "cosine": (_per_epoch(lambda o: S.CosineAnnealingLR(o, T_max=EPOCHS, eta_min=0.001)),
               lambda k, t: cosine(k, EPOCHS, eta_min=0.001)),
    "linear_warmup": (_per_epoch(lambda o: S.LinearLR(o, start_factor=0.25, total_iters=3)),
                      lambda k, t: warmup(k, 3, start=0.25)),
    "warmup_cosine": (_per_epoch(lambda o: S.SequentialLR(
        o, [S.LinearLR(o, start_factor=0.1, total_iters=2), S.CosineAnnealingLR(o, T_max=4)],
        milestones=[2])),
        lambda k, t: warmup(k, 2) if k < 2 else cosine(k - 2, 4)),
    "onecycle": (lambda o: (S.OneCycleLR(o, max_lr=BASE_LR, total_steps=EPOCHS * STEPS), "batch"),
                 lambda k, t: one_cycle(t, EPOCHS * STEPS)),
    # What the command line builds (striate.runs.config.build_scheduler):
    "cli_step": (_run_py("step"),  # divided by 10 at 1/2 and 3/4 of the 6 epochs
                 lambda k, t: BASE_LR * 0.1 ** ((k >= 3) + (k >= 4))),
    "cli_cosine": (_run_py("cosine"), lambda k, t: cosine(k, EPOCHS)),
    "cli_onecycle": (_run_py("onecycle"), lambda k, t: one_cycle(t, EPOCHS * STEPS)),
    "cli_none_warmup": (_run_py("none", 2), lambda k, t: warmup(k, 2)),
    "cli_cosine_warmup": (_run_py("cosine", 2),
                          lambda k, t: warmup(k, 2) if k < 2 else cosine(k - 2, EPOCHS - 2)),
    "cli_step_warmup": (_run_py("step", 2), lambda k, t: warmup(k, 2) if k < 2 else
                        BASE_LR * 0.1 ** ((k >= 3) + (k >= 4))),
}

def train_with_schedule(name, out_dir):
    striate.manual_seed(0)
    images, labels = tiny_data()
    loader = DataLoader(TensorDataset(images[:96], labels[:96]), batch_size=16, shuffle=True)
    model = tiny_model()
    optimizer = record_lrs(optim.SGD(model.parameters(), lr=BASE_LR, momentum=0.9))
    scheduler, interval = SCHEDULES[name][0](optimizer)
    trainer = Trainer(model, optimizer, loader, scheduler=scheduler, scheduler_interval=interval,
                      out_dir=str(out_dir), progress=False, log=None, plot=False)
    assert len(loader) == STEPS
    trainer.fit(EPOCHS)
    return trainer


def expected_lrs(name, epochs=range(EPOCHS)):
    closed_form = SCHEDULES[name][1]
    return [closed_form(k, k * STEPS + j) for k in epochs for j in range(STEPS)]


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_each_step_uses_the_scheduled_learning_rate(tmp_path, name):
    trainer = train_with_schedule(name, tmp_path)
    assert trainer.optimizer.used_lrs == pytest.approx(expected_lrs(name), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_logged_learning_rate_is_that_of_the_epochs_last_step(tmp_path, name):
    trainer = train_with_schedule(name, tmp_path)
    closed_form = SCHEDULES[name][1]
    expected = [closed_form(k, k * STEPS + STEPS - 1) for k in range(EPOCHS)]
    assert [r["lr"] for r in trainer.history] == pytest.approx(expected, rel=1e-12, abs=1e-15)
    logged = read_metrics(tmp_path / "metrics.jsonl")
    assert [r["lr"] for r in logged] == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_one_cycle_closed_form_by_hand():
    """The test's own formula at its anchor points: start, peak, end."""
    total = EPOCHS * STEPS  # 36 steps, peak at step 0.3 * 36 - 1 = 9.8
    assert one_cycle(0, total) == pytest.approx(BASE_LR / 25)
    assert one_cycle(9.8, total) == pytest.approx(BASE_LR)
    assert one_cycle(total - 1, total) == pytest.approx(BASE_LR / 25 / 1e4)


# --------------------------------------------------------------------------- the run directory


def test_run_layout_names_the_files_of_a_run(tmp_path):
    layout = RunLayout(tmp_path / "run")
    run = str(tmp_path / "run")
    assert layout.run_dir == run
    assert layout.checkpoint_dir == os.path.join(run, "checkpoint")
    assert layout.metrics_file == os.path.join(run, "metrics.jsonl")
    assert layout.curve_file == os.path.join(run, "learning_curve.png")
    assert layout.confusion_matrix_file("digits", "test") == \
        os.path.join(run, "confusion_matrix-digits-test.png")
    assert layout.training_outputs == (layout.metrics_file, layout.curve_file,
                                       layout.checkpoint_dir)


@pytest.mark.parametrize("path, run_dir", [("runs/a", "runs/a"), ("runs/a/checkpoint", "runs/a"),
                                           ("runs/a/checkpoint/", "runs/a"),
                                           ("elsewhere/ckpt", "elsewhere/ckpt")])
def test_run_dir_of_a_run_or_its_checkpoint(path, run_dir):
    assert run_dir_of(path) == run_dir
    assert RunLayout.of(path).run_dir == run_dir


def test_epoch_line_fits_a_100_column_terminal():
    """The widest values an epoch line can show: 999 epochs, 100% accuracy,
    a small learning rate, a slow epoch."""
    trainer = Trainer(nn.Linear(2, 2), optim.SGD([nn.Parameter(np.zeros(1))], lr=0.1),
                      train_loader=None, num_classes=10)
    record = {"epoch": 999, "train_loss": 10.1234, "train_acc": 1.0, "test_loss": 10.1234,
              "test_acc": 1.0, "test_top5_acc": 1.0, "lr": 0.000123456, "seconds": 999.9}
    line = trainer._format(record, 999)
    assert len(line) <= 100, line
    assert "epoch 999/999" in line and "lr 0.000123" in line and "999.9 s" in line
