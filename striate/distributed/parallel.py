"""``DataParallel``: what the :class:`~striate.train.Trainer` calls to train on
many ranks as if it were one process.

The trainer stays a single-process loop; at four points it hands over to this
hook (``distributed=DataParallel(...)``):

1. ``start(trainer)`` when ``fit`` begins: rank 0's parameters, buffers and
   random state are broadcast, so every rank starts identical (also after a
   ``--resume``, where every rank has read the same checkpoint).
2. ``reduce_gradients(model, n)`` after each backward: the global-batch mean
   gradient, see :mod:`striate.distributed.buckets`.
3. ``end_epoch(model, metrics)`` after each training epoch: the per-rank batch
   norm running statistics are averaged (without ``sync_bn`` each rank
   measured its own share), the ranks' training metrics are summed, and the
   ranks check that they still hold bit-identical weights.
4. ``reduce_metrics(metrics)`` after evaluation on a sharded test loader.

Only the main rank (``is_main``) prints, writes metrics, plots and checkpoints.
"""
import hashlib

from ..backend import xp
from ..train.metrics import EpochMetrics
from .buckets import GradientBuckets
from .sampler import broadcast_rng_state
from .sync_batchnorm import convert_sync_batchnorm

__all__ = ["DataParallel", "RanksDivergedError"]


class RanksDivergedError(RuntimeError):
    """The ranks hold different weights: their updates were not identical."""


class DataParallel:
    """The trainer's data-parallel hook for ``model`` on ``communicator``.

    Arguments:
        sync_bn: convert the model's batch norm layers to global statistics
            (:func:`~striate.distributed.convert_sync_batchnorm`).
        bucket_bytes: the gradient bucket size.

    ``timings`` accumulates the seconds spent in gradient all-reduces and
    ``steps`` counts them (for benchmarks).
    """

    def __init__(self, model, communicator, sync_bn=False, bucket_bytes=1 << 22):
        self.model, self.communicator = model, communicator
        self.sync_bn = bool(sync_bn)
        if self.sync_bn:
            convert_sync_batchnorm(model, communicator)
        self.buckets = GradientBuckets(list(model.parameters()), communicator, bucket_bytes)
        self.reduce_seconds, self.steps = 0.0, 0

    @property
    def is_main(self):
        return self.communicator.is_main

    @property
    def rank(self):
        return self.communicator.rank

    @property
    def size(self):
        return self.communicator.size

    def _state_arrays(self, model):
        arrays = [p.data for p in model.parameters()]
        arrays += [b.data for b in model.buffers() if b is not None]
        return arrays

    def start(self, trainer):
        """Broadcast rank 0's model state and random state to every rank, and
        record the data-parallel settings in the trainer's checkpoint metadata."""
        trainer.meta["data_parallel"] = {"ranks": self.size, "sync_bn": self.sync_bn}
        for array in self._state_arrays(trainer.model):
            if array.flags.c_contiguous and array.flags.writeable:
                self.communicator.broadcast(array)
            else:
                array[...] = self.communicator.broadcast(xp.ascontiguousarray(array))
        broadcast_rng_state(self.communicator)

    def reduce_gradients(self, model, local_count):
        import time

        start = time.perf_counter()
        total = self.buckets.reduce(local_count)
        self.reduce_seconds += time.perf_counter() - start
        self.steps += 1
        return total

    def end_epoch(self, model, metrics):
        """Average per-rank batch-norm statistics, sum the epoch's training
        metrics over the ranks, and check that the ranks agree bit for bit."""
        if not self.sync_bn:
            self._average_running_stats(model)
        metrics = self.reduce_metrics(metrics)
        self.check_identical(model)
        return metrics

    def _average_running_stats(self, model):
        for name, buffer in model.named_buffers():
            if buffer is None or not xp.issubdtype(buffer.data.dtype, xp.floating):
                continue
            if name.rsplit(".", 1)[-1] not in ("running_mean", "running_var"):
                continue
            values = xp.ascontiguousarray(buffer.data, dtype=xp.float64)
            self.communicator.all_reduce(values)
            buffer.data[...] = values / self.size

    def reduce_metrics(self, metrics):
        """The sum of every rank's :class:`~striate.train.metrics.EpochMetrics`
        (counts, loss sums and confusion matrices), the same on every rank."""
        k = metrics.num_classes
        packed = xp.concatenate([[metrics.count, metrics.loss_sum, metrics.correct,
                                  metrics.correct_topk], metrics.matrix.ravel()]).astype(xp.float64)
        self.communicator.all_reduce(packed)
        total = EpochMetrics(k, metrics.k)
        total.count, total.loss_sum = int(packed[0]), float(packed[1])
        total.correct, total.correct_topk = int(packed[2]), int(packed[3])
        total.matrix = packed[4:].reshape(k, k).astype(xp.int64)
        return total

    def check_identical(self, model):
        """Raise :class:`RanksDivergedError` unless every rank holds the same
        parameters and buffers, bit for bit (one all-gather of a digest)."""
        digest = hashlib.blake2b(digest_size=8)
        for array in self._state_arrays(model):
            digest.update(xp.ascontiguousarray(array).tobytes())
        mine = xp.frombuffer(digest.digest(), dtype=xp.uint64).copy()
        everyone = self.communicator.all_gather(mine)[:, 0]
        if (everyone != everyone[0]).any():
            differing = [r for r in range(self.size) if everyone[r] != everyone[0]]
            raise RanksDivergedError(f"ranks {differing} hold different weights than rank 0; "
                                     "data-parallel updates must be identical on every rank")

    def __repr__(self):
        return (f"DataParallel(rank {self.rank} of {self.size}, sync_bn={self.sync_bn}, "
                f"{len(self.buckets.buffers)} gradient buckets of {self.buckets.nbytes:,} bytes)")
