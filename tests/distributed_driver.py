"""Run by tests/test_distributed.py, under ``mpiexec -n N`` or as one process.

    python distributed_driver.py cli OUT_NPZ_PREFIX -- striate train options...
        ``striate train`` exactly as the command line runs it, then each rank
        saves the weights it holds to PREFIX-rank<R>.npz (PREFIX-single.npz
        in a plain run). With STRIATE_TEST_FAIL_AT=R:S, rank R raises a
        RuntimeError at its training step S (a failure in the middle of a run).

    python distributed_driver.py syncbn OUT_NPZ_PREFIX [per-rank]
        A float64 ResNet-18 (width 1/4) trained for a few steps with the
        Trainer, a shuffled augmenting loader and DataParallel(sync_bn=True)
        (or per-rank batch norm with "per-rank"), plus one synchronized batch
        norm call on a fixed uneven batch; saves the results per rank.
"""
import os
import sys

import numpy as np


def _rank():
    from striate.distributed import init

    comm = init()
    return comm, ("single" if comm is None else f"rank{comm.rank}")


def _state(model):
    return {**{n: p.data for n, p in model.named_parameters()},
            **{"buffer." + n: b.data for n, b in model.named_buffers()}}


def run_cli(prefix, argv):
    from striate.cli.main import main
    from striate.train import trainer as trainer_module

    fit = trainer_module.Trainer.fit
    fail_at = os.environ.get("STRIATE_TEST_FAIL_AT")

    def dumping_fit(self, *args, **kwargs):
        if fail_at:
            rank, step = (int(v) for v in fail_at.split(":"))
            original = self.optimizer.step
            counter = [0]

            def step_or_fail(*a, **k):
                counter[0] += 1
                me = 0 if self.distributed is None else self.distributed.rank
                if me == rank and counter[0] == step:
                    raise RuntimeError(f"simulated failure at step {step}")
                return original(*a, **k)
            self.optimizer.step = step_or_fail
        history = fit(self, *args, **kwargs)
        name = "single" if self.distributed is None else f"rank{self.distributed.rank}"
        np.savez(f"{prefix}-{name}.npz", **_state(self.model))
        return history

    trainer_module.Trainer.fit = dumping_fit
    return main(argv)


def _float64_input_class():
    from striate import Tensor, nn

    class Float64Input(nn.Module):
        """The loader hands over float32 images; the float64 model wants float64."""

        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            return self.net(Tensor(x.data.astype(np.float64)))
    return Float64Input


def run_syncbn(prefix, per_rank):
    import striate
    from striate import models, optim
    from striate.data import DataLoader, TensorDataset
    from striate.data import transforms as T
    from striate.distributed import DataParallel, ShardedLoader, shard_bounds, sync_batch_norm
    from striate.train import Trainer

    Float64Input = _float64_input_class()
    comm, name = _rank()
    rng = np.random.default_rng(7)
    out = {}
    # One synchronized batch-norm call on an uneven split (5 + 4 of 9 samples).
    x = rng.normal(1.5, 2.0, size=(9, 3, 4, 5))
    g = rng.normal(size=x.shape)
    weight, bias = rng.normal(size=3), rng.normal(size=3)
    start, stop = (0, 9) if comm is None else shard_bounds(9, comm.rank, comm.size)
    xt = striate.Tensor(x[start:stop], requires_grad=True)
    wt, bt = striate.Tensor(weight, requires_grad=True), striate.Tensor(bias, requires_grad=True)
    rm, rv = np.zeros(3), np.ones(3)
    if comm is None:
        y = striate.functional.batch_norm(xt, rm, rv, wt, bt, training=True)
    else:
        y = sync_batch_norm(xt, rm, rv, wt, bt, 0.1, 1e-5, comm)
    # The global loss is mean over samples of sum(y * g): this rank's mean, weighted as
    # the gradient reducer weights it.
    (y * striate.Tensor(g[start:stop])).sum().__mul__(1.0 / (stop - start)).backward()
    out.update(op_y=y.data, op_gx=xt.grad, op_rm=rm, op_rv=rv)
    if comm is not None:
        grads = np.concatenate([wt.grad * (stop - start), bt.grad * (stop - start)])
        comm.all_reduce(grads)
        # The rank's input gradient is of its local mean: scale back to the global mean.
        out.update(op_gx=xt.grad * (stop - start) / 9)
    else:
        grads = np.concatenate([wt.grad * 9, bt.grad * 9])
    out["op_gparams"] = grads / 9

    # A few training steps of a float64 ResNet through the Trainer.
    striate.manual_seed(3)
    images = rng.integers(0, 256, size=(60, 1, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=60)
    loader = DataLoader(TensorDataset(images, labels), batch_size=13, shuffle=True,
                        transform=T.Compose([T.RandomCrop(28, padding=2), T.ToFloat("float64")]))
    model = Float64Input(models.create("resnet18", width=0.25, small_input=True,
                                       num_classes=10, in_channels=1).double())
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True,
                          weight_decay=5e-4)
    parallel = None
    if comm is not None:
        loader = ShardedLoader(loader, comm)
        parallel = DataParallel(model, comm, sync_bn=not per_rank)
    Trainer(model, optimizer, loader, progress=False, log=None, distributed=parallel).fit(1)
    out.update(_state(model))
    np.savez(f"{prefix}-{name}.npz", **out)
    return 0


if __name__ == "__main__":
    mode, prefix = sys.argv[1], sys.argv[2]
    if mode == "cli":
        sys.exit(run_cli(prefix, sys.argv[sys.argv.index("--") + 1:]))
    sys.exit(run_syncbn(prefix, per_rank=sys.argv[3:] == ["per-rank"]))
