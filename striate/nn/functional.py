"""``import striate.nn.functional as F`` works as in PyTorch: the same ops as
``striate.functional``, re-exported."""
from ..functional import *  # noqa: F401,F403
