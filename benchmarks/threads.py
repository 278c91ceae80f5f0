"""Give NumPy's BLAS and PyTorch the same thread count before either loads.

BLAS reads its thread count from the environment when NumPy is first imported,
so a benchmark calls :func:`pin_threads` before ``import numpy`` (and
``torch.set_num_threads`` with the same count once torch is imported).
"""
import os

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def pin_threads(threads):
    for var in THREAD_VARIABLES:
        os.environ[var] = str(threads)

