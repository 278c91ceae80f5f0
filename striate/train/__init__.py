"""Training: the :class:`Trainer` loop, metrics, the metrics log, plots,
checkpoints and the run directory's layout. Used by ``striate
train``/``evaluate``/``predict`` and from Python::

    from striate.train import Trainer, load_checkpoint

Nothing here imports tqdm, matplotlib, safetensors or Pillow until it is used.
"""
from .checkpoint import (Checkpoint, CheckpointError, load_checkpoint,  # noqa: F401
                         resolve_checkpoint, save_checkpoint)
from .history import MetricsLog, read_metrics  # noqa: F401
from .layout import CHECKPOINT_DIR, CURVE_FILE, METRICS_FILE, RunLayout, run_dir_of  # noqa: F401
from .metrics import (EpochMetrics, accuracy, confusion_matrix,  # noqa: F401
                      per_class_accuracy, topk_correct)
from .plots import plot_confusion_matrix, plot_learning_curve  # noqa: F401
from .trainer import NonFiniteLossError, Trainer, evaluate, fit  # noqa: F401
