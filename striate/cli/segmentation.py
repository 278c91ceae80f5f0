"""What ``striate train``/``evaluate``/``predict`` do differently for a
segmentation model (one label per pixel): the result lines, the IoU report
and chart, and the colour overlay of a predicted label map.

The commands call in here with one line each when the checkpoint or the
dataset says ``task == "segmentation"``.

Symbols: K classes (0 = background), H x W pixels.
"""
import os

from .common import (UsageError, add_overwrite_option, measured_on, non_negative_float,
                     percent)

__all__ = ["add_task_options", "print_segmentation_result", "evaluate_segmentation",
           "add_predict_options", "predict_segmentation", "overlay", "PALETTE"]

#: RGB of each class's overlay; class 0 (background) is left uncoloured. Chosen
#: far apart in CIELAB once blended over white ink and over grey (farthest-point
#: picks from a 6-level RGB grid), so that no two digits share a look.
PALETTE = [(0, 0, 0), (0, 0, 255), (0, 255, 0), (255, 0, 0), (255, 204, 0), (255, 51, 204),
           (0, 0, 102), (0, 255, 204), (0, 102, 0), (0, 153, 255), (102, 0, 0),
           (153, 153, 0), (102, 0, 153), (255, 153, 102)]
OVERLAY_ALPHA = 0.6   # how strongly a class colour covers the image
OVERLAY_ZOOM = 4      # overlay pixels per image pixel: a 64x64 scene becomes 256x256


def add_task_options(parser):
    """Options of ``striate train`` that only segmentation uses."""
    parser.add_argument("--dice-weight", type=non_negative_float, metavar="W",
                        help="segmentation only: add W times the soft Dice loss to the "
                             "per-pixel cross-entropy (default 0: cross-entropy alone)")


def print_segmentation_result(record, on="the test images"):
    """After training: the test scores of the last epoch (measured ``on``), if it
    was a segmentation run."""
    if "test_miou" not in record:
        return
    text = f"test mean IoU {record['test_miou']:.3f} (object classes) on {on}"
    if "test_fg_iou" in record:
        text += f", foreground IoU {record['test_fg_iou']:.3f}"
    print(text + f", Dice {record['test_dice']:.3f}, pixel accuracy {percent(record['test_acc'])}")


def evaluate_segmentation(checkpoint, model, dataset, loader, name, args):
    """``striate evaluate`` for a segmentation model: pixel accuracy, mean and
    per-class IoU and Dice from the confusion matrix over the split, and an
    IoU chart PNG."""
    from ..train.plots import plot_class_iou
    from ..train.segmentation import (SegmentationMetrics, dice_per_class, iou_per_class,
                                      segmentation_loss)
    from ..train.trainer import evaluate
    from ..train.layout import RunLayout

    weight = (checkpoint.meta.get("config") or {}).get("dice_weight") or 0.0
    metrics = evaluate(model, loader, segmentation_loss(dice_weight=weight),
                       num_classes=len(dataset.classes), metrics=SegmentationMetrics)
    summary = metrics.summary("test")
    classes = checkpoint.meta.get("classes") or dataset.classes
    model_name = checkpoint.meta.get("model", {}).get("name", "model")
    print(f"{model_name} (epoch {checkpoint.epoch}) on {name}: "
          f"{measured_on(dataset, args.split, bool(args.limit))}, {int(metrics.matrix.sum()):,} pixels")
    print(f"pixel accuracy {percent(metrics.accuracy)}  mean IoU {summary['test_miou']:.4f} "
          f"(over the {len(classes) - 1} object classes)  foreground IoU "
          f"{summary['test_fg_iou']:.4f}  mean Dice {summary['test_dice']:.4f}  "
          f"loss {metrics.loss:.4f}")
    iou, dice = iou_per_class(metrics.matrix), dice_per_class(metrics.matrix)
    width = max(len(str(c)) for c in classes)
    print(f"  {'class':<{width}}     IoU    Dice  pixels (true)")
    for k, cls in enumerate(classes):
        scores = ("  absent  absent" if iou[k] != iou[k]
                  else f"  {iou[k]:6.4f}  {dice[k]:6.4f}")
        print(f"  {str(cls):<{width}}{scores}  {int(metrics.matrix[k].sum()):,}")
    plot = args.plot or RunLayout.of(checkpoint.path).class_iou_file(name, args.split)
    plot_class_iou(iou, classes, plot, ignore=(0,),
                   title=f"{model_name} on {name} {args.split}: mean IoU "
                         f"{summary['test_miou']:.3f}, foreground IoU {summary['test_fg_iou']:.3f}")
    print(f"IoU per class: {plot}")
    return 0


def add_predict_options(parser):
    parser.add_argument("--overlay-dir", metavar="DIR",
                        help="segmentation models: where to write each IMAGE's colour overlay "
                             "IMAGE-overlay.png (default: beside the image)")
    add_overwrite_option(parser, "an existing IMAGE-overlay.png")


def overlay(grey, labels, classes):
    """An RGB uint8 picture (H*Z, W*Z, 3), Z = ``OVERLAY_ZOOM``: the grey image
    ``grey`` (H, W) in [0, 1] with each non-background pixel of ``labels``
    (H, W) tinted in its class colour, and a legend row per class found."""
    from PIL import Image, ImageDraw

    from ..backend import xp

    base = xp.repeat(xp.clip(grey, 0, 1)[..., None] * 255.0, 3, axis=2)
    colours = xp.array([PALETTE[k % len(PALETTE)] for k in range(len(classes))], dtype=xp.float64)
    tinted = (1 - OVERLAY_ALPHA) * base + OVERLAY_ALPHA * colours[labels]
    picture = xp.where((labels > 0)[..., None], tinted, base).astype(xp.uint8)
    picture = picture.repeat(OVERLAY_ZOOM, axis=0).repeat(OVERLAY_ZOOM, axis=1)
    found = [k for k in range(1, len(classes)) if (labels == k).any()]
    row = 14
    canvas = Image.new("RGB", (picture.shape[1], picture.shape[0] + row * max(1, len(found)) + 4),
                       (255, 255, 255))
    canvas.paste(Image.fromarray(picture), (0, 0))
    draw = ImageDraw.Draw(canvas)
    top = picture.shape[0] + 2
    if not found:
        draw.text((4, top), "no object found", fill=(0, 0, 0))
    for i, k in enumerate(found):
        y = top + i * row
        draw.rectangle([4, y + 1, 14, y + 11], fill=tuple(PALETTE[k % len(PALETTE)]))
        draw.text((20, y), f"{classes[k]}: {int((labels == k).sum())} px", fill=(0, 0, 0))
    return canvas


def _overlay_path(image_path, directory):
    stem = os.path.splitext(os.path.basename(image_path))[0]
    return os.path.join(directory or os.path.dirname(os.path.abspath(image_path)),
                        f"{stem}-overlay.png")


def predict_segmentation(args, checkpoint, model):
    """``striate predict`` for a segmentation model: the label map of each
    image, printed as the classes found (with their pixel counts) and written
    as a colour overlay PNG."""
    from ..autograd import Tensor, no_grad
    from ..backend import xp
    from ..runs.outputs import OutputPlan
    from ..train.atomic import atomic_path
    from ..data.images import load_image, prepare_image

    meta = checkpoint.meta
    channels, height, width = meta["input_shape"]
    norm = meta.get("normalization") or {}
    classes = meta.get("classes") or [str(k) for k in range(model.head.out_channels)]
    invert = {"auto": "auto", "yes": True, "no": False}[args.invert]
    multiple = 2 ** getattr(model, "depth", 4)
    inputs = []
    for path in args.images:  # decode and check every file before writing anything
        image = load_image(path)
        w, h = image.size
        if h % multiple or w % multiple:
            raise UsageError(f"{path} is {w}x{h} pixels; this U-Net needs sides divisible by "
                             f"{multiple} (it was trained on {width}x{height} scenes)")
        grey = prepare_image(image, (channels, h, w), invert=invert, framing="resize")
        inputs.append((path, grey, prepare_image(image, (channels, h, w), norm.get("mean"),
                                                 norm.get("std"), invert=invert,
                                                 framing="resize")))
    plan = OutputPlan(args.overwrite)
    for path in args.images:
        plan.reads(path, "IMAGE")
    if args.overlay_dir:
        plan.writes_dir(args.overlay_dir, "--overlay-dir")
    for path in args.images:
        plan.writes(_overlay_path(path, args.overlay_dir),
                    "--overlay-dir's overlay" if args.overlay_dir else "the overlay")
    plan.check()
    if args.overlay_dir:
        os.makedirs(args.overlay_dir, exist_ok=True)
    for path, grey, x in inputs:
        with no_grad():
            labels = model(Tensor(x[None])).data[0].argmax(axis=0)
        counts = xp.bincount(labels.ravel(), minlength=len(classes))
        found = sorted(range(1, len(classes)), key=lambda k: -counts[k])
        found = [k for k in found if counts[k]]
        out = _overlay_path(path, args.overlay_dir)
        with atomic_path(out) as tmp:
            overlay(grey.mean(axis=0), labels, classes).save(tmp, format="PNG")
        listed = ", ".join(f"{classes[k]} ({counts[k]:,} px)" for k in found) or "nothing"
        print(f"{path}: {listed} -> {out}")
    return 0
