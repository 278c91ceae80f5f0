"""Explanations from one backward pass: saliency maps and Grad-CAM.

Symbols: N images, C input channels, H x W input pixels, K classes; at the
Grad-CAM layer, A (N, M, h, w) the activations of its M channels.

* Saliency (Simonyan, Vedaldi and Zisserman 2014, "Deep inside convolutional
  networks"): ``|d logit_target / d x|``, the largest over the C channels, per
  pixel: how much a small change of each pixel would move the class score.
* Grad-CAM (Selvaraju et al. 2017): channel weights ``alpha_m`` = the spatial
  mean of ``d logit_target / d A_m``; map = ``ReLU(sum_m alpha_m A_m)`` (h, w),
  resized bilinearly to H x W (``align_corners=False``, as PyTorch's
  ``interpolate`` and the reference implementation do). The ReLU keeps the
  regions that speak *for* the class.

Both differentiate the logit (the score before the softmax), as the papers
do: the softmax would mix in the evidence for the other classes.
"""
from ..autograd import Tensor
from ..backend import xp
from .inputs import as_batch, check_logits, inspecting, targets
from .layers import conv_layers, find_layer

__all__ = ["saliency", "grad_cam"]


def _backward_from_target(logits, target, op):
    """Backpropagate the chosen logit of every image; returns the chosen classes (N,)."""
    check_logits(logits, op)
    chosen = targets(target, logits.data, op)
    one_hot = xp.zeros(logits.shape, dtype=logits.dtype)
    one_hot[xp.arange(len(chosen)), chosen] = 1
    (logits * one_hot).sum().backward()
    return chosen


def saliency(model, x, target=None):
    """Simonyan et al.'s saliency map, shape (N, H, W), values >= 0.

    ``x``: (N, C, H, W) or (C, H, W). ``target``: the class whose logit is
    differentiated, None (the predicted class), an int, or N ints.
    The model's parameters and their gradients are left untouched.
    """
    batch = as_batch(model, x, "saliency")
    with inspecting(model):
        inputs = Tensor(batch, requires_grad=True)
        _backward_from_target(model(inputs), target, "saliency")
    return xp.abs(inputs.grad).max(axis=1)


def grad_cam(model, x, layer, target=None, normalize=False):
    """Selvaraju et al.'s Grad-CAM at ``layer`` (a name), shape (N, H, W), values >= 0.

    ``layer`` must output a spatial map (N, M, h, w): a conv layer or the
    activation or pooling after it (the last conv layer is the usual choice:
    the most semantic maps that still have a layout). ``target`` as in
    :func:`saliency`. ``normalize=True`` divides each map by its maximum.
    """
    from ..functional import interpolate

    module = find_layer(model, layer, "grad_cam")
    batch = as_batch(model, x, "grad_cam")
    captured = []

    def keep(module, inputs, output):
        output.retain_grad()
        captured.append(output)

    handle = module.register_forward_hook(keep)
    try:
        with inspecting(model):
            # The input requires grad so that the layer's output is in the graph
            # even though the parameters are frozen.
            inputs = Tensor(batch, requires_grad=True)
            logits = model(inputs)
            if not captured:
                raise ValueError(f"grad_cam: layer {layer!r} did not run in the forward pass")
            activation = captured[-1]
            if activation.ndim != 4:
                names = ", ".join(name for name, _ in conv_layers(model)) or "none"
                raise ValueError(f"grad_cam: layer {layer!r} ({type(module).__name__}) outputs "
                                 f"shape {tuple(activation.shape)}, not a spatial map (N, M, h, w); "
                                 f"choose a conv layer (conv layers: {names})")
            _backward_from_target(logits, target, "grad_cam")
    finally:
        handle.remove()
    if activation.grad is None:
        raise ValueError(f"grad_cam: the output does not depend on layer {layer!r}")
    weights = activation.grad.mean(axis=(2, 3), keepdims=True)                 # (N, M, 1, 1)
    cam = xp.maximum((weights * activation.data).sum(axis=1), 0)               # (N, h, w)
    resized = interpolate(Tensor(cam[:, None]), size=tuple(batch.shape[2:]), mode="bilinear",
                          align_corners=False).data[:, 0]
    if normalize:
        peak = resized.max(axis=(1, 2), keepdims=True)
        resized = resized / xp.where(peak > 0, peak, 1)
    return resized
