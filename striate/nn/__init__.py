"""Layers and models: ``Module``, ``Parameter``, containers, and a layer for every op.

PyTorch's class names, constructor arguments, parameter names and default
initializations, so that code and checkpoints carry over::

    import striate.nn as nn
    model = nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(6 * 12 * 12, 10))

Where striate differs: ``device=`` is accepted and ignored (NumPy runs on the
CPU); ``inplace=`` is accepted and ignored (inputs are never overwritten);
``return_indices=True`` of the max-pool layers raises NotImplementedError.
"""
from . import functional, init  # noqa: F401
from .activation import *  # noqa: F401,F403
from .containers import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .module import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .sampling import *  # noqa: F401,F403
