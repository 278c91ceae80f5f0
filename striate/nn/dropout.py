"""``Dropout`` (Srivastava et al. 2014, inverted form): in training, zero each
element with probability p and scale the rest by 1/(1-p); in evaluation, the
identity. The mask comes from striate's seeded generator."""
from .. import functional as F
from ..functional.arguments import check_probability
from .module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """``inplace=`` is accepted and ignored (striate never overwrites its input)."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        check_probability(p, "p", "Dropout")
        self.p, self.inplace = p, inplace

    def forward(self, input):
        return F.dropout(input, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"
