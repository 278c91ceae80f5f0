"""Data-parallel training steps over MPI against one process with the same threads.

    python benchmarks/distributed.py [--steps 10] [--batch-size 64] [--oversubscribe]

For LeNet-5 and the small ResNet-18 (width 1/4, small-input stem, 28x28
images), one timed step is what the trainer does per global batch: forward,
cross-entropy, backward, the gradient all-reduce, the optimizer step. Rows:

* ``mpi R x 1``: ``mpiexec -n R``, one BLAS thread per rank, each rank
  computing its 1/R of the global batch;
* ``1 x T``: one process, T BLAS threads, the whole global batch (the fair
  baseline for R ranks is T = R: the same cores).

R is 1 and 2, and 4 with ``--oversubscribe`` (more ranks than cores on a
2-core machine: it shows the cost of sharing, not a speed-up). Columns: the
best repeat's step time, images per second, the seconds per step spent in the
gradient all-reduce (rank 0; it includes waiting for the slower rank), the
bytes all-reduced per step, and the bytes a ring all-reduce would send per
rank, 2(R-1)/R of them. The data are synthetic, prepared beforehand: this
measures the compute and the communication, not data loading.
"""
import argparse
import json
import os
import subprocess
import sys
import sysconfig

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = {"lenet5": {}, "resnet18": {"width": 0.25, "small_input": True}}


def _parse():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=10, help="steps per timed repeat (default 10)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats, best shown (default 3)")
    parser.add_argument("--batch-size", type=int, default=64, help="global batch (default 64)")
    parser.add_argument("--oversubscribe", action="store_true",
                        help="also run 4 ranks, even on fewer cores")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    return parser.parse_args()


def worker(args):
    """One configuration, in this process (a rank of mpiexec, or alone): prints a JSON line."""
    import time

    import numpy as np

    import striate
    from striate import models, optim
    from striate.distributed import DataParallel, init, shard_bounds
    from striate.functional import cross_entropy

    comm = init()
    rank, size = (0, 1) if comm is None else (comm.rank, comm.size)
    striate.manual_seed(0)
    model = models.create(args.worker, num_classes=10, in_channels=1, **MODELS[args.worker])
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    parallel = None if comm is None else DataParallel(model, comm)
    start, stop = shard_bounds(args.batch_size, rank, size)
    rng = np.random.default_rng(0)
    batches = [(striate.Tensor(rng.normal(size=(stop - start, 1, 28, 28)).astype(np.float32)),
                striate.Tensor(rng.integers(0, 10, size=stop - start)))
               for _ in range(4)]

    def step(i):
        x, y = batches[i % len(batches)]
        optimizer.zero_grad()
        cross_entropy(model(x), y).backward()
        if parallel is not None:
            parallel.reduce_gradients(model, stop - start)
        optimizer.step()

    model.train()
    for i in range(2):
        step(i)
    best = None
    for _ in range(args.repeats):
        if comm is not None:
            comm.barrier()
            parallel.reduce_seconds, parallel.steps = 0.0, 0
        begin = time.perf_counter()
        for i in range(args.steps):
            step(i)
        seconds = (time.perf_counter() - begin) / args.steps
        reduce = 0.0 if parallel is None else parallel.reduce_seconds / parallel.steps
        if best is None or seconds < best[0]:
            best = (seconds, reduce)
    grad_bytes = sum(p.data.nbytes for p in model.parameters())
    if rank == 0:
        print(json.dumps({"step": best[0], "reduce": best[1], "bytes": grad_bytes}), flush=True)


def _run(args, model, ranks, threads):
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads),
           "MKL_NUM_THREADS": str(threads), "PYTHONPATH": os.path.dirname(HERE)}
    command = [sys.executable, os.path.abspath(__file__), "--worker", model,
               "--steps", str(args.steps), "--repeats", str(args.repeats),
               "--batch-size", str(args.batch_size)]
    if ranks:
        mpiexec = os.path.join(sysconfig.get_path("scripts"), "mpiexec")
        command = [mpiexec if os.path.exists(mpiexec) else "mpiexec", "-n", str(ranks)] + command
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(args):
    ranks = [1, 2] + ([4] if args.oversubscribe else [])
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    print(f"cores: {os.cpu_count()}, global batch {args.batch_size}, best of {args.repeats} x "
          f"{args.steps} steps")
    header = (f"{'model':<9} {'run':<10} {'step ms':>8} {'images/s':>9} {'allreduce ms':>13} "
              f"{'grad bytes':>11} {'ring bytes/rank':>16}")
    print(header)
    print("-" * len(header))
    for model in args.models:
        for r in ranks:
            for label, n, threads in ((f"1 x {r}", 0, r), (f"mpi {r} x 1", r, 1)):
                row = _run(args, model, n, threads)
                ring = 2 * (r - 1) / r * row["bytes"] if n else 0
                print(f"{model:<9} {label:<10} {1000 * row['step']:8.1f} "
                      f"{args.batch_size / row['step']:9.0f} {1000 * row['reduce']:13.2f} "
                      f"{row['bytes'] if n else 0:11,} {ring:16,.0f}", flush=True)
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")


if __name__ == "__main__":
    ARGS = _parse()
    worker(ARGS) if ARGS.worker else main(ARGS)
