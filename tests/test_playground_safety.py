"""The playground under attack and under load (cross-site requests, hostile
JSON, requests that would exhaust the server), the run picker, and the
teaching endpoints' numbers, against a real uvicorn server on 127.0.0.1."""
import json
import os
import time

import pytest

from playground_server import drawn_digit_png, serve_playground
from test_playground import assert_json_error, call

pytest.importorskip("starlette", reason="the playground needs starlette (striate[playground])")
pytest.importorskip("uvicorn", reason="the playground needs uvicorn (striate[playground])")

JSON = {"Content-Type": "application/json"}
PNG = {"Content-Type": "image/png"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from serve_playground(str(tmp_path_factory.mktemp("runs")))


def rss_bytes():
    """This process's resident memory (the server runs in a thread of it)."""
    with open("/proc/self/statm") as file:
        return int(file.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# --------------------------------------------------------------------------- fault 3: cross-site


@pytest.mark.parametrize("headers", [
    {"Content-Type": "text/plain", "Origin": "http://evil.example"},   # a no-cors fetch
    {"Content-Type": "text/plain"},                                      # no Origin, simple type
    {"Content-Type": "application/x-www-form-urlencoded"},              # a form post
    {"Content-Type": "application/json", "Origin": "http://evil.example"},
    {"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"},
    {"Content-Type": "application/json", "Origin": "null"},
])
def test_a_cross_site_training_start_is_refused_and_starts_nothing(server, headers):
    job = server.app.state.playground.job
    before = job.job
    status, answer = call(server, "POST", "/api/train/start",
                          json.dumps({"epochs": 1, "limit": 16}), headers=headers)
    assert_json_error(status, answer, 403, "refused")
    assert job.job == before and not job.running


def test_a_same_origin_json_post_is_let_through(server):
    status, answer = call(server, "POST", "/api/kernel", json.dumps({"kernel": "identity"}),
                          headers={**JSON, "Origin": f"http://127.0.0.1:{server.port}",
                                   "Sec-Fetch-Site": "same-origin"})
    assert status == 200, answer


def test_a_picture_post_must_say_it_is_a_picture(server):
    status, answer = call(server, "POST", "/api/predict", drawn_digit_png(1),
                          headers={"Content-Type": "text/plain"})
    assert_json_error(status, answer, 403, "text/plain")


# --------------------------------------------------------------------------- fault 4: hostile JSON


def test_json_nested_100000_deep_is_a_400(server):
    deep = "[" * 100_000 + "]" * 100_000
    for path in ("/api/kernel", "/api/train/start", "/api/teach/conv"):
        status, answer = call(server, "POST", path, deep, headers=JSON)
        assert_json_error(status, answer, 400, "nested too deeply")


@pytest.mark.parametrize("value", [1e308, -1e308, 1e300])
def test_a_kernel_of_huge_values_is_a_400_never_infinity(server, value):
    status, answer = call(server, "POST", "/api/kernel",
                          json.dumps({"kernel": [[value] * 3] * 3}), headers=JSON)
    assert_json_error(status, answer, 400, "kernel row 1, column 1")


def test_a_kernel_cell_that_is_not_a_number_is_a_400(server):
    status, answer = call(server, "POST", "/api/kernel",
                          '{"kernel": [[1, 2, 3], [4, NaN, 6], [7, 8, 9]]}', headers=JSON)
    assert_json_error(status, answer, 400, "row 2, column 2")


# --------------------------------------------------------------------------- fault 2: cost first


@pytest.mark.parametrize("option, value", [("padding", [100000, 1]), ("padding", [1, 100000]),
                                           ("stride", [1, 100000]), ("dilation", [65, 1]),
                                           ("padding", 65), ("padding", [True, 1])])
def test_kernel_pairs_are_capped_like_single_numbers(server, option, value):
    status, answer = call(server, "POST", "/api/kernel",
                          json.dumps({"kernel": "sharpen", option: value}), headers=JSON)
    assert_json_error(status, answer, 400, option, "64")


def test_the_unet_summary_at_1024_is_refused_and_the_server_stays_small_and_healthy(server):
    from striate.playground.api import SUMMARY_LIMITS

    call(server, "GET", "/api/summary?model=lenet5")                     # warm the server up
    before = rss_bytes()
    began = time.monotonic()
    status, answer = call(server, "GET", "/api/summary?model=unet&input=1,1024,1024")
    assert_json_error(status, answer, 413, "unet", "MB of activations", "smaller input")
    # The refusal's estimate is far over the limit, not a near miss.
    needed = float(answer["error"].split("about ")[1].split(" MB")[0].replace(",", ""))
    assert needed * 2**20 > 4 * SUMMARY_LIMITS["activation_bytes"]
    assert time.monotonic() - began < 120
    # The estimate ran two small probes of U-Net only: memory stays within 400 MB of before.
    ceiling = before + 400 * 2**20
    assert rss_bytes() < ceiling, (before, rss_bytes())
    status, answer = call(server, "GET", "/api/health")
    assert status == 200 and answer["status"] == "ok"
    status, answer = call(server, "GET", "/api/summary?model=lenet5&input=1,28,28")
    assert status == 200 and answer["rows"][0]["output_shape"] == [1, 6, 28, 28]


def test_a_summary_estimate_bounds_the_real_cost_of_a_small_one():
    """The estimate is never below what the summary really needs (U-Net at a
    size that is cheap to run for real)."""
    from striate import models
    from striate.playground.api import estimate_summary
    from striate.summary import summary

    activation, mult_adds = estimate_summary("unet", (1, 252, 252))
    real = summary(models.create("unet"), (1, 252, 252))
    assert real.activation_bytes <= activation <= 2 * real.activation_bytes
    assert real.total_mult_adds <= mult_adds <= 2 * real.total_mult_adds


# --------------------------------------------------------------------------- fault 1: run picker


def test_a_finished_run_is_listed_but_served_only_when_picked(server):
    playground = server.app.state.playground
    status, answer = call(server, "POST", "/api/train/start",
                          json.dumps({"epochs": 1, "limit": 32}))
    assert status == 202, answer
    playground.job.wait(120)
    new = answer["run"]
    status, answer = call(server, "GET", "/api/health")
    assert answer["model"] == "lenet5-digits"                     # unchanged after training
    status, listed = call(server, "GET", "/api/runs")
    runs = {run["run"]: run for run in listed["runs"]}
    assert runs[new]["served"] is False and runs["lenet5-digits"]["served"] is True
    assert runs[new]["model"] == "lenet5" and runs[new]["dataset"] == "digits"
    assert runs[new]["epochs"] == 1 and 0 <= runs[new]["accuracy"] <= 1 and runs[new]["date"]
    status, answer = call(server, "POST", "/api/runs/select", json.dumps({"run": new}))
    assert status == 200 and answer["run"] == new and answer["dataset"] == "digits"
    assert call(server, "GET", "/api/health")[1]["model"] == new
    status, answer = call(server, "POST", "/api/runs/select", json.dumps({"run": "../../etc"}))
    assert_json_error(status, answer, 400, "no run")
    status, answer = call(server, "POST", "/api/runs/select",
                          json.dumps({"run": "lenet5-digits"}))
    assert status == 200 and call(server, "GET", "/api/health")[1]["model"] == "lenet5-digits"


# --------------------------------------------------------------------------- teaching numbers


def test_the_conv_steps_are_striates_conv2d_and_torchs():
    torch = pytest.importorskip("torch")
    from striate.playground.teaching import conv_steps

    rng = __import__("numpy").random.default_rng(0)
    grey, weight = rng.random((12, 12)), rng.standard_normal((3, 3))
    for padding, stride, dilation in [(1, 1, 1), (2, 2, 1), ("valid", 1, 2), ("same", 1, 3)]:
        result = conv_steps(grey, weight, bias=0.25, padding=padding, stride=stride,
                            dilation=dilation)
        pads = result["pads"]
        rounded = torch.tensor(result["input"], dtype=torch.float64)
        padded = torch.nn.functional.pad(rounded, (pads[1][0], pads[1][1], pads[0][0], pads[0][1]))
        expected = torch.nn.functional.conv2d(padded[None, None],
                                              torch.tensor(weight)[None, None],
                                              torch.tensor([0.25], dtype=torch.float64),
                                              stride=stride, dilation=dilation)[0, 0]
        assert result["output_shape"] == list(expected.shape)
        for step in result["steps"]:
            patch = torch.tensor(step["patch"], dtype=torch.float64)
            assert step["output"] == pytest.approx(float(expected[step["y"], step["x"]]), abs=1e-5)
            assert step["sum"] + 0.25 == pytest.approx(step["output"], abs=1e-5)
            assert float((patch * torch.tensor(weight)).sum()) == pytest.approx(step["sum"],
                                                                              abs=1e-5)


def test_a_neuron_of_lenet5_reports_the_summarys_receptive_field(server):
    from striate import models
    from striate.summary import summary

    fields = {row.name: row.receptive_field for row in
              summary(models.create("lenet5"), (1, 28, 28)).layers if row.is_leaf}
    for layer, y, x in [("features.0", 14, 14), ("features.2", 7, 7), ("features.3", 5, 5)]:
        status, answer = call(server, "POST",
                              f"/api/teach/neuron?layer={layer}&channel=1&y={y}&x={x}",
                              drawn_digit_png(0))
        assert status == 200, answer
        field = answer["receptive_field"]
        assert tuple(field["size"]) == tuple(fields[layer])
        (top, bottom), (left, right) = field["box"]
        assert bottom - top + 1 == fields[layer][0] and right - left + 1 == fields[layer][1]
    conv = answer   # features.3: inputs times weights, summed, plus bias, is the cell's value
    assert conv["sum"] + conv["bias"] == pytest.approx(conv["value"], abs=1e-4)
    assert conv["next"] == {"layer": "features.4", "type": "ReLU", "channels": [1],
                            "cells": [[5, 5]], "shape": [16, 10, 10]}


def test_the_backward_views_max_pool_gradient_is_non_zero_only_at_winners(server):
    import numpy as np

    status, answer = call(server, "POST", "/api/teach/backward", drawn_digit_png(0))
    assert status == 200, answer
    routing = answer["routing"]
    inputs, grad_in = np.asarray(routing["input"]), np.asarray(routing["grad_input"])
    grad_out = np.asarray(routing["grad_output"])
    k = routing["kernel"][0]
    channels, height, width = grad_out.shape
    windows = inputs[:, :height * k, :width * k].reshape(channels, height, k, width, k)
    winners = windows == windows.max(axis=(2, 4), keepdims=True)
    routed = grad_in[:, :height * k, :width * k].reshape(channels, height, k, width, k)
    assert np.abs(routed[~winners]).max() == 0.0
    assert np.abs(grad_in).max() > 0
    # Each window's winners together receive exactly the gradient that arrived at its output.
    assert np.allclose(routed.sum(axis=(2, 4)), grad_out, atol=1e-7)
    assert len(answer["filter"]["weight_grad"]) == 1                 # LeNet's first conv: 1 input
