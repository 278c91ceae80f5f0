"""``striate kernels``: the classic image kernels of the notes applied to a
photograph, in one labelled grid."""
from .common import UsageError, add_overwrite_option, output_path, positive_int


def _padding(text):
    import argparse

    if text in ("same", "valid"):
        return text
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 'same', 'valid' or an integer >= 0, got {text!r}")
    return value


def register(subparsers):
    from ..kernels import KERNELS

    parser = subparsers.add_parser(
        "kernels", help="apply the classic image kernels (blur, sharpen, Sobel, ...) to a photo",
        description="Filter a photograph with the image kernels of the lecture notes and write "
                    "one grid: the original and each filtered image, with the kernel's entries "
                    "and the output size (W - F + 2P)/S + 1 under each. With no IMAGE, a "
                    "photograph shipped with striate (CC0) is used. Try them live at "
                    "http://setosa.io/ev/image-kernels/.")
    parser.add_argument("image", nargs="?", metavar="IMAGE",
                        help="a PNG/JPEG file (default: the shipped 256x256 'camera' photo)")
    parser.add_argument("--kernel", action="append", choices=list(KERNELS), metavar="NAME",
                        help=f"a named kernel, repeatable (default: all of {', '.join(KERNELS)})")
    parser.add_argument("--matrix", action="append", metavar="ROWS",
                        help="your own square kernel, rows separated by ';' and entries by ',', "
                             "e.g. \"0,-1,0;-1,5,-1;0,-1,0\" or \"1/9,1/9,1/9;...\" (repeatable)")
    parser.add_argument("--mode", choices=("correlate", "convolve"), default="correlate",
                        help="correlate: slide the kernel as printed (what CNN layers do); "
                             "convolve: flip it first, the notes' S(i,j) = sum I(i-m,j-n) K(m,n) "
                             "(default correlate)")
    parser.add_argument("--stride", type=positive_int, default=1, metavar="S",
                        help="step between kernel positions (default 1)")
    parser.add_argument("--padding", type=_padding, default="same", metavar="P",
                        help="zeros added on each side: an integer, 'valid' (0) or 'same' "
                             "(keeps the size at stride 1; default)")
    parser.add_argument("--out", type=output_path, default="kernels.png", metavar="FILE.png",
                        help="where to write the grid (default kernels.png)")
    add_overwrite_option(parser, "FILE.png")
    parser.set_defaults(handler=run)


def _caption(image_shape, kernel_shape, padding, stride):
    """The notes' formula with this panel's numbers, per axis if they differ."""
    from ..kernels import output_shape

    def axis(size, f):
        p = (f - 1) // 2 if padding == "same" else (0 if padding == "valid" else padding)
        if padding == "same" and f % 2 == 0:  # uneven split: write the total as 2P
            top = f"{size} - {f} + {f - 1}"
        else:
            top = f"{size} - {f} + 2*{p}"
        # A stride that does not divide the span drops the last partial step: the floor.
        return f"({top})/{stride} + 1" if stride == 1 else f"floor(({top})/{stride}) + 1"

    out = output_shape(image_shape, kernel_shape, padding, stride)
    parts = [f"{axis(s, f)} = {o}" for s, f, o in zip(image_shape[:2], kernel_shape, out)]
    return parts[0] if len(set(parts)) == 1 else "H: " + parts[0] + "\nW: " + parts[1]


def run(args):
    from .. import kernels
    from ..explain.plots import kernel_grid, save_figure
    from ..runs.outputs import OutputPlan

    OutputPlan(args.overwrite).reads(args.image, "IMAGE").writes(args.out, "--out").check()

    chosen = [(name, kernels.KERNELS[name]) for name in (args.kernel or [])]
    for index, text in enumerate(args.matrix or [], start=1):
        try:
            chosen.append((f"matrix {index}", kernels.parse_matrix(text)))
        except ValueError as error:
            raise UsageError(f"--matrix {text!r}: {error}") from None
    if not chosen:
        chosen = list(kernels.KERNELS.items())
    if args.image:
        from ..data.images import load_image

        image = kernels.image_array(load_image(args.image))
        source = args.image
    else:
        image = kernels.sample_image()
        source = "camera.png (shipped, CC0)"
    panels = []
    for name, kernel in chosen:
        try:
            output = kernels.apply(image, kernel, mode=args.mode, padding=args.padding,
                                   stride=args.stride)
        except ValueError as error:
            raise UsageError(f"{name}: {error}") from None
        panels.append((name, kernel, output, _caption(image.shape, kernel.shape, args.padding,
                                                      args.stride)))
    figure = kernel_grid(image, panels, f"{source}: {args.mode}, stride {args.stride}, "
                                        f"padding {args.padding}")
    save_figure(figure, args.out)
    height, width = image.shape[:2]
    print(f"{len(panels)} kernels applied to {source} ({height}x{width}): {args.out}")
    return 0

