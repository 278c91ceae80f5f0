"""``striate summary``: a model's layer-by-layer table of output shapes,
parameters, mult-adds and receptive fields."""
from .common import add_model_options, input_shape, model_kwargs, non_negative_int, positive_int


def register(subparsers):
    parser = subparsers.add_parser(
        "summary", help="layer-by-layer table of a model: shapes, parameters, mult-adds",
        description="Print a model's summary: each layer's output shape, parameter count, "
                    "mult-adds and receptive field, then the totals.")
    parser.add_argument("model", metavar="MODEL",
                        help="model name (see `striate models`) or a notation string such as "
                             "28x28-32C3-MP2-64C3-MP2-128N-10")
    parser.add_argument("--input-shape", type=input_shape, metavar="C,H,W",
                        help="input shape without the batch (default: the model's usual input)")
    parser.add_argument("--depth", type=non_negative_int, default=3, metavar="N",
                        help="how deep to show nested blocks (default 3)")
    parser.add_argument("--num-classes", type=positive_int, metavar="K",
                        help="output classes (default: the model's default)")
    add_model_options(parser)
    parser.set_defaults(handler=run)


def run(args):
    from .. import models
    from ..summary import summary
    from ..runs.checks import check_input_size

    kwargs = model_kwargs(args)
    if args.num_classes:
        kwargs["num_classes"] = args.num_classes
    input_shape = args.input_shape
    if input_shape is not None:
        kwargs.setdefault("in_channels", input_shape[0])
    model = models.create(args.model, **kwargs)
    if input_shape is None:
        input_shape = model.input_shape  # every zoo model records its intended input
    if len(input_shape) == 3:  # images: name the layer an input size is too small for
        check_input_size(model, tuple(input_shape), name=args.model,
                         suggest=lambda shape: "--input-shape " + ",".join(map(str, shape)))
    if hasattr(model, "notation_table"):  # a notation net: its tokens in the notes' terms
        print(model.notation_table() + "\n")
    print(summary(model, tuple(input_shape), depth=args.depth))
    return 0
