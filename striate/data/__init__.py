"""Data: datasets, the batch loader, batch transforms, the IDX reader and the
dataset registry (the embedded digits, MNIST, Fashion-MNIST, KMNIST).

Light to import: NumPy and the standard library only.
"""
from . import transforms  # noqa: F401
from .dataset import Dataset, ImageDataset, Subset, TensorDataset, random_split  # noqa: F401
from .embedded import embedded_digits  # noqa: F401
from .idx import IDXError, read_idx, write_idx  # noqa: F401
from .loader import DataLoader, default_collate  # noqa: F401
from .datasets import (DatasetNotFoundError, fashion_mnist, kmnist, list_datasets,  # noqa: F401
                       load_dataset, mnist)
