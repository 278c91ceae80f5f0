"""Transfer learning in a run: initial weights (``--init-from``), frozen
layers (``--freeze``), a new head (``--new-head``) and its rate (``--lr-head``).

They are one ``transfer`` entry of the run's configuration, so that
``--resume`` rebuilds the same frozen model and optimizer groups (it does not
read the initial weights again: the checkpoint has newer ones).
"""
import os

from .errors import RunConfigError

__all__ = ["transfer_config", "read_init_state", "apply_transfer"]


def transfer_config(init_from=None, key=None, freeze=(), new_head=False, lr_head=None):
    """The ``transfer`` configuration entry, or None without ``init_from``.

    ``freeze``, ``new_head``, ``lr_head`` and ``key`` need ``init_from``:
    without it they would silently do nothing.
    """
    given = [f"--{name.replace('_', '-')}" for name, value in
             (("freeze", freeze), ("new_head", new_head), ("lr_head", lr_head),
              ("init_key", key)) if value]
    if init_from is None:
        if given:
            raise RunConfigError(f"{', '.join(given)} need(s) --init-from FILE_OR_RUN")
        return None
    if not os.path.exists(init_from):
        raise RunConfigError(f"--init-from {init_from}: no such file or run directory")
    if key is not None and os.path.isdir(init_from):
        raise RunConfigError(f"--init-key {key} picks an entry of a weights file, but --init-from "
                             f"{init_from} is a run directory, whose checkpoint holds one model; "
                             "leave --init-key out")
    return {"init_from": os.path.abspath(init_from), "key": key,
            "freeze": list(freeze or []), "new_head": bool(new_head), "lr_head": lr_head}


def _patterns(model, patterns):
    """``features`` names the feature extractor: the layer of that name where
    the model has one (VGG, AlexNet), else everything but the head (ResNet)."""
    names = [name for name, _ in model.named_parameters()]
    has_features = any(n == "features" or n.startswith("features.") for n in names)
    return [p if p != "features" or has_features else "all-but-head"
            for pattern in patterns for p in str(pattern).split(",") if p.strip()]


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
                raise RunConfigError(f"--init-from {transfer['init_from']}: {error}{hint}") \
                    from None
        if transfer["freeze"]:
            frozen = freeze(model, _patterns(model, transfer["freeze"]))
            print(f"transfer: froze {len(frozen)} parameter tensors "
                  f"({', '.join(transfer['freeze'])})")
        groups = parameter_groups(model, lr, transfer.get("lr_head"))
    except TransferError as error:
        raise RunConfigError(str(error)) from None
    trainable, frozen_count = count_parameters(model)
    print(f"transfer: {trainable:,} trainable parameters, {frozen_count:,} frozen; head {head}"
          + (f" at lr {transfer['lr_head']:g}" if transfer.get("lr_head") else ""))
    return groups
