"""Layers by name, a conv layer's filters, and every layer's feature maps.

Names are the dotted paths of ``model.named_modules()`` (``features.0``,
``layer1.0.conv1``), the names of the state dict without ``.weight``.
"""
from ..autograd import Tensor, no_grad
from ..backend import xp
from .inputs import as_batch, inspecting

__all__ = ["layer_names", "find_layer", "conv_layers", "grad_cam_layer", "filters",
           "feature_maps"]


def layer_names(model):
    """Every submodule's dotted name, in definition order (the model itself left out)."""
    return [name for name, _ in model.named_modules() if name]


def find_layer(model, name, op="find_layer"):
    """The submodule called ``name``; a ValueError listing the valid names otherwise."""
    modules = dict(model.named_modules())
    if not isinstance(name, str) or not name or name not in modules:
        raise ValueError(f"{op}: {type(model).__name__} has no layer named {name!r}; valid "
                         f"names: {', '.join(layer_names(model))}")
    return modules[name]


def conv_layers(model):
    """``[(name, layer)]`` of the 2-d convolutions, in definition order."""
    from ..nn import Conv2d

    return [(name, module) for name, module in model.named_modules()
            if name and isinstance(module, Conv2d)]



def grad_cam_layer(model):
    """The layer Grad-CAM looks at by default: the activation right after the
    last 2-d convolution (the rectified maps the method is defined on), or the
    convolution itself when no activation layer follows it; None without one."""
    from ..nn import ELU, GELU, LeakyReLU, ReLU, Sigmoid, Tanh

    convs = conv_layers(model)
    if not convs:
        return None
    last = convs[-1][0]
    leaves = [name for name, m in model.named_modules() if name and not list(m.children())]
    following = leaves[leaves.index(last) + 1] if last in leaves[:-1] else None
    if following and isinstance(model.get_submodule(following),
                                (ReLU, LeakyReLU, ELU, GELU, Tanh, Sigmoid)):
        return following
    return last

def filters(layer_or_model, layer=None, per_filter=True):
    """A conv layer's weights scaled into [-1, 1] for display, shape (O, C, KH, KW).

    ``layer_or_model``: a conv layer, or a model whose first conv layer (or
    the one called ``layer``) is taken. Each filter is divided by its largest
    absolute weight (``per_filter=False``: by the layer's), so that zero stays
    zero, the sign survives, and a diverging colour map shows excitatory and
    inhibitory weights apart.
    """
    from ..nn import Conv2d

    module = layer_or_model
    if layer is not None:
        module = find_layer(layer_or_model, layer, "filters")
    elif not isinstance(module, Conv2d):
        found = conv_layers(module)
        if not found:
            raise ValueError(f"filters: {type(module).__name__} has no Conv2d layer")
        module = found[0][1]
    if not isinstance(module, Conv2d):
        raise ValueError(f"filters: layer {layer!r} is a {type(module).__name__}, not a Conv2d; "
                         f"conv layers: {', '.join(n for n, _ in conv_layers(layer_or_model))}")
    weight = xp.asarray(module.weight.data, dtype=xp.float64)
    axes = (1, 2, 3) if per_filter else (0, 1, 2, 3)
    scale = xp.abs(weight).max(axis=axes, keepdims=True)
    return weight / xp.where(scale > 0, scale, 1.0)


def feature_maps(model, x, layers=None):
    """``{layer name: activation array}`` for one forward pass of ``x``.

    ``x``: (N, C, H, W) or (C, H, W). ``layers``: names (default: every leaf
    layer, i.e. every layer without sublayers). Each activation keeps the
    layer's output shape, e.g. (N, 6, 28, 28) after LeNet's first conv; a layer
    called twice keeps its last call. Runs in evaluation mode without a graph,
    and removes its forward hooks even when the forward pass fails.
    """
    if layers is None:
        names = [name for name, module in model.named_modules()
                 if name and not any(True for _ in module.children())]
    else:
        names = [layers] if isinstance(layers, str) else list(layers)
    modules = [(name, find_layer(model, name, "feature_maps")) for name in names]
    batch = as_batch(model, x, "feature_maps")
    captured = {}
    handles = []

    def recorder(name):
        def hook(module, inputs, output):
            captured[name] = output.data.copy() if hasattr(output, "data") else output
        return hook

    try:
        for name, module in modules:
            handles.append(module.register_forward_hook(recorder(name)))
        with inspecting(model), no_grad():
            model(Tensor(batch))
    finally:
        for handle in handles:
            handle.remove()
    return {name: captured[name] for name in names if name in captured}
