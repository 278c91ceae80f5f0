"""Loss functions with PyTorch's names, arguments and reductions.

Symbols: N batch, C classes, ``d...`` optional extra dims (pixels, for
segmentation: input (N, C, H, W), target (N, H, W)); "element" is one
position of (N, d...). Reductions: 'none' keeps one loss per element, 'sum'
adds them, 'mean' divides the sum by the number of elements, or, for the
class-index losses, by the total weight w[target] of the non-ignored elements
(PyTorch's weighted mean).

Cross-entropy is fused: log-softmax and the negative log-likelihood in one
``Function`` whose backward is the classic ``softmax - one_hot`` (scaled by
weights), never the product of two Jacobians.
"""
import warnings

from ..autograd import Function
from ..backend import sum_to, xp
from .activation import log_softmax_array, sigmoid_array
from .arguments import as_array, as_tensor, call_as_batch, check_choice

__all__ = ["cross_entropy", "nll_loss", "mse_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits"]

#: The values of every loss's ``reduction`` (the layers of striate.nn.loss check them too).
REDUCTIONS = ("none", "mean", "sum")


def _check_options(op, reduction, size_average, reduce):
    """The options every loss shares: a known reduction and none of PyTorch's
    deprecated ``size_average``/``reduce``."""
    if size_average is not None or reduce is not None:
        raise ValueError(f"{op}: size_average and reduce are deprecated in PyTorch and not "
                         f"supported; use reduction='none' | 'mean' | 'sum'")
    check_choice(reduction, REDUCTIONS, "reduction", op)


def _optional_array(value):
    return None if value is None else as_array(value)


def _reduce(loss, reduction, denominator):
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "mean" and not denominator:
        return xp.asarray(xp.nan, dtype=loss.dtype)  # the mean of no losses, as in PyTorch
    return xp.asarray(total if reduction == "sum" else total / denominator, dtype=loss.dtype)


def _per_element(g, shape, reduction, denominator):
    """The upstream gradient of each element's loss, undoing the reduction."""
    if reduction == "none":
        return g
    if reduction == "mean" and 0 in tuple(shape):
        return xp.zeros(shape, xp.asarray(g).dtype)  # no elements, nothing to scale
    scale = g / denominator if reduction == "mean" else g
    return xp.broadcast_to(scale, shape)


# --------------------------------------------------------------------------- class-index targets


class _ClassTargets:
    """Class-index targets of an (N, C, d...) input, their dtype and shape
    checked at the door (:func:`_check_class_indices`).

    ``index`` (N, 1, d...) holds each element's class (0 where ignored) for
    take/put along the class axis; ``weight_of_target`` (N, d...) is
    weight[target], 0 for ignored elements; ``valid`` marks the others.
    """

    def __init__(self, op, input_shape, target, weight, ignore_index, dtype):
        classes = input_shape[1]
        self.valid = target != ignore_index
        bad = self.valid & ((target < 0) | (target >= classes))
        if bad.any():
            raise ValueError(f"{op}: target value {int(target[bad].flat[0])} is out of range for "
                             f"{classes} classes (expected 0..{classes - 1}, or ignore_index="
                             f"{ignore_index})")
        safe = xp.where(self.valid, target, 0)
        self.index = xp.expand_dims(safe, 1)
        chosen = weight[safe] if weight is not None else xp.ones(safe.shape, dtype=dtype)
        self.weight_of_target = xp.where(self.valid, chosen, 0).astype(dtype, copy=False)


def _class_loss_inputs(op, input, target, weight, reduction, size_average, reduce):
    """The door of the class-index losses. Returns the input and target tensors,
    the class weight array (or None) and whether the input is one unbatched
    sample, (C,) logits with a 0-d target."""
    _check_options(op, reduction, size_average, reduce)
    input = as_tensor(input, op=op)
    target = as_tensor(target, op=op)  # class indices stay integers
    if input.ndim < 1:
        raise ValueError(f"{op}: expected an input of shape (N, C, d...) or (C,), got a scalar")
    classes = input.shape[0] if input.ndim == 1 else input.shape[1]
    weight = _optional_array(weight)
    if weight is not None and weight.shape != (classes,):
        raise ValueError(f"{op}: weight of shape {weight.shape} must have one entry per class "
                         f"({classes},) for input of shape {tuple(input.shape)}")
    return input, target, weight, input.ndim == 1


def _check_class_indices(op, input, target):
    """A class-index target: an integer dtype, and the input's shape without the
    class axis ((N, d...) for input (N, C, d...); 0-d for (C,) logits)."""
    if not xp.issubdtype(target.dtype, xp.integer):
        hint = ("; for class probabilities give a float target of the input's shape"
                if op == "cross_entropy" else "")
        raise TypeError(f"{op}: target must hold class indices (an integer dtype), got "
                        f"{target.dtype} of shape {tuple(target.shape)} for input of shape "
                        f"{tuple(input.shape)}{hint}")
    expected = tuple(input.shape[:1] + input.shape[2:]) if input.ndim > 1 else ()
    if tuple(target.shape) != expected:
        raise ValueError(f"{op}: target of shape {tuple(target.shape)} does not match input of "
                         f"shape {tuple(input.shape)}; expected target shape {expected}")


class CrossEntropy(Function):
    """forward(logits (N, C, d...), target) -> loss.

    Class-index target (N, d...): element i's loss is -sum_c a_ic log p_ic with
        a_ic = (1 - eps) w[t_i] [c == t_i] + eps / C * w_c   (0 if t_i is ignored),
    eps the label smoothing (Szegedy et al. 2016), p = softmax over C. For a
    class-probability target q (same shape as the input, PyTorch's other
    form), a_ic = w_c ((1 - eps) q_ic + eps / C), and 'mean' divides by N*d...
    Both give the same backward: dL/dx_ic = p_ic sum_c' a_ic' - a_ic.
    """

    def __init__(self, weight, ignore_index, reduction, label_smoothing):
        self.weight, self.ignore_index = weight, ignore_index
        self.reduction, self.label_smoothing = reduction, label_smoothing

    def forward(self, x, target):
        classes, eps = x.shape[1], self.label_smoothing
        class_shape = (1, classes) + (1,) * (x.ndim - 2)  # w_c broadcast along the class axis
        self.class_weight = (self.weight.astype(x.dtype).reshape(class_shape)
                             if self.weight is not None else None)
        self.log_p = log_softmax_array(x, 1)
        # A float target of the input's shape holds class probabilities (the door
        # checked that any other target holds class indices).
        self.soft = xp.issubdtype(target.dtype, xp.floating) and target.shape == x.shape
        if self.soft:
            a = target * (1.0 - eps) + eps / classes if eps else target
            self.coefficients = a * self.class_weight if self.class_weight is not None else a
            loss = -xp.einsum("nc...,nc...->n...", self.coefficients, self.log_p)
            self.denominator = loss.size
        else:
            targets = _ClassTargets("cross_entropy", x.shape, target, self.weight,
                                    self.ignore_index, x.dtype)
            self.targets = targets
            picked = xp.take_along_axis(self.log_p, targets.index, axis=1)[:, 0]
            loss = -(1.0 - eps) * targets.weight_of_target * picked
            if eps:
                weighted = self.log_p * self.class_weight if self.class_weight is not None \
                    else self.log_p
                smooth = -weighted.sum(axis=1)
                loss += (eps / classes) * xp.where(targets.valid, smooth, 0)
            self.denominator = targets.weight_of_target.sum()
        self.loss_shape = loss.shape
        return _reduce(loss.astype(x.dtype, copy=False), self.reduction, self.denominator)

    def backward(self, g):
        g = _per_element(g, self.loss_shape, self.reduction, self.denominator)
        p = xp.exp(self.log_p)
        g1 = xp.expand_dims(g, 1)
        if self.soft:
            a = self.coefficients
            gx = p * (g1 * a.sum(axis=1, keepdims=True)) - a * g1
            gtarget = None
            if self.needs_input_grad[1]:  # d loss / d q_ic = -(1 - eps) w_c log p_ic
                w = self.class_weight if self.class_weight is not None else 1.0
                gtarget = -(1.0 - self.label_smoothing) * w * self.log_p * g1
        else:
            t, eps, classes = self.targets, self.label_smoothing, p.shape[1]
            hard = (1.0 - eps) * t.weight_of_target
            total = hard
            if eps:
                weight_sum = self.class_weight.sum() if self.class_weight is not None else classes
                total = hard + (eps / classes) * weight_sum * t.valid
            gx = p * xp.expand_dims(g * total, 1)
            at_target = xp.take_along_axis(gx, t.index, axis=1)
            xp.put_along_axis(gx, t.index, at_target - xp.expand_dims(g * hard, 1), axis=1)
            if eps:
                w = self.class_weight if self.class_weight is not None else 1.0
                gx -= (eps / classes) * w * xp.expand_dims(g * t.valid, 1)
            gtarget = None
        return gx.astype(p.dtype, copy=False), gtarget


class NLLLoss(Function):
    """forward(log_probs (N, C, d...), target (N, d...)): loss_i = -w[t_i] x[i, t_i].
    Backward puts -w[t_i] g_i at the target class and 0 elsewhere."""

    def __init__(self, weight, ignore_index, reduction):
        self.weight, self.ignore_index, self.reduction = weight, ignore_index, reduction

    def forward(self, x, target):
        self.targets = _ClassTargets("nll_loss", x.shape, target, self.weight, self.ignore_index,
                                     x.dtype)
        self.input_shape = x.shape
        picked = xp.take_along_axis(x, self.targets.index, axis=1)[:, 0]
        loss = -self.targets.weight_of_target * picked
        self.denominator = self.targets.weight_of_target.sum()
        return _reduce(loss, self.reduction, self.denominator)

    def backward(self, g):
        t = self.targets
        g = _per_element(g, t.weight_of_target.shape, self.reduction, self.denominator)
        gx = xp.zeros(self.input_shape, dtype=g.dtype)
        xp.put_along_axis(gx, t.index, xp.expand_dims(-g * t.weight_of_target, 1), axis=1)
        return gx, None


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """Softmax cross-entropy of logits ``input`` (N, C, d...) or (C,).

    ``target``: class indices (N, d...) (integer dtype), or class probabilities
    of the input's shape. ``weight`` (C,) rescales each class; elements whose
    target is ``ignore_index`` contribute nothing. ``size_average``/``reduce``
    are PyTorch's deprecated arguments, accepted only as None.
    """
    input, target, weight, unbatched = _class_loss_inputs(
        "cross_entropy", input, target, weight, reduction, size_average, reduce)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    if not (xp.issubdtype(target.dtype, xp.floating) and target.shape == input.shape):
        _check_class_indices("cross_entropy", input, target)
    return call_as_batch(CrossEntropy(weight, ignore_index, reduction, label_smoothing),
                         (input, target), unbatched, batched=2, squeeze=reduction == "none")


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log-likelihood of log-probabilities ``input`` (N, C, d...) or (C,)
    at the class indices ``target`` (N, d...)."""
    input, target, weight, unbatched = _class_loss_inputs(
        "nll_loss", input, target, weight, reduction, size_average, reduce)
    _check_class_indices("nll_loss", input, target)
    return call_as_batch(NLLLoss(weight, ignore_index, reduction), (input, target), unbatched,
                         batched=2, squeeze=reduction == "none")


# --------------------------------------------------------------------------- regression


class MSELoss(Function):
    """forward(input, target) -> mean/sum/none of (input - target)^2; the two
    broadcast against each other. Backward 2 (input - target) g, summed back
    over broadcast dims."""

    def __init__(self, reduction):
        self.reduction = reduction

    def forward(self, x, target):
        self.shapes = x.shape, target.shape
        self.diff = x - target
        loss = self.diff * self.diff
        return _reduce(loss, self.reduction, loss.size)

    def backward(self, g):
        g = _per_element(g, self.diff.shape, self.reduction, self.diff.size)
        gd = 2.0 * self.diff * g
        need_x, need_t = self.needs_input_grad
        return (sum_to(gd, self.shapes[0]) if need_x else None,
                sum_to(-gd, self.shapes[1]) if need_t else None)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Mean squared error. Different shapes broadcast with a warning, as in PyTorch."""
    _check_options("mse_loss", reduction, size_average, reduce)
    input = as_tensor(input, op="mse_loss")
    target = as_tensor(target, input.dtype, op="mse_loss")
    if input.shape != target.shape:
        try:
            xp.broadcast_shapes(input.shape, target.shape)
        except ValueError:
            raise ValueError(f"mse_loss: input of shape {input.shape} and target of shape "
                             f"{target.shape} cannot be broadcast together") from None
        warnings.warn(f"mse_loss: target shape {target.shape} differs from input shape "
                      f"{input.shape}; they are broadcast, which is rarely intended",
                      stacklevel=2)
    return MSELoss(reduction)(input, target)


# --------------------------------------------------------------------------- binary


class _BinaryLoss(Function):
    """What the two binary losses share: a fixed elementwise ``weight`` applied to
    each element's loss (and so to its gradient), then the reduction."""

    weight = None

    def _weighted_reduce(self, loss):
        if self.weight is not None:
            loss = loss * self.weight
        return _reduce(loss.astype(self.x.dtype, copy=False), self.reduction, loss.size)

    def _weighted_upstream(self, g):
        g = _per_element(g, self.x.shape, self.reduction, self.x.size)
        return g * self.weight if self.weight is not None else g


class BinaryCrossEntropyWithLogits(_BinaryLoss):
    """forward(logits x, target t), both of one shape; weight and pos_weight
    (fixed arrays broadcasting against x) go to ``__init__``.

        loss = w [ (1 - t) x + (1 + (pw - 1) t) log(1 + e^-x) ],

    which equals -w [pw t log s(x) + (1 - t) log(1 - s(x))], s the sigmoid,
    with log(1 + e^-x) = max(-x, 0) + log1p(e^-|x|) so that no exp overflows.
    Backward: dx = w [(1 - t) - (1 + (pw - 1) t) s(-x)], dt = w [-x + (pw - 1) log(1 + e^-x)].
    """

    def __init__(self, weight, pos_weight, reduction):
        self.weight, self.pos_weight, self.reduction = weight, pos_weight, reduction

    def forward(self, x, t):
        self.x, self.t = x, t
        self.softplus_neg = xp.maximum(-x, 0) + xp.log1p(xp.exp(-xp.abs(x)))
        self.log_weight = 1.0 + (self.pos_weight - 1.0) * t if self.pos_weight is not None else 1.0
        return self._weighted_reduce((1.0 - t) * x + self.log_weight * self.softplus_neg)

    def backward(self, g):
        g = self._weighted_upstream(g)
        need_x, need_t = self.needs_input_grad
        gx = gt = None
        if need_x:
            gx = g * ((1.0 - self.t) - self.log_weight * sigmoid_array(-self.x))
        if need_t:
            slope = -self.x
            if self.pos_weight is not None:
                slope = slope + (self.pos_weight - 1.0) * self.softplus_neg
            gt = g * slope
        return gx, gt


class BinaryCrossEntropy(_BinaryLoss):
    """forward(probabilities x in [0, 1], target t): -w [t log x + (1 - t) log(1 - x)],
    each log clamped at -100 and the input gradient w (x - t) / max(x (1 - x), 1e-12),
    both as PyTorch does so that x = 0 or 1 gives finite values."""

    def __init__(self, weight, reduction):
        self.weight, self.reduction = weight, reduction

    def forward(self, x, t):
        if not ((x >= 0) & (x <= 1)).all():  # written so that NaN fails too
            nan = ", and NaN" if xp.isnan(x).any() else ""
            raise ValueError(f"binary_cross_entropy: all elements of input should be between 0 "
                             f"and 1 (got values in [{xp.nanmin(x)}, {xp.nanmax(x)}]{nan}); use "
                             "binary_cross_entropy_with_logits for logits")
        self.x, self.t = x, t
        with xp.errstate(divide="ignore"):
            self.log_x = xp.maximum(xp.log(x), -100.0)
            self.log_1mx = xp.maximum(xp.log1p(-x), -100.0)
        return self._weighted_reduce(-(t * self.log_x + (1.0 - t) * self.log_1mx))

    def backward(self, g):
        g = self._weighted_upstream(g)
        need_x, need_t = self.needs_input_grad
        x = self.x
        gx = g * (x - self.t) / xp.maximum(x * (1.0 - x), 1e-12) if need_x else None
        gt = g * (self.log_1mx - self.log_x) if need_t else None
        return gx, gt


def _binary_inputs(input, target, weight, op):
    input = as_tensor(input, op=op)
    target = as_tensor(target, input.dtype, op=op)
    if input.shape != target.shape:
        raise ValueError(f"{op}: target of shape {target.shape} must have the same shape as "
                         f"input of shape {input.shape}")
    if not xp.issubdtype(target.dtype, xp.floating):
        raise TypeError(f"{op}: target must be floating point (probabilities), got {target.dtype}")
    weight = _optional_array(weight)
    if weight is not None:
        try:
            if xp.broadcast_shapes(weight.shape, input.shape) != input.shape:
                raise ValueError
        except ValueError:
            raise ValueError(f"{op}: weight of shape {weight.shape} does not broadcast to input "
                             f"of shape {input.shape}") from None
    return input, target, weight


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """Sigmoid + binary cross-entropy in one numerically stable op. ``pos_weight``
    (broadcasting along the last dim, e.g. one per class) weighs positive targets."""
    _check_options("binary_cross_entropy_with_logits", reduction, size_average, reduce)
    input, target, weight = _binary_inputs(input, target, weight,
                                           "binary_cross_entropy_with_logits")
    pos_weight = _optional_array(pos_weight)
    if pos_weight is not None:
        try:
            xp.broadcast_shapes(pos_weight.shape, input.shape)
        except ValueError:
            raise ValueError(f"binary_cross_entropy_with_logits: pos_weight of shape "
                             f"{pos_weight.shape} does not broadcast to input of shape "
                             f"{input.shape}") from None
    return BinaryCrossEntropyWithLogits(weight, pos_weight, reduction)(input, target)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """Binary cross-entropy of probabilities ``input`` (after a sigmoid)."""
    _check_options("binary_cross_entropy", reduction, size_average, reduce)
    input, target, weight = _binary_inputs(input, target, weight, "binary_cross_entropy")
    return BinaryCrossEntropy(weight, reduction)(input, target)

