"""``striate predict``: classify image files with a trained model."""
from .common import UsageError, positive_int, probability
from .segmentation import add_predict_options, predict_segmentation


def register(subparsers):
    parser = subparsers.add_parser(
        "predict", help="classify image files with a trained model",
        description="Classify PNG/JPEG files of any size and mode: each is converted to the "
                    "model's input (grey or RGB, inverted if dark-on-light, cropped and "
                    "resized like the training images, normalized as in training) and the "
                    "most probable classes are printed.")
    parser.add_argument("checkpoint", metavar="CHECKPOINT_DIR",
                        help="a run directory (runs/lenet5-digits) or its checkpoint/ directory")
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files")
    parser.add_argument("--top", type=positive_int, default=3, metavar="K",
                        help="how many classes to print per image (default 3)")
    parser.add_argument("--invert", choices=("auto", "yes", "no"), default="auto",
                        help="invert grey levels: auto (when the image is dark-on-light and the "
                        "training images were light-on-dark), yes or no (default auto)")
    parser.add_argument("--mc-dropout", type=positive_int, metavar="N",
                        help="run N passes with dropout on and print each class's mean "
                             "probability ± its standard deviation (models with dropout only)")
    add_predict_options(parser)
    parser.set_defaults(handler=run)


def run(args):
    import sys

    from ..autograd import Tensor, no_grad
    from ..backend import xp
    from ..functional import softmax
    from ..train.checkpoint import load_checkpoint
    from ..runs.checks import check_finite_weights, require
    from ..data.images import is_blank, load_image, prepare_image

    require("predict", "safetensors", "PIL")
    checkpoint = load_checkpoint(args.checkpoint)
    meta = checkpoint.meta
    if "input_shape" not in meta:
        raise UsageError(f"{checkpoint.path} does not record the model's input shape")
    model = checkpoint.build_model()
    check_finite_weights(model, checkpoint.path)
    if meta.get("task") == "segmentation":
        return predict_segmentation(args, checkpoint, model)
    if len(meta["input_shape"]) != 3:
        raise UsageError(f"{checkpoint.path} holds a model for {len(meta['input_shape']) - 1}-D "
                         "data; predict reads image files")
    invert = {"auto": "auto" if meta.get("background") == "dark" else False,
              "yes": True, "no": False}[args.invert]
    norm = meta.get("normalization") or {}
    # Decode every file first: one bad file stops the command before any output.
    images = [load_image(path) for path in args.images]
    batch = xp.stack([prepare_image(image, meta["input_shape"], norm.get("mean"),
                                    norm.get("std"), invert=invert,
                                    framing=meta.get("framing", "resize"))
                      for image in images])
    if args.mc_dropout:
        from .uncertainty import print_mc_dropout
        return print_mc_dropout(model, batch, args.images, meta.get("classes"), args.mc_dropout,
                                args.top)
    with no_grad(), xp.errstate(all="ignore"):
        logits = model(Tensor(batch)).data.astype(xp.float64)
    for path, row in zip(args.images, logits):
        if not xp.isfinite(row).all():
            raise UsageError(f"the model's output for {path} is not finite (NaN or infinity): "
                             f"the model in {checkpoint.path} is damaged; no prediction made")
    probabilities = softmax(Tensor(logits), dim=1).data
    classes = meta.get("classes") or [str(i) for i in range(probabilities.shape[1])]
    k = min(args.top, probabilities.shape[1])
    for path, image, row in zip(args.images, images, probabilities):
        if is_blank(image):
            print(f"warning: {path} is blank (every pixel has the same value); the prediction "
                  "for it means nothing", file=sys.stderr)
        best = xp.argsort(-row, kind="stable")[:k]
        print(f"{path}: " + ", ".join(f"{classes[i]} {probability(row[i])}" for i in best))
    return 0
