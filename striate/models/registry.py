"""Models by name: what ``striate train --model NAME`` and
``striate.models.create(NAME, ...)`` look up.

A factory registers itself with ``@register_model`` (torchvision's pattern); the
name is the function's name unless given. Every registered factory accepts
``num_classes`` and ``in_channels``, so the command line can build any model
for any dataset.
"""
import difflib
import inspect

_MODELS = {}


def register_model(name=None):
    """Decorator: add a model factory to the registry under ``name``.

        @register_model()
        def resnet18(num_classes=1000, in_channels=3, **kwargs): ...
    """
    def decorate(factory):
        key = name or factory.__name__
        if key in _MODELS and _MODELS[key] is not factory:
            raise ValueError(f"register_model: a model named {key!r} is already registered "
                             f"({_MODELS[key].__module__}.{_MODELS[key].__name__})")
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


def create(name, **kwargs):
    """Build the model registered under ``name``: ``create("resnet18", num_classes=10)``.

    Keyword arguments go to the factory (``num_classes``, ``in_channels`` and the
    family's own options such as ``width`` or ``small_input``); an option the
    factory does not know is reported with the factory's name.
    """
    factory = get_model_factory(name)
    signature = inspect.signature(factory)
    try:
        signature.bind(**kwargs)
    except TypeError as error:
        raise TypeError(f"model {name!r} does not accept these options ({error}); "
                        f"it takes: {', '.join(signature.parameters)}") from None
    try:
        return factory(**kwargs)
    except TypeError as error:  # a factory passing **kwargs on to its family's builder
        if "unexpected keyword argument" not in str(error):
            raise
        raise TypeError(f"model {name!r} does not accept the option: {error}") from None
