"""Arguments, at the door: the one room where ops and layers turn what a user
passed into what a computation needs, and say what is wrong when they cannot.

Every check takes ``op``, the name to quote in its error: an op (``"conv2d"``)
or a layer (``"Conv2d(3, 8)"``). A layer and the op it calls thus check the
same thing the same way, and the message names whichever the user called,
with the shapes involved quoted as tuples. Checks run here, at the top of the
public functions and layers; ``Function.forward`` works on arrays that were
checked already.

* values: ``as_tensor`` (anything to a Tensor) and ``as_array`` (Tensors,
  torch tensors and array-likes to a backend array), both defined in
  ``striate.autograd``, which needs them itself, and re-exported here;
* numbers and options: :func:`positive_int`, :func:`nonnegative_int`,
  :func:`check_probability`, :func:`check_choice`, :func:`check_exactly_one`,
  :func:`shape_tuple`;
* int-or-tuple options of the window ops: :func:`to_tuple`,
  :func:`positive_tuple`, :func:`nonnegative_tuple`, :func:`padding_pairs`,
  :func:`check_pool_padding`, :func:`check_output_padding`;
* input shapes: :func:`check_ndim`, :func:`check_spatial_input`,
  :func:`check_axis_size`, :func:`check_features`, :func:`check_trailing_shape`,
  :func:`check_groups`, :func:`check_window_fits`;
* unbatched input: :func:`call_as_batch`.

Symbols of the window ops (conv, pool) as in ``windows.py``: ``n`` spatial
dims, input (N, C, *S) or unbatched (C, *S), kernel K, stride, dilation D,
padding as (before, after) pairs.
"""
import numbers

from ..autograd import as_array, as_tensor  # noqa: F401  (re-exported: the two value doors)

__all__ = []  # the building blocks of ops and layers; not re-exported by striate.functional


# --------------------------------------------------------------------------- numbers and options


def _is_int(value):
    # a plain int is by far the most common answer: asked first, without the
    # abstract-class check (several microseconds), as every op call asks it
    return type(value) is int or (isinstance(value, numbers.Integral)
                                  and not isinstance(value, bool))


def positive_int(value, name, op):
    """``value`` as an int >= 1 (channels, groups, sizes)."""
    if not _is_int(value) or value <= 0:
        raise ValueError(f"{op}: {name} must be a positive int, got {value!r}")
    return int(value)


def nonnegative_int(value, name, op):
    """``value`` as an int >= 0 (a Linear layer may have 0 features, as in PyTorch)."""
    if not _is_int(value) or value < 0:
        raise ValueError(f"{op}: {name} must be a non-negative int, got {value!r}")
    return int(value)


def check_probability(p, name, op):
    """``p`` as a float in [0, 1]; NaN is refused too (it fails both comparisons)."""
    if not isinstance(p, numbers.Real) or isinstance(p, bool):
        raise TypeError(f"{op}: probability {name} must be a number, got {p!r}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: probability {name} must be between 0 and 1, but got {p}")
    return float(p)


def check_choice(value, choices, name, op):
    """``value`` if it is one of the strings ``choices`` (a reduction, a padding mode)."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{op}: {name}={value!r} is not a valid value for {name}; choose one "
                         f"of {', '.join(repr(c) for c in choices)}")
    return value


def check_exactly_one(op, **options):
    """Exactly one of the keyword ``options`` is given (not None), such as
    interpolate's ``size`` and ``scale_factor``."""
    if sum(value is not None for value in options.values()) != 1:
        shown = ", ".join(f"{name}={value!r}" for name, value in options.items())
        raise ValueError(f"{op}: give exactly one of {' and '.join(options)}, got {shown}")


def shape_tuple(value, name, op):
    """An int or a sequence of ints as a non-empty tuple of positive ints (a shape
    such as LayerNorm's ``normalized_shape``)."""
    values = (value,) if _is_int(value) else _int_sequence(value)
    if not values or any(v <= 0 for v in values):
        raise ValueError(f"{op}: {name} must be a positive int or a non-empty tuple of positive "
                         f"ints, got {value!r}")
    return values


def _int_sequence(value):
    """``value`` as a tuple of ints, or None if it is not a sequence of ints."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        return None
    values = tuple(value)
    return tuple(int(v) for v in values) if all(_is_int(v) for v in values) else None


# --------------------------------------------------------------------------- int-or-tuple options


def to_tuple(value, n, name, op):
    """An int, or a sequence of 1 or ``n`` ints, as a tuple of ``n`` ints (one per
    spatial dim): ``to_tuple(3, 2, ...) == (3, 3)``, ``to_tuple((2, 1), 2, ...) == (2, 1)``.

    A float or any other type is a TypeError; a string (a padding name where
    none is allowed) or a sequence of the wrong length a ValueError.
    """
    if _is_int(value):
        return (int(value),) * n
    values = _int_sequence(value)
    if values is None or len(values) not in (1, n):
        error = ValueError if values is not None or isinstance(value, str) else TypeError
        raise error(f"{op}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    return values * n if len(values) == 1 else values


def positive_tuple(value, n, name, op):
    """:func:`to_tuple`, every entry >= 1 (kernel size, stride, dilation)."""
    values = to_tuple(value, n, name, op)
    if any(v <= 0 for v in values):
        raise ValueError(f"{op}: {name} must be positive, got {value!r}")
    return values


def nonnegative_tuple(value, n, name, op):
    """:func:`to_tuple`, every entry >= 0 (padding, output padding)."""
    values = to_tuple(value, n, name, op)
    if any(v < 0 for v in values):
        raise ValueError(f"{op}: {name} must be non-negative, got {value!r}")
    return values


def padding_pairs(padding, n, kernel, stride, dilation, op):
    """A convolution's padding as ``n`` (before, after) pairs, one per spatial dim.

    ``padding`` is an int, a tuple of ``n`` ints (the same on both sides),
    ``'valid'`` (none) or ``'same'``: the output keeps the input's size at
    stride 1, the total ``D*(K-1)`` split like PyTorch does, the extra pixel of
    an even kernel going after (right/bottom).
    """
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * n
        if padding != "same":
            raise ValueError(f"{op}: padding must be an int, a tuple, 'same' or 'valid', "
                             f"got {padding!r}")
        if any(s != 1 for s in stride):
            raise ValueError(f"{op}: padding='same' needs stride 1, got stride={tuple(stride)}")
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return tuple((t // 2, t - t // 2) for t in totals)
    return tuple((p, p) for p in nonnegative_tuple(padding, n, "padding", op))


def check_pool_padding(padding, kernel, op):
    """Pooling pads at most half the kernel on each side (PyTorch's rule: more
    would make windows that hold padding only)."""
    if any(p > k // 2 for p, k in zip(padding, kernel)):
        raise ValueError(f"{op}: pad should be at most half of kernel size, but got "
                         f"padding={tuple(padding)} for kernel_size={tuple(kernel)}")


def check_output_padding(output_padding, stride, dilation, op):
    """A transposed convolution's extra output size must stay below the stride or
    the dilation (otherwise it adds rows that no input reaches)."""
    if any(o >= max(s, d) for o, s, d in zip(output_padding, stride, dilation)):
        raise ValueError(f"{op}: output_padding {tuple(output_padding)} must be smaller than "
                         f"either stride {tuple(stride)} or dilation {tuple(dilation)}")


# --------------------------------------------------------------------------- input shapes


def check_ndim(x, layouts, op):
    """Raise unless ``x.ndim`` is one of the ranks of ``layouts``, a dict
    ``{ndim: "(N, C, H, W)"}`` that says what each accepted rank's axes are."""
    if x.ndim not in layouts:
        expected = " or a ".join(f"{n}-d input {layout}" for n, layout in layouts.items())
        raise ValueError(f"{op}: expected a {expected}, got shape {tuple(x.shape)}")


def spatial_layouts(n):
    """The accepted layouts of an input with ``n`` spatial dims:
    ``{3: "(C, H, W)", 4: "(N, C, H, W)"}`` for ``n == 2``."""
    spatial = ", ".join("DHW"[3 - n:])
    return {n + 1: f"(C, {spatial})", n + 2: f"(N, C, {spatial})"}


def check_spatial_input(x, n, op):
    """Accept (N, C, *S) and unbatched (C, *S) input with ``n`` spatial dims, as
    PyTorch does; returns True when ``x`` is unbatched (see :func:`call_as_batch`)."""
    check_ndim(x, spatial_layouts(n), op)
    return x.ndim == n + 1


def check_axis_size(x, axis, expected, what, op, by="the layer", weight=None, groups=None):
    """Raise unless ``x.shape[axis] == expected``; ``what`` names the axis
    (``"channels"``) and ``by`` what expects that size, or ``weight`` (with
    its ``groups``) when a weight does. The message is built only on failure:
    ops call this on every forward."""
    actual = x.shape[axis]
    if actual != expected:
        if weight is not None:
            by = f"the weight of shape {tuple(weight.shape)}" + (
                f" with groups={groups}" if groups is not None else "")
        raise ValueError(f"{op}: input of shape {tuple(x.shape)} has {actual} {what}, but {by} "
                         f"expects {expected}")


def check_features(x, in_features, op, by="the layer", weight=None):
    """A fully connected input (*, IN) must end in ``in_features`` features."""
    if x.ndim == 0:
        raise ValueError(f"{op}: expected an input of shape (*, {in_features}), got a scalar")
    check_axis_size(x, -1, in_features, "features in its last dim", op, by, weight=weight)


def check_trailing_shape(x, shape, op):
    """The last dims of ``x`` must be ``shape`` (layer norm's ``normalized_shape``)."""
    if x.ndim < len(shape) or tuple(x.shape[x.ndim - len(shape):]) != tuple(shape):
        expected = "(*, " + ", ".join(str(n) for n in shape) + ")"
        raise ValueError(f"{op}: normalized_shape {tuple(shape)} does not match the trailing "
                         f"dims of the input: expected {expected}, got shape {tuple(x.shape)}")


def check_groups(groups, in_channels, out_channels, op, x=None, weight=None):
    """``groups`` as a positive int that divides both channel counts; the
    message quotes the shapes of ``x`` and ``weight`` when given."""
    groups = positive_int(groups, "groups", op)
    if in_channels % groups or out_channels % groups:
        shapes = "" if x is None else f"; input {tuple(x.shape)}, weight {tuple(weight.shape)}"
        raise ValueError(f"{op}: groups={groups} must divide both the input channels "
                         f"({in_channels}) and the output channels ({out_channels}){shapes}")
    return groups


def check_window_fits(x, kernel, pads, dilation, op):
    """Raise unless the dilated kernel fits in the padded input along each of the
    last ``len(kernel)`` dims of ``x``: otherwise there is no window, and no output.

    The message states the smallest input that would do: spatial size
    ``D*(K-1) + 1 - P_before - P_after`` (at least 1).
    """
    n = len(kernel)
    spatial = tuple(x.shape[-n:])
    reach = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    padded = tuple(s + before + after for s, (before, after) in zip(spatial, pads))
    if any(r > p for r, p in zip(reach, padded)):
        minimum = tuple(max(r - before - after, 1) for r, (before, after) in zip(reach, pads))
        shown = tuple(b for b, _ in pads) if all(b == a for b, a in pads) else tuple(pads)
        raise ValueError(f"{op}: input of shape {tuple(x.shape)} is too small: the kernel "
                         f"{tuple(kernel)} with dilation {tuple(dilation)} spans {reach}, more "
                         f"than the padded input {padded} (padding {shown}); the spatial size "
                         f"must be at least {minimum}")


# --------------------------------------------------------------------------- unbatched input


def call_as_batch(function, inputs, unbatched, batched=1, squeeze=True):
    """``function(*inputs)``, run on a batch of one when ``unbatched``.

    PyTorch's ops accept one sample without its batch axis ((C, H, W) for
    conv2d, (C,) logits for cross_entropy); the Functions here compute on
    batches only. So the first ``batched`` inputs get a leading axis of size 1,
    and the output loses it again (``squeeze=False`` for an output with no
    batch axis, such as a loss reduced to a scalar). Gradients flow back
    through both reshapes.
    """
    if not unbatched:
        return function(*inputs)
    out = function(*[t.unsqueeze(0) if i < batched else t for i, t in enumerate(inputs)])
    return out.squeeze(0) if squeeze else out
