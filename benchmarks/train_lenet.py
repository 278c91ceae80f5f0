"""LeNet-5 training throughput, striate against PyTorch, in the same run.

    python benchmarks/train_lenet.py [--optimizer sgd|adam] [--batches 40] [--repeats 3]

Both train the same network (striate's ``lenet5``: conv 5x5 pad 2 -> ReLU ->
max-pool -> conv 5x5 -> ReLU -> max-pool -> 120 -> 84 -> 10, 61,706
parameters) with the same optimizer (SGD lr 0.01 momentum 0.9, or Adam lr
1e-3), in float32, batch 128, on Fashion-MNIST's training images when they are
installed (else synthetic images of the same shape), with the same threads.

One timed step is what a training loop does per batch: forward, cross-entropy,
zero_grad, backward, optimizer step. The batches are normalized float32 arrays
prepared beforehand, so the numbers compare the networks, not data loading.
Each repeat times ``--batches`` consecutive steps; the best repeat is shown.
"""
import argparse
import os
import sys
import time


def _parse():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd",
                        help="optimizer for both libraries (default sgd)")
    parser.add_argument("--batch-size", type=int, default=128, help="images per batch (default 128)")
    parser.add_argument("--batches", type=int, default=40, help="steps per timed repeat (default 40)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats, best shown (default 3)")
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="threads for both libraries (default: all cores)")
    return parser.parse_args()


ARGS = _parse() if __name__ == "__main__" else None
if ARGS is not None:
    from threads import pin_threads
    pin_threads(ARGS.threads)  # before NumPy loads: BLAS reads the count then

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import striate  # noqa: E402


def load_images(count):
    """(images float32 (count, 1, 28, 28) normalized, labels int64, description)."""
    try:
        from striate.data.datasets import load_dataset

        data = load_dataset("fashion-mnist", "train")
        images, labels = data.images[:count], data.labels[:count]
        source = f"Fashion-MNIST ({data.source})"
    except (OSError, ValueError):
        rng = np.random.default_rng(0)
        images = rng.integers(0, 256, size=(count, 1, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=count)
        source = "synthetic images (Fashion-MNIST not found)"
    images = images.astype(np.float32) / 255.0
    images = (images - images.mean()) / images.std()
    return images.astype(np.float32), labels.astype(np.int64), source


def batches(images, labels, batch_size):
    return [(images[i:i + batch_size], labels[i:i + batch_size])
            for i in range(0, len(images) - batch_size + 1, batch_size)]


def time_steps(step, data, repeats):
    """Best images/s over ``repeats`` passes over ``data`` (after one warm-up step)."""
    step(*data[0])
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        for x, y in data:
            step(x, y)
        elapsed = time.perf_counter() - start
        best = max(best, sum(len(x) for x, _ in data) / elapsed)
    return best


def striate_trainer(optimizer_name):
    from striate import models, optim
    from striate.functional import cross_entropy

    striate.manual_seed(0)
    model = models.create("lenet5", num_classes=10, in_channels=1)
    model.train()
    if optimizer_name == "sgd":
        optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    else:
        optimizer = optim.Adam(model.parameters(), lr=1e-3)

    def step(x, y):
        loss = cross_entropy(model(striate.Tensor(x)), striate.Tensor(y))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return step, sum(p.data.size for p in model.parameters())


def torch_trainer(optimizer_name, threads):
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))
    model.train()
    if optimizer_name == "sgd":
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def step(x, y):
        loss = loss_fn(model(torch.from_numpy(x)), torch.from_numpy(y))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return step, sum(p.numel() for p in model.parameters())


def main(args):
    images, labels, source = load_images(args.batch_size * args.batches)
    data = batches(images, labels, args.batch_size)
    striate_step, striate_params = striate_trainer(args.optimizer)
    torch_step, torch_params = torch_trainer(args.optimizer, args.threads)
    assert striate_params == torch_params, (striate_params, torch_params)
    print(f"LeNet-5 training step ({striate_params:,} parameters), {args.optimizer}, batch "
          f"{args.batch_size}, {len(data)} batches x {args.repeats} repeats, {args.threads} "
          f"threads, data: {source}")
    ours = time_steps(striate_step, data, args.repeats)
    theirs = time_steps(torch_step, data, args.repeats)
    print(f"striate: {ours:10,.0f} images/s")
    print(f"PyTorch: {theirs:10,.0f} images/s")
    print(f"ratio striate/PyTorch: {ours / theirs:.2f} (target >= 0.5)")


if __name__ == "__main__":
    main(ARGS)
