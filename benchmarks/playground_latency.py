"""Median latency of the playground's endpoints for a drawn digit on LeNet-5,
over real HTTP on 127.0.0.1 (one keep-alive connection, N requests after 5
warm-up ones each): ``POST /api/predict`` and the teaching endpoints
(``/api/teach/conv``, ``/api/teach/neuron``, ``/api/teach/backward``).

    python benchmarks/playground_latency.py [--run RUN_DIR] [--requests 100]

Without --run it trains LeNet-5 for one epoch on 1,000 embedded digits into a
temporary folder first (the weights do not change the cost of a request).
Prints each endpoint's median and 90th percentile, whether the median is
within the teaching views' 100 ms aim, and the machine's load (``uptime``).
"""
import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

AIM_MS = 100


def measure(connection, method, path, body, content_type, count):
    times = []
    for i in range(5 + count):
        start = time.perf_counter()
        connection.request(method, path, body=body, headers={"Content-Type": content_type})
        response = connection.getresponse()
        response.read()
        assert response.status == 200, (path, response.status)
        if i >= 5:
            times.append(time.perf_counter() - start)
    times.sort()
    return 1000 * statistics.median(times), 1000 * times[int(0.9 * len(times))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="a run directory to serve (default: train a small one)")
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()

    from playground_server import Server, drawn_digit_png

    from striate.playground import create_app

    png = drawn_digit_png(0)
    conv = json.dumps({"kernel": [[1, 0, -1], [2, 0, -2], [1, 0, -1]], "padding": 1,
                       "stride": 1, "dilation": 1, "bias": 0.5, "image": "sample"})
    cases = [("POST /api/predict", "/api/predict", png, "image/png"),
             ("POST /api/teach/conv (12x12, 3x3 Sobel, 144 positions)", "/api/teach/conv",
              conv, "application/json"),
             ("POST /api/teach/neuron (features.3, cell 5,5)",
              "/api/teach/neuron?layer=features.3&channel=0&y=5&x=5", png, "image/png"),
             ("POST /api/teach/neuron (features.2, max-pool cell)",
              "/api/teach/neuron?layer=features.2&channel=0&y=7&x=7", png, "image/png"),
             ("POST /api/teach/backward (top class, filter 0)", "/api/teach/backward", png,
              "image/png")]
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        run = args.run
        if run is None:
            from striate.cli.main import main as striate
            run = os.path.join(scratch, "lenet5-digits")
            striate(["train", "--epochs", "1", "--limit", "1000", "--out", run, "--no-progress"])
        server = Server(create_app(run_dir=run, runs_root=scratch))
        connection = http.client.HTTPConnection("127.0.0.1", server.port)
        for label, path, body, kind in cases:
            results.append((label, *measure(connection, "POST", path, body, kind, args.requests)))
        connection.close()
        server.stop()
    for label, median, p90 in results:
        verdict = "within" if median <= AIM_MS else "OVER"
        print(f"{label}: median {median:.1f} ms, 90th percentile {p90:.1f} ms "
              f"({verdict} {AIM_MS} ms), {args.requests} requests")
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
