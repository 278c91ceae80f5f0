"""Sizes checked before they are allocated.

Anything whose size comes from the user or from a file (a checkpoint's
tensor shapes, an image's pixel count, a model written in notation, the
padding of a kernel demonstration) is estimated in bytes first and compared
with one limit, so that a typo or a hostile file ends in one line that gives
the estimate, not in a ``MemoryError`` (or minutes of swapping) later.

The limit is ``STRIATE_MAX_BYTES`` from the environment when set (a number
of bytes, or with a unit: ``512M``, ``16G``, ``1T``), else half the
machine's physical memory (4 GiB where it cannot be read): one allocation
past that is nearly always a mistake, and would swap before it failed.
Raise it to allow more.

    from striate.limits import check_bytes
    check_bytes(n * c * h * w * 4, "the padded image", op="kernels")
"""
import math
import os
import re

__all__ = ["ENV_VAR", "SizeLimitError", "max_bytes", "check_bytes", "check_elements",
           "check_pixels", "check_image", "max_pixels", "format_bytes"]

ENV_VAR = "STRIATE_MAX_BYTES"
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_FALLBACK = 4 << 30


class SizeLimitError(ValueError):
    """An allocation estimated beyond :func:`max_bytes`."""


def format_bytes(n):
    """``n`` bytes for people: '512 B', '3.2 MiB', '4.0 TiB', '1.2e+12 TiB'."""
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB" if n < 1e6 else f"{n:.2g} TiB"


def _half_the_memory():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    except (AttributeError, ValueError, OSError):
        return _FALLBACK


def max_bytes():
    """The limit in bytes (see the module docstring)."""
    text = os.environ.get(ENV_VAR, "").strip()
    if not text:
        return _half_the_memory()
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?", text, flags=re.IGNORECASE)
    if not match or float(match.group(1)) <= 0:
        raise SizeLimitError(f"{ENV_VAR}={text!r} is not a size; give a number of bytes, "
                             "optionally with K, M, G or T (for example 16G)")
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def check_bytes(nbytes, what, op):
    """Raise :class:`SizeLimitError` if ``nbytes`` (an int, or a float for
    estimates past 2**63) exceed the limit; ``what`` names the allocation and
    ``op`` the function or command, for the message."""
    limit = max_bytes()
    if nbytes > limit:
        raise SizeLimitError(
            f"{op}: {what} would need {format_bytes(nbytes)}, more than the limit of "
            f"{format_bytes(limit)}; if that is intended and the memory is there, raise the "
            f"limit with the environment variable {ENV_VAR} (for example {ENV_VAR}=64G)")
    return nbytes


def check_elements(shape, itemsize, what, op):
    """:func:`check_bytes` for an array of ``shape`` with ``itemsize``-byte
    elements; the product is taken in Python integers (no overflow)."""
    return check_bytes(math.prod(int(n) for n in shape) * int(itemsize), what, op)


#: float64 copies of an image that decoding and framing hold at once (the
#: decoded planes, a converted copy, the resized result)
IMAGE_COPIES = 3


def check_pixels(width, height, channels, what, op):
    """:func:`check_bytes` for decoding a ``width`` x ``height`` image of
    ``channels`` channels and working on it in float64 (``IMAGE_COPIES``
    copies): call it with the size an image file's header declares, before
    its pixels are decoded (Pillow's ``Image.open`` reads only the header)."""
    return check_bytes(IMAGE_COPIES * 8 * int(width) * int(height) * max(1, int(channels)),
                       f"{what} ({int(width)}x{int(height)} pixels, {channels} channel(s), "
                       "decoded in float64)", op)


#: Pictures with more pixels than this are refused before decoding unless the
#: environment variable raises it: a photo is a few megapixels, and a CNN sees
#: a few hundred pixels a side; a larger file is a mistake or a decompression
#: bomb, and every command would spend minutes on it.
PIXELS_VAR = "STRIATE_MAX_PIXELS"
DEFAULT_MAX_PIXELS = 50_000_000


def max_pixels():
    """The pixel limit: ``STRIATE_MAX_PIXELS`` (an integer) or 50 megapixels."""
    text = os.environ.get(PIXELS_VAR, "").strip()
    if not text:
        return DEFAULT_MAX_PIXELS
    try:
        value = int(float(text))
    except ValueError:
        raise SizeLimitError(f"{PIXELS_VAR}={text!r} is not a number of pixels") from None
    return max(1, value)


def check_image(width, height, channels, what, op):
    """Refuse an image of ``width`` x ``height`` over the pixel limit or the byte
    limit (see :func:`check_pixels`), from its header, before it is decoded."""
    pixels, limit = int(width) * int(height), max_pixels()
    if pixels > limit:
        raise SizeLimitError(f"{op}: {what} is {int(width)}x{int(height)} = {pixels:,} pixels, "
                             f"more than the limit of {limit:,}; shrink it first, or raise the "
                             f"limit with the environment variable {PIXELS_VAR} "
                             f"(for example {PIXELS_VAR}={2 * pixels})")
    return check_pixels(width, height, channels, what, op)
