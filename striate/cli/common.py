"""What the ``striate`` commands share: the usage error, argument types,
option groups, and the formatting of percentages.

Every argument type here turns bad text into an ``argparse.ArgumentTypeError``
that names what was expected, so a malformed command line ends with argparse's
one-line message and exit status 2, never a traceback.
"""
import argparse
import json

from ..runs.errors import RunConfigError

__all__ = ["UsageError", "positive_int", "non_negative_int", "positive_float",
           "non_negative_float", "input_shape", "model_arg", "add_data_options",
           "add_folder_options",
           "add_model_options", "model_kwargs", "percent", "probability",
           "output_path", "add_overwrite_option", "plural", "measured_on", "wrap_parts"]


class UsageError(RunConfigError):
    """A command that cannot run as given; the message says why and what to do.

    The run layer raises its parent, :class:`~striate.runs.errors.RunConfigError`;
    the command line prints both as one line."""


def _bounded(convert, low, strict, what):
    """An argparse type: ``convert`` the text, then require value > low (``strict``)
    or value >= low, and a finite value."""
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not (value > low if strict else value >= low) or value == float("inf"):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value
    return parse


positive_int = _bounded(int, 0, True, "a positive integer")
non_negative_int = _bounded(int, 0, False, "an integer >= 0")
non_negative_float = _bounded(float, 0.0, False, "a finite number >= 0")
positive_float = _bounded(float, 0.0, True, "a finite number > 0")


def input_shape(text):
    """``C,H,W`` (or ``CxHxW``) with positive sizes."""
    try:
        shape = tuple(int(v) for v in text.replace("x", ",").split(","))
    except ValueError:
        shape = ()
    if len(shape) != 3 or min(shape) <= 0:
        raise argparse.ArgumentTypeError(f"expected C,H,W such as 1,28,28, got {text!r}")
    return shape


def output_path(text):
    """A path to write to: not empty (an empty ``--out ""`` would mean the
    current directory to some calls and nothing to others)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a path, got an empty string")
    return text


def add_overwrite_option(parser, what):
    parser.add_argument("--overwrite", action="store_true",
                        help=f"replace {what} if it exists (never a file this command reads, "
                             "nor a file of a training run)")


def model_arg(text):
    """``key=value`` with value a JSON literal (1, 0.25, true, null) or else a string."""
    key, sep, raw = text.partition("=")
    key = key.strip().replace("-", "_")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE such as width=0.25, got {text!r}")
    aliases = {"True": True, "False": False, "None": None}
    if raw in aliases:
        return key, aliases[raw]
    try:
        return key, json.loads(raw)
    except ValueError:
        return key, raw


def add_data_options(parser):
    parser.add_argument("--data-dir", metavar="DIR",
                        help="directory holding the dataset's IDX files, in DIR or DIR/NAME; "
                             "when given, only DIR is used (without it: $STRIATE_DATA, "
                             "~/.cache/striate, /usr/share/datasets)")
    parser.add_argument("--download", action="store_true",
                        help="download a missing dataset from its official mirror (SHA-256 "
                             "checked) into ~/.cache/striate")


def add_folder_options(parser, training=True):
    """``--data DIR`` (a folder of images) and, for training, how it is split
    and normalized."""
    parser.add_argument("--data", metavar="DIR",
                        help="a folder of images instead of --dataset: DIR/CLASS/*.png (one "
                             "subfolder per class), or DIR/train/CLASS/ beside DIR/test/CLASS/ "
                             "(or val/); PNG, JPEG, BMP, GIF, TIFF, WebP. Decoded once into a "
                             "cache ($STRIATE_CACHE or ~/.cache/striate/folders)")
    if not training:
        return
    parser.add_argument("--val-split", type=_fraction, metavar="F",
                        help="with --data and no test/ folder: hold out F of each class's "
                             "images for validation, drawn with --seed (default 0.1)")
    parser.add_argument("--normalize", choices=("imagenet",),
                        help="normalize inputs with a preset's mean and std (imagenet, for "
                             "ImageNet-pretrained weights) instead of the training split's own")


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a fraction between 0 and 1 (exclusive), "
                                         f"got {text!r}")
    return value


def add_model_options(parser):
    parser.add_argument("--width", type=positive_float, metavar="W",
                        help="width multiplier for the model's channels (e.g. 0.25), "
                             "for the models that take one")
    parser.add_argument("--small-input", action="store_true", default=None,
                        help="the model's small-input variant (e.g. a ResNet stem for "
                             "28x28 images), for the models that have one")
    parser.add_argument("--model-arg", type=model_arg, action="append", metavar="KEY=VALUE",
                        help="any other keyword for the model's factory, e.g. "
                             "--model-arg dropout=0.3 (repeatable; values are JSON literals "
                             "or strings); `striate models` lists each model's options")


def model_kwargs(args):
    """The factory keywords given by ``--width``, ``--small-input`` and ``--model-arg``."""
    kwargs = dict(args.model_arg or [])
    if args.width is not None:
        kwargs["width"] = args.width
    if args.small_input:
        kwargs["small_input"] = True
    return kwargs


def plural(count, word):
    """``1 epoch``, ``2 epochs``, ``1,000 images``."""
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"


def measured_on(dataset, split, limited=False):
    """Which images a score was measured on: ``"the 1,000 test images"``, or,
    for a ``--limit`` subset (``limited``), ``"250 of the 1,000 test images"``."""
    if not limited or not hasattr(dataset, "dataset"):
        return f"the {len(dataset):,} {split} images"
    return (f"{len(dataset):,} of the {len(dataset.dataset):,} {split} images (--limit, spread "
            "over the split)")


def percent(value):
    return f"{100.0 * value:.2f}%"


def probability(value):
    """A percentage that never rounds a near-certainty to "100.00%" or a tiny
    chance to "0.00%"."""
    text = percent(value)
    if text == "100.00%" and value < 1.0:
        return ">99.99%"
    if text == "0.00%" and value > 0.0:
        return "<0.01%"
    return text


def wrap_parts(parts, width=100, indent="", first=", "):
    """``parts`` joined by ``", "`` into lines of at most ``width`` columns,
    broken only between parts; every line but the first starts with ``indent``
    (at least two spaces). ``first`` joins the first two parts."""
    lines, line = [], indent + parts[0]
    for index, part in enumerate(parts[1:]):
        sep = first if index == 0 else ", "
        if len(line) + len(sep) + len(part) > width:
            lines.append(line + sep.rstrip())
            line = (indent or "  ") + part
        else:
            line += sep + part
    return "\n".join(lines + [line])
