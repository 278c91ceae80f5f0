"""Freed memory kept for the next training step: glibc's malloc, tuned once.

A training step allocates the same arrays every time (activations, masks,
gradients), most of them between 128 KiB and some tens of MiB, and frees them
all before the next step. glibc's malloc serves such sizes with ``mmap``
(fresh pages, each one page-faulted and zeroed by the kernel on first touch)
or from the top of its heap, which it hands back to the system (``trim``)
once more than a few MiB lie free there. Either way, every step faults its
memory in again: LeNet-5 at batch 128 took about 3,000 minor page faults
(12 MiB of pages, counted with ``getrusage``) per step, and 29 to 35 ms a
step against 20 to 25 ms with none (separate processes, one after the
other); ten epochs of ``striate train`` on Fashion-MNIST ran 6 to 7% faster.

So ``import striate`` raises two of malloc's thresholds, on glibc only:

* ``M_MMAP_THRESHOLD`` to 32 MiB (glibc's own upper limit for its sliding
  threshold): smaller arrays come from the heap, where freed memory is
  reused. Larger scratch arrays come from ``windows.workspace`` anyway;
* ``M_TRIM_THRESHOLD`` to 256 MiB: up to that much freed memory at the top
  of the heap stays with the process instead of going back to the system.

After a training step the process may thus hold up to 256 MiB more than it
uses. Set the environment variable ``STRIATE_KEEP_FREED_MEMORY=0`` before
importing striate to leave malloc as it is. (PyTorch users get the same
effect from ``GLIBC_TUNABLES`` or by preloading jemalloc; a library's import
is the only place a ``pip install`` user does not have to know about it.)
"""
import os

__all__ = ["keep_freed_memory", "MMAP_THRESHOLD", "TRIM_THRESHOLD"]

MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 256 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # <malloc.h>


def _glibc():
    """True where the C library is glibc (the thresholds are its own)."""
    try:
        return os.confstr("CS_GNU_LIBC_VERSION") is not None
    except (AttributeError, ValueError, OSError):  # not glibc (macOS, Windows, musl)
        return False


def keep_freed_memory():
    """Raise glibc malloc's mmap and trim thresholds (see the module
    docstring). Returns True if they were set; False elsewhere, or when
    ``STRIATE_KEEP_FREED_MEMORY=0``."""
    if os.environ.get("STRIATE_KEEP_FREED_MEMORY", "1").strip() == "0" or not _glibc():
        return False
    import ctypes  # loaded by NumPy already

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
