"""MNIST-1D and the 1-D CNN: the generated data's shapes and class balance
against the paper (5,000 signals of length 40, 500 per class, split 4,000 /
1,000), the pickle-free cache, the cnn1d model's 1-D shapes and receptive
fields, training from the command line, and clear errors when 1-D and 2-D
models and data are mixed."""
import os
import random

import numpy as np
import pytest

from striate import models
from striate.autograd import Tensor
from striate.cli import main
from striate.summary import summary

pytest.importorskip("mnist1d")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """Generate once into a private cache, used by every test here through XDG_CACHE_HOME."""
    root = tmp_path_factory.mktemp("cache")
    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(root)
    yield root
    if old is None:
        del os.environ["XDG_CACHE_HOME"]
    else:
        os.environ["XDG_CACHE_HOME"] = old


def test_shapes_and_class_balance_follow_the_paper(cache):
    from striate.data import load_dataset

    np.random.seed(123)
    random.seed(123)
    before = np.random.random(), random.random()
    np.random.seed(123)
    random.seed(123)
    train, test = load_dataset("mnist1d", "train"), load_dataset("mnist1d", "test")
    # Generating must not disturb the global random streams.
    assert (np.random.random(), random.random()) == before
    assert train.signals.shape == (4000, 1, 40) and test.signals.shape == (1000, 1, 40)
    assert train.signals.dtype == np.float32 and train.classes == [str(d) for d in range(10)]
    counts = np.bincount(train.labels, minlength=10) + np.bincount(test.labels, minlength=10)
    assert (counts == 500).all()  # 5,000 samples, 500 of each template
    assert np.bincount(train.labels).min() > 350  # a random 80/20 split keeps every class
    # The generator centres the whole dataset and scales it to unit variance.
    everything = np.concatenate([train.signals.ravel(), test.signals.ravel()])
    assert abs(everything.mean()) < 1e-4 and abs(everything.std() - 1) < 1e-4


def test_the_cache_is_a_plain_npz(cache):
    from striate.data.mnist1d import CACHE_NAME, mnist1d

    path = cache / "striate" / "mnist1d" / CACHE_NAME
    first = mnist1d("test")
    assert path.is_file()
    with np.load(path, allow_pickle=False) as stored:
        assert sorted(stored.files) == ["x", "x_test", "y", "y_test"]
        assert all(stored[name].dtype != object for name in stored.files)
    os.utime(path)
    again = mnist1d("test")  # from the cache: identical
    assert (first.signals == again.signals).all() and (first.labels == again.labels).all()


def test_cnn1d_shapes_and_receptive_fields():
    model = models.create("cnn1d", num_classes=10, in_channels=1)
    assert model(Tensor(np.zeros((3, 1, 40), dtype=np.float32))).shape == (3, 10)
    result = summary(model)
    rows = {layer.name: layer for layer in result.layers}
    assert rows["features.conv1"].output_shape == (1, 64, 19)
    assert rows["features.conv2"].output_shape == (1, 64, 10)
    assert rows["features.conv3"].output_shape == (1, 64, 5)
    # Receptive field by hand: 5, then + 2*2, then + 2*4; flattening 5 steps of 8 adds 4*8.
    assert rows["features.conv1"].receptive_field == (5,)
    assert rows["features.conv2"].receptive_field == (9,)
    assert rows["features.conv3"].receptive_field == (17,)
    assert rows["classifier.1"].receptive_field == (49,)
    paper = models.create("cnn1d", channels=25, batch_norm=False)  # ConvBase: 125 -> 10
    assert paper.classifier[1].weight.shape == (10, 125)
    assert "[1, 64, 19]" in str(result)
    with pytest.raises(ValueError, match="too short"):
        models.create("cnn1d", length=2)


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_train_cnn1d_on_mnist1d_and_evaluate(cache, tmp_path, capsys):
    code, out, err = run(capsys, "train", "--model", "cnn1d", "--dataset", "mnist1d",
                         "--epochs", "2", "--optimizer", "adam", "--lr", "0.01", "--limit",
                         "800", "--out", tmp_path / "run", "--no-progress")
    assert code == 0, err
    assert "input 1x40" in out
    from striate.train import read_metrics
    records = read_metrics(tmp_path / "run" / "metrics.jsonl")
    assert records[-1]["test_acc"] > 0.2  # well above chance after two short epochs
    code, out, err = run(capsys, "evaluate", tmp_path / "run")
    assert code == 0, err and "accuracy" in out
    code, out, err = run(capsys, "summary", "cnn1d")
    assert code == 0 and "[1, 64, 19]" in out


def test_mixing_1d_and_2d_is_a_clear_error(cache, tmp_path, capsys):
    code, _, err = run(capsys, "train", "--model", "lenet5", "--dataset", "mnist1d",
                       "--out", tmp_path / "a")
    assert code == 1 and "2-D images" in err and "1-D signals" in err and "cnn1d" in err
    code, _, err = run(capsys, "train", "--model", "cnn1d", "--dataset", "digits",
                       "--out", tmp_path / "b")
    assert code == 1 and "1-D signals" in err and "2-D images" in err
    code, _, err = run(capsys, "train", "--model", "cnn1d", "--dataset", "mnist1d",
                       "--image-size", "20", "--out", tmp_path / "c")
    assert code == 1 and "--image-size" in err
    assert not any((tmp_path / d).exists() for d in "abc")
