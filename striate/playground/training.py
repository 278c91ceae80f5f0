"""The playground's one training job: a background thread running the
ordinary :class:`~striate.train.Trainer`, and the events the page streams.

A job writes a normal run directory under the runs root (checkpoint,
``metrics.jsonl``, learning curve: ``striate evaluate`` reads it like any
other run). Only one job runs at a time; :meth:`TrainingJob.start` refuses a
second with :class:`JobConflict`.

Events are plain dicts appended to a list that only grows during a job (a
stream reader keeps its position as an index):

* ``{"type": "start", "run", "config", "epochs", "batches"}``
* ``{"type": "batch", "epoch", "batch", "step", "loss", "accuracy"}``: every training batch
* ``{"type": "epoch", "epoch", "train_loss", "train_acc", "test_loss", "test_acc"}``
* ``{"type": "snapshot", "epoch", "layer", "filters", "maps"}``: before the
  first epoch and after each, the first conv layer's filters and its feature
  maps of one fixed test image (PNG data URLs, see
  :func:`striate.playground.teaching.snapshot`)
* ``{"type": "done", "state": "finished" | "stopped" | "failed", "message", "run"}``

Per-batch numbers come from the loss function, which sees every batch's
logits and targets; the stop button is honoured between batches by the
loader, so a stopped run keeps its last complete epoch.
"""
import os
import threading
import time

from ..backend import xp

__all__ = ["TrainingJob", "JobConflict", "check_config", "LIMITS", "trainable_datasets"]

#: The ranges a page may ask for; the command line has no such limits.
LIMITS = {"epochs": (1, 100), "batch_size": (1, 1024), "lr": (1e-6, 10.0),
          "limit": (16, 1_000_000)}
FIELDS = ("model", "dataset", "epochs", "lr", "batch_size", "augment", "limit", "optimizer")


class JobConflict(RuntimeError):
    """A training job is already running."""


class _Stopped(Exception):
    """Raised by the loader between batches when the page pressed stop."""


def trainable_datasets():
    """The datasets available without a download: the embedded digits and
    any IDX dataset already on disk."""
    from ..data.datasets import find_dataset_dir, list_datasets

    names = []
    for name in list_datasets():
        if name == "digits":
            names.append(name)
            continue
        try:
            find_dataset_dir(name)
        except (OSError, ValueError):
            continue
        names.append(name)
    return names


def _number(config, key, kind):
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{key} must be a number, got {value!r}")
    if kind is int and value != int(value):
        raise ValueError(f"{key} must be a whole number, got {value!r}")
    low, high = LIMITS[key]
    if not low <= value <= high:
        raise ValueError(f"{key} must be between {low:g} and {high:g}, got {value!r}")
    return kind(value)


def check_config(request):
    """The training configuration (``striate.runs.config.DEFAULTS`` updated)
    for a page's JSON ``request``; ValueError names the first bad field.

    ``model`` is a name that :func:`striate.models.create` accepts.
    """
    from ..runs.config import DEFAULTS, OPTIMIZERS
    from ..models.registry import get_model_factory

    if not isinstance(request, dict):
        raise ValueError("the training request must be a JSON object")
    unknown = sorted(set(request) - set(FIELDS))
    if unknown:
        raise ValueError(f"unknown training options {unknown}; the options are {list(FIELDS)}")
    config = dict(DEFAULTS)
    given = {k: v for k, v in request.items() if v is not None and v != ""}
    if "model" in given:
        if not isinstance(given["model"], str):
            raise ValueError(f"model must be a model name, got {given['model']!r}")
        get_model_factory(given["model"])
        config["model"] = given["model"]
    if "dataset" in given:
        available = trainable_datasets()
        if given["dataset"] not in available:
            raise ValueError(f"dataset {given['dataset']!r} is not available here; choose one "
                             f"of {available}")
        config["dataset"] = given["dataset"]
    for key, kind in (("epochs", int), ("batch_size", int), ("lr", float), ("limit", int)):
        if key in given:
            config[key] = _number(given, key, kind)
    if "augment" in given:
        if not isinstance(given["augment"], bool):
            raise ValueError(f"augment must be true or false, got {given['augment']!r}")
        config["augment"] = given["augment"]
    if "optimizer" in given:
        if given["optimizer"] not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {list(OPTIMIZERS)}, got "
                             f"{given['optimizer']!r}")
        config["optimizer"] = given["optimizer"]
    return config


class _StoppableLoader:
    """``loader`` that raises :class:`_Stopped` before a batch once ``stop`` is set."""

    def __init__(self, loader, stop):
        self.loader, self.stop = loader, stop

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        for batch in self.loader:
            if self.stop.is_set():
                raise _Stopped()
            yield batch


class TrainingJob:
    """The one training job of a playground, writing runs under ``runs_root``.

    ``on_finish(run_dir)`` is called (in the job's thread) after a job that
    saved at least one epoch.
    """

    def __init__(self, runs_root, on_finish=None):
        self.runs_root = runs_root
        self.on_finish = on_finish
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None
        self._busy = False
        self.events = []
        self.job = 0          # increases with every start: a stream reader knows a new job
        self.run_dir = None

    @property
    def running(self):
        return self._busy

    def status(self):
        with self._lock:
            last = self.events[-1] if self.events else None
            return {"running": self._busy, "job": self.job, "events": len(self.events),
                    "run": os.path.basename(self.run_dir) if self.run_dir else None,
                    "last": last}

    def events_since(self, job, index):
        """``(job, events, finished)``: the events of the current job from
        ``index`` on (all of them if ``job`` is an older job)."""
        with self._lock:
            start = index if job == self.job else 0
            return self.job, self.events[start:], not self._busy

    def _emit(self, event):
        with self._lock:
            self.events.append(event)

    def _new_run_dir(self, config):
        stamp = time.strftime("%Y%m%d-%H%M%S")
        base = os.path.join(self.runs_root, f"{config['model']}-{config['dataset']}-{stamp}")
        path, n = base, 1
        while os.path.exists(path):
            n += 1
            path = f"{base}-{n}"
        return path

    def start(self, request):
        """Check ``request``, load the data, build the model and start the
        thread; returns the status. Raises :class:`JobConflict` while a job
        runs and ValueError for a bad request (nothing is written then)."""
        config = check_config(request)
        with self._lock:
            if self._busy:
                raise JobConflict("a training job is already running "
                                  f"({os.path.basename(self.run_dir)}); stop it or wait for it "
                                  "to finish before starting another")
            self._busy = True
        try:
            prepared = self._prepare(config)
        except BaseException:
            with self._lock:
                self._busy = False
            raise
        with self._lock:
            self.job += 1
            self.events = []
            self.run_dir = prepared["out"]
            self._stop.clear()
        self._emit({"type": "start", "run": os.path.basename(prepared["out"]),
                    "config": config, "epochs": config["epochs"],
                    "batches": len(prepared["run"].train_loader)})
        self._thread = threading.Thread(target=self._work, args=(prepared,), daemon=True,
                                        name="striate-playground-training")
        self._thread.start()
        return self.status()

    def stop(self):
        """Ask the running job to stop before its next batch; True if one runs."""
        if not self._busy:
            return False
        self._stop.set()
        return True

    def wait(self, timeout=None):
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _prepare(self, config):
        from ..runs.checks import missing_package
        from ..runs.config import prepare_run
        from ..functional import cross_entropy
        from ..train.trainer import Trainer

        run = prepare_run(config)
        out = self._new_run_dir(config)
        state = {"epoch": 1, "batch": 0, "step": 0}
        model = run.model

        def loss_fn(logits, targets):
            loss = cross_entropy(logits, targets)
            if model.training:  # evaluation after each epoch uses the same loss
                state["batch"] += 1
                state["step"] += 1
                correct = (logits.data.argmax(axis=1) == xp.asarray(targets.data)).mean()
                self._emit({"type": "batch", "epoch": state["epoch"], "batch": state["batch"],
                            "step": state["step"], "loss": float(loss.data),
                            "accuracy": float(correct)})
            return loss

        fixed = self._fixed_image(run)

        def log(_line):
            record = trainer.history[-1]
            self._emit({"type": "epoch", "epoch": record["epoch"],
                        **{k: record.get(k) for k in ("train_loss", "train_acc", "test_loss",
                                                      "test_acc", "seconds")}})
            self._snapshot(model, fixed, record["epoch"])
            state["epoch"], state["batch"] = record["epoch"] + 1, 0

        trainer = Trainer(model, run.optimizer, _StoppableLoader(run.train_loader, self._stop),
                          run.test_loader, loss_fn=loss_fn, scheduler=run.scheduler,
                          scheduler_interval=run.interval, out_dir=out, meta=run.meta(),
                          progress=False, plot=not missing_package("matplotlib"), log=log)
        return {"run": run, "trainer": trainer, "out": out, "config": config, "fixed": fixed}

    @staticmethod
    def _fixed_image(run):
        """The first image of the test (else training) loader, (1, C, H, W): the
        input whose feature maps the Train page follows while the model learns."""
        loader = run.test_loader if run.test_loader is not None else run.train_loader
        try:
            images, _ = next(iter(loader))
        except StopIteration:
            return None
        return images.data[:1].copy()

    def _snapshot(self, model, image, epoch):
        from .teaching import snapshot

        if image is None:
            return
        try:
            pictures = snapshot(model, image)
        except Exception:  # noqa: BLE001 - a picture that cannot be made never stops training
            return
        if pictures:
            self._emit({"type": "snapshot", "epoch": epoch, **pictures})

    def _work(self, prepared):
        trainer, config, out = prepared["trainer"], prepared["config"], prepared["out"]
        name = os.path.basename(out)
        self._snapshot(trainer.model, prepared["fixed"], 0)
        try:
            trainer.fit(config["epochs"])
            done = {"state": "finished",
                    "message": f"trained {trainer.epoch} epochs; the run is saved as {name}"}
        except _Stopped:
            saved = (f"the run {name} keeps its {trainer.epoch} complete epochs" if trainer.epoch
                     else "no epoch was complete, so nothing was saved")
            done = {"state": "stopped", "message": f"stopped during epoch {trainer.epoch + 1}; "
                                                   f"{saved}"}
        except Exception as error:  # noqa: BLE001 - reported to the page, not raised
            done = {"state": "failed", "message": f"training failed: {error}"}
        if trainer.epoch and self.on_finish is not None:
            try:
                self.on_finish(out)
            except Exception as error:  # noqa: BLE001 - the run is saved; only serving failed
                done["message"] += f" (it could not be loaded for the pages: {error})"
        with self._lock:
            self.events.append({"type": "done", "run": name, **done})
            self._busy = False
