"""One converter per striate op: ``convert(graph, call, inputs) -> output name``.

``call`` is a recorded op (:class:`striate.onnx.trace.Call`): its ``function``
holds the options the op ran with (stride, padding pairs, axis, the taps of a
resampling), ``call.inputs``/``call.output`` the traced tensors (their shapes
are the traced ones; the batch axis is left dynamic by the graph). ``inputs``
are the ONNX names of the inputs. A converter emits ONNX nodes through
``graph.node(...)`` and raises ``graph.unsupported(call, why)`` for a form it
cannot express exactly.
"""
import numpy as np

from ..functional import activation, conv, math, normalization, pool, sampling, shape
from ..functional.linear import Linear

__all__ = ["CONVERTERS"]


def _flat_pads(pairs):
    """ONNX pads: all the 'before' values, then all the 'after' values."""
    return [int(b) for b, _ in pairs] + [int(a) for _, a in pairs]


def _ints(values):
    return [int(v) for v in values]


# --------------------------------------------------------------------------- convolution and pooling


def _conv(g, call, inputs):
    fn, weight = call.function, call.inputs[1]
    return g.node("Conv", inputs, call, kernel_shape=_ints(weight.shape[2:]),
                  strides=_ints(fn.stride), pads=_flat_pads(fn.pads),
                  dilations=_ints(fn.dilation), group=int(fn.groups))


def _conv_transpose(g, call, inputs):
    fn, weight = call.function, call.inputs[1]
    return g.node("ConvTranspose", inputs, call, kernel_shape=_ints(weight.shape[2:]),
                  strides=_ints(fn.stride), pads=_flat_pads(fn.pads),
                  dilations=_ints(fn.dilation), group=int(fn.groups),
                  output_padding=_ints(fn.output_padding))


def _max_pool(g, call, inputs):
    # fn.pads already hold ceil mode's extra padding; ONNX pads max-pools with -inf too.
    fn = call.function
    return g.node("MaxPool", inputs, call, kernel_shape=_ints(fn.kernel),
                  strides=_ints(fn.stride), pads=_flat_pads(fn.pads),
                  dilations=_ints(fn.dilation))


def _avg_pool(g, call, inputs):
    fn = call.function
    if fn.divisor_override is not None:
        raise g.unsupported(call, f"divisor_override={fn.divisor_override} has no ONNX form")
    symmetric = tuple((p, p) for p in fn.padding)
    return g.node("AveragePool", inputs, call, kernel_shape=_ints(fn.kernel),
                  strides=_ints(fn.stride), pads=_flat_pads(symmetric),
                  ceil_mode=int(tuple(fn.pads) != symmetric),
                  count_include_pad=int(bool(fn.count_include_pad)))


def _adaptive_avg_pool(g, call, inputs):
    """GlobalAveragePool for output 1, AveragePool when the windows are even
    (size divisible by output), else the separable averaging matrices as MatMuls."""
    spatial, out = call.inputs[0].shape[2:], tuple(call.function.out_spatial)
    if all(o == 1 for o in out):
        return g.node("GlobalAveragePool", inputs, call)
    if all(s % o == 0 for s, o in zip(spatial, out)):
        kernel = [s // o for s, o in zip(spatial, out)]
        return g.node("AveragePool", inputs, call, kernel_shape=kernel, strides=kernel)
    matrices = [pool.averaging_matrix(s, o, call.inputs[0].dtype) for s, o in zip(spatial, out)]
    return g.separable_matmul(inputs[0], matrices, call)


def _adaptive_max_axis(g, call, inputs):
    fn, x = call.function, call.inputs[0]
    size = x.shape[fn.axis]
    if size % fn.out:
        raise g.unsupported(call, f"adaptive max pooling of {size} to {fn.out} positions "
                                  "(uneven windows) has no ONNX form")
    kernel = [1] * (x.ndim - 2)
    kernel[fn.axis - 2] = size // fn.out
    return g.node("MaxPool", inputs, call, kernel_shape=kernel, strides=kernel)


# --------------------------------------------------------------------------- normalization


def _batch_norm(g, call, inputs):
    fn, channels = call.function, call.inputs[0].shape[1]
    if fn.training:
        raise g.unsupported(call, "batch norm without running statistics normalizes with "
                                  "batch statistics even in evaluation mode")
    dtype = call.inputs[0].dtype
    params = list(inputs[1:])
    scale = params.pop(0) if fn.has_weight else g.constant(np.ones(channels, dtype), call, "ones")
    bias = params.pop(0) if fn.has_bias else g.constant(np.zeros(channels, dtype), call, "zeros")
    mean = g.array(fn.running_mean, call, "running_mean")
    var = g.array(fn.running_var, call, "running_var")
    return g.node("BatchNormalization", [inputs[0], scale, bias, mean, var], call,
                  epsilon=float(fn.eps))


def _layer_norm(g, call, inputs):
    fn, x = call.function, call.inputs[0]
    dims = len(fn.normalized_shape)
    params = list(inputs[1:])
    width = tuple(x.shape[-dims:])
    scale = params.pop(0) if fn.has_weight else g.constant(np.ones(width, x.dtype), call, "ones")
    names = [inputs[0], scale] + ([params.pop(0)] if fn.has_bias else [])
    return g.node("LayerNormalization", names, call, axis=-dims, epsilon=float(fn.eps))


def _lrn(g, call, inputs):
    fn = call.function
    if fn.size % 2 == 0:
        # ONNX centres an even window one channel later than PyTorch does.
        raise g.unsupported(call, f"local response norm with an even size ({fn.size})")
    return g.node("LRN", inputs, call, size=int(fn.size), alpha=float(fn.alpha),
                  beta=float(fn.beta), bias=float(fn.k))


# --------------------------------------------------------------------------- activations


def _simple(op_type):
    def convert(g, call, inputs):
        return g.node(op_type, inputs, call)
    return convert


def _leaky_relu(g, call, inputs):
    return g.node("LeakyRelu", inputs, call, alpha=float(call.function.negative_slope))


def _elu(g, call, inputs):
    return g.node("Elu", inputs, call, alpha=float(call.function.alpha))


def _hardtanh(g, call, inputs):
    fn, dtype = call.function, call.inputs[0].dtype
    low = g.constant(np.array(fn.min_val, dtype), call, "min")
    high = g.constant(np.array(fn.max_val, dtype), call, "max")
    return g.node("Clip", [inputs[0], low, high], call)


def _silu(g, call, inputs):
    sigmoid = g.node("Sigmoid", inputs, call)
    return g.node("Mul", [inputs[0], sigmoid], call)


def _softplus(g, call, inputs):
    # PyTorch returns x itself above the threshold; log(1 + e^x) equals it there
    # to float precision, so ONNX's Softplus needs no threshold.
    fn, dtype = call.function, call.inputs[0].dtype
    if fn.beta == 1:
        return g.node("Softplus", inputs, call)
    beta = g.constant(np.array(fn.beta, dtype), call, "beta")
    scaled = g.node("Mul", [inputs[0], beta], call)
    return g.node("Div", [g.node("Softplus", [scaled], call), beta], call)


def _gelu(g, call, inputs):
    """Spelled out (ONNX's Gelu needs opset 20): 0.5 x (1 + erf(x / sqrt 2)), or
    the tanh form 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    x, dtype = inputs[0], call.inputs[0].dtype

    def c(value, hint):
        return g.constant(np.array(value, dtype), call, hint)
    if call.function.approximate == "tanh":
        cube = g.node("Mul", [g.node("Mul", [x, x], call), x], call)
        inner = g.node("Add", [x, g.node("Mul", [cube, c(0.044715, "cubic")], call)], call)
        core = g.node("Tanh", [g.node("Mul", [inner, c(np.sqrt(2 / np.pi), "scale")], call)], call)
    else:
        core = g.node("Erf", [g.node("Mul", [x, c(np.sqrt(0.5), "rsqrt2")], call)], call)
    half_x = g.node("Mul", [x, c(0.5, "half")], call)
    return g.node("Mul", [half_x, g.node("Add", [core, c(1.0, "one")], call)], call)


def _softmax(op_type):
    def convert(g, call, inputs):
        return g.node(op_type, inputs, call, axis=int(call.function.axis))
    return convert


# --------------------------------------------------------------------------- linear and math


def _linear(g, call, inputs):
    if call.inputs[0].ndim == 2:
        return g.node("Gemm", inputs, call, transB=1)
    weight_t = g.node("Transpose", [inputs[1]], call, perm=[1, 0])
    out = g.node("MatMul", [inputs[0], weight_t], call)
    return g.node("Add", [out, inputs[2]], call) if len(inputs) > 2 else out


def _clip(g, call, inputs):
    fn, dtype = call.function, call.inputs[0].dtype
    low = "" if fn.low is None else g.constant(np.array(fn.low, dtype), call, "min")
    high = "" if fn.high is None else g.constant(np.array(fn.high, dtype), call, "max")
    return g.node("Clip", [inputs[0], low, high], call)


def _cast(g, call, inputs):
    return g.node("Cast", inputs, call, to=g.tensor_type(call.output.dtype))


def _reduce(op_type):
    def convert(g, call, inputs):
        fn = call.function
        axes = list(fn.axes) if fn.axes is not None else list(range(call.inputs[0].ndim))
        return g.reduce(op_type, inputs[0], axes, bool(fn.keepdim), call)
    return convert


def _where(g, call, inputs):
    condition = g.constant(np.asarray(call.function.condition), call, "condition")
    return g.node("Where", [condition] + list(inputs), call)


# --------------------------------------------------------------------------- shapes


def _reshape(g, call, inputs):
    return g.reshape(inputs[0], call.inputs[0].shape, call.output.shape, call)


def _permute(g, call, inputs):
    ndim = call.inputs[0].ndim
    return g.node("Transpose", inputs, call, perm=[d % ndim for d in call.function.dims])


def _broadcast(g, call, inputs):
    target = list(call.output.shape)
    if g.dynamic_batch and call.inputs[0].ndim == len(target) and target:
        target[0] = 1   # Expand broadcasts both ways: 1 keeps the input's batch size
    return g.node("Expand", [inputs[0], g.constant(np.array(target, np.int64), call, "shape")],
                  call)


def _getitem(g, call, inputs):
    """Basic indexing (slices, integers, Ellipsis) as Slice, then a Reshape
    that drops the integer-indexed axes."""
    x = call.inputs[0]
    index = call.function.index
    parts = index if isinstance(index, tuple) else (index,)
    if any(not (p is Ellipsis or isinstance(p, (int, np.integer, slice))) for p in parts):
        raise g.unsupported(call, f"indexing with {index!r} (only slices, integers and ... "
                                  "have an ONNX form here)")
    if parts.count(Ellipsis) > 1:
        raise g.unsupported(call, f"indexing with {index!r}")
    if Ellipsis in parts:
        at = parts.index(Ellipsis)
        parts = parts[:at] + (slice(None),) * (x.ndim - len(parts) + 1) + parts[at + 1:]
    starts, ends, axes, steps = [], [], [], []
    for axis, part in enumerate(parts):
        size = x.shape[axis]
        if isinstance(part, slice):
            start, stop, step = part.indices(size)
            if (start, stop, step) == (0, size, 1):
                continue
            if step < 0 and stop < 0:
                stop = -2 ** 63   # "before the first element"
        else:
            start = int(part) % size
            stop, step = start + 1, 1
        if axis == 0 and g.dynamic_batch:
            raise g.unsupported(call, f"indexing the batch axis ({index!r}) with a dynamic batch")
        starts.append(start)
        ends.append(stop)
        axes.append(axis)
        steps.append(step)
    out = inputs[0]
    if axes:
        def c(values, hint):
            return g.constant(np.array(values, np.int64), call, hint)
        out = g.node("Slice", [out, c(starts, "starts"), c(ends, "ends"), c(axes, "axes"),
                               c(steps, "steps")], call)
    if any(not isinstance(p, slice) for p in parts):
        sliced = tuple(len(range(*p.indices(n))) if isinstance(p, slice) else 1
                       for p, n in zip(parts + (slice(None),) * (x.ndim - len(parts)), x.shape))
        out = g.reshape(out, sliced, call.output.shape, call)
    return out


def _concatenate(g, call, inputs):
    return g.node("Concat", inputs, call, axis=int(call.function.axis))


def _stack(g, call, inputs):
    dim = call.function.dim % call.output.ndim
    axes = g.constant(np.array([dim], np.int64), call, "axes")
    expanded = [g.node("Unsqueeze", [name, axes], call) for name in inputs]
    return g.node("Concat", expanded, call, axis=dim)


def _pad(g, call, inputs):
    fn = call.function
    modes = {"constant": "constant", "reflect": "reflect", "replicate": "edge"}
    if fn.mode not in modes:
        raise g.unsupported(call, f"{fn.mode} padding")
    pads = g.constant(np.array(_flat_pads(fn.widths), np.int64), call, "pads")
    names = [inputs[0], pads]
    if fn.mode == "constant":
        names.append(g.constant(np.array(fn.value, call.inputs[0].dtype), call, "value"))
    return g.node("Pad", names, call, mode=modes[fn.mode])


# --------------------------------------------------------------------------- resampling


def _tap_matrix(taps, in_size, out_size):
    """The (out, in) matrix of one axis' resampling."""
    matrix = np.zeros((out_size, in_size))
    rows = np.arange(out_size)
    for index, weights in taps:
        np.add.at(matrix, (rows, index), 1.0 if weights is None else weights)
    return matrix


def _resize_matrix(mode, in_size, out_size):
    """What ONNX Resize computes along one axis, written out independently."""
    o = np.arange(out_size, dtype=np.float64)
    if mode == "nearest":   # asymmetric coordinates, floor
        return _tap_matrix([(np.floor(o * in_size / out_size).astype(int), None)], in_size, out_size)
    if mode == "align_corners":
        source = o * (in_size - 1) / (out_size - 1) if out_size > 1 else 0 * o
    else:                   # pytorch_half_pixel
        source = np.maximum((o + 0.5) * in_size / out_size - 0.5, 0.0)
    low = np.minimum(np.floor(source).astype(int), in_size - 1)
    high = np.minimum(low + 1, in_size - 1)
    frac = source - low
    return _tap_matrix([(low, 1 - frac), (high, frac)], in_size, out_size)


_RESIZE_MODES = {"nearest": dict(mode="nearest", coordinate_transformation_mode="asymmetric",
                                 nearest_mode="floor"),
                 "half_pixel": dict(mode="linear",
                                    coordinate_transformation_mode="pytorch_half_pixel"),
                 "align_corners": dict(mode="linear",
                                       coordinate_transformation_mode="align_corners")}


def _interpolate(g, call, inputs):
    """Resize when the resampling is one ONNX Resize computes (checked matrix
    against matrix) at whole-number scales; otherwise the exact per-axis
    resampling matrices as MatMuls."""
    x = call.inputs[0]
    sizes = list(zip(x.shape[2:], call.output.shape[2:]))
    matrices = [_tap_matrix(taps, n_in, n_out)
                for taps, (n_in, n_out) in zip(call.function.taps, sizes)]
    if all(n_out % n_in == 0 for n_in, n_out in sizes):
        for mode, attributes in _RESIZE_MODES.items():
            if all(np.allclose(m, _resize_matrix(mode, n_in, n_out), atol=1e-6)
                   for m, (n_in, n_out) in zip(matrices, sizes)):
                scales = np.array([1.0, 1.0] + [n_out / n_in for n_in, n_out in sizes], np.float32)
                return g.node("Resize", [inputs[0], "", g.constant(scales, call, "scales")], call,
                              **attributes)
    return g.separable_matmul(inputs[0], [m.astype(x.dtype) for m in matrices], call)


CONVERTERS = {
    conv.Conv: _conv,
    conv.ConvTranspose: _conv_transpose,
    pool.MaxPool: _max_pool,
    pool.AvgPool: _avg_pool,
    pool.AdaptiveAvgPool: _adaptive_avg_pool,
    pool.AdaptiveMaxAxis: _adaptive_max_axis,
    normalization.BatchNorm: _batch_norm,
    normalization.LayerNorm: _layer_norm,
    normalization.LocalResponseNorm: _lrn,
    activation.ReLU: _simple("Relu"),
    activation.Sigmoid: _simple("Sigmoid"),
    activation.Tanh: _simple("Tanh"),
    activation.Erf: _simple("Erf"),
    activation.LeakyReLU: _leaky_relu,
    activation.ELU: _elu,
    activation.Hardtanh: _hardtanh,
    activation.SiLU: _silu,
    activation.Softplus: _softplus,
    activation.GELU: _gelu,
    activation.Softmax: _softmax("Softmax"),
    activation.LogSoftmax: _softmax("LogSoftmax"),
    Linear: _linear,
    math.Add: _simple("Add"),
    math.Sub: _simple("Sub"),
    math.Mul: _simple("Mul"),
    math.Div: _simple("Div"),
    math.Pow: _simple("Pow"),
    math.MatMul: _simple("MatMul"),
    math.Maximum: _simple("Max"),
    math.Neg: _simple("Neg"),
    math.Exp: _simple("Exp"),
    math.Log: _simple("Log"),
    math.Sqrt: _simple("Sqrt"),
    math.Abs: _simple("Abs"),
    math.Clip: _clip,
    math.Cast: _cast,
    math.Sum: _reduce("ReduceSum"),
    math.Max: _reduce("ReduceMax"),
    math.Min: _reduce("ReduceMin"),
    math.Where: _where,
    shape.Reshape: _reshape,
    shape.Permute: _permute,
    shape.BroadcastTo: _broadcast,
    shape.GetItem: _getitem,
    shape.Concatenate: _concatenate,
    shape.Stack: _stack,
    shape.Pad: _pad,
    sampling.Interpolate: _interpolate,
}
