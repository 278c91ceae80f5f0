"""Models by name: what ``striate train --model NAME`` and
``striate.models.create(NAME, ...)`` look up.

A factory registers itself with ``@register_model`` (torchvision's pattern); the
name is the function's name unless given. Every registered factory names its
options as keyword parameters with defaults, ``num_classes`` and
``in_channels`` among them, so that the command line can build any model for
any dataset and list each model's options (:func:`model_options`) from the
signature alone.
"""
import difflib
import inspect

__all__ = ["register_model", "list_models", "get_model_factory", "model_options", "create"]

_MODELS = {}

#: The options every factory must take.
REQUIRED_OPTIONS = ("num_classes", "in_channels")


def _check_signature(key, factory):
    """A factory's parameters are named options with defaults: nothing a
    caller (or :func:`create`) would have to guess."""
    parameters = inspect.signature(factory).parameters
    for p in parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise TypeError(f"register_model: the factory of {key!r} takes {p}; name each "
                            "option as a keyword parameter with a default instead")
        if p.default is p.empty:
            raise TypeError(f"register_model: option {p.name!r} of {key!r} has no default")
    missing = [option for option in REQUIRED_OPTIONS if option not in parameters]
    if missing:
        raise TypeError(f"register_model: the factory of {key!r} lacks the option(s) "
                        f"{', '.join(missing)}")


def register_model(name=None):
    """Decorator: add a model factory to the registry under ``name``.

        @register_model()
        def resnet18(num_classes=1000, in_channels=3, width=1.0, small_input=False): ...
    """
    def decorate(factory):
        key = name or factory.__name__
        if key in _MODELS and _MODELS[key] is not factory:
            raise ValueError(f"register_model: a model named {key!r} is already registered "
                             f"({_MODELS[key].__module__}.{_MODELS[key].__name__})")
        _check_signature(key, factory)
        _MODELS[key] = factory
        return factory
    return decorate


def list_models():
    """Names of all registered models, sorted."""
    return sorted(_MODELS)


def get_model_factory(name):
    """The factory registered under ``name``, or for a notation string such as
    ``"28x28-32C3-MP2-10"`` a factory of that network (see
    :mod:`striate.models.notation`); a clear error for unknown names."""
    from .notation import is_notation, notation_factory

    if is_notation(name):
        return notation_factory(name)
    try:
        return _MODELS[name]
    except (KeyError, TypeError):
        close = difflib.get_close_matches(str(name), _MODELS, n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(f"unknown model {name!r}.{hint} Available models: "
                         f"{', '.join(list_models())}") from None


def model_options(name):
    """The options of the model registered under ``name`` with their defaults,
    in the factory's order: ``model_options("resnet18")`` is ``{"num_classes":
    1000, "in_channels": 3, "width": 1.0, "small_input": False,
    "zero_init_residual": False}``."""
    parameters = inspect.signature(get_model_factory(name)).parameters.values()
    return {p.name: p.default for p in parameters}


def create(name, **options):
    """Build the model registered under ``name``: ``create("resnet18", num_classes=10)``.

    ``options`` go to the factory (``num_classes``, ``in_channels`` and the
    family's own, such as ``width`` or ``small_input``; see
    :func:`model_options`); an option the factory does not take is reported
    with the ones it does.
    """
    factory = get_model_factory(name)
    known = model_options(name)
    unknown = [option for option in options if option not in known]
    if unknown:
        hints = [f"{option!r} (did you mean {close[0]!r}?)" if close else repr(option)
                 for option in unknown
                 for close in [difflib.get_close_matches(option, known, n=1)]]
        raise TypeError(f"model {name!r} does not accept these options: {', '.join(hints)}; "
                        f"it takes: {', '.join(f'{k}={v!r}' for k, v in known.items())}")
    return factory(**options)
