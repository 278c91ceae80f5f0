"""Label-preserving augmentations on whole batches: affine warps (rotation,
translation, scale, shear), elastic distortions, colour jitter and random
erasing.

Every transform takes a batch ``(N, C, H, W)`` and draws one set of random
parameters per image from :func:`striate.random.generator` at call time, so
``striate.manual_seed`` and the trainer's checkpointed random state reproduce
the augmentation exactly. No Python loop runs over the images: the geometric
warps compute a source position for every output pixel of every image at
once, and one bilinear gather (:func:`sample_bilinear`) reads them all.

Symbols: N batch, C channels, H x W image size; pixel coordinates x (column,
to the right) and y (row, downwards), pixel centres at integers, so the image
centre is ((W - 1) / 2, (H - 1) / 2).

Integer (uint8) images are warped in float32 and rounded back to their dtype;
float images stay float. Put :class:`~striate.data.transforms.ToFloat` first
to keep the sub-pixel values.
"""
import math

from .. import random as _random
from ..backend import xp
from .transforms import LABEL_FILL, Transform, _check_image_dims, _check_labels

__all__ = ["sample_bilinear", "sample_nearest", "warp_affine", "affine_inverse", "gaussian_smoothing_matrix",
           "RandomAffine", "RandomRotation", "ElasticTransform", "ColorJitter",
           "RandomDistortion", "RandomErasing", "RandomResizedCrop"]


# --------------------------------------------------------------------------- argument checks


def _number(value, what):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TypeError(f"{what} must be a finite number, got {value!r}")
    return float(value)


def _symmetric_range(value, what, low=None, high=None):
    """``v`` -> (-v, v) with v >= 0; a pair (a, b) with a <= b; both within [low, high]."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{what} must be a number or a pair (min, max), got {value!r}")
        a, b = (_number(v, what) for v in value)
    else:
        v = _number(value, what)
        if v < 0:
            raise ValueError(f"{what} must be non-negative, got {value!r}")
        a, b = -v, v
    if a > b:
        raise ValueError(f"{what}: min {a} is larger than max {b}")
    if (low is not None and a < low) or (high is not None and b > high):
        raise ValueError(f"{what} must lie in [{low}, {high}], got {value!r}")
    return a, b


def _range(value, what, low, high):
    """A pair (a, b) with low <= a <= b <= high."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"{what} must be a pair (min, max), got {value!r}")
    a, b = (_number(v, what) for v in value)
    if not low <= a <= b <= high:
        raise ValueError(f"{what} must satisfy {low} <= min <= max <= {high}, got {value!r}")
    return a, b


def _probability(p, what):
    p = _number(p, what)
    if not 0 <= p <= 1:
        raise ValueError(f"{what} must be a probability in [0, 1], got {p}")
    return p


def _work_dtype(images):
    return images.dtype if xp.issubdtype(images.dtype, xp.floating) else xp.dtype(xp.float32)


def _like_input(out, images):
    """Round back to an integer input's dtype (clipped to its range)."""
    if xp.issubdtype(images.dtype, xp.floating):
        return out
    info = xp.iinfo(images.dtype)
    return xp.clip(xp.rint(out), info.min, info.max).astype(images.dtype)


# --------------------------------------------------------------------------- resampling


def sample_bilinear(images, x, y, fill=0.0):
    """Read ``images`` (N, C, H, W) at real positions ``x``, ``y`` (N, h, w)
    with bilinear interpolation; positions outside the image read ``fill``
    (the image is surrounded by ``fill`` and interpolated across its border,
    scipy's ``mode='grid-constant'``). Returns (N, C, h, w) in float.

    One gather for all images: the image is padded by one pixel of ``fill``
    and positions are clipped to [-1, W] x [-1, H], so every tap is a valid
    index and taps outside the image read the padding.
    """
    n, c, H, W = images.shape
    work = _work_dtype(images)
    padded = xp.pad(images.astype(work, copy=False), [(0, 0), (0, 0), (1, 1), (1, 1)],
                    constant_values=fill).reshape(-1)
    # W + 3 more fill values at the end, so that the right and lower taps of
    # the last padded pixel are valid indices too (their weight is 0 there).
    padded = xp.concatenate([padded, xp.full(W + 3, fill, dtype=work)])
    x = xp.clip(x, -1.0, W).astype(work, copy=False)
    y = xp.clip(y, -1.0, H).astype(work, copy=False)
    x0, y0 = xp.floor(x), xp.floor(y)
    wx, wy = (x - x0)[:, None], (y - y0)[:, None]
    # Flat index of the upper-left tap in the padded batch (shifted by the
    # border): image i, channel k, row r, column q is at ((i C + k)(H + 2) + r)(W + 2) + q.
    # A tap past the last column reads the next row's left border, which is fill.
    plane = (xp.arange(n * c, dtype=xp.int64) * ((H + 2) * (W + 2))).reshape(
        (n, c) + (1,) * (x.ndim - 1))
    base = plane + ((y0.astype(xp.int64) + 1) * (W + 2) + x0.astype(xp.int64) + 1)[:, None]
    # a + w (b - a): exactly a where the weight is 0 (identity, quarter turns).
    left, right = xp.take(padded, base), xp.take(padded, base + 1)
    top = left + wx * (right - left)
    base += W + 2
    left, right = xp.take(padded, base), xp.take(padded, base + 1)
    bottom = left + wx * (right - left)
    return top + wy * (bottom - top)


def sample_nearest(labels, x, y, fill=LABEL_FILL):
    """Read label maps ``labels`` (N, H, W) at real positions ``x``, ``y``
    (N, h, w): the label of the pixel whose centre is nearest (the square
    around pixel centre (q, r) is [q - 1/2, q + 1/2) x [r - 1/2, r + 1/2)),
    ``fill`` outside those squares. The points are the ones
    :func:`sample_bilinear` reads the image at, so each output pixel takes the
    label of the pixel that contributes most to its value."""
    n, H, W = labels.shape
    col = xp.floor(x + 0.5).astype(xp.int64)
    row = xp.floor(y + 0.5).astype(xp.int64)
    inside = (col >= 0) & (col < W) & (row >= 0) & (row < H)
    picked = labels[xp.arange(n).reshape((n,) + (1,) * (x.ndim - 1)),
                    xp.clip(row, 0, H - 1), xp.clip(col, 0, W - 1)]
    return xp.where(inside, picked, xp.asarray(fill).astype(labels.dtype))


def affine_inverse(forward):
    """(N, 2, 3) inverse of the affine maps ``forward`` (N, 2, 3) (p -> A p + t)."""
    a, b, c, d = forward[:, 0, 0], forward[:, 0, 1], forward[:, 1, 0], forward[:, 1, 1]
    det = a * d - b * c
    inv = xp.empty_like(forward)
    inv[:, 0, 0], inv[:, 0, 1] = d / det, -b / det
    inv[:, 1, 0], inv[:, 1, 1] = -c / det, a / det
    t = forward[:, :, 2]
    inv[:, :, 2] = -xp.einsum("nij,nj->ni", inv[:, :, :2], t)
    return inv


def warp_affine(images, inverse, fill=0.0):
    """Warp ``images`` (N, C, H, W): output pixel (x, y) of image n reads the
    input at ``inverse[n] @ (x, y, 1)`` (``inverse`` (N, 2, 3), pixel
    coordinates as in the module docstring), bilinearly, ``fill`` outside."""
    _check_image_dims(images, "warp_affine", 4)
    n, _, H, W = images.shape
    inverse = xp.asarray(inverse, dtype=xp.float64)
    if inverse.shape != (n, 2, 3):
        raise ValueError(f"warp_affine: expected inverse maps ({n}, 2, 3) for images "
                         f"{images.shape}, got {inverse.shape}")
    sx, sy = _affine_sources(inverse, H, W, _work_dtype(images))
    return _like_input(sample_bilinear(images, sx, sy, fill), images)


def _affine_sources(inverse, H, W, dtype):
    """(sx, sy) (N, H, W): where each output pixel reads its input."""
    ys, xs = xp.mgrid[0:H, 0:W].astype(dtype)
    inverse = inverse.astype(xs.dtype)
    sx = (inverse[:, 0, 0, None, None] * xs + inverse[:, 0, 1, None, None] * ys
          + inverse[:, 0, 2, None, None])
    sy = (inverse[:, 1, 0, None, None] * xs + inverse[:, 1, 1, None, None] * ys
          + inverse[:, 1, 2, None, None])
    return sx, sy


# --------------------------------------------------------------------------- affine


class RandomAffine(Transform):
    """Random rotation, translation, scaling and shear about the image centre,
    one draw per image, with bilinear resampling and ``fill`` outside.

    Arguments (angles in degrees; positive rotation is counter-clockwise on
    screen, as in torchvision):
        degrees: ``d`` (uniform in [-d, d]) or (min, max).
        translate: (a, b): horizontal shift uniform in [-a W, a W], vertical in
            [-b H, b H] (fractions in [0, 1]); None: no shift.
        scale: (min, max) zoom factor (> 0); None: 1.
        shear: ``s`` (x-shear angle in [-s, s]), (min, max) for x, or
            (xmin, xmax, ymin, ymax) for x and y; None: no shear. Angles in (-90, 90).
        fill: the value outside the input image (in the images' own units).

    The forward map of one image is p -> C + T + s R(theta) Sy Sx (p - C) with C
    the centre, Sx = [[1, tan a], [0, 1]] and Sy = [[1, 0], [tan b, 1]]; each
    output pixel reads the input at the inverse map of its position. Angles
    that are multiples of 90 degrees give exact 0/1 matrix entries, so a
    quarter turn of a square image permutes its pixels exactly.
    """

    def __init__(self, degrees=0.0, translate=None, scale=None, shear=None, fill=0.0):
        self.degrees = _symmetric_range(degrees, "RandomAffine degrees")
        if translate is not None:
            if not isinstance(translate, (tuple, list)) or len(translate) != 2:
                raise ValueError(f"RandomAffine translate must be a pair (a, b) of fractions, "
                                 f"got {translate!r}")
            translate = tuple(_number(t, "RandomAffine translate") for t in translate)
            if not all(0 <= t <= 1 for t in translate):
                raise ValueError(f"RandomAffine translate fractions must lie in [0, 1], "
                                 f"got {translate!r}")
        self.translate = translate
        if scale is not None:
            scale = _range(scale, "RandomAffine scale", 0, math.inf)
            if scale[0] <= 0:
                raise ValueError(f"RandomAffine scale must be positive, got {scale!r}")
        self.scale = scale
        if shear is not None:
            if isinstance(shear, (tuple, list)) and len(shear) == 4:
                shear = (_symmetric_range(tuple(shear[:2]), "RandomAffine shear", -89.9, 89.9)
                         + _symmetric_range(tuple(shear[2:]), "RandomAffine shear", -89.9, 89.9))
            else:
                shear = _symmetric_range(shear, "RandomAffine shear", -89.9, 89.9) + (0.0, 0.0)
        self.shear = shear
        self.fill = _number(fill, "RandomAffine fill")

    def sample(self, n, height, width):
        """(N, 2, 3) forward maps for ``n`` images of ``height`` x ``width``."""
        gen = _random.generator()
        theta = xp.deg2rad(gen.uniform(*self.degrees, size=n))
        tx = ty = xp.zeros(n)
        if self.translate is not None:
            a, b = self.translate
            tx = gen.uniform(-a * width, a * width, size=n)
            ty = gen.uniform(-b * height, b * height, size=n)
        s = gen.uniform(*self.scale, size=n) if self.scale is not None else xp.ones(n)
        shx = shy = xp.zeros(n)
        if self.shear is not None:
            shx = xp.tan(xp.deg2rad(gen.uniform(*self.shear[:2], size=n)))
            shy = xp.tan(xp.deg2rad(gen.uniform(*self.shear[2:], size=n)))
        # Round cos/sin to 15 decimals: cos(90 degrees) is 6e-17 in floating
        # point, and an exact 0 makes quarter turns exact permutations.
        cos, sin = xp.round(xp.cos(theta), 15), xp.round(xp.sin(theta), 15)
        # Rotation counter-clockwise on screen, with y pointing down.
        rotation = xp.stack([xp.stack([cos, sin], -1), xp.stack([-sin, cos], -1)], -2)
        shear = xp.stack([xp.stack([xp.ones(n), shx], -1),
                          xp.stack([shy, 1 + shy * shx], -1)], -2)  # Sy @ Sx
        linear = s[:, None, None] * rotation @ shear
        centre = xp.array([(width - 1) / 2, (height - 1) / 2])
        offset = centre + xp.stack([tx, ty], -1) - xp.einsum("nij,j->ni", linear, centre)
        return xp.concatenate([linear, offset[:, :, None]], axis=2)

    spatial = True

    def __call__(self, images):
        _check_image_dims(images, type(self).__name__, 4)
        forward = self.sample(images.shape[0], *images.shape[-2:])
        return warp_affine(images, affine_inverse(forward), self.fill)

    def pair(self, images, labels):
        _check_image_dims(images, type(self).__name__, 4)
        labels = _check_labels(labels, images, type(self).__name__)
        n, _, H, W = images.shape
        inverse = affine_inverse(self.sample(n, H, W))
        sx, sy = _affine_sources(xp.asarray(inverse, dtype=xp.float64), H, W,
                                 _work_dtype(images))
        return (_like_input(sample_bilinear(images, sx, sy, self.fill), images),
                sample_nearest(labels, sx, sy))


class RandomRotation(RandomAffine):
    """Rotate each image by a random angle: ``degrees`` ``d`` (uniform in
    [-d, d]) or (min, max), about the centre, bilinear, ``fill`` outside."""

    def __init__(self, degrees, fill=0.0):
        super().__init__(degrees=degrees, fill=fill)


# --------------------------------------------------------------------------- elastic


def gaussian_smoothing_matrix(size, sigma):
    """(size, size) matrix G with ``G @ v`` = v convolved with a normalised
    Gaussian of standard deviation ``sigma`` (zero outside the image)."""
    offsets = xp.arange(size)[:, None] - xp.arange(size)[None, :]
    radius = max(1, int(math.ceil(4 * sigma)))
    taps = xp.arange(-radius, radius + 1)
    norm = xp.exp(-taps ** 2 / (2 * sigma ** 2)).sum()
    g = xp.exp(-offsets ** 2 / (2 * sigma ** 2)) / norm
    g[xp.abs(offsets) > radius] = 0.0
    return g


class ElasticTransform(Transform):
    """Elastic distortion (Simard, Steinkraus and Platt 2003, "Best practices
    for convolutional neural networks applied to visual document analysis"):
    every pixel gets a random displacement, uniform in [-1, 1] per axis, the
    field is smoothed by a Gaussian of standard deviation ``sigma`` pixels and
    scaled by ``alpha``, and each output pixel reads the input at its position
    plus the displacement (bilinear, ``fill`` outside).

    Small ``sigma`` gives random noise, large ``sigma`` a near-translation;
    the paper's MNIST setting is sigma 4, alpha 34. The smoothing is a
    separable matrix product (``G @ field @ G.T``) over the whole batch.
    """

    def __init__(self, alpha=34.0, sigma=4.0, fill=0.0):
        self.alpha = _number(alpha, "ElasticTransform alpha")
        self.sigma = _number(sigma, "ElasticTransform sigma")
        if self.alpha < 0:
            raise ValueError(f"ElasticTransform: alpha must be non-negative, got {alpha}")
        if self.sigma <= 0:
            raise ValueError(f"ElasticTransform: sigma must be positive, got {sigma}")
        self.fill = _number(fill, "ElasticTransform fill")

    def displacement(self, n, height, width):
        """(N, 2, H, W) float32 displacements (dx, dy) in pixels."""
        field = _random.generator().random((n, 2, height, width), dtype=xp.float32) * 2 - 1
        gh = gaussian_smoothing_matrix(height, self.sigma).astype(xp.float32)
        gw = gaussian_smoothing_matrix(width, self.sigma).astype(xp.float32)
        # Two plain matrix products over the whole batch (rows, then columns),
        # much faster than N small stacked ones.
        field = (field.reshape(-1, width) @ gw.T).reshape(n * 2, height, width)
        field = (gh @ field.transpose(1, 0, 2).reshape(height, -1)).reshape(height, n * 2, width)
        return self.alpha * field.transpose(1, 0, 2).reshape(n, 2, height, width)

    spatial = True

    def __call__(self, images):
        _check_image_dims(images, "ElasticTransform", 4)
        sx, sy = self._sources(images)
        return _like_input(sample_bilinear(images, sx, sy, self.fill), images)

    def pair(self, images, labels):
        _check_image_dims(images, "ElasticTransform", 4)
        labels = _check_labels(labels, images, "ElasticTransform")
        sx, sy = self._sources(images)
        return (_like_input(sample_bilinear(images, sx, sy, self.fill), images),
                sample_nearest(labels, sx, sy))

    def _sources(self, images):
        n, _, H, W = images.shape
        d = self.displacement(n, H, W).astype(_work_dtype(images), copy=False)
        ys, xs = xp.mgrid[0:H, 0:W].astype(d.dtype)
        return xs + d[:, 0], ys + d[:, 1]


class RandomDistortion(Transform):
    """``affine`` (a :class:`RandomAffine`) then ``elastic`` (an
    :class:`ElasticTransform`) in one resampling: output pixel p reads the
    input at A^-1(p + d(p)), the composition of the two warps, so the image is
    interpolated (and blurred) once instead of twice, at about half the cost."""

    def __init__(self, affine, elastic):
        if not isinstance(affine, RandomAffine) or not isinstance(elastic, ElasticTransform):
            raise TypeError(f"RandomDistortion: expected a RandomAffine and an ElasticTransform, "
                            f"got {type(affine).__name__} and {type(elastic).__name__}")
        if affine.fill != elastic.fill:
            raise ValueError(f"RandomDistortion: the affine fill {affine.fill} and the elastic "
                             f"fill {elastic.fill} differ")
        self.affine, self.elastic = affine, elastic

    spatial = True

    def __call__(self, images):
        _check_image_dims(images, "RandomDistortion", 4)
        sx, sy = self._sources(images)
        return _like_input(sample_bilinear(images, sx, sy, self.affine.fill), images)

    def pair(self, images, labels):
        _check_image_dims(images, "RandomDistortion", 4)
        labels = _check_labels(labels, images, "RandomDistortion")
        sx, sy = self._sources(images)
        return (_like_input(sample_bilinear(images, sx, sy, self.affine.fill), images),
                sample_nearest(labels, sx, sy))

    def _sources(self, images):
        n, _, H, W = images.shape
        work = _work_dtype(images)
        inverse = affine_inverse(self.affine.sample(n, H, W)).astype(work)
        d = self.elastic.displacement(n, H, W).astype(work, copy=False)
        ys, xs = xp.mgrid[0:H, 0:W].astype(work)
        px, py = xs + d[:, 0], ys + d[:, 1]
        m = inverse[:, :, :, None, None]
        sx = m[:, 0, 0] * px + m[:, 0, 1] * py + m[:, 0, 2]
        sy = m[:, 1, 0] * px + m[:, 1, 1] * py + m[:, 1, 2]
        return sx, sy


# --------------------------------------------------------------------------- colour


#: RGB -> YIQ (NTSC): luma Y and the two chroma axes I, Q. A hue shift is a
#: rotation of (I, Q) about the grey axis.
_RGB_TO_YIQ = xp.array([[0.299, 0.587, 0.114],
                        [0.595716, -0.274453, -0.321263],
                        [0.211456, -0.522591, 0.311135]])
_LUMA = _RGB_TO_YIQ[0]


class ColorJitter(Transform):
    """Random brightness, contrast, saturation and hue, one draw per image,
    applied in that order to images in [0, 1] (float) or [0, 255] (uint8),
    clipped back to that range.

    ``brightness`` b: multiply by a factor uniform in [max(0, 1 - b), 1 + b].
    ``contrast`` c: blend with the image's mean luma by a factor in
    [max(0, 1 - c), 1 + c]. ``saturation`` s (RGB only): blend with the
    grey (luma) image by a factor in [max(0, 1 - s), 1 + s]. ``hue`` h in
    [0, 0.5] (RGB only): rotate the chroma plane of YIQ by h' * 360 degrees,
    h' uniform in [-h, h] (torchvision shifts the hue in HSV; the YIQ rotation
    is the classic linear approximation and keeps the luma).
    Each may also be a (min, max) range of factors (of shifts, for hue).
    """

    def __init__(self, brightness=0.0, contrast=0.0, saturation=0.0, hue=0.0):
        self.brightness = self._factor_range(brightness, "brightness")
        self.contrast = self._factor_range(contrast, "contrast")
        self.saturation = self._factor_range(saturation, "saturation")
        self.hue = _symmetric_range(hue, "ColorJitter hue", -0.5, 0.5)

    @staticmethod
    def _factor_range(value, name):
        if isinstance(value, (tuple, list)):
            return _range(value, f"ColorJitter {name}", 0, math.inf)
        v = _number(value, f"ColorJitter {name}")
        if v < 0:
            raise ValueError(f"ColorJitter: {name} must be non-negative, got {value}")
        return max(0.0, 1 - v), 1 + v

    @property
    def needs_rgb(self):
        return self.saturation != (1.0, 1.0) or self.hue != (0.0, 0.0)

    def __call__(self, images):
        _check_image_dims(images, "ColorJitter", 4)
        n, c = images.shape[:2]
        if self.needs_rgb and c != 3:
            raise ValueError(f"ColorJitter: saturation and hue need RGB images (3 channels), "
                             f"got {c} channel(s) in {images.shape}; use brightness and "
                             "contrast for grayscale")
        work = _work_dtype(images)
        top = 1.0 if xp.issubdtype(images.dtype, xp.floating) else float(xp.iinfo(images.dtype).max)
        x = images.astype(work)
        gen = _random.generator()
        luma = _LUMA.astype(work)[None, :, None, None] if c == 3 else None

        def grey(v):
            return (v * luma).sum(axis=1, keepdims=True) if c == 3 else v

        def factors(bounds):
            return gen.uniform(*bounds, size=n).astype(work)[:, None, None, None]

        if self.brightness != (1.0, 1.0):
            x = xp.clip(x * factors(self.brightness), 0, top)
        if self.contrast != (1.0, 1.0):
            mean = grey(x).mean(axis=(1, 2, 3), keepdims=True)
            x = xp.clip(mean + factors(self.contrast) * (x - mean), 0, top)
        if self.saturation != (1.0, 1.0):
            g = grey(x)
            x = xp.clip(g + factors(self.saturation) * (x - g), 0, top)
        if self.hue != (0.0, 0.0):
            angle = 2 * math.pi * gen.uniform(*self.hue, size=n)
            cos, sin = xp.cos(angle), xp.sin(angle)
            rot = xp.zeros((n, 3, 3))
            rot[:, 0, 0] = 1
            rot[:, 1, 1], rot[:, 1, 2], rot[:, 2, 1], rot[:, 2, 2] = cos, -sin, sin, cos
            # RGB -> YIQ, rotate (I, Q), back: one 3x3 matrix per image.
            matrix = (xp.linalg.inv(_RGB_TO_YIQ) @ rot @ _RGB_TO_YIQ).astype(work)
            x = xp.clip(xp.einsum("nij,njhw->nihw", matrix, x), 0, top)
        return _like_input(x, images)


# --------------------------------------------------------------------------- erasing


class RandomErasing(Transform):
    """Cutout / random erasing (Zhong et al. 2017; DeVries and Taylor 2017):
    with probability ``p`` per image, set a random rectangle to ``value``.

    The rectangle covers a fraction of the image uniform in ``scale``
    (min, max), with aspect ratio h/w log-uniform in ``ratio``; its sides are
    rounded to whole pixels and cut to the image (torchvision retries a draw
    that does not fit instead). Its position is uniform over the places it fits.
    """

    def __init__(self, p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0.0):
        self.p = _probability(p, "RandomErasing p")
        self.scale = _range(scale, "RandomErasing scale", 0, 1)
        self.ratio = _range(ratio, "RandomErasing ratio", 0, math.inf)
        if self.ratio[0] <= 0:
            raise ValueError(f"RandomErasing: ratio must be positive, got {ratio!r}")
        self.value = _number(value, "RandomErasing value")

    def boxes(self, n, height, width):
        """(erase (N,) bool, top, left, h, w (N,) ints) for ``n`` images."""
        gen = _random.generator()
        erase = gen.random(n) < self.p
        area = gen.uniform(*self.scale, size=n) * height * width
        ratio = xp.exp(gen.uniform(math.log(self.ratio[0]), math.log(self.ratio[1]), size=n))
        h = xp.clip(xp.rint(xp.sqrt(area * ratio)), 0, height).astype(xp.int64)
        w = xp.clip(xp.rint(xp.sqrt(area / ratio)), 0, width).astype(xp.int64)
        top = xp.floor(gen.random(n) * (height - h + 1)).astype(xp.int64)
        left = xp.floor(gen.random(n) * (width - w + 1)).astype(xp.int64)
        return erase, top, left, h, w

    def __call__(self, images):
        _check_image_dims(images, "RandomErasing", 4)
        n, _, H, W = images.shape
        erase, top, left, h, w = self.boxes(n, H, W)
        rows = xp.arange(H)[None, :]
        cols = xp.arange(W)[None, :]
        inside = (((rows >= top[:, None]) & (rows < (top + h)[:, None]))[:, :, None]
                  & ((cols >= left[:, None]) & (cols < (left + w)[:, None]))[:, None, :])
        mask = (inside & erase[:, None, None])[:, None]
        return xp.where(mask, xp.asarray(self.value).astype(images.dtype), images)


# --------------------------------------------------------------------------- resized crop


class RandomResizedCrop(Transform):
    """A random box of each image, scaled back to the whole frame (Szegedy et
    al. 2015, "Going deeper with convolutions"; torchvision's default
    augmentation for ImageNet), one draw per image, bilinear.

    The box covers a fraction of the image's area uniform in ``(area, 1)``
    and has an aspect ratio (width / height) log-uniform in ``ratio``; a
    side longer than the image's is cut to it. Its position is uniform over
    the places where it fits. Output pixel (x, y) reads the input at
    (x0 + (x + 1/2) bw / W - 1/2, y0 + (y + 1/2) bh / H - 1/2), a box in
    edge coordinates ([0, W] x [0, H]), so a box of the whole image is the
    identity; a read within half a pixel of the border takes the border
    pixel (never a fill from outside: the box lies inside the image).
    """

    spatial = True

    def __init__(self, area=0.35, ratio=(3 / 4, 4 / 3)):
        self.area = _number(area, "RandomResizedCrop area")
        if not 0 < self.area <= 1:
            raise ValueError(f"RandomResizedCrop area must lie in (0, 1], got {area!r}")
        self.ratio = _range(ratio, "RandomResizedCrop ratio", 0, math.inf)
        if self.ratio[0] <= 0:
            raise ValueError(f"RandomResizedCrop ratio must be positive, got {ratio!r}")

    def sample(self, n, height, width):
        """(N, 2, 3) inverse maps (output pixel -> input pixel) for ``n`` images."""
        gen = _random.generator()
        area = gen.uniform(self.area, 1.0, size=n) * height * width
        ratio = xp.exp(gen.uniform(math.log(self.ratio[0]), math.log(self.ratio[1]), size=n))
        box_w = xp.minimum(xp.sqrt(area * ratio), width)
        box_h = xp.minimum(xp.sqrt(area / ratio), height)
        x0 = gen.uniform(0.0, 1.0, size=n) * (width - box_w)
        y0 = gen.uniform(0.0, 1.0, size=n) * (height - box_h)
        inverse = xp.zeros((n, 2, 3))
        inverse[:, 0, 0], inverse[:, 1, 1] = box_w / width, box_h / height
        inverse[:, 0, 2] = x0 + 0.5 * box_w / width - 0.5
        inverse[:, 1, 2] = y0 + 0.5 * box_h / height - 0.5
        return inverse

    def __call__(self, images):
        _check_image_dims(images, type(self).__name__, 4)
        sx, sy = self._sources(images)
        return _like_input(sample_bilinear(images, sx, sy), images)

    def pair(self, images, labels):
        _check_image_dims(images, type(self).__name__, 4)
        labels = _check_labels(labels, images, type(self).__name__)
        sx, sy = self._sources(images)
        return _like_input(sample_bilinear(images, sx, sy), images), sample_nearest(labels, sx, sy)

    def _sources(self, images):
        """(sx, sy), each (N, H, W): where each output pixel reads the input."""
        n, _, height, width = images.shape
        inverse = self.sample(n, height, width).astype(_work_dtype(images))
        ys, xs = xp.mgrid[0:height, 0:width].astype(inverse.dtype)
        sx = inverse[:, 0, 0, None, None] * xs + inverse[:, 0, 2, None, None]
        sy = inverse[:, 1, 1, None, None] * ys + inverse[:, 1, 2, None, None]
        return xp.clip(sx, 0, width - 1), xp.clip(sy, 0, height - 1)
