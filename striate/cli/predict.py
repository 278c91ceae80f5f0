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
    add_predict_options(parser)
    parser.set_defaults(handler=run)


def run(args):
    from ..autograd import Tensor, no_grad
    from ..backend import xp
    from ..functional import softmax
    from ..train.checkpoint import load_checkpoint
    from .images import load_image, prepare_image

    checkpoint = load_checkpoint(args.checkpoint)
    meta = checkpoint.meta
    if "input_shape" not in meta:
        raise UsageError(f"{checkpoint.path} does not record the model's input shape")
    model = checkpoint.build_model()
    if meta.get("task") == "segmentation":
        return predict_segmentation(args, checkpoint, model)
    if len(meta["input_shape"]) != 3:
        raise UsageError(f"{checkpoint.path} holds a model for {len(meta['input_shape']) - 1}-D "
                         "data; predict reads image files")
    invert = {"auto": "auto" if meta.get("background") == "dark" else False,
              "yes": True, "no": False}[args.invert]
    norm = meta.get("normalization") or {}
    # Decode every file first: one bad file stops the command before any output.
    batch = xp.stack([prepare_image(load_image(path), meta["input_shape"], norm.get("mean"),
                                    norm.get("std"), invert=invert,
                                    framing=meta.get("framing", "resize"))
                      for path in args.images])
    with no_grad():
        logits = model(Tensor(batch)).data.astype(xp.float64)
        probabilities = softmax(Tensor(logits), dim=1).data
    classes = meta.get("classes") or [str(i) for i in range(probabilities.shape[1])]
    k = min(args.top, probabilities.shape[1])
    for path, row in zip(args.images, probabilities):
        best = xp.argsort(-row, kind="stable")[:k]
        print(f"{path}: " + ", ".join(f"{classes[i]} {probability(row[i])}" for i in best))
    return 0
