"""``mpiexec -n N striate train ...``: the command line's side of data-parallel
training (the library side is :mod:`striate.distributed`).

:func:`guarded` wraps a command's handler. In a plain run it calls the handler
and nothing else happens. Under an MPI launch with several ranks it
silences every rank but rank 0 (only rank 0 prints) and makes sure that a
failure on any rank stops all of them with that rank's message, printed once,
instead of leaving the others waiting forever in a collective:

* Before training starts (arguments, datasets, checkpoints) no rank has
  called a collective yet, so a rank that fails still reaches the *setup
  agreement*, the first collective of the run (:func:`setup` calls it on the
  healthy ranks): every rank learns the lowest failing rank and its message,
  rank 0 prints ``striate train: error: rank R: MESSAGE``, and every rank
  exits with status 1.
* Once training runs, the healthy ranks may be inside any collective, so the
  failing rank prints its message and calls ``MPI_Abort``, which makes the
  launcher end every rank. A failing rank other than 0 first waits a moment,
  so that when rank 0 fails too (an error every rank meets at once) only rank
  0's message is printed. Checkpoints are written atomically, so the last
  complete one survives the abort.
* A rank killed outright (``kill -9``, out of memory) is seen by the
  launcher, which ends the others and reports the signal.
"""
import os
import sys
import time

from .main import error_message

__all__ = ["add_options", "guarded", "setup"]

#: Seconds a failing rank other than 0 waits before printing and aborting,
#: plus this much per rank, so that the lowest failing rank speaks first.
_GRACE, _GRACE_PER_RANK, _GRACE_MAX = 1.0, 0.2, 5.0


def add_options(parser):
    parser.add_argument("--sync-bn", action="store_true",
                        help="under mpiexec: batch norm with statistics over the global batch "
                             "(all ranks) instead of each rank's share; without it each rank "
                             "normalizes with its own samples' statistics")


class RankFailure(RuntimeError):
    """A rank failed before training started; the message names it. ``original``
    is the error itself on the rank that raised it."""

    def __init__(self, message, original=None):
        super().__init__(message)
        self.original = original


class _Launch:
    """One rank's view of an MPI launch: its communicator and whether the
    setup agreement has been reached."""

    def __init__(self, communicator):
        self.communicator = communicator
        self.agreed = False

    def agree(self, error=None):
        """The setup agreement: None when every rank is fine, else
        ``(rank, message)`` of the lowest failing rank."""
        import numpy as np

        comm = self.communicator
        self.agreed = True
        lowest = np.array([comm.rank if error is not None else comm.size], dtype=np.int64)
        comm.all_reduce(lowest, op="min")
        failed = int(lowest[0])
        if failed == comm.size:
            return None
        text = error_message(error).encode() if comm.rank == failed else b""
        return failed, comm.broadcast_bytes(text, root=failed).decode()


def guarded(handler):
    """``handler`` with the failure protocol of the module docstring under MPI."""
    def run(args):
        from ..distributed import init, launched_world_size

        if launched_world_size() <= 1:
            return handler(args)
        launch = args.mpi_launch = _Launch(init(require=True))
        rank = launch.communicator.rank
        if rank != 0:
            sys.stdout = open(os.devnull, "w")
            sys.stderr = open(os.devnull, "w")
        try:
            code = handler(args)
        except BaseException as error:  # noqa: BLE001 - every failure must reach the others
            return _fail(launch, args, error)
        if not launch.agreed:  # every rank returned before training (nothing to do)
            launch.agree()
        return code
    run.__doc__ = handler.__doc__
    return run


def _fail(launch, args, error):
    comm, rank = launch.communicator, launch.communicator.rank
    if isinstance(error, RankFailure):  # raised by setup() after the agreement
        if rank == 0:
            raise error.original or error
        return 1
    if not launch.agreed:
        failed, message = launch.agree(error)
        if rank == 0:
            raise error if failed == 0 else RankFailure(f"rank {failed}: {message}")
        return 1
    if os.environ.get("STRIATE_DEBUG"):
        import traceback

        traceback.print_exception(error, file=sys.__stderr__)
    if rank != 0:
        time.sleep(min(_GRACE + _GRACE_PER_RANK * rank, _GRACE_MAX))
    print(f"striate {args.command}: error: rank {rank} of {comm.size}: {error_message(error)}; "
          "stopping every rank", file=sys.__stderr__, flush=True)
    comm.abort(1)
    return 1  # not reached: MPI_Abort ends the process


def setup(args, run):
    """The data-parallel hook for ``run`` (a :class:`~striate.runs.config.Run`),
    or None in a single process. Under MPI: shards the loaders, builds the
    hook, reaches the setup agreement and announces the split on rank 0."""
    launch = getattr(args, "mpi_launch", None)
    if launch is None:
        if args.sync_bn:
            print("note: --sync-bn only matters under mpiexec with several ranks; one "
                  "process always normalizes over the whole batch", file=sys.stderr)
        return None
    comm = launch.communicator
    parallel = error = None
    try:
        parallel = _data_parallel(args, run, comm)
    except Exception as caught:  # noqa: BLE001 - reported through the agreement
        error = caught
    failure = launch.agree(error)
    if failure is not None:
        raise RankFailure(f"rank {failure[0]}: {failure[1]}",
                          error if failure[0] == comm.rank else None)
    batch = run.train_loader.batch_size
    share = batch // comm.size
    shares = f"{share}" if batch % comm.size == 0 else f"{share}-{share + 1}"
    print(f"data-parallel: {comm.size} MPI ranks, global batch {batch} ({shares} per rank), "
          f"batch norm {'over all ranks (--sync-bn)' if args.sync_bn else 'per rank'}, "
          f"{len(parallel.buckets.buffers)} gradient bucket(s), "
          f"{parallel.buckets.nbytes:,} bytes all-reduced per step")
    return parallel


def _data_parallel(args, run, comm):
    from ..distributed import DataParallel, ShardedLoader

    run.train_loader = ShardedLoader(run.train_loader, comm)
    run.test_loader = ShardedLoader(run.test_loader, comm, global_transform=False,
                                    allow_empty=True)
    return DataParallel(run.model, comm, sync_bn=args.sync_bn)
