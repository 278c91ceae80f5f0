"""Sample pictures to try the commands on, written from what ships with striate.

    write_samples("pictures")   # pictures/my_digit.png, scene.png, photo.jpg

- ``my_digit.png``: a handwritten 7 of the embedded test digits (real MNIST,
  never trained on), enlarged to 112 x 112 and drawn dark on white, as a
  digit drawn in a paint program or photographed on paper would be.
- ``scene.png``: the first test scene of ``digit-scenes`` (48 x 48), for the
  U-Net.
- ``photo.jpg``: the shipped 256 x 256 'camera' photograph (CC0, see
  ``kernels_data/README.md``) as a JPEG, for ``kernels``, ``augment`` and
  framing by ``predict``.
- ``my-pictures/``: a folder of pictures as a user would bring them, one
  folder per class named in words (``zero/`` ... ``nine/``), 100 embedded
  training digits each as PNG files, dark on white, for ``train --data``.

Needs Pillow to write the files.
"""
import os

from ..backend import xp

__all__ = ["SAMPLES", "write_samples"]

#: File name -> what it is, in the order :func:`write_samples` writes them.
SAMPLES = {
    "my_digit.png": "a handwritten 7 (an embedded test digit), dark on white, 112x112",
    "scene.png": "a 48x48 digit scene (the first test scene of digit-scenes)",
    "photo.jpg": "the shipped 256x256 'camera' photograph (CC0)",
    "my-pictures": "a folder of 10 named class folders, 100 digit PNGs each, for train --data",
}
#: The class folders of ``my-pictures``, and the pictures in each.
CLASS_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
PER_CLASS = 100
CAMERA = os.path.join(os.path.dirname(os.path.dirname(__file__)), "kernels_data", "camera.png")


def _digit():
    from .embedded import embedded_digits

    test = embedded_digits("test")
    index = int(xp.flatnonzero(test.labels == 7)[0])
    return 255 - test.images[index, 0]


def _scene():
    from .scenes import digit_scenes

    return digit_scenes("test", num_scenes=1).images[0, 0]


def _write_class_folders(root):
    """``root/zero/000.png`` ...: the first :data:`PER_CLASS` training digits
    of each class, dark on white, one folder per class."""
    from PIL import Image

    from ..io.atomic import atomic_path
    from .embedded import embedded_digits

    train = embedded_digits("train")
    for digit, name in enumerate(CLASS_NAMES):
        os.makedirs(os.path.join(root, name), exist_ok=True)
        for k, index in enumerate(xp.flatnonzero(train.labels == digit)[:PER_CLASS]):
            path = os.path.join(root, name, f"{k:03d}.png")
            with atomic_path(path) as tmp:
                Image.fromarray((255 - train.images[index, 0]).astype(xp.uint8)).save(tmp, "PNG")
    return root


def write_samples(folder, names=None):
    """Write the sample pictures ``names`` (default all of :data:`SAMPLES`) into
    ``folder`` (made if missing) and return their paths. Each is written to a
    temporary name first and renamed, so a failure leaves no half file."""
    from PIL import Image

    from ..io.atomic import atomic_path

    os.makedirs(folder, exist_ok=True)
    written = []
    for name in names or SAMPLES:
        path = os.path.join(folder, name)
        if name == "my_digit.png":
            picture = Image.fromarray(_digit().astype(xp.uint8)).resize((112, 112), Image.BILINEAR)
        elif name == "scene.png":
            picture = Image.fromarray(_scene().astype(xp.uint8))
        elif name == "photo.jpg":
            with Image.open(CAMERA) as camera:
                picture = camera.convert("L")
        elif name == "my-pictures":
            written.append(_write_class_folders(path))
            continue
        else:
            raise ValueError(f"no sample picture {name!r}; the samples are {', '.join(SAMPLES)}")
        with atomic_path(path) as tmp:
            picture.save(tmp, format="JPEG" if name.endswith(".jpg") else "PNG")
        written.append(path)
    return written
