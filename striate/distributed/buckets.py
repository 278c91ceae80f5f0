"""Gradient buckets: every parameter's gradient copied into a few contiguous
buffers, each all-reduced with one MPI call.

Why buckets: an all-reduce costs a fixed latency plus a per-byte time, so one
call per parameter (LeNet-5 has 10, ResNet-18 62) pays the latency dozens of
times, while one call for everything needs a copy as large as the model. A
few buckets of ``bucket_bytes`` each keep both small.

Why the gradients are weighted by the local batch size. The trainer's loss is
the *mean* over the batch, so on rank r with n_r of the global batch's
N = sum(n_r) samples the gradient is g_r = (1/n_r) sum_{i in r} grad l_i. The
single-process gradient of the global batch is

    g = (1/N) sum_i grad l_i = sum_r (n_r / N) g_r,

which equals the plain average of the g_r only when every n_r is N/p; the
last batch of an epoch is usually smaller and splits unevenly. So each rank
multiplies its buffer by n_r, appends n_r itself to the first bucket (the
sum gives N without another collective), sums over ranks and divides by N.
"""
from ..backend import xp

__all__ = ["GradientBuckets"]


class GradientBuckets:
    """Flatten, all-reduce and write back the gradients of ``parameters``.

    Arguments:
        parameters: the model's parameters, in a fixed order (the same on every rank).
        communicator: a :class:`~striate.distributed.Communicator`.
        bucket_bytes: the size a bucket grows to before a new one starts; a
            parameter larger than that gets a bucket of its own.

    Parameters of different dtypes go to different buckets. A parameter with no
    gradient on this rank contributes zeros and keeps no gradient afterwards;
    every rank runs the same model, so this is the same on every rank.
    """

    def __init__(self, parameters, communicator, bucket_bytes=1 << 22):
        self.parameters = [p for p in parameters if p.requires_grad]
        self.communicator = communicator
        if bucket_bytes <= 0:
            raise ValueError(f"GradientBuckets: bucket_bytes must be positive, got {bucket_bytes}")
        self.buckets = []  # lists of (parameter, offset, size)
        current, current_dtype, used = [], None, 0
        for p in self.parameters:
            nbytes = p.data.nbytes
            if current and (p.data.dtype != current_dtype or used + nbytes > bucket_bytes):
                self.buckets.append(current)
                current, used = [], 0
            current_dtype = p.data.dtype
            current.append((p, used // p.data.itemsize, p.data.size))
            used += nbytes
        if current:
            self.buckets.append(current)
        # The first bucket carries the local sample count in one extra element.
        self.buffers = [xp.empty(sum(size for _, _, size in bucket) + (i == 0),
                                 dtype=bucket[0][0].data.dtype)
                        for i, bucket in enumerate(self.buckets)]

    @property
    def nbytes(self):
        """Bytes all-reduced per step (the gradients plus the one count)."""
        return sum(buffer.nbytes for buffer in self.buffers)

    def reduce(self, local_count):
        """Replace every gradient by the global-batch mean gradient; returns the
        global batch size N. ``local_count`` is this rank's n_r (may be 0)."""
        if not self.buffers:
            return self.communicator.all_reduce(xp.array([float(local_count)]))[0]
        for buffer, bucket in zip(self.buffers, self.buckets):
            for p, offset, size in bucket:
                view = buffer[offset:offset + size]
                if p.grad is None:
                    view[...] = 0
                else:
                    view[...] = p.grad.reshape(-1)
            buffer *= buffer.dtype.type(local_count)
        self.buffers[0][-1] = local_count
        for buffer in self.buffers:
            self.communicator.all_reduce(buffer)
        total = self.buffers[0][-1]
        if total <= 0:
            raise ValueError("GradientBuckets.reduce: the global batch holds no samples")
        for buffer, bucket in zip(self.buffers, self.buckets):
            buffer /= total
            for p, offset, size in bucket:
                if p.grad is not None:
                    # A copy: optimizers may keep the gradient array (momentum buffers).
                    p.grad = buffer[offset:offset + size].reshape(p.data.shape).copy()
        return int(total)
