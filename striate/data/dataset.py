"""Datasets: indexable collections of samples, PyTorch's ``torch.utils.data`` shape.

A :class:`Dataset` gives ``len(dataset)`` and ``dataset[i]`` (one sample, usually
an ``(image, label)`` tuple). Datasets backed by arrays also implement
``gather(indices)``, which returns a whole batch as a tuple of arrays by fancy
indexing: the :class:`~striate.data.DataLoader` uses it when present, so that
batching costs one gather per array instead of a Python loop over samples.
"""
import numbers

from .. import random as _random
from ..backend import xp
from ..functional.arguments import as_array

__all__ = ["Dataset", "TensorDataset", "ImageDataset", "LabelledDataset", "Subset",
           "random_split"]


class Dataset:
    """Base class: subclasses define ``__getitem__(index)`` and ``__len__()``.

    Optionally ``gather(indices) -> tuple of arrays`` for fast batching.
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__")



class TensorDataset(Dataset):
    """Samples are the i-th rows of some arrays (or tensors) of equal length.

    ``TensorDataset(images, labels)[i] == (images[i], labels[i])``; the arrays
    are kept as they are (no copy, no dtype change), in ``self.arrays``.
    """

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError("TensorDataset needs at least one array")
        self.arrays = tuple(as_array(a) for a in arrays)
        lengths = [len(a) if a.ndim else None for a in self.arrays]
        if None in lengths or len(set(lengths)) != 1:
            shapes = ", ".join(str(a.shape) for a in self.arrays)
            raise ValueError(f"TensorDataset: all arrays need the same first dimension, got shapes {shapes}")

    def __len__(self):
        return len(self.arrays[0])

    def __getitem__(self, index):
        return tuple(a[index] for a in self.arrays)

    def gather(self, indices):
        """The samples at ``indices`` (an int array) as one array per field."""
        return tuple(a[indices] for a in self.arrays)


class LabelledDataset(TensorDataset):
    """Inputs (N, ...) with integer targets (N, ...) that index ``classes``: one
    label per sample (N,) or one per pixel (N, H, W). Carries ``classes``,
    ``name``, ``split`` and ``source`` like :class:`ImageDataset`; subclasses
    check the layout of their inputs and targets first."""

    def __init__(self, inputs, targets, classes, name="", split="", source=""):
        inputs, targets = as_array(inputs), as_array(targets)
        kind = type(self).__name__
        if not xp.issubdtype(targets.dtype, xp.integer):
            raise ValueError(f"{kind} {name!r}: targets must be integers, got {targets.dtype}")
        if targets.size and (targets.min() < 0 or targets.max() >= len(classes)):
            raise ValueError(f"{kind} {name!r}: targets span {targets.min()}..{targets.max()}, "
                             f"outside 0..{len(classes) - 1} for {len(classes)} classes")
        super().__init__(inputs, targets)
        self.classes = list(classes)
        self.name, self.split, self.source = name, split, source

    def __repr__(self):
        return (f"{type(self).__name__}(name={self.name!r}, split={self.split!r}, "
                f"inputs={self.arrays[0].shape}, classes={len(self.classes)})")


class ImageDataset(LabelledDataset):
    """Labelled images: ``images`` (N, C, H, W) and int64 ``labels`` (N,).

    Carries what a trainer and a report need: ``classes`` (the name of each
    label), the dataset ``name``, the ``split`` and ``source`` (where the
    files were read from).
    """

    def __init__(self, images, labels, classes, name="", split="", source=""):
        images, labels = as_array(images), as_array(labels)
        if images.ndim != 4:
            raise ValueError(f"ImageDataset: images must be (N, C, H, W), got shape {images.shape}")
        if labels.ndim != 1 or not xp.issubdtype(labels.dtype, xp.integer):
            raise ValueError(f"ImageDataset: labels must be a 1-d integer array, got {labels.dtype} {labels.shape}")
        super().__init__(images, labels.astype(xp.int64, copy=False), classes, name, split, source)

    @property
    def images(self):
        return self.arrays[0]

    @property
    def labels(self):
        return self.arrays[1]

    def __repr__(self):
        return (f"ImageDataset(name={self.name!r}, split={self.split!r}, images={self.images.shape} "
                f"{self.images.dtype}, classes={len(self.classes)}, source={self.source!r})")


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order.

    Keeps the fast ``gather`` path when the underlying dataset has it, and
    passes ``classes`` through, so a split of an :class:`ImageDataset` still
    knows its class names.
    """

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = xp.asarray(indices, dtype=xp.int64).reshape(-1)
        n = len(dataset)
        if len(self.indices) and (self.indices.min() < -n or self.indices.max() >= n):
            raise IndexError(f"Subset: indices span {self.indices.min()}..{self.indices.max()}, "
                             f"outside a dataset of length {n}")
        if hasattr(dataset, "classes"):
            self.classes = dataset.classes

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        return self.dataset[int(self.indices[index])]

    def __getattr__(self, name):
        # Only reached for attributes Subset lacks: expose ``gather`` iff the
        # wrapped dataset has it, so the loader's fast-path test stays honest.
        if name == "gather" and hasattr(self.dataset, "gather"):
            return lambda indices: self.dataset.gather(self.indices[indices])
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


def random_split(dataset, lengths, seed=None):
    """Split ``dataset`` into non-overlapping :class:`Subset` s of the given lengths.

    ``lengths`` are counts that sum to ``len(dataset)`` or fractions that sum
    to 1 (the remainder of rounding goes to the first subsets, one each, as in
    PyTorch). The permutation comes from ``numpy.random.default_rng(seed)``
    when a seed is given, otherwise from striate's generator (so
    ``striate.manual_seed`` makes it reproducible too).
    """
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(isinstance(x, numbers.Real) and not isinstance(x, numbers.Integral) for x in lengths):
        if abs(sum(lengths) - 1) > 1e-6 or min(lengths) < 0:
            raise ValueError(f"random_split: fractions must be >= 0 and sum to 1, got {lengths}")
        counts = [int(f * n) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if any(x < 0 for x in lengths) or sum(lengths) != n:
        raise ValueError(f"random_split: lengths {lengths} must be >= 0 and sum to the dataset length {n}")
    rng = xp.random.default_rng(seed) if seed is not None else _random.generator()
    order = rng.permutation(n)
    bounds = xp.cumsum([0] + lengths)
    return [Subset(dataset, order[start:stop]) for start, stop in zip(bounds[:-1], bounds[1:])]
