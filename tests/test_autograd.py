"""The autograd core: graph order, accumulation, grad mode and its error messages."""
import numpy as np
import pytest
import torch

import striate
from striate import Tensor


def leaf(values, dtype=np.float64):
    return Tensor(np.asarray(values, dtype=dtype), requires_grad=True)


def test_reused_node_accumulates_gradient():
    # micrograd's first bug: b = a + a must give db/da = 2, and a diamond must sum both paths.
    a = leaf([3.0])
    b = a * a + a  # a used three times
    c = b * b
    c.backward()
    expected = 2 * (3.0 * 3.0 + 3.0) * (2 * 3.0 + 1)
    assert a.grad[0] == pytest.approx(expected)


def test_diamond_graph_matches_torch():
    x = np.array([0.5, -1.5, 2.0])
    ours = leaf(x)
    theirs = torch.tensor(x, requires_grad=True)
    for t, lib in ((ours, striate.functional), (theirs, torch)):
        h = t * 2.0
        y = (lib.exp(h) * h + h / (h * h + 1.0)).sum()
        y.backward()
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-12)


def test_backward_accumulates_across_calls_until_reset():
    a = leaf([1.0, 2.0])
    (a * 3.0).sum().backward()
    (a * 3.0).sum().backward()
    np.testing.assert_array_equal(a.grad, [6.0, 6.0])
    a.grad = None
    (a * 3.0).sum().backward()
    np.testing.assert_array_equal(a.grad, [3.0, 3.0])


def test_deep_chain_does_not_hit_recursion_limit():
    x = leaf([1.0])
    y = x
    for _ in range(5000):
        y = y + 1.0
    y.backward()
    assert x.grad[0] == 1.0


def test_no_grad_records_nothing_and_detach_cuts_graph():
    x = leaf([1.0, 2.0])
    with striate.no_grad():
        y = x * 2.0
    assert not y.requires_grad and y.creator is None
    z = (x * 2.0).detach()
    assert not z.requires_grad
    assert striate.is_grad_enabled()


def test_only_needed_gradients_are_computed():
    x = leaf([1.0, 2.0])
    w = Tensor(np.array([3.0, 4.0]))  # a constant: no gradient
    (x * w).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])
    assert w.grad is None


def test_intermediate_grad_only_when_retained():
    x = leaf([1.0, 2.0])
    h = (x * 2.0).retain_grad()
    k = x * 3.0
    (h * k).sum().backward()
    np.testing.assert_allclose(h.grad, k.data)
    assert k.grad is None


def test_backward_twice_needs_retain_graph():
    x = leaf([1.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad[0] == 4.0
    with pytest.raises(RuntimeError, match="second time.*retain_graph"):
        y.backward()


def test_backward_on_non_scalar_needs_gradient():
    x = leaf(np.ones((2, 3)))
    with pytest.raises(RuntimeError, match=r"scalar output, got shape \(2, 3\)"):
        (x * 2.0).backward()


def test_backward_without_requires_grad_is_explained():
    x = Tensor(np.ones(3))
    with pytest.raises(RuntimeError, match="does not require grad"):
        (x * 2.0).sum().backward()


def test_gradient_of_wrong_shape_is_rejected():
    x = leaf(np.ones((2, 3)))
    with pytest.raises(RuntimeError, match=r"gradient of shape \(3, 2\) does not match.*\(2, 3\)"):
        (x * 2.0).backward(np.ones((3, 2)))


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="floating-point"):
        Tensor(np.arange(3), requires_grad=True)


def test_dtypes_follow_pytorch_conventions():
    assert Tensor([1.0, 2.0]).dtype == np.float32  # Python floats: float32 by default
    assert Tensor(np.zeros(2)).dtype == np.float64  # arrays keep their dtype
    assert Tensor([1, 2]).dtype == np.int64
    x = Tensor(np.zeros(2, dtype=np.float32))
    assert (x * 2.0 + 1.0).dtype == np.float32  # Python scalars don't promote


def test_comparisons_give_boolean_tensors_without_grad():
    x = leaf([1.0, 2.0, 3.0])
    mask = x > 1.5
    assert mask.dtype == bool and not mask.requires_grad
    np.testing.assert_array_equal(mask.data, [False, True, True])


def test_tensor_basics():
    x = Tensor(np.arange(6.0).reshape(2, 3))
    assert x.shape == (2, 3) and x.ndim == 2 and x.dim() == 2 and x.numel() == 6
    assert x.size() == (2, 3) and x.size(1) == 3 and len(x) == 2
    assert x.sum().item() == 15.0
    assert "tensor(" in repr(x)
    with pytest.raises(ValueError, match="one element"):
        x.item()


def test_manual_seed_makes_randomness_reproducible():
    striate.manual_seed(42)
    a = striate.random.generator().standard_normal(4)
    state = striate.get_rng_state()
    b = striate.random.generator().standard_normal(4)
    striate.manual_seed(42)
    np.testing.assert_array_equal(a, striate.random.generator().standard_normal(4))
    striate.set_rng_state(state)
    np.testing.assert_array_equal(b, striate.random.generator().standard_normal(4))


def test_import_is_light():
    import subprocess
    import sys
    # Only what is imported is asserted; the time itself is measured by benchmarks/import_time.py.
    code = ("import sys, striate; print(','.join(m for m in "
            "('torch', 'matplotlib', 'tqdm', 'PIL', 'safetensors', 'scipy', 'urllib.request') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import striate pulled in {out.stdout.strip()}"
