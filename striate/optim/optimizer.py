"""The ``Optimizer`` base: parameter groups, per-parameter state, ``zero_grad``
and checkpointable ``state_dict``.

Updates work on the raw arrays (``param.data``, ``param.grad``) in place, so
they record no graph and the model's parameters stay the same objects.

State dict (plain data only: Python scalars, strings, lists, tuples, dicts and
backend arrays, so a checkpoint can store it as safetensors + JSON without
pickle)::

    {
      "state": {0: {"step": 3, "exp_avg": array, ...},   # key: parameter index
                1: {...}},                                 # (absent = no state yet)
      "param_groups": [{"lr": 0.01, "betas": (0.9, 0.999), ..., "params": [0, 1]},
                       {..., "params": [2, 3]}],
    }

Parameters are numbered 0, 1, 2, ... across the groups in order, as in
PyTorch. ``load_state_dict`` accepts the indices as ints or as their strings
(what a JSON round trip makes of them) and lists for tuples; it copies the
arrays, so that resuming continues bit for bit.
"""
from ..autograd import Tensor, enable_grad
from ..backend import is_array, is_floating, xp

__all__ = ["Optimizer", "required"]


class _Required:
    def __repr__(self):
        return "<required parameter>"


#: Marks a hyperparameter that has no default (SGD's learning rate in PyTorch).
required = _Required()


class Optimizer:
    """Base of the optimizers: subclasses give their hyperparameter ``defaults``
    and :meth:`_update`; ``maximize`` and ``weight_decay`` are handled here,
    once, for all of them (:meth:`_descent_gradient`)."""

    #: True: weight decay shrinks the parameter (AdamW); False: it adds the L2
    #: term to the gradient (SGD, Adam, RMSprop).
    decoupled_weight_decay = False

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = {}          # Parameter -> dict (tensors hash by identity)
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError(f"{type(self).__name__}: params must be an iterable of tensors or "
                            "of dicts, got a single Tensor (wrap it in a list)")
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group):
        """Add a group of parameters with its own hyperparameters (defaults fill the rest)."""
        name = type(self).__name__
        if not isinstance(group, dict):
            raise TypeError(f"{name}: a param group must be a dict, got {type(group).__name__}")
        group = dict(group)
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{name} can only optimize Tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{name} can't optimize a non-leaf Tensor (shape {p.shape})")
        group["params"] = params
        for key, default in self.defaults.items():
            if default is required and key not in group:
                raise ValueError(f"{name}: parameter group didn't specify a value of required "
                                 f"optimization parameter {key!r}")
            group.setdefault(key, default)
        existing = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params) or existing & {id(p) for p in params}:
            raise ValueError(f"{name}: some parameters appear more than once (in a group or "
                             "in more than one group)")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none=True):
        """Reset the gradients of every parameter (to None, or to zeros)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.grad = None if set_to_none else xp.zeros_like(p.grad)

    def step(self, closure=None):
        """One update of every parameter that has a gradient. ``closure``, if
        given, re-evaluates the model and returns the loss (it runs with grad on)."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    grad = self._descent_gradient(p, group)
                    self._update(p, grad, self.state.setdefault(p, {}), group)
        return loss

    def _descent_gradient(self, param, group):
        """The gradient the update descends, as PyTorch forms it::

            g = -g                       with maximize
            g = g + weight_decay * p     (L2 penalty)                   or, decoupled,
            p = p * (1 - lr * weight_decay)                             (AdamW)

        Groups without a ``maximize`` or ``weight_decay`` entry skip that part.
        """
        grad = param.grad
        if group.get("maximize", False):
            grad = -grad
        weight_decay = group.get("weight_decay", 0)
        if weight_decay != 0:
            if self.decoupled_weight_decay:
                param.data *= 1 - group["lr"] * weight_decay
            else:
                grad = grad + weight_decay * param.data
        return grad

    def _update(self, param, grad, state, group):
        """Update one parameter in place. ``grad`` comes from
        :meth:`_descent_gradient` (sign and weight decay applied); ``state`` is
        the parameter's (initially empty) state dict."""
        raise NotImplementedError

    # ------------------------------------------------------------------ checkpoints

    def state_dict(self):
        """Plain-data snapshot; see the module docstring for its structure."""
        index, groups = {}, []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                packed["params"].append(index[id(p)])
            groups.append(packed)
        state = {}
        for p, values in self.state.items():
            if id(p) in index and values:
                state[index[id(p)]] = {k: v.copy() if is_array(v) else v for k, v in values.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore a snapshot taken by :meth:`state_dict` of the same optimizer
        and parameters. Everything is checked before anything changes."""
        name = type(self).__name__
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the state has {len(saved_groups)} "
                             f"parameter groups, the optimizer {len(self.param_groups)}")
        params = [p for g in self.param_groups for p in g["params"]]
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{name}.load_state_dict: parameter group {i} has "
                                 f"{len(saved['params'])} parameters in the state and "
                                 f"{len(group['params'])} in the optimizer")
        new_state = {}
        for key, values in state_dict["state"].items():
            position = int(key)
            if not 0 <= position < len(params):
                raise ValueError(f"{name}.load_state_dict: state for parameter {key}, but the "
                                 f"optimizer has {len(params)} parameters")
            p = params[position]
            restored = {}
            for k, v in values.items():
                if is_array(v):
                    v = xp.array(v)  # a copy: the checkpoint's arrays stay untouched
                    if is_floating(v.dtype):
                        if v.shape != p.shape and v.ndim > 0:
                            raise ValueError(f"{name}.load_state_dict: state {k!r} of parameter "
                                             f"{position} has shape {v.shape}, the parameter "
                                             f"{p.shape}")
                        v = v.astype(p.dtype, copy=False)
                restored[k] = v
            new_state[p] = restored
        new_groups = []
        for saved, group in zip(saved_groups, self.param_groups):
            merged = {}
            for k, v in saved.items():
                if k == "params":
                    continue
                if isinstance(group.get(k), tuple) and isinstance(v, list):
                    v = tuple(v)  # JSON turns tuples (Adam's betas) into lists
                merged[k] = v
            merged["params"] = group["params"]
            new_groups.append(merged)
        self.state = new_state
        self.param_groups[:] = new_groups

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        return "\n".join(lines) + "\n)"


def lerp_(start, end, weight):
    """``start += weight * (end - start)`` in place, the way ``torch.lerp`` computes
    it (from the nearer end, so that optimizers match PyTorch to the last bit)."""
    if weight < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1 - weight)
    return start
