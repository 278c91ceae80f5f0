"""Median latency of ``POST /api/predict`` for a drawn digit, over real HTTP
on 127.0.0.1 (one keep-alive connection, 100 requests after 5 warm-up ones).

    python benchmarks/playground_latency.py [--run RUN_DIR] [--requests 100]

Without --run it trains LeNet-5 for one epoch on 1,000 embedded digits into a
temporary folder first (the weights do not change the cost of a prediction).
Prints the median, the 90th percentile and the machine's load (``uptime``).
"""
import argparse
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="a run directory to serve (default: train a small one)")
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()

    from playground_server import Server, drawn_digit_png

    from striate.playground import create_app

    with tempfile.TemporaryDirectory() as scratch:
        run = args.run
        if run is None:
            from striate.cli.main import main as striate
            run = os.path.join(scratch, "lenet5-digits")
            striate(["train", "--epochs", "1", "--limit", "1000", "--out", run, "--no-progress"])
        server = Server(create_app(run_dir=run, runs_root=scratch))
        body = drawn_digit_png(0)
        connection = http.client.HTTPConnection("127.0.0.1", server.port)
        times = []
        for i in range(5 + args.requests):
            start = time.perf_counter()
            connection.request("POST", "/api/predict", body=body,
                               headers={"Content-Type": "image/png"})
            response = connection.getresponse()
            response.read()
            assert response.status == 200
            if i >= 5:
                times.append(time.perf_counter() - start)
        connection.close()
        server.stop()
    times.sort()
    print(f"POST /api/predict, {len(body):,}-byte 280x280 PNG of a drawn 0, {args.requests} requests: "
          f"median {1000 * statistics.median(times):.1f} ms, "
          f"90th percentile {1000 * times[int(0.9 * len(times))]:.1f} ms")
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
