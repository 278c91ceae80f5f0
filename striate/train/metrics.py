"""Classification metrics: top-k accuracy, the confusion matrix and a running
average over an epoch.

Symbols: N samples in a batch, K classes.

Everything here works on raw backend arrays (``tensor.data``), never records a
graph, and accumulates integer counts rather than averages of averages, so an
epoch's accuracy is exact whatever the batch sizes were (the last batch is
usually smaller).
"""
from ..backend import xp
from ..functional.arguments import as_array

__all__ = ["topk_correct", "accuracy", "confusion_matrix", "per_class_accuracy",
           "EpochMetrics"]



def topk_correct(logits, targets, k=1):
    """How many of the N rows of ``logits`` (N, K) have ``targets[i]`` among
    their ``k`` highest scores.

    Ties are broken like ``argpartition`` does (arbitrarily but
    deterministically); with float scores ties practically never happen.
    A ``k`` larger than K is clipped to K (PyTorch's ``topk`` would raise), so
    top-5 on a 3-class problem counts every sample as correct.
    """
    logits, targets = as_array(logits), as_array(targets)
    if logits.ndim != 2 or targets.shape != (logits.shape[0],):
        raise ValueError(f"topk_correct: expected logits (N, K) and targets (N,), got "
                         f"{tuple(logits.shape)} and {tuple(targets.shape)}")
    num_classes = logits.shape[1]
    k = min(int(k), num_classes)
    if k < 1:
        raise ValueError(f"topk_correct: k must be at least 1, got {k}")
    if k == 1:
        return int((logits.argmax(axis=1) == targets).sum())
    # argpartition puts the k largest in the last k columns (unordered among themselves).
    top = xp.argpartition(logits, num_classes - k, axis=1)[:, num_classes - k:]
    return int((top == targets[:, None]).any(axis=1).sum())


def accuracy(logits, targets, topk=(1,)):
    """Fractions of samples whose target is among the k best scores, one per k."""
    n = as_array(targets).shape[0]
    return tuple(topk_correct(logits, targets, k) / max(n, 1) for k in topk)


def confusion_matrix(predictions, targets, num_classes):
    """``C`` (K, K) int64 with ``C[t, p]`` = how many samples of true class ``t``
    were predicted as ``p`` (rows: truth, columns: prediction, as scikit-learn
    lays it out)."""
    predictions, targets = as_array(predictions), as_array(targets)
    if predictions.shape != targets.shape:
        raise ValueError(f"confusion_matrix: predictions {tuple(predictions.shape)} and "
                         f"targets {tuple(targets.shape)} differ in shape")
    for name, values in (("predictions", predictions), ("targets", targets)):
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(f"confusion_matrix: {name} must lie in [0, {num_classes}), got "
                             f"values from {values.min()} to {values.max()}")
    # One bincount over the flattened (truth, prediction) pair: no loop over samples.
    pairs = targets.astype(xp.int64) * num_classes + predictions.astype(xp.int64)
    counts = xp.bincount(pairs.ravel(), minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def per_class_accuracy(matrix):
    """Recall of each class from a confusion matrix: diagonal / row sum
    (NaN for a class with no samples)."""
    matrix = xp.asarray(matrix)
    totals = matrix.sum(axis=1)
    with xp.errstate(invalid="ignore", divide="ignore"):
        return xp.where(totals > 0, xp.diag(matrix) / xp.maximum(totals, 1), xp.nan)


class EpochMetrics:
    """Running loss, top-1/top-k accuracy and confusion matrix over many batches.

    ``update(loss, logits, targets)`` takes the *mean* loss of a batch (what
    ``cross_entropy`` returns) and weights it by the batch size, so that
    ``loss`` is the mean over all samples seen.
    """

    def __init__(self, num_classes, topk=5):
        self.num_classes = int(num_classes)
        self.k = min(int(topk), self.num_classes)
        self.count = 0
        self.loss_sum = 0.0
        self.correct = 0
        self.correct_topk = 0
        self.matrix = xp.zeros((self.num_classes, self.num_classes), dtype=xp.int64)

    def update(self, loss, logits, targets):
        logits, targets = as_array(logits), as_array(targets)
        n = targets.shape[0]
        self.count += n
        self.loss_sum += float(as_array(loss)) * n
        predictions = logits.argmax(axis=1)
        self.correct += int((predictions == targets).sum())
        self.correct_topk += topk_correct(logits, targets, self.k)
        self.matrix += confusion_matrix(predictions, targets, self.num_classes)

    @property
    def loss(self):
        return self.loss_sum / max(self.count, 1)

    @property
    def accuracy(self):
        return self.correct / max(self.count, 1)

    @property
    def topk_accuracy(self):
        return self.correct_topk / max(self.count, 1)

    def summary(self, prefix):
        """A flat dict for the metrics log, e.g. ``{"test_loss": ..., "test_acc": ...}``."""
        return {f"{prefix}_loss": self.loss, f"{prefix}_acc": self.accuracy,
                f"{prefix}_top{self.k}_acc": self.topk_accuracy}
