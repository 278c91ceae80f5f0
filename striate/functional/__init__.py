"""Stateless operations, with PyTorch's names, argument order and semantics
(NCHW layout, weights ``(out, in/groups, kH, kW)``, ``dim`` arguments).

One file per family; each defines ``__all__``. Every op is a ``Function``
subclass with its forward and backward side by side, plus a lowercase
functional form that users call.
"""
from .math import *  # noqa: F401,F403
from .shape import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .activation import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .sampling import *  # noqa: F401,F403
from .pool import *  # noqa: F401,F403
