"""The speed paths of the convolution against the reference they replace:
strips against im2col, Winograd F(2x2, 3x3) against direct convolution (and
PyTorch, and finite differences), threaded passes against single-threaded
ones, the channel-major layout against plain arrays, and bit-identical
training steps run to run."""
import numpy as np
import pytest
import torch
import torch.nn.functional as T

import striate
import striate.functional as F
from striate import threads
from striate.functional import conv, winograd
from striate.functional.strips import Shifts, Strips
from striate.functional.windows import (col2im, copy_split, im2col, is_channel_major,
                                        pad_scratch, release)
from harness import check_against_torch, check_gradients, randn


@pytest.fixture(autouse=True)
def _numpy_route():
    """These tests look inside the NumPy route (strips, workspaces, layouts),
    so the fast route (striate.accel, tested in test_accel.py) stays off."""
    striate.accel.set_enabled(False)
    yield
    striate.accel.set_enabled(None)

# (input shape, weight shape, options) where the strips route applies
STRIP_CASES = [
    ((2, 3, 7, 6), (4, 3, 3, 3), dict(padding=1)),
    ((3, 2, 9, 9), (3, 2, 3, 3), dict(dilation=2, padding=2)),
    ((2, 4, 6, 7), (6, 2, 3, 3), dict(groups=2, padding=1)),
    ((2, 1, 8, 7), (6, 1, 5, 5), dict(padding=2)),            # O > 2C: strips' own col2im
    ((2, 6, 14, 14), (16, 6, 5, 5), {}),                      # LeNet's C3
    ((2, 3, 5, 6), (4, 3, 1, 1), {}),
    ((2, 3, 7, 6), (4, 3, 4, 2), dict(padding="same")),
    ((1, 2, 10, 9, 10), (3, 2, 3, 3, 3), dict(padding=1)),    # 3-d
    ((2, 3, 11), (4, 3, 3), dict(padding=1)),                 # 1-d
    ((2, 3, 8, 8), (4, 3, 3, 3), dict(stride=2, padding=1)),  # ResNet's downsampling 3x3
    ((2, 3, 7, 7), (4, 3, 3, 3), dict(stride=2, padding=1)),  # odd: ragged phases
    ((2, 4, 7, 6), (8, 4, 1, 1), dict(stride=2)),             # ResNet's 1x1 shortcut
    ((2, 2, 9, 10), (3, 2, 3, 2), dict(stride=(2, 3), dilation=(2, 1), padding=1)),
    ((2, 2, 11), (3, 2, 3), dict(stride=3)),
    ((2, 3, 6, 5), (4, 3, 3, 3), dict(padding=(0, 1))),       # rows unpadded, columns padded
    ((2, 2, 5, 6), (3, 2, 2, 3), dict(padding=(1, 2))),       # wider than 'same'
    ((2, 1, 28, 28), (6, 1, 5, 5), dict(padding=2)),          # LeNet's C1
]

# (input shape, out channels, padding): Winograd's 3x3 stride-1 convolutions,
# odd and even outputs (odd ones are padded to whole 2x2 blocks)
WINOGRAD = [((2, 3, 6, 6), 4, 1), ((2, 3, 7, 5), 4, 1), ((1, 2, 5, 8), 3, 0),
            ((3, 4, 9, 9), 2, 2), ((2, 5, 4, 4), 6, 1), ((1, 1, 3, 3), 1, 0)]


def _conv_fn(nd):
    return {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[nd]


def _run(fn, x, w, **options):
    """Output, input gradient and weight gradient of ``fn`` for a fixed upstream."""
    xs, ws = striate.Tensor(x.copy(), requires_grad=True), striate.Tensor(w.copy(), requires_grad=True)
    out = fn(xs, ws, **options)
    upstream = np.random.default_rng(5).standard_normal(out.shape).astype(x.dtype)
    out.backward(upstream)
    return out.data, xs.grad, ws.grad


# --------------------------------------------------------------------------- strips


def _no_plan(monkeypatch, *classes):
    for cls in classes:
        monkeypatch.setattr(cls, "plan", classmethod(lambda cls, *args: None))


@pytest.mark.parametrize("padded_copy", [False, True], ids=["shifts", "padded"])
@pytest.mark.parametrize("x_shape, w_shape, options", STRIP_CASES)
def test_strips_agree_with_im2col(monkeypatch, x_shape, w_shape, options, padded_copy):
    """Both strip routes (unpadded shifts at stride 1, strips of a padded
    copy) give im2col's output and gradients."""
    if padded_copy:
        _no_plan(monkeypatch, Shifts)
    x, w = randn(*x_shape, seed=1), randn(*w_shape, seed=2)
    fn = _conv_fn(len(x_shape) - 2)
    taken = []
    for cls in (Strips, Shifts):
        monkeypatch.setattr(cls, "columns", lambda self, *a, original=cls.columns:
                            taken.append(type(self)) or original(self, *a))
    fast = _run(fn, x, w, **options)
    assert taken, "no strips route was taken"
    stride = options.get("stride", 1)
    padding = options.get("padding", 0)
    if not padded_copy and stride == 1 and padding not in ((1, 2), 2, 0):
        assert Shifts in taken
    _no_plan(monkeypatch, Strips, Shifts)
    reference = _run(fn, x, w, **options)
    for what, a, b in zip(("forward", "input gradient", "weight gradient"), fast, reference):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12, err_msg=what)


@pytest.mark.parametrize("x_shape, w_shape, options", [
    ((2, 3, 5, 4), (3, 2, 3, 3), dict(stride=2, padding=1, output_padding=1)),  # U-Net-like
    ((2, 4, 4, 4), (4, 2, 2, 2), dict(stride=2)),                                # up-convolution
    ((1, 2, 6, 5), (2, 3, 3, 3), dict(padding=1)),
])
def test_transposed_convolution_strips_agree_with_col2im(monkeypatch, x_shape, w_shape, options):
    x, w = randn(*x_shape, seed=1), randn(*w_shape, seed=2)
    fast = _run(F.conv_transpose2d, x, w, **options)
    _no_plan(monkeypatch, Strips, Shifts)
    reference = _run(F.conv_transpose2d, x, w, **options)
    for what, a, b in zip(("forward", "input gradient", "weight gradient"), fast, reference):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12, err_msg=what)


@pytest.mark.parametrize("stride", [1, 2])
def test_strips_are_the_windows_read_along_flat_images(stride):
    """Strip [c, tap, n] at the flat position of output (i, j) is im2col's
    window entry there; at stride 1 that position is i*Wp + j, and with a
    stride, i*M + j in the phase plane of width M = ceil(Wp / stride)."""
    padded = randn(2, 3, 9, 8)
    out_spatial = ((9 - 3) // stride + 1, (8 - 3) // stride + 1)
    strips = Strips(padded.shape, (3, 3), (stride, stride), (1, 1), out_spatial)
    width = -(-8 // stride)
    assert strips.length == (out_spatial[0] - 1) * width + out_spatial[1]
    cols = strips.columns(padded, 1).reshape(3, 9, 2, strips.length)
    windows = im2col(padded, (3, 3), (stride, stride), (1, 1), out_spatial)  # (N, C, 3, 3, *out)
    for i in range(out_spatial[0]):
        for j in range(out_spatial[1]):
            np.testing.assert_array_equal(cols[..., i * width + j],
                                          windows[..., i, j].reshape(2, 3, 9).transpose(1, 2, 0))
    release(cols)


@pytest.mark.parametrize("pads", [((1, 1), (1, 1)), ((0, 0), (1, 1)), ((2, 0), (0, 1))])
def test_shifts_are_the_windows_of_the_zero_padded_image(pads):
    """Shift column [c, tap, n] at q = i*W + j is im2col's window entry of the
    padded image at output (i, j): pixels read off the image are zeros, and
    so are those that a row end would have wrapped into the next row."""
    x = randn(2, 3, 7, 8) + 5.0  # no zeros of its own
    kernel = (3, 3)
    padded = np.pad(x, ((0, 0), (0, 0)) + pads)
    out_spatial = (padded.shape[2] - 2, padded.shape[3] - 2)
    shifts = Shifts.plan(x.shape, pads, kernel, (1, 1), (1, 1), out_spatial, x)
    assert shifts is not None and shifts.dense == (out_spatial[1] == 8)
    cols = shifts.columns(x, 1).reshape(3, 9, 2, shifts.length)
    windows = im2col(padded, kernel, (1, 1), (1, 1), out_spatial)
    for i in range(out_spatial[0]):
        for j in range(out_spatial[1]):
            np.testing.assert_array_equal(cols[..., i * 8 + j],
                                          windows[..., i, j].reshape(2, 3, 9).transpose(1, 2, 0))
    release(cols)


def test_shifts_need_stride_one_and_outputs_no_wider_than_the_input():
    x = np.zeros((1, 1, 9, 9))
    assert Shifts.plan(x.shape, ((1, 1), (1, 1)), (3, 3), (2, 2), (1, 1), (5, 5), x) is None
    assert Shifts.plan(x.shape, ((0, 0), (2, 2)), (1, 1), (1, 1), (1, 1), (9, 13), x) is None
    assert Shifts.plan(x.shape, ((1, 1), (1, 1)), (3, 3), (1, 1), (1, 1), (9, 9), x).dense
    # side padding over 1: only where every position is an output and the
    # columns serve the weight gradient (LeNet's C1 in training)
    assert Shifts.plan(x.shape, ((2, 2), (2, 2)), (5, 5), (1, 1), (1, 1), (9, 9), x) is None
    assert Shifts.plan(x.shape, ((2, 2), (2, 2)), (5, 5), (1, 1), (1, 1), (9, 9), x, True).dense
    assert Shifts.plan(x.shape, ((2, 2), (2, 2)), (5, 7), (1, 1), (1, 1), (9, 7), x, True) is None
    assert Shifts.plan(x.shape, ((2, 2), (1, 1)), (5, 3), (1, 1), (1, 1), (9, 9), x).dense
    assert Shifts.plan(x.shape, ((0, 0), (0, 0)), (3, 3), (1, 1), (1, 1), (7, 7), x) is None
    assert Shifts.plan(x.shape, ((0, 0), (0, 0)), (1, 1), (1, 1), (1, 1), (9, 9), x).dense
    gappy = np.zeros((1, 1, 9, 12))[:, :, :, :9]
    assert Shifts.plan(gappy.shape, ((1, 1), (1, 1)), (3, 3), (1, 1), (1, 1), (9, 9), gappy) is None


@pytest.mark.parametrize("options", [dict(padding=1), dict(padding=2, dilation=2, groups=2),
                                     dict(padding=(0, 1))])
def test_stride_one_convolution_keeps_only_its_input_for_the_weight_gradient(options):
    """With the flipped route for the input gradient, the weight gradient comes
    from the gradient's columns and x (weight_gradient_flipped): no columns of
    x are held between forward and backward; the gradients still match PyTorch."""
    x = striate.Tensor(randn(2, 4, 7, 6), requires_grad=True)
    w = striate.Tensor(randn(4, 4 // options.get("groups", 1), 3, 3, seed=2), requires_grad=True)
    out = F.conv2d(x, w, **options)
    assert out.creator.saved is None and out.creator.x is x.data
    upstream = np.random.default_rng(5).standard_normal(out.shape)
    out.backward(upstream)
    xt, wt = torch.tensor(x.data, requires_grad=True), torch.tensor(w.data, requires_grad=True)
    T.conv2d(xt, wt, **options).backward(torch.tensor(upstream))
    np.testing.assert_allclose(w.grad, wt.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_strips_wasting_more_than_half_fall_back_to_im2col():
    tiny = np.zeros((1, 1, 9, 9))
    assert Strips.plan(tiny.shape, (3, 3), (1, 1), (1, 1), (7, 7), tiny) is not None
    assert Strips.plan(tiny.shape, (8, 8), (1, 1), (1, 1), (2, 2)) is None  # 11 positions, 4 outputs
    gappy = np.zeros((1, 1, 9, 12))[:, :, :, :9]                             # rows not adjacent
    assert Strips.plan(gappy.shape, (3, 3), (1, 1), (1, 1), (7, 7), gappy) is None


# --------------------------------------------------------------------------- Winograd


def test_winograd_one_dimensional_identity():
    """F(2, 3): two outputs of a 3-tap correlation from 4 products,
    y = A^T [(G g) * (B^T d)], as the module docstring writes it out."""
    rng = np.random.default_rng(0)
    for _ in range(20):
        d, g = rng.standard_normal(4), rng.standard_normal(3)
        direct = np.array([d[0:3] @ g, d[1:4] @ g])
        fast = winograd.A_T @ ((winograd.G @ g) * (winograd.B_T @ d))
        np.testing.assert_allclose(fast, direct, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("x_shape, out_channels, padding", WINOGRAD)
@pytest.mark.parametrize("dtype, tolerance", [(np.float64, 1e-12), (np.float32, 2e-5)])
def test_winograd_agrees_with_direct_convolution(monkeypatch, x_shape, out_channels, padding,
                                                  dtype, tolerance):
    x = randn(*x_shape, seed=1).astype(dtype)
    w = randn(out_channels, x_shape[1], 3, 3, seed=2).astype(dtype)
    reference = _run(F.conv2d, x, w, padding=padding)
    monkeypatch.setattr(winograd, "enabled", True)
    fast = _run(F.conv2d, x, w, padding=padding)
    for what, a, b in zip(("forward", "input gradient", "weight gradient"), fast, reference):
        assert a.dtype == dtype and a.shape == b.shape
        scale = max(1.0, float(np.abs(b).max()))
        np.testing.assert_allclose(a, b, rtol=tolerance, atol=tolerance * scale, err_msg=what)


def test_winograd_takes_only_its_convolutions(monkeypatch):
    monkeypatch.setattr(winograd, "enabled", True)
    taken = []
    original = winograd.correlate
    monkeypatch.setattr(winograd, "correlate", lambda *a: taken.append(1) or original(*a))
    x = striate.Tensor(randn(1, 2, 6, 6))
    F.conv2d(x, striate.Tensor(randn(3, 2, 3, 3)), padding=1)
    assert len(taken) == 1
    for w_shape, options in (((3, 2, 3, 3), dict(stride=2)), ((3, 2, 5, 5), {}),
                             ((3, 2, 3, 3), dict(dilation=2)), ((4, 1, 3, 3), dict(groups=2))):
        F.conv2d(x, striate.Tensor(randn(*w_shape)), **options)
    assert len(taken) == 1


@pytest.mark.parametrize("x_shape, out_channels, padding", WINOGRAD[:3])
def test_winograd_matches_torch_and_finite_differences(monkeypatch, x_shape, out_channels, padding):
    monkeypatch.setattr(winograd, "enabled", True)
    inputs = [randn(*x_shape, seed=1), randn(out_channels, x_shape[1], 3, 3, seed=2),
              randn(out_channels, seed=3)]
    check_against_torch(F.conv2d, T.conv2d, inputs, padding=padding)
    check_gradients(F.conv2d, inputs, padding=padding)


# --------------------------------------------------------------------------- threads


@pytest.fixture
def two_threads():
    before = threads.get_num_threads()
    yield
    threads.set_num_threads(before)


def _with_threads(count, fn):
    threads.set_num_threads(count)
    return fn()


def test_threaded_passes_are_bit_identical(two_threads, monkeypatch):
    monkeypatch.setattr(threads, "MIN_SPLIT_ELEMENTS", 1)  # split even small arrays
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 5, 9, 8)).astype(np.float32)
    cols = rng.standard_normal((4, 5, 3, 3, 7, 6)).astype(np.float32)

    def passes():
        copied = np.empty((5, 4, 9, 8), np.float32)
        copy_split(copied, x.swapaxes(0, 1))
        padded = pad_scratch(x, ((1, 2), (2, 1))).copy()
        added = col2im(cols, (4, 5, 9, 8), (3, 3), (1, 1), (1, 1))
        return copied, padded, added

    one, two = _with_threads(1, passes), _with_threads(2, passes)
    for a, b in zip(one, two):
        assert np.array_equal(a, b)


def test_training_steps_are_bit_identical_across_thread_counts_and_runs(two_threads, monkeypatch):
    monkeypatch.setattr(threads, "MIN_SPLIT_ELEMENTS", 1)
    from striate import models, optim

    def train(count):
        threads.set_num_threads(count)
        striate.manual_seed(0)
        model = models.create("resnet18", num_classes=10, in_channels=1, width=0.0625,
                              small_input=True)
        optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        rng = np.random.default_rng(0)
        for _ in range(2):
            x = rng.standard_normal((4, 1, 12, 12)).astype(np.float32)
            y = rng.integers(0, 10, 4)
            loss = F.cross_entropy(model(striate.Tensor(x)), striate.Tensor(y))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return [p.data.copy() for p in model.parameters()]

    first, again, threaded = train(1), train(1), train(2)
    for a, b, c in zip(first, again, threaded):
        assert np.array_equal(a, b) and np.array_equal(a, c)


def test_set_num_threads_checks_its_argument(two_threads):
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="set_num_threads: expected a positive integer"):
            threads.set_num_threads(bad)


# --------------------------------------------------------------------------- layout


def test_convolutions_hand_on_channel_major_arrays_that_behave_like_any_other():
    x = striate.Tensor(randn(3, 2, 6, 6))
    out = F.conv2d(x, striate.Tensor(randn(4, 2, 3, 3)), padding=1)
    assert is_channel_major(out.data) and out.shape == (3, 4, 6, 6)
    np.testing.assert_array_equal(out.data, np.ascontiguousarray(out.data))
    again = F.conv2d(out, striate.Tensor(randn(2, 4, 3, 3)), padding=1)
    ref = T.conv2d(T.conv2d(torch.tensor(x.data), torch.tensor(np.asarray(randn(4, 2, 3, 3))),
                            padding=1), torch.tensor(randn(2, 4, 3, 3)), padding=1)
    np.testing.assert_allclose(again.data, ref.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("op", ["batch_norm", "relu", "max_pool2d"])
def test_element_and_channel_ops_give_the_same_on_channel_major_input(op):
    """Batch norm takes BLAS dot products on channel-major input and einsum on
    plain input; max-pool and ReLU keep the layout. Values and gradients agree
    with the plain array's, and with PyTorch's."""
    plain = randn(4, 3, 6, 6)
    major = np.ascontiguousarray(plain.swapaxes(0, 1)).swapaxes(0, 1)
    assert is_channel_major(major)
    upstream = None
    results = []
    for x in (plain, major):
        t = striate.Tensor(x, requires_grad=True)
        if op == "batch_norm":
            out = F.batch_norm(t, None, None, training=True)
        elif op == "relu":
            out = F.relu(t)
        else:
            out = F.max_pool2d(t, 2)
        if upstream is None:
            upstream = np.random.default_rng(3).standard_normal(out.shape)
        out.backward(upstream)
        results.append((out.data, t.grad))
    theirs = torch.tensor(plain, requires_grad=True)
    reference = {"batch_norm": lambda v: T.batch_norm(v, None, None, training=True),
                 "relu": T.relu, "max_pool2d": lambda v: T.max_pool2d(v, 2)}[op](theirs)
    reference.backward(torch.tensor(upstream))
    for out, grad in results:
        np.testing.assert_allclose(out, reference.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(grad, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_pad_scratch_keeps_the_layout_and_returns_its_buffer():
    x = np.ascontiguousarray(randn(3, 4, 5, 5).swapaxes(0, 1)).swapaxes(0, 1)  # channel-major
    padded = pad_scratch(x, ((1, 1), (1, 1)))
    assert is_channel_major(padded)
    np.testing.assert_array_equal(padded[:, :, 1:-1, 1:-1], x)
    release(padded)
    again = pad_scratch(x, ((1, 1), (1, 1)))  # the recycled buffer, not a view of a view
    assert again.base is not None and again.base.flags.c_contiguous
    release(again)


def test_max_pool_inference_path_gives_the_training_values():
    x = randn(2, 3, 8, 8)
    with striate.no_grad():
        fast = F.max_pool2d(striate.Tensor(x), 3, 2, padding=1)
    full = F.max_pool2d(striate.Tensor(x, requires_grad=True), 3, 2, padding=1)
    np.testing.assert_array_equal(fast.data, full.data)


def test_workspace_pool_keeps_a_whole_step_whatever_the_fixed_cap(monkeypatch):
    """With the fixed floor below one step's scratch (as 64 MiB is for a ResNet
    at batch 256), the second step still reuses the first step's buffers and
    allocates none."""
    from striate.functional import windows

    monkeypatch.setattr(windows, "MIN_POOL_BYTES", 0)
    windows.clear_workspace()
    x = striate.Tensor(randn(4, 3, 10, 10).astype(np.float32), requires_grad=True)
    w = striate.Tensor(randn(5, 3, 3, 3).astype(np.float32), requires_grad=True)
    w2 = striate.Tensor(randn(4, 5, 3, 3).astype(np.float32), requires_grad=True)

    def step():
        F.conv2d(F.conv2d(x, w, padding=1), w2, stride=2, padding=1).sum().backward()

    def pooled():
        return {id(buffer) for buffer in windows._idle}

    lent_before = set(windows._lent)  # (graphs of earlier tests may still hold some)
    step()
    first = pooled()
    step()
    assert first and pooled() == first
    assert set(windows._lent) == lent_before
    windows.clear_workspace()


def test_workspace_serves_threads_at_once():
    """The playground's server runs predictions on several threads: every
    buffer lent is the size asked for and is lent to one thread at a time."""
    from concurrent.futures import ThreadPoolExecutor
    from striate.functional import windows

    windows.clear_workspace()
    lent_before = len(windows._lent)

    def borrow(seed):
        rng = np.random.default_rng(seed)
        for _ in range(300):
            shape = (int(rng.integers(1, 40)), int(rng.integers(1, 40)))
            a = windows.workspace(shape, np.float32)
            a.fill(seed)
            assert a.shape == shape and (a == seed).all()  # no other thread wrote into it
            windows.release(a)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(borrow, range(8)))
    assert len(windows._lent) == lent_before
    windows.clear_workspace()


def test_workspace_lends_views_of_byte_buffers_and_takes_any_view_back(monkeypatch):
    from striate.functional import windows

    windows.clear_workspace()
    lent_before = len(windows._lent)
    a = windows.workspace((3, 4), np.float32)
    assert a.shape == (3, 4) and a.dtype == np.float32
    windows.release(a.T[:, :2])                      # any view of it gives the buffer back
    assert len(windows._idle) == 1 and len(windows._lent) == lent_before
    windows.release(a)                               # a second release is ignored
    windows.release(np.zeros(3))                     # so is an array that is not the pool's
    assert len(windows._idle) == 1
    b = windows.workspace((2, 5), np.float32)        # 40 bytes fit in the 48-byte buffer
    assert b.base is not None and b.base.nbytes == 48 and not windows._idle
    c = windows.workspace((100,), np.float64)        # too big: a new buffer
    windows.release(b), windows.release(c)
    small = windows.workspace((2,), np.float32)      # 8 bytes: the 48-byte buffer is over twice that
    assert small.base.nbytes == 8
    windows.release(small)
    windows.clear_workspace()


# --------------------------------------------------------------------------- ReLU and memory


@pytest.mark.parametrize("make", [
    lambda: randn(4, 3, 6, 6).astype(np.float32),
    lambda: np.ascontiguousarray(randn(3, 4, 6, 6).swapaxes(0, 1)).swapaxes(0, 1),  # channel-major
    lambda: randn(5, 7)[:, ::-1],                                # negative strides
    lambda: randn(6, 8)[::2, 1:],                                # a crop: not one block
    lambda: randn(3, 1 << 16 // 3 + 5).astype(np.float32),       # more than one zero block
    lambda: np.array([np.nan, -np.inf, np.inf, -0.0, 0.0, -2.5, 3.0]),
    lambda: np.arange(-4, 5),
    lambda: np.float64(-1.5) * np.ones(()),
    lambda: np.zeros((0, 3)),
])
def test_relu_against_a_block_of_zeros_equals_numpys_maximum(make):
    """ReLU's forward takes the maximum against a zero array, a block at a
    time (NumPy's maximum against a scalar is not vectorized): the same values,
    NaN kept, dtype and memory order kept."""
    from striate.functional.activation import maximum_with_zero

    x = make()
    got, ref = maximum_with_zero(x), np.maximum(x, 0, dtype=x.dtype)
    assert got.dtype == x.dtype and got.shape == x.shape
    assert got.strides == np.empty_like(x).strides
    np.testing.assert_array_equal(got, ref)


def _faults_per_step(keep):
    """Minor page faults per training step of a small CNN, in a fresh process."""
    import os
    import subprocess
    import sys

    program = """
import resource, numpy as np, striate, striate.functional as F
from striate import nn
rng = np.random.default_rng(0)
model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Flatten(), nn.Linear(8 * 14 * 14, 10))
x = striate.Tensor(rng.standard_normal((64, 1, 28, 28)).astype(np.float32))
y = rng.integers(0, 10, 64)
def step():
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
for _ in range(3):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    step()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10)
"""
    env = dict(os.environ, STRIATE_KEEP_FREED_MEMORY="1" if keep else "0", STRIATE_ACCEL="none")
    result = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True,
                            text=True, check=True)
    return float(result.stdout)


def test_freed_memory_is_kept_for_the_next_step():
    """On glibc, import striate raises malloc's mmap and trim thresholds, so a
    repeated training step reuses its freed memory instead of faulting fresh
    pages in; STRIATE_KEEP_FREED_MEMORY=0 leaves malloc alone."""
    from striate import memory

    if not memory._glibc():
        pytest.skip("malloc thresholds are glibc's")
    kept, default = _faults_per_step(True), _faults_per_step(False)
    assert kept < 50 < default, (kept, default)
