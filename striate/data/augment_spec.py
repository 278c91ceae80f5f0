"""Augmentation specs: a short string such as ``"rotate=15,shear=10,elastic"``
turned into batch transforms (what ``striate train --augment SPEC`` and
``striate augment --transforms SPEC`` take).

Syntax: items ``NAME`` or ``NAME=VALUE`` separated by commas; a bare NAME
takes its default value; each name at most once. The names, their values,
defaults and ranges are in :data:`AUGMENT_OPTIONS` (and in every error
message). The transforms run in a fixed order whatever the order of the
items: flip, random-resized crop, shift, the affine warp (rotate, translate, scale, shear),
elastic, colour (brightness, contrast, saturation, hue), then normalisation,
then erasing; mixup and cutmix mix whole batches after that.
"""
from collections import namedtuple

__all__ = ["AUGMENT_OPTIONS", "SPEC_SYNTAX", "AugmentSpecError", "parse_augment_spec",
           "augmented_copies", "format_augment_spec", "AugmentPlan", "build_augmentation",
           "build_mix", "check_dense_spec"]

Option = namedtuple("Option", "default low high kind help")

#: name -> (default, low, high, kind, help); values must lie in [low, high]
#: ("open" kinds exclude low).
AUGMENT_OPTIONS = {
    "shift": Option(2, 0, 16, "int", "random shift of up to N pixels (pad, then crop)"),
    "flip": Option(0.5, 0, 1, "float", "horizontal mirror with probability P"),
    "crop": Option(0.35, 0, 1, "open", "random-resized crop: a box of F to all of the area "
                                       "(aspect 3/4 to 4/3), scaled back to the frame"),
    "rotate": Option(15.0, 0, 180, "float", "rotation by up to D degrees"),
    "translate": Option(0.1, 0, 0.5, "float", "translation by up to F of the width and height"),
    "scale": Option(0.1, 0, 0.9, "float", "zoom by a factor in [1-F, 1+F]"),
    "shear": Option(10.0, 0, 60, "float", "shear by up to D degrees, horizontally and vertically"),
    "elastic": Option(34.0, 0, 200, "float", "elastic distortion of strength ALPHA pixels "
                                             "(Simard et al. 2003)"),
    "sigma": Option(4.0, 0, 20, "open", "smoothness of the elastic field, in pixels (> 0)"),
    "brightness": Option(0.2, 0, 1, "float", "brightness factor in [1-F, 1+F]"),
    "contrast": Option(0.2, 0, 1, "float", "contrast factor in [1-F, 1+F]"),
    "saturation": Option(0.2, 0, 1, "float", "saturation factor in [1-F, 1+F] (RGB only)"),
    "hue": Option(0.05, 0, 0.5, "float", "hue shift by up to F of a turn (RGB only)"),
    "erase": Option(0.5, 0, 1, "float", "erase a random rectangle with probability P (cutout)"),
    "mixup": Option(0.2, 0, 10, "open", "mixup of image pairs, Beta(ALPHA, ALPHA) weights"),
    "cutmix": Option(1.0, 0, 10, "open", "cutmix of image pairs, Beta(ALPHA, ALPHA) areas"),
}

SPEC_SYNTAX = ("NAME or NAME=VALUE items separated by commas, e.g. "
               "'rotate=15,shear=10,elastic'")


class AugmentSpecError(ValueError):
    """A malformed augmentation spec, an unknown name or an out-of-range value."""


def _names():
    return ", ".join(AUGMENT_OPTIONS)


def _fail(spec, problem):
    raise AugmentSpecError(f"augmentation spec {spec!r}: {problem}. Syntax: {SPEC_SYNTAX}; "
                           f"names: {_names()}")


def parse_augment_spec(spec):
    """``"rotate=15,elastic"`` -> ``{"rotate": 15.0, "elastic": 34.0}`` (checked)."""
    if not isinstance(spec, str):
        raise AugmentSpecError(f"augmentation spec must be a string, got {type(spec).__name__}")
    items = [item.strip() for item in spec.split(",")]
    if not spec.strip() or any(not item for item in items):
        _fail(spec, "empty item")
    values = {}
    for item in items:
        name, eq, text = (part.strip() for part in item.partition("="))
        if name not in AUGMENT_OPTIONS:
            _fail(spec, f"unknown name {name!r}")
        if name in values:
            _fail(spec, f"{name!r} given twice")
        option = AUGMENT_OPTIONS[name]
        if not eq:
            values[name] = option.default
            continue
        try:
            value = int(text) if option.kind == "int" else float(text)
        except ValueError:
            kind = "an integer" if option.kind == "int" else "a number"
            _fail(spec, f"{name}={text!r} is not {kind}")
        too_low = value <= option.low if option.kind == "open" else value < option.low
        if too_low or value > option.high or value != value:
            bound = f"({option.low}, {option.high}]" if option.kind == "open" \
                else f"[{option.low}, {option.high}]"
            _fail(spec, f"{name}={text} is out of range: {name} ({option.help}) must lie in {bound}")
        values[name] = value
    if "sigma" in values and "elastic" not in values:
        _fail(spec, "sigma sets the smoothness of the elastic field; add 'elastic'")
    return values


def format_augment_spec(values):
    """The canonical spec string of parsed ``values`` (in the order of :data:`AUGMENT_OPTIONS`)."""
    return ",".join(f"{name}={values[name]:g}" for name in AUGMENT_OPTIONS if name in values)


class AugmentPlan:
    """The image transforms of a spec, in pipeline order: ``before_normalize``
    (on float images in [0, 1]) and ``after_normalize``."""

    def __init__(self, values, before_normalize, after_normalize):
        self.values = values
        self.before_normalize, self.after_normalize = before_normalize, after_normalize


#: what mixes whole images with their class labels: meaningless for label maps
MIXES = ("mixup", "cutmix")


def check_dense_spec(spec):
    """Refuse the items of ``spec`` that cannot apply to a dense task (per-pixel
    label maps): the batch mixes, which blend class labels."""
    values = parse_augment_spec(spec)
    mixes = [name for name in MIXES if name in values]
    if mixes:
        _fail(spec, f"{' and '.join(mixes)} mix{'es' if len(mixes) == 1 else ''} the class "
                    "labels of whole images, but a segmentation set's targets are label maps; "
                    "use the spatial and colour items (flip, shift, rotate, translate, scale, "
                    "shear, elastic, brightness, contrast, erase), which move the label maps "
                    "with the images")
    return values


def build_mix(spec, num_classes, dense=False):
    """The batch mix of ``spec`` (Mixup, CutMix, or a per-batch choice of the
    two when both are named) for ``num_classes`` classes; None without either.
    ``dense``: the targets are label maps, which no mix applies to."""
    from .mixing import CutMix, MixChoice, Mixup

    values = check_dense_spec(spec) if dense else parse_augment_spec(spec)
    mixes = []
    if "mixup" in values:
        mixes.append(Mixup(values["mixup"], num_classes))
    if "cutmix" in values:
        mixes.append(CutMix(values["cutmix"], num_classes))
    return MixChoice(mixes) if mixes else None


def build_augmentation(spec, channels, size, dense=False):
    """The :class:`AugmentPlan` of ``spec`` for images of ``channels`` channels
    and ``size`` (h, w); a spec that cannot apply (saturation or hue on
    grayscale, a shift as large as the image, a batch mix for a ``dense``
    task) raises :class:`AugmentSpecError`. Every transform of the plan has
    ``pair``: for a dense task, apply the plan with ``pair(images, label_maps)``
    (``DataLoader(..., transform_targets=True)``) so that the label maps move
    with the images."""
    from . import augment as A
    from . import transforms as T

    values = check_dense_spec(spec) if dense else parse_augment_spec(spec)
    v = values.get
    rgb_only = [name for name in ("saturation", "hue") if name in values]
    if rgb_only and channels != 3:
        verb = "need" if len(rgb_only) > 1 else "needs"
        _fail(spec, f"{' and '.join(rgb_only)} {verb} RGB images, but these have {channels} "
                    "channel(s); brightness and contrast apply to grayscale")
    before = []
    if "flip" in values:
        before.append(T.RandomHorizontalFlip(p=v("flip")))
    if "crop" in values:
        before.append(A.RandomResizedCrop(area=v("crop")))
    if v("shift"):
        if 2 * v("shift") >= min(size):
            _fail(spec, f"shift={v('shift')} is too large for {size[0]}x{size[1]} images")
        before.append(T.RandomCrop(tuple(size), padding=v("shift")))
    warps = []
    if any(name in values for name in ("rotate", "translate", "scale", "shear")):
        warps.append(A.RandomAffine(
            degrees=v("rotate", 0.0),
            translate=(v("translate"),) * 2 if "translate" in values else None,
            scale=(1 - v("scale"), 1 + v("scale")) if "scale" in values else None,
            shear=(-v("shear"), v("shear"), -v("shear"), v("shear")) if "shear" in values else None))
    if "elastic" in values:
        warps.append(A.ElasticTransform(alpha=v("elastic"), sigma=v("sigma", 4.0)))
    if warps:  # affine and elastic together: one resampling
        before.append(A.RandomDistortion(*warps) if len(warps) == 2 else warps[0])
    colour = {name: v(name, 0.0) for name in ("brightness", "contrast", "saturation", "hue")}
    if any(colour.values()):
        before.append(A.ColorJitter(**colour))
    after = [A.RandomErasing(p=v("erase"))] if "erase" in values else []
    return AugmentPlan(values, before, after)


def augmented_copies(spec, image, n):
    """``n`` random copies (n, C, H, W) of one image (1, C, H, W) in [0, 1]
    under ``spec``, erasing included (it fills with 0, black in [0, 1]).
    Batch mixing (mixup, cutmix) needs pairs, so ``spec`` may not ask for it."""
    from ..backend import xp
    from .transforms import Compose

    if build_mix(spec, 2) is not None:
        raise AugmentSpecError(f"augmentation spec {spec!r}: mixup and cutmix mix pairs of "
                               "images from a batch; they have no effect on one image")
    plan = build_augmentation(spec, image.shape[1], image.shape[-2:])
    return Compose(plan.before_normalize + plan.after_normalize)(xp.repeat(image, n, axis=0))
