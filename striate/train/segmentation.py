"""Segmentation: per-pixel losses and the metrics computed from a confusion matrix.

Symbols: N images, K classes, H x W pixels; ``C`` the (K, K) confusion
matrix over all pixels seen, ``C[t, p]`` = pixels of true class t predicted
as p (rows truth, columns prediction, as in :func:`confusion_matrix`). For a
class k: TP = C[k, k], FP = column sum - TP, FN = row sum - TP, and

    pixel accuracy = trace(C) / sum(C)
    IoU_k          = TP / (TP + FP + FN)          (Jaccard index)
    Dice_k         = 2 TP / (2 TP + FP + FN)       (F1 score)

A class absent from both truth and prediction has 0 / 0: its IoU and Dice
are NaN and left out of the means (the usual convention, e.g. of
torchmetrics' ``MeanIoU`` and the Cityscapes benchmark). Accumulating one
confusion matrix over the whole test set, rather than averaging per-image
scores, weights every pixel equally.

The mean IoU reported for training is over the *object* classes (all but
the background) and the foreground IoU treats every object class as one:
how well the objects are found, whatever their class.
"""
from ..autograd import Tensor
from ..backend import xp
from ..functional.arguments import as_array
from .metrics import confusion_matrix

__all__ = ["pixel_accuracy", "iou_per_class", "dice_per_class", "mean_iou", "foreground_iou",
           "dice_loss", "segmentation_loss", "SegmentationMetrics"]


def _counts(matrix):
    matrix = xp.asarray(matrix, dtype=xp.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"segmentation metrics: expected a square (K, K) confusion matrix, "
                         f"got shape {matrix.shape}")
    tp = xp.diag(matrix)
    return tp, matrix.sum(axis=0) - tp, matrix.sum(axis=1) - tp


def pixel_accuracy(matrix):
    """Fraction of pixels whose predicted class is the true one."""
    matrix = xp.asarray(matrix)
    return float(xp.trace(matrix) / max(matrix.sum(), 1))


def iou_per_class(matrix):
    """(K,) intersection over union of each class; NaN for a class absent from
    both truth and prediction."""
    tp, fp, fn = _counts(matrix)
    union = tp + fp + fn
    with xp.errstate(invalid="ignore", divide="ignore"):
        return xp.where(union > 0, tp / xp.maximum(union, 1), xp.nan)


def dice_per_class(matrix):
    """(K,) Dice coefficient 2TP / (2TP + FP + FN) of each class; NaN when absent."""
    tp, fp, fn = _counts(matrix)
    total = 2 * tp + fp + fn
    with xp.errstate(invalid="ignore", divide="ignore"):
        return xp.where(total > 0, 2 * tp / xp.maximum(total, 1), xp.nan)


def _mean_over(values, ignore):
    keep = [k for k in range(len(values)) if k not in ignore and not xp.isnan(values[k])]
    return float(xp.mean(values[keep])) if keep else float("nan")


def mean_iou(matrix, ignore=()):
    """Mean of :func:`iou_per_class` over the classes present, leaving out the
    class indices in ``ignore`` (e.g. ``(0,)`` for the background)."""
    return _mean_over(iou_per_class(matrix), set(ignore))


def foreground_iou(matrix, background=0):
    """IoU of "any object" against the background: every class but
    ``background`` merged into one."""
    matrix = xp.asarray(matrix)
    fg = [k for k in range(matrix.shape[0]) if k != background]
    binary = xp.array([[matrix[background, background], matrix[background, fg].sum()],
                       [matrix[fg, background].sum(), matrix[xp.ix_(fg, fg)].sum()]])
    return float(iou_per_class(binary)[1])


# --------------------------------------------------------------------------- losses


def dice_loss(logits, targets, eps=1.0):
    """Soft Dice loss (Milletari et al. 2016, V-Net): 1 - mean over classes of
    (2 sum(p g) + eps) / (sum(p) + sum(g) + eps), with p the softmax of
    ``logits`` (N, K, H, W), g the one-hot of ``targets`` (N, H, W), sums
    over the batch and the pixels. ``eps`` keeps an absent class at 1."""
    from ..functional import softmax

    logits = logits if isinstance(logits, Tensor) else Tensor(logits)
    targets = as_array(targets)
    if logits.ndim < 3 or targets.shape != logits.shape[:1] + logits.shape[2:]:
        raise ValueError(f"dice_loss: expected logits (N, K, H, W) and targets (N, H, W), got "
                         f"{tuple(logits.shape)} and {tuple(targets.shape)}")
    classes = logits.shape[1]
    one_hot = xp.moveaxis(xp.eye(classes, dtype=logits.dtype)[targets], -1, 1)
    axes = (0,) + tuple(range(2, logits.ndim))
    p = softmax(logits, dim=1)
    intersection = (p * Tensor(one_hot)).sum(dim=axes)
    sizes = p.sum(dim=axes) + Tensor(one_hot.sum(axis=axes))
    return 1.0 - ((2.0 * intersection + eps) / (sizes + eps)).mean()


def segmentation_loss(dice_weight=0.0):
    """``loss(logits, targets)``: per-pixel cross-entropy averaged over all
    pixels, plus ``dice_weight`` times :func:`dice_loss` when it is positive."""
    from ..functional import cross_entropy

    if not 0 <= dice_weight < float("inf"):  # also refuses NaN
        raise ValueError(f"segmentation_loss: dice_weight must be a finite number >= 0, "
                         f"got {dice_weight}")

    def loss(logits, targets):
        value = cross_entropy(logits, targets)
        return value + dice_weight * dice_loss(logits, targets) if dice_weight else value
    loss.description = f"cross-entropy + {dice_weight:g} x Dice" if dice_weight else "cross-entropy"
    return loss


# --------------------------------------------------------------------------- over an epoch


class SegmentationMetrics:
    """Running loss and pixel confusion matrix over many batches; the
    segmentation counterpart of :class:`~striate.train.metrics.EpochMetrics`
    (same ``update``/``loss``/``accuracy``/``summary``/``matrix``), so the
    :class:`~striate.train.Trainer` takes either.

    ``update(loss, logits, targets)``: mean loss of a batch, logits
    (N, K, H, W), targets (N, H, W). ``background`` is the class left out of
    the mean IoU and Dice and merged against in the foreground IoU (None:
    every class counts, and no foreground IoU).
    """

    def __init__(self, num_classes, topk=None, background=0):
        self.num_classes = int(num_classes)
        self.background = background
        self.count = 0
        self.loss_sum = 0.0
        self.matrix = xp.zeros((self.num_classes, self.num_classes), dtype=xp.int64)

    def update(self, loss, logits, targets):
        logits, targets = as_array(logits), as_array(targets)
        if logits.ndim < 3 or targets.shape != logits.shape[:1] + logits.shape[2:]:
            raise ValueError(f"SegmentationMetrics: expected logits (N, K, H, W) and targets "
                             f"(N, H, W), got {logits.shape} and {targets.shape}")
        n = targets.shape[0]
        self.count += n
        self.loss_sum += float(as_array(loss)) * n
        self.matrix += confusion_matrix(logits.argmax(axis=1), targets, self.num_classes)

    @property
    def loss(self):
        return self.loss_sum / max(self.count, 1)

    @property
    def accuracy(self):
        return pixel_accuracy(self.matrix)

    @property
    def ignore(self):
        return () if self.background is None else (self.background,)

    def summary(self, prefix):
        """A flat dict for the metrics log: loss, pixel accuracy (``acc``),
        mean IoU and Dice over the object classes, foreground IoU, per-class IoU."""
        iou = iou_per_class(self.matrix)
        record = {f"{prefix}_loss": self.loss, f"{prefix}_acc": self.accuracy,
                  f"{prefix}_miou": mean_iou(self.matrix, self.ignore),
                  f"{prefix}_dice": _mean_over(dice_per_class(self.matrix), set(self.ignore))}
        if self.background is not None:
            record[f"{prefix}_fg_iou"] = foreground_iou(self.matrix, self.background)
        record[f"{prefix}_iou"] = [None if xp.isnan(v) else float(v) for v in iou]
        return record

    @staticmethod
    def format(record, epochs):
        """One line per epoch for the training log."""
        text = (f"epoch {record['epoch']:>{len(str(epochs))}}/{epochs}  "
                f"train loss {record['train_loss']:.4f} "
                f"pixel acc {100 * record['train_acc']:6.2f}%")
        if "test_acc" in record:
            text += (f"  test loss {record['test_loss']:.4f} pixel acc "
                     f"{100 * record['test_acc']:6.2f}% mIoU {record['test_miou']:.3f}")
            if "test_fg_iou" in record:
                text += f" fg IoU {record['test_fg_iou']:.3f}"
            text += f" Dice {record['test_dice']:.3f}"
        if record.get("lr") is not None:
            text += f"  lr {record['lr']:.3g}"
        return text + f"  {record['seconds']:.1f} s"
