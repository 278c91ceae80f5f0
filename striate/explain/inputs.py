"""What every view needs: the input as a batch of the model's dtype, target
classes checked against the model's output, and the model put in evaluation
mode for the duration of a view and restored afterwards.

Symbols: N images, C channels, H x W pixels, K classes.
"""
import contextlib
import numbers

from ..autograd import Tensor
from ..backend import xp

__all__ = []  # helpers of this package


def model_dtype(model):
    """The dtype of the model's first parameter (float32 for a model without any)."""
    for parameter in model.parameters():
        return parameter.dtype
    return xp.dtype(xp.float32)


def as_batch(model, x, op):
    """``x`` ((N, C, H, W) or one (C, H, W) image; array or Tensor) as an
    (N, C, H, W) array of the model's dtype."""
    array = x.data if isinstance(x, Tensor) else xp.asarray(x)
    if array.dtype == object or not xp.issubdtype(array.dtype, xp.number):
        raise TypeError(f"{op}: the input must hold numbers, got dtype {array.dtype}")
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4 or 0 in array.shape:
        raise ValueError(f"{op}: expected images of shape (N, C, H, W) or one image (C, H, W), "
                         f"got shape {tuple(array.shape)}")
    with xp.errstate(over="ignore"):  # a value too large for the dtype is reported below
        batch = xp.ascontiguousarray(array, dtype=model_dtype(model))
    check_finite(batch, op)
    return batch


def check_finite(batch, op, what="the input"):
    """Refuse NaN and infinite values: a gradient, a class activation map or a
    drop in probability computed from them would be NaN or zero, a picture
    that says nothing and looks like an answer."""
    finite = xp.isfinite(batch)
    if not finite.all():
        bad = int(finite.size - xp.count_nonzero(finite))
        first = tuple(int(i) for i in xp.argwhere(~finite)[0])
        raise ValueError(f"{op}: {what} holds {bad} non-finite value(s) (NaN or infinity), the "
                         f"first at index {first} of shape {tuple(batch.shape)} (a value too "
                         f"large for {batch.dtype} becomes infinite); give finite pixel values")


def check_logits(logits, op):
    if logits.ndim != 2:
        raise ValueError(f"{op}: the model must return class scores of shape (N, K), got shape "
                         f"{tuple(logits.shape)}")
    return logits


def targets(target, logits, op):
    """The class per image: ``target`` (None: the predicted class; an int for
    every image; or N ints), checked against the K classes of ``logits`` (N, K)."""
    n, k = logits.shape
    if target is None:
        return xp.argmax(logits, axis=1)
    if isinstance(target, numbers.Integral) and not isinstance(target, bool):
        chosen = xp.full(n, int(target))
    else:
        chosen = xp.asarray(target)
        if chosen.ndim != 1 or len(chosen) != n or not xp.issubdtype(chosen.dtype, xp.integer):
            raise ValueError(f"{op}: target must be None, a class index or {n} class indices "
                             f"(one per image), got {target!r}")
    bad = [int(t) for t in chosen if not 0 <= t < k]
    if bad:
        raise ValueError(f"{op}: target class {bad[0]} is out of range: the model has {k} "
                         f"classes (0..{k - 1})")
    return chosen.astype(xp.int64)


@contextlib.contextmanager
def inspecting(model, frozen=True, dropout=False):
    """Evaluation mode (dropout modules in training mode if ``dropout``) and,
    if ``frozen``, parameters that do not require gradients, so that a backward
    pass fills only the input's gradient; everything restored on exit."""
    from ..nn import Dropout

    modes = [(module, module.training) for module in model.modules()]
    flags = [(p, p.requires_grad) for p in model.parameters()]
    try:
        model.eval()
        if dropout:
            for module in model.modules():
                if isinstance(module, Dropout):
                    module.training = True
        if frozen:
            for parameter, _ in flags:
                parameter.requires_grad = False
        yield model
    finally:
        for module, mode in modes:
            module.training = mode
        for parameter, flag in flags:
            parameter.requires_grad = flag
