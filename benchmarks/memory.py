"""Peak working memory of training steps, striate against PyTorch.

    python benchmarks/memory.py [--models lenet5,resnet18] [--steps 3] [--threads 2]

For each model and library a fresh Python process imports the library,
builds the model (``benchmarks/train.py``'s: LeNet-5 at batch 128, the small
ResNet-18 at batch 64, 28x28 input) and its batch, and reads its resident set
size (the *baseline*). It then runs ``--steps`` training steps (forward,
cross-entropy, backward, SGD step) and reads the process's peak resident set
size (``getrusage``'s ``ru_maxrss``). The difference is the step's peak
working memory: activations, saved tensors, gradients, scratch buffers and
whatever each library keeps cached between steps (striate's im2col
workspace, PyTorch's allocator).

striate is measured on both of its routes: NumPy, and the fast route
(``striate[fast]``: convolutions on oneDNN) when it is installed. oneDNN is
loaded before the baseline is read, as PyTorch's libraries are, so that its
code is not counted as working memory.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def _parse():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="lenet5,resnet18")
    parser.add_argument("--steps", type=int, default=3, help="training steps measured (default 3)")
    parser.add_argument("--threads", type=int, default=2, help="threads for both libraries (default 2)")
    parser.add_argument("--child", nargs=2, metavar=("LIBRARY", "MODEL"), help=argparse.SUPPRESS)
    return parser.parse_args()


def resident_mib():
    """Current resident set size of this process in MiB (Linux /proc)."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mib():
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child(library, name, steps, threads):
    """Runs in the fresh process: prints {"baseline": MiB, "peak": MiB}."""
    from threads import pin_threads

    pin_threads(threads)
    import numpy as np

    sys.path.insert(0, os.path.join(HERE, ".."))
    import train as bench  # benchmarks/train.py: the same models and batches

    rng = np.random.default_rng(0)
    batch = bench.BATCH[name]
    x = rng.standard_normal((batch, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, batch).astype(np.int64)
    if library in ("striate", "striate-fast"):
        from striate import accel

        fast = library == "striate-fast"
        if fast:
            accel.available()  # load the library now: its code is not working memory
        step, _, _ = bench.striate_steps(name, "sgd", fast=fast)
    else:
        import torch

        torch.set_num_threads(threads)
        step, _, _ = bench.torch_steps(torch, name, "sgd")
    baseline = resident_mib()
    for _ in range(steps):
        step(x, y)
    print(json.dumps({"baseline": baseline, "peak": peak_mib()}))


def measure(library, name, steps, threads):
    result = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", library, name,
                             "--steps", str(steps), "--threads", str(threads)],
                            capture_output=True, text=True, cwd=HERE, check=False)
    if result.returncode != 0:
        sys.exit(f"benchmarks/memory.py: the {library} {name} process failed:\n{result.stderr}")
    numbers = json.loads(result.stdout.strip().splitlines()[-1])
    return numbers["peak"] - numbers["baseline"]


def main(args):
    if args.child:
        child(*args.child, args.steps, args.threads)
        return
    print(f"peak working memory of {args.steps} training steps (peak RSS minus the RSS after "
          f"import and model build), {args.threads} threads, each in a fresh process")
    sys.path.insert(0, os.path.join(HERE, ".."))
    from striate import accel

    fast = accel.available()
    libraries = ["striate"] + (["striate-fast"] if fast else []) + ["torch"]
    header = (f"{'model':<10} {'batch':>5} {'striate MiB':>12} "
              + (f"{'fast MiB':>9} " if fast else "") + f"{'PyTorch MiB':>12} {'ratio':>6}"
              + (f" {'fast/PT':>8}" if fast else ""))
    print(header)
    print("-" * len(header))
    sys.path.insert(0, HERE)
    from train import BATCH

    for name in [n.strip() for n in args.models.split(",") if n.strip()]:
        mib = [measure(library, name, args.steps, args.threads) for library in libraries]
        ours, theirs = mib[0], mib[-1]
        print(f"{name:<10} {BATCH[name]:>5} {ours:>12.0f} "
              + (f"{mib[1]:>9.0f} " if fast else "") + f"{theirs:>12.0f} {ours / theirs:>6.2f}"
              + (f" {mib[1] / theirs:>8.2f}" if fast else ""), flush=True)
    print(f"fast route: {accel.describe()}" if fast else "fast route: not installed")


if __name__ == "__main__":
    main(_parse())
