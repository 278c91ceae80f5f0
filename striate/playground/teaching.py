"""The teaching views' numbers, every one from striate's own forward and backward.

* :func:`conv_steps`: a kernel sliding over a small grey picture; for every
  window position the patch under the kernel, the element-wise products,
  their sum, the bias and the output cell, which is read from
  :func:`striate.functional.conv2d` (the patch is only indexed out of the
  padded input, never multiplied in a second implementation).
* :func:`neuron`: one cell of one layer of a chain model (LeNet-5): its
  receptive field in the input (size and jump as :func:`striate.summary`
  computes them), the arithmetic that produced it from the layer's input
  (inputs times weights plus bias; for a max-pooling cell, the window and its
  winner; for an activation, its input) and the cells of the next layer it
  feeds.
* :func:`backward`: the gradient of the top class's logit at every layer's
  output, max-pooling's routing (only window winners receive gradient) and
  the weight gradient of one filter.
* :func:`snapshot`: the first conv layer's filters and its feature maps of a
  fixed input, for the Train page while a model learns.

Symbols: C channels, H x W a map, k the kernel side, s stride, p padding, d
dilation; a receptive field of side RF whose neighbouring cells are ``jump``
input pixels apart.
"""
from ..backend import xp
from . import pictures

__all__ = ["conv_steps", "neuron", "backward", "snapshot", "CONV_SIDE", "EXAMPLES"]

#: The convolution animation runs on the picture shrunk to this side.
CONV_SIDE = 12
#: The gallery script in ``examples/`` that teaches each view's idea.
EXAMPLES = {"conv": ["examples/02_convolution_by_hand.py", "examples/03_output_size.py",
                     "examples/10_dilated_and_1x1.py"],
            "neuron": ["examples/06_receptive_fields.py", "examples/05_parameter_counts.py"],
            "backward": ["examples/08_conv_backprop.py", "examples/04_pooling.py"],
            "train": ["examples/13_lenet_filters_and_maps.py"]}


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _pads(padding, kernel, dilation):
    """((top, bottom), (left, right)) for ``padding`` 'same', 'valid', an int or a pair."""
    if padding == "valid":
        return ((0, 0), (0, 0))
    if padding == "same":
        spans = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return tuple((span // 2, span - span // 2) for span in spans)
    ph, pw = _pair(padding)
    return ((ph, ph), (pw, pw))


def _round(array, digits=4):
    return xp.round(xp.asarray(array, dtype=xp.float64), digits).tolist()


def conv_steps(grey, weight, bias=0.0, padding="valid", stride=1, dilation=1):
    """Every window position of ``weight`` (k, k) correlated with ``grey`` (H, W).

    The input is rounded to two decimals first so that the page shows
    exactly the numbers that were multiplied. Returns the input, the padded
    input, the output (from striate's ``conv2d``) and per position ``{"y",
    "x", "rows", "cols", "patch", "products", "sum", "output"}``; ``rows``
    and ``cols`` index the padded input.
    """
    from ..autograd import Tensor
    from ..functional import conv2d

    grey = xp.round(xp.asarray(grey, dtype=xp.float64), 2)
    weight = xp.asarray(weight, dtype=xp.float64)
    stride, dilation = _pair(stride), _pair(dilation)
    pads = _pads(padding, weight.shape, dilation)
    padded = xp.pad(grey, pads)
    reach = [d * (k - 1) + 1 for k, d in zip(weight.shape, dilation)]
    if any(r > n for r, n in zip(reach, padded.shape)):
        raise ValueError(f"the kernel, dilated to {reach[0]}x{reach[1]}, does not fit the "
                         f"{grey.shape[0]}x{grey.shape[1]} picture padded to "
                         f"{padded.shape[0]}x{padded.shape[1]}: use less dilation or more padding")
    out = conv2d(Tensor(padded[None, None]), Tensor(weight[None, None]),
                 Tensor(xp.asarray([float(bias)])), stride=stride, dilation=dilation).data[0, 0]
    steps = []
    for y in range(out.shape[0]):
        for x in range(out.shape[1]):
            rows = [y * stride[0] + i * dilation[0] for i in range(weight.shape[0])]
            cols = [x * stride[1] + j * dilation[1] for j in range(weight.shape[1])]
            patch = padded[xp.ix_(rows, cols)]
            products = patch * weight
            steps.append({"y": y, "x": x, "rows": rows, "cols": cols, "patch": _round(patch),
                          "products": _round(products, 6),
                          "sum": float(round(products.sum(), 6)),
                          "output": float(round(out[y, x], 6))})
    height, width = grey.shape
    return {"input": _round(grey, 2), "padded": _round(padded, 2), "pads": [list(p) for p in pads],
            "kernel": weight.tolist(), "bias": float(bias), "stride": list(stride),
            "dilation": list(dilation), "output": _round(out, 6),
            "output_shape": list(out.shape), "input_shape": [height, width], "steps": steps,
            "formula": [f"⌊({n} − {r} + {a + b}) / {s}⌋ + 1 = {o}"
                        for n, r, (a, b), s, o in zip(grey.shape, reach, pads, stride, out.shape)],
            "examples": EXAMPLES["conv"]}


# --------------------------------------------------------------------------- the served network


def _spatial(module):
    """(kind, kernel, stride, padding, dilation) of a layer that moves over space,
    or (kind, None...) for one that keeps every cell where it is."""
    from ..nn import Conv2d, MaxPool2d

    def two(value):
        return _pair(value) if value is not None else None

    if isinstance(module, Conv2d):
        return ("conv", two(module.kernel_size), two(module.stride), two(module.padding),
                two(module.dilation))
    if isinstance(module, MaxPool2d):
        stride = module.stride if module.stride is not None else module.kernel_size
        return ("maxpool", two(module.kernel_size), two(stride), two(module.padding),
                two(getattr(module, "dilation", 1)))
    return ("pointwise", None, None, None, None)


def trace(model, batch):
    """``[(name, module, input array, output array), ...]`` of the leaf layers
    in the order they ran on ``batch`` (N, C, H, W), in evaluation mode."""
    from ..autograd import Tensor, no_grad
    from ..explain.inputs import inspecting

    calls, handles = [], []
    for name, module in model.named_modules():
        if name and not any(True for _ in module.children()):
            def hook(module, inputs, output, name=name):
                calls.append((name, module, inputs[0].data.copy(), output.data.copy()))
            handles.append(module.register_forward_hook(hook))
    try:
        with inspecting(model), no_grad():
            model(Tensor(batch))
    finally:
        for handle in handles:
            handle.remove()
    return calls


def _chain(calls):
    """The leading run of layers with spatial (N, C, H, W) outputs, each fed by
    the one before (a chain such as LeNet-5's features); ValueError otherwise."""
    chain = []
    for index, call in enumerate(calls):
        if call[3].ndim != 4:
            break
        if index and call[2].shape != calls[index - 1][3].shape:
            raise ValueError("this view follows chain models only (each layer fed by the one "
                             f"before); {call[0]} is not")
        chain.append(call)
    if not chain:
        raise ValueError("the served model has no layer with a spatial output")
    return chain


def _fields(chain, summary_rows):
    """Per chain layer ``(rf, jump, centre)``: receptive field side and jump
    per axis from the summary, and the input coordinate of cell 0's centre."""
    centre, jump = (0.0, 0.0), (1.0, 1.0)
    fields = {}
    for name, module, _, _ in chain:
        kind, kernel, stride, padding, dilation = _spatial(module)
        if kind != "pointwise":
            centre = tuple(c + ((k - 1) / 2 * d - p) * j
                           for c, k, d, p, j in zip(centre, kernel, dilation, padding, jump))
            jump = tuple(j * s for j, s in zip(jump, stride))
        row = summary_rows[name]
        fields[name] = (tuple(row.receptive_field), tuple(row.jump), centre)
    return fields


def _reads(v, o, kernel, stride, padding, dilation):
    """Whether output index ``o`` of a window op reads input index ``v`` (one axis)."""
    offset = v + padding - o * stride
    return offset % dilation == 0 and 0 <= offset // dilation < kernel


def _feeds(module, y, x, out_shape):
    """The cells (y', x') of ``module``'s output whose window covers input cell (y, x)."""
    kind, kernel, stride, padding, dilation = _spatial(module)
    if kind == "pointwise":
        return [[y, x]]
    ys = [o for o in range(out_shape[0])
          if _reads(y, o, kernel[0], stride[0], padding[0], dilation[0])]
    xs = [o for o in range(out_shape[1])
          if _reads(x, o, kernel[1], stride[1], padding[1], dilation[1])]
    return [[oy, ox] for oy in ys for ox in xs]


def _window(inputs, kernel, stride, padding, dilation, y, x, fill):
    """The window (C, k, k) of ``inputs`` (C, H, W) read by output cell (y, x),
    and its rows and columns in the unpadded input (outside: -1)."""
    padded = xp.pad(inputs, ((0, 0), (padding[0], padding[0]), (padding[1], padding[1])),
                    constant_values=fill)
    rows = [y * stride[0] + i * dilation[0] for i in range(kernel[0])]
    cols = [x * stride[1] + j * dilation[1] for j in range(kernel[1])]
    window = padded[:, rows][:, :, cols]
    height, width = inputs.shape[1:]
    return (window, [r - padding[0] if 0 <= r - padding[0] < height else -1 for r in rows],
            [c - padding[1] if 0 <= c - padding[1] < width else -1 for c in cols])


def neuron(served, frame, layer, channel, y, x):
    """The arithmetic, receptive field and next-layer cells of cell
    (``channel``, ``y``, ``x``) of ``layer`` for one framed input (C, H, W)."""
    from ..summary import summary

    batch = served._normalize(frame)[None]
    with served.lock:
        calls = trace(served.model, batch)
        rows = {row.name: row for row in summary(served.model, served.input_shape).layers
                if row.is_leaf}
    chain = _chain(calls)
    names = [call[0] for call in chain]
    if layer not in names:
        raise ValueError(f"layer {layer!r} has no spatial output to click; the layers are {names}")
    index = names.index(layer)
    name, module, inputs, output = chain[index]
    inputs, output = inputs[0], output[0]
    channels, height, width = output.shape
    if not (0 <= channel < channels and 0 <= y < height and 0 <= x < width):
        raise ValueError(f"cell ({channel}, {y}, {x}) is outside {name}'s output "
                         f"{channels}x{height}x{width}")
    kind, kernel, stride, padding, dilation = _spatial(module)
    value = float(output[channel, y, x])
    result = {"layer": name, "type": type(module).__name__, "kind": kind, "channel": channel,
              "y": y, "x": x, "shape": list(output.shape), "value": value,
              "examples": EXAMPLES["neuron"]}
    if kind == "conv":
        window, in_rows, in_cols = _window(inputs, kernel, stride, padding, dilation, y, x, 0.0)
        weight = module.weight.data[channel].astype(xp.float64)
        bias = float(module.bias.data[channel]) if module.bias is not None else 0.0
        products = window.astype(xp.float64) * weight
        sums = products.sum(axis=(1, 2))
        result.update(inputs=_round(window, 6), weights=_round(weight, 6),
                      products=_round(products, 6),
                      channel_sums=_round(sums, 6), sum=float(sums.sum()), bias=bias,
                      rows=in_rows, cols=in_cols,
                      params=int(module.weight.data.size + (module.bias.data.size
                                                            if module.bias is not None else 0)),
                      param_formula=(f"{module.weight.shape[1]}·{kernel[0]}·{kernel[1]}·"
                                     f"{module.weight.shape[0]} + "
                                     f"{module.weight.shape[0] if module.bias is not None else 0}"))
    elif kind == "maxpool":
        window, in_rows, in_cols = _window(inputs, kernel, stride, padding, dilation, y, x,
                                           -xp.inf)
        plane = window[channel]
        winner = int(xp.argmax(plane))
        result.update(inputs=_round(plane, 6), winner=list(divmod(winner, plane.shape[1])),
                      rows=in_rows, cols=in_cols)
    else:
        result.update(input=float(inputs[channel, y, x]),
                      function=type(module).__name__)
    rf, jump, centre = _fields(chain, rows)[name]
    box = []
    for axis, (c, j, r, n) in enumerate(zip(centre, jump, rf, served.input_shape[1:])):
        middle = c + (y if axis == 0 else x) * j
        low, high = middle - (r - 1) / 2, middle + (r - 1) / 2
        box.append([int(max(0, xp.ceil(low))), int(min(n - 1, xp.floor(high)))])
    result["receptive_field"] = {"size": list(rf), "jump": list(jump), "box": box,
                                 "input_shape": list(served.input_shape[1:])}
    if index + 1 < len(chain):
        following = chain[index + 1]
        fkind = _spatial(following[1])[0]
        cells = _feeds(following[1], y, x, following[3].shape[2:])
        result["next"] = {"layer": following[0], "type": type(following[1]).__name__,
                          "channels": "all" if fkind == "conv" else [channel],
                          "cells": cells, "shape": list(following[3].shape[1:])}
    else:
        result["next"] = None
    return result


def backward(served, frame, layer=None, index=0):
    """The top class's logit differentiated at every layer of one framed
    input (C, H, W): a diverging map per spatial layer, max-pooling's
    routing as numbers (its input, the gradient at its output and at its
    input, first pooling layer) and the weight gradient of filter ``index``
    of conv layer ``layer`` (default: the first)."""
    from ..autograd import Tensor
    from ..explain.inputs import inspecting

    model = served.model
    batch = served._normalize(frame)[None]
    leaves = [(name, module) for name, module in model.named_modules()
              if name and not any(True for _ in module.children())]
    convs = [name for name, module in leaves if _spatial(module)[0] == "conv"]
    layer = layer or (convs[0] if convs else None)
    if layer not in convs:
        raise ValueError(f"layer must be a conv layer of the served model ({convs}), "
                         f"got {layer!r}")
    captured, handles = [], []

    def hook(module, inputs, output, name=None):
        output.retain_grad()
        captured.append((name, module, inputs[0], output))

    with served.lock:
        params = list(model.parameters())
        saved = [p.grad for p in params]
        try:
            for name, module in leaves:
                handles.append(module.register_forward_hook(
                    lambda m, i, o, name=name: hook(m, i, o, name)))
            with inspecting(model, frozen=False):
                for p in params:
                    p.grad = None
                x = Tensor(batch, requires_grad=True)
                logits = model(x)
                target = int(logits.data[0].argmax())
                one_hot = xp.zeros(logits.shape, dtype=logits.data.dtype)
                one_hot[0, target] = 1
                (logits * one_hot).sum().backward()
            conv = dict(leaves)[layer]
            if index < 0 or index >= conv.weight.shape[0]:
                raise ValueError(f"filter must be 0..{conv.weight.shape[0] - 1}, got {index}")
            weight_grad = conv.weight.grad[index].astype(xp.float64).copy()
            layers = [{"name": "input", "type": "input", "shape": list(x.grad.shape[1:]),
                       "image": pictures.png_data_url(pictures.diverging_tile(x.grad[0])),
                       "max_abs": float(xp.abs(x.grad).max())}]
            routing = None
            for position, (name, module, inputs, output) in enumerate(captured):
                if output.grad is None or output.ndim != 4:
                    continue
                grad = output.grad[0]
                shown = grad[:16]
                layers.append({"name": name, "type": type(module).__name__,
                               "shape": list(grad.shape),
                               "image": pictures.png_data_url(pictures.diverging_tile(
                                   shown, columns=min(len(shown), 8))),
                               "max_abs": float(xp.abs(grad).max())})
                if routing is None and _spatial(module)[0] == "maxpool" and position:
                    before = captured[position - 1][3]
                    if before.grad is not None and before.shape == inputs.shape:
                        kind, kernel, stride, padding, dilation = _spatial(module)
                        routing = {"layer": name, "kernel": list(kernel), "stride": list(stride),
                                   "input": _round(inputs.data[0], 6),
                                   "grad_input": _round(before.grad[0], 8),
                                   "grad_output": _round(grad, 8),
                                   "image": pictures.png_data_url(pictures.diverging_tile(
                                       before.grad[0][:16], columns=min(len(grad), 8)))}
        finally:
            for handle in handles:
                handle.remove()
            for p, g in zip(params, saved):
                p.grad = g
    return {"target": served.classes[target], "target_index": target, "layers": layers,
            "routing": routing, "filter": {"layer": layer, "index": index,
                                           "weight_grad": _round(weight_grad, 8),
                                           "image": pictures.png_data_url(pictures.diverging_tile(
                                               weight_grad, columns=min(len(weight_grad), 8)))},
            "conv_layers": convs, "examples": EXAMPLES["backward"]}


def snapshot(model, image):
    """The first conv layer's filters (input channels averaged, diverging map)
    and its feature maps of ``image`` (1, C, H, W), as PNG data URLs."""
    from ..explain import feature_maps, filters
    from ..explain.layers import conv_layers

    convs = conv_layers(model)
    if not convs:
        return None
    name, layer = convs[0]
    weights = filters(layer).mean(axis=1)[:16]
    maps = feature_maps(model, image, layers=[name])[name][0][:16]
    return {"layer": name,
            "filters": pictures.png_data_url(pictures.diverging_tile(
                weights, columns=min(len(weights), 8))),
            "maps": pictures.png_data_url(pictures.tile(maps, columns=min(len(maps), 8)))}
