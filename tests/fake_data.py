"""Small random datasets in the files striate reads, for tests that need files on disk."""
import numpy as np


def write_mnist_files(directory, n=40):
    """The four MNIST IDX files (``n`` random 28x28 images and labels per split) in ``directory``."""
    from striate.data import write_idx

    rng = np.random.default_rng(0)
    for prefix in ("train", "t10k"):
        write_idx(directory / f"{prefix}-images-idx3-ubyte.gz",
                  rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8))
        write_idx(directory / f"{prefix}-labels-idx1-ubyte.gz",
                  rng.integers(0, 10, size=n, dtype=np.uint8))
