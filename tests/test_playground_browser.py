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
VIEWPORTS = {"wide": {"width": 1280, "height": 900}, "narrow": {"width": 390, "height": 844}}


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
            if name == "kernels":
                page.wait_for_selector("[data-testid=kernel-size][data-size]")
            if name == "inspect":
                page.wait_for_selector("#inspect-maps img")
            if name == "architecture":
                page.wait_for_selector("[data-testid=summary-table] tbody tr")
            page.wait_for_load_state("networkidle")
            page.screenshot(path=os.path.join(shots, f"{name}-{viewport}.png"), full_page=True)
        page.close()
        assert errors == [], f"console errors on the {viewport} pages: {errors}"
    assert len([f for f in os.listdir(shots) if f.endswith(".png")]) >= 2 * len(PAGES)


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
