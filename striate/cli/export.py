"""``striate export``: a trained model as an ONNX file."""
import os

from .common import UsageError, add_overwrite_option, positive_int


def register(subparsers):
    parser = subparsers.add_parser(
        "export", help="export a trained model to ONNX",
        description="Write the model of a training run as an ONNX graph (checked with "
                    "onnx.checker) whose input is (N, C, H, W) with the run's input size and a "
                    "dynamic batch size N. Needs the onnx package (pip install 'striate[onnx]').")
    parser.add_argument("checkpoint", metavar="RUN",
                        help="a run directory (runs/lenet5-digits) or its checkpoint/ directory")
    parser.add_argument("--format", choices=("onnx",), default="onnx",
                        help="output format (default onnx, the only one)")
    parser.add_argument("--out", metavar="FILE", help="output file (default RUN/model.onnx)")
    parser.add_argument("--opset", type=positive_int, default=17, metavar="N",
                        help="ONNX opset version, 13 or newer (default 17)")
    parser.add_argument("--static-batch", action="store_true",
                        help="fix the batch size to 1 instead of leaving it dynamic")
    add_overwrite_option(parser, "FILE")
    parser.set_defaults(handler=run)


def run(args):
    from ..train.checkpoint import load_checkpoint
    from ..train.layout import run_dir_of

    from ..runs.outputs import OutputPlan

    checkpoint = load_checkpoint(args.checkpoint)
    out = args.out or os.path.join(run_dir_of(checkpoint.path), "model.onnx")
    OutputPlan(args.overwrite).reads_run(checkpoint.path).reads(checkpoint.path, "RUN's checkpoint") \
        .writes(out, "--out").check()
    shape = checkpoint.meta.get("input_shape")
    if not shape:
        raise UsageError(f"{checkpoint.path} does not record the model's input shape")
    try:
        from ..onnx import export
        import onnx  # noqa: F401 - fail here with the install hint, before building anything
    except ImportError:
        raise UsageError("ONNX export needs the onnx package: pip install 'striate[onnx]'") from None
    model = checkpoint.build_model()
    export(model, out, tuple(shape), opset=args.opset, dynamic_batch=not args.static_batch)
    batch = "1" if args.static_batch else "N"
    print(f"{out}: ONNX opset {args.opset}, input ({batch}, {', '.join(map(str, shape))})")
    return 0
