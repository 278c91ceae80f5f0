"""The autograd core: ``Tensor``, the ``Function`` contract and reverse-mode backward.

Define-by-run: every ``Function`` call computes its output at once and, when a
gradient will be wanted, records itself as the output's ``creator``. Calling
``backward()`` on a scalar then walks this graph from the output back to the
leaves in reverse topological order, so that a tensor used twice receives the
sum of both gradients before its own creator runs (micrograd's first bug was
getting this wrong).

The op contract, used by every operation in ``striate.functional``:

* ``forward(*arrays)`` works on raw backend arrays and returns one array. It keeps
  on ``self`` only what backward needs, and may look at ``self.needs_input_grad``
  (one bool per input) to skip saving what no gradient will use.
* ``backward(grad_output)`` returns one gradient array per input, or ``None``
  for inputs whose entry in ``needs_input_grad`` is False.

Gradients are accumulated: ``backward()`` adds into ``.grad`` of the leaves, and
``zero_grad()`` (on a module or optimizer) or ``tensor.grad = None`` resets them.
"""
import contextlib
import weakref

from . import backend
from .backend import xp

# --------------------------------------------------------------------------- grad mode

_grad_enabled = True


def is_grad_enabled():
    return _grad_enabled


@contextlib.contextmanager
def _set_grad_enabled(mode):
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, mode
    try:
        yield
    finally:
        _grad_enabled = previous


def no_grad():
    """Context manager (and decorator) that records no graph: for evaluation."""
    return _set_grad_enabled(False)


def enable_grad():
    return _set_grad_enabled(True)


# --------------------------------------------------------------------------- Function

#: Callables told of every op call, ``observer(function, inputs, output)``: how
#: the ONNX exporter (``striate.onnx``) records a model's forward. Empty otherwise.
call_observers = []


class Function:
    """One differentiable operation; see the module docstring for the contract.

    Options that are not tensors (stride, padding, dim, ...) go to ``__init__``;
    tensors go to the call: ``Conv(stride=2)(x, weight, bias)``.
    """

    inputs = ()
    needs_input_grad = ()
    broadcasts = False  # True for elementwise ops, whose inputs broadcast against each other

    def __call__(self, *inputs):
        tensors = [x if isinstance(x, Tensor) else as_tensor(x, like=_first_tensor(inputs),
                                                             op=self.name)
                   for x in inputs]
        record = _grad_enabled and any(t.requires_grad for t in tensors)
        self.needs_input_grad = tuple(record and t.requires_grad for t in tensors)
        arrays = [t.data for t in tensors]
        try:
            output = Tensor(self.forward(*arrays))
        except ValueError:
            if self.broadcasts:  # looked into only on failure: nothing on the good path
                _check_broadcast(self.name, arrays)
            raise
        if record:
            self.inputs = [_edge(t) for t in tensors]
            output.requires_grad = True
            output.creator = self
        for observe in call_observers:
            observe(self, tensors, output)
        return output

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, grad_output):
        raise NotImplementedError

    @property
    def name(self):
        return type(self).__name__


class _Node:
    """What the graph keeps of an intermediate tensor that an op consumed:
    its creator, shape and flags, not its data. A ReLU needs only its mask,
    so the convolution's output it read is freed as soon as nothing else
    holds it, as in PyTorch; the ops keep what their backward needs
    themselves. One node per tensor (``tensor._node``), so that a tensor
    consumed twice sums both gradients; ``retain_grad()`` still reaches the
    tensor through a weak reference while the user holds it."""

    __slots__ = ("creator", "requires_grad", "shape", "_tensor", "__weakref__")

    def __init__(self, tensor):
        self.creator, self.requires_grad = tensor.creator, tensor.requires_grad
        self.shape = tensor.shape
        self._tensor = weakref.ref(tensor)

    @property
    def retains_grad(self):
        tensor = self._tensor()
        return tensor is not None and tensor.retains_grad

    @property
    def grad(self):
        tensor = self._tensor()
        return None if tensor is None else tensor.grad

    @grad.setter
    def grad(self, value):
        tensor = self._tensor()
        if tensor is not None:
            tensor.grad = value


def _edge(tensor):
    """The graph's edge to an input: a leaf itself (its ``.grad`` is filled
    in), an intermediate tensor through its :class:`_Node`."""
    if tensor.creator is None:
        return tensor
    node = tensor.__dict__.get("_node")
    if node is None or node.creator is not tensor.creator:
        node = tensor._node = _Node(tensor)
    return node


def _first_tensor(values):
    return next((v for v in values if isinstance(v, Tensor)), None)


def as_tensor(value, dtype=None, *, like=None, op="as_tensor"):
    """The one door from user values to tensors, used by every op and layer.

    A ``Tensor`` passes through as it is. Anything else becomes a new tensor:
    a backend array keeps its dtype and its memory (no copy); Python numbers
    and lists become float32 for floats, or take the dtype of ``like`` (a
    tensor beside it, such as the other operand of ``x * 2.0``) when that is
    floating, so that float64 stays float64. ``dtype``, when given, is the
    dtype for a value that is not a tensor yet.

    A value that holds no numbers (strings, objects, None, ragged lists)
    raises a TypeError or ValueError that names ``op``, the caller.
    """
    if isinstance(value, Tensor):
        return value
    if dtype is None and like is not None and not backend.is_array(value) \
            and backend.is_floating(like.dtype):
        dtype = like.dtype
    try:
        return Tensor(value, dtype=dtype)
    except (TypeError, ValueError) as error:
        raise type(error)(f"{op}: cannot make a tensor of {_describe(value)}: {error}") from None


def as_array(value):
    """A backend array from a Tensor (its ``data``, shared), a torch tensor
    (detached and on the CPU), a backend array (as it is) or anything
    array-like (lists, numbers). Nothing is copied that need not be."""
    if isinstance(value, Tensor):
        return value.data
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor, torch not imported
        value = value.detach().cpu().numpy()
    return xp.asarray(value)


def _check_broadcast(op, arrays):
    """Raise a clear error naming ``op`` if the arrays' shapes do not broadcast."""
    shapes = [a.shape for a in arrays]
    try:
        xp.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(f"{op}: inputs of shapes {' and '.join(str(s) for s in shapes)} cannot "
                         "be broadcast together (each dim, counted from the last, must be "
                         "equal or 1)") from None


def _describe(value):
    """A short description of a value for an error message."""
    if backend.is_array(value):
        return f"an array of dtype {value.dtype} and shape {value.shape}"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


# --------------------------------------------------------------------------- backward engine


def _topological_order(root):
    """Tensors reachable from ``root`` through creators, each after all its consumers."""
    order, visited = [], set()
    stack = [(root, False)]
    while stack:  # iterative DFS: deep networks would overflow Python's recursion limit
        tensor, expanded = stack.pop()
        if expanded:
            order.append(tensor)
            continue
        if id(tensor) in visited:
            continue
        visited.add(id(tensor))
        stack.append((tensor, True))
        if tensor.creator is not None:
            for parent in tensor.creator.inputs:
                if parent.requires_grad and id(parent) not in visited:
                    stack.append((parent, False))
    return reversed(order)  # post-order reversed: consumers before producers


def run_backward(root, grad, retain_graph=False):
    grads = {id(root): grad}
    for tensor in _topological_order(root):
        grad = grads.pop(id(tensor), None)
        if grad is None:
            continue
        fn = tensor.creator
        if fn is None or tensor.retains_grad:
            tensor.grad = grad if tensor.grad is None else tensor.grad + grad
        if fn is None:
            continue
        if not fn.inputs:
            raise RuntimeError(
                f"{fn.name}: backward through this graph a second time; its saved arrays "
                "were freed. Pass retain_graph=True to the first backward() call.")
        input_grads = fn.backward(grad)
        if not isinstance(input_grads, tuple):
            input_grads = (input_grads,)
        for parent, needed, g in zip(fn.inputs, fn.needs_input_grad, input_grads):
            if not needed or g is None:
                continue
            if g.shape != parent.shape:
                raise RuntimeError(f"{fn.name}.backward returned a gradient of shape {g.shape} "
                                   f"for an input of shape {parent.shape}")
            key = id(parent)
            grads[key] = g if key not in grads else grads[key] + g
        if not retain_graph:
            fn.inputs = ()


# --------------------------------------------------------------------------- Tensor


_NUMERIC_KINDS = "biufc"  # NumPy's dtype.kind of bool, int, unsigned, float and complex


class Tensor:
    """An n-dimensional array that can record the operations applied to it.

    ``data`` is the backend array; ``grad`` (same shape) is filled in by
    ``backward()`` for leaves with ``requires_grad=True``. Python floats become
    float32 by default; backend arrays keep their dtype (so float64 stays
    float64 for gradient checks).
    """

    __array_priority__ = 100  # numpy_array + tensor calls Tensor.__radd__

    def __init__(self, data, requires_grad=False, dtype=None):
        if isinstance(data, Tensor):
            data = data.data
        if backend.is_array(data) or isinstance(data, xp.generic):  # NumPy scalars keep their dtype too
            data = xp.asarray(data)
            if dtype is not None and data.dtype != dtype:
                data = data.astype(dtype)
        else:
            data = xp.asarray(data, dtype=dtype)
            if dtype is None and data.dtype == xp.float64:
                data = data.astype(backend.default_float)
        if data.dtype.kind not in _NUMERIC_KINDS:
            raise TypeError(f"a tensor holds numbers (bool, integer, floating or complex), "
                            f"not dtype {data.dtype}")
        if requires_grad and not backend.is_floating(data.dtype):
            raise TypeError(f"only floating-point tensors can require gradients, got {data.dtype}")
        self.data = data
        self.requires_grad = requires_grad
        self.grad = None
        self.creator = None
        self.retains_grad = False

    # ---- array facts
    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def is_leaf(self):
        return self.creator is None

    def size(self, dim=None):
        return self.data.shape if dim is None else self.data.shape[dim]

    def numel(self):
        return self.data.size

    def dim(self):
        return self.data.ndim

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        body = repr(self.data).replace("array(", "tensor(", 1)
        extra = ", requires_grad=True" if self.requires_grad else ""
        return body[:-1] + extra + ")" if extra else body

    # ---- conversion
    def numpy(self):
        """The underlying array (shared, not copied)."""
        return self.data

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def detach(self):
        """The same data, cut from the graph."""
        return Tensor(self.data)

    def requires_grad_(self, mode=True):
        if mode and not backend.is_floating(self.dtype):
            raise TypeError(f"only floating-point tensors can require gradients, got {self.dtype}")
        self.requires_grad = mode
        return self

    def retain_grad(self):
        """Keep ``.grad`` on this non-leaf tensor too (for inspecting feature maps)."""
        self.retains_grad = True
        return self

    def astype(self, dtype):
        return _math.Cast(dtype)(self) if backend.is_floating(dtype) else Tensor(self.data.astype(dtype))

    def float(self):
        return self.astype(xp.float32)

    def double(self):
        return self.astype(xp.float64)

    # ---- autograd
    def backward(self, gradient=None, retain_graph=False):
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad."""
        if not self.requires_grad:
            raise RuntimeError(
                f"backward() on a tensor of shape {self.shape} that does not require grad: "
                "no input of the computation had requires_grad=True (or it ran under no_grad())")
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() without a gradient needs a scalar output, got shape {self.shape}; "
                    "reduce it (e.g. .sum()) or pass gradient= of the same shape")
            gradient = xp.ones_like(self.data)
        else:
            gradient = as_array(gradient)
            if gradient.shape != self.shape:
                raise RuntimeError(f"backward(): gradient of shape {gradient.shape} does not match "
                                   f"the tensor's shape {self.shape}")
            gradient = gradient.astype(self.dtype, copy=False)
        run_backward(self, gradient, retain_graph)

    # ---- arithmetic (ops live in striate.functional.math)
    def __add__(self, other):
        return _math.Add()(self, other)

    def __radd__(self, other):
        return _math.Add()(other, self)

    def __sub__(self, other):
        return _math.Sub()(self, other)

    def __rsub__(self, other):
        return _math.Sub()(other, self)

    def __mul__(self, other):
        return _math.Mul()(self, other)

    def __rmul__(self, other):
        return _math.Mul()(other, self)

    def __truediv__(self, other):
        return _math.Div()(self, other)

    def __rtruediv__(self, other):
        return _math.Div()(other, self)

    def __neg__(self):
        return _math.Neg()(self)

    def __pow__(self, exponent):
        return _math.pow(self, exponent)

    def __rpow__(self, base):
        return _math.pow(base, self)

    def __matmul__(self, other):
        return _math.MatMul()(self, other)

    def __rmatmul__(self, other):
        return _math.MatMul()(other, self)

    # comparisons give boolean tensors and carry no gradient
    def _compare(self, other, op):
        return Tensor(op(self.data, other.data if isinstance(other, Tensor) else other))

    def __lt__(self, other):
        return self._compare(other, xp.less)

    def __le__(self, other):
        return self._compare(other, xp.less_equal)

    def __gt__(self, other):
        return self._compare(other, xp.greater)

    def __ge__(self, other):
        return self._compare(other, xp.greater_equal)

    def eq(self, other):
        return self._compare(other, xp.equal)

    def ne(self, other):
        return self._compare(other, xp.not_equal)

    __hash__ = object.__hash__  # tensors are graph nodes: hashed by identity

    # ---- elementwise math
    def exp(self):
        return _math.Exp()(self)

    def log(self):
        return _math.Log()(self)

    def sqrt(self):
        return _math.Sqrt()(self)

    def abs(self):
        return _math.Abs()(self)

    def clip(self, min=None, max=None):
        return _math.Clip(min, max)(self)

    clamp = clip

    # ---- reductions
    def sum(self, dim=None, keepdim=False):
        return _math.Sum(dim, keepdim)(self)

    def mean(self, dim=None, keepdim=False):
        return _math.mean(self, dim, keepdim)

    def var(self, dim=None, keepdim=False, unbiased=True):
        return _math.var(self, dim, keepdim, unbiased)

    def max(self, dim=None, keepdim=False):
        """Largest values along ``dim`` (values only, like ``torch.amax``)."""
        return _math.Max(dim, keepdim)(self)

    def min(self, dim=None, keepdim=False):
        return _math.Min(dim, keepdim)(self)

    amax, amin = max, min

    def argmax(self, dim=None, keepdim=False):
        return Tensor(_math.arg_reduce(xp.argmax, self.data, dim, keepdim))

    def argmin(self, dim=None, keepdim=False):
        return Tensor(_math.arg_reduce(xp.argmin, self.data, dim, keepdim))

    # ---- shape
    def reshape(self, *shape):
        return _shape.reshape(self, *shape)

    view = reshape

    def flatten(self, start_dim=0, end_dim=-1):
        return _shape.flatten(self, start_dim, end_dim)

    def transpose(self, dim0, dim1):
        return _shape.transpose(self, dim0, dim1)

    def permute(self, *dims):
        return _shape.permute(self, *dims)

    @property
    def T(self):
        return _shape.permute(self, *reversed(range(self.ndim)))

    def squeeze(self, dim=None):
        return _shape.squeeze(self, dim)

    def unsqueeze(self, dim):
        return _shape.unsqueeze(self, dim)

    def expand(self, *shape):
        return _shape.expand(self, *shape)

    def __getitem__(self, index):
        return _shape.GetItem(index)(self)


# --------------------------------------------------------------------------- factories


def tensor(data, requires_grad=False, dtype=None):
    """Make a tensor from a list, scalar or array (arrays are copied)."""
    if backend.is_array(data):
        data = data.copy()
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


# The one import from the autograd core into the ops, and so the one loop
# between autograd and functional: Tensor's operators and methods call the ops
# of functional.math and functional.shape, which subclass Function and make
# Tensors. It runs last, once Function and Tensor exist; everything else
# imports autograd, never the other way round (the array helpers that both
# need, such as sum_to, live in backend).
from .functional import math as _math, shape as _shape  # noqa: E402
