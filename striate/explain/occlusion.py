"""Occlusion sensitivity (Zeiler and Fergus 2014, "Visualizing and understanding
convolutional networks", section 4.2): cover a square of the image with a
patch of constant ``fill`` and watch the target class's probability. Where
it drops, the model was looking.

Symbols: N images, C channels, H x W pixels, K classes; a window of F x F
pixels slides with stride S over the image, giving the notes' familiar
``(H - F)/S + 1`` by ``(W - F)/S + 1`` positions (no padding: every patch
lies inside the image).
"""
from ..autograd import Tensor, no_grad
from ..backend import xp
from .inputs import as_batch, check_logits, inspecting, targets

__all__ = ["occlusion"]


def _probabilities(model, batch):
    from ..functional import softmax

    logits = model(Tensor(batch))
    check_logits(logits, "occlusion")
    return softmax(logits.astype(xp.float64), dim=1).data


def occlusion(model, x, target=None, window=None, stride=None, fill=0.0, batch_size=64):
    """The drop in the target class's probability when each patch is covered,
    shape (N, OH, OW) with ``OH = (H - window) // stride + 1``.

    ``x``: (N, C, H, W) or (C, H, W), in the model's input scale (so ``fill=0``
    is the mean pixel of normalized input). ``window``: the patch side F
    (default a quarter of the smaller image side); ``stride``: S (default
    F // 2). ``target`` as in :func:`striate.explain.saliency`. Positive
    values: the patch hid evidence for the class; negative: it hid evidence
    against it. ``batch_size`` occluded copies go through the model at once.
    """
    batch = as_batch(model, x, "occlusion")
    n, _, height, width = batch.shape
    if window is None:
        window = max(1, min(height, width) // 4)
    if stride is None:
        stride = max(1, window // 2)
    for name, value in (("window", window), ("stride", stride), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, (int, xp.integer)) or value < 1:
            raise ValueError(f"occlusion: {name} must be a positive int, got {value!r}")
    if (isinstance(fill, bool) or not isinstance(fill, (int, float, xp.integer, xp.floating))
            or not xp.isfinite(fill)):
        raise ValueError(f"occlusion: fill must be a finite number (the value painted over "
                         f"each patch), got {fill!r}")
    if window > height or window > width:
        raise ValueError(f"occlusion: the window {window}x{window} is larger than the image "
                         f"{height}x{width}")
    rows = (height - window) // stride + 1
    cols = (width - window) // stride + 1
    positions = [(r * stride, c * stride) for r in range(rows) for c in range(cols)]
    drops = xp.zeros((n, rows * cols), dtype=xp.float64)
    with inspecting(model), no_grad():
        base = _probabilities(model, batch)
        chosen = targets(target, base, "occlusion")
        for i in range(n):
            for start in range(0, len(positions), batch_size):
                chunk = positions[start:start + batch_size]
                covered = xp.repeat(batch[i:i + 1], len(chunk), axis=0)
                for j, (top, left) in enumerate(chunk):
                    covered[j, :, top:top + window, left:left + window] = fill
                probabilities = _probabilities(model, covered)[:, chosen[i]]
                drops[i, start:start + len(chunk)] = base[i, chosen[i]] - probabilities
    return drops.reshape(n, rows, cols)
