"""The fast route: float32 convolutions on oneDNN, when it is installed.

``pip install "striate[fast]"`` adds oneDNN (PyPI's ``onednn-cpu-gomp``, the
library of CPU kernels PyTorch runs its own convolutions on). The ops then
ask this room, per call, whether it takes a convolution
(:func:`convolution`); it does for float32 2-d convolutions of any stride,
padding, dilation and groups that oneDNN implements. Everything else, and
every call when oneDNN is absent or switched off, takes the NumPy route,
which stays the readable reference: float64 (the finite-difference checks),
1-d and 3-d convolutions, transposed convolutions.

This is the only room that loads a native library, and it does so on the
first float32 convolution, not at ``import striate``. Switch it off with
``STRIATE_ACCEL=none`` in the environment or :func:`set_enabled(False)
<set_enabled>`; ``STRIATE_DNNL_LIB`` names a ``libdnnl.so.3`` to use instead
of the wheel's (see ``dnnl.py``).

Threads: oneDNN runs on OpenMP, NumPy's matrix products on OpenBLAS, and
two pools of threads that each wait for work by spinning take the cores
from one another. One setting serves both: oneDNN takes the thread count
OpenBLAS read when NumPy loaded (``OPENBLAS_NUM_THREADS``, else
``OMP_NUM_THREADS``, else every core); while the fast route is on, OpenBLAS
runs on one thread (what it has left, the linear layers and batch norm's
per-channel dot products, is small) and gets its count back when the route
is switched off; and OpenMP's idle threads sleep at once rather than spin
(``OMP_WAIT_POLICY`` is set to ``PASSIVE`` unless it is already set).
"""
import os

import numpy as np

__all__ = ["available", "convolution", "describe", "enabled", "route_summary", "set_enabled"]

_switch = None      # None: follow STRIATE_ACCEL; True/False: set_enabled
_context = None     # the loaded library's Context, once loaded
_load_error = None  # why the library could not be loaded, once tried
_plans = {}         # convolution shape -> Plan, or None where oneDNN refused it


def _from_environment():
    value = os.environ.get("STRIATE_ACCEL", "").strip().lower()
    if value in ("", "onednn", "auto"):
        return True
    if value in ("none", "numpy", "off", "0"):
        return False
    raise ValueError(f"STRIATE_ACCEL={value!r}: expected 'none' (the NumPy route) or "
                     f"'onednn' (the default: oneDNN when installed)")


def set_enabled(flag):
    """Route float32 convolutions to oneDNN (True, the default when it is
    installed) or to NumPy (False); overrides ``STRIATE_ACCEL``, which
    ``None`` follows again."""
    global _switch
    if flag is not None and not isinstance(flag, bool):
        raise TypeError(f"set_enabled: expected True, False or None, got {flag!r}")
    _switch = flag


def _switched_on():
    on = _from_environment() if _switch is None else _switch
    if _context is not None:
        _blas_threads(1 if on else _thread_count())
    return on


_blas_count = None  # the thread count last given to OpenBLAS, None: never set
_blas_setter = False  # OpenBLAS's set_num_threads, None where not found


def _blas_threads(count):
    """Set OpenBLAS's thread count (NumPy's, found among the loaded libraries)."""
    global _blas_count, _blas_setter
    if count == _blas_count:
        return
    if _blas_setter is False:
        _blas_setter = _find_blas_setter()
    if _blas_setter is not None:
        _blas_setter(count)
    _blas_count = count


def _find_blas_setter():
    import ctypes

    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for name in ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
                     "openblas_set_num_threads64_", "openblas_set_num_threads"):
            if hasattr(library, name):
                setter = getattr(library, name)
                setter.argtypes, setter.restype = [ctypes.c_int], None
                return setter
    return None


def _thread_count():
    """The thread count OpenBLAS read at NumPy's import (its own order of variables)."""
    for name in ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    return os.cpu_count() or 1


def _load():
    """The :class:`Context`, loading the library on first call; None if it can't be."""
    global _context, _load_error
    if _context is None and _load_error is None:
        # libgomp reads its wait policy once, when it loads with oneDNN
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        from . import dnnl
        from .conv import Context

        try:
            library = dnnl.load()
            _context = Context(library)
            library.cdll.omp_set_num_threads(_thread_count())
        except OSError as error:
            _load_error = str(error)
    return _context


def available():
    """True if oneDNN can be loaded (whatever the switch says)."""
    return _load() is not None


def enabled():
    """True if float32 convolutions take the oneDNN route."""
    return _switched_on() and available()


def describe():
    """The route convolutions take, in words: "oneDNN 3.2.0 (avx512_core)",
    or "NumPy" with the reason."""
    if not _switched_on():
        return "NumPy (oneDNN switched off)"
    context = _load()
    if context is None:
        if os.environ.get("STRIATE_DNNL_LIB") or _wheel_installed():
            return f"NumPy (oneDNN failed to load: {_load_error})"
        return 'NumPy (oneDNN not installed: pip install "striate[fast]")'
    version = ".".join(map(str, context.lib.version))
    return f"oneDNN {version} ({context.lib.isa}, {_thread_count()} threads)"


def _wheel_installed():
    from importlib import metadata

    try:
        metadata.distribution("onednn-cpu-gomp")
        return True
    except metadata.PackageNotFoundError:
        return False


def convolution(x, w, bias, stride, pads, dilation, groups, training):
    """The oneDNN plan for this 2-d convolution, or None for the NumPy route.

    ``x`` (N, C, H, W) and ``w`` (O, C/G, KH, KW) are arrays; ``bias`` says
    whether there is one; ``pads`` are ((top, bottom), (left, right));
    ``training`` asks for a plan that can also compute gradients.
    """
    if x.dtype.name != "float32" or w.dtype.name != "float32" or x.ndim != 4:
        return None
    if not _switched_on() or _load() is None:
        return None
    key = (x.shape, w.shape, bool(bias), tuple(stride), tuple(pads), tuple(dilation), groups,
           bool(training))
    if key not in _plans:
        from .conv import Plan, _lock
        from .dnnl import DnnlError

        with _lock:
            try:
                _plans[key] = Plan(_context, *key)
            except DnnlError:
                _plans[key] = None  # oneDNN has no kernel for it: NumPy's route serves
    return _plans[key]


def as_input(array):
    """``array`` in a layout the plans read (C order, channel-major or NHWC),
    copying otherwise."""
    from .conv import channel_major, nhwc

    if array.flags.c_contiguous or channel_major(array) or nhwc(array):
        return array
    return np.ascontiguousarray(array)


def route_summary():
    """Which convolution shapes met so far took oneDNN, with the kernels it
    chose, and how many it refused (those took the NumPy route)."""
    taken = [plan for plan in _plans.values() if plan is not None]
    kernels = {}
    for plan in taken:
        for name in plan.implementations().values():
            kernels[name] = kernels.get(name, 0) + 1
    refused = sum(plan is None for plan in _plans.values())
    listed = ", ".join(f"{name} x{count}" for name, count in sorted(kernels.items()))
    return (f"{len(taken)} convolution shapes on oneDNN (kernels: {listed or 'none'}), "
            f"{refused} refused (NumPy)")
