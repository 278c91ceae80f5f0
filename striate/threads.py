"""Both cores for the memory-bound passes: an opt-in.

BLAS spreads a matrix product over every core, but NumPy runs a copy or an
element-wise pass (im2col, col2im, padding) on one. Those passes release the
GIL, so cutting one into slices that a few Python threads run side by side
can put the other cores to work too: on this project's 2-core machine an
isolated large im2col copy went from 3.2 ms to 2.0 ms.

Inside a training step it did not pay there: with the splitting on, LeNet-5
and the small ResNet-18 of ``benchmarks/train.py`` trained no faster and
inferred up to a third slower (the BLAS threads that spin between matrix
products compete for the same two cores; see ``docs/speed.md``). So it is
off by default; turn it on with ``STRIATE_NUM_THREADS=2`` or
:func:`set_num_threads` and measure on your machine.

Every slice is written by exactly one thread, so the result is the same bit
for bit whatever the thread count (reductions, whose order of summation would
change with the split, are never cut). Small arrays run on the calling thread
alone: handing work to a thread costs some tens of microseconds.
"""
import os

__all__ = ["get_num_threads", "set_num_threads", "split"]

#: passes over fewer elements than this run on the calling thread alone
MIN_SPLIT_ELEMENTS = 1 << 16


def _from_environment():
    value = os.environ.get("STRIATE_NUM_THREADS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else 1


_count = _from_environment()
_executor = None
_executor_pid = None


def get_num_threads():
    """How many threads a memory-bound pass is split over."""
    return _count


def set_num_threads(count):
    """Split memory-bound passes over ``count`` threads (1: no splitting).

    BLAS's own thread count is read when NumPy loads; set it with
    ``OPENBLAS_NUM_THREADS`` before importing striate.
    """
    global _count, _executor
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ValueError(f"set_num_threads: expected a positive integer, got {count!r}")
    if count != _count and _executor is not None:
        _executor.shutdown(wait=True)
        _executor = None
    _count = count


def _workers():
    """The pool of ``count - 1`` helper threads (the caller is the last one),
    made on first use and again in a forked child, where threads don't survive."""
    global _executor, _executor_pid
    if _executor is None or _executor_pid != os.getpid():
        from concurrent.futures import ThreadPoolExecutor  # only once a pass is split

        _executor = ThreadPoolExecutor(max_workers=_count - 1, thread_name_prefix="striate")
        _executor_pid = os.getpid()
    return _executor


def split(work, length, elements):
    """Run ``work(start, stop)`` over ``range(length)`` cut into contiguous
    pieces, one per thread, the calling thread taking the first.

    ``elements`` is the size of the whole pass (it decides whether splitting
    pays). Each index must be independent work: the pieces run concurrently.
    """
    threads = min(_count, length)
    if threads < 2 or elements < MIN_SPLIT_ELEMENTS:
        work(0, length)
        return
    bounds = [length * i // threads for i in range(threads + 1)]
    futures = [_workers().submit(work, bounds[i], bounds[i + 1]) for i in range(1, threads)]
    work(bounds[0], bounds[1])
    for future in futures:
        future.result()  # re-raises a worker's exception here
