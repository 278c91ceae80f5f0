"""The transfer-learning options of ``striate train``: ``--init-from``,
``--freeze``, ``--new-head``, ``--lr-head``.

They become one ``transfer`` entry of the run's configuration, so that
``--resume`` rebuilds the same frozen model and optimizer groups (it does not
read the initial weights again: the checkpoint has newer ones).
"""
import os

from .common import UsageError, positive_float

__all__ = ["add_transfer_options", "transfer_config", "read_init_state", "apply_transfer"]


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
    given = [f"--{name.replace('_', '-')}" for name in ("freeze", "new_head", "lr_head", "init_key")
             if getattr(args, name, None)]
    if args.init_from is None:
        if given:
            raise UsageError(f"{', '.join(given)} need(s) --init-from FILE_OR_RUN")
        return None
    if not os.path.exists(args.init_from):
        raise UsageError(f"--init-from {args.init_from}: no such file or run directory")
    return {"init_from": os.path.abspath(args.init_from), "key": args.init_key,
            "freeze": list(args.freeze or []), "new_head": bool(args.new_head),
            "lr_head": args.lr_head}


def read_init_state(path, key=None):
    """``{name: array}`` from a weights file (by content) or a striate run directory."""
    if os.path.isdir(path):
        from ..train.checkpoint import load_checkpoint

        return dict(load_checkpoint(path).model_state)
    from ..io import load

    return load(path, key=key)


def apply_transfer(model, transfer, lr, load_weights=True):
    """Load, replace the head, freeze: returns the optimizer's parameter groups.

    Every check (file readable, names and shapes matching, patterns matching)
    runs here, before the run writes anything.
    """
    from ..transfer import (TransferError, count_parameters, find_head, freeze,
                            load_matching, parameter_groups, replace_head)

    try:
        head = find_head(model)
        if transfer["new_head"]:
            out = model.get_submodule(head)
            replace_head(model, getattr(out, "out_features", getattr(out, "out_channels", None)))
        if load_weights:
            state = read_init_state(transfer["init_from"], transfer.get("key"))
            print(f"transfer: weights from {transfer['init_from']}")
            try:
                load_matching(model, state, exclude=[head] if transfer["new_head"] else (),
                              allow_shape_change=False)
            except TransferError as error:
                shapes = "shapes differ" in str(error)
                hint = " (a different number of classes? add --new-head to train a new " \
                    "classifier)" if shapes and not transfer["new_head"] else ""
                raise UsageError(f"--init-from {transfer['init_from']}: {error}{hint}") from None
        if transfer["freeze"]:
            frozen = freeze(model, transfer["freeze"])
            print(f"transfer: froze {len(frozen)} parameter tensors ({', '.join(transfer['freeze'])})")
        groups = parameter_groups(model, lr, transfer.get("lr_head"))
    except TransferError as error:
        raise UsageError(str(error)) from None
    trainable, frozen_count = count_parameters(model)
    print(f"transfer: {trainable:,} trainable parameters, {frozen_count:,} frozen; head {head}"
          + (f" at lr {transfer['lr_head']:g}" if transfer.get("lr_head") else ""))
    return groups
