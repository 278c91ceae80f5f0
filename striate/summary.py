"""``summary(model, input_shape)``: what a network computes, layer by layer, in the
style users know from Keras' ``model.summary()`` and torchinfo.

One real forward pass (batch 1, float32, evaluation mode, no graph) with a
forward hook on every module records each call's output shape, parameters,
multiply-adds and receptive field::

    Layer (type)          Output Shape        Param #    Mult-Adds   RF
    AlexNetOriginal       [1, 1000]        62,378,344  1,135,906,176
      features (Sequential)  [1, 9216]      3,747,200  ...
        0 (Conv2d)        [1, 96, 55, 55]      34,944    105,415,200  11
        ...

then total, trainable and non-trainable parameters, total multiply-adds, and
memory for the input, the activations and the parameters. ``str(result)`` is
the table; ``result.layers`` the same rows as ``LayerInfo`` records (all
depths, in call order), ``result.to_dict()`` plain data.

Rows form a tree of *calls*: a module's row holds the rows of the modules that
ran inside its forward. ``depth`` limits how deep the table goes; the numbers
of a container (parameters, multiply-adds) always include everything below it.

Multiply-adds count convolutions (output elements x in_channels/groups x
kernel), transposed convolutions (input elements x weight size / in) and
linear layers, once per sample; elementwise work (ReLU, batch norm, pooling)
and bias additions are left out, as in most papers.

Receptive field (the "RF" column): how many input pixels, along each spatial
axis, can influence one output unit. It is tracked along the computation with
the usual recurrence over each layer's kernel ``k``, stride ``s`` and dilation
``d`` (Araujo et al. 2019, "Computing receptive fields of convolutional neural
networks")::

    RF_out   = RF_in + (d * (k - 1)) * jump_in      jump_out = jump_in * s

where ``jump`` is the distance, in input pixels, between neighbouring units of
a map (1 for the input). Elementwise layers (activations, batch norm, dropout,
local response norm) keep both. A transposed convolution divides the jump by
its stride and adds ``ceil(k / s) - 1`` input steps; an adaptive pool acts as a
pool of kernel ``ceil(H / OH)`` and stride ``floor(H / OH)``; a layer that
flattens a map, and every fully connected layer after it, sees the whole map.
The value is the theoretical receptive field: it can exceed the image
(zero padding lies beyond the border).

Branchy networks: each tensor carries the receptive field of the layer that
made it. A tensor made by an operation written in ``forward`` instead of a
module (a residual addition, an Inception or DenseNet concatenation, a U-Net
crop) has no record; it gets the largest receptive field recorded so far among
maps of the same spatial size. Such operations combine maps computed just
before at that size, and the union of their fields is the largest of them,
so this is the receptive field of the deepest path, the standard definition.
"""
import math
from dataclasses import dataclass, field

from .autograd import Tensor, no_grad
from .backend import xp

__all__ = ["summary", "ModelSummary", "LayerInfo"]


@dataclass
class LayerInfo:
    """One module call. ``receptive_field`` and ``jump`` are per spatial axis
    (None when unknown); ``num_params`` counts the module's own parameters and
    all its submodules'; ``mult_adds`` is per sample, this call and the calls
    inside it."""

    name: str
    type: str
    depth: int
    output_shape: object
    num_params: int
    trainable_params: int
    mult_adds: int = 0
    receptive_field: tuple = None
    jump: tuple = None
    output_bytes: int = 0
    children: list = field(default_factory=list, repr=False)
    label: str = ""  # the name relative to the calling module's, as the table shows it

    @property
    def is_leaf(self):
        return not self.children

    def to_dict(self):
        return {"name": self.name, "type": self.type, "depth": self.depth,
                "output_shape": self.output_shape, "num_params": self.num_params,
                "trainable_params": self.trainable_params, "mult_adds": self.mult_adds,
                "receptive_field": self.receptive_field, "jump": self.jump}


@dataclass
class ModelSummary:
    """The result of :func:`summary`: ``str()`` gives the table."""

    layers: list
    input_shape: tuple
    depth: int
    total_params: int
    trainable_params: int
    total_mult_adds: int
    input_bytes: int
    activation_bytes: int
    param_bytes: int
    buffer_bytes: int

    @property
    def non_trainable_params(self):
        return self.total_params - self.trainable_params

    def rows(self, depth=None):
        """The layers shown at ``depth`` (default: the summary's own)."""
        depth = self.depth if depth is None else depth
        return [layer for layer in self.layers if layer.depth <= depth]

    def to_dict(self):
        return {"input_shape": list(self.input_shape), "layers": [l.to_dict() for l in self.layers],
                "total_params": self.total_params, "trainable_params": self.trainable_params,
                "non_trainable_params": self.non_trainable_params,
                "total_mult_adds": self.total_mult_adds,
                "input_mb": self.input_bytes / 1e6, "activations_mb": self.activation_bytes / 1e6,
                "params_mb": self.param_bytes / 1e6, "buffers_mb": self.buffer_bytes / 1e6}

    def __str__(self):
        header = ("Layer (type)", "Output Shape", "Param #", "Mult-Adds", "RF")
        body = []
        for layer in self.rows():
            label = "  " * layer.depth + (f"{layer.label} ({layer.type})" if layer.label
                                          else layer.type)
            body.append((label, _format_shape(layer.output_shape), f"{layer.num_params:,}",
                         f"{layer.mult_adds:,}" if layer.mult_adds else "--",
                         _format_rf(layer.receptive_field)))
        widths = [max(len(row[i]) for row in [header] + body) for i in range(len(header))]

        def line(row):
            return "  ".join([row[0].ljust(widths[0]), row[1].ljust(widths[1])] +
                             [cell.rjust(width) for cell, width in zip(row[2:], widths[2:])])

        rule = "=" * len(line(header))
        total_mb = (self.input_bytes + self.activation_bytes + self.param_bytes +
                    self.buffer_bytes) / 1e6
        footer = [
            f"Total params: {self.total_params:,}",
            f"Trainable params: {self.trainable_params:,}",
            f"Non-trainable params: {self.non_trainable_params:,}",
            f"Total mult-adds: {self.total_mult_adds:,} ({_si(self.total_mult_adds)})",
            f"Input size (MB): {self.input_bytes / 1e6:.2f}",
            f"Forward activations (MB): {self.activation_bytes / 1e6:.2f}",
            f"Params size (MB): {self.param_bytes / 1e6:.2f}",
            f"Buffers size (MB): {self.buffer_bytes / 1e6:.2f}",
            f"Estimated total size (MB): {total_mb:.2f}",
        ]
        return "\n".join([rule, line(header), rule] + [line(row) for row in body] +
                         [rule] + footer + [rule])

    __repr__ = __str__


def _format_shape(shape):
    if shape is None:
        return "--"
    if shape and isinstance(shape[0], (tuple, list)):
        return ", ".join(_format_shape(s) for s in shape)
    return "[" + ", ".join(str(n) for n in shape) + "]"


def _format_rf(rf):
    if rf is None:
        return ""
    values = [f"{r:g}" for r in rf]
    return values[0] if len(set(values)) == 1 else "x".join(values)


def _si(n):
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return str(n)


def _as_tuple(value, nd):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * nd


# --------------------------------------------------------------------------- per-layer arithmetic


def _mult_adds(module, inputs, output):
    """Multiply-adds of one call, per sample (see the module docstring)."""
    weight = getattr(module, "weight", None)
    if not isinstance(weight, Tensor) or not isinstance(output, Tensor):
        return 0
    per_sample = output.data[0].size if output.ndim > 1 else output.data.size
    if hasattr(module, "kernel_size") and hasattr(module, "groups"):  # a convolution
        if getattr(module, "transposed", False):
            x = inputs[0]
            spatial = math.prod(x.shape[2:])
            return spatial * weight.data.size
        return per_sample * weight.data[0].size   # weight[0]: C_in/groups * prod(kernel)
    if hasattr(module, "in_features") and weight.ndim == 2:  # a linear layer
        return per_sample * weight.shape[1]
    return 0


@dataclass
class _Field:
    """Receptive field and jump per spatial axis of one tensor, and its shape."""

    rf: tuple
    jump: tuple
    shape: tuple


def _next_field(module, x, out, field_in):
    """The receptive field of ``out`` = module(x), from that of ``x``."""
    nd = len(field_in.rf)
    spatial_in, spatial_out = x.shape[2:], out.shape[2:]
    rf, jump = field_in.rf, field_in.jump
    if len(spatial_in) == nd and len(spatial_out) == nd and out.ndim == x.ndim:
        if hasattr(module, "output_size"):  # adaptive pooling
            out_sizes = spatial_out
            kernel = tuple(-(-h // o) for h, o in zip(spatial_in, out_sizes))
            stride = tuple(max(1, h // o) for h, o in zip(spatial_in, out_sizes))
            dilation = (1,) * nd
        elif hasattr(module, "kernel_size") and hasattr(module, "stride"):
            kernel = _as_tuple(module.kernel_size, nd)
            stride = _as_tuple(module.stride, nd)
            dilation = _as_tuple(getattr(module, "dilation", 1), nd)
            if getattr(module, "transposed", False):
                span = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
                jump_out = tuple(j / s for j, s in zip(jump, stride))
                rf = tuple(r + (math.ceil(k / s) - 1) * j
                           for r, k, s, j in zip(rf, span, stride, jump))
                return rf, jump_out
        elif spatial_in != spatial_out:  # resampling (Upsample): the jump shrinks
            factor = tuple(o / i for o, i in zip(spatial_out, spatial_in))
            extra = 0 if getattr(module, "mode", "nearest") == "nearest" else 1
            return (tuple(r + extra * j for r, j in zip(rf, jump)),
                    tuple(j / f for j, f in zip(jump, factor)))
        else:  # elementwise: activations, normalization, dropout
            return rf, jump
        rf = tuple(r + d * (k - 1) * j for r, k, d, j in zip(rf, kernel, dilation, jump))
        return rf, tuple(j * s for j, s in zip(jump, stride))
    if len(spatial_in) == nd and len(spatial_out) < nd:  # flattening a map: sees all of it
        return tuple(r + (h - 1) * j for r, h, j in zip(rf, spatial_in, jump)), None
    return rf, jump  # already flat (fully connected layers)


class _Recorder:
    """The hooks' shared state during the one forward pass."""

    def __init__(self, model):
        self.names = {id(m): name for name, m in model.named_modules()}
        self.fields = {}     # id(tensor) -> _Field
        self.history = []    # every _Field recorded, in call order
        self.keep = []       # tensors whose ids are keys of self.fields (ids must stay unique)
        self.finished = []   # rows of calls not yet adopted by their caller
        self.starts = []     # len(self.finished) when each running call began

    def record(self, tensor, rf, jump):
        info = _Field(tuple(rf), None if jump is None else tuple(jump), tuple(tensor.shape))
        self.fields[id(tensor)] = info
        self.history.append(info)
        self.keep.append(tensor)
        return info

    def field_of(self, tensor):
        """The tensor's record, or for a tensor made outside a module (an addition,
        a concatenation, a crop, a flatten) the best match (see the module docstring)."""
        if id(tensor) in self.fields:
            return self.fields[id(tensor)]
        if tensor.ndim >= 3:
            same = [f for f in self.history if f.shape[2:] == tuple(tensor.shape[2:])
                    and f.jump is not None]
            return max(same, key=lambda f: f.rf) if same else None
        per_sample = math.prod(tensor.shape[1:])
        for f in reversed(self.history):  # a flattened map
            if math.prod(f.shape[1:]) == per_sample:
                rf = f.rf if f.jump is None else tuple(
                    r + (h - 1) * j for r, h, j in zip(f.rf, f.shape[2:], f.jump))
                return _Field(rf, None, tuple(tensor.shape))
        return None

    def pre_hook(self, module, inputs):
        self.starts.append(len(self.finished))

    def hook(self, module, inputs, output):
        start = self.starts.pop()
        children = self.finished[start:]
        del self.finished[start:]
        name = self.names.get(id(module), "")
        params = list(module.parameters())
        row = LayerInfo(name=name, type=type(module).__name__, depth=0,
                        output_shape=_shape_of(output),
                        num_params=sum(p.data.size for p in params),
                        trainable_params=sum(p.data.size for p in params if p.requires_grad),
                        children=children)
        if children:
            row.mult_adds = sum(c.mult_adds for c in children)
        else:
            row.mult_adds = _mult_adds(module, inputs, output)
            row.output_bytes = _nbytes(output)
        if isinstance(output, Tensor) and output.ndim >= 2:
            info = self.fields.get(id(output))
            if info is None:
                info = self._field_of_output(module, inputs, output, leaf=not children)
            if info is not None:
                row.receptive_field, row.jump = info.rf, info.jump
        self.finished.append(row)

    def _field_of_output(self, module, inputs, output, leaf):
        x = inputs[0] if inputs and isinstance(inputs[0], Tensor) else None
        if leaf and x is not None:
            source = self.field_of(x)
            if source is None:
                return None
            rf, jump = _next_field(module, x, output, source) if source.jump is not None \
                else (source.rf, None)
            return self.record(output, rf, jump)
        source = self.field_of(output)  # a container whose result was made in forward
        return None if source is None else self.record(output, source.rf, source.jump)


def _shape_of(output):
    if isinstance(output, Tensor):
        return tuple(output.shape)
    if isinstance(output, (tuple, list)):
        shapes = [tuple(o.shape) for o in output if isinstance(o, Tensor)]
        return tuple(shapes) if shapes else None
    return None


def _nbytes(output):
    if isinstance(output, Tensor):
        return output.data.nbytes
    if isinstance(output, (tuple, list)):
        return sum(_nbytes(o) for o in output)
    return 0


def _flatten_tree(row, depth, out, caller=""):
    """The call tree in pre-order, with depths and labels (``encoder.0`` when the
    caller is the model, ``conv1`` inside ``layer1.0``)."""
    row.depth = depth
    row.label = row.name[len(caller) + 1:] if caller and row.name.startswith(caller + ".") \
        else row.name
    out.append(row)
    for child in row.children:
        _flatten_tree(child, depth + 1, out, row.name)
    return out


def summary(model, input_shape=None, depth=3, batch_size=1, dtype=xp.float32):
    """Run ``model`` once on a random input of shape ``(batch_size, *input_shape)``
    and return a :class:`ModelSummary` (``print()`` it for the table).

    ``input_shape`` is (C, H, W) without the batch dimension; by default the
    model's own ``input_shape`` (every model of ``striate.models`` has one).
    ``depth`` is how many levels of nested modules the table shows (the
    structured ``layers`` always hold all of them). The model runs in
    evaluation mode (dropout off, batch norm on its running statistics) and
    is put back in its previous mode afterwards.
    """
    if input_shape is None:
        input_shape = getattr(model, "input_shape", None)
        if input_shape is None:
            raise ValueError(f"summary: {type(model).__name__} has no input_shape attribute; "
                             "pass input_shape=(C, H, W)")
    input_shape = tuple(int(n) for n in input_shape)
    recorder = _Recorder(model)
    handles = []
    for module in model.modules():
        handles.append(module.register_forward_pre_hook(recorder.pre_hook))
        handles.append(module.register_forward_hook(recorder.hook))
    was_training = model.training
    # A generator of its own: a summary must not change the random state of a training run.
    generator = xp.random.default_rng(0)
    x = Tensor(generator.standard_normal((batch_size,) + input_shape).astype(dtype))
    spatial_dims = len(input_shape) - 1
    recorder.record(x, (1,) * spatial_dims, (1,) * spatial_dims)  # a pixel sees itself
    try:
        model.eval()
        with no_grad():
            model(x)
    except Exception as error:
        raise RuntimeError(f"summary: the forward pass of {type(model).__name__} on an input "
                           f"of shape {(batch_size,) + input_shape} failed: {error}") from error
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    root = recorder.finished[-1]
    layers = _flatten_tree(root, 0, [])
    params = list(model.parameters())
    return ModelSummary(
        layers=layers, input_shape=input_shape, depth=depth,
        total_params=sum(p.data.size for p in params),
        trainable_params=sum(p.data.size for p in params if p.requires_grad),
        total_mult_adds=root.mult_adds,
        input_bytes=x.data.nbytes,
        activation_bytes=sum(layer.output_bytes for layer in layers if layer.is_leaf),
        param_bytes=sum(p.data.nbytes for p in params),
        buffer_bytes=sum(b.data.nbytes for b in model.buffers()),
    )

