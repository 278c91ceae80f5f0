"""A ``ctypes`` binding of the part of oneDNN's C API (3.x) the ops use.

oneDNN is the library of CPU kernels PyTorch itself runs its convolutions
on. This module finds ``libdnnl.so.3``, declares the signatures of the
functions called, and holds the enum values and structures they take. Every
value here is checked against oneDNN's own headers by ``tests/test_accel.py``
(the ``onednn-devel-cpu-gomp`` wheel ships them), because ``ctypes`` cannot
see a header: a wrong number would be passed on silently.

Where the library is looked for, in order:

1. ``STRIATE_DNNL_LIB``: the path of a ``libdnnl.so.3`` (a distribution's,
   a conda environment's, one built from source);
2. PyPI's ``onednn-cpu-gomp`` wheel (``pip install "striate[fast]"``), which
   puts the library beside the Python installation's ``lib/``;
3. the dynamic loader's own search (``LD_LIBRARY_PATH``, ldconfig).

Importing this module loads ``ctypes`` only; :func:`load` opens the library.
"""
import ctypes
import os

# --------------------------------------------------------------------------- values from the headers

#: enum values (dnnl_common_types.h, dnnl_types.h), by their C names
ENUMS = {
    "dnnl_success": 0,
    "dnnl_unimplemented": 3,
    "dnnl_f32": 3,
    "dnnl_cpu": 1,
    "dnnl_stream_default_flags": 1,
    "dnnl_format_tag_any": 1,
    "dnnl_a": 2,
    "dnnl_abcd": 5,
    "dnnl_abcde": 6,
    "dnnl_acdb": 22,
    "dnnl_forward_training": 64,
    "dnnl_forward_inference": 96,
    "dnnl_backward": 128,
    "dnnl_backward_data": 160,
    "dnnl_backward_weights": 192,
    "dnnl_convolution_direct": 1,
    "dnnl_binary_add": 0x1fff0,
    "dnnl_eltwise_relu_use_dst_for_bwd": 0x100,
    "dnnl_pooling_max": 0x1ff,
    "dnnl_use_global_stats": 0x1,
    "dnnl_use_scale": 0x2,
    "dnnl_use_shift": 0x4,
    "dnnl_query_impl_info_str": 8,
    "dnnl_query_src_md": 129,
    "dnnl_query_diff_src_md": 130,
    "dnnl_query_weights_md": 131,
    "dnnl_query_diff_weights_md": 132,
    "dnnl_query_dst_md": 133,
    "dnnl_query_diff_dst_md": 134,
    "dnnl_query_workspace_md": 135,
}

#: preprocessor constants (dnnl_common_types.h, dnnl_types.h)
MACROS = {
    "DNNL_MAX_NDIMS": 12,
    "DNNL_ARG_SRC": 1,
    "DNNL_ARG_SRC_1": 2,
    "DNNL_ARG_DST": 17,
    "DNNL_ARG_FROM": 1,
    "DNNL_ARG_TO": 17,
    "DNNL_ARG_WEIGHTS": 33,
    "DNNL_ARG_BIAS": 41,
    "DNNL_ARG_MEAN": 49,
    "DNNL_ARG_VARIANCE": 50,
    "DNNL_ARG_SCALE": 51,
    "DNNL_ARG_SHIFT": 52,
    "DNNL_ARG_WORKSPACE": 64,
    "DNNL_ARG_DIFF_SRC": 129,
    "DNNL_ARG_DIFF_DST": 145,
    "DNNL_ARG_DIFF_WEIGHTS": 161,
    "DNNL_ARG_DIFF_BIAS": 169,
    "DNNL_ARG_DIFF_SCALE": 255,
    "DNNL_ARG_DIFF_SHIFT": 256,
}

#: dnnl_cpu_isa_t values, by the name :func:`describe` prints
CPU_ISA = {
    0x0: "default", 0x1: "sse41", 0x3: "avx", 0x7: "avx2", 0xf: "avx2_vnni",
    0x1f: "avx2_vnni_2", 0x27: "avx512_core", 0x67: "avx512_core_vnni",
    0xe7: "avx512_core_bf16", 0x1ef: "avx512_core_fp16", 0xfef: "avx512_core_amx",
    0x1fef: "avx512_core_amx_fp16",
}

SUCCESS, UNIMPLEMENTED = ENUMS["dnnl_success"], ENUMS["dnnl_unimplemented"]
F32, CPU = ENUMS["dnnl_f32"], ENUMS["dnnl_cpu"]
STREAM_DEFAULT_FLAGS = ENUMS["dnnl_stream_default_flags"]
ANY, TAG_A, TAG_ABCD, TAG_ABCDE, TAG_NHWC = (
    ENUMS[k] for k in ("dnnl_format_tag_any", "dnnl_a", "dnnl_abcd", "dnnl_abcde", "dnnl_acdb"))
FORWARD_TRAINING, FORWARD_INFERENCE = ENUMS["dnnl_forward_training"], ENUMS["dnnl_forward_inference"]
BACKWARD, BACKWARD_DATA = ENUMS["dnnl_backward"], ENUMS["dnnl_backward_data"]
CONVOLUTION_DIRECT = ENUMS["dnnl_convolution_direct"]
BINARY_ADD = ENUMS["dnnl_binary_add"]
RELU_USE_DST, POOLING_MAX = ENUMS["dnnl_eltwise_relu_use_dst_for_bwd"], ENUMS["dnnl_pooling_max"]
USE_GLOBAL_STATS, USE_SCALE, USE_SHIFT = (ENUMS[k] for k in ("dnnl_use_global_stats",
                                                              "dnnl_use_scale", "dnnl_use_shift"))
QUERY_IMPL_INFO_STR = ENUMS["dnnl_query_impl_info_str"]
QUERY = {role: ENUMS[f"dnnl_query_{role}_md"] for role in
         ("src", "diff_src", "weights", "diff_weights", "dst", "diff_dst", "workspace")}
ARG = {role: MACROS[f"DNNL_ARG_{role.upper()}"] for role in
       ("src", "src_1", "dst", "from", "to", "weights", "bias", "diff_src", "diff_dst",
        "diff_weights",
        "diff_bias", "mean", "variance", "scale", "shift", "workspace", "diff_scale",
        "diff_shift")}

# --------------------------------------------------------------------------- types

handle = ctypes.c_void_p        # every dnnl_*_t handle is an opaque pointer
status = ctypes.c_int           # dnnl_status_t
dims_t = ctypes.c_int64 * MACROS["DNNL_MAX_NDIMS"]   # dnnl_dims_t: int64_t[DNNL_MAX_NDIMS]


class ExecArg(ctypes.Structure):
    """``dnnl_exec_arg_t``: one argument of a primitive's execution."""
    _fields_ = [("arg", ctypes.c_int), ("memory", handle)]


class Version(ctypes.Structure):
    """``dnnl_version_t``."""
    _fields_ = [("major", ctypes.c_int), ("minor", ctypes.c_int), ("patch", ctypes.c_int),
                ("hash", ctypes.c_char_p), ("cpu_runtime", ctypes.c_uint),
                ("gpu_runtime", ctypes.c_uint)]


#: name -> (result type, argument types), as declared in dnnl.h and dnnl_common.h
P = ctypes.POINTER
SIGNATURES = {
    "dnnl_version": (P(Version), []),
    "dnnl_get_effective_cpu_isa": (ctypes.c_int, []),
    "dnnl_engine_create": (status, [P(handle), ctypes.c_int, ctypes.c_size_t]),
    "dnnl_stream_create": (status, [P(handle), handle, ctypes.c_uint]),
    "dnnl_stream_wait": (status, [handle]),
    "dnnl_memory_desc_create_with_tag":
        (status, [P(handle), ctypes.c_int, dims_t, ctypes.c_int, ctypes.c_int]),
    "dnnl_memory_desc_create_with_strides":
        (status, [P(handle), ctypes.c_int, dims_t, ctypes.c_int, dims_t]),
    "dnnl_memory_desc_clone": (status, [P(handle), handle]),
    "dnnl_memory_desc_destroy": (status, [handle]),
    "dnnl_memory_desc_get_size": (ctypes.c_size_t, [handle]),
    "dnnl_memory_desc_equal": (ctypes.c_int, [handle, handle]),
    "dnnl_memory_create": (status, [P(handle), handle, handle, ctypes.c_void_p]),
    "dnnl_memory_set_data_handle": (status, [handle, ctypes.c_void_p]),
    "dnnl_memory_destroy": (status, [handle]),
    "dnnl_convolution_forward_primitive_desc_create":
        (status, [P(handle), handle, ctypes.c_int, ctypes.c_int, handle, handle, handle, handle,
                  dims_t, dims_t, dims_t, dims_t, handle]),
    "dnnl_convolution_backward_data_primitive_desc_create":
        (status, [P(handle), handle, ctypes.c_int, handle, handle, handle,
                  dims_t, dims_t, dims_t, dims_t, handle, handle]),
    "dnnl_convolution_backward_weights_primitive_desc_create":
        (status, [P(handle), handle, ctypes.c_int, handle, handle, handle, handle,
                  dims_t, dims_t, dims_t, dims_t, handle, handle]),
    "dnnl_binary_primitive_desc_create": (status, [P(handle), handle, ctypes.c_int, handle, handle,
                                                   handle, handle]),
    "dnnl_eltwise_forward_primitive_desc_create":
        (status, [P(handle), handle, ctypes.c_int, ctypes.c_int, handle, handle, ctypes.c_float,
                  ctypes.c_float, handle]),
    "dnnl_eltwise_backward_primitive_desc_create":
        (status, [P(handle), handle, ctypes.c_int, handle, handle, handle, ctypes.c_float,
                  ctypes.c_float, handle, handle]),
    "dnnl_pooling_forward_primitive_desc_create":
        (status, [P(handle), handle, ctypes.c_int, ctypes.c_int, handle, handle,
                  dims_t, dims_t, dims_t, dims_t, dims_t, handle]),
    "dnnl_pooling_backward_primitive_desc_create":
        (status, [P(handle), handle, ctypes.c_int, handle, handle,
                  dims_t, dims_t, dims_t, dims_t, dims_t, handle, handle]),
    "dnnl_batch_normalization_forward_primitive_desc_create":
        (status, [P(handle), handle, ctypes.c_int, handle, handle, ctypes.c_float, ctypes.c_uint,
                  handle]),
    "dnnl_batch_normalization_backward_primitive_desc_create":
        (status, [P(handle), handle, ctypes.c_int, handle, handle, handle, ctypes.c_float,
                  ctypes.c_uint, handle, handle]),
    "dnnl_reorder_primitive_desc_create": (status, [P(handle), handle, handle, handle, handle,
                                                    handle]),
    "dnnl_primitive_desc_query_md": (handle, [handle, ctypes.c_int, ctypes.c_int]),
    "dnnl_primitive_desc_query": (status, [handle, ctypes.c_int, ctypes.c_int, ctypes.c_void_p]),
    "dnnl_primitive_desc_destroy": (status, [handle]),
    "dnnl_primitive_create": (status, [P(handle), handle]),
    "dnnl_primitive_execute": (status, [handle, handle, ctypes.c_int, P(ExecArg)]),
    "dnnl_primitive_destroy": (status, [handle]),
}


class DnnlError(RuntimeError):
    """A oneDNN call returned a status other than ``dnnl_success``."""

    def __init__(self, function, code):
        super().__init__(f"{function} returned oneDNN status {code}")
        self.function, self.code = function, code


# --------------------------------------------------------------------------- finding and loading


def wheel_file(distribution, ending):
    """The real path of the installed ``distribution``'s file whose path ends
    with ``ending``, or None (not installed, or no such file)."""
    from importlib import metadata

    try:
        files = metadata.distribution(distribution).files or []
    except metadata.PackageNotFoundError:
        return None
    for file in files:
        if str(file).replace("\\", "/").endswith(ending):
            path = str(file.locate())
            if os.path.exists(path):
                return os.path.realpath(path)
    return None


def wheel_library():
    """The path of ``libdnnl.so.3`` from the ``onednn-cpu-gomp`` wheel, or None."""
    return wheel_file("onednn-cpu-gomp", "/libdnnl.so.3")


def candidates():
    """(where from, path or soname) to try, in order."""
    named = os.environ.get("STRIATE_DNNL_LIB", "").strip()
    if named:
        return [("STRIATE_DNNL_LIB", named)]
    found = wheel_library()
    return ([("onednn-cpu-gomp", found)] if found else []) + [("the loader's path", "libdnnl.so.3")]


class Library:
    """The loaded library: its functions as attributes, each raising
    :class:`DnnlError` on a failed status (except where noted)."""

    def __init__(self, path):
        self.path = path
        self.cdll = ctypes.CDLL(path)
        for name, (result, arguments) in SIGNATURES.items():
            function = getattr(self.cdll, name)
            function.restype, function.argtypes = result, arguments
        version = self.cdll.dnnl_version().contents
        self.version = (version.major, version.minor, version.patch)
        if version.major != 3:
            raise OSError(f"{path} is oneDNN {'.'.join(map(str, self.version))}; "
                          f"this binding speaks the 3.x API")
        self.isa = CPU_ISA.get(self.cdll.dnnl_get_effective_cpu_isa(), "unknown ISA")

    def call(self, name, *arguments):
        code = getattr(self.cdll, name)(*arguments)
        if code != SUCCESS:
            raise DnnlError(name, code)

    def raw(self, name, *arguments):
        """A call whose result is returned as it is (no status check)."""
        return getattr(self.cdll, name)(*arguments)


def load():
    """The first library of :func:`candidates` that opens, or raise OSError
    with the reason each one failed."""
    reasons = []
    for origin, path in candidates():
        try:
            return Library(path)
        except (OSError, AttributeError) as error:
            reasons.append(f"{origin} ({path}): {error}")
    raise OSError("; ".join(reasons))


def dims(values):
    """A ``dnnl_dims_t`` holding ``values``."""
    array = dims_t()
    for i, value in enumerate(values):
        array[i] = int(value)
    return array
