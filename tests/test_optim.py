"""Optimizers and learning-rate schedulers against torch.optim, and exact resume
from state dicts that went through a JSON round trip (as checkpoints do),
checked against the uninterrupted run and against torch.optim's."""
import json

import numpy as np
import pytest
import torch

import striate
from harness import assert_close
from striate import optim
from striate.nn import Parameter
from striate.optim import lr_scheduler

STEPS = 12

# ------------------------------------------------------------------ a small regression problem


def _problem(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return dict(x=rng.standard_normal((8, 3)).astype(dtype), y=rng.standard_normal((8, 2)).astype(dtype),
                w=rng.standard_normal((3, 2)).astype(dtype), b=rng.standard_normal(2).astype(dtype))


def _striate_params(problem):
    return [Parameter(problem["w"].copy()), Parameter(problem["b"].copy())]


def _striate_loss(params, problem):
    w, b = params
    residual = striate.Tensor(problem["x"]) @ w + b - striate.Tensor(problem["y"])
    return (residual * residual).mean()


def _torch_loss(params, problem):
    w, b = params
    residual = torch.tensor(problem["x"]) @ w + b - torch.tensor(problem["y"])
    return (residual * residual).mean()


def _run_striate(make, problem, steps, group_lrs=None, make_scheduler=None):
    params = _striate_params(problem)
    groups = params if group_lrs is None else [
        {"params": [p], "lr": lr} for p, lr in zip(params, group_lrs)]
    opt = make(optim, groups)
    sched = make_scheduler(lr_scheduler, opt) if make_scheduler else None
    for _ in range(steps):
        opt.zero_grad()
        _striate_loss(params, problem).backward()
        opt.step()
        if sched:
            sched.step()
    return params, opt, sched


def _run_torch(make, problem, steps, group_lrs=None, make_scheduler=None):
    params = [torch.tensor(problem["w"].copy(), requires_grad=True),
              torch.tensor(problem["b"].copy(), requires_grad=True)]
    groups = params if group_lrs is None else [
        {"params": [p], "lr": lr} for p, lr in zip(params, group_lrs)]
    opt = make(torch.optim, groups)
    sched = make_scheduler(torch.optim.lr_scheduler, opt) if make_scheduler else None
    for _ in range(steps):
        opt.zero_grad()
        _torch_loss(params, problem).backward()
        opt.step()
        if sched:
            sched.step()
    return params, opt


OPTIMIZERS = {
    "sgd": lambda m, p: m.SGD(p, lr=0.1),
    "sgd_momentum": lambda m, p: m.SGD(p, lr=0.05, momentum=0.9),
    "sgd_dampening": lambda m, p: m.SGD(p, lr=0.05, momentum=0.9, dampening=0.3),
    "sgd_nesterov": lambda m, p: m.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
    "sgd_weight_decay": lambda m, p: m.SGD(p, lr=0.05, momentum=0.5, weight_decay=0.1),
    "sgd_maximize": lambda m, p: m.SGD(p, lr=0.01, momentum=0.5, maximize=True),
    "sgd_maximize_decay": lambda m, p: m.SGD(p, lr=0.01, momentum=0.5, nesterov=True,
                                             weight_decay=0.1, maximize=True),
    "adam": lambda m, p: m.Adam(p, lr=0.05),
    "adam_options": lambda m, p: m.Adam(p, lr=0.05, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1),
    "adam_amsgrad": lambda m, p: m.Adam(p, lr=0.05, amsgrad=True),
    "adamw": lambda m, p: m.AdamW(p, lr=0.05),
    "adamw_amsgrad": lambda m, p: m.AdamW(p, lr=0.05, weight_decay=0.3, amsgrad=True),
    "adam_maximize_decay": lambda m, p: m.Adam(p, lr=0.05, weight_decay=0.1, maximize=True),
    "adamw_maximize": lambda m, p: m.AdamW(p, lr=0.05, weight_decay=0.3, maximize=True),
    "rmsprop": lambda m, p: m.RMSprop(p, lr=0.01),
    "rmsprop_centered": lambda m, p: m.RMSprop(p, lr=0.01, centered=True),
    "rmsprop_momentum": lambda m, p: m.RMSprop(p, lr=0.01, momentum=0.9, weight_decay=0.1),
    "rmsprop_all": lambda m, p: m.RMSprop(p, lr=0.01, alpha=0.9, momentum=0.5, centered=True),
    "rmsprop_maximize_decay": lambda m, p: m.RMSprop(p, lr=0.01, weight_decay=0.1, maximize=True),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_trajectory_matches_torch(name, dtype):
    problem = _problem(dtype)
    ours, _, _ = _run_striate(OPTIMIZERS[name], problem, STEPS)
    theirs, _ = _run_torch(OPTIMIZERS[name], problem, STEPS)
    moved = False
    for o, t, start in zip(ours, theirs, (problem["w"], problem["b"])):
        assert o.dtype == dtype
        assert_close(o.data, t.detach().numpy(), dtype, f"{name} after {STEPS} steps")
        moved |= not np.allclose(o.data, start)
    assert moved, "the optimizer did not change the parameters"


@pytest.mark.parametrize("name", ["sgd_momentum", "adam", "rmsprop_centered"])
def test_param_groups_have_their_own_lr(name):
    problem = _problem(np.float64)
    ours, opt, _ = _run_striate(OPTIMIZERS[name], problem, STEPS, group_lrs=[0.01, 0.2])
    theirs, _ = _run_torch(OPTIMIZERS[name], problem, STEPS, group_lrs=[0.01, 0.2])
    assert [g["lr"] for g in opt.param_groups] == [0.01, 0.2]
    for o, t in zip(ours, theirs):
        assert_close(o.data, t.detach().numpy(), np.float64, name)


def test_defaults_are_pytorchs():
    p = [Parameter(np.zeros(2))]
    for ours, theirs in [(optim.Adam(p), torch.optim.Adam([torch.zeros(2)])),
                         (optim.AdamW(p), torch.optim.AdamW([torch.zeros(2)])),
                         (optim.RMSprop(p), torch.optim.RMSprop([torch.zeros(2)])),
                         (optim.SGD(p, lr=0.1), torch.optim.SGD([torch.zeros(2)], lr=0.1))]:
        for key, value in ours.defaults.items():
            assert theirs.defaults[key] == value, (type(ours).__name__, key)


def test_zero_grad_and_skipping_params_without_grad():
    a, b = Parameter(np.ones(2)), Parameter(np.ones(2))
    opt = optim.SGD([a, b], lr=1.0)
    a.grad = np.full(2, 0.5)
    opt.step()  # b has no gradient: left alone
    np.testing.assert_array_equal(a.data, [0.5, 0.5])
    np.testing.assert_array_equal(b.data, [1.0, 1.0])
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(a.grad, [0.0, 0.0])
    opt.zero_grad()
    assert a.grad is None


@pytest.mark.parametrize("make, message", [
    (lambda p: optim.SGD(p, lr=-1), "learning rate"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "Nesterov"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)), "betas"),
    (lambda p: optim.SGD([], lr=0.1), "empty"),
    (lambda p: optim.SGD(p + p, lr=0.1), "more than once"),
    (lambda p: optim.SGD([{"params": p}]), "required"),
])
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make([Parameter(np.zeros(2))])


# ------------------------------------------------------------------ schedulers

SCHEDULERS = {
    "step": lambda m, o: m.StepLR(o, step_size=3, gamma=0.5),
    "multistep": lambda m, o: m.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.3),
    "exponential": lambda m, o: m.ExponentialLR(o, gamma=0.9),
    "cosine": lambda m, o: m.CosineAnnealingLR(o, T_max=7, eta_min=0.001),
    "linear_warmup": lambda m, o: m.LinearLR(o, start_factor=0.1, total_iters=4),
    "linear_decay": lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.2, total_iters=6),
    "onecycle": lambda m, o: m.OneCycleLR(o, max_lr=0.5, total_steps=20),
    "onecycle_linear_3phase": lambda m, o: m.OneCycleLR(o, max_lr=[0.5, 0.3], epochs=4,
                                                        steps_per_epoch=5, anneal_strategy="linear",
                                                        three_phase=True, pct_start=0.25),
    "warmup_cosine": lambda m, o: m.SequentialLR(o, [m.LinearLR(o, start_factor=0.1, total_iters=3),
                                                     m.CosineAnnealingLR(o, T_max=10)],
                                                 milestones=[3]),
    "warmup_step": lambda m, o: m.SequentialLR(o, [m.LinearLR(o, start_factor=0.5, total_iters=2),
                                                   m.StepLR(o, step_size=2, gamma=0.5),
                                                   m.ExponentialLR(o, gamma=0.8)],
                                               milestones=[4, 8]),
}


def _lr_sequence(module, make_optimizer, make_scheduler, params, steps=20):
    opt = make_optimizer(module, params)
    sched = make_scheduler(module.lr_scheduler, opt)
    lrs, momenta = [sched.get_last_lr()], []
    for _ in range(steps - 1):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr())
        momenta.append([g.get("momentum", g.get("betas", (None,))[0]) for g in opt.param_groups])
    return lrs, momenta


@pytest.mark.parametrize("optimizer", ["sgd_momentum", "adam"])
@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_scheduler_sequence_equals_torch(name, optimizer):
    def two_groups(module, tensors):
        return OPTIMIZERS[optimizer](module, [{"params": [tensors[0]]},
                                             {"params": [tensors[1]], "lr": 0.02}])
    ours = _lr_sequence(optim, two_groups, SCHEDULERS[name], [Parameter(np.zeros(2)) for _ in range(2)])
    theirs = _lr_sequence(torch.optim, two_groups, SCHEDULERS[name],
                          [torch.zeros(2, requires_grad=True) for _ in range(2)])
    # The same recurrences in the same order: equal to the last bit.
    assert ours == theirs


def test_scheduler_sets_optimizer_lr():
    opt = optim.SGD([Parameter(np.zeros(1))], lr=1.0)
    sched = lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    opt.step()
    sched.step()
    assert opt.param_groups[0]["lr"] == 0.5 == sched.get_last_lr()[0]
    assert opt.param_groups[0]["initial_lr"] == 1.0


def test_onecycle_refuses_too_many_steps():
    opt = optim.SGD([Parameter(np.zeros(1))], lr=1.0, momentum=0.9)
    sched = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=3)
    for _ in range(3):
        sched.step()
    with pytest.raises(ValueError, match="total_steps is 3"):
        sched.step()


# ------------------------------------------------------------------ checkpoints: exact resume


def _json_round_trip(state):
    """What a checkpoint does: arrays aside (safetensors), everything else through JSON."""
    arrays = []

    def strip(value):
        if isinstance(value, np.ndarray):
            arrays.append(np.ascontiguousarray(value).copy())
            return {"__array__": len(arrays) - 1}
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [strip(v) for v in value]
        assert value is None or isinstance(value, (bool, int, float, str)), type(value)
        return value

    def restore(value):
        if isinstance(value, dict):
            if set(value) == {"__array__"}:
                return arrays[value["__array__"]]
            return {k: restore(v) for k, v in value.items()}
        if isinstance(value, list):
            return [restore(v) for v in value]
        return value

    return restore(json.loads(json.dumps(strip(state))))


@pytest.mark.parametrize("name, schedule", [("sgd_nesterov", "warmup_cosine"),
                                            ("adamw_amsgrad", "onecycle"),
                                            ("rmsprop_all", "multistep"),
                                            ("adam_options", "warmup_step")])
def test_resume_is_bit_identical(name, schedule):
    problem = _problem(np.float32)
    straight, _, _ = _run_striate(OPTIMIZERS[name], problem, 10, make_scheduler=SCHEDULERS[schedule])

    first, opt, sched = _run_striate(OPTIMIZERS[name], problem, 5, make_scheduler=SCHEDULERS[schedule])
    saved = _json_round_trip({"weights": [p.data for p in first], "optimizer": opt.state_dict(),
                              "scheduler": sched.state_dict()})
    # A new process: fresh parameters, optimizer and scheduler, then load.
    params = [Parameter(np.zeros_like(problem["w"])), Parameter(np.zeros_like(problem["b"]))]
    for p, w in zip(params, saved["weights"]):
        p.data[...] = w
    opt = OPTIMIZERS[name](optim, params)
    sched = SCHEDULERS[schedule](lr_scheduler, opt)
    opt.load_state_dict(saved["optimizer"])
    sched.load_state_dict(saved["scheduler"])
    for _ in range(5):
        opt.zero_grad()
        _striate_loss(params, problem).backward()
        opt.step()
        sched.step()
    for resumed, reference in zip(params, straight):
        np.testing.assert_array_equal(resumed.data, reference.data)
    # And against torch.optim's uninterrupted run: the same weights, learning
    # rates and step count.
    theirs, torch_opt = _run_torch(OPTIMIZERS[name], problem, 10,
                                   make_scheduler=SCHEDULERS[schedule])
    for resumed, reference in zip(params, theirs):
        assert_close(resumed.data, reference.detach().numpy(), np.float32, f"{name} resumed")
    assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in torch_opt.param_groups]
    if "step" in opt.state[params[0]]:
        assert int(opt.state[params[0]]["step"]) == 10


def test_state_dict_structure_and_copies():
    problem = _problem(np.float64)
    _, opt, _ = _run_striate(OPTIMIZERS["adam_amsgrad"], problem, 2)
    state = opt.state_dict()
    assert sorted(state) == ["param_groups", "state"]
    assert sorted(state["state"]) == [0, 1]
    assert state["param_groups"][0]["params"] == [0, 1]
    assert state["state"][0]["step"] == 2
    assert sorted(state["state"][0]) == ["exp_avg", "exp_avg_sq", "max_exp_avg_sq", "step"]
    state["state"][0]["exp_avg"][...] = 123.0  # a copy: the optimizer is unaffected
    assert not np.any(opt.state[opt.param_groups[0]["params"][0]]["exp_avg"] == 123.0)


def test_load_state_dict_checks_groups():
    p = [Parameter(np.zeros(2)), Parameter(np.zeros(3))]
    state = optim.SGD(p, lr=0.1).state_dict()
    other = optim.SGD([{"params": [p[0]]}, {"params": [p[1]]}], lr=0.1)
    with pytest.raises(ValueError, match="1 parameter groups"):
        other.load_state_dict(state)
    truncated = {"state": {}, "param_groups": [{**state["param_groups"][0], "params": [0]}]}
    with pytest.raises(ValueError, match="1 parameters in the state and 2"):
        optim.SGD(p, lr=0.1).load_state_dict(truncated)

