"""Elementwise arithmetic and reductions: the ops behind ``Tensor``'s operators.

Binary ops broadcast like NumPy; their backward sums the gradient back over
the broadcast axes (``backend.sum_to``) so that every input receives a gradient of
its own shape.
"""
from .. import accel
from ..autograd import Function
from ..backend import normalize_dims, sum_to, xp
from .arguments import as_array, as_tensor

__all__ = ["exp", "log", "sqrt", "abs", "clip", "clamp", "pow", "sum", "mean", "var",
           "amax", "amin", "where", "maximum", "minimum", "matmul"]


def _expand_reduced(grad, axes, keepdim):
    """Reinsert the reduced axes so ``grad`` broadcasts against the input."""
    return grad if keepdim else xp.expand_dims(grad, axes)


# --------------------------------------------------------------------------- binary


class Add(Function):
    broadcasts = True

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        # two large float32 arrays alike (a residual connection) may take the
        # fast route: oneDNN, both threads (striate/accel/eltwise.py)
        plan = accel.add(a, b)
        return a + b if plan is None else plan.forward(a, b)

    def backward(self, g):
        return sum_to(g, self.shapes[0]), sum_to(g, self.shapes[1])


class Sub(Function):
    broadcasts = True

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a - b

    def backward(self, g):
        return sum_to(g, self.shapes[0]), sum_to(-g, self.shapes[1])


class Mul(Function):
    broadcasts = True

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        need_a, need_b = self.needs_input_grad
        return (sum_to(g * self.b, self.a.shape) if need_a else None,
                sum_to(g * self.a, self.b.shape) if need_b else None)


class Div(Function):
    broadcasts = True

    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, g):
        need_a, need_b = self.needs_input_grad
        ga = g / self.b
        return (sum_to(ga, self.a.shape) if need_a else None,
                sum_to(-ga * self.a / self.b, self.b.shape) if need_b else None)


class Pow(Function):
    """``a ** b``; d/da = b a^(b-1), d/db = a^b log a."""

    broadcasts = True

    def forward(self, a, b):
        self.a, self.b = a, b
        self.out = a ** b
        return self.out

    def backward(self, g):
        need_a, need_b = self.needs_input_grad
        ga = gb = None
        if need_a:
            ga = sum_to(g * self.b * self.a ** (self.b - 1), self.a.shape)
        if need_b:
            gb = sum_to(g * self.out * xp.log(self.a), self.b.shape)
        return ga, gb


class MatMul(Function):
    """``a @ b`` with NumPy's rules (1-D operands, broadcast batch dimensions)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        try:
            return a @ b
        except ValueError:  # only on failure: the message quotes the shapes, not NumPy's gufunc
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not match: the last dim "
                             f"of the first ({a.shape[-1] if a.ndim else None}) must equal the "
                             f"{'only' if b.ndim == 1 else 'second-to-last'} dim of the second "
                             f"({b.shape[-2] if b.ndim > 1 else b.shape[0] if b.ndim else None})"
                             ) from None

    def backward(self, g):
        a, b = self.a, self.b
        need_a, need_b = self.needs_input_grad
        if a.ndim == 1 and b.ndim == 1:  # dot product: a scalar output
            return (g * b if need_a else None), (g * a if need_b else None)
        # Treat 1-D operands as matrices so one formula covers every case.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        if a.ndim == 1:
            g = xp.expand_dims(g, -2)
        if b.ndim == 1:
            g = xp.expand_dims(g, -1)
        ga = sum_to(g @ xp.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape) if need_a else None
        gb = sum_to(xp.swapaxes(a2, -1, -2) @ g, b2.shape).reshape(b.shape) if need_b else None
        return ga, gb


class Maximum(Function):
    """Elementwise max; ties send half the gradient each way (as PyTorch does)."""

    broadcasts = True

    def forward(self, a, b):
        self.a, self.b = a, b
        return xp.maximum(a, b)

    def backward(self, g):
        share_a = (self.a > self.b) + 0.5 * (self.a == self.b)
        return sum_to(g * share_a, self.a.shape), sum_to(g * (1 - share_a), self.b.shape)


class Where(Function):
    """``where(condition, a, b)``; ``condition`` is a fixed boolean array."""

    def __init__(self, condition):
        self.condition = condition

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        try:
            return xp.where(self.condition, a, b)
        except ValueError:
            raise ValueError(f"where: condition of shape {self.condition.shape} and inputs of "
                             f"shapes {a.shape} and {b.shape} cannot be broadcast together"
                             ) from None

    def backward(self, g):
        zero = xp.zeros((), dtype=g.dtype)
        return (sum_to(xp.where(self.condition, g, zero), self.shapes[0]),
                sum_to(xp.where(self.condition, zero, g), self.shapes[1]))


# --------------------------------------------------------------------------- unary


class Neg(Function):
    def forward(self, x):
        return -x

    def backward(self, g):
        return -g


class Exp(Function):
    def forward(self, x):
        self.out = xp.exp(x)
        return self.out

    def backward(self, g):
        return g * self.out


class Log(Function):
    def forward(self, x):
        self.x = x
        return xp.log(x)

    def backward(self, g):
        return g / self.x


class Sqrt(Function):
    def forward(self, x):
        self.out = xp.sqrt(x)
        return self.out

    def backward(self, g):
        return g / (2 * self.out)


class Abs(Function):
    def forward(self, x):
        self.x = x
        return xp.abs(x)

    def backward(self, g):
        return g * xp.sign(self.x)


class Clip(Function):
    """Clamp to [low, high]; the gradient passes where the input was inside (bounds included)."""

    def __init__(self, low=None, high=None):
        self.low, self.high = low, high

    def forward(self, x):
        self.x = x
        return xp.clip(x, self.low, self.high)

    def backward(self, g):
        inside = xp.ones(self.x.shape, dtype=bool)
        if self.low is not None:
            inside &= self.x >= self.low
        if self.high is not None:
            inside &= self.x <= self.high
        return g * inside


class Cast(Function):
    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        self.input_dtype = x.dtype
        return x.astype(self.dtype)

    def backward(self, g):
        return g.astype(self.input_dtype)


# --------------------------------------------------------------------------- reductions


class Sum(Function):
    def __init__(self, dim=None, keepdim=False):
        self.dim, self.keepdim = dim, keepdim

    def forward(self, x):
        self.shape = x.shape
        self.axes = normalize_dims(self.dim, x.ndim, "sum")
        return xp.asarray(x.sum(axis=self.axes, keepdims=self.keepdim))

    def backward(self, g):
        return xp.broadcast_to(_expand_reduced(g, self.axes, self.keepdim), self.shape)


class Max(Function):
    """Largest value along ``dim``; ties share the gradient equally (like ``torch.amax``)."""

    reduce = staticmethod(xp.max)

    def __init__(self, dim=None, keepdim=False):
        self.dim, self.keepdim = dim, keepdim

    def forward(self, x):
        self.axes = normalize_dims(self.dim, x.ndim, self.name.lower())
        if x.size == 0:
            raise ValueError(f"{self.name}: reduction of an empty tensor of shape {x.shape}")
        self.x = x
        self.out = xp.asarray(self.reduce(x, axis=self.axes, keepdims=True))
        return self.out if self.keepdim else self.out.reshape(
            [n for i, n in enumerate(x.shape) if i not in self.axes])

    def backward(self, g):
        winners = self.x == self.out
        share = winners / winners.sum(axis=self.axes, keepdims=True)
        return _expand_reduced(g, self.axes, self.keepdim) * share.astype(g.dtype)


class Min(Max):
    reduce = staticmethod(xp.min)


def arg_reduce(fn, x, dim, keepdim):
    if dim is None:
        return xp.asarray(fn(x))
    return fn(x, axis=dim, keepdims=keepdim)


# --------------------------------------------------------------------------- functional forms


def exp(x):
    return Exp()(x)


def log(x):
    return Log()(x)


def sqrt(x):
    return Sqrt()(x)


def abs(x):
    return Abs()(x)


def clip(x, min=None, max=None):
    return Clip(min, max)(x)


clamp = clip


def pow(base, exponent):
    return Pow()(base, exponent)


def matmul(a, b):
    return MatMul()(a, b)


def sum(x, dim=None, keepdim=False):
    return Sum(dim, keepdim)(x)


def mean(x, dim=None, keepdim=False):
    x = as_tensor(x, op="mean")
    count = 1
    for axis in normalize_dims(dim, x.ndim, "mean"):
        count *= x.shape[axis]
    # the mean of no values is NaN, as in NumPy and PyTorch
    return Sum(dim, keepdim)(x) * (1.0 / count if count else float("nan"))


def var(x, dim=None, keepdim=False, unbiased=True):
    x = as_tensor(x, op="var")
    count = 1
    for axis in normalize_dims(dim, x.ndim, "var"):
        count *= x.shape[axis]
    centered = x - mean(x, dim, keepdim=True)
    return Sum(dim, keepdim)(centered * centered) * (1.0 / max(count - unbiased, 1))


def amax(x, dim=None, keepdim=False):
    return Max(dim, keepdim)(x)


def amin(x, dim=None, keepdim=False):
    return Min(dim, keepdim)(x)


def maximum(a, b):
    return Maximum()(a, b)


def minimum(a, b):
    return -Maximum()(-as_tensor(a, op="minimum"), -as_tensor(b, op="minimum"))


def where(condition, a, b):
    condition = as_array(condition)
    return Where(condition.astype(bool))(a, b)
