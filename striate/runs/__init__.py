"""The run layer: what a training run *is*, below both front ends.

The command line (:mod:`striate.cli`) and the playground
(:mod:`striate.playground`) parse, print and draw; the configuration and its
defaults, the preparation of data, model, optimizer, schedule and trainer, the
checks made before any work, and transfer learning live here, once:

* :mod:`.config`: the configuration's defaults and :func:`prepare_run`;
* :mod:`.tasks`: classification or segmentation, and whether a model fits;
* :mod:`.checks`: optional packages, output paths, data folders, input sizes;
* :mod:`.transfer`: initial weights, frozen layers, a new head;
* :mod:`.api`: :func:`train`, the Python door;
* :mod:`.errors`: :class:`RunConfigError`, a run that cannot start as given.

Light to import: the modules load what they need when they are called.
"""
from .api import CONFIG_KEYS, resolve_config, train  # noqa: F401
from .config import DEFAULTS, Run, prepare_run  # noqa: F401
from .errors import RunConfigError  # noqa: F401

__all__ = ["RunConfigError", "train", "resolve_config", "prepare_run", "Run", "DEFAULTS",
           "CONFIG_KEYS"]
