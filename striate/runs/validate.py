"""A run's configuration checked value by value, whoever wrote it: keywords of
:func:`striate.runs.train`, or the ``config`` a checkpoint stored (a resumed
run's configuration must pass the same checks as a fresh one, so that an
edited or damaged file is named, not met later as an error of an optimizer or
a schedule).
"""
import math
import numbers

from .errors import RunConfigError

__all__ = ["validate_config"]


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


#: key -> (test, what is expected); a missing key or None (where allowed) passes.
RULES = {
    "model": (lambda v: isinstance(v, str) and v, "a model name"),
    "dataset": (lambda v: isinstance(v, str) and v, "a dataset name"),
    "model_args": (lambda v: isinstance(v, dict), "a dict of model keywords"),
    "epochs": (lambda v: _is_int(v) and v > 0, "a positive integer"),
    "batch_size": (lambda v: _is_int(v) and v > 0, "a positive integer"),
    "lr": (lambda v: v is None or (_is_number(v) and v > 0), "a finite number > 0 or None"),
    "momentum": (lambda v: v is None or (_is_number(v) and 0 <= v < 1), "a number in [0, 1)"),
    "weight_decay": (lambda v: _is_number(v) and v >= 0, "a finite number >= 0"),
    "warmup": (lambda v: _is_int(v) and v >= 0, "an integer >= 0"),
    "seed": (lambda v: _is_int(v) and v >= 0, "an integer >= 0"),
    "augment": (lambda v: isinstance(v, (bool, str)), "true, false or a spec string"),
    "image_size": (lambda v: v is None or (_is_int(v) and v > 0), "a positive integer or None"),
    "limit": (lambda v: v is None or (_is_int(v) and v > 0), "a positive integer or None"),
    "dice_weight": (lambda v: v is None or (_is_number(v) and v >= 0), "a finite number >= 0"),
}


def validate_config(config, where="the configuration"):
    """Raise :class:`RunConfigError` naming ``where``, the key and the value for
    the first value of ``config`` that a fresh run would refuse."""
    from .config import OPTIMIZERS, SCHEDULES

    for key, (test, expected) in RULES.items():
        if key in config and not test(config[key]):
            raise RunConfigError(f"{where}: {key} = {config[key]!r} is not {expected}")
    for key, choices in (("optimizer", OPTIMIZERS), ("schedule", SCHEDULES)):
        if key in config and config[key] not in choices:
            raise RunConfigError(f"{where}: {key} = {config[key]!r} is not one of "
                                 f"{', '.join(choices)}")
    return config
