"""The learning-rate schedules of a training run by name, and what becomes of
them when a run is resumed with another number of epochs.

A schedule is planned over a *segment* of the run's epochs, ``start + 1 ..
end``: the whole run at first (start 0). Resuming restores the optimizer,
then builds the schedule again over its segment and steps it forward to the
epoch reached: the same arithmetic the first session did, so an unchanged
resume continues bit for bit, and a changed plan needs no saved scheduler
fields to be patched. The segment is plain data (``{"start": s, "end": e}``),
kept with the run's configuration.

The rules, when a run that has trained ``done`` epochs resumes to train
``epochs`` in all:

* **unfinished** (``done`` < the segment's end) and ``epochs`` differs from
  the end: *re-planned*. The segment now ends at ``epochs``; the schedule
  continues at epoch ``done`` of the new plan, as if it had been built for
  ``epochs`` from the start (its rate moves to where the new plan has it).
* **finished** (``done`` >= the segment's end) and extended:
  ``onecycle`` and ``cosine`` start a *new cycle* over the added epochs
  (epochs ``done + 1 .. epochs``, warm-up not repeated): one-cycle rises to
  the same peak and anneals again, cosine restarts at the base rate (SGDR's
  warm restart); ``step`` *continues at its final rate* (its milestones are
  behind it) and ``none`` at its constant rate.
* otherwise the segment is unchanged.

Symbols: E the epochs of a segment, B the batches per epoch.
"""
from .. import optim

__all__ = ["SCHEDULES", "build_schedule", "resume_schedule", "first_plan"]

#: the schedules by name (``striate train --schedule``)
SCHEDULES = ("none", "step", "cosine", "onecycle")

#: the schedules that start a new cycle when a finished run is extended
CYCLIC = ("onecycle", "cosine")


def first_plan(epochs):
    """The segment of a new run: all its ``epochs``."""
    return {"start": 0, "end": int(epochs)}


def build_schedule(name, optimizer, epochs, steps_per_epoch, warmup=0, start=0):
    """``(scheduler or None, "epoch" | "batch")`` for schedule ``name`` over
    the epochs ``start + 1 .. epochs`` (E = epochs - start of them).

    ``step`` divides the rate by 10 at 1/2 and 3/4 of the E epochs;
    ``cosine`` anneals it to zero over them; ``onecycle`` (Smith & Topin
    2017) rises for the first 30% of the E*B batches and then anneals,
    stepped per batch, each parameter group peaking at its own rate (its
    ``max_lr`` if it has one, else its current ``lr``). ``warmup`` epochs of
    linear warm-up precede ``step`` and ``cosine`` in the first segment
    (one-cycle has its own).
    """
    if name not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}; choose one of {', '.join(SCHEDULES)}")
    span = int(epochs) - int(start)
    if span < 1:
        raise ValueError(f"{name} schedule: the segment of epochs {start + 1}..{epochs} is empty")
    warmup = warmup if start == 0 else 0
    lr_scheduler = optim.lr_scheduler
    if name == "none":
        return (None, "epoch") if not warmup else (
            lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=warmup), "epoch")
    if name == "onecycle":
        peaks = [group.get("max_lr", group["lr"]) for group in optimizer.param_groups]
        return lr_scheduler.OneCycleLR(optimizer, max_lr=peaks,
                                       total_steps=span * steps_per_epoch), "batch"
    if name == "step":
        # Milestones are epochs of the segment; after a warm-up the main
        # schedule counts from the warm-up's end, so shift them (a milestone
        # inside the warm-up takes effect on the first epoch after it).
        milestones = sorted({max(1, span // 2), max(1, 3 * span // 4)})
        main = lr_scheduler.MultiStepLR(
            optimizer, milestones=[max(1, m - warmup) for m in milestones], gamma=0.1)
    else:
        main = lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, span - warmup))
    if not warmup:
        return main, "epoch"
    warm = lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=warmup)
    return lr_scheduler.SequentialLR(optimizer, [warm, main], milestones=[warmup]), "epoch"


def _check_plan(plan, done):
    try:
        start, end = int(plan["start"]), int(plan["end"])
    except (TypeError, KeyError, ValueError):
        raise ValueError(f"the schedule's segment must be {{'start': int, 'end': int}}, "
                         f"got {plan!r}") from None
    if not 0 <= start <= done or start >= end:
        raise ValueError(f"the schedule's segment {plan!r} does not fit a run that has "
                         f"trained {done} epochs")
    return start, end


def resume_schedule(name, optimizer, plan, done, epochs, steps_per_epoch, warmup=0):
    """The schedule of a run resumed after ``done`` epochs to train
    ``epochs`` in all, on an ``optimizer`` whose state is already restored.

    ``plan`` is the segment the run's schedule was planned over (saved with
    the run; :func:`first_plan` for a run saved before segments existed).
    Returns ``(scheduler or None, interval, plan, note)``: the scheduler,
    stepped forward to epoch ``done``; the segment to save from now on; and
    one line saying what became of the schedule (None when unchanged).
    """
    start, end = _check_plan(plan, done)
    note = None
    if done < end and epochs != end and epochs > done:
        note = (f"the {name} schedule was planned over epochs {start + 1}-{end} and now "
                f"spans {start + 1}-{epochs}; it continues at epoch {done + 1} of the new plan")
        end = epochs
    elif done >= end and epochs > done:
        if name in CYCLIC:
            note = (f"the {name} schedule had finished at epoch {done}; a new cycle runs over "
                    f"epochs {done + 1}-{epochs}")
            start, end = done, epochs
        elif name == "step":
            note = (f"the step schedule had finished at epoch {done}; epochs {done + 1}-"
                    f"{epochs} continue at its final rate")
    for group in optimizer.param_groups:
        # The rates the schedule was first built from: chainable schedules
        # multiply the group's current rate, so start them where they started.
        group["lr"] = group.get("initial_lr", group["lr"])
    scheduler, interval = build_schedule(name, optimizer, end, steps_per_epoch, warmup, start)
    if scheduler is not None:
        per_epoch = steps_per_epoch if interval == "batch" else 1
        for _ in range(min(done, end) - start):
            for _ in range(per_epoch):
                scheduler.step()
        if done > end and interval == "epoch":  # past a finished plan: step on, as it was
            for _ in range(done - end):
                scheduler.step()
    return scheduler, interval, {"start": start, "end": end}, note
