"""Resuming a run with another number of epochs, under every schedule of
``striate.train.schedules``: an unchanged resume continues exactly, an
unfinished schedule is re-planned to the new end, a finished one-cycle or
cosine schedule starts a new cycle over the added epochs, a finished step
schedule continues at its final rate. The rate of every optimizer step is
checked against the closed forms of test_train.py, not the schedulers' code."""
import pytest

import striate
import striate.optim as optim
from striate.data import DataLoader, TensorDataset
from striate.train import Trainer, load_checkpoint
from striate.train.schedules import SCHEDULES, build_schedule, resume_schedule

from test_train import BASE_LR, cosine, one_cycle, record_lrs, tiny_data, tiny_model, warmup

STEPS = 6  # 96 images in batches of 16


def trainer(out_dir, name, epochs, warmup_epochs=0):
    striate.manual_seed(0)
    images, labels = tiny_data()
    loader = DataLoader(TensorDataset(images[:96], labels[:96]), batch_size=16, shuffle=True)
    model = tiny_model()
    optimizer = record_lrs(optim.SGD(model.parameters(), lr=BASE_LR, momentum=0.9))
    scheduler, interval = build_schedule(name, optimizer, epochs, len(loader), warmup_epochs)
    return Trainer(model, optimizer, loader, scheduler=scheduler, scheduler_interval=interval,
                   out_dir=str(out_dir), progress=False, log=None, plot=False)


def step_rate(k, epochs, warmup_epochs=0):
    """The step schedule's rate at epoch k of a plan of ``epochs``: /10 at 1/2
    and 3/4 of it, the milestones counted after the warm-up."""
    if k < warmup_epochs:
        return warmup(k, warmup_epochs)
    milestones = [max(1, m - warmup_epochs) for m in sorted({max(1, epochs // 2),
                                                              max(1, 3 * epochs // 4)})]
    main = k - warmup_epochs
    return BASE_LR * 0.1 ** sum(main >= m for m in milestones)


def plan_rates(name, epochs, warmup_epochs=0):
    """Closed form of each optimizer step's rate under a plan of ``epochs``."""
    def rate(k, t):
        if name == "onecycle":
            return one_cycle(t, epochs * STEPS)
        if name == "cosine":
            if k < warmup_epochs:
                return warmup(k, warmup_epochs)
            return cosine(k - warmup_epochs, max(1, epochs - warmup_epochs))
        if name == "step":
            return step_rate(k, epochs, warmup_epochs)
        return warmup(k, warmup_epochs) if warmup_epochs else BASE_LR
    return [rate(k, k * STEPS + j) for k in range(epochs) for j in range(STEPS)]


CASES = [(name, w) for name in SCHEDULES for w in (0, 2) if not (name == "onecycle" and w)]
IDS = [f"{name}-warmup{w}" for name, w in CASES]


@pytest.mark.parametrize("name,warm", CASES, ids=IDS)
def test_unchanged_resume_continues_the_plan(tmp_path, name, warm):
    first = trainer(tmp_path, name, 4, warm)
    first.fit(4, stop_after=2)
    second = trainer(tmp_path, name, 4, warm)
    _, note = second.resume_schedule(name, 4, warm)
    assert note is None
    second.fit(4)
    rates = plan_rates(name, 4, warm)
    assert first.optimizer.used_lrs == pytest.approx(rates[:2 * STEPS], rel=1e-12, abs=1e-15)
    assert second.optimizer.used_lrs == pytest.approx(rates[2 * STEPS:], rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("name,warm", CASES, ids=IDS)
def test_extending_a_finished_run(tmp_path, name, warm):
    """4 epochs done, then --epochs 6: one-cycle and cosine run a new cycle over
    epochs 5-6 (no second warm-up), step keeps its final rate, none its rate."""
    trainer(tmp_path, name, 4, warm).fit(4)
    extended = trainer(tmp_path, name, 4, warm)
    _, note = extended.resume_schedule(name, 6, warm)
    extended.fit(6)
    assert extended.epoch == 6
    if name in ("onecycle", "cosine"):
        expected = plan_rates(name, 2)
        assert "new cycle runs over epochs 5-6" in note
    elif name == "step":
        expected = [step_rate(3, 4, warm)] * (2 * STEPS)
        assert "continue at its final rate" in note
    else:
        expected = [BASE_LR] * (2 * STEPS)
        assert note is None
    assert extended.optimizer.used_lrs == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert load_checkpoint(tmp_path).meta["schedule_plan"] == (
        {"start": 4, "end": 6} if name in ("onecycle", "cosine") else {"start": 0, "end": 4})


@pytest.mark.parametrize("name,warm", CASES, ids=IDS)
def test_replanning_an_unfinished_run(tmp_path, name, warm):
    """Stopped after 2 of 4 epochs, resumed with --epochs 6: epochs 3-6 take
    the rates of a 6-epoch plan."""
    trainer(tmp_path, name, 4, warm).fit(4, stop_after=2)
    resumed = trainer(tmp_path, name, 4, warm)
    _, note = resumed.resume_schedule(name, 6, warm)
    assert "planned over epochs 1-4 and now spans 1-6" in note
    resumed.fit(6)
    expected = plan_rates(name, 6, warm)[2 * STEPS:]
    assert resumed.optimizer.used_lrs == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_an_extension_resumed_again_continues_its_cycle(tmp_path):
    """The new cycle's segment is saved with the run: stopping inside the
    extension and resuming continues that cycle, not the first one."""
    trainer(tmp_path, "onecycle", 4).fit(4)
    extension = trainer(tmp_path, "onecycle", 4)
    extension.resume_schedule("onecycle", 8)
    extension.fit(8, stop_after=1)
    last = trainer(tmp_path, "onecycle", 4)
    _, note = last.resume_schedule("onecycle", 8)
    assert note is None
    last.fit(8)
    cycle = plan_rates("onecycle", 4)
    assert extension.optimizer.used_lrs == pytest.approx(cycle[:STEPS], rel=1e-12)
    assert last.optimizer.used_lrs == pytest.approx(cycle[STEPS:], rel=1e-12)


def test_the_saved_scheduler_alone_cannot_be_extended(tmp_path):
    """Why the schedule is rebuilt rather than loaded: the one-cycle state
    saved for 4 epochs refuses a fifth."""
    trainer(tmp_path, "onecycle", 4).fit(4)
    plain = trainer(tmp_path, "onecycle", 6)
    plain.resume()
    with pytest.raises(ValueError, match="tried to step"):
        plain.fit(6)


def test_bad_segments_are_refused():
    optimizer = optim.SGD(tiny_model().parameters(), lr=BASE_LR)
    for plan in ({"start": 3, "end": 2}, {"start": 5, "end": 9}, {"end": 4}, None):
        with pytest.raises(ValueError, match="segment"):
            resume_schedule("cosine", optimizer, plan, 4, 6, STEPS)
    with pytest.raises(ValueError, match="unknown schedule 'cyclic'"):
        build_schedule("cyclic", optimizer, 4, STEPS)
