"""The playground in a real browser: Playwright driving Debian's Chromium.

Every page opens without console errors; a drawn 1 and 0 are read as such;
a kernel edit changes the output picture and a stride its size; a training
run's curve receives points; the Architecture page shows AlexNet's first
layer. Screenshots of every page, wide and narrow, go to
``$STRIATE_SCREENSHOTS`` (default: a temporary folder).
"""
import math
import os
import re
import time

import pytest

from playground_server import Server, trained_runs_root

CHROMIUM = "/usr/bin/chromium"
PAGES = ("draw", "kernels", "train", "inspect", "architecture")
VIEWPORTS = {"wide": {"width": 1280, "height": 800}, "narrow": {"width": 390, "height": 844}}


def _browser_or_skip():
    # CI installs both (see MERGE-NOTES.md), so these tests run there.
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the browser tests need the playwright package (pip install playwright)")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"the browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    pytest.importorskip("starlette", reason="the playground needs starlette")
    pytest.importorskip("uvicorn", reason="the playground needs uvicorn")
    return sync_playwright


@pytest.fixture(scope="module")
def server():
    _browser_or_skip()
    from striate.playground import create_app

    root = trained_runs_root()
    app = create_app(run_dir=os.path.join(root, "lenet5-digits"), runs_root=root)
    server = Server(app)
    yield server
    app.state.playground.job.stop()
    app.state.playground.job.wait(30)
    server.stop()


@pytest.fixture(scope="module")
def browser(server):
    sync_playwright = _browser_or_skip()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = os.environ.get("STRIATE_SCREENSHOTS") or str(tmp_path_factory.mktemp("screenshots"))
    os.makedirs(folder, exist_ok=True)
    return folder


@pytest.fixture
def page(browser, server):
    page = browser.new_page(viewport=VIEWPORTS["wide"])
    page.errors = []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    yield page
    page.close()


def open_page(page, server, name):
    page.goto(f"{server.url}/#{name}")
    page.wait_for_selector(f"body[data-ready='{name}']")
    return page


def draw(page, points):
    """Drag the mouse through ``points`` (canvas pixels, 280x280) on the canvas."""
    box = page.get_by_test_id("draw-canvas").bounding_box()
    scale = box["width"] / 280
    at = [(box["x"] + x * scale, box["y"] + y * scale) for x, y in points]
    page.mouse.move(*at[0])
    page.mouse.down()
    for x, y in at[1:]:
        page.mouse.move(x, y, steps=2)
    page.mouse.up()


def until(page, condition, timeout=30.0, what="the condition"):
    """Poll ``condition()`` (the page's CSP forbids evaluating strings, so no wait_for_function)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        page.wait_for_timeout(100)


def test_drawing_a_one_then_a_zero_changes_the_prediction(page, server):
    open_page(page, server, "draw")
    prediction = page.get_by_test_id("prediction")
    draw(page, [(140, 40 + 10 * i) for i in range(21)])                   # a vertical stroke
    page.wait_for_selector("[data-testid=prediction][data-label='1']", timeout=15000)
    assert prediction.get_attribute("data-label") == "1"
    page.get_by_test_id("draw-clear").click()
    assert prediction.get_attribute("data-label") == ""
    ring = [(140 + 70 * math.sin(t / 16 * 2 * math.pi), 140 - 95 * math.cos(t / 16 * 2 * math.pi))
            for t in range(18)]
    draw(page, ring)
    page.wait_for_selector("[data-testid=prediction][data-label='0']", timeout=15000)
    assert re.match(r"^0\b", prediction.inner_text())
    assert page.errors == []


def test_a_kernel_edit_changes_the_output_picture_and_a_stride_its_size(page, server):
    open_page(page, server, "kernels")
    output = page.get_by_test_id("kernel-output")
    size = page.get_by_test_id("kernel-size")
    page.wait_for_selector("[data-testid=kernel-size][data-size]")
    before, size_before = output.get_attribute("src"), size.inner_text()
    assert "Output 256 × 256" in size_before
    page.get_by_test_id("kernel-cell-1-1").fill("9")                       # sharpen's centre 5 -> 9
    until(page, lambda: output.get_attribute("src") != before, what="a new output picture")
    assert output.get_attribute("src") != before
    page.get_by_test_id("kernel-stride").select_option("2")
    page.wait_for_selector("[data-testid=kernel-size][data-size='128x128']")
    assert "Output 128 × 128" in size.inner_text()
    assert page.evaluate("document.getElementById('kernel-output').naturalWidth") == 128
    assert page.errors == []


def test_a_one_epoch_training_run_streams_points_into_the_curve(page, server):
    open_page(page, server, "train")
    page.get_by_test_id("train-epochs").fill("1")
    page.get_by_test_id("train-limit").fill("256")
    page.get_by_test_id("train-start").click()
    curve = page.get_by_test_id("train-curve")
    until(page, lambda: int(curve.get_attribute("data-points")) >= 2, what="points in the curve")
    page.wait_for_selector("[data-testid=train-status][data-state=finished]", timeout=60000)
    points = int(curve.get_attribute("data-points"))
    assert points == 4  # 256 images in batches of 64: one point per batch
    assert "saved as" in page.get_by_test_id("train-status").inner_text()
    assert page.errors == []


def test_the_summary_of_alexnet_original_shows_its_first_conv_layer(page, server):
    open_page(page, server, "architecture")
    page.get_by_test_id("summary-model").fill("alexnet_original")
    page.get_by_test_id("summary-input").fill("3,227,227")
    page.get_by_test_id("summary-show").click()
    first = page.locator("[data-testid=summary-table] tbody tr").first
    totals = page.locator("#summary-totals")
    until(page, lambda: totals.inner_text().startswith("alexnet_original at 3×227×227"),
          what="AlexNet's summary")
    assert first.locator("td").first.inner_text() == "features.0"
    # 96 filters of 3x11x11 plus 96 biases (Krizhevsky et al. 2012): 96 * 363 + 96.
    assert first.locator("[data-column=params]").inner_text() == f"{96 * 3 * 11 * 11 + 96:,}"
    assert page.errors == []


# --------------------------------------------------------------------------- served run, safety


def test_a_finished_training_run_is_served_only_once_picked(page, server):
    open_page(page, server, "train")
    about = page.get_by_test_id("served-about")
    until(page, lambda: about.get_attribute("data-run") == "lenet5-digits", what="the served run")
    assert "lenet5 on digits" in about.inner_text()
    page.get_by_test_id("train-epochs").fill("1")
    page.get_by_test_id("train-limit").fill("64")
    page.get_by_test_id("train-start").click()
    page.wait_for_selector("[data-testid=train-status][data-state=finished]", timeout=90000)
    new = server_status(server)["run"]
    page.wait_for_timeout(500)
    assert about.get_attribute("data-run") == "lenet5-digits"          # not switched behind us
    open_page(page, server, "draw")
    draw(page, [(140, 40 + 10 * i) for i in range(21)])
    page.wait_for_selector("[data-testid=prediction][data-label='1']", timeout=15000)
    picker = page.get_by_test_id("run-picker")
    until(page, lambda: new in picker.inner_text(), what="the new run in the picker")
    picker.select_option(new)
    until(page, lambda: about.get_attribute("data-run") == new, what="the picked run served")
    badge = page.get_by_test_id("model-badge")
    until(page, lambda: badge.inner_text() == f"model: {new}", what="the badge naming the run")
    picker.select_option("lenet5-digits")                               # as the other tests expect
    until(page, lambda: about.get_attribute("data-run") == "lenet5-digits",
          what="the first run back")
    assert page.errors == []


def server_status(server):
    import json
    import urllib.request

    with urllib.request.urlopen(f"{server.url}/api/train/status") as response:
        return json.loads(response.read())


def post_json(server, path, value):
    import json
    import urllib.request

    request = urllib.request.Request(f"{server.url}{path}", data=json.dumps(value).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request) as response:
        return response.status, json.loads(response.read())


def test_draw_and_inspect_recover_by_themselves_when_the_first_model_is_ready(browser, tmp_path):
    from striate.playground import create_app

    app = create_app(runs_root=str(tmp_path), train_default=False)
    fresh = Server(app)
    try:
        inspect = browser.new_page(viewport=VIEWPORTS["wide"])
        open_page(inspect, fresh, "inspect")
        inspect.wait_for_selector("#inspect-error:not([hidden])")
        assert "no trained model" in inspect.locator("#inspect-error").inner_text()
        drawing = browser.new_page(viewport=VIEWPORTS["wide"])
        open_page(drawing, fresh, "draw")
        draw(drawing, [(140, 40 + 10 * i) for i in range(21)])
        drawing.wait_for_selector("#draw-error:not([hidden])")
        status, _ = post_json(fresh, "/api/train/start", {"epochs": 1, "limit": 64})
        assert status == 202
        app.state.playground.job.wait(120)
        inspect.wait_for_selector("#inspect-filters img", timeout=30000)
        drawing.wait_for_selector("[data-testid=prediction][data-label]:not([data-label=''])",
                                  timeout=30000)
        assert drawing.locator("#draw-error").is_hidden()
        assert inspect.get_by_test_id("served-about").get_attribute("data-run")
        inspect.close()
        drawing.close()
    finally:
        fresh.stop()


def test_a_cross_origin_text_plain_post_starts_no_job(browser, server):
    job = server_status(server)["job"]
    async def elsewhere_app(scope, receive, send):   # any other site: another origin
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/html")]})
        await send({"type": "http.response.body", "body": b"<!doctype html><title>x</title>"})

    elsewhere = Server(elsewhere_app)
    page = browser.new_page()
    page.goto(elsewhere.url)
    sent = page.evaluate("""url => fetch(url, {method: 'POST', mode: 'no-cors',
        headers: {'Content-Type': 'text/plain'}, body: '{"epochs": 1, "limit": 16}'})
        .then(() => 'sent', (e) => String(e))""", f"{server.url}/api/train/start")
    elsewhere.stop()
    assert sent == "sent"             # the browser sent it (no-cors needs no preflight)
    page.wait_for_timeout(500)
    status = server_status(server)
    assert status["job"] == job and not status["running"]
    page.close()


def test_deep_json_and_infinite_kernels_answer_400_with_a_message(page, server):
    open_page(page, server, "kernels")
    page.wait_for_selector("[data-testid=kernel-size][data-size]")
    answer = page.evaluate("""async () => {
        const r = await fetch('/api/kernel', {method: 'POST',
                                              headers: {'Content-Type': 'application/json'},
                                              body: '['.repeat(100000) + ']'.repeat(100000)});
        return [r.status, await r.text()]; }""")
    assert answer[0] == 400 and "nested too deeply" in answer[1]
    page.get_by_test_id("kernel-cell-0-0").fill("1e308")
    page.wait_for_selector("#kernel-error:not([hidden])")
    message = page.locator("#kernel-error").inner_text()
    assert "1e+308" in message and "Infinity" not in message and "500" not in message
    assert page.errors == [] or all("400" in e for e in page.errors)


def test_a_late_kernel_answer_never_replaces_a_newer_one(browser, tmp_path):
    """The first request (stride 2, dilation 1) is held back 2 s by the server;
    the second (dilation 3) answers at once: the picture must stay the second's."""
    import asyncio
    import base64
    import json
    import urllib.request

    from striate.playground import create_app

    inner = create_app(run_dir=os.path.join(trained_runs_root(), "lenet5-digits"),
                       runs_root=str(tmp_path))

    async def slow_for_dilation_1(scope, receive, send):
        if scope["type"] == "http" and scope["path"] == "/api/kernel":
            chunks = []
            while True:
                message = await receive()
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    break
            body = b"".join(chunks)
            if b'"stride":2,"dilation":1' in body:
                await asyncio.sleep(2.0)
            sent = False

            async def replay():
                nonlocal sent
                if sent:
                    return {"type": "http.disconnect"}
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await inner(scope, replay, send)
        return await inner(scope, receive, send)

    slow = Server(slow_for_dilation_1)
    try:
        page = browser.new_page(viewport=VIEWPORTS["wide"])
        open_page(page, slow, "kernels")
        page.wait_for_selector("[data-testid=kernel-size][data-size]")
        page.get_by_test_id("kernel-stride").select_option("2")          # slow answer
        page.locator("#kernel-dilation").select_option("3")              # fast answer
        page.wait_for_timeout(3500)
        request = urllib.request.Request(
            f"{slow.url}/api/kernel", method="POST", headers={"Content-Type": "application/json"},
            data=json.dumps({"kernel": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]], "mode": "correlate",
                             "padding": "same", "stride": 2, "dilation": 3,
                             "image": "sample"}).encode())
        with urllib.request.urlopen(request) as response:
            expected = json.loads(response.read())["image"]
        assert page.get_by_test_id("kernel-output").get_attribute("src") == expected
        page.close()
    finally:
        slow.stop()


def test_signed_outputs_are_drawn_with_a_diverging_map_and_its_scale(page, server):
    import base64
    import io

    import numpy as np
    from PIL import Image

    open_page(page, server, "kernels")
    page.wait_for_selector("[data-testid=kernel-size][data-size]")
    page.get_by_test_id("kernel-preset").select_option("top_sobel")
    output = page.get_by_test_id("kernel-output")
    until(page, lambda: output.get_attribute("data-map") == "diverging", what="the diverging map")
    scale = page.get_by_test_id("kernel-scale")
    assert scale.is_visible()
    low, high = float(scale.get_attribute("data-low")), float(scale.get_attribute("data-high"))
    assert low == -high and high > 0
    picture = np.asarray(Image.open(io.BytesIO(base64.b64decode(
        output.get_attribute("src").split(",", 1)[1]))).convert("RGB")).astype(int)
    red = (picture[..., 0] - picture[..., 2] > 60).mean()
    blue = (picture[..., 2] - picture[..., 0] > 60).mean()
    assert red > 0.01 and blue > 0.01, (red, blue)      # both signs are visible, not clipped
    page.get_by_test_id("kernel-preset").select_option("box_blur")
    until(page, lambda: output.get_attribute("data-map") == "grey", what="the grey map")
    assert scale.is_hidden()


def test_the_architecture_page_clears_the_old_table_on_an_error(page, server):
    open_page(page, server, "architecture")
    page.wait_for_selector("[data-testid=summary-table] tbody tr")
    page.get_by_test_id("summary-input").fill("1,5,5")
    page.get_by_test_id("summary-show").click()
    page.wait_for_selector("#summary-error:not([hidden])")
    assert page.locator("[data-testid=summary-table] tr").count() == 0
    assert "too small" in page.locator("#summary-error").inner_text()


# --------------------------------------------------------------------------- teaching views


def test_the_convolution_animation_shows_conv2d_at_three_positions(page, server):
    torch = pytest.importorskip("torch")
    import json

    open_page(page, server, "kernels")
    page.get_by_test_id("kernel-stride").select_option("2")
    page.locator("#kernel-padding").select_option("1")
    page.get_by_test_id("conv-bias").fill("0.5")
    page.get_by_test_id("conv-bias").dispatch_event("change")
    arith = page.get_by_test_id("conv-arith")
    until(page, lambda: arith.get_attribute("data-bias") == "0.5", what="the animation's numbers")
    seen = set()
    for _ in range(3):
        page.get_by_test_id("conv-step").click()
        page.wait_for_timeout(100)
        patch = torch.tensor(json.loads(arith.get_attribute("data-patch")), dtype=torch.float64)
        kernel = torch.tensor(json.loads(arith.get_attribute("data-kernel")), dtype=torch.float64)
        bias = torch.tensor([float(arith.get_attribute("data-bias"))], dtype=torch.float64)
        expected = torch.nn.functional.conv2d(patch[None, None], kernel[None, None], bias)
        assert float(arith.get_attribute("data-output")) == pytest.approx(float(expected), abs=1e-5)
        seen.add((arith.get_attribute("data-y"), arith.get_attribute("data-x")))
        assert "Σ products" in arith.inner_text()
    assert len(seen) == 3
    assert "⌊(12 − 3 + 2) / 2⌋ + 1 = 6" in page.locator("#conv-words").inner_text()
    assert "examples/02_convolution_by_hand.py" in page.locator("#conv-words").inner_text()
    page.get_by_test_id("conv-play").click()
    before = arith.get_attribute("data-x"), arith.get_attribute("data-y")
    until(page, lambda: (arith.get_attribute("data-x"), arith.get_attribute("data-y")) != before,
          what="the animation to move")
    page.get_by_test_id("conv-play").click()
    assert page.errors == []


def _draw_zero(page, server):
    open_page(page, server, "draw")
    ring = [(140 + 70 * math.sin(t / 16 * 2 * math.pi), 140 - 95 * math.cos(t / 16 * 2 * math.pi))
            for t in range(18)]
    draw(page, ring)
    page.wait_for_selector("#draw-maps img")


def test_clicking_a_lenet5_cell_shows_the_summarys_receptive_field(page, server):
    from striate import models
    from striate.summary import summary

    fields = {row.name: row.receptive_field for row in
              summary(models.create("lenet5"), (1, 28, 28)).layers if row.is_leaf}
    _draw_zero(page, server)
    for layer, (y, x) in (("features.3", (5, 5)), ("features.0", (14, 14))):
        img = page.locator(f"#draw-maps img[data-layer='{layer}']")
        until(page, lambda: img.evaluate("i => i.complete && i.naturalWidth > 0"), what="the map")
        box = img.bounding_box()
        scale = box["width"] / img.evaluate("i => i.naturalWidth")
        img.click(position={"x": (x + 0.5) * scale, "y": (y + 0.5) * scale})
        neuron = page.get_by_test_id("neuron")
        until(page, lambda: neuron.get_attribute("data-layer") == layer, what="the neuron view")
        size = fields[layer]
        assert neuron.get_attribute("data-rf") == f"{size[0]}x{size[1]}"
        rf = page.get_by_test_id("neuron-rf").bounding_box()
        assert rf["width"] == pytest.approx(6 * size[1], abs=1) and rf["height"] == pytest.approx(
            6 * size[0], abs=1)
    text = page.get_by_test_id("neuron-arith").inner_text()
    assert "+ bias" in text and "parameters" in text
    assert "features.1" in page.get_by_test_id("neuron-next").inner_text()
    assert page.errors == []


def test_a_served_conv_cell_slides_and_its_numbers_are_conv2d(page, server):
    """The neuron view's window moves cell by cell over a LeNet-5 layer; at
    three cells its inputs, weights and bias give, through PyTorch's conv2d,
    the value striate's forward wrote."""
    torch = pytest.importorskip("torch")

    answers = []
    page.on("response", lambda r: answers.append(r) if "/api/teach/neuron" in r.url else None)
    _draw_zero(page, server)
    img = page.locator("#draw-maps img[data-layer='features.3']")
    until(page, lambda: img.evaluate("i => i.complete && i.naturalWidth > 0"), what="the map")
    scale = img.bounding_box()["width"] / img.evaluate("i => i.naturalWidth")
    img.click(position={"x": 3.5 * scale, "y": 4.5 * scale})
    neuron = page.get_by_test_id("neuron")
    until(page, lambda: len(answers) >= 1 and neuron.get_attribute("data-layer") == "features.3",
          what="the neuron view")
    for _ in range(2):
        count = len(answers)
        page.get_by_test_id("neuron-step").click()
        until(page, lambda: len(answers) > count, what="the next cell")
        page.wait_for_timeout(200)
    cells = set()
    for response in answers[-3:]:
        cell = response.json()
        cells.add((cell["y"], cell["x"]))
        expected = torch.nn.functional.conv2d(
            torch.tensor(cell["inputs"], dtype=torch.float64)[None],
            torch.tensor(cell["weights"], dtype=torch.float64)[None],
            torch.tensor([cell["bias"]], dtype=torch.float64))
        assert float(expected) == pytest.approx(cell["value"], abs=1e-4)
    assert cells == {(4, 3), (4, 4), (4, 5)}
    assert page.errors == []


def test_the_backward_view_routes_max_pool_gradient_to_winners_only(page, server):
    import numpy as np

    answers = []
    page.on("response", lambda r: answers.append(r) if "/api/teach/backward" in r.url else None)
    _draw_zero(page, server)
    page.wait_for_selector("#backward-routing img")
    routing = answers[-1].json()["routing"]
    inputs, grad_in = np.asarray(routing["input"]), np.asarray(routing["grad_input"])
    k = routing["kernel"][0]
    c, h, w = np.asarray(routing["grad_output"]).shape
    windows = inputs[:, :h * k, :w * k].reshape(c, h, k, w, k)
    winners = windows == windows.max(axis=(2, 4), keepdims=True)
    routed = grad_in[:, :h * k, :w * k].reshape(c, h, k, w, k)
    assert np.abs(routed[~winners]).max() == 0 and np.abs(routed[winners]).max() > 0
    assert page.locator("#backward-maps img").count() >= 6
    assert "filter 0 of features.0" in page.get_by_test_id("backward-filter-view").inner_text()
    assert page.errors == []


def test_the_train_pages_filters_change_between_epochs(page, server):
    open_page(page, server, "train")
    page.get_by_test_id("train-epochs").fill("2")
    page.get_by_test_id("train-limit").fill("256")
    page.get_by_test_id("train-start").click()
    filters = page.get_by_test_id("train-filters")
    seen = {}
    deadline = time.monotonic() + 120
    while "2" not in seen:
        assert time.monotonic() < deadline, f"snapshots seen: {sorted(seen)}"
        # epoch and picture read together: two reads could straddle the next snapshot
        epoch, src = filters.evaluate("img => [img.dataset.epoch ?? null, img.src]")
        if epoch is not None:
            seen[epoch] = src
        page.wait_for_timeout(50)
    page.wait_for_selector("[data-testid=train-status][data-state=finished]", timeout=60000)
    assert seen["1"] != seen["2"]
    if "0" in seen:
        assert seen["0"] != seen["1"]
    assert page.get_by_test_id("train-maps").get_attribute("src").startswith("data:image/png")
    assert page.errors == []


def test_no_page_overflows_a_phone_and_the_chart_labels_stay_readable(browser, server):
    page = browser.new_page(viewport=VIEWPORTS["narrow"])
    for name in PAGES:
        open_page(page, server, name)
        if name == "draw":
            assert all(img.get_attribute("src") for img in page.locator("img:visible").all())
            _draw_zero(page, server)
            page.wait_for_selector("#backward-maps img")
        if name == "kernels":
            page.wait_for_selector("[data-testid=conv-arith][data-output]")
        if name == "train":
            page.wait_for_selector("#train-epochs-table tbody tr")
            ratio = page.evaluate("devicePixelRatio")
            width = page.evaluate("document.getElementById('train-curve').clientWidth")
            canvas = page.get_by_test_id("train-curve").evaluate("c => c.width")
            assert canvas == round(width * ratio)
        if name == "inspect":
            page.wait_for_selector("#inspect-maps img")
        if name == "architecture":
            page.wait_for_selector("[data-testid=summary-table] tbody tr")
        page.wait_for_load_state("networkidle")
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= 390, f"the {name} page is {scroll} px wide on a 390 px phone"
    page.close()


def test_every_page_opens_without_console_errors_and_is_photographed(browser, server, shots):
    for viewport, size in VIEWPORTS.items():
        page = browser.new_page(viewport=size)
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        for name in PAGES:
            open_page(page, server, name)
            if name == "draw":  # the Draw page with a drawing in it says more
                draw(page, [(140 + 80 * math.cos(t / 12 * math.pi), 140 + 95 * math.sin(t / 12 * math.pi))
                            for t in range(25)])
                page.wait_for_selector("#draw-maps img")
                page.wait_for_selector("#backward-maps img")
                first = page.locator("#draw-maps img").nth(2)
                first.click(position={"x": 20, "y": 20})
                page.wait_for_selector("[data-testid=neuron][data-rf]")
            if name == "kernels":
                page.wait_for_selector("[data-testid=kernel-size][data-size]")
                page.wait_for_selector("[data-testid=conv-arith][data-output]")
            if name == "inspect":
                page.wait_for_selector("#inspect-maps img")
            if name == "train" and server_status(server)["events"]:  # an earlier test's job
                page.wait_for_selector("#train-epochs-table tbody tr")
                page.wait_for_selector("[data-testid=train-filters][data-epoch]")
            if name == "architecture":
                page.wait_for_selector("[data-testid=summary-table] tbody tr")
            page.wait_for_load_state("networkidle")
            page.screenshot(path=os.path.join(shots, f"{name}-{viewport}.png"), full_page=True)
        page.close()
        assert errors == [], f"console errors on the {viewport} pages: {errors}"
    assert len([f for f in os.listdir(shots) if f.endswith(".png")]) >= 2 * len(PAGES)


