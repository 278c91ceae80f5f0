"""The fast route (``striate.accel``: convolutions on oneDNN) against the
NumPy route, the binding against oneDNN's headers, and the switch.

Tolerance for float32: the two routes sum the same products in different
orders (oneDNN in blocks of 8 or 16 channels, NumPy's BLAS in its own
panels), so results agree to float32 rounding, not bit for bit. Each output
must be within ``RTOL`` = 1e-5 of the reference's largest magnitude (plus
``RTOL`` relative elementwise); a wrong index or a missing tap errs by the
size of a whole product, orders of magnitude more.

In CI (``.ci/run`` installs ``striate[fast]`` and the headers' wheel) a skip
of this module fails the run (``conftest.py``).
"""
import ctypes
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import striate
import striate.functional as F
from striate import accel, nn, optim

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RTOL = 1e-5

needs_onednn = pytest.mark.skipif(not accel.available(),
                                  reason='oneDNN is not installed: pip install "striate[fast]"')


@pytest.fixture
def route():
    """Switch the route per call; restore the environment's choice afterwards."""
    yield accel.set_enabled
    accel.set_enabled(None)


def child_env(**extra):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [ROOT] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    env.update(extra)
    return env


# --------------------------------------------------------------------------- the binding and the headers


def header_dir():
    """oneDNN's include/oneapi/dnnl, from the onednn-devel-cpu-gomp wheel, or None."""
    from striate.accel import dnnl

    found = dnnl.wheel_file("onednn-devel-cpu-gomp", "oneapi/dnnl/dnnl_types.h")
    return None if found is None else os.path.dirname(found)


def _strip_comments(text):
    return re.sub(r"//[^\n]*", "", re.sub(r"/\*.*?\*/", " ", text, flags=re.S))


def _evaluate(expression, known):
    expression = re.sub(r"\b(0x[0-9a-fA-F]+|\d+)[uUlL]+\b", r"\1", expression.strip())
    if not re.fullmatch(r"[\w\s|+()<>-]+", expression):
        raise ValueError(expression)
    return eval(expression, {"__builtins__": {}}, dict(known))  # names and integers only


def parse_headers(directory):
    """(values of every enum member and integer #define, pointer typedefs,
    enum typedefs, structs {name: [(type, field)]}, prototypes {name: [param types]})."""
    texts = [_strip_comments(open(os.path.join(directory, name)).read())
             for name in sorted(os.listdir(directory)) if name.endswith(".h")]
    values, enum_types, structs, prototypes = {}, set(), {}, {}
    defines = [m for t in texts for m in
               re.findall(r"^\s*#\s*define\s+(DNNL_\w+)[ \t]+([^\n]+)$", t, flags=re.M)]
    for text in texts:
        for body, name in re.findall(r"typedef\s+enum\s*\w*\s*\{(.*?)\}\s*(\w+)\s*;", text,
                                     flags=re.S):
            enum_types.add(name)
            following = 0
            body = re.sub(r"^\s*#[^\n]*$", "", body, flags=re.M)  # #if inside an enum
            for item in (i.strip() for i in body.split(",")):
                if not item:
                    continue
                member, _, expression = (s.strip() for s in item.partition("="))
                following = _evaluate(expression, values) if expression else following
                values[member] = following
                following += 1
        for body, name in re.findall(r"typedef\s+struct\s*\{(.*?)\}\s*(\w+)\s*;", text, flags=re.S):
            fields = [re.match(r"(.*?)(\w+)\s*(\[.*\])?$", f.strip(), flags=re.S)
                      for f in body.split(";") if f.strip()]
            if all(fields):
                structs[name] = [(" ".join(m.group(1).split()) + (m.group(3) or ""), m.group(2))
                                 for m in fields]
        for name, parameters in re.findall(r"DNNL_API\s*\*?\s*(\w+)\s*\(([^)]*)\)\s*;", text):
            parameters = [" ".join(p.split()) for p in parameters.split(",")]
            prototypes[name] = [] if parameters == ["void"] else parameters
    for _ in range(3):  # a #define may name another one
        for name, expression in defines:
            try:
                values[name] = _evaluate(expression, values)
            except Exception:
                pass
    pointers = {name for text in texts for name in
                re.findall(r"typedef\s+(?:const\s+)?struct\s+\w+\s*\*\s*(\w+)\s*;", text)}
    return values, pointers, enum_types, structs, prototypes


@pytest.fixture(scope="module")
def headers():
    directory = header_dir()
    if directory is None:
        pytest.skip("oneDNN's headers are not installed: pip install onednn-devel-cpu-gomp==2023.2.0")
    return directory, parse_headers(directory)


def test_enum_values_and_constants_match_the_headers(headers):
    from striate.accel import dnnl

    _, (values, *_) = headers
    for name, value in {**dnnl.ENUMS, **dnnl.MACROS}.items():
        assert values.get(name) == value, f"{name}: binding {value}, headers {values.get(name)}"
    for value, name in dnnl.CPU_ISA.items():
        assert values.get(f"dnnl_cpu_isa_{name}") == value, f"dnnl_cpu_isa_{name}"


def test_structures_match_the_headers(headers):
    from striate.accel import dnnl

    _, (_, pointers, _, structs, _) = headers
    c_types = {"int": ctypes.c_int, "unsigned": ctypes.c_uint, "const char *": ctypes.c_char_p}
    for struct, name in ((dnnl.ExecArg, "dnnl_exec_arg_t"), (dnnl.Version, "dnnl_version_t")):
        declared = structs[name]
        assert [f for _, f in declared] == [f for f, _ in struct._fields_], name
        for (c_type, field), (_, ours) in zip(declared, struct._fields_):
            expected = ctypes.c_void_p if c_type in pointers else c_types[c_type]
            assert ctypes.sizeof(ours) == ctypes.sizeof(expected), (name, field)
            assert (ours is ctypes.c_char_p) == (expected is ctypes.c_char_p), (name, field)


def test_function_signatures_match_the_headers(headers):
    from striate.accel import dnnl

    _, (values, pointers, enum_types, _, prototypes) = headers

    def kind(c_type):
        bare = c_type.replace("const ", "").strip()
        if bare.endswith("*") or bare.split()[0] in pointers:
            return "pointer"
        base = bare.split()[0]
        if base == "dnnl_dims_t":
            return "dims"
        if base in ("size_t",):
            return "size_t"
        if base in ("int", "unsigned") or base in enum_types:
            return "int"
        if base == "float":
            return "float"
        raise AssertionError(f"type {c_type!r} not classified")

    def ours(t):
        if t is dnnl.dims_t:
            return "dims"
        if t in (ctypes.c_size_t,):
            return "size_t"
        if t in (ctypes.c_int, ctypes.c_uint):
            return "int"
        if t is ctypes.c_float:
            return "float"
        return "pointer"  # c_void_p and POINTER(...)

    assert values["DNNL_MAX_NDIMS"] == len(dnnl.dims_t())
    for name, (_, arguments) in dnnl.SIGNATURES.items():
        declared = prototypes[name]
        # drop the parameter names: the last word of each
        types = [re.sub(r"\s*\w+$", "", p) if not p.endswith("*") else p for p in declared]
        assert [kind(t) for t in types] == [ours(a) for a in arguments], name


COMPILER = shutil.which("cc") or shutil.which("gcc")


@pytest.mark.skipif(COMPILER is None, reason="no C compiler (cc, gcc) to cross-check with")
def test_values_match_what_a_c_compiler_sees(headers, tmp_path):
    """An independent check of the parser above: the compiler reads the headers."""
    from striate.accel import dnnl

    directory, _ = headers
    include = os.path.dirname(os.path.dirname(directory))
    names = list(dnnl.ENUMS) + list(dnnl.MACROS)
    source = tmp_path / "values.c"
    source.write_text(
        "#include <stdio.h>\n#include <stddef.h>\n#include <oneapi/dnnl/dnnl.h>\nint main(void){\n"
        + "".join(f'printf("{n} %lld\\n", (long long)({n}));\n' for n in names)
        + 'printf("sizeof_exec_arg %zu\\n", sizeof(dnnl_exec_arg_t));\n'
        + 'printf("offset_memory %zu\\n", offsetof(dnnl_exec_arg_t, memory));\n'
        + 'printf("sizeof_version %zu\\n", sizeof(dnnl_version_t));\n'
        + 'printf("offset_hash %zu\\n", offsetof(dnnl_version_t, hash));\nreturn 0;}\n')
    binary = tmp_path / "values"
    subprocess.run([COMPILER, "-I", include, str(source), "-o", str(binary)], check=True)
    seen = dict(line.split() for line in subprocess.run(
        [str(binary)], capture_output=True, text=True, check=True).stdout.splitlines())
    for name, value in {**dnnl.ENUMS, **dnnl.MACROS}.items():
        assert int(seen[name]) == value, name
    assert int(seen["sizeof_exec_arg"]) == ctypes.sizeof(dnnl.ExecArg)
    assert int(seen["offset_memory"]) == dnnl.ExecArg.memory.offset
    assert int(seen["sizeof_version"]) == ctypes.sizeof(dnnl.Version)
    assert int(seen["offset_hash"]) == dnnl.Version.hash.offset


# --------------------------------------------------------------------------- the route against NumPy

# (x shape, weight shape, stride, padding, dilation, groups, bias)
SHAPES = [
    ((2, 3, 9, 9), (4, 3, 3, 3), 1, 0, 1, 1, True),
    ((2, 3, 9, 9), (4, 3, 3, 3), 1, 1, 1, 1, False),
    ((3, 1, 28, 28), (6, 1, 5, 5), 1, 2, 1, 1, True),          # LeNet-5's first layer
    ((3, 6, 14, 14), (16, 6, 5, 5), 1, 0, 1, 1, True),         # and its second
    ((2, 16, 12, 12), (32, 16, 3, 3), 2, 1, 1, 1, False),      # a ResNet downsampling 3x3
    ((2, 16, 12, 12), (32, 16, 1, 1), 2, 0, 1, 1, False),      # its 1x1 shortcut
    ((2, 8, 7, 7), (16, 8, 1, 1), 1, 0, 1, 1, True),           # 1x1
    ((2, 4, 9, 9), (6, 2, 3, 3), 2, 1, 1, 2, True),            # groups
    ((2, 4, 10, 9), (4, 1, 3, 3), 1, 2, 2, 4, True),           # depthwise, dilated
    ((2, 4, 10, 9), (8, 1, 3, 3), 1, 1, 1, 4, False),          # depthwise multiplier 2
    ((1, 5, 11, 8), (7, 5, 3, 2), (2, 1), (1, 0), (1, 2), 1, True),  # odd, asymmetric
    ((2, 3, 13, 13), (5, 3, 4, 4), 3, 2, 1, 1, True),          # even kernel, stride 3
    ((2, 3, 8, 8), (4, 3, 3, 3), 1, "same", 2, 1, True),       # 'same', dilated
    ((2, 2, 8, 7), (4, 2, 2, 2), 1, "same", 1, 1, True),       # 'same' with an even kernel
    ((1, 32, 5, 5), (48, 32, 3, 3), 1, 1, 1, 1, True),         # channels past one block
    # a strided 1x1 on few channels: oneDNN 3.2's NHWC weight gradient wrote
    # past its buffers here (a crash); such plans take blocked layouts
    ((2, 8, 56, 56), (16, 8, 1, 1), 2, 0, 1, 1, False),
]


def _run(shape, route_on, route, dtype=np.float32, layout=None):
    x_shape, w_shape, stride, padding, dilation, groups, bias = shape
    rng = np.random.default_rng(3)
    x = rng.standard_normal(x_shape).astype(dtype)   # negative inputs too
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype) if bias else None
    if layout == "channel-major":
        x = np.ascontiguousarray(x.swapaxes(0, 1)).swapaxes(0, 1)
    elif layout == "strided":
        x = np.repeat(x, 2, axis=3)[..., ::2]
    route(route_on)
    X, W = striate.Tensor(x, requires_grad=True), striate.Tensor(w, requires_grad=True)
    B = striate.Tensor(b, requires_grad=True) if bias else None
    y = F.conv2d(X, W, B, stride=stride, padding=padding, dilation=dilation, groups=groups)
    upstream = np.random.default_rng(4).standard_normal(y.shape).astype(dtype)
    y.backward(upstream)
    grads = [X.grad, W.grad] + ([B.grad] if bias else [])
    return [y.data] + [np.asarray(g.data if hasattr(g, "data") else g) for g in grads]


def _close(ours, reference, what):
    scale = np.abs(reference).max()
    assert ours.shape == reference.shape, what
    np.testing.assert_allclose(ours, reference, rtol=RTOL, atol=RTOL * scale, err_msg=what)


def _takes_onednn(shape):
    x_shape, w_shape, stride, padding, dilation, groups, bias = shape
    from striate.functional.arguments import padding_pairs, positive_tuple

    stride, dilation = positive_tuple(stride, 2, "stride", "t"), positive_tuple(dilation, 2, "d", "t")
    pads = padding_pairs(padding, 2, w_shape[2:], stride, dilation, "t")
    x, w = np.zeros(x_shape, np.float32), np.zeros(w_shape, np.float32)
    return accel.convolution(x, w, bias, stride, pads, dilation, groups, True) is not None


@needs_onednn
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}-{s[1]}-s{s[2]}-p{s[3]}-d{s[4]}-g{s[5]}")
def test_every_pass_matches_the_numpy_route(shape, route):
    route(True)
    assert _takes_onednn(shape), "oneDNN refused a shape it implements"
    fast, reference = _run(shape, True, route), _run(shape, False, route)
    for name, a, b in zip(("output", "input grad", "weight grad", "bias grad"), fast, reference):
        _close(a, b, f"{name} of {shape}")


@needs_onednn
@pytest.mark.parametrize("layout", ["channel-major", "strided"])
def test_inputs_in_other_layouts(layout, route):
    """The NumPy route's channel-major outputs (and any strided view) feed the fast route."""
    shape = SHAPES[4]
    fast, reference = _run(shape, True, route, layout=layout), _run(shape, False, route)
    for a, b in zip(fast, reference):
        _close(a, b, layout)


@needs_onednn
def test_inference_and_partial_gradients(route):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 4, 9, 9)).astype(np.float32)
    w = rng.standard_normal((6, 4, 3, 3)).astype(np.float32)
    results = {}
    for on in (True, False):
        route(on)
        with striate.no_grad():
            inferred = F.conv2d(striate.Tensor(x), striate.Tensor(w), padding=1).data
        W = striate.Tensor(w, requires_grad=True)   # first layer: no input gradient
        F.conv2d(striate.Tensor(x), W, padding=1).sum().backward()
        X = striate.Tensor(x, requires_grad=True)   # frozen weight: input gradient only
        F.conv2d(X, striate.Tensor(w), padding=1).sum().backward()
        results[on] = (inferred, W.grad.data, X.grad.data)
    for a, b in zip(results[True], results[False]):
        _close(a, b, "partial")


@needs_onednn
def test_float64_and_other_ranks_take_the_numpy_route(route):
    route(True)
    x64, w64 = np.ones((1, 2, 5, 5)), np.ones((3, 2, 3, 3))
    assert accel.convolution(x64, w64, False, (1, 1), ((0, 0), (0, 0)), (1, 1), 1, True) is None
    x1, w1 = np.ones((1, 2, 5), np.float32), np.ones((3, 2, 3), np.float32)
    assert accel.convolution(x1, w1, False, (1,), ((0, 0),), (1,), 1, True) is None
    # float64 results are the NumPy route's, bit for bit
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3))
    on = F.conv2d(striate.Tensor(x), striate.Tensor(w)).data
    route(False)
    assert np.array_equal(on, F.conv2d(striate.Tensor(x), striate.Tensor(w)).data)


@needs_onednn
def test_layers_and_models_use_the_route(route, monkeypatch):
    from striate.accel.conv import ConvPlan as Plan

    calls = []
    forward = Plan.forward
    monkeypatch.setattr(Plan, "forward", lambda self, *a, **k: calls.append(1) or forward(self, *a, **k))
    route(True)
    model = striate.models.create("lenet5", num_classes=10, in_channels=1)
    model(striate.Tensor(np.zeros((2, 1, 28, 28), np.float32)))
    assert len(calls) == 2
    route(False)
    model(striate.Tensor(np.zeros((2, 1, 28, 28), np.float32)))
    assert len(calls) == 2


# --------------------------------------------------------------------------- the PyTorch oracle, both ways


@needs_onednn
@pytest.mark.parametrize("setting", ["none", "onednn"])
def test_pytorch_oracle_suite_passes_with_the_route_on_and_off(setting):
    """The PyTorch oracle files of every op the route takes (convolutions,
    pooling, normalization, activations, elementwise arithmetic: each against
    PyTorch and finite differences) in a fresh process with the route forced
    each way."""
    pytest.importorskip("torch")
    files = [os.path.join(ROOT, "tests", name) for name in
             ("test_conv.py", "test_pool.py", "test_normalization.py", "test_activation.py",
              "test_math_shape.py")]
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                             *files],
                            env=child_env(STRIATE_ACCEL=setting), capture_output=True, text=True,
                            cwd=ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and " skipped" not in result.stdout


# --------------------------------------------------------------------------- determinism and resume


def _train_briefly(seed):
    striate.manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                          nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False), nn.ReLU(),
                          nn.Flatten(), nn.Linear(16 * 6 * 6, 10))
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    rng = np.random.default_rng(seed)
    for _ in range(3):
        x = rng.standard_normal((16, 1, 12, 12)).astype(np.float32)
        y = rng.integers(0, 10, 16)
        loss = F.cross_entropy(model(striate.Tensor(x)), striate.Tensor(y))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return [p.data.copy() for p in model.parameters()]


@needs_onednn
def test_same_seed_gives_bit_identical_weights(route):
    route(True)
    first, again = _train_briefly(0), _train_briefly(0)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    # and the run really moved, on the fast route: another seed, other weights;
    # the NumPy route, weights within float32 rounding but not the same bits
    other = _train_briefly(1)
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))
    route(False)
    numpy_route = _train_briefly(0)
    for a, b in zip(first, numpy_route):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)


@needs_onednn
def test_kill_and_resume_is_exact_on_the_fast_route(tmp_path, route, monkeypatch):
    """tests/test_train.py's resume test, its model given convolutions."""
    import test_train
    from striate.accel.conv import ConvPlan as Plan

    def conv_model():
        return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3),
                             nn.Flatten(), nn.Dropout(0.25), nn.Linear(64, 3))

    calls = []
    forward = Plan.forward
    monkeypatch.setattr(Plan, "forward", lambda self, *a, **k: calls.append(1) or forward(self, *a, **k))
    monkeypatch.setattr(test_train, "tiny_model", conv_model)
    route(True)
    test_train.test_resume_is_exact(tmp_path, "sgd-onecycle")
    assert calls, "the convolutions did not take the fast route"


# --------------------------------------------------------------------------- switches and loading


def _in_child(code, **env):
    result = subprocess.run([sys.executable, "-c", code], env=child_env(**env),
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


MAPS = ("import sys\n"
        "def native():\n"
        "    maps = open('/proc/self/maps').read()\n"
        "    return sorted({l.split()[-1].rsplit('/', 1)[-1] for l in maps.splitlines()\n"
        "                   if ('dnnl' in l or 'gomp' in l)})\n")


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="needs Linux's /proc")
def test_import_loads_no_native_library():
    out = _in_child(MAPS + "import striate, striate.nn, striate.models\n"
                    "import striate.functional as F, numpy as np\n"
                    "F.conv2d(striate.Tensor(np.ones((1, 1, 5, 5))), striate.Tensor(np.ones((1, 1, 3, 3))))\n"
                    "print(native(), 'striate.accel.dnnl' in sys.modules)")
    assert out.split() == ["[]", "False"], out  # float64 convolutions load nothing either


@needs_onednn
@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="needs Linux's /proc")
def test_first_float32_convolution_loads_onednn_and_the_switch_stops_it():
    code = (MAPS + "import striate, striate.functional as F, numpy as np\n"
            "x, w = np.ones((1, 1, 5, 5), np.float32), np.ones((1, 1, 3, 3), np.float32)\n"
            "F.conv2d(striate.Tensor(x), striate.Tensor(w))\n"
            "print(any('dnnl' in n for n in native()), striate.accel.describe())")
    out = _in_child(code)
    assert out.startswith("True oneDNN 3."), out
    out = _in_child(code, STRIATE_ACCEL="none")
    assert out.startswith("False NumPy (oneDNN switched off)"), out


def test_a_library_that_does_not_load_leaves_the_numpy_route():
    out = _in_child("import striate, striate.functional as F, numpy as np\n"
                    "x, w = np.ones((1, 1, 5, 5), np.float32), np.ones((1, 1, 3, 3), np.float32)\n"
                    "y = F.conv2d(striate.Tensor(x), striate.Tensor(w)).data\n"
                    "print(float(y.sum()), striate.accel.enabled())\n"
                    "print(striate.accel.describe())",
                    STRIATE_DNNL_LIB="/nonexistent/libdnnl.so.3")
    first, second = out.splitlines()
    assert first == "81.0 False"   # 9 windows of 9 ones
    assert second.startswith("NumPy (oneDNN failed to load: STRIATE_DNNL_LIB (/nonexistent")


def test_switch_arguments_are_checked(monkeypatch):
    with pytest.raises(TypeError, match="expected True, False or None"):
        accel.set_enabled("yes")
    monkeypatch.setattr(accel, "_switch", None)
    monkeypatch.setenv("STRIATE_ACCEL", "fastest")
    with pytest.raises(ValueError, match="STRIATE_ACCEL='fastest': expected 'none'"):
        accel.describe()


@needs_onednn
def test_openblas_runs_on_one_thread_while_the_route_is_on(route):
    """Two thread pools that spin while they wait must not share the cores:
    with the fast route on, OpenBLAS gets one thread; off, its own count back."""
    found = accel._find_blas_setter()
    if found is None:
        pytest.skip("NumPy's BLAS is not an OpenBLAS found in /proc/self/maps")
    getter_name = found.__name__.replace("set_num_threads", "get_num_threads")
    import numpy  # noqa: F401 (its OpenBLAS is loaded)
    with open("/proc/self/maps") as maps:
        path = sorted({l.split()[-1] for l in maps if "openblas" in l.lower()})[0]
    getter = getattr(ctypes.CDLL(path), getter_name)
    x, w = np.ones((1, 1, 5, 5), np.float32), np.ones((1, 1, 3, 3), np.float32)
    route(True)
    F.conv2d(striate.Tensor(x), striate.Tensor(w))
    assert getter() == 1
    route(False)
    F.conv2d(striate.Tensor(x), striate.Tensor(w))
    assert getter() == accel._thread_count()
