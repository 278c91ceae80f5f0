"""Whole networks from the compact notation of the lectures (Ciresan et al.'s)::

    9HL-48x48-100C3-MP2-200C2-MP2-300C2-MP2-400C2-MP2-500N-3755

a net for Chinese OCR: 48x48 input, four convolution + max-pool stages down to
2x2x400, a 500-unit hidden layer and 3755 output classes.

Grammar (tokens separated by ``-``; spaces around them are ignored)::

    spec    := [<n>HL-] input (-layer)* -<classes>
    input   := <H>x<W> | <C>x<H>x<W>        a 1-channel or C-channel H x W image
    layer   := <k>C<f>   convolution: k maps, f x f kernel, stride 1, no padding,
                         followed by the activation
             | MP<s>     max pooling s x s, stride s
             | AP<s>     average pooling s x s, stride s
             | <k>N      fully connected layer of k units, followed by the activation
             | BN        batch normalization of the previous layer's output
                         (before its activation)
             | D<p>      dropout with probability p (0 <= p < 1), e.g. D0.5
    classes := <k>       the output layer: k units, no activation (logits)

The activation is ReLU, or tanh with ``activation="tanh"`` (as in the
paper). ``<n>HL`` states the number of hidden layers, counting every
convolution, pooling and fully connected token (not BN or D): it is checked.
The maps are flattened before the first fully connected layer. Pooling
floors odd sizes, as PyTorch does (a 23x23 map pools to 11x11).

Examples::

    from_notation("28x28-32C3-MP2-64C3-MP2-128N-10")          # MNIST: 5x5x64 -> 128 -> 10
    from_notation("3x32x32-64C3-BN-MP2-128C3-BN-MP2-D0.5-10")  # CIFAR-sized, batch norm
    from_notation("29x29-20C4-MP2-40C5-MP3-150N-10", activation="tanh")

Errors name the offending token and its character position, with a caret
under it::

    from_notation: unknown token 'XC3' at position 11
      28x28-32C3-XC3-10
                 ^^^

The shape each token produces is checked while the network is built, so a
pooling or convolution that does not fit the map says at which token the map
size reaches zero.
"""
import re
from collections import OrderedDict

from .. import nn
from ..limits import SizeLimitError, check_bytes

__all__ = ["from_notation", "is_notation", "notation_factory", "NotationError", "NotationNet",
           "parse_notation"]

ACTIVATIONS = ("relu", "tanh")

_INPUT = re.compile(r"^(\d+)x(\d+)(?:x(\d+))?$")
_PATTERNS = [
    ("conv", re.compile(r"^(\d+)C(\d+)$")),
    ("maxpool", re.compile(r"^MP(\d+)$")),
    ("avgpool", re.compile(r"^AP(\d+)$")),
    ("fc", re.compile(r"^(\d+)N$")),
    ("batchnorm", re.compile(r"^BN$")),
    ("dropout", re.compile(r"^D(\d*\.?\d+)$")),
    ("classes", re.compile(r"^(\d+)$")),
]
_HIDDEN = re.compile(r"^(\d+)HL$")


class NotationError(ValueError):
    """A notation string that does not parse or does not fit its input."""


def is_notation(spec):
    """True when ``spec`` looks like a notation string (holds ``-`` and starts
    with an input size or an ``<n>HL`` prefix) rather than a model name."""
    if not isinstance(spec, str) or "-" not in spec:
        return False
    first = spec.split("-", 1)[0].strip()
    return bool(_INPUT.match(first) or _HIDDEN.match(first))


def _tokens(spec):
    """``[(text, position)]``: each ``-``-separated token and the index of its first character."""
    tokens, position = [], 0
    for raw in spec.split("-"):
        stripped = raw.strip()
        tokens.append((stripped, position + (len(raw) - len(raw.lstrip()))))
        position += len(raw) + 1
    return tokens


def _error(spec, token, position, message):
    width = max(1, len(token))
    return NotationError(f"from_notation: {message} at position {position}\n  {spec}\n  "
                         f"{' ' * position}{'^' * width}")


def parse_notation(spec):
    """``(input_shape, layers, hidden_declared)``: ``input_shape`` (C, H, W),
    ``layers`` a list of ``(kind, values, token, position)``, the last one of
    kind ``"classes"``, and the ``<n>HL`` count (or None)."""
    if not isinstance(spec, str) or not spec.strip():
        raise NotationError(f"from_notation: expected a notation string such as "
                            f"'28x28-32C3-MP2-10', got {spec!r}")
    tokens = _tokens(spec)
    hidden = None
    match = _HIDDEN.match(tokens[0][0])
    if match:
        hidden = int(match.group(1))
        tokens = tokens[1:]
    if not tokens:
        raise _error(spec, spec, 0, "no input size after the HL prefix")
    text, position = tokens[0]
    match = _INPUT.match(text)
    if not match:
        raise _error(spec, text, position, f"expected the input size HxW or CxHxW, got {text!r}")
    numbers = [int(g) for g in match.groups() if g is not None]
    input_shape = tuple(numbers) if len(numbers) == 3 else (1,) + tuple(numbers)
    if min(input_shape) < 1:
        raise _error(spec, text, position, f"input sizes must be positive, got {text!r}")
    layers = []
    for text, position in tokens[1:]:
        for kind, pattern in _PATTERNS:
            match = pattern.match(text)
            if match:
                break
        else:
            raise _error(spec, text, position, f"unknown token {text!r} (expected <k>C<f>, "
                         "MP<s>, AP<s>, <k>N, BN, D<p> or the number of classes)")
        if layers and layers[-1][0] == "classes":
            last = layers[-1]
            raise _error(spec, last[2], last[3], f"the bare number {last[2]!r} (the output "
                         "classes) must be the last token")
        values = tuple(float(g) if kind == "dropout" else int(g) for g in match.groups())
        if kind == "dropout" and not 0.0 <= values[0] < 1.0:
            raise _error(spec, text, position, f"dropout probability must be in [0, 1), "
                         f"got {values[0]:g}")
        if kind != "dropout" and any(v < 1 for v in values):
            raise _error(spec, text, position, f"sizes in {text!r} must be positive")
        layers.append((kind, values, text, position))
    if not layers or layers[-1][0] != "classes":
        end = len(spec.rstrip())
        raise _error(spec, "", end, "the last token must be the number of output classes "
                     "(a bare number such as 10)")
    return input_shape, layers, hidden


class NotationNet(nn.Sequential):
    """A network built by :func:`from_notation`: a :class:`~striate.nn.Sequential`
    with the notation in ``spec``, ``input_shape`` (C, H, W), and ``shapes``:
    for each token, ``(token, output shape ((C, H, W) or (k,)), parameters)``."""

    def __init__(self, layers, spec="", input_shape=None, shapes=()):
        super().__init__(layers)
        self.spec, self.input_shape, self.shapes = spec, input_shape, shapes

    def notation_table(self):
        """Each token with its output in the notes' H x W x C order and its
        parameter count (weights and biases of that token's layers)."""
        def hwc(shape):
            return "x".join(map(str, shape[1:] + shape[:1])) if len(shape) == 3 else str(shape[0])

        rows = [("input", hwc(self.input_shape), "")]
        rows += [(token, hwc(shape), f"{params:,}" if params else "")
                 for token, shape, params in self.shapes]
        width = max(len(r[0]) for r in rows)
        lines = [self.spec, f"  {'token':<{width}}  {'output (HxWxC)':<16}  params"]
        lines += [f"  {t:<{width}}  {s:<16}  {p}".rstrip() for t, s, p in rows]
        return "\n".join(lines)


def from_notation(spec, num_classes=None, in_channels=None, activation="relu"):
    """The network ``spec`` describes (see the module docstring for the grammar),
    as a :class:`NotationNet`.

    ``num_classes`` and ``in_channels``, when given (the command line passes
    the dataset's), must agree with the notation; ``activation`` is ``"relu"``
    or ``"tanh"``.
    """
    if activation not in ACTIVATIONS:
        raise NotationError(f"from_notation: activation must be one of {ACTIVATIONS}, "
                            f"got {activation!r}")
    input_shape, tokens, hidden = parse_notation(spec)
    act = nn.ReLU if activation == "relu" else nn.Tanh
    counted = sum(kind in ("conv", "maxpool", "avgpool", "fc") for kind, *_ in tokens)
    if hidden is not None and hidden != counted:
        raise _error(spec, f"{hidden}HL", 0, f"{hidden}HL announces {hidden} hidden layers but "
                     f"the notation has {counted} (convolutions, poolings and fully connected "
                     "layers)")
    if in_channels is not None and in_channels != input_shape[0]:
        raise NotationError(f"from_notation: {spec!r} takes {input_shape[0]}-channel input but "
                            f"the data has {in_channels} channels; write the input as "
                            f"{in_channels}x{input_shape[1]}x{input_shape[2]}")
    layers, shapes = OrderedDict(), []
    shape, counts = input_shape, {}
    reserved = [0]  # parameters of the layers built so far and the one about to be

    def reserve(parameters, token, position):
        """Check the float32 weights before they are allocated."""
        reserved[0] += parameters
        try:
            check_bytes(4 * reserved[0], f"the weights up to {token!r} ({reserved[0]:,} "
                        "parameters)", "from_notation")
        except SizeLimitError as error:
            raise _error(spec, token, position,
                         str(error).removeprefix("from_notation: ")) from None

    def add(prefix, module):
        counts[prefix] = counts.get(prefix, 0) + 1
        name = prefix if prefix in ("flatten", "output") else f"{prefix}{counts[prefix]}"
        layers[name] = module
        return module

    def activated_last():  # the previous token ended with its activation
        return bool(layers) and isinstance(list(layers.values())[-1], act)

    for kind, values, token, position in tokens:
        before = sum(p.data.size for m in layers.values() for p in m.parameters())
        if kind in ("conv", "maxpool", "avgpool") and len(shape) != 3:
            raise _error(spec, token, position, f"{token!r} needs a 2-D map, but a fully "
                         "connected layer came before it")
        if kind == "conv":
            maps, kernel = values
            size = (shape[1] - kernel + 1, shape[2] - kernel + 1)
            if min(size) < 1:
                raise _error(spec, token, position, f"the {kernel}x{kernel} convolution "
                             f"{token!r} does not fit the {shape[1]}x{shape[2]} map (the size "
                             "reaches zero here)")
            reserve(maps * (shape[0] * kernel * kernel + 1), token, position)
            add("conv", nn.Conv2d(shape[0], maps, kernel_size=kernel))
            add(activation, act())
            shape = (maps,) + size
        elif kind in ("maxpool", "avgpool"):
            (s,) = values
            size = (shape[1] // s, shape[2] // s)
            if min(size) < 1:
                raise _error(spec, token, position, f"the {s}x{s} pooling {token!r} reduces the "
                             f"{shape[1]}x{shape[2]} map to {size[0]}x{size[1]} (the size "
                             "reaches zero here)")
            pool = nn.MaxPool2d if kind == "maxpool" else nn.AvgPool2d
            add("pool", pool(kernel_size=s, stride=s))
            shape = (shape[0],) + size
        elif kind in ("fc", "classes"):
            if len(shape) == 3:
                add("flatten", nn.Flatten())
                shape = (shape[0] * shape[1] * shape[2],)
            (units,) = values
            reserve(units * (shape[0] + 1), token, position)
            if kind == "classes":
                if num_classes is not None and num_classes != units:
                    raise _error(spec, token, position, f"the notation ends with {units} output "
                                 f"classes but the data has {num_classes}")
                add("output", nn.Linear(shape[0], units))
            else:
                add("fc", nn.Linear(shape[0], units))
                add(activation, act())
            shape = (units,)
        elif kind == "batchnorm":
            reserve(4 * shape[0], token, position)  # weight, bias and the two running statistics
            norm = nn.BatchNorm2d(shape[0]) if len(shape) == 3 else nn.BatchNorm1d(shape[0])
            if activated_last():  # normalize before the activation: pull it out, re-add it
                name, module = layers.popitem()
                add("bn", norm)
                layers[name] = module
            else:
                add("bn", norm)
        else:  # dropout
            add("dropout", nn.Dropout(p=values[0]))
        after = sum(p.data.size for m in layers.values() for p in m.parameters())
        shapes.append((token, shape, after - before))
    return NotationNet(layers, spec, input_shape, shapes)


def notation_factory(spec):
    """A model factory for ``spec``, as the registry hands out for model names:
    ``notation_factory(spec)(num_classes=10, in_channels=1)``. The notation is
    parsed here, so a bad one fails before any data is loaded."""
    parse_notation(spec)

    def factory(num_classes=None, in_channels=None, activation="relu"):
        return from_notation(spec, num_classes=num_classes, in_channels=in_channels,
                             activation=activation)
    factory.__name__ = spec
    factory.__doc__ = f"The network of the notation {spec!r}."
    return factory
