"""``Dropout`` (Srivastava et al. 2014, inverted form): in training, zero each
element with probability p and scale the rest by 1/(1-p); in evaluation, the
identity. The mask comes from striate's seeded generator."""
from .. import functional as F
from .module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """``inplace=`` is accepted and ignored (striate never overwrites its input)."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: probability p must be between 0 and 1, got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, input):
        return F.dropout(input, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"
