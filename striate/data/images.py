"""Image files -> model input, for ``striate predict``, the playground and folder datasets.

A photo or drawing of any size and mode (PNG, JPEG, palette, alpha, 16-bit)
is turned into what the model saw in training:

1. decode with Pillow (imported here, lazily) and apply the EXIF orientation;
   transparent pixels are laid on white, like paper;
2. convert to grayscale or RGB, as many channels as the model takes;
3. if the training images were light-on-dark (MNIST and friends) and this one
   is dark-on-light (ink on paper: its border is brighter than mid-grey),
   invert it;
4. frame it the way the dataset was made:
   - ``"digits"`` (MNIST, KMNIST): crop to the ink, scale the longest side to
     20/28 of the frame keeping the aspect ratio, and place the result so its
     centre of mass sits at the centre of the frame, as LeCun et al. built
     MNIST (http://yann.lecun.com/exdb/mnist/);
   - ``"fit"`` (Fashion-MNIST): crop to the object and scale its longest
     side to the frame, centred;
   - ``"resize"``: stretch the whole image to the frame;
   - ``"crop"`` (folders of photos): scale the short side to the frame, then
     cut the centre (:func:`crop_frame`, the very framing of the decode
     cache of :mod:`striate.data.folder`, so that a training file gives
     the same input to ``predict`` as it gave to training);
5. scale to [0, 1] and normalize with the mean/std stored in the checkpoint.

Symbols: C channels, H x W the model's input size, h x w a cropped image.
"""
from ..backend import xp

__all__ = ["ImageDecodeError", "load_image", "prepare_image", "is_blank", "crop_frame",
           "FRAMINGS", "GREY_MODES"]

FRAMINGS = ("digits", "fit", "resize", "crop")
#: Pillow modes without colour; every other mode is decoded as RGB.
GREY_MODES = ("1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F")
DIGIT_BOX = 20 / 28  # MNIST: digits fit a 20x20 box inside the 28x28 frame
INK_THRESHOLD = 0.25  # fraction of the brightest value that counts as ink


class ImageDecodeError(ValueError):
    """A file that is not an image Pillow can decode."""


def load_image(path):
    """Decode ``path`` completely (a truncated file fails here, not later)."""
    import warnings

    from PIL import Image, ImageOps

    from ..limits import SizeLimitError, check_image

    try:
        with warnings.catch_warnings():  # the size is checked here, against striate's limit
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                check_image(*image.size, len(image.getbands()), path, "decoding an image")
                image.load()
            image = ImageOps.exif_transpose(image)
    except SizeLimitError:
        raise
    except FileNotFoundError:
        raise ImageDecodeError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImageDecodeError(f"{path}: is a directory, not an image file") from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        # PIL.UnidentifiedImageError is an OSError; truncated data raises OSError.
        raise ImageDecodeError(f"{path}: cannot decode this file as an image ({error})") from None
    return image


def is_blank(image):
    """True when every pixel of the decoded ``image`` has the same value (in
    every band): an empty canvas, which no model can classify meaningfully."""
    extrema = _flatten_alpha(image).getextrema()
    bands = extrema if isinstance(extrema[0], tuple) else (extrema,)
    return all(low == high for low, high in bands)


def _flatten_alpha(image):
    """Lay an image with transparency on a white background."""
    from PIL import Image

    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image


def _to_8bit(image, channels):
    """A Pillow image in mode L (``channels`` 1) or RGB, alpha laid on white
    and 16/32-bit grey rescaled so that its brightest value is 255."""
    from PIL import Image

    image = _flatten_alpha(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        values = xp.asarray(image, dtype=xp.float64)
        top = values.max() if values.size and values.max() > 0 else 1.0
        image = Image.fromarray(xp.round(values * (255.0 / top)).astype(xp.uint8))
    return image.convert("L" if channels == 1 else "RGB")


def crop_frame(image, height, width, channels):
    """(C, H, W) uint8 from a decoded Pillow image: the short side scaled to
    the frame (Pillow's antialiased bilinear filter), then the centre cut out.

    C is 1 (grey) or 3 (RGB); transparency is laid on white.
    """
    from PIL import Image

    image = _to_8bit(image, channels)
    w, h = image.size
    scale = max(width / w, height / h)
    size = (max(width, round(w * scale)), max(height, round(h * scale)))
    if size != (w, h):
        image = image.resize(size, Image.BILINEAR, reducing_gap=None)
    left, top = (size[0] - width) // 2, (size[1] - height) // 2
    array = xp.asarray(image.crop((left, top, left + width, top + height)), dtype=xp.uint8)
    return array[None] if channels == 1 else array.transpose(2, 0, 1)


def _to_array(image, channels):
    """(C, h, w) float32 in [0, 1] from a Pillow image."""
    image = _flatten_alpha(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):  # 16/32-bit grey: rescale to 8 bits
        values = xp.asarray(image, dtype=xp.float64)
        top = values.max() if values.size and values.max() > 0 else 1.0
        grey = (values / top).astype(xp.float32)
        planes = grey[None] if channels == 1 else xp.repeat(grey[None], channels, axis=0)
        return planes
    image = image.convert("L" if channels == 1 else "RGB")
    array = xp.asarray(image, dtype=xp.float32) / 255.0
    return array[None] if channels == 1 else array.transpose(2, 0, 1)


def _is_dark_on_light(planes):
    """True when the image's border is brighter than mid-grey: ink on paper."""
    grey = planes.mean(axis=0)
    border = xp.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    return float(border.mean()) > 0.5


def _ink_box(planes):
    """(top, bottom, left, right) of the pixels brighter than the ink threshold,
    or None for an empty image."""
    grey = planes.mean(axis=0)
    peak = float(grey.max())
    if peak <= 0:
        return None
    rows = xp.flatnonzero((grey > INK_THRESHOLD * peak).any(axis=1))
    cols = xp.flatnonzero((grey > INK_THRESHOLD * peak).any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _resize(planes, height, width):
    """Resize (C, h, w) with Pillow's antialiased bilinear filter, per channel."""
    from PIL import Image

    out = [xp.asarray(Image.fromarray(xp.ascontiguousarray(p, dtype=xp.float32))
                      .resize((width, height), Image.BILINEAR, reducing_gap=None))
           for p in planes]
    return xp.stack(out).astype(xp.float32)


def _place(planes, height, width, center):
    """Paste (C, h, w) into a black (C, H, W) frame with the point ``center``
    of the small image (row, col) at the frame's centre, kept inside the frame."""
    c, h, w = planes.shape
    top = int(round(height / 2 - center[0]))
    left = int(round(width / 2 - center[1]))
    top = min(max(top, 0), height - h)
    left = min(max(left, 0), width - w)
    frame = xp.zeros((c, height, width), dtype=xp.float32)
    frame[:, top:top + h, left:left + w] = planes
    return frame


def _center_of_mass(planes):
    grey = planes.mean(axis=0)
    total = float(grey.sum())
    if total <= 0:
        return (grey.shape[0] / 2, grey.shape[1] / 2)
    rows = xp.arange(grey.shape[0], dtype=xp.float64)
    cols = xp.arange(grey.shape[1], dtype=xp.float64)
    return (float((grey.sum(axis=1) * rows).sum() / total) + 0.5,
            float((grey.sum(axis=0) * cols).sum() / total) + 0.5)


def _frame(planes, height, width, framing, box_fraction):
    box = _ink_box(planes)
    if framing == "resize" or box is None:
        return _resize(planes, height, width)
    top, bottom, left, right = box
    planes = planes[:, top:bottom, left:right]
    h, w = planes.shape[1:]
    scale = min(box_fraction * height / h, box_fraction * width / w)
    small = _resize(planes, max(1, round(h * scale)), max(1, round(w * scale)))
    small = xp.clip(small, 0.0, 1.0)
    center = _center_of_mass(small) if framing == "digits" else (small.shape[1] / 2,
                                                                 small.shape[2] / 2)
    return _place(small, height, width, center)


def _check_shape(input_shape):
    try:
        channels, height, width = (int(v) for v in input_shape)
    except (TypeError, ValueError):
        raise ValueError(f"prepare_image: input_shape must be (C, H, W), got {input_shape!r}") \
            from None
    if channels not in (1, 3) or height <= 0 or width <= 0:
        raise ValueError(f"prepare_image: input_shape must be (C, H, W) with C 1 (grey) or 3 "
                         f"(RGB) and positive H and W, got {tuple(input_shape)!r}")
    return channels, height, width


def _as_image(image):
    """A Pillow image as is; an (H, W) or (H, W, 3|4) uint8 array as a Pillow image."""
    from PIL import Image

    if isinstance(image, Image.Image):
        return image
    if not hasattr(image, "shape") or not hasattr(image, "dtype"):
        raise TypeError(f"prepare_image: expected a Pillow image (from load_image) or a uint8 "
                        f"array, got {type(image).__name__}")
    if image.dtype != xp.uint8 or not (image.ndim == 2 or (image.ndim == 3 and
                                                           image.shape[2] in (3, 4))):
        raise ValueError(f"prepare_image: an array image must be uint8 of shape (H, W), "
                         f"(H, W, 3) or (H, W, 4), got {image.dtype} {tuple(image.shape)}")
    if min(image.shape[:2]) == 0:
        raise ValueError(f"prepare_image: the image is empty, shape {tuple(image.shape)}")
    return Image.fromarray(xp.ascontiguousarray(image))


def prepare_image(image, input_shape, mean=None, std=None, invert="auto", framing="resize"):
    """A decoded Pillow image (or a uint8 array (H, W) or (H, W, 3|4)) as a
    float32 array of ``input_shape`` (C, H, W), C 1 or 3.

    ``invert``: ``"auto"`` inverts dark-on-light images (for light-on-dark
    training data), True/False force it. ``framing``: one of :data:`FRAMINGS`
    (see the module docstring). ``mean``/``std``: per-channel normalization
    (one value or C values), applied last; None skips it.
    """
    if framing not in FRAMINGS:
        raise ValueError(f"prepare_image: framing must be one of {FRAMINGS}, got {framing!r}")
    if invert not in ("auto", True, False):
        raise ValueError(f"prepare_image: invert must be 'auto', True or False, got {invert!r}")
    channels, height, width = _check_shape(input_shape)
    if framing == "crop":
        planes = crop_frame(_as_image(image), height, width, channels).astype(xp.float32) / 255
        if invert is True:
            planes = 1.0 - planes
        return _normalize(planes, mean, std)
    planes = _to_array(_as_image(image), channels)
    if invert == "auto":
        invert = _is_dark_on_light(planes)
    if invert:
        planes = 1.0 - planes
    box_fraction = DIGIT_BOX if framing == "digits" else 1.0
    return _normalize(_frame(planes, height, width, framing, box_fraction), mean, std)


def _normalize(array, mean, std):
    if mean is not None and std is not None:
        mean = xp.asarray(mean, dtype=xp.float32).reshape(-1, 1, 1)
        std = xp.asarray(std, dtype=xp.float32).reshape(-1, 1, 1)
        array = (array - mean) / std
    return array.astype(xp.float32)
