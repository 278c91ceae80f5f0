"""The fast route: float32 convolutions (and the passes between them) on
oneDNN, when it is installed.

``pip install "striate[fast]"`` adds oneDNN (PyPI's ``onednn-cpu-gomp``, the
library of CPU kernels PyTorch runs its own convolutions on). The ops then
ask this room, per call, whether it takes their work:

* :func:`convolution`: float32 2-d convolutions of any stride, padding,
  dilation and groups that oneDNN implements (``conv.py``);
* :func:`batch_norm`, :func:`relu`, :func:`add`, :func:`max_pool`: the
  passes that sit between convolutions, on every thread rather than NumPy's
  one, and on the NHWC arrays the convolutions return, without a copy
  (``norm.py``, ``eltwise.py``, ``pool.py``).

Everything else, and every call when oneDNN is absent or switched off,
takes the NumPy route, which stays the readable reference: float64 (the
finite-difference checks), 1-d and 3-d convolutions, transposed
convolutions, layouts oneDNN does not read.

This is the only room that loads a native library, and it does so on the
first float32 op that could take the route, not at ``import striate``. Switch it off with
``STRIATE_ACCEL=none`` in the environment or :func:`set_enabled(False)
<set_enabled>`; ``STRIATE_DNNL_LIB`` names a ``libdnnl.so.3`` to use instead
of the wheel's (see ``dnnl.py``).

Threads: oneDNN runs on OpenMP, NumPy's matrix products on OpenBLAS, and
two pools of threads that each wait for work by spinning take the cores
from one another. One setting serves both: oneDNN takes the thread count
OpenBLAS read when NumPy loaded (``OPENBLAS_NUM_THREADS``, else
``OMP_NUM_THREADS``, else every core); while the fast route is on, OpenBLAS
runs on one thread (what it has left, the linear layers, is small) and gets
its count back when the route is switched off; and OpenMP's idle threads
spin only briefly before they sleep (``GOMP_SPINCOUNT`` is set to
:data:`SPIN_COUNT`, 10,000 checks, a fraction of a millisecond, unless
``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` is set already). libgomp's default, 300,000 checks,
would leave a thread spinning for milliseconds after each call while NumPy
works; sleeping at once (``OMP_WAIT_POLICY=PASSIVE``) costs ~50 us to wake
the thread at every oneDNN call, and a training step makes hundreds of
them: on the small ResNet, a weight reorder took 70 us asleep, 19 us with
the brief spin (``docs/speed.md``).
"""
import os
from collections import OrderedDict

import numpy as np

__all__ = ["add", "available", "batch_norm", "convolution", "describe", "enabled", "max_pool",
           "relu", "route_summary", "set_enabled"]

_switch = None      # None: follow STRIATE_ACCEL; True/False: set_enabled
_context = None     # the loaded library's Context, once loaded
_load_error = None  # why the library could not be loaded, once tried
#: (op, shape, settings) -> plan, or None where oneDNN refused it; the least
#: recently used are dropped (and their oneDNN objects destroyed) past the bound
_plans = OrderedDict()
PLAN_CACHE_SIZE = 256
_FLOAT32 = np.dtype(np.float32)
#: below this many values elementwise passes stay on NumPy: a oneDNN call costs ~20 us
ELEMENTWISE_MIN_SIZE = 16384
#: how many times OpenMP's idle threads check for work before they sleep
#: (libgomp's GOMP_SPINCOUNT; see the module docstring)
SPIN_COUNT = 10000


_read = {}  # STRIATE_ACCEL's value -> the switch it gives (read at every op call)


def _from_environment():
    raw = os.environ.get("STRIATE_ACCEL", "")
    if raw not in _read:
        value = raw.strip().lower()
        if value not in ("", "onednn", "auto", "none", "numpy", "off", "0"):
            raise ValueError(f"STRIATE_ACCEL={value!r}: expected 'none' (the NumPy route) or "
                             f"'onednn' (the default: oneDNN when installed)")
        _read[raw] = value in ("", "onednn", "auto")
    return _read[raw]


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
        # libgomp reads how long idle threads spin once, when it loads with oneDNN
        if "OMP_WAIT_POLICY" not in os.environ:
            os.environ.setdefault("GOMP_SPINCOUNT", str(SPIN_COUNT))
        from . import dnnl
        from .engine import Context

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
    threads = _thread_count()
    return f"oneDNN {version} ({context.lib.isa}, {threads} thread{'s' if threads != 1 else ''})"


def _wheel_installed():
    from importlib import metadata

    try:
        metadata.distribution("onednn-cpu-gomp")
        return True
    except metadata.PackageNotFoundError:
        return False


def _ready(array):
    """True if ``array`` may take the fast route: float32, route on, library loaded."""
    return array.dtype == _FLOAT32 and _switched_on() and _load() is not None


def _plan(key, make):
    """The cached plan for ``key``, made by ``make()`` on first use; None
    (the NumPy route) where oneDNN has no implementation for it."""
    if key in _plans:
        _plans.move_to_end(key)
        return _plans[key]
    from .dnnl import DnnlError
    from .engine import lock

    with lock:
        try:
            plan = make()
        except DnnlError:
            plan = None  # oneDNN has no kernel for it: NumPy's route serves
    _plans[key] = plan
    while len(_plans) > PLAN_CACHE_SIZE:
        _plans.popitem(last=False)
    return plan


def convolution(x, w, bias, stride, pads, dilation, groups, training):
    """The oneDNN plan for this 2-d convolution, or None for the NumPy route.

    ``x`` (N, C, H, W) and ``w`` (O, C/G, KH, KW) are arrays; ``bias`` says
    whether there is one; ``pads`` are ((top, bottom), (left, right));
    ``training`` asks for a plan that can also compute gradients.
    """
    if x.ndim != 4 or w.dtype != _FLOAT32 or not _ready(x):
        return None
    from .conv import ConvPlan

    key = ("convolution", x.shape, w.shape, bool(bias), tuple(stride), tuple(pads),
           tuple(dilation), groups, bool(training))
    return _plan(key, lambda: ConvPlan(_context, *key[1:]))


def batch_norm(x, training, eps, has_weight, has_bias):
    """The oneDNN plan for batch norm of ``x`` (N, C, *) in its layout, or None.

    ``training`` normalizes with the batch's statistics (and can give
    gradients); otherwise with the running ones, for inference only.
    """
    if x.ndim < 2 or x.size == 0 or not _ready(x):
        return None
    from .engine import layout_of
    from .norm import BatchNormPlan

    layout = layout_of(x)
    if layout is None:
        return None
    key = ("batch norm", x.shape, layout, bool(training), float(eps), bool(has_weight),
           bool(has_bias))
    return _plan(key, lambda: BatchNormPlan(_context, *key[1:]))


def relu(x):
    """The oneDNN plan for max(x, 0) over ``x``'s memory, or None (small,
    gapped or not float32 arrays stay on NumPy)."""
    if x.size < ELEMENTWISE_MIN_SIZE or not _ready(x):
        return None
    from .eltwise import ReluPlan
    from .engine import dense

    if not dense(x):
        return None
    return _plan(("relu", x.size), lambda: ReluPlan(_context, x.size))


def add(a, b):
    """The oneDNN plan for a + b, or None: both float32, of one shape, filling
    memory in the same order (no broadcasting), and large enough to pay."""
    if a.size < ELEMENTWISE_MIN_SIZE or b.dtype != a.dtype or not _ready(a):
        return None
    from .eltwise import AddPlan
    from .engine import dense, same_layout

    if not (same_layout(a, b) and dense(a)):
        return None
    return _plan(("add", a.size), lambda: AddPlan(_context, a.size))


def max_pool(x, kernel, stride, pads, dilation, training):
    """The oneDNN plan for 2-d max pooling of ``x`` (N, C, H, W), or None.

    ``pads`` are ((top, bottom), (left, right)), padded values never win.
    """
    if x.ndim != 4 or len(kernel) != 2 or not _ready(x):
        return None
    from .engine import layout_of
    from .pool import MaxPoolPlan

    layout = layout_of(x)
    if layout is None:
        return None
    key = ("max pool", x.shape, layout, tuple(kernel), tuple(stride), tuple(pads),
           tuple(dilation), bool(training))
    return _plan(key, lambda: MaxPoolPlan(_context, *key[1:]))


def as_input(array):
    """``array`` in a layout the convolution plans read (C order,
    channel-major or NHWC), copying otherwise."""
    from .engine import layout_of

    if layout_of(array) is not None:
        return array
    return np.ascontiguousarray(array)


def route_summary():
    """Which shapes met so far took oneDNN, with the kernels it chose, and
    how many it refused (those took the NumPy route)."""
    kernels, counts, refused = {}, {}, 0
    for key, plan in _plans.items():
        if plan is None:
            refused += 1
            continue
        counts[key[0]] = counts.get(key[0], 0) + 1
        if key[0] == "convolution":
            for name in plan.implementations().values():
                kernels[name] = kernels.get(name, 0) + 1
    listed = ", ".join(f"{name} x{count}" for name, count in sorted(kernels.items()))
    ops = ", ".join(f"{count} {op}" for op, count in counts.items() if op != "convolution")
    return (f"{counts.get('convolution', 0)} convolution shapes on oneDNN (kernels: "
            f"{listed or 'none'})" + (f", {ops} shapes" if ops else "")
            + f", {refused} refused (NumPy)")
