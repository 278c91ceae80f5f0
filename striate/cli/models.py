"""``striate models``: the model zoo, with each model's options."""


def register(subparsers):
    parser = subparsers.add_parser(
        "models", help="list the available models and their options",
        description="List the models `--model` accepts, each with its options and their "
                    "defaults (set them with --width, --small-input or --model-arg KEY=VALUE).")
    parser.set_defaults(handler=run)


def plain_text(doc):
    """A docstring's reStructuredText roles and literals as plain words:
    ``:class:`LeNet5Classic``` -> LeNet5Classic, ````groups=2```` -> groups=2."""
    import re

    doc = re.sub(r":[a-z]+:`~?([^`]+)`", r"\1", doc)
    return doc.replace("``", "")


def run(args):
    import inspect

    from .. import models
    from ..models.registry import get_model_factory

    for name in models.list_models():
        factory = get_model_factory(name)
        parameters = inspect.signature(factory).parameters.values()
        options = [p.name if p.default is p.empty else f"{p.name}={p.default!r}"
                   for p in parameters if p.name not in ("num_classes", "in_channels")
                   and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
        doc = plain_text(" ".join((inspect.getdoc(factory) or "").split("\n\n")[0].split()))
        print(f"{name:<20} {doc}")
        if options:
            print(f"{'':<20} options: {', '.join(options)}")
    return 0
