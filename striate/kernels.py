"""The classic image kernels of the lecture notes, and :func:`apply`, which
filters a photograph with one of them through striate's own convolution ops.

The kernels are the ones the notes print (and the interactive page they link,
http://setosa.io/ev/image-kernels/, uses)::

    identity        box_blur (1/9)   gaussian_blur (1/16)   sharpen
    0  0  0         1  1  1          1  2  1                 0 -1  0
    0  1  0         1  1  1          2  4  2                -1  5 -1
    0  0  0         1  1  1          1  2  1                 0 -1  0

    emboss          outline          top_sobel    bottom_sobel   left_sobel   right_sobel
    -2 -1  0        -1 -1 -1          1  2  1     -1 -2 -1       1  0 -1      -1  0  1
    -1  1  1        -1  8 -1          0  0  0      0  0  0       2  0 -2      -2  0  2
     0  1  2        -1 -1 -1         -1 -2 -1      1  2  1       1  0 -1      -1  0  1

The edge kernels of the notes' worked examples: the vertical and horizontal
ones of the 5x5 pixel-value image are Prewitt's (Sobel's without the centre
weight 2), the "mixed edge" one sits beside the Sobel pair, and the
4-neighbour Laplacian is the notes' second edge detector (``outline`` is the
8-neighbour one)::

    vertical_prewitt   horizontal_prewitt   laplacian    mixed_edge
    1  0 -1            1  1  1              0  1  0      0 -2  0
    1  0 -1            0  0  0              1 -4  1     -2  1  2
    1  0 -1           -1 -1 -1              0  1  0      0  2  0

Two readings of "filtering", both in the notes:

* ``mode="correlate"``: slide the kernel over the image as printed and take
  the dot product at every offset, ``S(i, j) = sum_mn I(i + m, j + n) K(m, n)``.
  This is what the notes' worked examples compute, what CNN layers do and what
  setosa's page shows (its "top sobel" lights up where the image gets darker
  downwards). It goes through :func:`striate.functional.conv2d`.
* ``mode="convolve"``: the notes' formula ``S(i, j) = sum_mn I(i - m, j - n) K(m, n)``,
  a true convolution: the same as correlating with the kernel rotated by 180
  degrees, through :func:`striate.functional.convolve2d`. For the symmetric
  kernels (identity, blurs, sharpen, outline) the two agree; a Sobel kernel
  turns into its opposite (top <-> bottom, left <-> right).

Sizes follow the notes' formula per axis, ``(W - F + 2P)/S + 1`` rounded down,
with F the dilated kernel size ``D*(F - 1) + 1``; ``padding="same"`` pads by
``D*(F - 1)`` in all, half before and half after (the extra pixel of an even
kernel after, as PyTorch does), so that stride 1 keeps the size.
"""
import fractions
import numbers
import os
from math import prod

from .backend import xp
from .limits import check_bytes

__all__ = ["KERNELS", "apply", "parse_matrix", "output_shape", "sample_image", "image_array", "SAMPLE_IMAGE",
           "identity", "box_blur", "gaussian_blur", "sharpen", "emboss", "outline",
           "top_sobel", "bottom_sobel", "left_sobel", "right_sobel",
           "vertical_prewitt", "horizontal_prewitt", "laplacian", "mixed_edge"]


def _constant(rows, scale=1.0):
    array = xp.asarray(rows, dtype=xp.float64) * scale
    array.flags.writeable = False  # shared module constants: nobody may change them
    return array


identity = _constant([[0, 0, 0], [0, 1, 0], [0, 0, 0]])
box_blur = _constant([[1, 1, 1], [1, 1, 1], [1, 1, 1]], 1 / 9)
gaussian_blur = _constant([[1, 2, 1], [2, 4, 2], [1, 2, 1]], 1 / 16)
sharpen = _constant([[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
emboss = _constant([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]])
outline = _constant([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]])
top_sobel = _constant([[1, 2, 1], [0, 0, 0], [-1, -2, -1]])
bottom_sobel = _constant([[-1, -2, -1], [0, 0, 0], [1, 2, 1]])
left_sobel = _constant([[1, 0, -1], [2, 0, -2], [1, 0, -1]])
right_sobel = _constant([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
vertical_prewitt = _constant([[1, 0, -1], [1, 0, -1], [1, 0, -1]])
horizontal_prewitt = _constant([[1, 1, 1], [0, 0, 0], [-1, -1, -1]])
laplacian = _constant([[0, 1, 0], [1, -4, 1], [0, 1, 0]])
mixed_edge = _constant([[0, -2, 0], [-2, 1, 2], [0, 2, 0]])

#: Every named kernel, in the order the notes and setosa's page show them.
KERNELS = {
    "identity": identity, "box_blur": box_blur, "gaussian_blur": gaussian_blur,
    "sharpen": sharpen, "emboss": emboss, "outline": outline,
    "top_sobel": top_sobel, "bottom_sobel": bottom_sobel,
    "left_sobel": left_sobel, "right_sobel": right_sobel,
    "vertical_prewitt": vertical_prewitt, "horizontal_prewitt": horizontal_prewitt,
    "laplacian": laplacian, "mixed_edge": mixed_edge,
}

#: The photograph shipped with striate (CC0, see kernels_data/README.md).
SAMPLE_IMAGE = os.path.join(os.path.dirname(__file__), "kernels_data", "camera.png")

MODES = ("correlate", "convolve")


# --------------------------------------------------------------------------- checks


def _kernel_array(kernel, op):
    """``kernel`` (a name, or a 2-d array of numbers) as a float64 (KH, KW) array."""
    if isinstance(kernel, str):
        if kernel not in KERNELS:
            raise ValueError(f"{op}: unknown kernel {kernel!r}; the named kernels are "
                             f"{', '.join(KERNELS)}")
        return KERNELS[kernel]
    try:
        array = xp.asarray(kernel)
    except ValueError:  # ragged nested lists
        raise ValueError(f"{op}: the kernel must be a rectangular 2-d array of numbers; its "
                         f"rows have different lengths") from None
    if array.dtype == object or not (xp.issubdtype(array.dtype, xp.number)
                                     or array.dtype == bool):
        raise TypeError(f"{op}: the kernel must hold numbers, got dtype {array.dtype}")
    if array.ndim != 2 or 0 in array.shape:
        raise ValueError(f"{op}: the kernel must be a non-empty 2-d array (KH, KW), got shape "
                         f"{tuple(array.shape)}")
    array = array.astype(xp.float64)
    if not xp.isfinite(array).all():
        raise ValueError(f"{op}: the kernel holds inf or NaN: {array.tolist()}")
    return array


def _image_array(image, op):
    """``image`` as float64 (H, W) or (H, W, C)."""
    array = xp.asarray(image)
    if array.dtype == object or not (xp.issubdtype(array.dtype, xp.number)
                                     or array.dtype == bool):
        raise TypeError(f"{op}: the image must hold numbers, got dtype {array.dtype}")
    if array.ndim not in (2, 3) or 0 in array.shape:
        raise ValueError(f"{op}: expected an image of shape (H, W) or (H, W, C), got shape "
                         f"{tuple(array.shape)}")
    return array.astype(xp.float64)


def _pair(value, name, op, minimum):
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        pair = (int(value), int(value))
    else:
        try:
            pair = tuple(int(v) for v in value)
        except (TypeError, ValueError):
            pair = ()
        if len(pair) != 2:
            raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {value!r}")
    return pair


def _padding_pairs(padding, kernel_shape, dilation, op):
    """((top, bottom), (left, right)) for ``'same'``, ``'valid'``, an int or a pair."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0), (0, 0))
        if padding == "same":
            totals = [d * (k - 1) for k, d in zip(kernel_shape, dilation)]
            return tuple((t // 2, t - t // 2) for t in totals)
        raise ValueError(f"{op}: padding must be 'same', 'valid', an int or a pair of ints, "
                         f"got {padding!r}")
    ph, pw = _pair(padding, "padding", op, 0)
    return ((ph, ph), (pw, pw))


def output_shape(image_shape, kernel_shape, padding="same", stride=1, dilation=1):
    """The notes' ``(W - F + 2P)/S + 1`` per axis, rounded down: ``(OH, OW)``.

    ``image_shape`` starts with (H, W); F is the dilated kernel size
    ``D*(F - 1) + 1`` and 2P the padding on both sides together.
    """
    stride = _pair(stride, "stride", "output_shape", 1)
    dilation = _pair(dilation, "dilation", "output_shape", 1)
    pads = _padding_pairs(padding, kernel_shape, dilation, "output_shape")
    return tuple((size - (d * (k - 1) + 1) + before + after) // s + 1
                 for size, k, d, s, (before, after)
                 in zip(image_shape[:2], kernel_shape, dilation, stride, pads))


# --------------------------------------------------------------------------- filtering


def apply(image, kernel, mode="correlate", padding="same", stride=1, dilation=1):
    """Filter ``image`` with ``kernel``, each channel on its own.

    ``image``: (H, W) or (H, W, C) numbers (any dtype; computed in float64).
    ``kernel``: a name in :data:`KERNELS` or a 2-d array (KH, KW).
    ``mode``: ``"correlate"`` (kernel as printed) or ``"convolve"`` (flipped,
    the notes' S = I * K). ``padding``: ``"same"``, ``"valid"``, an int or an
    (PH, PW) pair of zeros on each side. ``stride``, ``dilation``: int or pair.

    Returns a float64 array (OH, OW) or (OH, OW, C), sizes as in
    :func:`output_shape`. Values are not clipped: a Sobel response is negative
    where the edge runs the other way.
    """
    from . import functional as F

    op = "kernels.apply"
    if mode not in MODES:
        raise ValueError(f"{op}: mode must be 'correlate' or 'convolve', got {mode!r}")
    array = _image_array(image, op)
    weight = _kernel_array(kernel, op)
    stride = _pair(stride, "stride", op, 1)
    dilation = _pair(dilation, "dilation", op, 1)
    pads = _padding_pairs(padding, weight.shape, dilation, op)
    padded = tuple(size + before + after for size, (before, after) in zip(array.shape, pads))
    reach = tuple(d * (k - 1) + 1 for k, d in zip(weight.shape, dilation))
    if any(r > p for r, p in zip(reach, padded)):
        raise ValueError(f"{op}: the kernel {weight.shape[0]}x{weight.shape[1]} (dilated "
                         f"{reach[0]}x{reach[1]}) does not fit the image {array.shape[0]}x"
                         f"{array.shape[1]} padded to {padded[0]}x{padded[1]}")
    out_size = output_shape(array.shape, weight.shape, padding, stride, dilation)
    channels = 1 if array.ndim == 2 else array.shape[2]
    # float64 throughout: the padded planes, one column per kernel tap and output pixel
    # (the widest route of the convolution), and the output
    check_bytes(8 * channels * (padded[0] * padded[1] + (weight.size + 1) * prod(out_size)),
                f"filtering a {array.shape[0]}x{array.shape[1]} image padded to "
                f"{padded[0]}x{padded[1]} with a {weight.shape[0]}x{weight.shape[1]} kernel "
                f"into {out_size[0]}x{out_size[1]}", op)
    planes = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)   # (C, H, W)
    planes = planes[:, None]                                                 # channels as a batch
    if all(before == after for before, after in pads):
        conv_padding = (pads[0][0], pads[1][0])
    else:  # an even kernel's 'same' is uneven: pad here, the conv ops take one P per axis
        planes = xp.pad(planes, ((0, 0), (0, 0)) + pads)
        conv_padding = 0
    conv = F.conv2d if mode == "correlate" else F.convolve2d
    out = conv(planes, weight[None, None], stride=stride, padding=conv_padding,
               dilation=dilation).data[:, 0]
    return out[0] if array.ndim == 2 else out.transpose(1, 2, 0)


# --------------------------------------------------------------------------- text and files


def _number(text, row, column):
    try:
        return float(fractions.Fraction(text.strip()))
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"kernel matrix: entry {text.strip()!r} (row {row}, column {column}) "
                         "is not a number (write numbers such as -1, 0.5 or 1/9)") from None


def parse_matrix(text):
    """A square kernel from text: rows separated by ``;``, entries by ``,``
    (``"0,-1,0;-1,5,-1;0,-1,0"``); entries may be fractions (``1/9``).

    Returns a float64 (K, K) array; raises ValueError naming the offending
    entry, or the row lengths when the matrix is ragged or not square.
    """
    rows = [row for row in str(text).split(";")]
    if not any(row.strip() for row in rows):
        raise ValueError("kernel matrix: empty; write rows separated by ';' and entries by ',', "
                         "e.g. '0,-1,0;-1,5,-1;0,-1,0'")
    values = [[_number(entry, r + 1, c + 1) for c, entry in enumerate(row.split(","))]
              for r, row in enumerate(rows)]
    lengths = [len(row) for row in values]
    if len(set(lengths)) != 1:
        raise ValueError(f"kernel matrix: rows have different lengths {lengths}; every row "
                         "needs the same number of entries")
    if lengths[0] != len(values):
        raise ValueError(f"kernel matrix: not square ({len(values)} rows of {lengths[0]} "
                         "entries); write K rows of K entries")
    return _kernel_array(values, "kernel matrix")


def image_array(picture):
    """A decoded Pillow image as float64 in [0, 1]: (H, W) for grey images,
    (H, W, 3) for colour ones."""
    grey = picture.mode in ("1", "L", "LA", "I", "I;16", "F")
    return xp.asarray(picture.convert("L" if grey else "RGB"), dtype=xp.float64) / 255.0


def sample_image():
    """The shipped photograph (256 x 256 grey, see ``kernels_data/README.md``)
    as float64 in [0, 1]. Needs Pillow."""
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("striate.kernels.sample_image needs Pillow: "
                          "pip install 'striate[train]'") from None
    with Image.open(SAMPLE_IMAGE) as picture:
        return image_array(picture)
