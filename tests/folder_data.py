"""Folders of real images for the folder-dataset tests: Fashion-MNIST written
out as PNG files, one folder per named class."""
import os

import numpy as np

FASHION = "/usr/share/datasets/fashion-mnist"


def fashion_available():
    return all(os.path.exists(os.path.join(FASHION, f"{name}-ubyte.gz"))
               for name in ("train-images-idx3", "train-labels-idx1", "t10k-images-idx3",
                            "t10k-labels-idx1"))


def class_folder_name(name):
    """A class name as a folder name ("T-shirt/top" -> "T-shirt_top")."""
    return name.replace("/", "_")


def write_fashion_folder(root, per_class_train=600, per_class_test=100, odd=(7, 13)):
    """``root/train/CLASS/*.png`` and ``root/test/CLASS/*.png`` from the first
    ``per_class_*`` Fashion-MNIST images of each class; returns the class
    folder names (sorted) and ``{path: class folder name}`` of every file.

    Every ``odd[0]``-th file is saved as RGB (grey content) and every
    ``odd[1]``-th one enlarged to an odd size (35x31), so the folder mixes
    modes and sizes as a practitioner's would.
    """
    from PIL import Image

    from striate.data import fashion_mnist

    written = {}
    for split, count in (("train", per_class_train), ("test", per_class_test)):
        data = fashion_mnist(split if split == "train" else "test", data_dir=FASHION)
        names = [class_folder_name(c) for c in data.classes]
        for label, name in enumerate(names):
            os.makedirs(os.path.join(root, split, name), exist_ok=True)
            members = np.flatnonzero(data.labels == label)[:count]
            for n, index in enumerate(members):
                image = Image.fromarray(np.asarray(data.images[index, 0]))
                if n % odd[1] == 1:
                    image = image.resize((35, 31), Image.BICUBIC)
                if n % odd[0] == 3:
                    image = image.convert("RGB")
                path = os.path.join(root, split, name, f"{split}{index:05d}.png")
                image.save(path, compress_level=1)
                written[path] = name
    return sorted(class_folder_name(c) for c in data.classes), written
