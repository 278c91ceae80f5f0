"""``striate samples``: the sample pictures the README's commands use."""
from .common import UsageError, add_overwrite_option, output_path


def register(subparsers):
    from ..data.samples import SAMPLES

    parser = subparsers.add_parser(
        "samples", help="write sample pictures to try the commands on (a digit, a scene, a photo)",
        description="Write " + ", ".join(f"{name} ({what})" for name, what in SAMPLES.items())
                    + " into DIR, from data that ships with striate.")
    parser.add_argument("out", nargs="?", default=".", type=output_path, metavar="DIR",
                        help="the folder to write them into (default: the current folder)")
    add_overwrite_option(parser, "sample files already in DIR")
    parser.set_defaults(handler=run)


def run(args):
    import os

    from ..data.samples import SAMPLES, write_samples
    from ..runs.outputs import OutputPlan
    from ..runs.checks import require

    require("samples", "PIL")
    files = [name for name in SAMPLES if "." in name]
    OutputPlan(args.overwrite).writes_dir(args.out, "DIR", files).check()
    for name in set(SAMPLES) - set(files):  # a folder of pictures: replaced only when asked
        folder = os.path.join(args.out, name)
        if os.path.lexists(folder) and not args.overwrite:
            raise UsageError(f"DIR {folder} exists; pass --overwrite to write its pictures again")
    for path, what in zip(write_samples(args.out), SAMPLES.values()):
        print(f"{os.path.normpath(path)}: {what}")
    return 0
