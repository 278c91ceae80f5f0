"""Training and inference throughput, striate (NumPy and fast routes) against PyTorch, in the same run.

    python benchmarks/train.py [--models lenet5,resnet18] [--batches 10] [--repeats 5]
                               [--sizes 64,128,256] [--threads 2] [--optimizer sgd|adam]

Two networks, built identically in both libraries (the parameter counts are
asserted equal):

* LeNet-5 (61,706 parameters), batch 128;
* the small ResNet-18 (width 0.25, 3x3 stride-1 stem, no max-pool, 701,178
  parameters for one input channel and ten classes), batch 64,

both on 28x28 single-channel images (Fashion-MNIST's training images when they
are installed, else random ones), float32, the same thread count for NumPy's
BLAS and PyTorch. A training step is what a training loop does per batch:
forward, cross-entropy, zero_grad, backward, optimizer step; an inference
step is a forward pass in eval mode without gradients.

striate runs twice, as two identical models: once on its NumPy route and once
on its fast route (``striate[fast]``: the convolutions on oneDNN, see
``striate/accel``); the fast column is left out when oneDNN is not
installed. The runs are timed *interleaved*: repeat r of striate NumPy, of
striate fast, of PyTorch, then repeat r+1, ... so that a change of load on a
shared machine hits all alike; each number is the best of ``--repeats``. The
ratio columns are striate's throughput divided by PyTorch's (1.0 = as fast).

A second table gives the per-image time of a training step at every batch
size of ``--sizes``, to show whether it stays flat as the batch grows.
"""
import argparse
import os
import sys
import time


def _parse():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="lenet5,resnet18",
                        help="comma-separated: lenet5, resnet18 (default both)")
    parser.add_argument("--batches", type=int, default=10, help="steps per timed repeat (default 10)")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved repeats, best shown (default 5)")
    parser.add_argument("--sizes", default="64,128,256",
                        help="batch sizes of the per-image table ('' skips it; default 64,128,256)")
    parser.add_argument("--threads", type=int, default=2, help="threads for both libraries (default 2)")
    parser.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd")
    parser.add_argument("--cpu-time", action="store_true",
                        help="time by the process's CPU time instead of the wall clock: on a "
                             "loaded machine, with --threads 1, what each library computes "
                             "rather than how long it waited for a core")
    return parser.parse_args()


ARGS = _parse() if __name__ == "__main__" else None
if ARGS is not None:
    from threads import pin_threads
    pin_threads(ARGS.threads)  # before NumPy loads: BLAS reads the count then

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import striate  # noqa: E402

#: model name -> batch size of the main table
BATCH = {"lenet5": 128, "resnet18": 64}
#: pause before each timed repeat (see :func:`interleaved`)
SETTLE_SECONDS = 0.3
#: the clock steps are timed by (``--cpu-time``: the process's CPU time)
CLOCK = time.process_time if ARGS is not None and ARGS.cpu_time else time.perf_counter


# --------------------------------------------------------------------------- data


def load_images(count):
    """(float32 images (count, 1, 28, 28), normalized; int64 labels; description)."""
    try:
        from striate.data.datasets import load_dataset

        data = load_dataset("fashion-mnist", "train")
        images, labels = data.images[:count], data.labels[:count]
        source = "Fashion-MNIST"
    except (OSError, ValueError):
        rng = np.random.default_rng(0)
        images = rng.integers(0, 256, size=(count, 1, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=count)
        source = "random images (Fashion-MNIST not installed)"
    images = images.astype(np.float32) / 255.0
    images = (images - images.mean()) / images.std()
    return images.astype(np.float32), labels.astype(np.int64), source


def batches(images, labels, batch_size, count):
    return [(images[i * batch_size:(i + 1) * batch_size], labels[i * batch_size:(i + 1) * batch_size])
            for i in range(count)]


# --------------------------------------------------------------------------- the two libraries


def striate_model(name):
    from striate import models

    striate.manual_seed(0)
    if name == "lenet5":
        return models.create("lenet5", num_classes=10, in_channels=1)
    return models.create("resnet18", num_classes=10, in_channels=1, width=0.25, small_input=True)


def torch_model(torch, name):
    """The same architecture as :func:`striate_model`, in torch.nn."""
    from torch import nn

    torch.manual_seed(0)
    if name == "lenet5":
        return nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, 10))

    class Block(nn.Module):
        def __init__(self, cin, planes, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = None if stride == 1 and cin == planes else nn.Sequential(
                nn.Conv2d(cin, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = torch.relu(self.bn1(self.conv1(x)))
            return torch.relu(self.bn2(self.conv2(out)) + identity)

    layers, cin = [nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()], 16
    for planes, stride in ((16, 1), (32, 2), (64, 2), (128, 2)):
        layers += [Block(cin, planes, stride), Block(planes, planes, 1)]
        cin = planes
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10)]
    return nn.Sequential(*layers)


def striate_steps(name, optimizer_name, fast=False):
    """(train_step, infer_step, parameter count) for striate, on its fast
    route (oneDNN) or its NumPy route."""
    from striate import accel, optim
    from striate.autograd import no_grad
    from striate.functional import cross_entropy

    model = striate_model(name)
    optimizer = (optim.SGD(model.parameters(), lr=0.01, momentum=0.9) if optimizer_name == "sgd"
                 else optim.Adam(model.parameters(), lr=1e-3))

    def train(x, y):
        accel.set_enabled(fast)
        model.train()
        loss = cross_entropy(model(striate.Tensor(x)), striate.Tensor(y))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    def infer(x, y):
        accel.set_enabled(fast)
        model.eval()
        with no_grad():
            model(striate.Tensor(x))
    return train, infer, sum(p.data.size for p in model.parameters())


def torch_steps(torch, name, optimizer_name):
    """(train_step, infer_step, parameter count) for PyTorch."""
    model = torch_model(torch, name)
    optimizer = (torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9) if optimizer_name == "sgd"
                 else torch.optim.Adam(model.parameters(), lr=1e-3))
    loss_fn = torch.nn.CrossEntropyLoss()

    def train(x, y):
        model.train()
        loss = loss_fn(model(torch.from_numpy(x)), torch.from_numpy(y))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    def infer(x, y):
        model.eval()
        with torch.no_grad():
            model(torch.from_numpy(x))
    return train, infer, sum(p.numel() for p in model.parameters())


# --------------------------------------------------------------------------- timing


def interleaved(steps, data, repeats):
    """Best images/s of each step function over ``data``, the functions taking
    turns repeat by repeat (after one warm-up pass each)."""
    for step in steps:
        for x, y in data[:2]:
            step(x, y)
    images = sum(len(x) for x, _ in data)
    best = [0.0] * len(steps)
    for _ in range(repeats):
        for i, step in enumerate(steps):
            # Idle threads of the library that ran last (OpenBLAS's workers,
            # PyTorch's OpenMP team) spin for a while before they sleep, and on
            # two cores that spinning would be charged to the other library.
            time.sleep(SETTLE_SECONDS)
            start = CLOCK()
            for x, y in data:
                step(x, y)
            best[i] = max(best[i], images / (CLOCK() - start))
    return best


def uptime():
    try:
        return "load average " + ", ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "load average unknown"


def main(args):
    import torch  # the reference, loaded only here
    from striate import accel

    torch.set_num_threads(args.threads)
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    unknown = sorted(set(names) - set(BATCH))
    if unknown:
        sys.exit(f"benchmarks/train.py: unknown model(s) {unknown}; choose from {sorted(BATCH)}")
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    images, labels, source = load_images(max([256] + sizes) * args.batches)
    fast = accel.available()
    print(f"{args.optimizer}, float32, 28x28, {args.threads} threads, {args.batches} batches x "
          f"{args.repeats} interleaved repeats (best shown), data: {source}"
          + ("; timed by CPU time" if args.cpu_time else ""))
    print(f"numpy {np.__version__}, torch {torch.__version__}; {uptime()} at start")
    print(f"convolutions: NumPy route -> NumPy; fast route -> {accel.describe()}")
    columns = ["NumPy"] + (["fast"] if fast else [])
    header = (f"{'model':<24} {'batch':>5} {'step':<9} "
              + " ".join(f"{'striate ' + c:>13}" for c in columns) + f" {'PyTorch':>9} "
              + " ".join(f"{c + '/PT':>8}" for c in columns) + "   (images/s)")
    print(header)
    print("-" * len(header))
    steps = {}
    for name in names:
        ours = [striate_steps(name, args.optimizer, fast=False)]
        if fast:
            ours.append(striate_steps(name, args.optimizer, fast=True))
        theirs_train, theirs_infer, theirs_params = torch_steps(torch, name, args.optimizer)
        assert ours[0][2] == theirs_params, (name, ours[0][2], theirs_params)
        steps[name] = [o[0] for o in ours] + [theirs_train]
        label = f"{name} ({theirs_params:,})"
        data = batches(images, labels, BATCH[name], args.batches)
        for kind, index, theirs in (("train", 0, theirs_train), ("inference", 1, theirs_infer)):
            rates = interleaved([o[index] for o in ours] + [theirs], data, args.repeats)
            print(f"{label:<24} {BATCH[name]:>5} {kind:<9} "
                  + " ".join(f"{r:>13,.0f}" for r in rates[:-1]) + f" {rates[-1]:>9,.0f} "
                  + " ".join(f"{r / rates[-1]:>8.2f}" for r in rates[:-1]), flush=True)
    if fast:
        print(f"fast route: {accel.route_summary()}")
    if sizes:
        print("\nper-image time of a training step (microseconds), by batch size")
        header = (f"{'model':<10} {'batch':>5} " + " ".join(f"{c:>9}" for c in columns)
                  + f" {'PyTorch':>9} " + " ".join(f"{c + '/PT':>8}" for c in columns))
        print(header)
        print("-" * len(header))
        for name in names:
            for size in sizes:
                data = batches(images, labels, size, max(2, args.batches * 64 // size))
                rates = interleaved(steps[name], data, args.repeats)
                print(f"{name:<10} {size:>5} " + " ".join(f"{1e6 / r:>9.0f}" for r in rates)
                      + " " + " ".join(f"{r / rates[-1]:>8.2f}" for r in rates[:-1]), flush=True)
    print(f"{uptime()} at end")


if __name__ == "__main__":
    main(ARGS)
