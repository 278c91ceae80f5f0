"""The MPI communicator: rank, size and collectives on NumPy buffers.

This is the only module of striate that imports ``mpi4py``, and only inside
:func:`init`, so ``import striate.distributed`` costs nothing on a machine
without MPI. Every collective here uses mpi4py's upper-case methods
(``Allreduce``, ``Bcast``, ``Allgather``), which hand NumPy buffers straight to
the MPI library: no pickling, no copies beyond what MPI itself makes.

Launch detection reads the environment the common launchers set (MPICH's and
Intel MPI's Hydra: ``PMI_SIZE``; Open MPI: ``OMPI_COMM_WORLD_SIZE``; PMIx:
``PMIX_RANK``; Slurm's ``srun``: ``SLURM_NTASKS`` with ``PMI_RANK``), so a
plain ``python`` run never initializes MPI at all.
"""
import os

from ..backend import xp

__all__ = ["Communicator", "init", "launched_world_size"]

_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS")


def launched_world_size():
    """The number of processes an MPI launcher started, from the environment
    (1 when this process was not started by ``mpiexec``)."""
    for name in _SIZE_VARIABLES:
        value = os.environ.get(name)
        if value and value.isdigit():
            return int(value)
    return 1


_OPS = ("sum", "max", "min")


class Communicator:
    """A thin wrapper around an ``mpi4py`` communicator (default ``COMM_WORLD``).

    ``rank`` (0-based) and ``size`` identify this process; rank 0 is the
    *main* rank, the one that prints and writes files. Every method is a
    collective: all ranks must call it, in the same order, with buffers of the
    same shape and dtype.
    """

    def __init__(self, comm=None):
        from mpi4py import MPI

        self._MPI = MPI
        self.comm = MPI.COMM_WORLD if comm is None else comm
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()

    @property
    def is_main(self):
        return self.rank == 0

    def _check_buffer(self, array, what):
        if not isinstance(array, xp.ndarray):
            raise TypeError(f"Communicator.{what}: expected a NumPy array, got {type(array).__name__}")
        if not array.flags.c_contiguous or not array.flags.writeable:
            raise ValueError(f"Communicator.{what}: the array (shape {array.shape}, dtype "
                             f"{array.dtype}) must be C-contiguous and writeable, since the "
                             "result is written into it")

    def all_reduce(self, array, op="sum"):
        """Reduce ``array`` over all ranks in place (``sum``, ``max`` or ``min``);
        returns it. Every rank ends with the same values."""
        self._check_buffer(array, "all_reduce")
        if op not in _OPS:
            raise ValueError(f"Communicator.all_reduce: op must be one of {_OPS}, got {op!r}")
        mpi_op = {"sum": self._MPI.SUM, "max": self._MPI.MAX, "min": self._MPI.MIN}[op]
        self.comm.Allreduce(self._MPI.IN_PLACE, array, op=mpi_op)
        return array

    def broadcast(self, array, root=0):
        """Overwrite ``array`` on every rank with ``root``'s values, in place; returns it."""
        self._check_buffer(array, "broadcast")
        self.comm.Bcast(array, root=root)
        return array

    def all_gather(self, array):
        """``(size, *array.shape)``: every rank's ``array``, in rank order."""
        array = xp.ascontiguousarray(array)
        out = xp.empty((self.size,) + array.shape, dtype=array.dtype)
        self.comm.Allgather(array, out)
        return out

    def broadcast_bytes(self, data, root=0):
        """``root``'s ``bytes`` on every rank (the length first, then the bytes)."""
        length = xp.array([len(data) if self.rank == root else 0], dtype=xp.int64)
        self.broadcast(length, root)
        buffer = xp.empty(int(length[0]), dtype=xp.uint8)
        if self.rank == root:
            buffer[:] = xp.frombuffer(data, dtype=xp.uint8)
        self.broadcast(buffer, root)
        return buffer.tobytes()

    def barrier(self):
        self.comm.Barrier()

    def abort(self, code=1):
        """End every rank of the job at once (the launcher kills the others)."""
        self.comm.Abort(code)

    def __repr__(self):
        return f"Communicator(rank={self.rank}, size={self.size})"


def init(require=False):
    """The :class:`Communicator` of an MPI launch with more than one rank, or
    None in a plain single-process run (MPI is then never initialized).

    ``require=True`` turns "not launched by mpiexec" and "mpi4py missing" into
    errors instead of None.
    """
    size = launched_world_size()
    if size <= 1:
        if require:
            raise RuntimeError("striate.distributed.init: this process was not started by an "
                               "MPI launcher with more than one rank (e.g. mpiexec -n 2 ...)")
        return None
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        raise RuntimeError(
            f"striate.distributed: the MPI launcher started {size} processes, but mpi4py is "
            "not installed; install it with: pip install \"striate[mpi]\" mpich") from None
    communicator = Communicator()
    if communicator.size != size:
        raise RuntimeError(f"striate.distributed.init: the launcher announced {size} ranks but "
                           f"MPI reports {communicator.size}; was mpi4py built against a "
                           "different MPI library than the one mpiexec belongs to?")
    return communicator
