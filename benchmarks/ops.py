"""Time forward+backward of striate's conv2d, max_pool2d and batch_norm against
PyTorch, in the same run, and print the ratio striate/PyTorch per shape.

Every op is timed on both of striate's routes: NumPy, and the fast route
(``striate[fast]``, oneDNN: convolutions, max pooling and batch norm) when
it is installed.

    python benchmarks/ops.py [--repeats 7] [--threads 2]

Both libraries run in float32 with the same number of threads (PyTorch's
``set_num_threads`` and OpenBLAS's, through the environment, set before NumPy
loads). Each row warms up once, then reports the best of ``--repeats`` runs
of: forward, then backward of ``(out * upstream).sum()`` with a fixed random
upstream gradient, computing the gradients of every input (input, weight, bias).
"""
import argparse
import os
import sys
import time


def _parse():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per row (best is shown)")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for both libraries")
    parser.add_argument("--winograd", action="store_true",
                        help="also time striate's Winograd route on the 3x3 convolutions")
    return parser.parse_args()


ARGS = _parse() if __name__ == "__main__" else None
if ARGS is not None:
    from threads import pin_threads
    pin_threads(ARGS.threads)  # before NumPy loads: BLAS reads the count then

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import striate  # noqa: E402
import striate.functional as F  # noqa: E402
from striate.functional import winograd  # noqa: E402

# (N, C, H, W, out, k); padding k // 2
CONV_SHAPES = [(64, 64, 32, 32, 64, 3), (128, 16, 28, 28, 32, 3),
               (128, 1, 28, 28, 6, 5), (64, 128, 16, 16, 128, 3)]
# (N, C, H, W, kernel, stride)
POOL_SHAPES = [(64, 64, 32, 32, 2, 2), (64, 64, 32, 32, 3, 2)]
NORM_SHAPES = [(64, 64, 32, 32)]


def best_time(step, repeats):
    step()  # warm-up: first-touch allocations, BLAS thread start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return min(times) * 1e3


def striate_step(fn, arrays, upstream):
    def step():
        tensors = [striate.Tensor(a, requires_grad=True) for a in arrays]
        fn(*tensors).backward(upstream)
    return step


def torch_step(torch, fn, arrays, upstream):
    def step():
        tensors = [torch.from_numpy(a).requires_grad_(True) for a in arrays]
        fn(*tensors).backward(torch.from_numpy(upstream))
    return step


def row(torch, label, ours, theirs, arrays, repeats, fast=False):
    """Time one op in both libraries on the same arrays and upstream gradient:
    (label, striate ms, striate fast ms or None, PyTorch ms)."""
    rng = np.random.default_rng(1)
    with torch.no_grad():
        out_shape = tuple(theirs(*[torch.from_numpy(a) for a in arrays]).shape)
    upstream = rng.standard_normal(out_shape).astype(np.float32)
    striate.accel.set_enabled(False)
    ms_ours = best_time(striate_step(ours, arrays, upstream), repeats)
    ms_fast = None
    if fast and striate.accel.available():
        striate.accel.set_enabled(True)
        ms_fast = best_time(striate_step(ours, arrays, upstream), repeats)
        striate.accel.set_enabled(False)
    ms_theirs = best_time(torch_step(torch, theirs, arrays, upstream), repeats)
    return label, ms_ours, ms_fast, ms_theirs


def conv_rows(torch, repeats):
    rng = np.random.default_rng(0)
    for n, c, h, w, out, k in CONV_SHAPES:
        arrays = [rng.standard_normal((n, c, h, w)).astype(np.float32),
                  (rng.standard_normal((out, c, k, k)) * 0.1).astype(np.float32),
                  rng.standard_normal(out).astype(np.float32)]
        label = f"conv2d  x({n},{c},{h},{w}) w({out},{c},{k},{k}) p{k // 2}"
        ours = lambda x, w_, b, p=k // 2: F.conv2d(x, w_, b, padding=p)  # noqa: E731
        theirs = lambda x, w_, b, p=k // 2: torch.nn.functional.conv2d(x, w_, b, padding=p)  # noqa: E731
        yield row(torch, label, ours, theirs, arrays, repeats, fast=True)
        if ARGS.winograd and k == 3:
            winograd.enabled = True
            try:
                yield row(torch, "  the same by Winograd F(2x2, 3x3)", ours, theirs, arrays, repeats)
            finally:
                winograd.enabled = False


def pool_rows(torch, repeats):
    rng = np.random.default_rng(0)
    for n, c, h, w, k, s in POOL_SHAPES:
        arrays = [rng.standard_normal((n, c, h, w)).astype(np.float32)]
        yield row(torch, f"max_pool2d  x({n},{c},{h},{w}) k{k} s{s}",
                  lambda x, k=k, s=s: F.max_pool2d(x, k, s),
                  lambda x, k=k, s=s: torch.nn.functional.max_pool2d(x, k, s),
                  arrays, repeats, fast=True)


def norm_rows(torch, repeats):
    batch_norm = getattr(F, "batch_norm", None)
    rng = np.random.default_rng(0)
    for n, c, h, w in NORM_SHAPES:
        label = f"batch_norm (train)  x({n},{c},{h},{w})"
        if batch_norm is None:
            yield label, None, None, None
            continue
        arrays = [rng.standard_normal((n, c, h, w)).astype(np.float32),
                  rng.standard_normal(c).astype(np.float32), rng.standard_normal(c).astype(np.float32)]
        yield row(torch, label,
                  lambda x, g, b: batch_norm(x, None, None, g, b, training=True),
                  lambda x, g, b: torch.nn.functional.batch_norm(x, None, None, g, b, training=True),
                  arrays, repeats, fast=True)


def main():
    import torch  # the reference, loaded only here

    torch.set_num_threads(ARGS.threads)
    print(f"forward+backward, float32, best of {ARGS.repeats} after a warm-up, "
          f"{ARGS.threads} threads (numpy {np.__version__}, torch {torch.__version__}); "
          f"load average {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"striate fast: {striate.accel.describe()}")
    header = (f"{'shape':<52} {'striate ms':>11} {'fast ms':>8} {'PyTorch ms':>11} {'ratio':>7} "
              f"{'fast/PT':>8}")
    print(header)
    print("-" * len(header))
    for rows in (conv_rows, pool_rows, norm_rows):
        for label, ours, fast, theirs in rows(torch, ARGS.repeats):
            if ours is None:
                print(f"{label:<52} {'skipped: striate.functional.batch_norm not available yet':>31}")
                continue
            fast_ms, fast_ratio = ((f"{fast:>8.1f}", f"{fast / theirs:>8.2f}") if fast is not None
                                   else (f"{'-':>8}", f"{'-':>8}"))
            print(f"{label:<52} {ours:>11.1f} {fast_ms} {theirs:>11.1f} {ours / theirs:>7.2f} "
                  f"{fast_ratio}", flush=True)


if __name__ == "__main__":
    main()
