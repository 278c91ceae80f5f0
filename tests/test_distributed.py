"""Data-parallel training over MPI (``striate.distributed``), checked by
launching ``mpiexec -n 2`` on small runs and comparing with one process.

The helper script ``distributed_driver.py`` runs ``striate train`` (or a
float64 Trainer run) and saves the weights each rank holds at the end.
"""
import glob
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time

import numpy as np
import pytest
from fake_data import write_mnist_files

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DRIVER = os.path.join(ROOT, "tests", "distributed_driver.py")


def _mpiexec():
    local = os.path.join(sysconfig.get_path("scripts"), "mpiexec")
    return local if os.path.exists(local) else shutil.which("mpiexec")


try:
    import mpi4py  # noqa: F401
except ImportError:
    pytest.skip("mpi4py is not installed (pip install mpi4py mpich)", allow_module_level=True)
MPIEXEC = _mpiexec()
if MPIEXEC is None:
    pytest.skip("no mpiexec on PATH (pip install mpich)", allow_module_level=True)

ENV = {**os.environ, "PYTHONPATH": ROOT, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
       "MKL_NUM_THREADS": "1"}
for _name in ("PMI_SIZE", "PMI_RANK", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS"):
    ENV.pop(_name, None)

# LeNet-5 on 64 embedded digits, batches of 13 (split 6 + 7, the last one 12: 6 + 6):
# uneven shares, augmentation on (the default), the one-cycle schedule stepping per batch.
LENET = ["--limit", "64", "--batch-size", "13", "--epochs", "2", "--no-progress"]


def _launch(ranks, args, timeout=90, env=None):
    command = ([MPIEXEC, "-n", str(ranks)] if ranks else []) + [sys.executable] + args
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                          env=env or ENV, cwd=ROOT)


def _cli(ranks, out, *options, prefix=None, env=None):
    prefix = prefix or str(out) + "-weights"
    result = _launch(ranks, [DRIVER, "cli", prefix, "--", "train", "--out", str(out), *options],
                     env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def _weights(path):
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


def _max_relative(a, b):
    """The largest ||a - b|| / ||a|| over the tensors of two state dicts."""
    assert a.keys() == b.keys()
    return max(float(np.linalg.norm((a[k].astype(np.float64) - b[k]).ravel())
                     / max(np.linalg.norm(a[k].astype(np.float64).ravel()), 1e-30))
               for k in a)


def _assert_identical(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].tobytes() == b[k].tobytes(), k


# --------------------------------------------------------------------------- unit checks


def test_shard_bounds_cover_every_row_once():
    from striate.distributed import shard_bounds

    for n in (1, 7, 13, 64):
        for size in range(1, min(n, 5) + 1):
            bounds = [shard_bounds(n, r, size) for r in range(size)]
            assert bounds[0][0] == 0 and bounds[-1][1] == n
            assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
            assert max(b - a for a, b in bounds) - min(b - a for a, b in bounds) <= 1


class _OneOfMany:
    """A communicator stand-in for rank ``rank`` of ``size`` whose broadcast keeps
    this process's values: every simulated rank starts from the same state."""

    def __init__(self, rank, size):
        self.rank, self.size, self.is_main = rank, size, rank == 0

    def broadcast(self, array, root=0):
        return array


def test_sharded_loader_concatenates_to_the_single_process_batches():
    """Ranks' shards, in rank order, are the single-process batches, augmentation included."""
    import striate
    from striate.data import DataLoader, TensorDataset
    from striate.data import transforms as T
    from striate.distributed import ShardedLoader

    rng = np.random.default_rng(0)
    data = TensorDataset(rng.integers(0, 256, size=(24, 1, 8, 8), dtype=np.uint8),
                         np.arange(24))
    loader = DataLoader(data, batch_size=7, shuffle=True,
                        transform=T.Compose([T.RandomCrop(8, padding=2), T.RandomHorizontalFlip()]))
    striate.manual_seed(5)
    state = striate.get_rng_state()
    single = [(x.data, y.data) for x, y in loader]
    after = striate.get_rng_state()
    shards = []
    for rank in range(3):
        striate.set_rng_state(state)
        shards.append([(x.data, y.data) for x, y in ShardedLoader(loader, _OneOfMany(rank, 3))])
        assert striate.get_rng_state() == after  # each rank's generator advances as one process's
    assert all(len(s) == len(single) == 4 for s in shards)
    for b, (images, labels) in enumerate(single):
        np.testing.assert_array_equal(np.concatenate([s[b][0] for s in shards]), images)
        np.testing.assert_array_equal(np.concatenate([s[b][1] for s in shards]), labels)
    with pytest.raises(ValueError, match="batch of 2 samples cannot give each of the 3 ranks"):
        ShardedLoader(DataLoader(data, batch_size=11), _OneOfMany(0, 3))


def test_no_mpi_launch_means_no_communicator(monkeypatch):
    from striate.distributed import init

    for name in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS"):
        monkeypatch.delenv(name, raising=False)
    assert init() is None
    with pytest.raises(RuntimeError, match="not started by an MPI launcher"):
        init(require=True)


# --------------------------------------------------------------------------- equal to one process


def test_lenet5_two_ranks_equal_one_process(tmp_path):
    _cli(0, tmp_path / "single", *LENET)
    result = _cli(2, tmp_path / "mpi", *LENET)
    single = _weights(tmp_path / "single-weights-single.npz")
    rank0 = _weights(tmp_path / "mpi-weights-rank0.npz")
    rank1 = _weights(tmp_path / "mpi-weights-rank1.npz")
    assert _max_relative(single, rank0) < 1e-6
    _assert_identical(rank0, rank1)
    # Training moved the weights far more than the tolerance, so the check has teeth.
    from striate import models
    fresh = {k: np.asarray(v) for k, v in models.create("lenet5").state_dict().items()}
    assert _max_relative(single, fresh) > 1e-3
    # Only rank 0 printed and wrote; the checkpoint holds rank 0's weights.
    assert result.stdout.count("epoch 2/2") == 1 and "2 MPI ranks" in result.stdout
    from striate.train.checkpoint import load_checkpoint
    model = models.create("lenet5")
    load_checkpoint(tmp_path / "mpi").load_model(model)
    _assert_identical({k: np.asarray(v) for k, v in model.state_dict().items()}, rank0)


def test_sync_batchnorm_two_ranks_equal_one_process(tmp_path):
    """float64, so that the comparison measures the method, not float32 rounding
    (which a ResNet with batch norm amplifies within a few steps)."""
    assert _launch(0, [DRIVER, "syncbn", str(tmp_path / "sb")]).returncode == 0
    result = _launch(2, [DRIVER, "syncbn", str(tmp_path / "sb")])
    assert result.returncode == 0, result.stderr[-3000:]
    single = _weights(tmp_path / "sb-single.npz")
    rank0, rank1 = _weights(tmp_path / "sb-rank0.npz"), _weights(tmp_path / "sb-rank1.npz")
    # One synchronized batch-norm call on 9 samples split 4 + 5: outputs, running
    # statistics and gradients equal single-process batch norm on all 9.
    np.testing.assert_allclose(np.concatenate([rank0["op_y"], rank1["op_y"]]), single["op_y"],
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.concatenate([rank0["op_gx"], rank1["op_gx"]]), single["op_gx"],
                               rtol=1e-10, atol=1e-12)
    for key in ("op_rm", "op_rv", "op_gparams"):
        np.testing.assert_allclose(rank0[key], single[key], rtol=1e-10, atol=1e-12)
    trained = {k: v for k, v in single.items() if not k.startswith("op_")}
    assert _max_relative(trained, {k: rank0[k] for k in trained}) < 1e-6
    _assert_identical({k: rank0[k] for k in trained}, {k: rank1[k] for k in trained})
    # Per-rank batch norm is a different computation: far from the single process.
    result = _launch(2, [DRIVER, "syncbn", str(tmp_path / "pr"), "per-rank"])
    assert result.returncode == 0, result.stderr[-3000:]
    per_rank = _weights(tmp_path / "pr-rank0.npz")
    assert _max_relative(trained, {k: per_rank[k] for k in trained}) > 1e-3


# --------------------------------------------------------------------------- failures


def _rank_pid(rank, marker):
    """The pid of the MPI rank ``rank`` whose command line contains ``marker``."""
    for environ in glob.glob("/proc/[0-9]*/environ"):
        pid = int(environ.split("/")[2])
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read()
            with open(environ, "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if marker.encode() in cmdline and b"striate.cli" in cmdline and \
                f"PMI_RANK={rank}".encode() in env:
            return pid
    return None


def test_kill_one_rank_then_resume_matches_an_uninterrupted_run(tmp_path):
    from striate import models
    from striate.train.checkpoint import load_checkpoint

    options = ["--limit", "160", "--batch-size", "16", "--epochs", "3", "--no-progress"]
    run = tmp_path / "killed"
    job = subprocess.Popen([MPIEXEC, "-n", "2", sys.executable, "-m", "striate.cli", "train",
                            "--out", str(run), *options], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=ENV, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while not (run / "checkpoint").exists() and time.monotonic() < deadline \
                and job.poll() is None:
            time.sleep(0.02)
        assert (run / "checkpoint").exists(), "epoch 1 never finished"
        victim = _rank_pid(1, str(run))
        assert victim is not None and job.poll() is None
        os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()
        out, err = job.communicate(timeout=30)
        assert time.monotonic() - killed_at < 30
    finally:
        if job.poll() is None:
            job.kill()
            job.communicate()
    assert job.returncode != 0
    # Reported either by the launcher (Hydra prints it on stdout) or, when the
    # surviving rank's collective fails before the launcher notices, by that
    # rank itself as it stops every rank: which comes first is a race.
    launcher = "BAD TERMINATION" in out + err and "signal 9" in out + err
    survivor = "striate train: error: rank 0 of 2:" in err and "stopping every rank" in err
    assert launcher or survivor, (out + err)[-3000:]
    checkpoint = load_checkpoint(run)
    assert 1 <= checkpoint.epoch < 3  # killed mid-run, after a finished epoch
    checkpoint.load_model(models.create("lenet5"))

    result = _launch(2, ["-m", "striate.cli", "train", "--resume", str(run), "--no-progress"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"resuming at epoch {checkpoint.epoch + 1}" in result.stdout
    _launch(2, ["-m", "striate.cli", "train", "--out", str(tmp_path / "straight"), *options])
    resumed, straight = models.create("lenet5"), models.create("lenet5")
    load_checkpoint(run).load_model(resumed)
    load_checkpoint(tmp_path / "straight").load_model(straight)
    assert load_checkpoint(run).epoch == 3
    _assert_identical({k: np.asarray(v) for k, v in resumed.state_dict().items()},
                      {k: np.asarray(v) for k, v in straight.state_dict().items()})



def test_corrupt_data_on_one_rank_stops_every_rank_with_its_message(tmp_path):
    good, bad = tmp_path / "good", tmp_path / "bad"
    for directory in (good, bad):
        directory.mkdir()
        write_mnist_files(directory, n=32)
    target = bad / "train-images-idx3-ubyte.gz"
    target.write_bytes(target.read_bytes()[:200])
    train = [sys.executable, "-m", "striate.cli", "train", "--dataset", "mnist", "--epochs", "1",
             "--batch-size", "8", "--out", str(tmp_path / "run"), "--no-progress", "--data-dir"]
    # MPMD launch: rank 0 reads the good copy, rank 1 the corrupt one.
    start = time.monotonic()
    result = subprocess.run([MPIEXEC, "-n", "1", *train, str(good), ":", "-n", "1", *train,
                             str(bad)], capture_output=True, text=True, timeout=60, env=ENV,
                            cwd=ROOT)
    assert time.monotonic() - start < 60
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("striate train: error: rank 1: ")
    assert str(target) in lines[0] or "train-images-idx3-ubyte" in lines[0]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()


def test_exception_on_one_rank_mid_training_stops_every_rank(tmp_path):
    env = {**ENV, "STRIATE_TEST_FAIL_AT": "1:3"}
    start = time.monotonic()
    result = _launch(2, [DRIVER, "cli", str(tmp_path / "w"), "--", "train", "--out",
                         str(tmp_path / "run"), *LENET], env=env, timeout=60)
    assert time.monotonic() - start < 60
    assert result.returncode != 0
    assert result.stderr.count("simulated failure at step 3") == 1, result.stderr
    assert "striate train: error: rank 1 of 2: simulated failure at step 3" in result.stderr
