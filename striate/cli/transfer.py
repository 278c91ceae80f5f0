"""The transfer-learning options of ``striate train``: ``--init-from``,
``--freeze``, ``--new-head``, ``--lr-head``.

They become one ``transfer`` entry of the run's configuration (see
:mod:`striate.runs.transfer`, which does the work).
"""
from .common import positive_float

__all__ = ["add_transfer_options", "transfer_config"]


def add_transfer_options(parser):
    group = parser.add_argument_group("transfer learning")
    group.add_argument("--init-from", metavar="FILE_OR_RUN",
                       help="start from these weights, matched by name: a PyTorch checkpoint "
                            "(.pt/.pth/.bin, read without PyTorch), a safetensors file, or a "
                            "striate run directory; prints which tensors were loaded, new, or "
                            "skipped")
    group.add_argument("--init-key", metavar="KEY",
                       help="the entry of a PyTorch checkpoint that holds the state dict "
                            "(default: the file itself, or state_dict/model/...)")
    group.add_argument("--freeze", nargs="+", action="extend", metavar="PATTERN",
                       help="do not train these parameters: layer names (layer1,layer2), shell "
                            "patterns (features.*) or all-but-head; frozen batch norms keep "
                            "their running statistics. Needs --init-from")
    group.add_argument("--new-head", action="store_true", default=None,
                       help="train a freshly initialized classifier for this dataset's classes "
                            "instead of loading the checkpoint's. Needs --init-from")
    group.add_argument("--lr-head", type=positive_float, metavar="LR",
                       help="learning rate of the classifier (default: --lr)")


def transfer_config(args):
    """The ``transfer`` configuration entry from the command line, or None."""
    from ..runs.transfer import transfer_config as config

    return config(args.init_from, key=args.init_key, freeze=args.freeze,
                  new_head=args.new_head, lr_head=args.lr_head)
