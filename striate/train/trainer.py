"""The training loop: train an epoch, evaluate, log, plot, checkpoint, repeat.

    trainer = Trainer(model, optimizer, train_loader, test_loader,
                      scheduler=scheduler, out_dir="runs/lenet5")
    trainer.fit(epochs=10)

or in one call, ``fit(model, optimizer, train_loader, test_loader, epochs=10)``.

Per epoch the trainer (1) trains on every batch of ``train_loader`` with a
tqdm progress bar showing the running loss and accuracy, (2) evaluates on
``test_loader`` (loss, top-1 and top-k accuracy, confusion matrix), (3)
appends a line to ``metrics.jsonl``, (4) redraws ``learning_curve.png`` and
(5) writes a checkpoint (see :mod:`striate.train.checkpoint`; the run
directory's file names are in :mod:`striate.train.layout`) with the
optimizer, scheduler and random state, so that :meth:`Trainer.resume`
continues exactly where training stopped: 4 epochs straight and 2 + 2 after
a resume give bit-identical weights, because every source of randomness
(initialization, shuffling, augmentation, dropout) draws from striate's one
generator, whose state the checkpoint stores.

A loss that becomes NaN or infinite stops training at once with
:class:`NonFiniteLossError`, naming the epoch and batch; the checkpoint of the
last completed epoch stays as it was.
"""
import math
import os
import sys
import time

from ..autograd import no_grad
from ..backend import xp
from ..data.mixing import class_indices
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .history import MetricsLog, records_digest
from .layout import CURVE_FILE, METRICS_FILE, RunLayout  # noqa: F401 (names kept importable here)
from .metrics import EpochMetrics
from .plots import plot_learning_curve

__all__ = ["Trainer", "fit", "evaluate", "NonFiniteLossError"]


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite."""


def _default_loss():
    from ..functional import cross_entropy

    return cross_entropy


def _overflow_reported_by_the_guards():
    """NumPy's overflow, invalid and divide-by-zero warnings switched off: a
    loss or weight that becomes NaN or infinite is reported by the trainer's
    guards (:class:`NonFiniteLossError`), whose message says where and what to
    try; NumPy's warnings would only precede it."""
    return xp.errstate(over="ignore", invalid="ignore", divide="ignore")


def _progress_bar(iterable, enabled, description, total):
    """tqdm when enabled (imported only then); the plain iterable otherwise."""
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=description, total=total, leave=False, unit="batch",
                dynamic_ncols=True, file=sys.stderr)


class Trainer:
    """Trains ``model`` with ``optimizer`` on ``train_loader``.

    Arguments:
        test_loader: evaluated after every epoch (optional).
        loss_fn: ``loss_fn(logits, targets) -> scalar Tensor``; default cross-entropy.
        scheduler: a learning-rate scheduler, stepped once per epoch, or once
            per batch with ``scheduler_interval="batch"`` (one-cycle).
        num_classes: for the confusion matrix; default: the model's output width,
            found on the first batch.
        topk: the k of the top-k accuracy (default 5, clipped to the class count).
        out_dir: the run directory, where ``metrics.jsonl``, ``learning_curve.png``
            and the ``checkpoint`` directory go (:class:`~striate.train.layout.RunLayout`);
            None writes nothing.
        meta: JSON-able facts stored in every checkpoint (model name and
            kwargs, dataset, class names, normalization, configuration), so that
            evaluation and prediction can rebuild everything from it.
        progress: show tqdm bars; None (default) shows them when stderr is a terminal.
        plot: redraw ``learning_curve.png`` after every epoch (default True).
        log: called with one line of text per epoch (default ``print``); None is silent.
        distributed: a data-parallel hook (:class:`striate.distributed.DataParallel`)
            that all-reduces gradients and metrics; with one, only its main rank
            logs, shows progress and writes files.
        metrics: the per-epoch metrics class, called as ``metrics(num_classes, topk)``
            (default :class:`EpochMetrics`, classification); e.g.
            :class:`~striate.train.segmentation.SegmentationMetrics`. A ``format(record,
            epochs)`` static method on it replaces the epoch line.
    """

    def __init__(self, model, optimizer, train_loader, test_loader=None, *, loss_fn=None,
                 scheduler=None, scheduler_interval="epoch", num_classes=None, topk=5,
                 out_dir=None, meta=None, progress=None, plot=True, log=print,
                 distributed=None, metrics=None):
        if scheduler_interval not in ("epoch", "batch"):
            raise ValueError(f"Trainer: scheduler_interval must be 'epoch' or 'batch', "
                             f"got {scheduler_interval!r}")
        self.model, self.optimizer = model, optimizer
        self.train_loader, self.test_loader = train_loader, test_loader
        self.loss_fn = loss_fn or _default_loss()
        self.scheduler, self.scheduler_interval = scheduler, scheduler_interval
        self.num_classes, self.topk = num_classes, topk
        self.out_dir, self.meta = out_dir, dict(meta or {})
        self.distributed = distributed
        self.is_main = distributed is None or distributed.is_main
        self.progress = self.is_main and (sys.stderr.isatty() if progress is None else bool(progress))
        self.plot = plot
        self.log = (log if self.is_main else None) or (lambda line: None)
        self.metrics_type = metrics or EpochMetrics
        self.epoch = 0  # completed epochs
        self.history = []
        self.layout = RunLayout(out_dir) if out_dir else None
        self._metrics_log = (MetricsLog(self.layout.metrics_file)
                             if out_dir and self.is_main else None)
        self._step_lr = None  # the learning rate of the latest optimizer step

    # ------------------------------------------------------------------ paths

    @property
    def checkpoint_path(self):
        return self.layout.checkpoint_dir if self.layout else None

    # ------------------------------------------------------------------ one epoch

    def _lr(self):
        groups = getattr(self.optimizer, "param_groups", None)
        return groups[0]["lr"] if groups else None

    def _metrics_for(self, logits):
        if self.num_classes is None:
            self.num_classes = int(logits.shape[1])
        return self.metrics_type(self.num_classes, self.topk)

    def train_epoch(self, epoch):
        """One pass over ``train_loader``; returns its :class:`EpochMetrics`.

        ``epoch`` (1-based) only labels the progress bar and error messages.
        """
        self.model.train()
        total = len(self.train_loader) if hasattr(self.train_loader, "__len__") else None
        bar = _progress_bar(self.train_loader, self.progress, f"epoch {epoch}", total)
        with _overflow_reported_by_the_guards():
            metrics = self._train_batches(bar, epoch, total)
        if hasattr(bar, "close"):
            bar.close()
        if metrics is None:
            raise ValueError("Trainer: the training loader yielded no batches")
        return metrics

    def _train_batches(self, bar, epoch, total):
        metrics = None
        for batch, (images, targets) in enumerate(bar, 1):
            logits = self.model(images)
            loss = self.loss_fn(logits, targets)
            value = float(loss.data)
            if not math.isfinite(value):
                if hasattr(bar, "close"):
                    bar.close()
                raise NonFiniteLossError(
                    f"the training loss became {value} at epoch {epoch}, batch {batch}"
                    f"{f' of {total}' if total else ''} (learning rate {self._lr()}); "
                    "training stopped. Try a lower learning rate, or check the data "
                    "for NaN/inf values")
            self.optimizer.zero_grad()
            loss.backward()
            self._step_lr = self._lr()
            if self.distributed is not None:
                self.distributed.reduce_gradients(self.model, int(targets.shape[0]))
            self.optimizer.step()
            if self.scheduler is not None and self.scheduler_interval == "batch":
                self.scheduler.step()
            metrics = metrics or self._metrics_for(logits)
            # Mixed batches (Mixup, CutMix) carry class probabilities; accuracy
            # counts their most probable class.
            metrics.update(value, logits, class_indices(targets))
            if bar is not self.train_loader:
                bar.set_postfix_str(f"loss {metrics.loss:.4f} acc {100 * metrics.accuracy:.2f}%",
                                    refresh=False)
        return metrics

    def _check_weights(self, epoch):
        """The loss guard sees a bad step one batch late; the last step of an
        epoch is checked here, before anything is evaluated or saved."""
        for name, param in self.model.named_parameters():
            if not xp.isfinite(param.data).all():
                raise NonFiniteLossError(
                    f"the weights of {name} became NaN or infinite at the end of epoch {epoch} "
                    f"(learning rate {self._step_lr}); training stopped. Try a lower learning rate")

    def evaluate(self, loader=None):
        """Loss, accuracies and confusion matrix on ``loader`` (default ``test_loader``)."""
        metrics = evaluate(self.model, self.test_loader if loader is None else loader,
                           self.loss_fn, self.num_classes, self.topk, self.metrics_type)
        if self.distributed is not None:
            metrics = self.distributed.reduce_metrics(metrics)
        self.num_classes = metrics.num_classes
        return metrics

    # ------------------------------------------------------------------ the loop

    def fit(self, epochs, stop_after=None):
        """Train until ``epochs`` epochs are complete (counting those done
        before a resume) and return the list of per-epoch records.

        ``stop_after`` stops after that many epochs *of this call*, leaving the
        schedule (built for ``epochs``) unfinished: continue later with
        :meth:`resume` and another ``fit(epochs)``.

        Each record's ``lr`` is the learning rate of the epoch's last
        optimizer step (of the first parameter group): the rate the epoch
        trained with for a per-epoch schedule, and where it had arrived by the
        epoch's end for a per-batch one (one-cycle). The scheduler steps
        after it, so the next epoch's rate is not the one logged.
        """
        last = epochs if stop_after is None else min(epochs, self.epoch + stop_after)
        if self.epoch == 0 and "schedule_plan" not in self.meta:
            # what resume_schedule needs to know of a schedule built for this run
            self.meta["schedule_plan"] = {"start": 0, "end": int(epochs)}
        if self.distributed is not None:
            self.distributed.start(self)
        while self.epoch < last:
            epoch = self.epoch + 1
            start = time.perf_counter()
            train = self.train_epoch(epoch)
            if self.distributed is not None:
                train = self.distributed.end_epoch(self.model, train)
            self._check_weights(epoch)
            record = {"epoch": epoch, "lr": self._step_lr}
            record.update(train.summary("train"))
            if self.test_loader is not None:
                with _overflow_reported_by_the_guards():
                    test = self.evaluate()
                if not math.isfinite(test.loss):
                    raise NonFiniteLossError(
                        f"the test loss became {test.loss} after epoch {epoch} (the training "
                        f"loss was {train.loss:.4g}, learning rate {self._step_lr}); training "
                        "stopped. Try a lower learning rate")
                record.update(test.summary("test"))
                record["test_confusion"] = test.matrix.tolist()
            if self.scheduler is not None and self.scheduler_interval == "epoch":
                self.scheduler.step()
            record["seconds"] = round(time.perf_counter() - start, 3)
            self.epoch = epoch
            self.history.append(record)
            self.log(self._format(record, epochs))
            if self.out_dir and self.is_main:
                self._write_outputs(record)
        return self.history

    def _format(self, record, epochs):
        if hasattr(self.metrics_type, "format"):
            return self.metrics_type.format(record, epochs)
        # One line of at most 100 columns (up to 999 epochs of up to 999 s);
        # the top-k accuracy is in the metrics log and in `striate evaluate`.
        text = (f"epoch {record['epoch']:>{len(str(epochs))}}/{epochs}  "
                f"train loss {record['train_loss']:.4f} acc {100 * record['train_acc']:.2f}%")
        if "test_acc" in record:
            text += f"  test loss {record['test_loss']:.4f} acc {100 * record['test_acc']:.2f}%"
        if record.get("lr") is not None:
            text += f"  lr {record['lr']:.3g}"
        return text + f"  {record['seconds']:.1f} s"

    def _write_outputs(self, record):
        os.makedirs(self.out_dir, exist_ok=True)  # only now: a run that fails early leaves nothing
        self._metrics_log.append(record)
        # the checkpoint vouches for the log lines it covers (see runcheck.py)
        self.meta["metrics_digest"] = records_digest(
            r for r in self._metrics_log.records() if r.get("epoch", 0) <= self.epoch)
        if self.plot:
            plot_learning_curve(self._metrics_log.records(), self.layout.curve_file,
                                title=self.meta.get("title"),
                                loss_name=getattr(self.loss_fn, "description", "cross-entropy"))
        self.save()

    # ------------------------------------------------------------------ checkpoints

    def save(self, path=None):
        """Write a checkpoint of the current state (default: ``out_dir/checkpoint``)."""
        path = path or self.checkpoint_path
        if path is None:
            raise ValueError("Trainer.save: no path given and no out_dir set")
        return save_checkpoint(path, self.model, self.optimizer, self.scheduler,
                               epoch=self.epoch, meta=self.meta)

    def resume(self, path=None, epochs=None):
        """Restore model, optimizer, scheduler, random state and epoch count from
        a checkpoint (default: this trainer's own) and drop metrics-log lines of
        epochs after it. Returns the :class:`~striate.train.checkpoint.Checkpoint`.

        Resuming this trainer's own run (``out_dir``) first checks the run's
        files against each other (:func:`~striate.train.runcheck.check_run`,
        with ``epochs`` the epochs the run will plan, if known) and raises
        :class:`~striate.train.runcheck.RunMismatchError` if they disagree;
        the safe repairs it reports are made here and kept in
        ``self.resume_notes``."""
        from .runcheck import check_run

        path = path or self.checkpoint_path
        if path is None:
            raise ValueError("Trainer.resume: no path given and no out_dir set")
        own = self.out_dir and os.path.abspath(RunLayout.of(path).run_dir) == \
            os.path.abspath(self.out_dir)
        self.resume_notes = check_run(self.out_dir, epochs) if own else []
        checkpoint = load_checkpoint(path)
        checkpoint.load_model(self.model)
        checkpoint.restore_training(self.optimizer, self.scheduler)
        self.epoch = checkpoint.epoch
        if self._metrics_log is not None:
            self.history = self._metrics_log.keep_epochs_up_to(self.epoch)
        return checkpoint

    def resume_schedule(self, schedule, epochs, warmup=0, plan=None, path=None):
        """:meth:`resume`, then the learning-rate schedule ``schedule`` (a name
        of :data:`~striate.train.schedules.SCHEDULES`) rebuilt for a run of
        ``epochs`` epochs in all, by the rules of :mod:`striate.train.schedules`:
        an unfinished schedule is re-planned to end at ``epochs``, a finished
        one-cycle or cosine schedule starts a new cycle over the added epochs.

        ``plan`` is the segment the schedule was planned over; by default the
        one saved in the checkpoint's meta (``schedule_plan``). It is kept in
        this trainer's meta, so later checkpoints carry it. Replaces this
        trainer's scheduler and interval; returns ``(checkpoint, note)``, the
        note saying what became of the schedule (None if unchanged).
        """
        from .schedules import resume_schedule

        self.scheduler = None  # rebuilt below: the saved one was planned for its own epochs
        checkpoint = self.resume(path, epochs)
        plan = plan if plan is not None else checkpoint.meta.get("schedule_plan")
        if plan is None:
            raise CheckpointError(f"{checkpoint.path}: the checkpoint does not say which epochs "
                                  "its schedule was planned over; pass plan={'start': 0, "
                                  "'end': <the epochs it was built for>}")
        steps = len(self.train_loader)
        self.scheduler, self.scheduler_interval, plan, note = resume_schedule(
            schedule, self.optimizer, plan, self.epoch, epochs, steps, warmup)
        self.meta = {**self.meta, "schedule_plan": plan}
        return checkpoint, note


def evaluate(model, loader, loss_fn=None, num_classes=None, topk=5, metrics=None):
    """:class:`EpochMetrics` (or the ``metrics`` class given) of ``model`` on
    ``loader``, in eval mode and without recording a graph; the model's
    train/eval mode is restored afterwards. ``num_classes`` defaults to the
    width of the model's output."""
    loss_fn = loss_fn or _default_loss()
    was_training = getattr(model, "training", False)
    model.eval()
    metrics_type, metrics = metrics or EpochMetrics, None
    try:
        with no_grad():
            for images, targets in loader:
                logits = model(images)
                loss = loss_fn(logits, targets)
                if metrics is None:
                    metrics = metrics_type(num_classes or int(logits.shape[1]), topk)
                metrics.update(float(loss.data), logits, targets)
    finally:
        model.train(was_training)
    if metrics is None:
        raise ValueError("evaluate: the loader yielded no batches")
    return metrics


def fit(model, optimizer, train_loader, test_loader=None, epochs=1, **options):
    """Train with a :class:`Trainer` built from these arguments; returns the
    per-epoch records (dicts with ``train_loss``, ``train_acc``, ``test_acc``, ...)."""
    return Trainer(model, optimizer, train_loader, test_loader, **options).fit(epochs)
