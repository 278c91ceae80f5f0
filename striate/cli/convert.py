"""``striate convert``: a PyTorch checkpoint to safetensors, without PyTorch."""
import os

from .common import UsageError, add_overwrite_option


def register(subparsers):
    parser = subparsers.add_parser(
        "convert", help="convert PyTorch weights (.pt/.pth/.bin) to safetensors",
        description="Read a state dict from a PyTorch checkpoint (torch.save zip format; "
                    "read without PyTorch and without running any code from the file) or a "
                    "safetensors file, and write it as safetensors. Wrappers such as "
                    "{'state_dict': ...} and a 'module.' prefix are removed.")
    parser.add_argument("source", metavar="IN", help="PyTorch checkpoint or safetensors file")
    parser.add_argument("target", metavar="OUT", help="safetensors file to write")
    parser.add_argument("--key", metavar="KEY",
                        help="the checkpoint entry that holds the state dict (default: the "
                             "file itself, or state_dict/model/...)")
    parser.add_argument("--keep-prefix", action="store_true",
                        help="keep a 'module.' (DataParallel/DDP) prefix on every name")
    add_overwrite_option(parser, "OUT")
    parser.set_defaults(handler=run)


def run(args):
    from ..io import load, save_safetensors
    from ..runs.outputs import OutputPlan

    if not os.path.isfile(args.source):
        raise UsageError(f"{args.source}: no such file")
    OutputPlan(args.overwrite).reads(args.source, "IN").writes(args.target, "OUT").check()
    state = load(args.source, key=args.key, strip_prefix=not args.keep_prefix)
    save_safetensors(state, args.target, metadata={"source": os.path.basename(args.source)})
    values = sum(array.size for array in state.values())
    print(f"{args.target}: {len(state)} tensors, {values:,} values")
    return 0
