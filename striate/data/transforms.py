"""Image transforms that work on whole batches at once.

Unlike torchvision, whose transforms see one image at a time, these take a
batch array ``(N, C, H, W)`` (the :class:`~striate.data.DataLoader` applies them
after gathering a batch) and are vectorized over it: a random crop is one
gather through a strided window view, a random flip one ``where``. The
geometric ones (``Resize``, ``CenterCrop``) act on the last two axes, so they
also take a single image ``(C, H, W)`` or ``(H, W)``.

Randomness comes from :func:`striate.random.generator`, drawn at call time,
so ``striate.manual_seed`` and ``striate.set_rng_state`` reproduce the
augmentation exactly.

Symbols: N batch, C channels, H x W input size, h x w output size, PH/PW padding.
"""
from .. import random as _random
from ..backend import as_strided, xp

__all__ = ["Transform", "Compose", "ToFloat", "Normalize", "RandomCrop", "RandomHorizontalFlip",
           "CenterCrop", "Resize", "to_float", "normalize", "center_crop", "resize"]


def _pair(value, what):
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int) for v in pair):
        raise TypeError(f"{what} must be an int or a pair of ints, got {value!r}")
    return pair


def _check_image_dims(images, what, min_ndim=2):
    if not hasattr(images, "ndim") or images.ndim < min_ndim:
        shape = getattr(images, "shape", type(images).__name__)
        layout = "a batch (N, C, H, W)" if min_ndim >= 3 else "(..., H, W)"
        raise ValueError(f"{what}: expected images {layout}, got {shape}")


# --------------------------------------------------------------------------- functional forms

def to_float(images, dtype=xp.float32):
    """Integer images scaled to [0, 1] (uint8 divided by 255); float images cast."""
    images = xp.asarray(images)
    if xp.issubdtype(images.dtype, xp.integer):
        scale = 1.0 / xp.iinfo(images.dtype).max
        return images.astype(dtype) * dtype(scale)
    return images.astype(dtype, copy=False)


def normalize(images, mean, std):
    """``(images - mean[c]) / std[c]`` per channel (axis -3), on float images."""
    _check_image_dims(images, "normalize", 3)
    if not xp.issubdtype(images.dtype, xp.floating):
        raise TypeError(f"normalize: expected float images, got {images.dtype}; "
                        "put ToFloat() before Normalize()")
    channels = images.shape[-3]
    mean = xp.asarray(mean, dtype=images.dtype).reshape(-1)
    std = xp.asarray(std, dtype=images.dtype).reshape(-1)
    for name, value in (("mean", mean), ("std", std)):
        if len(value) not in (1, channels):
            raise ValueError(f"normalize: {len(value)} values of {name} for images with {channels} "
                             f"channels (shape {images.shape})")
    if (std == 0).any():
        raise ValueError(f"normalize: std must be non-zero, got {std.tolist()}")
    return (images - mean[:, None, None]) / std[:, None, None]


def center_crop(images, size):
    """The central ``size`` (h, w) window of the last two axes (a view)."""
    _check_image_dims(images, "center_crop")
    h, w = _pair(size, "center_crop size")
    H, W = images.shape[-2:]
    if h > H or w > W:
        raise ValueError(f"center_crop: crop {h}x{w} is larger than the images {images.shape}")
    top, left = (H - h) // 2, (W - w) // 2
    return images[..., top:top + h, left:left + w]


def _linear_taps(in_size, out_size):
    """Source rows i0, i1 and weight of i1 for each output row (half-pixel centers).

    PyTorch's ``interpolate(mode='bilinear', align_corners=False)`` rule:
    source = (dst + 0.5) * in/out - 0.5, clamped at 0.
    """
    src = (xp.arange(out_size) + 0.5) * (in_size / out_size) - 0.5
    src = xp.maximum(src, 0.0)
    i0 = xp.minimum(xp.floor(src).astype(xp.int64), in_size - 1)
    i1 = xp.minimum(i0 + 1, in_size - 1)
    return i0, i1, src - i0


def _area_bounds(in_size, out_size):
    """Adaptive-average-pooling windows: [floor(i*in/out), ceil((i+1)*in/out))."""
    i = xp.arange(out_size)
    return (i * in_size) // out_size, -((-(i + 1) * in_size) // out_size)


def resize(images, size, interpolation="bilinear"):
    """Resize the last two axes to ``size`` (h, w).

    ``interpolation``: ``'nearest'`` and ``'bilinear'`` follow PyTorch's
    ``interpolate`` (``align_corners=False``, no antialiasing); ``'area'``
    averages each output pixel's source window (``adaptive_avg_pool2d``), the
    right choice for shrinking a photo to 28x28, where bilinear would skip most
    pixels. Integer images come back rounded to their dtype.
    """
    _check_image_dims(images, "resize")
    h, w = _pair(size, "resize size")
    if h <= 0 or w <= 0:
        raise ValueError(f"resize: size must be positive, got {(h, w)}")
    images = xp.asarray(images)
    H, W = images.shape[-2:]
    work = images.dtype if xp.issubdtype(images.dtype, xp.floating) else xp.dtype(xp.float32)
    if interpolation == "nearest":
        rows = xp.minimum((xp.arange(h) * (H / h)).astype(xp.int64), H - 1)
        cols = xp.minimum((xp.arange(w) * (W / w)).astype(xp.int64), W - 1)
        return images[..., rows[:, None], cols]
    if interpolation == "bilinear":
        r0, r1, wr = _linear_taps(H, h)
        c0, c1, wc = _linear_taps(W, w)
        x = images.astype(work, copy=False)
        wr, wc = wr.astype(work)[:, None], wc.astype(work)
        x = x[..., r0, :] * (1 - wr) + x[..., r1, :] * wr
        out = x[..., c0] * (1 - wc) + x[..., c1] * wc
    elif interpolation == "area":
        # Window sums from a 2-d prefix sum S (with a zero first row and column):
        # sum(x[y0:y1, x0:x1]) = S[y1, x1] - S[y0, x1] - S[y1, x0] + S[y0, x0].
        r0, r1 = _area_bounds(H, h)
        c0, c1 = _area_bounds(W, w)
        S = xp.zeros(images.shape[:-2] + (H + 1, W + 1), dtype=xp.float64)
        S[..., 1:, 1:] = images.cumsum(axis=-2, dtype=xp.float64).cumsum(axis=-1)
        total = (S[..., r1[:, None], c1] - S[..., r0[:, None], c1]
                 - S[..., r1[:, None], c0] + S[..., r0[:, None], c0])
        out = (total / ((r1 - r0)[:, None] * (c1 - c0))).astype(work)
    else:
        raise ValueError(f"resize: interpolation must be 'nearest', 'bilinear' or 'area', got {interpolation!r}")
    if not xp.issubdtype(images.dtype, xp.floating):
        info = xp.iinfo(images.dtype)
        out = xp.clip(xp.rint(out), info.min, info.max).astype(images.dtype)
    return out


# --------------------------------------------------------------------------- transform objects

#: the label written where a spatial transform brings in pixels from outside
#: the image (padding, rotated-in corners): class 0, the background
LABEL_FILL = 0


def _check_labels(labels, images, what):
    """Label maps (N, H, W) of whole numbers matching ``images`` (N, C, H, W)."""
    labels = xp.asarray(labels)
    if labels.shape != images.shape[:1] + images.shape[2:]:
        raise ValueError(f"{what}: expected label maps (N, H, W) = "
                         f"{images.shape[:1] + images.shape[2:]} for images {images.shape}, "
                         f"got {labels.shape}")
    if not (xp.issubdtype(labels.dtype, xp.integer) or labels.dtype == xp.bool_):
        raise TypeError(f"{what}: label maps must hold integer class indices, got dtype "
                        f"{labels.dtype}")
    return labels


class Transform:
    """A callable on a batch of images; ``repr`` shows its settings.

    ``pair(images, labels)`` transforms images (N, C, H, W) and their label
    maps (N, H, W) together, for dense tasks (segmentation): a transform that
    moves pixels (``spatial``) moves every label with its pixel, by the same
    random draw, reading labels by nearest neighbour (a class index cannot be
    interpolated) and writing :data:`LABEL_FILL` where the image reads its
    fill; any other transform leaves the labels as they are. A spatial
    transform without a rule for labels refuses ``pair``.
    """

    #: whether the transform moves pixels (so that label maps must move too)
    spatial = False

    def __call__(self, images):
        raise NotImplementedError

    def pair(self, images, labels):
        """``(images, labels)`` transformed together (see the class docstring)."""
        if self.spatial:
            raise TypeError(f"{type(self).__name__} moves pixels but has no rule for label "
                            "maps; it cannot augment a segmentation set")
        _check_labels(labels, xp.asarray(images), type(self).__name__)
        return self(images), labels

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class Compose(Transform):
    """Apply ``transforms`` in order."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, images):
        for transform in self.transforms:
            images = transform(images)
        return images

    @property
    def spatial(self):
        return any(t.spatial for t in self.transforms)

    def pair(self, images, labels):
        for transform in self.transforms:
            images, labels = transform.pair(images, labels)
        return images, labels

    def __repr__(self):
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])"


class ToFloat(Transform):
    """uint8 images -> float32 in [0, 1] (torchvision's ``ToTensor`` scaling)."""

    def __init__(self, dtype="float32"):
        self.dtype = dtype

    def __call__(self, images):
        return to_float(images, xp.dtype(self.dtype).type)


class Normalize(Transform):
    """Per-channel ``(x - mean) / std`` on float images (e.g. MNIST: 0.1307, 0.3081)."""

    def __init__(self, mean, std):
        self.mean, self.std = mean, std

    def __call__(self, images):
        return normalize(images, self.mean, self.std)


class CenterCrop(Transform):
    spatial = True

    def __init__(self, size):
        self.size = _pair(size, "CenterCrop size")

    def __call__(self, images):
        return center_crop(images, self.size)

    def pair(self, images, labels):
        labels = _check_labels(labels, xp.asarray(images), "CenterCrop")
        return center_crop(images, self.size), center_crop(labels, self.size)


class Resize(Transform):
    """See :func:`resize`."""

    spatial = True

    def __init__(self, size, interpolation="bilinear"):
        self.size, self.interpolation = _pair(size, "Resize size"), interpolation

    def __call__(self, images):
        return resize(images, self.size, self.interpolation)

    def pair(self, images, labels):
        """Labels take the source pixel under each output pixel's centre, the
        point that bilinear resizing reads the image at (PyTorch's
        'nearest-exact')."""
        labels = _check_labels(labels, xp.asarray(images), "Resize")
        (h, w), (H, W) = self.size, labels.shape[-2:]
        rows = xp.minimum(((xp.arange(h) + 0.5) * (H / h)).astype(xp.int64), H - 1)
        cols = xp.minimum(((xp.arange(w) + 0.5) * (W / w)).astype(xp.int64), W - 1)
        return self(images), labels[:, rows[:, None], cols]


class RandomCrop(Transform):
    """Pad by ``padding`` on each side, then cut a ``size`` window at a random place per image.

    ``padding`` is an int or (PH, PW); ``padding_mode`` is ``'constant'``
    (with ``fill``), ``'edge'`` or ``'reflect'``. The classic CIFAR/MNIST
    augmentation is ``RandomCrop(28, padding=2)``: shifts of up to 2 pixels.

    Vectorized: a window view ``(N, C, H + 2PH - h + 1, W + 2PW - w + 1, h, w)``
    of the padded batch (no copy) is indexed with one (top, left) per image.
    """

    def __init__(self, size, padding=0, fill=0, padding_mode="constant"):
        self.size = _pair(size, "RandomCrop size")
        self.padding = _pair(padding, "RandomCrop padding")
        if padding_mode not in ("constant", "edge", "reflect"):
            raise ValueError(f"RandomCrop: padding_mode must be 'constant', 'edge' or 'reflect', got {padding_mode!r}")
        self.fill, self.padding_mode = fill, padding_mode

    spatial = True

    def __call__(self, images):
        _check_image_dims(images, "RandomCrop", 3)
        images = self._pad(images, self.fill, self.padding_mode)
        return self._crop(images, *self._draw(images))

    def pair(self, images, labels):
        """The same window of each image and its label map; labels are padded
        with :data:`LABEL_FILL` (or by the image's own padding mode)."""
        _check_image_dims(images, "RandomCrop", 4)
        labels = _check_labels(labels, xp.asarray(images), "RandomCrop")
        images = self._pad(images, self.fill, self.padding_mode)
        labels = self._pad(labels[:, None], LABEL_FILL, self.padding_mode)
        corners = self._draw(images)
        return self._crop(images, *corners), self._crop(labels, *corners)[:, 0]

    def _pad(self, images, fill, mode):
        ph, pw = self.padding
        if ph or pw:
            pad = [(0, 0)] * (images.ndim - 2) + [(ph, ph), (pw, pw)]
            extra = {"constant_values": fill} if mode == "constant" else {}
            images = xp.pad(images, pad, mode=mode, **extra)
        return images

    def _draw(self, images):
        """(top, left) per image of the padded batch."""
        h, w = self.size
        H, W = images.shape[-2:]
        if h > H or w > W:
            raise ValueError(f"RandomCrop: crop {h}x{w} is larger than the padded images "
                             f"{images.shape} (padding {self.padding})")
        n = images.shape[0]
        gen = _random.generator()
        top = gen.integers(0, H - h + 1, size=n)
        left = gen.integers(0, W - w + 1, size=n)
        return top, left

    def _crop(self, images, top, left):
        h, w = self.size
        H, W = images.shape[-2:]
        n = images.shape[0]
        *outer, sh, sw = images.strides
        windows = as_strided(images, images.shape[:-2] + (H - h + 1, W - w + 1, h, w),
                             (*outer, sh, sw, sh, sw), writeable=False)
        # Advanced indices on axes 0, -4, -3 (split by the slice of C) put the
        # batch axis first: (N, C, h, w).
        return windows[xp.arange(n), ..., top, left, :, :]


class RandomHorizontalFlip(Transform):
    """Mirror each image left-right with probability ``p``."""

    def __init__(self, p=0.5):
        if not 0 <= p <= 1:
            raise ValueError(f"RandomHorizontalFlip: p must be in [0, 1], got {p}")
        self.p = p

    spatial = True

    def __call__(self, images):
        _check_image_dims(images, "RandomHorizontalFlip", 3)
        return self._flip(images, self._draw(images.shape[0]))

    def pair(self, images, labels):
        _check_image_dims(images, "RandomHorizontalFlip", 4)
        labels = _check_labels(labels, xp.asarray(images), "RandomHorizontalFlip")
        flip = self._draw(images.shape[0])
        return self._flip(images, flip), self._flip(labels, flip)

    def _draw(self, n):
        return _random.generator().random(n) < self.p

    @staticmethod
    def _flip(images, flip):
        flip = flip.reshape((-1,) + (1,) * (images.ndim - 1))
        return xp.where(flip, images[..., ::-1], images)


# The augmentations (affine, elastic, colour, erasing) and the batch mixes
# live in their own modules; they are transforms too, so they are importable
# from here. Imported last: they build on Transform above.
from .augment import (ColorJitter, ElasticTransform, RandomAffine, RandomDistortion,  # noqa: E402
                      RandomErasing, RandomRotation)
from .mixing import CutMix, Mixup  # noqa: E402

__all__ += ["RandomAffine", "RandomRotation", "ElasticTransform", "RandomDistortion",
            "ColorJitter", "RandomErasing", "Mixup", "CutMix"]
