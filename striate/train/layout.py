"""The run directory: the one place that names the files of a training run.

    runs/lenet5-digits/                      the run directory (``--out``)
        checkpoint/                          the latest checkpoint (see :mod:`.checkpoint`)
        metrics.jsonl                        one JSON line per epoch (see :mod:`.history`)
        learning_curve.png                   loss and accuracy per epoch (see :mod:`.plots`)
        confusion_matrix-DATASET-SPLIT.png   written by ``striate evaluate``
        class_iou-DATASET-SPLIT.png          the same, for a segmentation model

    layout = RunLayout("runs/lenet5-digits")
    layout.metrics_file                      # 'runs/lenet5-digits/metrics.jsonl'
    RunLayout.of("runs/lenet5-digits/checkpoint").run_dir   # 'runs/lenet5-digits'

The names inside ``checkpoint/`` are the checkpoint's own format and live
with it, in :mod:`.checkpoint`.
"""
import os
from dataclasses import dataclass

__all__ = ["CHECKPOINT_DIR", "METRICS_FILE", "CURVE_FILE", "RunLayout", "run_dir_of"]

CHECKPOINT_DIR = "checkpoint"
METRICS_FILE = "metrics.jsonl"
CURVE_FILE = "learning_curve.png"


def run_dir_of(path):
    """The run directory of ``path``, which may be the run directory itself or
    its ``checkpoint`` directory. A checkpoint directory of another name
    (saved outside a run) is its own run directory."""
    path = os.fspath(path)
    parent, name = os.path.split(os.path.normpath(path))
    return parent if name == CHECKPOINT_DIR else path


@dataclass(frozen=True)
class RunLayout:
    """The paths of the files in the run directory ``run_dir``."""

    run_dir: str

    def __post_init__(self):
        object.__setattr__(self, "run_dir", os.fspath(self.run_dir))

    @classmethod
    def of(cls, path):
        """The layout of the run that ``path`` (a run directory or its
        ``checkpoint`` directory) belongs to."""
        return cls(run_dir_of(path))

    @property
    def checkpoint_dir(self):
        return os.path.join(self.run_dir, CHECKPOINT_DIR)

    @property
    def metrics_file(self):
        return os.path.join(self.run_dir, METRICS_FILE)

    @property
    def curve_file(self):
        return os.path.join(self.run_dir, CURVE_FILE)

    def confusion_matrix_file(self, dataset, split, tta=None):
        """Where ``striate evaluate`` draws the confusion matrix of ``dataset``'s
        ``split`` (under test-time augmentation ``tta``, a file of its own)."""
        suffix = f"-tta-{tta}" if tta else ""
        return os.path.join(self.run_dir, f"confusion_matrix-{dataset}-{split}{suffix}.png")

    def class_iou_file(self, dataset, split):
        """Where ``striate evaluate`` draws a segmentation model's IoU per class."""
        return os.path.join(self.run_dir, f"class_iou-{dataset}-{split}.png")

    @property
    def training_outputs(self):
        """What :class:`~striate.train.Trainer` writes: the metrics log, the
        learning curve and the checkpoint directory (starting a run afresh
        removes these)."""
        return (self.metrics_file, self.curve_file, self.checkpoint_dir)
