"""``striate evaluate``: loss, accuracy, per-class accuracy and a confusion-matrix
PNG of a trained model on a dataset split."""
import sys

from ..train.layout import RunLayout
from .common import (UsageError, add_data_options, add_folder_options, add_overwrite_option,
                     measured_on, output_path, percent, positive_int)
from .segmentation import evaluate_segmentation
from ..runs.tasks import evaluation_task


def register(subparsers):
    parser = subparsers.add_parser(
        "evaluate", help="accuracy, per-class accuracy and a confusion matrix of a checkpoint",
        description="Evaluate a trained model on a dataset split: loss, top-1/top-5 accuracy, "
                    "per-class accuracy, and a confusion-matrix PNG.")
    parser.add_argument("checkpoint", metavar="CHECKPOINT_DIR",
                        help="a run directory (runs/lenet5-digits) or its checkpoint/ directory")
    parser.add_argument("--dataset",
                        help="dataset to evaluate on (default: the one it was trained on)")
    parser.add_argument("--split", choices=("test", "train"), default="test",
                        help="which split (default test)")
    parser.add_argument("--batch-size", type=positive_int, default=256, metavar="N",
                        help="images per batch (default 256)")
    parser.add_argument("--limit", type=positive_int, metavar="N",
                        help="only N images, spread evenly over the split")
    parser.add_argument("--plot", type=output_path, metavar="PNG",
                        help="where to write the confusion matrix (default: "
                             "RUN_DIR/confusion_matrix-DATASET-SPLIT.png)")
    add_overwrite_option(parser, "the --plot PNG")
    parser.add_argument("--tta", choices=("flip",),
                        help="test-time augmentation: 'flip' averages the predicted "
                             "probabilities of each image and its mirror (for clothes and "
                             "photos, not digits); default: none")
    add_data_options(parser)
    add_folder_options(parser, training=False)
    parser.set_defaults(handler=run)


def _evaluation_loader(checkpoint, args):
    from ..runs.evaluation import evaluation_loader

    if args.data is not None and args.dataset is not None:
        raise UsageError(f"--data {args.data} and --dataset {args.dataset} both name the images "
                         "to evaluate on; give one of them")
    return evaluation_loader(checkpoint.meta, checkpoint.path, dataset=args.dataset,
                             split=args.split, data_dir=args.data_dir, download=args.download,
                             limit=args.limit, batch_size=args.batch_size, folder=args.data,
                             log=print)


def _default_plot(checkpoint, name, split, tta):
    """RUN_DIR/confusion_matrix-NAME-SPLIT.png, checked before evaluation; None
    (with a note) when matplotlib is missing."""
    from ..runs.checks import note_missing
    from ..runs.outputs import OutputPlan

    if not note_missing("matplotlib", "no confusion matrix is drawn"):
        return None
    plot = RunLayout.of(checkpoint.path).confusion_matrix_file(name, split, tta)
    OutputPlan().writes(plot, "the confusion matrix (choose another place with --plot)",
                        report=True).check()
    return plot


def _warn_if_flips_change_labels(tta, name):
    """A note when mirroring does not keep ``name``'s labels (its augmentation
    preset has no flip: a mirrored digit or signal is not the same class)."""
    from ..runs.config import DATASET_AUGMENTATION

    if tta == "flip" and name in DATASET_AUGMENTATION and \
            "flip" not in (DATASET_AUGMENTATION[name] or ""):
        print(f"warning: --tta flip mirrors each image, but a mirrored {name} image is not "
              f"always the same class ({name}'s augmentation preset has no flip for that "
              f"reason); expect the flip-averaged accuracy to be lower than the plain one",
              file=sys.stderr)


def run(args):
    from ..train.checkpoint import load_checkpoint
    from ..train.metrics import per_class_accuracy
    from ..train.plots import plot_confusion_matrix
    from ..train.trainer import evaluate
    from ..train.tta import with_tta
    from ..runs.checks import check_finite_weights, require
    from ..runs.outputs import OutputPlan

    require("evaluate", "safetensors")
    if args.plot:
        require("evaluate --plot", "matplotlib")
        OutputPlan(args.overwrite).reads_run(args.checkpoint).writes(args.plot, "--plot").check()
    checkpoint = load_checkpoint(args.checkpoint)
    model = checkpoint.build_model()
    check_finite_weights(model, checkpoint.path)
    name, dataset, loader = _evaluation_loader(checkpoint, args)
    if evaluation_task(checkpoint, dataset, name) == "segmentation":
        if args.tta:
            raise UsageError(f"--tta {args.tta} averages a classifier's class probabilities over "
                             f"mirrored images; it does not apply to this segmentation model "
                             f"(leave --tta out)")
        return evaluate_segmentation(checkpoint, model, dataset, loader, name, args)
    _warn_if_flips_change_labels(args.tta, name)
    plot = args.plot or _default_plot(checkpoint, name, args.split, args.tta)
    metrics = evaluate(with_tta(model, args.tta), loader, num_classes=len(dataset.classes))
    classes = checkpoint.meta.get("classes") or dataset.classes
    model_name = checkpoint.meta.get("model", {}).get("name", "model")
    print(f"{model_name} (epoch {checkpoint.epoch}) on {name}: "
          f"{measured_on(dataset, args.split, bool(args.limit))}{', flip-averaged' if args.tta else ''}")
    print(f"accuracy {percent(metrics.accuracy)}  top-{metrics.k} "
          f"{percent(metrics.topk_accuracy)}  loss {metrics.loss:.4f}")
    print("per-class accuracy:")
    width = max(len(str(c)) for c in classes)
    recalls = per_class_accuracy(metrics.matrix)
    for index, (cls, recall) in enumerate(zip(classes, recalls)):
        row = metrics.matrix[index]
        print(f"  {str(cls):<{width}}  {percent(recall):>7}  ({row[index]}/{row.sum()})")
    if plot is not None:
        plot_confusion_matrix(metrics.matrix, classes, plot,
                              title=f"{model_name} on {name} {args.split}"
                                    f"{', flip-averaged' if args.tta else ''}: accuracy "
                                    f"{percent(metrics.accuracy)}")
        print(f"confusion matrix: {plot}")
    return 0
