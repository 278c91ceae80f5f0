"""``digit-scenes``: a segmentation dataset made from the embedded real digits.

Each scene is a dark ``size`` x ``size`` canvas (48 x 48 by default) holding one to ``max_digits``
handwritten digits at random positions and scales, with a label map of the
same size: 0 for background, ``1 + d`` for a pixel of digit ``d``'s own ink::

    images (N, 1, S, S) uint8      masks (N, S, S) uint8 in 0..10

How a scene is drawn (all from one ``numpy.random.default_rng((seed, split))``,
so a (split, size, count, seed) always gives the same scenes):

1. the number of digits, uniform in 1..``max_digits``;
2. for each digit: a source image drawn from the embedded digits of the
   *same split* (training scenes only use the 4,000 training digits, test
   scenes only the 1,000 held-out ones, so no test digit is ever seen in
   training), a side of ``scale * 28`` pixels with ``scale`` uniform in
   ``scales``, and a place where its ink box does not overlap the ink boxes
   placed before (up to ``PLACEMENT_TRIES`` tries; after that it may overlap);
3. the digit is resized (bilinear) and laid on the canvas with a per-pixel
   maximum, as ink on ink would look;
4. the label of a pixel is the digit whose resized intensity there is
   highest, if that intensity reaches ``INK_LEVEL`` of full white;
   fainter pixels (the anti-aliased fringe) are background.

Symbols: N scenes, S canvas side, K = 11 classes (background + 10 digits).
"""
from ..backend import xp
from .dataset import LabelledDataset
from .embedded import DIGIT_CLASSES, embedded_digits
from .transforms import resize

__all__ = ["SegmentationDataset", "digit_scenes", "SCENE_CLASSES", "INK_LEVEL"]

SCENE_CLASSES = ["background"] + DIGIT_CLASSES
INK_LEVEL = 0.5        # fraction of full white from which a pixel is a digit's ink
PLACEMENT_TRIES = 20   # attempts at a non-overlapping place before accepting an overlap
SPLIT_STREAM = {"train": 0, "test": 1}
DEFAULT_SCENES = {"train": 2000, "test": 500}

_cache = {}


class SegmentationDataset(LabelledDataset):
    """Images (N, C, H, W) with a label map (N, H, W) each.

    ``classes`` names each label value (``classes[0]`` is the background);
    ``dataset[i]`` is ``(image, mask)``. The loader turns masks into int64
    tensors, the targets of a per-pixel cross-entropy.
    """

    task = "segmentation"

    def __init__(self, images, masks, classes, name="", split="", source=""):
        images, masks = xp.asarray(images), xp.asarray(masks)
        if images.ndim != 4 or masks.shape != images.shape[:1] + images.shape[2:]:
            raise ValueError(f"SegmentationDataset: expected images (N, C, H, W) and masks "
                             f"(N, H, W), got {images.shape} and {masks.shape}")
        super().__init__(images, masks, classes, name, split, source)

    @property
    def images(self):
        return self.arrays[0]

    @property
    def masks(self):
        return self.arrays[1]


def _ink_box(digit):
    """Rows and columns (top, bottom, left, right) of a resized digit's ink."""
    rows = xp.flatnonzero((digit >= INK_LEVEL).any(axis=1))
    cols = xp.flatnonzero((digit >= INK_LEVEL).any(axis=0))
    if not len(rows):
        return 0, digit.shape[0], 0, digit.shape[1]
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _overlaps(box, boxes):
    top, bottom, left, right = box
    return any(top < b and t < bottom and left < r and l < right for t, b, l, r in boxes)


def _draw_scene(rng, digits, labels, size, max_digits, scales):
    """One canvas (S, S) float in [0, 1] and its label map (S, S)."""
    canvas = xp.zeros((size, size), dtype=xp.float32)
    strongest = xp.zeros((size, size), dtype=xp.float32)  # brightest ink laid on each pixel
    mask = xp.zeros((size, size), dtype=xp.uint8)
    boxes = []
    for _ in range(int(rng.integers(1, max_digits + 1))):
        index = int(rng.integers(len(labels)))
        side = min(size, int(round(28 * rng.uniform(*scales))))
        digit = xp.clip(resize(digits[index], (side, side)), 0.0, 1.0)
        top_in, bottom_in, left_in, right_in = _ink_box(digit)
        for _ in range(PLACEMENT_TRIES):
            top = int(rng.integers(-top_in, size - bottom_in + 1))
            left = int(rng.integers(-left_in, size - right_in + 1))
            box = (top + top_in, top + bottom_in, left + left_in, left + right_in)
            if not _overlaps(box, boxes):
                break
        boxes.append(box)
        # The digit's frame may reach past the canvas where it holds no ink: clip it.
        r0, c0 = max(top, 0), max(left, 0)
        r1, c1 = min(top + side, size), min(left + side, size)
        piece = digit[r0 - top:r1 - top, c0 - left:c1 - left]
        region = (slice(r0, r1), slice(c0, c1))
        wins = (piece >= INK_LEVEL) & (piece > strongest[region])
        mask[region] = xp.where(wins, 1 + labels[index], mask[region])
        strongest[region] = xp.maximum(strongest[region], piece)
        canvas[region] = xp.maximum(canvas[region], piece)
    return canvas, mask


def digit_scenes(split="train", num_scenes=None, size=48, max_digits=3, scales=(0.7, 1.1),
                 seed=0):
    """The ``digit-scenes`` split: a :class:`SegmentationDataset` of uint8
    images (N, 1, size, size) and masks (N, size, size), classes
    ``["background", "0", ..., "9"]``.

    ``num_scenes`` defaults to 2,000 for 'train' and 500 for 'test'; ``size``
    is the canvas side (the padded U-Net needs a multiple of 16);
    ``max_digits`` the most digits per scene; ``scales`` the range of digit
    sizes relative to the 28-pixel originals. See the module docstring for
    how scenes are drawn. Results are cached per process.
    """
    if split not in SPLIT_STREAM:
        raise ValueError(f"digit-scenes: split must be 'train' or 'test', got {split!r}")
    num_scenes = DEFAULT_SCENES[split] if num_scenes is None else int(num_scenes)
    low, high = scales
    if num_scenes < 1 or max_digits < 1 or not 0 < low <= high or round(28 * low) > size:
        raise ValueError(f"digit-scenes: need num_scenes >= 1, max_digits >= 1 and "
                         f"0 < scales[0] <= scales[1] with 28 * scales[0] <= size; got "
                         f"num_scenes={num_scenes}, max_digits={max_digits}, scales={scales}, "
                         f"size={size}")
    key = (split, num_scenes, size, max_digits, (low, high), seed)
    if key not in _cache:
        source = embedded_digits(split)
        digits = source.images[:, 0].astype(xp.float32) / 255.0
        rng = xp.random.default_rng((int(seed), SPLIT_STREAM[split]))
        images = xp.zeros((num_scenes, 1, size, size), dtype=xp.uint8)
        masks = xp.zeros((num_scenes, size, size), dtype=xp.uint8)
        for n in range(num_scenes):
            canvas, masks[n] = _draw_scene(rng, digits, source.labels, size, max_digits,
                                           (low, high))
            images[n, 0] = xp.rint(canvas * 255).astype(xp.uint8)
        _cache[key] = images, masks
    images, masks = _cache[key]
    return SegmentationDataset(images.copy(), masks.copy(), SCENE_CLASSES, name="digit-scenes",
                               split=split, source="generated from the embedded digits")
