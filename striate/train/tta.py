"""Test-time augmentation: a model's prediction averaged over transformed
copies of each input. Only ever used when asked for (``striate evaluate
--tta flip``); training and the default evaluation see the plain model.

Symbols: N batch, C channels, H x W size, K classes.
"""
from ..autograd import Tensor
from ..backend import xp

__all__ = ["TTA_MODES", "FlipAveraged", "with_tta"]

TTA_MODES = ("flip",)


class FlipAveraged:
    """``model`` whose output is the log of the mean of the softmax
    probabilities for each image and its left-right mirror: (N, K)
    log-probabilities, so ``argmax`` is the averaged prediction and
    ``cross_entropy`` of them is the averaged model's negative log-likelihood
    (log-probabilities that sum to one pass through log-softmax unchanged).

    For evaluation only (no gradient is recorded through the mirror copy's
    input; call it under ``no_grad``). Mirroring keeps the label of clothes
    and natural images, not of digits or letters.
    """

    def __init__(self, model):
        self.model = model

    def __call__(self, images):
        data = images.data if isinstance(images, Tensor) else xp.asarray(images)
        both = xp.concatenate([data, data[..., ::-1]])
        logits = self.model(Tensor(xp.ascontiguousarray(both))).data
        shifted = logits - logits.max(axis=1, keepdims=True)
        probabilities = xp.exp(shifted)
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        n = len(data)
        return Tensor(xp.log((probabilities[:n] + probabilities[n:]) / 2))

    # evaluate() switches the model between modes and restores it.
    @property
    def training(self):
        return getattr(self.model, "training", False)

    def eval(self):
        self.model.eval()
        return self

    def train(self, mode=True):
        self.model.train(mode)
        return self


def with_tta(model, mode):
    """``model`` wrapped for test-time augmentation ``mode`` (one of
    :data:`TTA_MODES`), or ``model`` itself for None."""
    if mode is None:
        return model
    if mode == "flip":
        return FlipAveraged(model)
    raise ValueError(f"with_tta: unknown test-time augmentation {mode!r}; choose one of {TTA_MODES}")
