"""Transfer learning on the embedded digits: features learned on 0-4 help to
recognise 5-9 from only 10 labelled images per class.

1. Pretrain LeNet-5 on the training digits 0-4 (about 2,000 images).
2. Target task: digits 5-9 with 10 labelled images per class (50 in all).
   * fine-tuned: the pretrained weights loaded by name, a new 5-way head,
     the convolutional features frozen, the classifier trained;
   * from scratch: the same network, randomly initialized, trained on the
     same 50 images with the same optimizer and number of steps.
3. Both are tested on every test image of digits 5-9.

    python examples/14_transfer_learning.py          # under a minute on a laptop CPU
    python examples/14_transfer_learning.py --fast   # a smoke test (STRIATE_FAST=1 too)
"""
import argparse
import os

import numpy as np

import striate
from striate import optim
from striate.data import DataLoader, TensorDataset, load_dataset
from striate.data import transforms as T
from striate.train import Trainer, evaluate
from striate.transfer import count_parameters, freeze, load_matching, parameter_groups

SOURCE_DIGITS, TARGET_DIGITS = (0, 1, 2, 3, 4), (5, 6, 7, 8, 9)
NORMALIZE = T.Compose([T.ToFloat(), T.Normalize([0.1307], [0.3081])])


def digits_subset(split, digits, per_class=None, seed=0):
    """Images of ``digits`` from the embedded set, relabelled 0..len(digits)-1;
    ``per_class`` keeps that many images of each digit, chosen at random."""
    dataset = load_dataset("digits", split)
    images, labels = dataset.images, dataset.labels
    rng = np.random.default_rng(seed)
    keep = []
    for digit in digits:
        where = np.flatnonzero(labels == digit)
        keep.append(where if per_class is None else rng.choice(where, per_class, replace=False))
    keep = np.sort(np.concatenate(keep))
    relabel = np.zeros(10, dtype=np.int64)
    relabel[list(digits)] = np.arange(len(digits))
    return TensorDataset(images[keep], relabel[labels[keep]])


def train(model, dataset, epochs, lr, lr_head=None, batch_size=64):
    optimizer = optim.Adam(parameter_groups(model, lr=lr, lr_head=lr_head), lr=lr)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, transform=NORMALIZE)
    Trainer(model, optimizer, loader, progress=False, plot=False, log=None).fit(epochs)
    return model


def accuracy(model, dataset):
    return evaluate(model, DataLoader(dataset, batch_size=500, transform=NORMALIZE)).accuracy


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fast", action="store_true",
                        help="fewer pretraining images and epochs (also STRIATE_FAST=1)")
    parser.add_argument("--labels-per-class", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    fast = args.fast or os.environ.get("STRIATE_FAST") == "1"
    # Fast mode (the test suite) only checks that everything runs: its numbers mean little.
    pretrain_epochs, finetune_epochs = (1, 10) if fast else (4, 60)

    striate.manual_seed(args.seed)
    source = digits_subset("train", SOURCE_DIGITS)
    if fast:
        source = TensorDataset(*source.gather(np.arange(0, len(source), 4)))
    few = digits_subset("train", TARGET_DIGITS, per_class=args.labels_per_class, seed=args.seed)
    test = digits_subset("test", TARGET_DIGITS)

    pretrained = train(striate.models.create("lenet5", num_classes=5), source,
                       pretrain_epochs, lr=2e-3)
    print(f"pretrained on digits 0-4 ({len(source)} images): "
          f"{100 * accuracy(pretrained, digits_subset('test', SOURCE_DIGITS)):.1f}% on their "
          "test images")

    striate.manual_seed(args.seed + 1)
    finetuned = striate.models.create("lenet5", num_classes=5)
    load_matching(finetuned, pretrained.state_dict(), exclude=["classifier.5"], report=False)
    freeze(finetuned, ["features.*"])
    trainable, frozen = count_parameters(finetuned)
    train(finetuned, few, finetune_epochs, lr=1e-3, lr_head=3e-3, batch_size=25)

    striate.manual_seed(args.seed + 1)
    scratch = train(striate.models.create("lenet5", num_classes=5), few, finetune_epochs,
                    lr=1e-3, lr_head=3e-3, batch_size=25)

    tuned_acc, scratch_acc = accuracy(finetuned, test), accuracy(scratch, test)
    print(f"digits 5-9 from {len(few)} labelled images ({args.labels_per_class} per class), "
          f"tested on {len(test)}:")
    print(f"  fine-tuned (features frozen, {trainable:,} trainable / {frozen:,} frozen "
          f"parameters): {100 * tuned_acc:.1f}%")
    print(f"  from scratch (same network, same labels, same steps):  {100 * scratch_acc:.1f}%")
    return tuned_acc, scratch_acc


if __name__ == "__main__":
    main()
