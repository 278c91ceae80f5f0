"""One harness for every op: forward and every input gradient
against PyTorch in float32 and float64, and float64 central-difference checks.

    check_against_torch(F.conv2d, torch.nn.functional.conv2d, [x, w, b], stride=2)
    check_gradients(F.conv2d, [x, w, b], stride=2)

``inputs`` are NumPy arrays; floating ones get ``requires_grad`` (pass
``grad=[True, False, ...]`` to choose). Keyword arguments go to both functions.
The upstream gradient is random (fixed seed), not ones, so that a backward that
ignores it, or mixes up positions, fails.
"""
import numpy as np
import torch

import striate

# Tolerances per dtype, relative to the size of the reference values.
TOLERANCE = {np.float32: dict(rtol=1e-4, atol=1e-4), np.float64: dict(rtol=1e-9, atol=1e-10)}


def assert_close(actual, expected, dtype, what):
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != expected {expected.shape}"
    tol = TOLERANCE[dtype]
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=tol["rtol"], atol=tol["atol"] * scale,
                               err_msg=f"{what} ({np.dtype(dtype).name})")


def _grad_flags(inputs, grad):
    if grad is None:
        return [isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.floating) for a in inputs]
    return list(grad)


def _cast(a, dtype):
    if isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.floating):
        return a.astype(dtype)
    return a


def check_against_torch(striate_fn, torch_fn, inputs, grad=None, dtypes=(np.float32, np.float64),
                        seed=0, **kwargs):
    """Forward output and the gradient of every flagged input agree with PyTorch."""
    flags = _grad_flags(inputs, grad)
    for dtype in dtypes:
        arrays = [_cast(a, dtype) for a in inputs]
        ours = [striate.Tensor(a.copy(), requires_grad=f) if isinstance(a, np.ndarray) else a
                for a, f in zip(arrays, flags)]
        theirs = [torch.tensor(a.copy(), requires_grad=f) if isinstance(a, np.ndarray) else a
                  for a, f in zip(arrays, flags)]
        out = striate_fn(*ours, **kwargs)
        ref = torch_fn(*theirs, **kwargs)
        assert_close(out.data, ref.detach().numpy(), dtype, "forward")
        assert out.dtype == ref.detach().numpy().dtype, f"output dtype {out.dtype} != {ref.dtype}"
        if not any(flags):
            continue
        upstream = np.random.default_rng(seed).standard_normal(ref.shape).astype(dtype)
        out.backward(upstream)
        ref.backward(torch.tensor(upstream))
        for i, (o, t, f) in enumerate(zip(ours, theirs, flags)):
            if f:
                assert o.grad is not None, f"input {i} received no gradient"
                assert_close(o.grad, t.grad.numpy(), dtype, f"gradient of input {i}")


def numerical_gradient(fn, arrays, index, upstream, eps=1e-6, max_points=300, seed=0):
    """Central differences of sum(fn(...) * upstream) w.r.t. ``arrays[index]``.

    Returns (positions, values): at most ``max_points`` randomly chosen elements,
    so that large inputs stay cheap to check.
    """
    x = arrays[index]
    flat = x.reshape(-1)
    rng = np.random.default_rng(seed)
    positions = np.arange(flat.size)
    if flat.size > max_points:
        positions = rng.choice(flat.size, max_points, replace=False)
    values = np.empty(len(positions))
    with striate.no_grad():
        for k, p in enumerate(positions):
            original = flat[p]
            flat[p] = original + eps
            plus = np.sum(fn(*arrays).data * upstream)
            flat[p] = original - eps
            minus = np.sum(fn(*arrays).data * upstream)
            flat[p] = original
            values[k] = (plus - minus) / (2 * eps)
    return positions, values


def check_gradients(striate_fn, inputs, grad=None, seed=0, eps=1e-6, rtol=1e-5, atol=1e-6, **kwargs):
    """float64 finite-difference check of every flagged input's gradient."""
    flags = _grad_flags(inputs, grad)
    arrays = [_cast(a, np.float64) for a in inputs]

    def fn(*args):
        return striate_fn(*[striate.Tensor(a) if isinstance(a, np.ndarray) else a for a in args], **kwargs)

    tensors = [striate.Tensor(a.copy(), requires_grad=f) if isinstance(a, np.ndarray) else a
               for a, f in zip(arrays, flags)]
    out = striate_fn(*tensors, **kwargs)
    upstream = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(upstream)
    for i, flag in enumerate(flags):
        if not flag:
            continue
        positions, numeric = numerical_gradient(fn, arrays, i, upstream, eps=eps)
        analytic = tensors[i].grad.reshape(-1)[positions]
        scale = max(1.0, float(np.abs(numeric).max(initial=0.0)))
        np.testing.assert_allclose(analytic, numeric, rtol=rtol, atol=atol * scale,
                                   err_msg=f"finite differences, input {i}")


def tie_free(shape, seed=0, low=-3.0, high=3.0):
    """Distinct values in random order: max-pool gradients are unambiguous."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    values = np.linspace(low, high, n)
    return rng.permutation(values).reshape(shape)


def randn(*shape, seed=0):
    """Standard normal float64 values (negative ones included)."""
    return np.random.default_rng(seed).standard_normal(shape)
