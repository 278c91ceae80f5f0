"""``Parameter`` and ``Module``: the base of every layer and model.

A module owns three insertion-ordered dicts, filled by plain attribute
assignment (``self.conv1 = Conv2d(...)``, ``self.weight = Parameter(...)``):

* ``_parameters``: trainable tensors (``Parameter``);
* ``_buffers``: state that is saved but not trained (batch norm's running
  statistics), registered with :meth:`Module.register_buffer`;
* ``_modules``: submodules.

Insertion order makes ``parameters()`` and ``state_dict()`` deterministic
(DeZero kept parameters in a ``set`` and their order changed from run to run),
and the dotted names (``layer1.0.bn1.running_mean``) are PyTorch's, so that
state dicts of the same architecture line up key by key.
"""
import itertools
from collections import OrderedDict, namedtuple

from .. import backend
from ..autograd import Tensor, no_grad
from ..backend import xp
from ..functional.arguments import as_array

__all__ = ["Parameter", "Module", "RemovableHandle"]


class Parameter(Tensor):
    """A tensor that a module trains: ``requires_grad`` is True by default.

    ``Parameter(data)`` shares ``data`` when it is an array of the backend (or
    the array of a ``Tensor``); Python lists and scalars become float32.
    """

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = xp.zeros((0,), dtype=backend.default_float)
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class RemovableHandle:
    """Returned by ``register_forward_hook``: ``handle.remove()`` unregisters the hook."""

    _ids = itertools.count()

    def __init__(self, hooks):
        self._hooks = hooks
        self.id = next(RemovableHandle._ids)

    def remove(self):
        self._hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


#: What ``load_state_dict(strict=False)`` returns, as in PyTorch.
IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Module:
    """Base class of layers and models; subclasses define ``forward``.

    ``module(x)`` runs the forward pre-hooks, ``forward(x)`` and the forward
    hooks. ``training`` (set by ``train()``/``eval()``) switches dropout and
    batch norm between their training and evaluation behaviour. A module with
    ``frozen = True`` (``striate.transfer.freeze`` sets it on frozen batch
    norms) stays in evaluation mode under ``train()``.
    """

    frozen = False

    def __init__(self):
        # object.__setattr__: our own __setattr__ needs these dicts to exist.
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())

    def forward(self, *inputs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *inputs, **kwargs):
        if not (self._forward_pre_hooks or self._forward_hooks):  # the usual case, kept short
            return self.forward(*inputs, **kwargs)
        for hook in list(self._forward_pre_hooks.values()):
            result = hook(self, inputs)
            if result is not None:
                inputs = result if isinstance(result, tuple) else (result,)
        output = self.forward(*inputs, **kwargs)
        for hook in list(self._forward_hooks.values()):
            result = hook(self, inputs, output)
            if result is not None:
                output = result
        return output

    # ------------------------------------------------------------------ attributes

    def _check_init(self, name):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {name!r} before Module.__init__() is called "
                                 f"(call super().__init__() first in {type(self).__name__}.__init__)")

    def __setattr__(self, name, value):
        if isinstance(value, Parameter):
            self._check_init(name)
            self._discard(name)
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._check_init(name)
            self._discard(name)
            self._modules[name] = value
        elif "_parameters" in self.__dict__ and name in self._parameters:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as parameter {name!r} of "
                                f"{type(self).__name__} (a Parameter or None is required)")
            self._parameters[name] = None
        elif "_modules" in self.__dict__ and name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as child module {name!r} of "
                                f"{type(self).__name__} (a Module or None is required)")
            self._modules[name] = None
        elif "_buffers" in self.__dict__ and name in self._buffers:
            self._buffers[name] = self._as_buffer(name, value)
        else:
            object.__setattr__(self, name, value)

    def _discard(self, name):
        """Forget ``name`` wherever it was, so that one name lives in one dict."""
        for store in (self._parameters, self._buffers, self._modules):
            store.pop(name, None)
        self._non_persistent_buffers.discard(name)
        self.__dict__.pop(name, None)

    def __getattr__(self, name):  # only called when normal lookup fails
        for store in ("_parameters", "_buffers", "_modules"):
            values = self.__dict__.get(store)
            if values is not None and name in values:
                return values[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name):
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))

    def _as_buffer(self, name, value):
        if value is None or isinstance(value, Tensor):
            return value
        if backend.is_array(value):
            return Tensor(value)
        raise TypeError(f"cannot assign {type(value).__name__} as buffer {name!r} of "
                        f"{type(self).__name__} (a Tensor, an array or None is required)")

    def register_buffer(self, name, tensor, persistent=True):
        """Add saved, untrained state (a Tensor, array or None) under ``name``.

        Non-persistent buffers are left out of ``state_dict()``; a None buffer
        is left out as well (PyTorch does the same).
        """
        self._check_init(name)
        if "." in name or not name:
            raise KeyError(f"buffer name must be a non-empty string without '.', got {name!r}")
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute {name!r} already exists in {type(self).__name__}")
        self._buffers[name] = self._as_buffer(name, tensor)
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def register_parameter(self, name, param):
        """Add a parameter (or a None placeholder, like a missing bias) under ``name``."""
        self._check_init(name)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign {type(param).__name__} as parameter {name!r} "
                            "(a Parameter or None is required)")
        self._discard(name)
        self._parameters[name] = param

    def add_module(self, name, module):
        self._check_init(name)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if "." in str(name):
            raise KeyError(f"module name can't contain '.', got {name!r}")
        self._discard(str(name))
        self._modules[str(name)] = module

    register_module = add_module

    def get_submodule(self, target):
        """The submodule at a dotted path, e.g. ``model.get_submodule("layer1.0.conv1")``."""
        module = self
        for part in target.split(".") if target else []:
            if part not in module._modules:
                raise AttributeError(f"{type(module).__name__} has no submodule {part!r} "
                                     f"(looking up {target!r})")
            module = module._modules[part]
        return module

    # ------------------------------------------------------------------ traversal

    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """``(dotted_name, module)`` for this module and every descendant, depth first."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            yield from module.named_modules(memo, f"{prefix}.{name}" if prefix else name,
                                            remove_duplicate)

    def modules(self, _memo=None):
        """This module and every descendant, depth first (as ``named_modules``,
        without building the names: ``train()`` and ``eval()`` walk this)."""
        memo = set() if _memo is None else _memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield self
        for module in self._modules.values():
            if module is not None:
                yield from module.modules(memo)

    def named_children(self):
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self):
        for _, module in self.named_children():
            yield module

    def _named_members(self, store, prefix, recurse):
        seen = set()  # a tensor shared by two modules is listed once, under its first name
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, value in getattr(module, store).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{module_prefix}.{name}" if module_prefix else name), value

    def named_parameters(self, prefix="", recurse=True):
        return self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse=True):
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix="", recurse=True):
        return self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse=True):
        for _, buf in self.named_buffers(recurse=recurse):
            yield buf

    # ------------------------------------------------------------------ modes and bulk changes

    def train(self, mode=True):
        """Training mode (dropout active, batch norm uses and updates batch statistics)."""
        if not isinstance(mode, bool):
            raise ValueError(f"train(mode): mode must be a bool, got {mode!r}")
        for module in self.modules():
            object.__setattr__(module, "training", mode and not module.frozen)
        return self

    def eval(self):
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Reset the gradients that ``backward()`` accumulated (to None, or to zeros)."""
        for param in self.parameters():
            if param.grad is None:
                continue
            if set_to_none:
                param.grad = None
            else:
                param.grad = xp.zeros_like(param.grad)

    def apply(self, fn):
        """Call ``fn(module)`` on every submodule (children first) and on self."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    def to(self, dtype):
        """Cast floating parameters, their gradients and floating buffers to ``dtype``
        (in place; integer buffers like ``num_batches_tracked`` keep theirs).
        ``model.to(np.float64)`` is how the gradient checks run in double precision."""
        dtype = xp.dtype(dtype)
        if not backend.is_floating(dtype):
            raise TypeError(f"Module.to: only floating dtypes are supported, got {dtype}")
        for tensor in itertools.chain(self.parameters(), self.buffers()):
            if backend.is_floating(tensor.dtype):
                tensor.data = tensor.data.astype(dtype)
                if tensor.grad is not None:
                    tensor.grad = tensor.grad.astype(dtype)
        return self

    def float(self):
        return self.to(xp.float32)

    def double(self):
        return self.to(xp.float64)

    # ------------------------------------------------------------------ hooks

    def register_forward_hook(self, hook):
        """Call ``hook(module, inputs, output)`` after every forward.

        ``inputs`` is the tuple of positional inputs; a hook that returns a
        value replaces the output. Returns a handle: ``handle.remove()``.
        """
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    def register_forward_pre_hook(self, hook):
        """Call ``hook(module, inputs)`` before every forward; a returned value replaces the inputs."""
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        return handle

    # ------------------------------------------------------------------ state dict

    def state_dict(self, prefix="", keep_vars=False):
        """An ordered dict ``dotted_name -> array``: every parameter and persistent buffer.

        Values are copies of the backend arrays (saving one mid-training is
        safe); ``keep_vars=True`` returns the tensors themselves instead.
        Names and order are PyTorch's: per module, parameters, then buffers,
        then submodules.
        """
        state = OrderedDict()
        for module_prefix, module in self.named_modules(prefix=prefix.rstrip("."),
                                                        remove_duplicate=False):
            base = f"{module_prefix}." if module_prefix else ""
            for name, param in module._parameters.items():
                if param is not None:
                    state[base + name] = param if keep_vars else param.data.copy()
            for name, buf in module._buffers.items():
                if buf is not None and name not in module._non_persistent_buffers:
                    state[base + name] = buf if keep_vars else buf.data.copy()
        return state

    def load_state_dict(self, state_dict, strict=True):
        """Copy arrays from ``state_dict`` into the parameters and buffers, by name.

        Values may be backend arrays, striate tensors or torch tensors; they are
        cast to the destination's dtype and copied in place (so optimizers that
        hold the parameters keep working). Every key is checked before anything
        is copied: a shape mismatch, or with ``strict=True`` a missing or an
        unexpected key, raises a RuntimeError that lists all of them, and the
        module is left unchanged. Returns ``(missing_keys, unexpected_keys)``.
        """
        own = self.state_dict(keep_vars=True)
        missing = [key for key in own if key not in state_dict]
        unexpected = [key for key in state_dict if key not in own]
        arrays, mismatched = {}, []
        for key, target in own.items():
            if key not in state_dict:
                continue
            try:
                array = as_array(state_dict[key])
            except (TypeError, ValueError) as error:
                mismatched.append(f"{key}: value of type {type(state_dict[key]).__name__} is "
                                  f"not an array ({error})")
                continue
            if array.dtype.kind not in "biuf":
                mismatched.append(f"{key}: value of type {type(state_dict[key]).__name__} and "
                                  f"dtype {array.dtype} does not hold real numbers")
                continue
            if array.shape != target.shape:
                mismatched.append(f"{key}: checkpoint shape {tuple(array.shape)}, "
                                  f"model shape {tuple(target.shape)}")
            arrays[key] = array
        problems = []
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        if mismatched:
            problems.append("shape or type mismatches: " + "; ".join(mismatched))
        if problems:
            raise RuntimeError(f"Error(s) loading state_dict into {type(self).__name__} "
                               "(nothing was loaded):\n  " + "\n  ".join(problems))
        with no_grad():
            for key, array in arrays.items():
                target = own[key]
                target.data[...] = array.astype(target.dtype, copy=False)
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------ repr

    def extra_repr(self):
        """The text inside ``Name(...)`` for a layer; subclasses override."""
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        lines = []
        extra = self.extra_repr()
        if extra:
            lines = extra.split("\n")
        for name, module in self._modules.items():
            body = repr(module).replace("\n", "\n  ")
            lines.append(f"({name}): {body}")
        if not self._modules:
            return f"{self._get_name()}({extra})"
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"
