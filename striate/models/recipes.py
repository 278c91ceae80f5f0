"""Recommended training settings per (model, dataset): what a run uses for
each setting the user leaves unset, so that a task's bare command trains a
model worth having in minutes.

    from striate.models.recipes import recipe
    recipe("unet", "digit-scenes")
    # {'model_args': {'width': 0.125, 'depth': 3, 'batch_norm': True},
    #  'optimizer': 'adam', 'lr': 0.003, 'batch_size': 16, 'epochs': 6, ...}

Keys are the run configuration's (``model_args``, ``optimizer``, ``lr``,
``batch_size``, ``epochs``, ``schedule``, ``dice_weight``); the run layer
takes a recipe's value for each key the user did not give (for
``model_args``, per argument) and prints what it took. A pair without a
recipe gets the run's general defaults.

Why the U-Net recipe is small: the full-width U-Net (64 to 1024 channels,
31 million weights) is the paper's network for 572x572 microscopy; on 48x48
digit scenes an eighth of the width and three poolings (8 to 64 channels,
about 120 thousand weights) learn as well in a tiny fraction of the time,
batch normalization lets Adam take a large step from the start, and the
soft Dice term keeps the ten small digit classes from being drowned by the
background (about 90% of the pixels).
"""
import copy

__all__ = ["RECIPES", "recipe"]

#: (model, dataset) -> the settings a run takes unless the user sets them
RECIPES = {
    ("unet", "digit-scenes"): {
        "model_args": {"width": 0.125, "depth": 3, "batch_norm": True},
        "optimizer": "adam",
        "lr": 0.003,
        "batch_size": 16,
        "epochs": 6,
        "schedule": "onecycle",
        "dice_weight": 0.5,
    },
}


def recipe(model, dataset):
    """A copy of the recipe for ``model`` on ``dataset`` ({} when there is none)."""
    return copy.deepcopy(RECIPES.get((model, dataset), {}))
