"""Module mechanics: registration order and names (equal to PyTorch's), state
dicts (copies, strict loading with complete and atomic error reports, torch
checkpoints), train/eval, hooks, containers, dtype casting and repr."""
from collections import OrderedDict

import numpy as np
import pytest
import torch

import striate
import striate.nn as nn


def _block(m):
    """The same small CNN in striate.nn or torch.nn (a LeNet-like stack with BN)."""
    return m.Sequential(OrderedDict([
        ("features", m.Sequential(m.Conv2d(3, 6, 3, padding=1), m.BatchNorm2d(6), m.ReLU(),
                                  m.Conv2d(6, 4, 3, stride=2, bias=False), m.BatchNorm2d(4))),
        ("flatten", m.Flatten()),
        ("classifier", m.Sequential(m.Dropout(0.3), m.Linear(4 * 3 * 3, 5))),
    ]))


class Residual(nn.Module):
    """A user-defined module with attributes, a buffer, a ModuleList and a ModuleDict."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(np.ones(1, dtype=np.float32))
        self.register_buffer("steps", np.zeros((), dtype=np.int64))
        self.register_buffer("scratch", np.zeros(2, dtype=np.float32), persistent=False)
        self.layers = nn.ModuleList([nn.Linear(4, 4), nn.Linear(4, 4)])
        self.heads = nn.ModuleDict({"a": nn.Linear(4, 2), "b": nn.Linear(4, 3)})
        self.name = "plain attribute"

    def forward(self, x):
        for layer in self.layers:
            x = x + layer(x)
        return self.heads["a"](x * self.scale)


class TorchResidual(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(1))
        self.register_buffer("steps", torch.zeros((), dtype=torch.int64))
        self.register_buffer("scratch", torch.zeros(2), persistent=False)
        self.layers = torch.nn.ModuleList([torch.nn.Linear(4, 4), torch.nn.Linear(4, 4)])
        self.heads = torch.nn.ModuleDict({"a": torch.nn.Linear(4, 2), "b": torch.nn.Linear(4, 3)})


@pytest.mark.parametrize("ours, theirs", [(lambda: _block(nn), lambda: _block(torch.nn)),
                                          (Residual, TorchResidual)])
def test_names_and_shapes_equal_torch(ours, theirs):
    ours, theirs = ours(), theirs()
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    assert [k for k, _ in ours.named_parameters()] == [k for k, _ in theirs.named_parameters()]
    assert [k for k, _ in ours.named_buffers()] == [k for k, _ in theirs.named_buffers()]
    assert [k for k, _ in ours.named_modules()] == [k for k, _ in theirs.named_modules()]
    assert [k for k, _ in ours.named_children()] == [k for k, _ in theirs.named_children()]


def test_repr_equals_torch():
    assert repr(_block(nn)) == repr(_block(torch.nn))


def test_torch_checkpoint_loads_and_gives_the_same_output():
    ours, theirs = _block(nn).double(), _block(torch.nn).double()
    with torch.no_grad():  # non-trivial statistics, so that eval() uses them
        for m in theirs.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
                m.weight.uniform_(0.5, 2)
    ours.load_state_dict(theirs.state_dict())
    ours.eval(), theirs.eval()
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 7))
    np.testing.assert_allclose(ours(striate.Tensor(x)).data,
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12)


def test_state_dict_holds_copies_in_order():
    model = Residual()
    state = model.state_dict()
    assert list(state)[:2] == ["scale", "steps"]  # own parameters, then buffers, then children
    assert "scratch" not in state  # non-persistent
    state["scale"][...] = 5.0
    assert model.scale.data[0] == 1.0
    assert model.state_dict(keep_vars=True)["scale"] is model.scale


def test_load_state_dict_reports_every_problem_and_loads_nothing():
    model = _block(nn)
    before = {k: v.copy() for k, v in model.state_dict().items()}
    state = {k: v + 1 for k, v in before.items() if k != "features.1.running_var"}
    state["features.0.weight"] = np.zeros((6, 3, 5, 5), dtype=np.float32)
    state["classifier.1.bias"] = np.zeros(7, dtype=np.float32)
    state["extra.weight"] = np.zeros(1)
    with pytest.raises(RuntimeError) as error:
        model.load_state_dict(state)
    message = str(error.value)
    for expected in ["missing keys: features.1.running_var", "unexpected keys: extra.weight",
                     "features.0.weight: checkpoint shape (6, 3, 5, 5), model shape (6, 3, 3, 3)",
                     "classifier.1.bias: checkpoint shape (7,), model shape (5,)",
                     "nothing was loaded"]:
        assert expected in message
    for key, value in model.state_dict().items():  # atomic: unchanged
        np.testing.assert_array_equal(value, before[key])


def test_load_state_dict_non_strict():
    model = _block(nn)
    state = model.state_dict()
    del state["classifier.1.weight"]
    state["unknown"] = np.zeros(3)
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["classifier.1.weight"] and result.unexpected_keys == ["unknown"]
    state["features.0.bias"] = np.zeros(2)
    with pytest.raises(RuntimeError, match=r"features.0.bias: checkpoint shape \(2,\)"):
        model.load_state_dict(state, strict=False)  # shape mismatches are never ignored


def test_load_state_dict_copies_in_place_and_casts():
    model = nn.Linear(3, 2)
    weight = model.weight
    array = weight.data
    model.load_state_dict({"weight": np.ones((2, 3)), "bias": striate.Tensor(np.zeros(2))})
    assert model.weight is weight and weight.data is array and weight.dtype == np.float32
    np.testing.assert_array_equal(weight.data, np.ones((2, 3)))


def test_train_eval_propagate():
    model = _block(nn)
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_forward_hooks_see_inputs_and_output_and_can_be_removed():
    model = _block(nn)
    seen = []
    handles = [m.register_forward_hook(lambda mod, inputs, out: seen.append(
        (type(mod).__name__, tuple(inputs[0].shape), tuple(out.shape)))) for m in model.modules()
        if not list(m.children())]
    model(striate.Tensor(np.zeros((2, 3, 7, 7), dtype=np.float32)))
    assert seen == [("Conv2d", (2, 3, 7, 7), (2, 6, 7, 7)), ("BatchNorm2d", (2, 6, 7, 7), (2, 6, 7, 7)),
                    ("ReLU", (2, 6, 7, 7), (2, 6, 7, 7)), ("Conv2d", (2, 6, 7, 7), (2, 4, 3, 3)),
                    ("BatchNorm2d", (2, 4, 3, 3), (2, 4, 3, 3)), ("Flatten", (2, 4, 3, 3), (2, 36)),
                    ("Dropout", (2, 36), (2, 36)), ("Linear", (2, 36), (2, 5))]
    for handle in handles:
        handle.remove()
    seen.clear()
    model(striate.Tensor(np.zeros((2, 3, 7, 7), dtype=np.float32)))
    assert seen == []


def test_hooks_can_replace_inputs_and_outputs():
    layer = nn.Identity()
    layer.register_forward_pre_hook(lambda m, inputs: (inputs[0] * 2,))
    handle = layer.register_forward_hook(lambda m, inputs, out: out + 1)
    x = striate.Tensor(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(layer(x).data, [3.0, 5.0])
    handle.remove()
    np.testing.assert_array_equal(layer(x).data, [2.0, 4.0])


def test_shared_parameters_are_listed_once():
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(model.parameters())) == 2
    assert [k for k, _ in model.named_parameters()] == ["0.weight", "0.bias"]
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]  # as torch


def test_backward_reaches_every_parameter_and_zero_grad_resets():
    model = _block(nn)
    out = model(striate.Tensor(np.random.default_rng(0).standard_normal((2, 3, 7, 7)).astype(np.float32)))
    out.sum().backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    model.requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())


def test_double_casts_floating_tensors_only():
    model = _block(nn).double()
    assert all(p.dtype == np.float64 for p in model.parameters())
    assert model.state_dict()["features.1.num_batches_tracked"].dtype == np.int64
    assert model.state_dict()["features.1.running_mean"].dtype == np.float64
    assert all(p.dtype == np.float32 for p in model.float().parameters())


def test_apply_visits_children_first():
    model = _block(nn)
    order = []
    model.apply(lambda m: order.append(type(m).__name__))
    assert order[-1] == "Sequential" and order[0] == "Conv2d" and len(order) == len(list(model.modules()))


def test_attribute_rules():
    model = Residual()
    assert list(model._parameters) == ["scale"] and model.name == "plain attribute"
    with pytest.raises(TypeError, match="cannot assign ndarray as parameter 'scale'"):
        model.scale = np.ones(1)
    model.steps = np.ones((), dtype=np.int64)  # buffers can be reassigned with arrays
    assert isinstance(model.steps, striate.Tensor)
    del model.heads
    assert "heads" not in dict(model.named_children())
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        model.missing

    class Forgot(nn.Module):
        def __init__(self):
            self.weight = nn.Parameter(np.zeros(1))
    with pytest.raises(AttributeError, match="super"):
        Forgot()


def test_parameter_is_a_tensor_requiring_grad():
    p = nn.Parameter(np.zeros(3))
    assert isinstance(p, striate.Tensor) and p.requires_grad and p.dtype == np.float64
    assert repr(p).startswith("Parameter containing:")


def test_sequential_container_behaviour():
    layers = [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)]
    seq = nn.Sequential(*layers)
    assert len(seq) == 3 and list(seq) == layers and seq[-1] is layers[2]
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and list(head) == layers[:2]
    assert list(dict(seq[1:].named_children())) == ["1", "2"]  # slices keep the names, as torch
    seq.append(nn.Sigmoid())
    assert list(dict(seq.named_children())) == ["0", "1", "2", "3"]
    del seq[1]
    assert list(dict(seq.named_children())) == ["0", "1", "2"] and seq[1] is layers[2]
    with pytest.raises(IndexError, match="index 5 is out of range for 3"):
        seq[5]
    named = nn.Sequential(OrderedDict(conv=nn.Conv2d(1, 2, 3), act=nn.ReLU()))
    assert list(named.state_dict()) == ["conv.weight", "conv.bias"]


def test_module_list_and_dict():
    ml = nn.ModuleList([nn.ReLU()])
    ml.append(nn.Tanh())
    ml.insert(0, nn.Sigmoid())
    ml += [nn.Identity()]
    assert [type(m).__name__ for m in ml] == ["Sigmoid", "ReLU", "Tanh", "Identity"]
    assert list(dict(ml.named_children())) == ["0", "1", "2", "3"]
    assert type(ml[-1]).__name__ == "Identity" and len(ml[1:3]) == 2
    md = nn.ModuleDict({"b": nn.ReLU()})
    md["a"] = nn.Tanh()
    assert list(md.keys()) == ["b", "a"] and "a" in md and len(md) == 2
    assert isinstance(md.pop("b"), nn.ReLU) and list(md) == ["a"]


def test_deepcopy_gives_an_independent_model():
    import copy
    model = _block(nn)
    clone = copy.deepcopy(model)
    assert list(clone.state_dict()) == list(model.state_dict())
    clone.features[0].weight.data[...] = 0.0
    assert np.any(model.features[0].weight.data != 0.0)


def test_nn_functional_is_striate_functional():
    import striate.nn.functional as nnF
    assert nnF.conv2d is striate.functional.conv2d and nnF.relu is striate.functional.relu
