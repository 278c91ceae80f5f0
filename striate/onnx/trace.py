"""Recording a model's forward pass as a list of op calls.

Every op of striate is a ``Function`` call, and ``autograd.call_observers``
tells us of each one: the ``Function`` object (which holds its options:
stride, padding, axis, ...), its input tensors and its output tensor. One
forward pass in evaluation mode therefore yields the whole computation,
whatever Python the model's ``forward`` runs around the ops: branches that
are concatenated (GoogLeNet, DenseNet, U-Net), residual additions (ResNet),
crops, flattening. Forward hooks keep a stack of module names, so that each
call knows the layer it ran in (for error messages and node names).

No ONNX here: this module only records.
"""
import contextlib
from dataclasses import dataclass

from .. import autograd
from ..autograd import Tensor, no_grad

__all__ = ["Call", "Trace", "trace"]


@dataclass
class Call:
    """One op application: ``output = function(*inputs)``, run inside ``module``."""
    function: autograd.Function
    inputs: list
    output: Tensor
    module: str          # dotted name of the innermost module ("" for the model itself)
    module_type: str


@dataclass
class Trace:
    input: Tensor
    output: Tensor
    calls: list


@contextlib.contextmanager
def _module_names(model, stack):
    """Push each module's name while its forward runs."""
    handles = []
    for name, module in model.named_modules():
        def enter(module, inputs, name=name):
            stack.append((name, type(module).__name__))

        def leave(module, inputs, output):
            stack.pop()
        handles.append(module.register_forward_pre_hook(enter))
        handles.append(module.register_forward_hook(leave))
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def trace(model, example):
    """Run ``model(example)`` once in evaluation mode without a graph, recording
    every op call. The model's train/eval mode is restored afterwards."""
    calls, stack = [], []

    def record(function, inputs, output):
        name, kind = stack[-1] if stack else ("", type(model).__name__)
        calls.append(Call(function, list(inputs), output, name, kind))

    was_training = getattr(model, "training", False)
    model.eval()
    autograd.call_observers.append(record)
    try:
        with no_grad(), _module_names(model, stack):
            output = model(example)
    finally:
        autograd.call_observers.remove(record)
        model.train(was_training)
    if not isinstance(output, Tensor):
        raise TypeError(f"export: {type(model).__name__} returned a {type(output).__name__}; "
                        "ONNX export needs a model that returns one tensor")
    return Trace(example, output, calls)
