"""``DataLoader``: batches of a dataset as tensors, with seeded shuffling.

Contract (the trainer's exact resume relies on it):

* **Order.** Without shuffling, batches follow the dataset order. With
  ``shuffle=True``, each epoch's order is ``generator.permutation(len(dataset))``,
  drawn exactly once, when ``iter(loader)`` is called (the start of the epoch),
  from ``generator`` if one was given and otherwise from
  :func:`striate.random.generator` *as it is at that moment*. So after
  ``striate.manual_seed(s)`` the sequence of epochs is fixed, and saving
  ``striate.get_rng_state()`` at the end of an epoch and restoring it with
  ``striate.set_rng_state()`` before the next ``iter(loader)`` replays exactly
  the order (and the augmentation) that an uninterrupted run would have seen.
* **Augmentation.** ``transform`` (see :mod:`striate.data.transforms`) is
  applied to each image batch as it is produced, drawing from the same
  generator: draws interleave with everything else that uses it (dropout,
  ...), which is deterministic because everything runs in one thread.
* **Output.** Each batch is a tuple of :class:`striate.Tensor`: the images
  first, float32 (uint8 images still integer after the transform are scaled to
  [0, 1], as torchvision's ``ToTensor`` does; other dtypes are cast), then the
  other fields, integer ones as int64 (labels) and float ones as float32.
* **Batches.** ``len(loader)`` is ``ceil(len(dataset) / batch_size)``, or
  ``floor`` with ``drop_last=True`` (the incomplete last batch is dropped).
* **Speed.** Datasets with a ``gather(indices)`` method (every array-backed
  dataset here: ``TensorDataset``, ``ImageDataset``, ``Subset`` of those) are
  batched by fancy indexing, one gather per field; other datasets fall back to
  ``dataset[i]`` per sample and stacking.

Where we differ from PyTorch: no worker processes, no samplers; transforms
act on batches, not single samples.
"""
from .. import random as _random
from ..autograd import Tensor
from ..backend import xp
from .transforms import to_float

__all__ = ["DataLoader", "default_collate"]


def default_collate(samples):
    """Stack a list of samples (tuples of array-likes) into one array per field."""
    if not samples:
        raise ValueError("default_collate: no samples")
    first = samples[0]
    if not isinstance(first, (tuple, list)):
        return (xp.stack([xp.asarray(s) for s in samples]),)
    width = len(first)
    if any(len(s) != width for s in samples):
        raise ValueError(f"default_collate: samples have different numbers of fields "
                         f"({sorted({len(s) for s in samples})})")
    return tuple(xp.stack([xp.asarray(s[k]) for s in samples]) for k in range(width))


def _to_tensor(array, is_images):
    if is_images:
        if xp.issubdtype(array.dtype, xp.integer):
            array = to_float(array)
        # contiguous: crops and flips hand over strided views
        return Tensor(xp.ascontiguousarray(array, dtype=xp.float32))
    if xp.issubdtype(array.dtype, xp.integer) or array.dtype == xp.bool_:
        return Tensor(array.astype(xp.int64, copy=False))
    return Tensor(array.astype(xp.float32, copy=False))


class DataLoader:
    """Iterate over ``dataset`` in batches; see the module docstring for the contract.

    Arguments:
        dataset: a :class:`~striate.data.Dataset` (``len`` and ``[i]``, ideally ``gather``).
        batch_size: samples per batch (the last one may be smaller unless ``drop_last``).
        shuffle: a new random order every epoch.
        drop_last: drop the last batch if it is incomplete.
        transform: applied to each batch's images (first field) before conversion.
        transform_targets: a dense task's targets (label maps (N, H, W), the
            second field) go through the transform with their images
            (``transform.pair``), so that a flip or warp moves both alike.
        generator: a ``numpy.random.Generator`` for the shuffling, instead of striate's.
        collate_fn: turns a list of samples into a tuple of arrays (slow path only).
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, transform=None,
                 generator=None, collate_fn=default_collate, transform_targets=False):
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.transform = transform
        self.transform_targets = bool(transform_targets)
        if self.transform_targets and transform is not None and not hasattr(transform, "pair"):
            raise TypeError(f"DataLoader: transform_targets needs a transform with a pair() "
                            f"method (a striate.data.transforms.Transform), got {transform!r}")
        self.generator = generator
        self.collate_fn = collate_fn

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def epoch_order(self):
        """The sample order for a new epoch (draws from the generator when shuffling)."""
        n = len(self.dataset)
        if not self.shuffle:
            return xp.arange(n)
        generator = self.generator if self.generator is not None else _random.generator()
        return generator.permutation(n)

    def __iter__(self):
        # The permutation is drawn here, eagerly, not at the first next():
        # that is the moment the contract above promises.
        return self._batches(self.epoch_order())

    def _batches(self, order):
        for b in range(len(self)):
            yield self.make_batch(order[b * self.batch_size:(b + 1) * self.batch_size])

    def make_batch(self, indices, rows=None):
        """The batch of the samples at ``indices``: gathered, transformed, as tensors.

        ``rows`` (a slice) keeps only those rows of the transformed batch: a
        data-parallel rank transforms the whole global batch, so that random
        augmentation draws exactly what one process would, and keeps its share.
        """
        gather = getattr(self.dataset, "gather", None)
        if gather is not None:
            fields = gather(indices)
        else:
            fields = self.collate_fn([self.dataset[int(i)] for i in indices])
        fields = tuple(fields)
        images = fields[0]
        if self.transform is not None and self.transform_targets:
            images, targets = self.transform.pair(images, xp.asarray(fields[1]))
            fields = (images, targets) + fields[2:]
        elif self.transform is not None:
            images = self.transform(images)
        if rows is not None:
            images, fields = images[rows], tuple(xp.asarray(f)[rows] for f in fields)
        return (_to_tensor(images, True),) + tuple(_to_tensor(xp.asarray(f), False) for f in fields[1:])

    def __repr__(self):
        return (f"DataLoader(dataset of {len(self.dataset)}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, transform={self.transform!r})")
