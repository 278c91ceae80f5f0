"""Transfer learning: start from weights trained on another task, freeze what
should not change, put a new classifier on top, fine-tune.

    state = striate.io.load("pretrained.pth")
    model = striate.models.create("resnet18", num_classes=5)
    report = load_matching(model, state)          # loaded / new / skipped for shape
    freeze(model, ["all-but-head"])                # or "layer1,layer2", "features.*"
    optimizer = optim.SGD(parameter_groups(model, lr=0.01, lr_head=0.1), lr=0.01)

Frozen parameters get ``requires_grad = False``: no gradient reaches them, so
an optimizer leaves them bit for bit as they were. Frozen batch norms also get
``frozen = True``, which keeps them in evaluation mode under ``model.train()``:
they normalize with, and never update, their running statistics (what
practitioners expect of a frozen feature extractor).
"""
import fnmatch
from dataclasses import dataclass, field

from . import nn

__all__ = ["TransferError", "LoadReport", "find_head", "freeze", "unfreeze", "replace_head",
           "load_matching", "parameter_groups", "count_parameters"]


class TransferError(ValueError):
    """A transfer request that does not fit the model (no match, shape change, ...)."""


# --------------------------------------------------------------------------- the head


def find_head(model):
    """Dotted name of the classifier: the last ``Linear`` registered in the model
    (``fc``, ``classifier.6``), or, for models without one (U-Net's 1x1
    ``head``), the last convolution."""
    linear = [name for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    if linear:
        return linear[-1]
    convs = [name for name, m in model.named_modules()
             if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d)) and name]
    if convs:
        return convs[-1]
    raise TransferError(f"{type(model).__name__} has no Linear or convolution layer to use as "
                        "its head")


def _parent(model, name):
    parent_name, _, child = name.rpartition(".")
    return model.get_submodule(parent_name), child


def replace_head(model, num_classes):
    """Put a freshly initialized classifier for ``num_classes`` classes in place
    of :func:`find_head`'s layer (same inputs, same kind of layer). Returns its name."""
    if not isinstance(num_classes, int) or num_classes <= 0:
        raise TransferError(f"replace_head: num_classes must be a positive int, got {num_classes!r}")
    name = find_head(model)
    parent, child = _parent(model, name)
    old = parent._modules[child]
    if isinstance(old, nn.Linear):
        new = nn.Linear(old.in_features, num_classes, bias=old.bias is not None)
    else:
        new = type(old)(old.in_channels, num_classes, kernel_size=old.kernel_size,
                        stride=old.stride, padding=old.padding, dilation=old.dilation,
                        groups=1, bias=old.bias is not None)
    if old.weight.dtype != new.weight.dtype:
        new.to(old.weight.dtype)
    setattr(parent, child, new)
    return name


# --------------------------------------------------------------------------- freezing


def _split(patterns):
    if isinstance(patterns, str):
        patterns = [patterns]
    result = []
    for pattern in patterns:
        result += [p.strip() for p in str(pattern).split(",") if p.strip()]
    if not result:
        raise TransferError("freeze: no pattern given")
    return result


def _matches(name, pattern):
    """A dotted name matches a module name (``layer1``: everything inside it) or
    a shell pattern (``features.*``, ``layer*.0.bn?``)."""
    return name == pattern or name.startswith(pattern + ".") or fnmatch.fnmatchcase(name, pattern)


def _selected(model, patterns):
    """Parameter names each pattern selects; ``all-but-head`` is everything
    outside :func:`find_head`'s layer."""
    names = [name for name, _ in model.named_parameters()]
    chosen, empty = set(), []
    for pattern in patterns:
        if pattern == "all-but-head":
            head = find_head(model)
            hits = [n for n in names if not _matches(n, head)]
        else:
            hits = [n for n in names if _matches(n, pattern)]
        if not hits:
            empty.append(pattern)
        chosen.update(hits)
    if empty:
        tops = list(dict.fromkeys(n.split(".")[0] for n in names))   # in model order
        raise TransferError(f"freeze: {', '.join(map(repr, empty))} matches no parameter of "
                            f"{type(model).__name__}; its top-level layers are "
                            f"{', '.join(tops)} (patterns: a layer name, a shell pattern "
                            "such as 'features.*', or all-but-head)")
    return chosen


def _is_batch_norm(module):
    return isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d))


def freeze(model, patterns):
    """Stop training the parameters selected by ``patterns`` (a list, or a
    comma-separated string). Batch norms whose parameters are all frozen stay
    in evaluation mode from now on. Every pattern must match something (an
    error names the ones that do not, and nothing is frozen then). Returns the
    sorted names of the frozen parameters."""
    chosen = _selected(model, _split(patterns))
    for name, param in model.named_parameters():
        if name in chosen:
            param.requires_grad_(False)
    for name, module in model.named_modules():
        params = [f"{name}.{p}" if name else p for p, v in module._parameters.items()
                  if v is not None]
        if _is_batch_norm(module) and params and all(p in chosen for p in params):
            module.frozen = True
            module.training = False
    return sorted(chosen)


def unfreeze(model):
    """Undo :func:`freeze`: every parameter trains, every batch norm follows ``train()`` again."""
    for param in model.parameters():
        param.requires_grad_(True)
    for module in model.modules():
        if module.frozen:
            module.frozen = False
            module.training = model.training
    return model


def count_parameters(model):
    """``(trainable, frozen)`` numbers of parameter values."""
    trainable = sum(p.data.size for p in model.parameters() if p.requires_grad)
    frozen = sum(p.data.size for p in model.parameters() if not p.requires_grad)
    return trainable, frozen


def parameter_groups(model, lr, lr_head=None):
    """Optimizer parameter groups of the trainable parameters: one group, or,
    with ``lr_head``, the head's parameters at that rate and the rest at ``lr``."""
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if not trainable:
        raise TransferError("every parameter is frozen: nothing left to train")
    if lr_head is None:
        return [{"params": [p for _, p in trainable], "lr": lr}]
    head = find_head(model)
    body = [p for n, p in trainable if not _matches(n, head)]
    top = [p for n, p in trainable if _matches(n, head)]
    if not top:
        raise TransferError(f"a head learning rate was given, but the head {head!r} is frozen")
    return ([{"params": body, "lr": lr}] if body else []) + [{"params": top, "lr": lr_head}]


# --------------------------------------------------------------------------- loading by name


@dataclass
class LoadReport:
    """What :func:`load_matching` did, name by name."""
    loaded: list = field(default_factory=list)      # copied from the checkpoint
    new: list = field(default_factory=list)         # kept as initialized (absent or excluded)
    skipped: list = field(default_factory=list)     # (name, checkpoint shape, model shape)
    unused: list = field(default_factory=list)      # checkpoint names the model does not have

    def format(self):
        lines = [f"loaded {len(self.loaded)} tensors from the checkpoint, "
                 f"{len(self.new)} new, {len(self.skipped)} skipped for a shape change, "
                 f"{len(self.unused)} unused"]
        if self.new:
            lines.append("  new: " + ", ".join(self.new))
        for name, theirs, ours in self.skipped:
            lines.append(f"  skipped {name}: checkpoint {theirs}, model {ours}")
        if self.unused:
            lines.append("  unused: " + ", ".join(self.unused))
        return "\n".join(lines)


def _shape(value):
    return tuple(getattr(value, "shape", ()))


def load_matching(model, state, report=True, exclude=(), allow_shape_change=True):
    """Copy every entry of ``state`` (name -> array) whose name and shape match
    the model; leave the rest as initialized. Returns a :class:`LoadReport`
    (printed when ``report``).

    ``exclude``: layer names (or patterns) whose entries are not taken (a head
    to be trained afresh). ``allow_shape_change=False`` makes any shape
    mismatch an error (a different architecture or width). Raises
    :class:`TransferError`, changing nothing, when no name matches at all
    (listing the missing and unexpected names) or a shape change is refused.
    """
    own = model.state_dict(keep_vars=True)
    result = LoadReport()
    for name, target in own.items():
        if name not in state or any(_matches(name, e) for e in exclude):
            result.new.append(name)
        elif _shape(state[name]) != tuple(target.shape):
            result.skipped.append((name, _shape(state[name]), tuple(target.shape)))
        else:
            result.loaded.append(name)
    result.unused = [name for name in state if name not in own]
    if not result.loaded:
        raise TransferError(
            f"the checkpoint does not fit {type(model).__name__}: none of its names match.\n"
            f"  missing keys: {', '.join(result.new[:20])}{' ...' if len(result.new) > 20 else ''}\n"
            f"  unexpected keys: {', '.join(result.unused[:20])}"
            f"{' ...' if len(result.unused) > 20 else ''}")
    if result.skipped and not allow_shape_change:
        changes = "; ".join(f"{n}: checkpoint {a}, model {b}" for n, a, b in result.skipped)
        raise TransferError(f"the checkpoint's shapes differ from {type(model).__name__}'s "
                            f"(nothing was loaded): {changes}")
    model.load_state_dict({name: state[name] for name in result.loaded}, strict=False)
    if report:
        print(result.format())
    return result
