"""striate: convolutional neural networks from first principles, on NumPy.

``import striate`` loads NumPy and nothing heavier. The subpackages ``nn``,
``optim``, ``data``, ``models`` and ``train`` load on first use, and so do the
plotting, data and interop libraries they call. On glibc, the import also
raises two of malloc's thresholds, so that training steps reuse freed memory
(``memory.py``; ``STRIATE_KEEP_FREED_MEMORY=0`` leaves malloc alone).
"""
import importlib

# autograd first: it pulls in the functional ops behind its operators.
from .autograd import Function, Tensor, enable_grad, is_grad_enabled, no_grad, tensor  # noqa: F401
from . import functional  # noqa: F401,E402
from .random import get_rng_state, manual_seed, set_rng_state  # noqa: F401,E402
# Eager on purpose: a lazily imported submodule named `summary` would rebind
# `striate.summary` to the module on first use, shadowing the function.
from .summary import summary  # noqa: F401,E402

from . import memory  # noqa: E402

memory.keep_freed_memory()  # glibc's malloc keeps a step's freed memory for the next

__version__ = "0.1.0"

_LAZY_SUBMODULES = {"nn", "optim", "data", "models", "train", "kernels", "explain", "io",
                    "onnx", "transfer"}


def __getattr__(name):
    """``striate.nn`` and friends import on first access (PEP 562), keeping ``import striate`` fast."""
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'striate' has no attribute {name!r}")
