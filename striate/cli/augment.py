"""``striate augment [IMAGE] --transforms SPEC``: a grid of augmented copies
of one image, to see what each transform does; and the ``--augment [SPEC]``
option that ``striate train`` shares (see :mod:`striate.data.augment_spec`)."""
import argparse

from .common import (UsageError, add_overwrite_option, non_negative_int, output_path,
                     positive_int)

DEFAULT_SPEC = "rotate=15,shear=15,elastic"
MAX_SIDE = 128  # larger images are shrunk to this side for the grid
MAX_COPIES = 256   # tiles in one grid: 16x16


def augment_spec(text):
    """argparse type: a checked augmentation spec (its canonical string)."""
    from ..data.augment_spec import AugmentSpecError, format_augment_spec, parse_augment_spec

    try:
        return format_augment_spec(parse_augment_spec(text))
    except AugmentSpecError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_augment_options(parser, default_help):
    """``--augment [SPEC]`` and ``--no-augment`` (dest ``augment``: True, a spec, False, None)."""
    from ..data.augment_spec import AUGMENT_OPTIONS

    names = ", ".join(AUGMENT_OPTIONS)
    parser.add_argument("--augment", nargs="?", const=True, type=augment_spec, metavar="SPEC",
                        help=f"data augmentation: alone, the dataset's preset ({default_help}); "
                             f"with SPEC, e.g. 'rotate=15,shear=10,elastic', those transforms "
                             f"(names: {names}; see `striate augment --help`) (default on)")
    parser.add_argument("--no-augment", dest="augment", action="store_false",
                        help="no data augmentation")


def register(subparsers):
    from ..data.augment_spec import AUGMENT_OPTIONS

    lines = "\n".join(f"  {name:<11} default {o.default:<5g} {o.help}; range "
                      f"{'(' if o.kind == 'open' else '['}{o.low:g}, {o.high:g}]"
                      for name, o in AUGMENT_OPTIONS.items())
    p = subparsers.add_parser(
        "augment", help="show a grid of augmented copies of an image",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Apply random augmentations to one image (a digit from the embedded set "
                    "when no IMAGE is given) and write a grid of the copies, the original "
                    "first, to see what each transform does.\n\nSPEC items (NAME or "
                    f"NAME=VALUE, separated by commas):\n{lines}")
    p.add_argument("image", nargs="?", metavar="IMAGE",
                   help="an image file (PNG, JPEG, ...); default: an embedded MNIST digit")
    p.add_argument("--transforms", type=augment_spec, default=augment_spec(DEFAULT_SPEC),
                   metavar="SPEC", help=f"the augmentation spec (default {DEFAULT_SPEC!r})")
    p.add_argument("--n", type=positive_int, default=16, metavar="N",
                   help=f"number of augmented copies, at most {MAX_COPIES} (default 16)")
    p.add_argument("--seed", type=non_negative_int, default=0, metavar="S",
                   help="random seed, an integer >= 0 (default 0)")
    p.add_argument("--digit", type=int, choices=range(10), default=2, metavar="D",
                   help="which digit (0-9) to take from the embedded set without IMAGE "
                        "(default 2)")
    p.add_argument("--out", type=output_path, default="augment.png", metavar="PNG",
                   help="where to write the grid (default augment.png)")
    add_overwrite_option(p, "PNG")
    p.set_defaults(handler=run)


def _source_image(args):
    """(image (1, C, H, W) float32 in [0, 1], description)."""
    from ..backend import xp

    if args.image is None:
        from ..data import embedded_digits

        data = embedded_digits("test")
        index = int(xp.flatnonzero(data.labels == args.digit)[0])
        image = data.images[index:index + 1].astype(xp.float32) / 255
        return image, f"embedded digit {args.digit} (test image {index})"
    from ..data.images import load_image, prepare_image

    picture = load_image(args.image)
    channels = 1 if picture.mode in ("1", "L", "LA", "I", "I;16", "F") else 3
    scale = min(1.0, MAX_SIDE / max(picture.size))
    shape = (channels, max(1, round(picture.height * scale)), max(1, round(picture.width * scale)))
    return prepare_image(picture, shape, invert=False)[None], args.image


def run(args):
    from ..backend import xp
    from ..data.augment_spec import augmented_copies, build_mix
    from ..random import manual_seed
    from ..runs.checks import require
    from ..runs.outputs import OutputPlan

    require("augment", "matplotlib")
    if build_mix(args.transforms, 2) is not None:
        raise UsageError("mixup and cutmix mix pairs of images from a batch; they have no "
                         "effect on one image, so `striate augment` does not show them")
    if args.n > MAX_COPIES:
        raise UsageError(f"--n {args.n}: the grid shows at most {MAX_COPIES} copies "
                         f"({int(MAX_COPIES ** 0.5)}x{int(MAX_COPIES ** 0.5)} tiles, already small "
                         "to look at); for more copies, call "
                         "striate.data.augment_spec.augmented_copies in Python")
    OutputPlan(args.overwrite).reads(args.image, "IMAGE").writes(args.out, "--out").check()
    image, what = _source_image(args)
    manual_seed(args.seed)
    copies = augmented_copies(args.transforms, image, args.n)
    _write_grid(xp.concatenate([image, copies]), args.out,
                title=f"{what}: {args.transforms} (seed {args.seed})")
    print(f"wrote {args.out}: the original and {args.n} augmented copies ({args.transforms})")
    return 0


def _write_grid(images, path, title):
    """Tiles of (N, C, H, W) images in [0, 1], the first labelled 'original'."""
    import math

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..io.atomic import atomic_path

    n = len(images)
    cols = min(n, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / cols)
    figure, axes = plt.subplots(rows, cols, figsize=(1.3 * cols, 1.3 * rows + 0.5),
                                squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k >= n:
            continue
        tile = images[k].transpose(1, 2, 0).clip(0, 1)
        ax.imshow(tile[..., 0] if tile.shape[2] == 1 else tile, cmap="gray", vmin=0, vmax=1)
        ax.set_title("original" if k == 0 else f"#{k}", fontsize=7)
    figure.suptitle(title, fontsize=8)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=100)
    plt.close(figure)
