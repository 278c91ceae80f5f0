"""A training step of this tree against an earlier commit's, op by op, in one process.

    python benchmarks/compare.py COMMIT [--models lenet5,resnet18] [--batches 6]
                                 [--repeats 10] [--threads 2]

On a shared machine a change of a few percent drowns in the swings between
two runs (10% and more here), even between two processes run one after the
other. So this script extracts ``striate/`` of COMMIT (``git archive``) into
a temporary directory as the package ``striate_then``, builds the same model
in both (benchmarks/train.py's LeNet-5 at batch 128 and small ResNet-18 at
batch 64), and times their training steps *interleaved*, repeat by repeat,
in one process. Every op's forward and backward is timed too (each
``Function`` subclass is wrapped), so the table says where a step got faster
or slower. Numbers are the best (smallest) of the repeats, in milliseconds
per step; with ``--threads 1`` they are CPU time, which other tenants of the
machine disturb less than wall time.
"""
import argparse
import collections
import importlib
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _parse():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("commit", help="the commit to compare against (anything git accepts)")
    parser.add_argument("--models", default="lenet5,resnet18")
    parser.add_argument("--batches", type=int, default=6, help="steps per timed repeat (default 6)")
    parser.add_argument("--repeats", type=int, default=10, help="interleaved repeats (default 10)")
    parser.add_argument("--threads", type=int, default=2, help="threads for BLAS (default 2)")
    parser.add_argument("--rows", type=int, default=12, help="ops shown per model (default 12)")
    return parser.parse_args()


ARGS = _parse() if __name__ == "__main__" else None
if ARGS is not None:
    from threads import pin_threads
    pin_threads(ARGS.threads)  # before NumPy loads

sys.path.insert(0, ROOT)
import train as bench  # noqa: E402  (benchmarks/train.py: models, data)

#: the two packages compared: the earlier commit's, and this tree's
THEN, NOW = "striate_then", "striate"


def extract(commit, directory):
    """``striate/`` of ``commit`` as ``directory/striate_then`` (the package
    imports itself relatively, so the new name is all it takes)."""
    target = os.path.join(directory, THEN)
    os.makedirs(target)
    archive = subprocess.run(["git", "-C", ROOT, "archive", commit, "striate"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", target, "--strip-components=1"], input=archive, check=True)
    sys.path.insert(0, directory)


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def instrument(package, clock):
    """Wrap forward and backward of every op of ``package``; returns the
    Counter the wrappers add their times to, keyed (op name, method)."""
    autograd = importlib.import_module(package + ".autograd")
    for module in ("functional", "nn", "optim"):
        importlib.import_module(f"{package}.{module}")
    spent = collections.Counter()
    for cls in set(_subclasses(autograd.Function)):
        for method in ("forward", "backward"):
            if method in cls.__dict__:
                def timed(self, *args, _method=cls.__dict__[method], _key=(cls.__name__, method)):
                    start = clock()
                    result = _method(self, *args)
                    spent[_key] += clock() - start
                    return result
                setattr(cls, method, timed)
    return spent


def train_step(package, name):
    pkg = importlib.import_module(package)
    models = importlib.import_module(package + ".models")
    optim = importlib.import_module(package + ".optim")
    functional = importlib.import_module(package + ".functional")
    pkg.manual_seed(0)
    if name == "lenet5":
        model = models.create("lenet5", num_classes=10, in_channels=1)
    else:
        model = models.create("resnet18", num_classes=10, in_channels=1, width=0.25,
                              small_input=True)
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step(x, y):
        model.train()
        loss = functional.cross_entropy(model(pkg.Tensor(x)), pkg.Tensor(y))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return step


def compare(name, data, repeats, clock, spent, rows):
    steps = {package: train_step(package, name) for package in (THEN, NOW)}
    for step in steps.values():
        for x, y in data[:2]:
            step(x, y)
    total = {package: [] for package in steps}
    per_op = {package: collections.defaultdict(list) for package in steps}
    for repeat in range(repeats):
        # alternate which tree goes first: the second of a pair was measured
        # up to 5% apart from the first on identical code
        order = list(steps.items())
        for package, step in (order if repeat % 2 == 0 else order[::-1]):
            time.sleep(bench.SETTLE_SECONDS)  # let the other's BLAS threads go idle
            spent[package].clear()
            start = clock()
            for x, y in data:
                step(x, y)
            total[package].append(clock() - start)
            for key, seconds in spent[package].items():
                per_op[package][key].append(seconds)
    per_step = 1e3 / len(data)
    then, now = min(total[THEN]) * per_step, min(total[NOW]) * per_step
    print(f"\n{name}, batch {len(data[0][0])}: step {then:.2f} ms then, {now:.2f} ms now, "
          f"now/then {now / then:.3f}")
    keys = sorted(set(per_op[THEN]) | set(per_op[NOW]),
                  key=lambda k: -max(min(per_op[THEN].get(k, [0])), min(per_op[NOW].get(k, [0]))))
    print(f"{'op':<28} {'then ms':>8} {'now ms':>8} {'now/then':>9}")
    for key in keys[:rows]:
        a = min(per_op[THEN].get(key, [0.0])) * per_step
        b = min(per_op[NOW].get(key, [0.0])) * per_step
        ratio = f"{b / a:9.3f}" if a else f"{'-':>9}"
        print(f"{key[0] + '.' + key[1]:<28} {a:8.2f} {b:8.2f} {ratio}")


def main(args):
    clock = time.process_time if args.threads == 1 else time.perf_counter
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    unknown = sorted(set(names) - set(bench.BATCH))
    if unknown:
        sys.exit(f"benchmarks/compare.py: unknown model(s) {unknown}; choose from {sorted(bench.BATCH)}")
    with tempfile.TemporaryDirectory() as directory:
        try:
            extract(args.commit, directory)
        except subprocess.CalledProcessError as error:
            sys.exit(f"benchmarks/compare.py: cannot extract striate/ of {args.commit!r}: "
                     f"{error.stderr.decode(errors='replace').strip()}")
        spent = {package: instrument(package, clock) for package in (THEN, NOW)}
        print(f"this tree against {args.commit}, {args.threads} thread(s), "
              f"{'CPU' if args.threads == 1 else 'wall'} time, best of {args.repeats} "
              f"interleaved repeats of {args.batches} steps; {bench.uptime()} at start")
        for name in names:
            images, labels, _ = bench.load_images(bench.BATCH[name] * args.batches)
            data = bench.batches(images, labels, bench.BATCH[name], args.batches)
            compare(name, data, args.repeats, clock, spent, args.rows)
        print(f"\n{bench.uptime()} at end")


if __name__ == "__main__":
    main(ARGS)
