"""Data-parallel training over MPI: ``mpiexec -n N striate train ...``.

Each of N processes (ranks) holds a full copy of the model and takes a
distinct share of every global batch; after backward the gradients are
summed over the ranks (one all-reduce per bucket of gradients), so every
rank applies the identical update and the run computes what one process
would on the global batch.

* :func:`init`: the :class:`Communicator` of an ``mpiexec`` launch, or None.
* :class:`ShardedLoader`: the rank's share of each global batch, in the
  single-process sample order and with its augmentation.
* :class:`GradientBuckets`: flatten, all-reduce and average the gradients.
* :func:`convert_sync_batchnorm`: batch norm with global statistics.
* :class:`DataParallel`: the hook the trainer calls (``Trainer(..., distributed=...)``).

``mpi4py`` is imported only by :func:`init` (install it with
``pip install "striate[mpi]" mpich``).
"""
from .buckets import GradientBuckets
from .communicator import Communicator, init, launched_world_size
from .parallel import DataParallel, RanksDivergedError
from .sampler import ShardedLoader, broadcast_rng_state, shard_bounds
from .sync_batchnorm import (SyncBatchNorm1d, SyncBatchNorm2d, SyncBatchNorm3d,
                             convert_sync_batchnorm, sync_batch_norm)

__all__ = ["init", "Communicator", "launched_world_size", "GradientBuckets", "ShardedLoader",
           "shard_bounds", "broadcast_rng_state", "DataParallel", "RanksDivergedError",
           "convert_sync_batchnorm", "sync_batch_norm", "SyncBatchNorm1d", "SyncBatchNorm2d",
           "SyncBatchNorm3d"]
