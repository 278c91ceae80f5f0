"""``striate export``: a trained model as an ONNX file, or its weights as a
PyTorch state dict (``torch.load`` reads it, and a torchvision model of the
same architecture loads it by name)."""
import os

from .common import UsageError, add_overwrite_option, positive_int


#: Output format -> default file suffix.
SUFFIX = {"onnx": ".onnx", "pytorch": ".pth"}


def register(subparsers):
    parser = subparsers.add_parser(
        "export", help="export a trained model to ONNX, or its weights to PyTorch",
        description="--format onnx (default): write the model of a training run as an ONNX "
                    "graph (checked with onnx.checker) whose input is (N, C, H, W) with the "
                    "run's input size and a dynamic batch size N; needs the onnx package (pip "
                    "install 'striate[onnx]'). --format pytorch: write its weights as a "
                    "torch.save state dict (.pth) that torch.load(..., weights_only=True) "
                    "reads, without PyTorch.")
    parser.add_argument("checkpoint", metavar="RUN",
                        help="a run directory (runs/lenet5-digits) or its checkpoint/ directory")
    parser.add_argument("--format", choices=tuple(SUFFIX), default="onnx",
                        help="output format: onnx (default) or pytorch")
    parser.add_argument("--out", metavar="FILE",
                        help="output file (default RUN/model.onnx, or RUN/model.pth)")
    parser.add_argument("--opset", type=positive_int, default=17, metavar="N",
                        help="ONNX opset version, 13 or newer (default 17)")
    parser.add_argument("--static-batch", action="store_true",
                        help="fix the batch size to 1 instead of leaving it dynamic")
    parser.add_argument("--normalization", choices=("graph", "metadata"), default="graph",
                        help="graph: the graph takes pixels in [0, 1] and normalizes them "
                             "itself; metadata: the graph takes normalized inputs and the "
                             "mean/std are in its metadata_props (default graph). Either way "
                             "the class names, input shape and channel order are in the "
                             "metadata")
    add_overwrite_option(parser, "FILE")
    parser.set_defaults(handler=run)


def run(args):
    from ..runs.outputs import OutputPlan
    from ..train.checkpoint import load_checkpoint
    from ..train.layout import run_dir_of

    checkpoint = load_checkpoint(args.checkpoint)
    out = args.out or os.path.join(run_dir_of(checkpoint.path), "model" + SUFFIX[args.format])
    OutputPlan(args.overwrite).reads_run(checkpoint.path).writes(out, "--out").check()
    if args.format == "pytorch":
        from ..io import save_torch

        state = checkpoint.build_model().state_dict()  # the model's order, as torch keeps it
        save_torch(state, out)
        values = sum(int(getattr(v, "size", 0)) for v in state.values())
        print(f"{out}: PyTorch state dict, {len(state)} tensors, {values:,} values")
        return 0
    shape = checkpoint.meta.get("input_shape")
    if not shape:
        raise UsageError(f"{checkpoint.path} does not record the model's input shape")
    try:
        from ..onnx import export_run
        import onnx  # noqa: F401 - fail here with the install hint, before building anything
    except ImportError:
        raise UsageError("ONNX export needs the onnx package: pip install 'striate[onnx]'") from None
    model = checkpoint.build_model()
    export_run(model, checkpoint.meta, out, normalization=args.normalization, opset=args.opset,
               dynamic_batch=not args.static_batch)
    batch = "1" if args.static_batch else "N"
    taken = ("pixels in [0, 1], normalized in the graph" if args.normalization == "graph"
             else "normalized inputs (mean/std in the metadata)")
    print(f"{out}: ONNX opset {args.opset}, input ({batch}, {', '.join(map(str, shape))}) of "
          f"{taken}; {len(checkpoint.meta.get('classes') or [])} class names in the metadata")
    return 0
