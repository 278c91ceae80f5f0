"""Data-pipeline cost of augmentation against one LeNet-5 training step.

    python benchmarks/augment.py [--batch-size 64] [--repeats 5] [--batches 20] [--threads 1]

For each augmentation spec below, times what the DataLoader does per batch
(gather the images, ToFloat, the spec's transforms, Normalize, Mixup/CutMix
when asked, conversion to tensors) and, on the same batches, one LeNet-5
training step (forward, cross-entropy, zero_grad, backward, SGD step), and
prints the pipeline's time as a fraction of the step's. The two are timed
alternately in the same process, best of ``--repeats`` runs of ``--batches``
batches, so a busy machine slows both alike; ``uptime`` is printed before and
after, because this machine is shared.

Images: Fashion-MNIST's training set when it is installed, else the embedded digits.
BLAS runs with ``--threads`` threads (default 1: on a machine shared with
other jobs, two BLAS threads per process spin against each other and every
small matrix product slows several-fold).
"""
import argparse
import os
import subprocess
import sys
import time


def _parse():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-size", type=int, default=64, help="images per batch (default 64)")
    parser.add_argument("--batches", type=int, default=20, help="batches per timed run (default 20)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs, best kept (default 5)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    return parser.parse_args()


ARGS = _parse() if __name__ == "__main__" else None
if ARGS is not None:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from threads import pin_threads
    pin_threads(ARGS.threads)  # before NumPy loads: BLAS reads the count then

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import striate  # noqa: E402
from striate.runs.config import build_transforms, channel_stats, mixing_loader  # noqa: E402
from striate.data import DataLoader  # noqa: E402
from striate.functional import cross_entropy  # noqa: E402

#: The recipes' specs (docs/recipes.md) and a heavy mix of everything for grayscale.
SPECS = {
    "none": None,
    "recipe lenet5 fashion-mnist": "flip",
    "recipe fashion-mnist record": "flip,shift=2",
    "recipe digits": "rotate=10,translate=0.08,scale=0.1,shear=10,elastic",
    "affine+elastic+erase+mixup": "flip,rotate=15,translate=0.1,scale=0.1,shear=10,elastic,"
                                  "erase,mixup",
}


def _uptime():
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "uptime unavailable"


def _dataset():
    from striate.data.datasets import DatasetNotFoundError, load_dataset

    try:
        return load_dataset("fashion-mnist", "train"), "fashion-mnist"
    except DatasetNotFoundError:
        return load_dataset("digits", "train"), "digits (fashion-mnist not installed)"


def main(args):

    print(f"before: {_uptime()}")
    dataset, name = _dataset()
    images = dataset.gather(striate.backend.xp.arange(len(dataset)))[0]
    mean, std = channel_stats(images)
    normalization = {"mean": mean, "std": std}
    size = tuple(images.shape[-2:])
    striate.manual_seed(0)
    model = striate.models.create("lenet5", num_classes=10, in_channels=int(images.shape[1]))
    optimizer = striate.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    print(f"{name}, batch {args.batch_size}, best of {args.repeats} x {args.batches} batches, "
          f"{args.threads} BLAS thread(s)")
    print(f"{'augmentation':<30} {'pipeline ms':>11} {'step ms':>8} {'ratio':>7}   spec")
    for label, spec in SPECS.items():
        loader = mixing_loader(
            DataLoader(dataset, batch_size=args.batch_size, shuffle=True,
                       transform=build_transforms(normalization, spec, size, size,
                                                  int(images.shape[1]))),
            spec, 10)
        pipeline, step = [], []
        for _ in range(args.repeats):
            batches = iter(loader)
            t_data = t_step = 0.0
            for _ in range(args.batches):
                start = time.perf_counter()
                x, y = next(batches)
                t_data += time.perf_counter() - start
                start = time.perf_counter()
                loss = cross_entropy(model(x), y)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                t_step += time.perf_counter() - start
            pipeline.append(t_data / args.batches)
            step.append(t_step / args.batches)
        p, s = min(pipeline), min(step)
        print(f"{label:<30} {1e3 * p:11.2f} {1e3 * s:8.2f} {100 * p / s:6.1f}%   {spec or '-'}")
    print(f"after:  {_uptime()}")


if __name__ == "__main__":
    main(ARGS)
