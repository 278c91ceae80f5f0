"""The ``striate`` command line: the top floor, which imports the library and
is imported by none of it.

    striate train                          # LeNet-5 on the embedded digits, no download
    striate evaluate runs/lenet5-digits
    striate predict runs/lenet5-digits my_digit.png
    striate summary resnet18 --input-shape 3,224,224

One module per command (``train``, ``evaluate``, ``predict``, ``summary``,
``models``, ``datasets``), each with ``register(subparsers)`` that adds its
options and ``run(args)`` that does the work; :mod:`.main` assembles them and
turns bad input into one clear line on stderr. :mod:`.common` holds what the
commands share. What a run is (its configuration, preparation and checks)
lives below, in :mod:`striate.runs`, which the playground calls too; image
files become model input in :mod:`striate.data.images`.
"""
from .main import build_parser, main  # noqa: F401

__all__ = ["main", "build_parser"]
