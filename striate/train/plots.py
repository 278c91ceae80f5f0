"""Pictures of a training run: the learning curve and the confusion matrix.

matplotlib is imported here, inside the functions, so that ``import striate``
stays light. We draw on a bare ``Figure`` with the Agg canvas instead of
``pyplot``: no global figure state, no GUI backend, works on a headless
machine, and safe to call from a library.
"""
from ..backend import xp
from .atomic import atomic_path

__all__ = ["plot_learning_curve", "plot_confusion_matrix", "plot_class_iou"]


def _figure(width, height):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def _save(figure, path):
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")


def plot_learning_curve(records, path, title=None, loss_name="cross-entropy"):
    """Loss (left) and accuracy (right) per epoch, train and test, from the
    records of a metrics log (keys ``epoch``, ``train_loss``, ``test_loss``,
    ``train_acc``, ``test_acc``; missing or null values are skipped). A
    segmentation run (records with ``test_miou``) gets a third panel, mean IoU,
    and its accuracy is called what it is: pixel accuracy. ``loss_name`` says
    what the loss is (``"cross-entropy + 0.5 x Dice"``). Returns the figure."""
    from matplotlib.ticker import MaxNLocator

    segmentation = any("test_miou" in r or "train_miou" in r for r in records)
    panels = [("loss", loss_name, 1.0),
              ("acc", "pixel accuracy (%)" if segmentation else "accuracy (%)", 100.0)]
    if segmentation:
        panels.append(("miou", "mean IoU", 1.0))
    figure = _figure(4.6 * len(panels), 4)
    epochs = [r["epoch"] for r in records] or [1]
    for axes, (metric, label, scale) in zip(figure.subplots(1, len(panels)), panels):
        shown = []
        for split, style in (("train", "o-"), ("test", "s-")):
            points = [(r["epoch"], r.get(f"{split}_{metric}")) for r in records]
            points = [(e, scale * v) for e, v in points if v is not None]
            if points:
                axes.plot(*zip(*points), style, markersize=5 if len(points) == 1 else 3,
                          label=split, clip_on=False)
                shown += [v for _, v in points]
        axes.set_xlabel("epoch")
        axes.set_ylabel(label)
        # Whole epochs only, and room around a single one (not a 0.96..1.04 axis).
        if len(epochs) <= 12:
            axes.set_xticks(epochs)
        else:
            axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlim(min(epochs) - 0.5, max(epochs) + 0.5)
        if shown and metric != "loss":  # a share: from a margin below its lowest value to the top
            axes.set_ylim(max(0.0, min(shown) - 0.05 * scale), scale)
        elif shown:
            axes.set_ylim(0.0, 1.05 * max(shown) or 1.0)
        axes.grid(True, alpha=0.3)
        if shown:
            axes.legend()
        final = records[-1].get(f"test_{metric}") if records else None
        if metric == "loss":
            axes.set_title(loss_name)
        elif final is not None:
            axes.set_title(f"final test {label.split(' (')[0]} "
                           + (f"{scale * final:.2f}%" if scale == 100.0 else f"{final:.3f}"))
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    _save(figure, path)
    return figure


def plot_confusion_matrix(matrix, class_names, path, title=None):
    """A K x K heat map, rows true class, columns predicted class, with the
    counts written in the cells (for K up to 30; beyond that they would not
    fit)."""
    matrix = xp.asarray(matrix)
    k = matrix.shape[0]
    names = [str(n) for n in class_names] if class_names is not None else [str(i) for i in range(k)]
    size = max(5.0, 0.45 * k + 2.5)
    figure = _figure(size + 1.0, size)
    axes = figure.subplots()
    image = axes.imshow(matrix, cmap="Blues", interpolation="nearest")
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04)
    axes.set_xticks(range(k))
    axes.set_yticks(range(k))
    axes.set_xticklabels(names, rotation=45 if max(map(len, names)) > 2 else 0, ha="right"
                         if max(map(len, names)) > 2 else "center")
    axes.set_yticklabels(names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    if k <= 30:
        threshold = matrix.max() / 2.0 if matrix.size else 0
        for t in range(k):
            for p in range(k):
                axes.text(p, t, str(int(matrix[t, p])), ha="center", va="center", fontsize=7,
                          color="white" if matrix[t, p] > threshold else "black")
    total = matrix.sum()
    accuracy = xp.trace(matrix) / total if total else float("nan")
    axes.set_title(title or f"confusion matrix (accuracy {100.0 * accuracy:.2f}%)")
    figure.tight_layout()
    _save(figure, path)


def plot_class_iou(iou, class_names, path, title=None, ignore=()):
    """A bar per class of its IoU (``iou`` (K,), NaN for a class absent from
    truth and prediction, drawn as an "absent" label), with the mean over the
    classes not in ``ignore`` as a dashed line."""
    iou = xp.asarray(iou, dtype=xp.float64)
    names = [str(n) for n in class_names]
    figure = _figure(max(6.0, 0.5 * len(names) + 2.0), 4)
    axes = figure.subplots()
    present = ~xp.isnan(iou)
    colors = ["0.6" if k in ignore else "tab:blue" for k in range(len(names))]
    axes.bar(range(len(names)), xp.where(present, iou, 0.0), color=colors)
    for k, value in enumerate(iou):
        axes.text(k, (0.0 if xp.isnan(value) else value) + 0.01,
                  "absent" if xp.isnan(value) else f"{value:.2f}", ha="center", va="bottom",
                  fontsize=7)
    keep = [k for k in range(len(names)) if k not in ignore and present[k]]
    if keep:
        mean = float(iou[keep].mean())
        axes.axhline(mean, color="tab:red", linestyle="--", linewidth=1,
                     label=f"mean IoU {mean:.3f}" + (" (grey bars left out)" if ignore else ""))
        axes.legend(loc="lower right")
    axes.set_xticks(range(len(names)))
    axes.set_xticklabels(names, rotation=45 if max(map(len, names)) > 2 else 0,
                         ha="right" if max(map(len, names)) > 2 else "center")
    axes.set_ylim(0, 1.08)
    axes.set_ylabel("IoU")
    axes.set_title(title or "IoU per class")
    axes.grid(True, axis="y", alpha=0.3)
    figure.tight_layout()
    _save(figure, path)
