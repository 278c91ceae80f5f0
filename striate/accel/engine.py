"""What every oneDNN plan shares: the engine and stream, primitives run on
NumPy buffers, memory layouts, and the handles a plan owns.

A *plan* (a convolution's, a batch norm's, a ReLU's, a max pool's) is made
once per shape and cached by ``striate/accel/__init__.py``. It creates
oneDNN objects (memory descriptors, primitive descriptors, primitives,
memory objects, reorders) and destroys them when it is dropped: the cache
holds a bounded number of plans, so a program that meets ever new shapes
(a sweep over image sizes, a served model fed odd inputs) does not grow
without end.

Layouts, for a 4-d (N, C, H, W) array (:func:`layout_of`):

* *plain*: C order, N C H W;
* *channels-last* (NHWC): memory ordered N H W C, what oneDNN's fast
  kernels read and write without any copy, and what the fast route returns;
* *channel-major*: memory ordered C N H W, what the NumPy route returns.
"""
import ctypes
import threading

import numpy as np

from . import dnnl

#: one call at a time: the scratch buffers, memory objects and stream are shared
lock = threading.Lock()
#: buffers whose contents live only during one call, by role; grown as needed
_scratch = {}


def scratch(role, nbytes):
    """A float32 buffer of at least ``nbytes`` for ``role``, reused call after call."""
    buffer = _scratch.get(role)
    if buffer is None or buffer.nbytes < nbytes:
        buffer = _scratch[role] = np.empty((nbytes + 3) // 4, np.float32)
    return buffer


def fresh(nbytes):
    """A new float32 buffer of at least ``nbytes``."""
    return np.empty((nbytes + 3) // 4, np.float32)


# --------------------------------------------------------------------------- layouts


def c_strides(shape):
    return tuple(int(np.prod(shape[i + 1:], dtype=np.int64)) for i in range(len(shape)))


def nhwc_strides(shape):
    n, c, h, w = shape
    return (h * w * c, 1, w * c, c)


def layout_of(array):
    """The memory order of an (N, C, *S) array among those the plans read as
    they lie: "channels-last" ((N, *S, C): NHWC for images), "plain" (C
    order) or "channel-major" ((C, N, *S)); None for any other."""
    if array.ndim > 2 and array.transpose(0, *range(2, array.ndim), 1).flags.c_contiguous:
        return "channels-last"
    if array.flags.c_contiguous:
        return "plain"
    if array.ndim >= 2 and array.swapaxes(0, 1).flags.c_contiguous:
        return "channel-major"
    return None


def empty_nhwc(shape):
    """A new float32 (N, C, H, W) array laid out N H W C."""
    n, c, h, w = shape
    return np.empty((n, h, w, c), np.float32).transpose(0, 3, 1, 2)


def dense(array):
    """True if ``array`` fills one block of memory without gaps, in some
    order of its axes (C order, NHWC, channel-major, ...): elementwise work
    can then run over it as one flat run of values."""
    if array.flags.c_contiguous:
        return True
    expected = array.itemsize
    for size, stride in sorted(zip(array.shape, array.strides), key=lambda pair: pair[1]):
        if size != 1 and stride != expected:
            return False
        expected *= size
    return True


def same_layout(a, b):
    """True if ``a`` and ``b`` (same shape) lie in memory in the same order."""
    return a.shape == b.shape and all(
        sa == sb for sa, sb, size in zip(a.strides, b.strides, a.shape) if size != 1)


def in_layout_of(array, like):
    """``array`` itself if it lies like ``like``, else a copy that does."""
    if same_layout(array, like):
        return array
    out = np.empty_like(like)
    out[...] = array
    return out


# --------------------------------------------------------------------------- engine


class Context:
    """The CPU engine and its stream (one per process, kept to its end)."""

    def __init__(self, library):
        self.lib = library
        self.engine, self.stream = dnnl.handle(), dnnl.handle()
        library.call("dnnl_engine_create", ctypes.byref(self.engine), dnnl.CPU, 0)
        library.call("dnnl_stream_create", ctypes.byref(self.stream), self.engine,
                     dnnl.STREAM_DEFAULT_FLAGS)


class Primitive:
    """A primitive with one memory object per argument, executed on buffers."""

    def __init__(self, owner, pd, roles):
        lib = owner.context.lib
        self.lib, self.stream = lib, owner.context.stream
        self.handle = owner.own("dnnl_primitive_destroy", "dnnl_primitive_create", pd)
        self.roles = list(roles)
        self.memories = [owner.own("dnnl_memory_destroy", "dnnl_memory_create", md,
                                   owner.context.engine, None) for md in roles.values()]
        self.args = (dnnl.ExecArg * len(self.roles))(
            *[dnnl.ExecArg(dnnl.ARG[role], memory) for role, memory in
              zip(self.roles, self.memories)])
        self.addresses = [None] * len(self.roles)  # what each memory object points at now

    def __call__(self, **buffers):
        # the hot path of the fast route (hundreds of calls a training step):
        # the C functions are called directly, their status checked here
        cdll = self.lib.cdll
        addresses = self.addresses
        for i, (role, memory) in enumerate(zip(self.roles, self.memories)):
            where = buffers[role].__array_interface__["data"][0]
            if where != addresses[i]:  # scratch buffers come back at the same address
                _check(cdll.dnnl_memory_set_data_handle(memory, where),
                       "dnnl_memory_set_data_handle")
                addresses[i] = where
        _check(cdll.dnnl_primitive_execute(self.handle, self.stream, len(addresses), self.args),
               "dnnl_primitive_execute")
        _check(cdll.dnnl_stream_wait(self.stream), "dnnl_stream_wait")


def _check(code, function):
    if code != dnnl.SUCCESS:
        raise dnnl.DnnlError(function, code)


class Plan:
    """The oneDNN objects made for one shape of one op, destroyed with the plan.

    Subclasses build their primitives in ``__init__`` through :meth:`own`,
    :meth:`tagged`, :meth:`strided`, :meth:`primitive` and :meth:`reorder`,
    which note every handle made for :meth:`close`.
    """

    def __init__(self, context):
        self.context, self.lib = context, context.lib
        self._handles = []   # (destroy function, handle), in the order made
        self._cached = {}    # descriptors and reorders made on demand, by key

    def own(self, destroy, create, *arguments):
        """Call ``create(&handle, *arguments)`` and note ``handle`` for ``destroy``."""
        handle = dnnl.handle()
        self.lib.call(create, ctypes.byref(handle), *arguments)
        self._handles.append((destroy, handle))
        return handle

    def close(self):
        """Destroy every handle this plan made, newest first."""
        handles, self._handles, self._cached = self._handles, [], {}
        for destroy, handle in reversed(handles):
            self.lib.raw(destroy, handle)

    def __del__(self):
        try:
            self.close()
        except Exception:  # at interpreter exit the library may already be gone
            pass

    # ---------------------------------------------------------------- descriptors

    def tagged(self, shape, tag, data_type=dnnl.F32):
        return self.own("dnnl_memory_desc_destroy", "dnnl_memory_desc_create_with_tag",
                        len(shape), dnnl.dims(shape), data_type, tag)

    def strided(self, shape, strides):
        """The descriptor of a float32 array of ``shape`` with element ``strides``."""
        return self.own("dnnl_memory_desc_destroy", "dnnl_memory_desc_create_with_strides",
                        len(shape), dnnl.dims(shape), dnnl.F32, dnnl.dims(strides))

    def primitive_desc(self, create, *arguments):
        return self.own("dnnl_primitive_desc_destroy", create, self.context.engine, *arguments)

    def primitive(self, pd, roles):
        """A :class:`Primitive` of ``pd`` taking the arguments ``roles`` (name -> md)."""
        return Primitive(self, pd, roles)

    def query(self, pd, role):
        """The descriptor ``pd`` chose for ``role`` (owned by ``pd``)."""
        return self.lib.raw("dnnl_primitive_desc_query_md", pd, dnnl.QUERY[role], 0)

    def size(self, md):
        return self.lib.raw("dnnl_memory_desc_get_size", md)

    def equal(self, a, b):
        return bool(self.lib.raw("dnnl_memory_desc_equal", a, b))

    def implementation(self, pd):
        name = ctypes.c_char_p()
        self.lib.call("dnnl_primitive_desc_query", pd, dnnl.QUERY_IMPL_INFO_STR, 0,
                      ctypes.byref(name))
        return name.value.decode()

    def reorder(self, src_md, dst_md, key):
        """A reorder primitive from ``src_md`` to ``dst_md``, made once per ``key``."""
        primitive = self._cached.get(("reorder",) + key)
        if primitive is None:
            pd = self.own("dnnl_primitive_desc_destroy", "dnnl_reorder_primitive_desc_create",
                          src_md, self.context.engine, dst_md, self.context.engine, None)
            primitive = self.primitive(pd, {"from": src_md, "to": dst_md})
            self._cached[("reorder",) + key] = primitive
        return primitive
