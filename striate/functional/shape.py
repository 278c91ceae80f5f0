"""Ops that move values without changing them: reshape, transpose, index,
concatenate, stack, pad. Their backward moves the gradient back the same way."""
import builtins

from ..autograd import Function, Tensor
from ..backend import normalize_dims, sum_to, xp

__all__ = ["reshape", "flatten", "transpose", "permute", "squeeze", "unsqueeze", "expand",
           "cat", "concatenate", "stack", "pad"]


class Reshape(Function):
    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.input_shape = x.shape
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise ValueError(f"reshape: cannot view a tensor of shape {x.shape} "
                             f"({x.size} elements) as {tuple(self.shape)}") from None

    def backward(self, g):
        return g.reshape(self.input_shape)


class Permute(Function):
    def __init__(self, dims):
        self.dims = dims

    def forward(self, x):
        if sorted(d % x.ndim for d in self.dims) != list(range(x.ndim)):
            raise ValueError(f"permute: dims {self.dims} are not a permutation of the "
                             f"{x.ndim} dimensions of a tensor of shape {x.shape}")
        return x.transpose(self.dims)

    def backward(self, g):
        return g.transpose(xp.argsort([d % g.ndim for d in self.dims]))


class BroadcastTo(Function):
    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        self.input_shape = x.shape
        return xp.broadcast_to(x, self.shape)

    def backward(self, g):
        return sum_to(g, self.input_shape)


def _is_basic_index(index):
    parts = index if isinstance(index, tuple) else (index,)
    return builtins.all(p is None or p is Ellipsis or isinstance(p, (int, slice)) for p in parts)


class GetItem(Function):
    """``x[index]``; the gradient is scattered back (summed where an index repeats)."""

    def __init__(self, index):
        if isinstance(index, Tensor):
            index = index.data
        elif isinstance(index, tuple):
            index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
        self.index = index

    def forward(self, x):
        self.input_shape, self.dtype = x.shape, x.dtype
        return x[self.index]

    def backward(self, g):
        grad = xp.zeros(self.input_shape, dtype=g.dtype)
        if _is_basic_index(self.index):
            grad[self.index] = g  # a basic index hits each element at most once
        else:
            xp.add.at(grad, self.index, g)
        return grad


class Concatenate(Function):
    def __init__(self, dim):
        self.dim = dim

    def forward(self, *xs):
        if not xs:
            raise ValueError("cat: expected a non-empty sequence of tensors")
        ndim = xs[0].ndim
        dim = self.dim % builtins.max(ndim, 1)
        for x in xs:
            if x.ndim != ndim or x.shape[:dim] + x.shape[dim + 1:] != xs[0].shape[:dim] + xs[0].shape[dim + 1:]:
                shapes = ", ".join(str(t.shape) for t in xs)
                raise ValueError(f"cat: tensors must match in every dimension but {self.dim}; got {shapes}")
        self.splits = xp.cumsum([x.shape[dim] for x in xs])[:-1]
        self.axis = dim
        return xp.concatenate(xs, axis=dim)

    def backward(self, g):
        return tuple(xp.split(g, self.splits, axis=self.axis))


class Stack(Function):
    def __init__(self, dim):
        self.dim = dim

    def forward(self, *xs):
        if not xs:
            raise ValueError("stack: expected a non-empty sequence of tensors")
        if builtins.any(x.shape != xs[0].shape for x in xs):
            shapes = ", ".join(str(t.shape) for t in xs)
            raise ValueError(f"stack: tensors must all have the same shape; got {shapes}")
        return xp.stack(xs, axis=self.dim)

    def backward(self, g):
        return tuple(xp.moveaxis(g, self.dim, 0))


class Pad(Function):
    """Pad the trailing dimensions. ``pad`` is PyTorch's: (left, right) for the last
    dimension, then (top, bottom) for the one before, and so on.

    Reflect and replicate padding copy input values, so their backward adds the
    gradient of every copy back to its source: the source index of each padded
    position is ``np.pad(arange(n), ...)``, and the gradient is a scatter-add.
    """

    modes = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}

    def __init__(self, pad, mode="constant", value=0.0):
        if len(pad) % 2:
            raise ValueError(f"pad: expected an even number of pad sizes, got {pad}")
        if mode not in self.modes:
            raise ValueError(f"pad: unknown mode {mode!r}; choose one of {sorted(self.modes)}")
        if builtins.any(p < 0 for p in pad):
            raise ValueError(f"pad: negative padding {pad} is not supported")
        self.pad, self.mode, self.value = tuple(pad), mode, value

    def forward(self, x):
        pairs = len(self.pad) // 2
        if pairs > x.ndim:
            raise ValueError(f"pad: {len(self.pad)} pad sizes for a tensor of shape {x.shape}")
        self.widths = [(0, 0)] * (x.ndim - pairs) + [
            (self.pad[2 * i], self.pad[2 * i + 1]) for i in reversed(range(pairs))]
        self.input_shape = x.shape
        if self.mode == "constant":
            return xp.pad(x, self.widths, mode="constant", constant_values=self.value)
        if self.mode == "reflect":
            for n, (lo, hi) in zip(x.shape, self.widths):
                if lo >= n or hi >= n:
                    raise ValueError(f"pad: reflect padding {self.pad} must be smaller than the "
                                     f"padded dimensions of the input of shape {x.shape}")
        return xp.pad(x, self.widths, mode=self.modes[self.mode])

    def backward(self, g):
        if self.mode == "constant":
            return g[tuple(slice(lo, lo + n) for n, (lo, _) in zip(self.input_shape, self.widths))]
        for axis, (n, (lo, hi)) in enumerate(zip(self.input_shape, self.widths)):
            if lo == hi == 0:
                continue
            source = xp.pad(xp.arange(n), (lo, hi), mode=self.modes[self.mode])
            folded = xp.zeros(g.shape[:axis] + (n,) + g.shape[axis + 1:], dtype=g.dtype)
            xp.add.at(folded, (slice(None),) * axis + (source,), g)
            g = folded
        return g


# --------------------------------------------------------------------------- functional forms


def _shape_args(shape):
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape


def reshape(x, *shape):
    return Reshape(_shape_args(shape))(x)


def flatten(x, start_dim=0, end_dim=-1):
    """Merge dimensions ``start_dim..end_dim`` into one (PyTorch's ``torch.flatten``)."""
    shape = x.shape
    if len(shape) == 0:
        return Reshape((1,))(x)
    start, end = start_dim % len(shape), end_dim % len(shape)
    merged = 1
    for n in shape[start:end + 1]:
        merged *= n
    return Reshape(shape[:start] + (merged,) + shape[end + 1:])(x)


def permute(x, *dims):
    return Permute(_shape_args(dims))(x)


def transpose(x, dim0, dim1):
    normalize_dims((dim0, dim1), x.ndim, "transpose")
    dims = list(range(x.ndim))
    dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
    return Permute(tuple(dims))(x)


def squeeze(x, dim=None):
    axes = normalize_dims(dim, x.ndim, "squeeze")
    return Reshape(tuple(n for i, n in enumerate(x.shape) if not (i in axes and n == 1)))(x)


def unsqueeze(x, dim):
    if not -(x.ndim + 1) <= dim <= x.ndim:
        raise IndexError(f"unsqueeze: dim {dim} is out of range for a tensor of shape "
                         f"{tuple(x.shape)} (expected {-(x.ndim + 1)}..{x.ndim})")
    dim %= x.ndim + 1
    return Reshape(x.shape[:dim] + (1,) + x.shape[dim:])(x)


def expand(x, *shape):
    shape = _shape_args(shape)
    lead = len(shape) - x.ndim
    full = tuple(x.shape[i - lead] if n == -1 else n for i, n in enumerate(shape))
    if lead < 0 or any(old not in (1, new) for old, new in zip(x.shape, full[lead:])):
        raise ValueError(f"expand: cannot expand a tensor of shape {tuple(x.shape)} to "
                         f"{tuple(shape)}: each dim must be 1 or keep its size")
    return BroadcastTo(full)(x)


def cat(tensors, dim=0):
    return Concatenate(dim)(*tensors)


concatenate = cat


def stack(tensors, dim=0):
    return Stack(dim)(*tensors)


def pad(input, pad, mode="constant", value=0.0):
    return Pad(pad, mode, value)(input)
