"""The recipe table: every entry names a registered model and a known
dataset, and its model arguments build a model that takes the dataset's
input and returns one score per class and pixel."""
import numpy as np
import pytest

import striate
from striate import models
from striate.data.scenes import digit_scenes
from striate.models.recipes import RECIPES, recipe


def test_recipe_is_a_copy_and_unknown_pairs_have_none():
    first = recipe("unet", "digit-scenes")
    first["model_args"]["width"] = 99
    assert recipe("unet", "digit-scenes")["model_args"]["width"] == 0.125
    assert recipe("lenet5", "digits") == {}


@pytest.mark.parametrize("model,dataset", sorted(RECIPES))
def test_recipes_build_a_model_that_fits_the_data(model, dataset):
    settings = RECIPES[(model, dataset)]
    assert set(settings) <= {"model_args", "optimizer", "lr", "batch_size", "epochs", "schedule",
                             "dice_weight"}
    assert model in models.list_models()
    data = digit_scenes("test", num_scenes=2)
    net = models.create(model, num_classes=len(data.classes), in_channels=data.images.shape[1],
                        padded=True, **settings["model_args"])
    with striate.no_grad():
        out = net(striate.Tensor(data.images.astype(np.float32) / 255))
    assert out.shape == (2, len(data.classes)) + data.images.shape[2:]
    assert settings["lr"] > 0 and settings["batch_size"] >= 1 and settings["epochs"] >= 1
