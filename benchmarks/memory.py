"""Peak working memory of training steps, striate against PyTorch.

    python benchmarks/memory.py [--models lenet5,resnet18] [--steps 3] [--threads 2]

For each model and library a fresh Python process imports the library,
builds the model (``benchmarks/train.py``'s: LeNet-5 at batch 128, the small
ResNet-18 at batch 64, 28x28 input) and its batch, and reads its resident set
size (the *baseline*); ``unet`` is what ``striate train --model unet --dataset
digit-scenes`` builds by default (the padded full-width U-Net, 64 to 1024
channels, 11 classes, 48x48 scenes, batch 64, per-pixel cross-entropy), in
both libraries. It then runs ``--steps`` training steps (forward,
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
    parser.add_argument("--models", default="lenet5,resnet18,unet")
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


#: the U-Net row: batch, classes and scene side of digit-scenes' defaults
UNET = {"batch": 64, "classes": 11, "size": 48}


def torch_unet(torch):
    """The padded U-Net of :mod:`striate.models.unet` (width 1, depth 4) in torch.nn."""
    from torch import nn

    def double(cin, cout):
        return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(),
                             nn.Conv2d(cout, cout, 3, padding=1), nn.ReLU())

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            channels = [64, 128, 256, 512, 1024]
            self.encoder = nn.ModuleList(double(cin, cout) for cin, cout in
                                         zip([1] + channels[:3], channels[:4]))
            self.pool = nn.MaxPool2d(2, 2)
            self.bottleneck = double(512, 1024)
            self.upconvs = nn.ModuleList(nn.ConvTranspose2d(channels[i + 1], channels[i], 2, 2)
                                         for i in reversed(range(4)))
            self.decoder = nn.ModuleList(double(2 * channels[i], channels[i])
                                         for i in reversed(range(4)))
            self.head = nn.Conv2d(64, UNET["classes"], 1)

        def forward(self, x):
            skips = []
            for block in self.encoder:
                x = block(x)
                skips.append(x)
                x = self.pool(x)
            x = self.bottleneck(x)
            for up, block, skip in zip(self.upconvs, self.decoder, reversed(skips)):
                x = block(torch.cat([skip, up(x)], 1))
            return self.head(x)

    torch.manual_seed(0)
    return UNet()


def unet_step(library, threads):
    """(train step, images, label maps) of the U-Net row."""
    import numpy as np

    rng = np.random.default_rng(0)
    n, size = UNET["batch"], UNET["size"]
    x = rng.standard_normal((n, 1, size, size)).astype(np.float32)
    y = rng.integers(0, UNET["classes"], (n, size, size)).astype(np.int64)
    if library.startswith("striate"):
        import striate
        from striate import models, optim
        from striate.functional import cross_entropy

        striate.manual_seed(0)
        model = models.create("unet", num_classes=UNET["classes"], in_channels=1, padded=True)
        optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        wrap = striate.Tensor
    else:
        import torch

        torch.set_num_threads(threads)
        model = torch_unet(torch)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        cross_entropy, wrap = torch.nn.functional.cross_entropy, torch.from_numpy

    def step(images, labels):
        loss = cross_entropy(model(wrap(images)), wrap(labels))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return step, x, y


def child(library, name, steps, threads):
    """Runs in the fresh process: prints {"baseline": MiB, "peak": MiB}."""
    from threads import pin_threads

    pin_threads(threads)
    import numpy as np

    sys.path.insert(0, os.path.join(HERE, ".."))
    import train as bench  # benchmarks/train.py: the same models and batches

    rng = np.random.default_rng(0)
    if library == "striate-fast":
        from striate import accel

        accel.available()  # load the library now: its code is not working memory
    elif library == "striate":
        from striate import accel

        accel.set_enabled(False)
    if name == "unet":
        step, x, y = unet_step(library, threads)
    else:
        batch = bench.BATCH[name]
        x = rng.standard_normal((batch, 1, 28, 28)).astype(np.float32)
        y = rng.integers(0, 10, batch).astype(np.int64)
        if library in ("striate", "striate-fast"):
            step, _, _ = bench.striate_steps(name, "sgd", fast=library == "striate-fast")
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
        batch = UNET["batch"] if name == "unet" else BATCH[name]
        print(f"{name:<10} {batch:>5} {ours:>12.0f} "
              + (f"{mib[1]:>9.0f} " if fast else "") + f"{theirs:>12.0f} {ours / theirs:>6.2f}"
              + (f" {mib[1] / theirs:>8.2f}" if fast else ""), flush=True)
    print(f"fast route: {accel.describe()}" if fast else "fast route: not installed")


if __name__ == "__main__":
    main(_parse())
