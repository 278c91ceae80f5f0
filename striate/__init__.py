"""striate: convolutional neural networks from first principles, on NumPy.

``import striate`` loads NumPy and nothing heavier; plotting, data, training
and interop load when first used.
"""
# autograd first: it pulls in the functional ops behind its operators.
from .autograd import Function, Tensor, enable_grad, is_grad_enabled, no_grad, tensor  # noqa: F401
from . import functional  # noqa: F401,E402
from .random import get_rng_state, manual_seed, set_rng_state  # noqa: F401

__version__ = "0.1.0"
