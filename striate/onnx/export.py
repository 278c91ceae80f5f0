"""``export(model, path, input_shape)``: a striate model as a standard ONNX graph.

The model's forward is traced once (:mod:`striate.onnx.trace`); each recorded
op becomes one or a few ONNX nodes (:mod:`striate.onnx.ops`); parameters and
buffers become initializers under their ``state_dict`` names. The batch axis
of the input and output is symbolic (``batch``) with ``dynamic_batch``: shape
constants never bake in the traced batch size (a flatten is a Reshape to
``[0, -1]``-style targets, where 0 copies the batch size at run time).

The graph is checked with ``onnx.checker`` (with shape inference) before the
file is written, and written atomically: a failed export leaves nothing.
"""
import numpy as np

from ..autograd import Tensor
from ..io.atomic import atomic_path
from .ops import CONVERTERS
from .trace import trace

__all__ = ["export", "OnnxExportError", "TRACE_BATCH"]

#: The batch size the model is traced with. Not 1, so that an axis of size 1
#: is never mistaken for the batch axis.
TRACE_BATCH = 2


class OnnxExportError(ValueError):
    """The model uses an op (or an op's option) that has no ONNX form here."""


def _require_onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError("ONNX export needs the onnx package: pip install 'striate[onnx]' "
                          "(or pip install onnx)") from None
    return onnx


class Graph:
    """Collects nodes and initializers; hands out unique tensor names."""

    def __init__(self, onnx, model, opset, dynamic_batch):
        self.onnx, self.opset, self.dynamic_batch = onnx, opset, dynamic_batch
        self.nodes, self.initializers = [], []
        self.names = {}          # id(Tensor) -> ONNX name of its value
        self.arrays = {}         # id(array) -> ONNX name of an initializer made from it
        self.used = set()
        self.counter = 0
        self.state_names = {}    # id(tensor or array) -> state_dict name
        for name, tensor in list(model.named_parameters()) + list(model.named_buffers()):
            self.state_names[id(tensor)] = name
            self.state_names[id(tensor.data)] = name

    # ------------------------------------------------------------------ names

    def fresh(self, hint):
        self.counter += 1
        name = f"{hint}_{self.counter}" if hint in self.used or not hint else hint
        while name in self.used:
            self.counter += 1
            name = f"{hint}_{self.counter}"
        self.used.add(name)
        return name

    def _initializer(self, array, name):
        from onnx import numpy_helper

        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def value(self, tensor, call):
        """The ONNX name of ``tensor``: a traced value, a parameter, or a constant."""
        key = id(tensor)
        if key in self.names:
            return self.names[key]
        if key in self.state_names:
            name = self.fresh(self.state_names[key])
        else:
            data = np.asarray(tensor.data)
            if self.dynamic_batch and data.ndim >= 2 and data.shape[0] == TRACE_BATCH:
                raise self.unsupported(
                    call, f"an input of shape {data.shape} was not produced by a striate op "
                          "(computed from .data or NumPy?), so it would freeze the batch size")
            name = self.fresh(f"{call.module or 'const'}.const" if call.module else "const")
        self.names[key] = self._initializer(tensor.data, name)
        return name

    def array(self, array, call, hint):
        """An initializer for a raw array an op holds (batch norm's running statistics)."""
        key = id(array)
        if key not in self.arrays:
            base = self.state_names.get(key) or f"{call.module}.{hint}"
            self.arrays[key] = self._initializer(array, self.fresh(base))
        return self.arrays[key]

    def constant(self, array, call, hint):
        return self._initializer(np.asarray(array), self.fresh(f"{call.module or 'graph'}.{hint}"))

    # ------------------------------------------------------------------ nodes

    def node(self, op_type, inputs, call, **attributes):
        output = self.fresh(f"{call.module or 'graph'}/{op_type}")
        self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), [output],
                                                     name=output, **attributes))
        return output

    def tensor_type(self, dtype):
        return self.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))

    def unsupported(self, call, why):
        where = f"layer '{call.module}' ({call.module_type})" if call.module else \
            f"the model's own forward ({call.module_type})"
        return OnnxExportError(f"export: the op {call.function.name} in {where} has no ONNX "
                               f"form: {why}")

    def reduce(self, op_type, x, axes, keepdims, call):
        # ReduceSum takes its axes as an input from opset 13, the others from opset 18.
        if op_type == "ReduceSum" or self.opset >= 18:
            axes_name = self.constant(np.array(axes, np.int64), call, "axes")
            return self.node(op_type, [x, axes_name], call, keepdims=int(keepdims))
        return self.node(op_type, [x], call, axes=list(axes), keepdims=int(keepdims))

    def reshape(self, x, in_shape, out_shape, call):
        """Reshape whose target keeps the batch axis symbolic (0 = copy it)."""
        out_shape = [int(n) for n in out_shape]
        if self.dynamic_batch:
            if not out_shape or not in_shape or out_shape[0] != in_shape[0] or 0 in out_shape:
                raise self.unsupported(call, f"a reshape from {tuple(in_shape)} to "
                                             f"{tuple(out_shape)} moves the batch axis; export "
                                             "with dynamic_batch=False")
            out_shape[0] = 0
        target = self.constant(np.array(out_shape, np.int64), call, "shape")
        return self.node("Reshape", [x, target], call)

    def separable_matmul(self, x, matrices, call):
        """Contract each spatial axis k of (N, C, *spatial) with ``matrices[k]``
        (out_k, in_k): the last axis as x @ M^T, the others moved last first."""
        ndim = 2 + len(matrices)
        for k in reversed(range(len(matrices))):
            axis = 2 + k
            matrix_t = self.constant(np.ascontiguousarray(matrices[k].T), call, "resample")
            if axis == ndim - 1:
                x = self.node("MatMul", [x, matrix_t], call)
                continue
            perm = list(range(ndim))
            perm[axis], perm[-1] = perm[-1], perm[axis]
            moved = self.node("Transpose", [x], call, perm=perm)
            x = self.node("Transpose", [self.node("MatMul", [moved, matrix_t], call)], call,
                          perm=perm)
        return x


def _convert(graph, traced):
    graph.names[id(traced.input)] = "input"
    graph.used.add("input")
    for call in traced.calls:
        converter = CONVERTERS.get(type(call.function))
        if converter is None:
            raise graph.unsupported(call, "no converter for this op")
        inputs = [graph.value(t, call) for t in call.inputs]
        graph.names[id(call.output)] = converter(graph, call, inputs)
    if id(traced.output) not in graph.names:
        raise OnnxExportError("export: the model's output does not depend on its input "
                              "through striate ops; nothing to export")
    return graph.names[id(traced.output)]


def _value_info(onnx, name, dtype, shape, dynamic_batch):
    dims = list(shape)
    if dynamic_batch and dims:
        dims[0] = "batch"
    return onnx.helper.make_tensor_value_info(
        name, onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype)), dims)


def _check_input_shape(input_shape):
    """``input_shape`` as a tuple of positive ints, or a clear error."""
    try:
        shape = tuple(input_shape)
    except TypeError:
        shape = None
    if (not shape or isinstance(input_shape, str)
            or not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n > 0
                       for n in shape)):
        raise ValueError(f"export: input_shape must be the positive sizes of one input "
                         f"without the batch, such as (1, 28, 28), got {input_shape!r}")
    return tuple(int(n) for n in shape)


def build_model(model, input_shape, opset=17, dynamic_batch=True):
    """The ``onnx.ModelProto`` of ``model`` for inputs (N, *input_shape), checked."""
    onnx = _require_onnx()
    newest = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)) \
            or not 13 <= opset <= newest:
        raise ValueError(f"export: opset must be an int between 13 and {newest}, got {opset!r}")
    opset = int(opset)
    input_shape = _check_input_shape(input_shape)
    dtype = next((p.dtype for p in model.parameters()), np.dtype(np.float32))
    batch = TRACE_BATCH if dynamic_batch else 1   # a static graph takes one image
    example = Tensor(np.random.default_rng(0).standard_normal((batch,) + input_shape)
                     .astype(dtype))
    try:
        traced = trace(model, example)
    except (ValueError, TypeError) as error:
        if isinstance(error, OnnxExportError):
            raise
        raise ValueError(f"export: the model does not take inputs of shape (N, *input_shape) = "
                         f"{tuple(example.shape)} ({error}); input_shape is the shape of one "
                         f"input without the batch, such as (1, 28, 28) for a 28x28 grey "
                         f"image") from None
    graph = Graph(onnx, model, int(opset), dynamic_batch)
    output = _convert(graph, traced)
    graph.nodes.append(onnx.helper.make_node("Identity", [output], ["output"], name="output"))
    onnx_graph = onnx.helper.make_graph(
        graph.nodes, type(model).__name__,
        [_value_info(onnx, "input", dtype, (batch,) + input_shape, dynamic_batch)],
        [_value_info(onnx, "output", traced.output.dtype, traced.output.shape, dynamic_batch)],
        initializer=graph.initializers)
    proto = onnx.helper.make_model(onnx_graph, producer_name="striate",
                                   opset_imports=[onnx.helper.make_opsetid("", int(opset))])
    # The oldest IR version that carries this opset: readable by the most runtimes.
    proto.ir_version = onnx.helper.find_min_ir_version_for(list(proto.opset_import))
    onnx.checker.check_model(proto, full_check=True)
    return proto


def export(model, path, input_shape, opset=17, dynamic_batch=True):
    """Write ``model`` as ONNX to ``path`` (atomically) for inputs (N, *input_shape).

    The graph has one input ``input`` (N, *input_shape) and one output
    ``output``; with ``dynamic_batch`` N is a symbolic ``batch`` dimension,
    without it N is 1.
    The model is traced in evaluation mode (dropout is the identity, batch
    norm uses its running statistics) and its mode is restored afterwards.
    An op without an ONNX form raises :class:`OnnxExportError` naming the op
    and the layer it ran in, before anything is written. Returns ``path``.
    """
    proto = build_model(model, input_shape, opset=opset, dynamic_batch=dynamic_batch)
    data = proto.SerializeToString()
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
    return path
