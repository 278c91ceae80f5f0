"""The Python door to a training run: what ``striate train`` does, in one call.

    import striate.runs
    run = striate.runs.train(dataset="digits", epochs=2, out="runs/notebook")
    run.history[-1]["test_acc"]

The configuration is the one ``striate train`` stores in its checkpoints (see
:data:`~striate.runs.config.DEFAULTS`), given as a dict, as keywords, or both
(keywords win). The same checks run before any work, and raise
:class:`~striate.runs.errors.RunConfigError`.
"""
import os

from .config import DEFAULTS, default_out_dir, prepare_run
from .errors import RunConfigError
from .validate import validate_config

__all__ = ["train", "resolve_config", "with_recipe", "folder_settings", "CONFIG_KEYS"]

#: Every key a run's configuration may hold: the defaults' and the optional ones.
CONFIG_KEYS = tuple(DEFAULTS) + ("transfer", "dice_weight")


def folder_settings(data, given):
    """The configuration entries of a folder dataset at ``data``: its absolute
    path, and its name as the dataset's (for messages and the run's folder
    name). ``given``: the other settings, which may not name a dataset too."""
    if given.get("dataset") is not None:
        raise RunConfigError(f"--data {data} and --dataset {given['dataset']} both name the "
                             "images to train on; give one of them")
    root = os.path.abspath(os.path.expanduser(os.fspath(data)))
    return {"data": root, "dataset": os.path.basename(root.rstrip(os.sep)) or "folder"}


def with_recipe(config, given):
    """``config`` with the recommended settings of its (model, dataset) (see
    :mod:`striate.models.recipes`) for every key the user did not ``given``
    (``model_args`` per argument); returns ``(config, taken)``, ``taken`` the
    settings that came from the recipe, for the run to say so."""
    from ..models.recipes import recipe

    config, taken = dict(config), {}
    for key, value in recipe(config["model"], config["dataset"]).items():
        if key == "model_args":
            chosen = dict(config.get("model_args") or {})
            for name, default in value.items():
                if name not in (given.get("model_args") or {}):
                    chosen[name] = taken[name] = default
            config["model_args"] = chosen
        elif key not in given:
            config[key] = taken[key] = value
    return config, taken


def resolve_config(config=None, **settings):
    """``DEFAULTS`` updated with ``config`` (a dict) and then ``settings``; an
    unknown key is a :class:`RunConfigError` that lists the known ones. With
    ``data`` (a folder) and no ``model``, the model is ``"auto"``: chosen for
    the folder's images when the run is prepared."""
    if config is not None and not isinstance(config, dict):
        raise RunConfigError(f"the configuration must be a dict, got {type(config).__name__}")
    given = {**(config or {}), **settings}
    unknown = sorted(set(given) - set(CONFIG_KEYS))
    if unknown:
        raise RunConfigError(f"unknown configuration keys {unknown}; the keys are "
                             f"{', '.join(CONFIG_KEYS)}")
    if given.get("data") is not None:
        given.update(folder_settings(given["data"], {k: v for k, v in given.items()
                                                     if k != "dataset" or v != DEFAULTS[k]}))
        given.setdefault("model", "auto")
    config, _ = with_recipe({**DEFAULTS, **given}, given)
    return validate_config(config)


def train(config=None, *, out=None, data_dir=None, download=False, progress=False, plot=None,
          **settings):
    """Train a run and return it (a :class:`~striate.runs.config.Run`).

    ``config`` and ``settings`` as in :func:`resolve_config`. ``out``: the run
    directory (default ``runs/MODEL-DATASET``), which must not hold a run yet.
    ``plot``: draw the learning curve (default: when matplotlib is there).
    The returned run has ``trainer``, ``history`` (one dict per epoch) and
    ``out``; its ``model`` holds the trained weights.
    """
    from .checks import (check_data_dir, check_outside, check_output_dir, existing_run,
                         missing_package)
    from .tasks import trainer_options

    config = resolve_config(config, **settings)
    out = os.fspath(out) if out is not None else default_out_dir(config)
    if existing_run(out):
        raise RunConfigError(f"{out} already holds a training run; choose another out")
    check_output_dir(out, option="out")
    if config.get("data"):
        check_outside(out, config["data"], option="out")
        data_dir = None
    else:
        data_dir = check_data_dir(config["dataset"], data_dir, download, option="data_dir")
    run = prepare_run(config, data_dir, download, log=print, progress=progress)
    options = trainer_options(config, run.train_set, run.model)
    if plot is None:
        plot = not missing_package("matplotlib")
    run.trainer = run.make_trainer(out, progress=progress, plot=plot, **options)
    run.out = out
    run.trainer.fit(config["epochs"])
    return run
