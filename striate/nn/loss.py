"""Loss functions as modules (``criterion = CrossEntropyLoss(); loss = criterion(logits, y)``),
around ``striate.functional.loss``. Class weights are buffers, as in PyTorch."""
from .. import functional as F
from ..functional.arguments import check_choice
from ..functional.loss import REDUCTIONS
from .module import Module

__all__ = ["CrossEntropyLoss", "NLLLoss", "MSELoss", "BCEWithLogitsLoss"]

class _Loss(Module):
    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = check_choice(reduction, REDUCTIONS, "reduction", type(self).__name__)


class _WeightedLoss(_Loss):
    def __init__(self, weight=None, reduction="mean"):
        super().__init__(reduction)
        self.register_buffer("weight", weight)


class CrossEntropyLoss(_WeightedLoss):
    """log_softmax + negative log-likelihood: input (N, C) or (N, C, d1, ...) logits,
    target class indices (N) / (N, d1, ...) or class probabilities shaped like the input."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(weight, reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input, target):
        kwargs = {} if self.label_smoothing == 0.0 else {"label_smoothing": self.label_smoothing}
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, **kwargs)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities: input (N, C), target (N) class indices."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class MSELoss(_Loss):
    """Mean (or sum) of squared differences."""

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """sigmoid + binary cross-entropy, computed stably from logits."""

    def __init__(self, weight=None, reduction="mean", pos_weight=None):
        super().__init__(weight, reduction)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, weight=self.weight,
                                                  reduction=self.reduction,
                                                  pos_weight=self.pos_weight)
