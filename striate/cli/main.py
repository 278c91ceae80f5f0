"""``striate COMMAND ...``: the parser built from the command modules, and the
one place where failures become messages.

Every failure that comes from the user's input (unknown model, missing
dataset, corrupt file, bad checkpoint, undecodable image) ends with one clear
line on stderr and exit status 1 (2 for a malformed command line, as argparse
does), never a Python traceback; set ``STRIATE_DEBUG=1`` to see it anyway.
Commands check before they write, so a failing command leaves nothing
half-written behind.
"""
import argparse
import importlib
import os
import sys


__all__ = ["COMMANDS", "build_parser", "main"]

#: The command modules of this package, in the order ``striate --help`` lists them.
COMMANDS = ("train", "evaluate", "predict", "summary", "models", "datasets", "kernels",
            "inspect", "convert", "export", "playground", "augment", "samples")


def build_parser():
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="striate",
        description="Convolutional networks from first principles, on NumPy: train, "
                    "evaluate and use image classifiers.",
        epilog="Run `striate COMMAND --help` for the options of a command.")
    parser.add_argument("--version", action="version", version=f"striate {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMANDS:
        importlib.import_module(f".{name}", __package__).register(subparsers)
    return parser


def _expected_errors():
    """Exceptions that mean bad input, reported as one line without a traceback."""
    from ..data.idx import IDXError
    from ..data.images import ImageDecodeError
    from ..runs.errors import RunConfigError
    from ..train.checkpoint import CheckpointError

    return (RunConfigError, CheckpointError, ImageDecodeError, IDXError, ValueError, TypeError,
            OSError, KeyError, RuntimeError, ImportError)


def main(argv=None):
    """Entry point of the ``striate`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = bool(os.environ.get("STRIATE_DEBUG"))
    try:
        return args.handler(args) or 0
    except KeyboardInterrupt:
        print("\nstriate: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `striate evaluate ... | head`: the reader left, nothing to report
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as error:  # noqa: BLE001 - the whole point: no traceback for users
        if debug:
            raise
        print(f"striate {args.command}: error: {error_message(error)}", file=sys.stderr)
        return 1


def error_message(error):
    """The one line a failure shows after ``striate CMD: error:``."""
    message = str(error) or type(error).__name__
    if isinstance(error, KeyError):
        message = f"missing entry {message}"
    if isinstance(error, ImportError):
        from ..runs.checks import INSTALL_EXTRAS

        message = f"{message}; the optional packages come with: {INSTALL_EXTRAS}"
    if not isinstance(error, _expected_errors()):
        message = (f"{type(error).__name__}: {message} (this looks like a bug in striate; "
                   "set STRIATE_DEBUG=1 for the traceback)")
    return message
