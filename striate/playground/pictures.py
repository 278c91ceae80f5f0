"""Pictures in and out of the playground.

In: uploaded bytes decoded with Pillow under two limits, the request size
(checked by :func:`striate.playground.api.read_body`) and :data:`MAX_PIXELS`,
checked from the header before any pixel is decompressed (a small PNG can
claim a gigapixel).

Out: arrays as PNG ``data:`` URLs the page can put in an ``<img>`` as they
are: grey maps scaled to [0, 255], tiled channel grids, heat maps laid over
the input. Small maps stay small; the page enlarges them with
``image-rendering: pixelated``, so every pixel the model saw stays visible.
"""
import base64
import io

from ..backend import xp

__all__ = ["MAX_PIXELS", "decode_image", "png_data_url", "grey", "tile", "heat_overlay",
           "signed_limit", "diverging", "diverging_tile", "DIVERGING_ENDS"]

#: The diverging map's ends and middle (RGB in [0, 1]): blue for -limit, white
#: for zero, red for +limit, as ``striate kernels`` draws signed responses.
DIVERGING_ENDS = ((0.13, 0.40, 0.67), (1.0, 1.0, 1.0), (0.70, 0.09, 0.17))

#: The largest image (width x height) an upload may decode to.
MAX_PIXELS = 16_000_000


def decode_image(data, what="the upload"):
    """A Pillow image from ``data`` (bytes), EXIF orientation applied.

    Raises ValueError with a message for empty data, data that is not an
    image, or an image of more than :data:`MAX_PIXELS` pixels.
    """
    from PIL import Image, ImageOps

    if not data:
        raise ValueError(f"{what} is empty; send the bytes of a PNG or JPEG image")
    try:
        image = Image.open(io.BytesIO(data))
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise ValueError(f"{what} is {width}x{height} pixels; the playground decodes images "
                             f"of at most {MAX_PIXELS:,} pixels")
        image.load()
        return ImageOps.exif_transpose(image)
    except ValueError:
        raise
    except Image.UnidentifiedImageError:
        raise ValueError(f"{what} is not an image: its bytes are not PNG, JPEG or another "
                         "format Pillow reads") from None
    except (OSError, SyntaxError, Image.DecompressionBombError) as error:
        raise ValueError(f"{what} is not a readable image ({error})") from None


def png_data_url(pixels):
    """``data:image/png;base64,...`` of uint8 (H, W) or (H, W, 3) ``pixels``."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(xp.ascontiguousarray(pixels, dtype=xp.uint8)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def grey(values, low=None, high=None):
    """Float (H, W) values as uint8 grey, ``low`` -> 0 and ``high`` -> 255
    (default: the array's own minimum and maximum; a flat array is mid-grey)."""
    values = xp.asarray(values, dtype=xp.float64)
    low = float(values.min()) if low is None else low
    high = float(values.max()) if high is None else high
    if high <= low:
        return xp.full(values.shape, 128, dtype=xp.uint8)
    scaled = (values - low) / (high - low)
    return (xp.clip(scaled, 0.0, 1.0) * 255 + 0.5).astype(xp.uint8)


def tile(maps, columns=None, gap=1):
    """(K, h, w) float maps as one uint8 grid image, all scaled together (a
    layer's maps are comparable with each other), ``gap`` pixels of white
    between cells."""
    maps = xp.asarray(maps, dtype=xp.float64)
    count, height, width = maps.shape
    columns = columns or int(xp.ceil(xp.sqrt(count)))
    rows = -(-count // columns)
    cells = grey(maps)
    grid = xp.full((rows * (height + gap) - gap, columns * (width + gap) - gap), 255, xp.uint8)
    for index in range(count):
        row, column = divmod(index, columns)
        top, left = row * (height + gap), column * (width + gap)
        grid[top:top + height, left:left + width] = cells[index]
    return grid


def heat_overlay(image, heat):
    """The grey ``image`` (H, W) in [0, 1] with ``heat`` (H, W) >= 0 laid over
    it in the "hot" colour map (black, red, yellow, white), as uint8 (H, W, 3)."""
    heat = xp.asarray(heat, dtype=xp.float64)
    peak = float(heat.max())
    level = heat / peak if peak > 0 else xp.zeros_like(heat)
    hot = xp.stack([xp.clip(3 * level, 0, 1), xp.clip(3 * level - 1, 0, 1),
                    xp.clip(3 * level - 2, 0, 1)], axis=-1)
    base = xp.clip(xp.asarray(image, dtype=xp.float64), 0, 1)[..., None]
    mixed = 0.35 * base + 0.65 * hot
    return (xp.clip(mixed, 0, 1) * 255 + 0.5).astype(xp.uint8)


def signed_limit(values):
    """The symmetric colour limit of signed ``values``: the 99.5th percentile
    of their magnitude (a few extreme pixels do not wash the rest out), or
    the largest magnitude when that is zero; 1 for all-zero values."""
    magnitude = xp.abs(xp.asarray(values, dtype=xp.float64))
    limit = float(xp.percentile(magnitude, 99.5)) if magnitude.size else 0.0
    if limit <= 0:
        limit = float(magnitude.max()) if magnitude.size else 0.0
    return limit if limit > 0 else 1.0


def diverging(values, limit):
    """Float (H, W) ``values`` in the diverging map, ``-limit`` blue, 0 white,
    ``+limit`` red (beyond: the end colours), as uint8 (H, W, 3)."""
    level = xp.clip(xp.asarray(values, dtype=xp.float64) / limit, -1.0, 1.0)[..., None]
    low, middle, high = (xp.asarray(c) for c in DIVERGING_ENDS)
    rgb = xp.where(level < 0, middle + (low - middle) * (-level), middle + (high - middle) * level)
    return (rgb * 255 + 0.5).astype(xp.uint8)


def diverging_tile(maps, columns=None, gap=1, limit=None):
    """(K, h, w) signed maps as one (H, W, 3) grid in the diverging map, one
    symmetric scale for all (``limit``, default :func:`signed_limit`), white-grey gaps."""
    maps = xp.asarray(maps, dtype=xp.float64)
    count, height, width = maps.shape
    columns = columns or int(xp.ceil(xp.sqrt(count)))
    rows = -(-count // columns)
    limit = signed_limit(maps) if limit is None else limit
    grid = xp.full((rows * (height + gap) - gap, columns * (width + gap) - gap, 3), 200, xp.uint8)
    for index in range(count):
        row, column = divmod(index, columns)
        top, left = row * (height + gap), column * (width + gap)
        grid[top:top + height, left:left + width] = diverging(maps[index], limit)
    return grid
