"""The images that drive one channel hardest (Zeiler and Fergus 2014 show, for
each feature map, the nine training images with the strongest activation).

A channel's response to an image is the *largest* value of its map over all
positions: a feature detector fires somewhere, and where does not matter.
"""
from ..autograd import Tensor, no_grad
from ..backend import xp
from .inputs import as_batch, inspecting
from .layers import find_layer

__all__ = ["top_activations"]


def _images(dataset):
    """An indexable source of (C, H, W) images: an array (N, C, H, W) or a
    dataset whose items are ``(image, label)`` or images."""
    if hasattr(dataset, "gather"):
        return lambda indices: dataset.gather(indices)[0]
    if hasattr(dataset, "shape"):
        array = xp.asarray(dataset)
        return lambda indices: array[indices]

    def gather(indices):
        items = [dataset[int(i)] for i in indices]
        return xp.stack([item[0] if isinstance(item, tuple) else item for item in items])
    return gather


def top_activations(model, dataset, layer, channel, k=9, batch_size=256, transform=None):
    """``(indices, values)``: the ``k`` images of ``dataset`` whose channel
    ``channel`` of ``layer`` responds most strongly, strongest first, each (k,).
    ``channel=None`` ranks every channel in the same pass: (M, k) arrays, row m
    for channel m.

    ``dataset``: an array (N, C, H, W), a striate dataset, or any sequence of
    images or ``(image, label)`` pairs. ``transform``: applied to each batch
    of images before the model (e.g. the training normalization). ``values``
    are the maxima over the channel's map (or the channel itself for a layer
    with flat output).
    """
    module = find_layer(model, layer, "top_activations")
    total = len(dataset)
    if isinstance(k, bool) or not isinstance(k, (int, xp.integer)) or not 1 <= k:
        raise ValueError(f"top_activations: k must be a positive int, got {k!r}")
    if total == 0:
        raise ValueError("top_activations: the dataset is empty")
    gather = _images(dataset)
    captured = []
    handle = module.register_forward_hook(lambda m, inputs, output: captured.append(output.data))
    responses = []
    try:
        with inspecting(model), no_grad():
            for start in range(0, total, batch_size):
                images = gather(xp.arange(start, min(start + batch_size, total)))
                if transform is not None:
                    images = transform(images)
                captured.clear()
                model(Tensor(as_batch(model, images, "top_activations")))
                output = captured[-1]
                channels = output.shape[1]
                if channel is not None and not 0 <= channel < channels:
                    raise ValueError(f"top_activations: channel {channel} is out of range: layer "
                                     f"{layer!r} has {channels} channels (0..{channels - 1})")
                picked = output if channel is None else output[:, channel:channel + 1]
                values = picked.reshape(picked.shape[0], picked.shape[1], -1).max(axis=2)
                responses.append(values.astype(xp.float64))
    finally:
        handle.remove()
    responses = xp.concatenate(responses).T                         # (M, total)
    order = xp.argsort(-responses, axis=1, kind="stable")[:, :k]
    values = xp.take_along_axis(responses, order, axis=1)
    return (order, values) if channel is None else (order[0], values[0])
