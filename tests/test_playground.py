"""The playground's JSON API and its safety, against a real uvicorn server
on 127.0.0.1 (see ``playground_server.py``); the pages are tested in a
browser in ``test_playground_browser.py``."""
import http.client
import io
import json
import os
import re
import socket
import subprocess
import sys
import time

import pytest

from playground_server import drawn_digit_png, serve_playground, trained_runs_root

pytest.importorskip("starlette", reason="the playground needs starlette (striate[playground])")
pytest.importorskip("uvicorn", reason="the playground needs uvicorn (striate[playground])")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WEB_STACK = ("starlette", "uvicorn", "anyio", "h11", "httptools", "multipart", "playwright",
             "striate.playground")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from serve_playground(str(tmp_path_factory.mktemp("runs")))


def call(server, method, path, body=None, headers=None):
    """(status, decoded JSON or raw bytes) of one request."""
    if headers is None:  # what the page sends: JSON as JSON, pictures as PNG
        headers = {}
        if method == "POST":
            headers["Content-Type"] = ("application/json" if body is None or isinstance(body, str)
                                       or body[:1] in (b"{", b"[") else "image/png")
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    if response.getheader("content-type", "").startswith("application/json"):
        return response.status, json.loads(data)
    return response.status, data


def assert_json_error(status, answer, expected_status, *words):
    assert status == expected_status, answer
    assert isinstance(answer, dict) and set(answer) == {"error"}, answer
    assert "Traceback" not in answer["error"] and 'File "' not in answer["error"]
    for word in words:
        assert word in answer["error"], answer["error"]


# --------------------------------------------------------------------------- Must show 5


def test_import_striate_loads_none_of_the_web_stack():
    code = (f"import sys, striate, striate.models, striate.train, striate.cli.main; "
            f"print([m for m in sys.modules if m.split('.')[0] in {WEB_STACK!r} "
            f"or m.startswith('striate.playground')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": ROOT}).stdout
    assert out.strip() == "[]"


# --------------------------------------------------------------------------- the API


def test_health_names_the_served_run(server):
    status, answer = call(server, "GET", "/api/health")
    assert status == 200 and answer["status"] == "ok" and answer["model"] == "lenet5-digits"


@pytest.mark.parametrize("digit", [1, 0])
def test_predict_reads_a_drawn_digit(server, digit):
    status, answer = call(server, "POST", "/api/predict?top=3", drawn_digit_png(digit))
    assert status == 200, answer
    top = answer["top"]
    assert [entry["label"] for entry in top][0] == str(digit)
    probabilities = [entry["probability"] for entry in top]
    assert probabilities == sorted(probabilities, reverse=True) and sum(probabilities) <= 1 + 1e-9


def test_predict_agrees_with_striate_predict(server, tmp_path, capsys):
    """The page's framing is the command line's: the same file gets the same answer."""
    from striate.cli.main import main

    path = tmp_path / "seven.png"
    from PIL import Image, ImageDraw
    image = Image.new("L", (200, 300), 255)
    ImageDraw.Draw(image).line([(30, 40), (170, 40), (80, 270)], fill=0, width=22)
    image.save(path)
    assert main(["predict", os.path.join(trained_runs_root(), "lenet5-digits"), str(path),
                 "--top", "3"]) == 0
    printed = capsys.readouterr().out
    status, answer = call(server, "POST", "/api/predict?top=3", path.read_bytes())
    assert status == 200
    labels = re.findall(r"(\S+) <?[\d.]+%", printed.split(": ", 1)[1])  # "<0.01%" for the tiny ones
    assert [entry["label"] for entry in answer["top"]] == labels


def test_explain_gives_a_feature_map_grid_per_spatial_layer(server):
    status, answer = call(server, "POST", "/api/explain", drawn_digit_png(0))
    assert status == 200
    shapes = {layer["name"]: layer["shape"] for layer in answer["feature_maps"]}
    # LeNet-5 on 28x28: conv 5x5 padding 2 keeps 28, pooling halves, conv 5x5 gives 10.
    assert shapes["features.0"] == [6, 28, 28] and shapes["features.3"] == [16, 10, 10]
    from striate.playground.pictures import decode_image
    import base64
    for key in ("input", "saliency", "grad_cam"):
        picture = decode_image(base64.b64decode(answer[key].split(",", 1)[1]))
        assert picture.size == (28, 28)


def test_kernel_output_size_follows_the_formula(server):
    request = {"kernel": [[0, 0, 0, 0, 0], [0, -1, -1, -1, 0], [0, -1, 8, -1, 0],
                          [0, -1, -1, -1, 0], [0, 0, 0, 0, 0]],
               "padding": 1, "stride": 3, "dilation": 2}
    status, answer = call(server, "POST", "/api/kernel", json.dumps(request))
    assert status == 200, answer
    # (W - F + 2P) / S + 1 with the dilated F = 2 * (5 - 1) + 1 = 9: (256 - 9 + 2) // 3 + 1 = 84.
    assert answer["input_shape"] == [256, 256] and answer["output_shape"] == [84, 84]
    assert answer["formula_shape"] == [84, 84]


def test_kernel_rejects_a_bad_cell_with_a_message(server):
    status, answer = call(server, "POST", "/api/kernel",
                          json.dumps({"kernel": [[1, 2, 3], [4, "x", 6], [7, 8, 9]]}))
    assert_json_error(status, answer, 400, "kernel")


def test_summary_of_alexnet_original_starts_with_its_first_conv(server):
    status, answer = call(server, "GET", "/api/summary?model=alexnet_original&input=3,227,227")
    assert status == 200, answer
    first = answer["rows"][0]
    # 96 filters of 3x11x11 and 96 biases; stride 4 on 227 gives (227 - 11) / 4 + 1 = 55.
    assert first["params"] == 96 * 3 * 11 * 11 + 96 and first["output_shape"] == [1, 96, 55, 55]


def test_summary_of_an_unknown_model_is_a_400_naming_the_zoo(server):
    status, answer = call(server, "GET", "/api/summary?model=lenet6")
    assert_json_error(status, answer, 400, "unknown model 'lenet6'", "lenet5")


def test_inspect_confusion_matrix_counts_every_test_image(server):
    status, answer = call(server, "GET", "/api/inspect/confusion")
    assert status == 200
    assert sum(map(sum, answer["matrix"])) == answer["images"] == 1000  # the digits' test split
    assert answer["split_images"] == 1000  # all of it: the page says "on 1,000 test images"
    diagonal = sum(answer["matrix"][i][i] for i in range(10))
    assert answer["accuracy"] == pytest.approx(diagonal / 1000)
    status, answer = call(server, "GET", "/api/inspect/wrong?count=5")
    assert status == 200 and all(i["label"] != i["predicted"] for i in answer["images"])


def wait_until_done(server, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        status, answer = call(server, "GET", "/api/train/status")
        if not answer["running"]:
            return answer
        assert time.monotonic() < deadline, "the training job did not finish"
        time.sleep(0.2)


def test_a_second_training_start_gets_409_and_stop_keeps_no_half_epoch(server):
    job = {"model": "lenet5", "epochs": 2, "limit": 512, "batch_size": 16}
    status, answer = call(server, "POST", "/api/train/start", json.dumps(job))
    assert status == 202, answer
    status, answer = call(server, "POST", "/api/train/start", json.dumps(job))
    assert_json_error(status, answer, 409, "already running")
    status, answer = call(server, "POST", "/api/train/stop", b"{}")
    assert status == 200 and answer["stopping"] is True
    last = wait_until_done(server)["last"]
    assert last["type"] == "done" and last["state"] == "stopped", last
    assert "nothing was saved" in last["message"]


def test_a_finished_training_job_is_a_run_striate_evaluate_reads(server, capsys):
    from striate.cli.main import main
    from striate.train.layout import RunLayout

    job = {"model": "lenet5", "epochs": 1, "limit": 64, "batch_size": 32, "augment": False}
    status, answer = call(server, "POST", "/api/train/start", json.dumps(job))
    assert status == 202, answer
    last = wait_until_done(server)["last"]
    assert last["state"] == "finished", last
    status, stream = call(server, "GET", "/api/train/stream?since=0")
    events = [json.loads(line[6:]) for line in stream.decode().splitlines()
              if line.startswith("data: ") and line != "data: {}"]
    batches = [e for e in events if e["type"] == "batch"]
    assert [e["batch"] for e in batches] == [1, 2]  # 64 images in batches of 32
    run_dir = os.path.join(server.app.state.playground.runs_root, last["run"])
    records = [json.loads(line) for line in open(RunLayout(run_dir).metrics_file)]
    assert len(records) == 1
    assert main(["evaluate", run_dir, "--limit", "50"]) == 0
    assert "accuracy" in capsys.readouterr().out


@pytest.mark.parametrize("request_body, words", [
    ({"epochs": 0}, ["epochs must be between 1"]),
    ({"model": "../../etc/passwd"}, ["unknown model"]),
    ({"dataset": "/etc"}, ["not available"]),
    ({"out": "/tmp/x"}, ["unknown training options"]),
])
def test_bad_training_requests_are_400s_that_write_nothing(server, request_body, words):
    before = sorted(os.listdir(server.app.state.playground.runs_root))
    status, answer = call(server, "POST", "/api/train/start", json.dumps(request_body))
    assert_json_error(status, answer, 400, *words)
    assert sorted(os.listdir(server.app.state.playground.runs_root)) == before


# --------------------------------------------------------------------------- Must show 3: safety


def _outbound_address():
    """This machine's address on its default route (no packet is sent)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))
        return probe.getsockname()[0]
    except OSError:
        return None
    finally:
        probe.close()


def test_the_command_binds_loopback_only_by_default():
    address = _outbound_address()
    if address is None or address.startswith("127."):
        pytest.skip("this machine has no non-loopback IPv4 address to try")
    command = [sys.executable, "-m", "striate.cli", "playground", "--port", "0",
               "--run", os.path.join(trained_runs_root(), "lenet5-digits")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": ROOT})
    try:
        line = process.stdout.readline()
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)/", line).group(1))
        with socket.create_connection(("127.0.0.1", port), timeout=10):
            pass                                          # served on loopback...
        with pytest.raises(ConnectionRefusedError):       # ...and nowhere else
            socket.create_connection((address, port), timeout=10)
    finally:
        process.terminate()
        process.wait(10)


def test_a_foreign_host_header_is_refused(server):
    for host in ("evil.example", f"evil.example:{server.port}", "127.0.0.1.evil.example"):
        status, answer = call(server, "GET", "/api/health", headers={"Host": host})
        assert_json_error(status, answer, 403, "refused")
    status, _ = call(server, "GET", "/api/health", headers={"Host": f"localhost:{server.port}"})
    assert status == 200


def _raw_post(server, head, body, chunk=1 << 16):
    """Send ``head`` and as much of ``body`` as the server reads; return its status line."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(head)
        try:
            for start in range(0, len(body), chunk):
                sock.sendall(body[start:start + chunk])
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before reading it all: the point
        answer = b""
        try:
            while b"\r\n\r\n" not in answer:
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
            while True:  # the rest of the small JSON body
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
        except (ConnectionResetError, socket.timeout):
            pass
    return answer


def test_a_20_mb_upload_gets_413(server):
    body = b"\x89PNG" + bytes(20 * 1024 * 1024)
    head = (f"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    answer = _raw_post(server, head, body)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"at most 5,242,880 bytes" in answer


def test_an_upload_without_a_declared_length_is_cut_at_5_mb(server):
    chunk = bytes(1 << 20)
    body = b"".join(b"%x\r\n" % len(chunk) + chunk + b"\r\n" for _ in range(8)) + b"0\r\n\r\n"
    head = (b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
            b"Transfer-Encoding: chunked\r\n"
            b"Connection: close\r\n\r\n")
    answer = _raw_post(server, head, body)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_a_file_that_is_not_an_image_gets_400(server):
    status, answer = call(server, "POST", "/api/predict", b"%PDF-1.7 not a picture")
    assert_json_error(status, answer, 400, "not an image")
    status, answer = call(server, "POST", "/api/predict", b"")
    assert_json_error(status, answer, 400, "empty")


def test_an_image_of_too_many_pixels_is_refused_before_decoding(server):
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("1", (5000, 4000)).save(buffer, format="PNG")       # 20 megapixels, a few kB
    assert len(buffer.getvalue()) < 1024 * 1024
    status, answer = call(server, "POST", "/api/predict", buffer.getvalue())
    assert_json_error(status, answer, 400, "5000x4000", "16,000,000 pixels")


@pytest.mark.parametrize("method, path, body", [
    ("GET", "/api/summary?model=../../../../etc/passwd", None),
    ("GET", "/api/summary?model=/etc/passwd&input=1,28,28", None),
    ("GET", "/api/inspect/image?index=/etc/passwd", None),
    ("GET", "/api/inspect/wrong?count=../../etc/passwd", None),
    ("POST", "/api/kernel", json.dumps({"image": "/etc/passwd"})),
    ("POST", "/api/kernel", json.dumps({"image": "file:///etc/passwd"})),
    ("POST", "/api/kernel", json.dumps({"kernel": "/etc/passwd"})),
    ("POST", "/api/train/start", json.dumps({"model": "/etc/passwd"})),
])
def test_path_like_parameters_read_no_files(server, method, path, body):
    status, answer = call(server, method, path, body)
    assert 400 <= status < 500, answer
    assert "root:" not in json.dumps(answer)


@pytest.mark.parametrize("path", ["/static/../../../../etc/passwd",
                                  "/static/..%2f..%2f..%2f..%2fetc%2fpasswd",
                                  "/static/%2e%2e/%2e%2e/app.py", "/api/../../etc/passwd"])
def test_static_files_stay_inside_the_package(server, path):
    status, answer = call(server, "GET", path)
    assert status == 404
    assert b"root:" not in json.dumps(answer).encode() if isinstance(answer, dict) else \
        b"root:" not in answer


def test_unknown_routes_and_methods_answer_json(server):
    status, answer = call(server, "GET", "/api/nothing")
    assert_json_error(status, answer, 404)
    status, answer = call(server, "GET", "/api/predict")
    assert_json_error(status, answer, 405)
    status, answer = call(server, "POST", "/api/kernel", b"{not json")
    assert_json_error(status, answer, 400, "not valid JSON")


def test_the_page_allows_nothing_from_elsewhere(server):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.request("GET", "/")
    response = connection.getresponse()
    page = response.read().decode()
    assert response.status == 200 and "data-testid=\"draw-canvas\"" in page
    assert "default-src 'self'" in response.getheader("content-security-policy")
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
    connection.close()
