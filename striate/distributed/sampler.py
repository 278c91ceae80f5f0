"""Each rank's share of every global batch, in the single-process order.

A :class:`ShardedLoader` wraps a :class:`~striate.data.DataLoader` whose
``batch_size`` is the *global* batch. Every rank draws the same epoch
permutation (they share the seed, and the generator state is broadcast from
rank 0 before each draw), cuts the same global batches from it, and keeps the
contiguous rows ``shard_bounds(n, rank, size)`` of each. Concatenating the
ranks' shards in rank order gives back exactly the single-process batch.

Augmentation: the batch transforms draw one random number per sample of the
batch they are given (``RandomCrop`` draws ``top`` for all N images, then
``left``), so the draws a sample gets depend on the batch it sits in. A rank
that augmented only its own n_r images would draw different numbers. So each
rank gathers and transforms the *whole* global batch (cheap next to the
forward and backward passes) and keeps its rows: every sample receives
bit for bit the augmentation the single process gives it, and every rank's
generator advances exactly as the single process's does.

Dropout draws its masks inside the model, for the rank's own (n_r, ...)
activations, so a model with dropout sees different (equally random) masks
than one process would; training then matches one process only in
distribution. The per-epoch broadcast of the generator state keeps all ranks
on the same permutation even then.
"""
from ..backend import xp

__all__ = ["ShardedLoader", "shard_bounds", "broadcast_rng_state"]


def shard_bounds(n, rank, size):
    """``(start, stop)`` of rank ``rank``'s contiguous share of ``n`` rows:
    sizes differ by at most one, the first ``n % size`` ranks one larger."""
    return (rank * n) // size, ((rank + 1) * n) // size


def broadcast_rng_state(communicator, root=0):
    """Give every rank ``root``'s state of striate's generator (PCG64, as
    ``striate.random`` makes it), through a pickle-free broadcast of its four
    integers: the 128-bit state and increment, the buffered 32-bit half and its flag."""
    from .. import random

    state = random.get_rng_state()
    if state.get("bit_generator") != "PCG64":
        raise TypeError(f"broadcast_rng_state: expected striate's PCG64 generator, got "
                        f"{state.get('bit_generator')!r}")
    mask = (1 << 64) - 1
    inner = state["state"]
    words = xp.array([inner["state"] >> 64, inner["state"] & mask, inner["inc"] >> 64,
                      inner["inc"] & mask, state["has_uint32"], state["uinteger"]], dtype=xp.uint64)
    communicator.broadcast(words, root)
    w = [int(v) for v in words]
    random.set_rng_state({"bit_generator": "PCG64",
                          "state": {"state": (w[0] << 64) | w[1], "inc": (w[2] << 64) | w[3]},
                          "has_uint32": w[4], "uinteger": w[5]})


class ShardedLoader:
    """This rank's rows of every batch of ``loader`` (whose ``batch_size`` is global).

    Arguments:
        loader: a :class:`~striate.data.DataLoader`.
        communicator: a :class:`~striate.distributed.Communicator`; iterating
            is a collective when ``loader`` shuffles with striate's generator.
        global_transform: transform the whole global batch and keep this
            rank's rows (exact single-process augmentation, see the module
            docstring); False transforms only the rank's rows, which is right
            for a deterministic transform (evaluation).
        allow_empty: yield nothing for a batch that has no rows for this rank
            (sharded evaluation) instead of refusing such a loader up front.

    ``len()`` is the number of global batches, as for the wrapped loader, so
    learning-rate schedules count steps the same way.
    """

    def __init__(self, loader, communicator, global_transform=True, allow_empty=False):
        self.loader, self.communicator = loader, communicator
        self.rank, self.size = communicator.rank, communicator.size
        self.global_transform = global_transform
        self.allow_empty = allow_empty
        if not allow_empty:
            n, batch = len(loader.dataset), loader.batch_size
            sizes = [batch] * (n // batch) + ([n % batch] if n % batch and not loader.drop_last else [])
            small = [s for s in sizes if s < self.size]
            if small:
                raise ValueError(
                    f"ShardedLoader: a batch of {small[0]} samples cannot give each of the "
                    f"{self.size} ranks at least one ({n} samples in batches of {batch}); "
                    "choose a batch size and sample count whose batches, the last one "
                    "included, hold at least one sample per rank")

    @property
    def dataset(self):
        return self.loader.dataset

    @property
    def batch_size(self):
        return self.loader.batch_size

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        if self.loader.shuffle and self.loader.generator is None:
            broadcast_rng_state(self.communicator)
        # Drawn here, eagerly, as the wrapped loader does (its contract).
        return self._shards(self.loader.epoch_order())

    def _shards(self, order):
        batch = self.loader.batch_size
        for b in range(len(self.loader)):
            indices = order[b * batch:(b + 1) * batch]
            start, stop = shard_bounds(len(indices), self.rank, self.size)
            if start == stop:
                continue
            if self.global_transform:
                yield self.loader.make_batch(indices, rows=slice(start, stop))
            else:
                yield self.loader.make_batch(indices[start:stop])

    def __repr__(self):
        return f"ShardedLoader({self.loader!r}, rank {self.rank} of {self.size})"
