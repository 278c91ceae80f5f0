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
}
CAMERA = os.path.join(os.path.dirname(os.path.dirname(__file__)), "kernels_data", "camera.png")


def _digit():
    from .embedded import embedded_digits

    test = embedded_digits("test")
    index = int(xp.flatnonzero(test.labels == 7)[0])
    return 255 - test.images[index, 0]


def _scene():
    from .scenes import digit_scenes

    return digit_scenes("test", num_scenes=1).images[0, 0]


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
        else:
            raise ValueError(f"no sample picture {name!r}; the samples are {', '.join(SAMPLES)}")
        with atomic_path(path) as tmp:
            picture.save(tmp, format="JPEG" if name.endswith(".jpg") else "PNG")
        written.append(path)
    return written
