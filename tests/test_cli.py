"""The ``striate`` command line: help, training/resume plumbing, evaluate,
predict on a digit drawn here (not from the training set), and a clear
one-line error with a non-zero exit and nothing written for every kind of bad
input."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from cli_runner import run
from fake_data import write_mnist_files

import striate
from snapshot import tree
from striate.cli import build_parser, main
from striate.train import load_checkpoint, read_metrics, save_checkpoint

PIL = pytest.importorskip("PIL")
from PIL import Image, ImageDraw  # noqa: E402




def assert_clean_failure(code, err, *fragments):
    assert code not in (0, None), err
    assert "Traceback" not in err and "Errno" not in err and "bug in striate" not in err, err
    for fragment in fragments:
        assert fragment in err, f"{fragment!r} not in {err!r}"


TINY = ["--limit", "64", "--epochs", "1", "--batch-size", "32", "--no-progress"]


def without(monkeypatch, *packages):
    """Make ``import PACKAGE`` (and its submodules) fail, as on a core-only install."""
    for name in list(sys.modules):
        if any(name == p or name.startswith(p + ".") for p in packages):
            monkeypatch.setitem(sys.modules, name, None)
    for package in packages:
        monkeypatch.setitem(sys.modules, package, None)


# --------------------------------------------------------------------------- help


def _subcommands():
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return action.choices


@pytest.mark.parametrize("command", ["train", "evaluate", "predict", "summary", "models",
                                     "datasets"])
def test_help_explains_every_option(capsys, command):
    subparser = _subcommands()[command]
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    for action in subparser._actions:
        assert action.help, f"{command}: {action.option_strings or action.dest} has no help"
        for option in action.option_strings:
            assert option in out


def test_console_script_runs_in_a_new_process():
    command = [shutil.which("striate")] if shutil.which("striate") else [sys.executable, "-m",
                                                                         "striate.cli"]
    result = subprocess.run(command + ["--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for name in ("train", "evaluate", "predict", "summary"):
        assert name in result.stdout


# --------------------------------------------------------------------------- bad input, nothing written


@pytest.mark.parametrize("args, message", [
    (["--model", "lenet6"], "unknown model 'lenet6'. Did you mean 'lenet5'"),
    (["--dataset", "cifar-100"], "unknown dataset 'cifar-100'"),
    (["--model-arg", "depth=3"], "does not accept these options"),
])
def test_bad_training_input_fails_cleanly_and_writes_nothing(capsys, tmp_path, args, message):
    out = tmp_path / "run"
    code, _, err = run(capsys, "train", "--out", out, "--no-progress", *args)
    assert_clean_failure(code, err, message)
    assert not out.exists()


@pytest.mark.parametrize("args, message", [
    (["train", "--epochs", "x"], "expected a positive integer, got 'x'"),
    (["train", "--colour", "blue"], "unrecognized arguments: --colour"),
    (["train", "--optimizer", "lbfgs"], "invalid choice: 'lbfgs'"),
    (["train", "--epochs", "0"], "expected a positive integer"),
    (["train", "--model-arg", "oops"], "expected KEY=VALUE"),
    (["summary", "lenet5", "--input-shape", "28,28"], "expected C,H,W"),
])
def test_malformed_command_lines_exit_2(capsys, tmp_path, args, message):
    code, _, err = run(capsys, *args, *(["--out", tmp_path / "x"] if args[0] == "train" else []))
    assert code == 2
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()


def test_missing_dataset_says_where_it_looked(capsys, tmp_path, monkeypatch):
    if os.path.isdir("/usr/share/datasets/kmnist"):
        pytest.skip("KMNIST is installed on this machine")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("STRIATE_DATA", raising=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run(capsys, "train", "--dataset", "kmnist", "--data-dir", empty,
                       "--out", tmp_path / "run", "--no-progress")
    assert_clean_failure(code, err, str(empty), "--download")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_corrupt_idx_file_fails_cleanly(capsys, tmp_path, damage):
    data = tmp_path / "data"
    data.mkdir()
    write_mnist_files(data)
    target = data / "train-images-idx3-ubyte.gz"
    if damage == "truncate":
        content = target.read_bytes()
        target.write_bytes(content[:len(content) // 2])
    else:
        target.write_bytes(b"this is not an IDX file at all")
    code, _, err = run(capsys, "train", "--dataset", "mnist", "--data-dir", data,
                       "--out", tmp_path / "run", "--no-progress")
    assert_clean_failure(code, err, "train-images-idx3-ubyte")
    assert not (tmp_path / "run").exists()


# --------------------------------------------------------------------------- a real (small) run


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """LeNet-5 trained briefly on the embedded digits through the CLI."""
    import striate

    out = tmp_path_factory.mktemp("cli") / "run"
    striate.manual_seed(0)
    code = main(["train", "--out", str(out), "--epochs", "2", "--no-progress"])
    assert code == 0
    return out


def test_train_writes_checkpoint_metrics_and_curve(trained_run):
    assert sorted(os.listdir(trained_run)) == ["checkpoint", "learning_curve.png",
                                               "metrics.jsonl"]
    records = read_metrics(trained_run / "metrics.jsonl")
    assert [r["epoch"] for r in records] == [1, 2]
    assert records[-1]["test_acc"] > 0.9
    meta = load_checkpoint(trained_run).meta
    assert meta["model"]["name"] == "lenet5" and meta["dataset"] == "digits"
    assert meta["classes"] == [str(d) for d in range(10)]
    assert meta["input_shape"] == [1, 28, 28]
    assert 0.05 < meta["normalization"]["mean"][0] < 0.3


def test_existing_run_is_not_overwritten_silently(capsys, trained_run):
    before = (trained_run / "metrics.jsonl").read_bytes()
    code, _, err = run(capsys, "train", "--out", trained_run)
    assert_clean_failure(code, err, "already holds a training run", "--resume", "--overwrite")
    assert (trained_run / "metrics.jsonl").read_bytes() == before


def test_resume_refuses_different_settings(capsys, trained_run):
    code, _, err = run(capsys, "train", "--resume", trained_run, "--model", "lenet5_classic")
    assert_clean_failure(code, err, "cannot resume", "--model 'lenet5_classic'")


def test_stop_after_and_resume_from_the_command_line(capsys, tmp_path):
    out = tmp_path / "run"
    common = ["--limit", "200", "--no-progress"]
    code, stdout, err = run(capsys, "train", "--out", out, "--epochs", "2", "--stop-after", "1",
                            *common)
    assert code == 0, err
    assert "stopped after epoch 1 of 2" in stdout
    code, stdout, err = run(capsys, "train", "--resume", out, "--no-progress")
    assert code == 0, err
    assert "resuming at epoch 2" in stdout
    assert [r["epoch"] for r in read_metrics(out / "metrics.jsonl")] == [1, 2]
    code, stdout, _ = run(capsys, "train", "--resume", out)
    assert code == 0 and "nothing to do" in stdout


def test_evaluate_prints_accuracy_per_class_and_writes_the_confusion_matrix(capsys, trained_run):
    code, out, err = run(capsys, "evaluate", trained_run)
    assert code == 0, err
    assert "accuracy" in out and "per-class accuracy" in out
    for digit in range(10):
        assert f"\n  {digit}  " in out
    png = trained_run / "confusion_matrix-digits-test.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    last = read_metrics(trained_run / "metrics.jsonl")[-1]
    assert f"accuracy {100 * last['test_acc']:.2f}%" in out  # same number as training reported
    png.unlink()


def test_checkpoint_of_another_architecture_fails_cleanly(capsys, trained_run, tmp_path):
    from striate import models

    other = tmp_path / "other"
    shutil.copytree(trained_run, other)
    save_checkpoint(tmp_path / "foreign" / "checkpoint",
                    models.create("lenet5_classic", num_classes=10, in_channels=1), epoch=1)
    shutil.copy(tmp_path / "foreign" / "checkpoint" / "model.safetensors",
                other / "checkpoint" / "model.safetensors")
    for command in (["evaluate", other], ["predict", other, tmp_path / "x.png"]):
        code, out, err = run(capsys, *command)
        assert_clean_failure(code, err, "does not fit", "saved from lenet5")
        assert out == ""
    assert not (other / "confusion_matrix-digits-test.png").exists()


def draw_seven(path, size=(180, 240)):
    """A "7" drawn with lines, dark ink on white paper, not from any dataset."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.line([(0.2 * w, 0.2 * h), (0.8 * w, 0.2 * h), (0.45 * w, 0.85 * h)], fill="black",
              width=max(3, w // 12), joint="curve")
    image.save(path)


def test_predict_a_drawn_seven(capsys, trained_run, tmp_path):
    draw_seven(tmp_path / "seven.png")
    draw_seven(tmp_path / "seven.jpg", size=(90, 60))  # JPEG, landscape, other size
    code, out, err = run(capsys, "predict", trained_run, tmp_path / "seven.png",
                         tmp_path / "seven.jpg")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 2
    for line in lines:
        top = line.split(": ", 1)[1].split(", ")
        assert len(top) == 3
        assert top[0].startswith("7 "), line
        probabilities = [float(t.split()[1].strip("<>%")) for t in top]
        assert probabilities == sorted(probabilities, reverse=True)


@pytest.mark.parametrize("content", [b"not an image", "truncated"])
def test_undecodable_image_fails_cleanly(capsys, trained_run, tmp_path, content):
    path = tmp_path / "bad.png"
    if content == "truncated":
        draw_seven(path)
        data = path.read_bytes()
        path.write_bytes(data[:len(data) // 3])
    else:
        path.write_bytes(content)
    draw_seven(tmp_path / "good.png")
    code, out, err = run(capsys, "predict", trained_run, tmp_path / "good.png", path)
    assert_clean_failure(code, err, "bad.png", "cannot decode")
    assert out == ""  # no partial output either


# --------------------------------------------------------------------------- listings


def test_models_and_datasets_listings(capsys):
    code, out, _ = run(capsys, "models")
    assert code == 0 and "lenet5" in out
    code, out, _ = run(capsys, "datasets")
    assert code == 0 and "digits" in out and "fashion-mnist" in out


def test_summary_command(capsys):
    pytest.importorskip("striate.summary")
    code, out, err = run(capsys, "summary", "lenet5", "--input-shape", "1,28,28")
    assert code == 0, err
    assert "Conv2d" in out and "Linear" in out


@pytest.mark.parametrize("mode", ["1", "L", "P", "RGB", "RGBA", "LA", "I;16", "CMYK"])
def test_prepare_image_takes_any_mode_and_size(tmp_path, mode):
    from striate.data.images import load_image, prepare_image

    draw_seven(tmp_path / "seven.png", size=(61, 97))
    image = Image.open(tmp_path / "seven.png").convert(mode)
    path = tmp_path / ("seven.tif" if mode in ("CMYK", "I;16") else "seven.png")
    image.save(path)
    array = prepare_image(load_image(path), (1, 28, 28), mean=[0.1], std=[0.3], framing="digits")
    assert array.shape == (1, 28, 28) and array.dtype == np.float32
    raw = array * 0.3 + 0.1  # undo the normalization
    # Inverted to light-on-dark: a black border and bright ink, centred like MNIST.
    assert np.allclose(raw[0, :2], 0, atol=1e-6) and np.allclose(raw[0, :, :2], 0, atol=1e-6)
    assert raw.max() > 0.9
    rows, cols = np.nonzero(raw[0] > 0.5)
    assert rows.max() - rows.min() + 1 <= 21 and abs(rows.mean() - 14) < 3
    three = prepare_image(load_image(path), (3, 32, 32), framing="resize")
    assert three.shape == (3, 32, 32)


# --------------------------------------------------------------------------- optional dependencies

@pytest.fixture
def run_copy(trained_run, tmp_path):
    """A private copy of the trained run, free to damage."""
    copy = tmp_path / "run"
    shutil.copytree(trained_run, copy)
    return copy


def test_train_without_matplotlib_trains_and_skips_the_curve(capsys, tmp_path, monkeypatch):
    without(monkeypatch, "matplotlib")
    out = tmp_path / "run"
    code, stdout, err = run(capsys, "train", "--out", out, *TINY)
    assert code == 0, err
    assert "matplotlib" in err and 'pip install "striate[train]"' in err
    assert sorted(os.listdir(out)) == ["checkpoint", "metrics.jsonl"]
    assert "learning curve:" not in stdout


def test_train_without_safetensors_stops_before_any_work(capsys, tmp_path, monkeypatch):
    without(monkeypatch, "safetensors")
    out = tmp_path / "run"
    code, stdout, err = run(capsys, "train", "--out", out, *TINY)
    assert_clean_failure(code, err, "safetensors", 'pip install "striate[train]"')
    assert "epoch" not in stdout and not out.exists()


def test_train_without_tqdm_runs_without_a_progress_bar(capsys, tmp_path, monkeypatch):
    without(monkeypatch, "tqdm")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # a terminal would want bars
    out = tmp_path / "run"
    limits = [a for a in TINY if a != "--no-progress"]
    code, _, err = run(capsys, "train", "--out", out, *limits)
    assert code == 0, err
    assert "tqdm" in err and 'pip install "striate[train]"' in err
    assert (out / "checkpoint").is_dir()


@pytest.mark.parametrize("package", ["safetensors", "PIL"])
def test_predict_without_a_dependency_names_the_fix(capsys, trained_run, tmp_path, monkeypatch,
                                                    package):
    draw_seven(tmp_path / "seven.png")
    without(monkeypatch, package)
    code, out, err = run(capsys, "predict", trained_run, tmp_path / "seven.png")
    assert_clean_failure(code, err, {"PIL": "Pillow"}.get(package, package),
                         'pip install "striate[train]"')
    assert out == ""


def test_evaluate_without_matplotlib_reports_and_skips_the_plot(capsys, run_copy, monkeypatch):
    without(monkeypatch, "matplotlib")
    before = tree(run_copy)
    code, out, err = run(capsys, "evaluate", run_copy, "--limit", "50")
    assert code == 0, err
    assert "per-class accuracy" in out and "matplotlib" in err
    assert tree(run_copy) == before
    code, out, err = run(capsys, "evaluate", run_copy, "--limit", "50", "--plot",
                         run_copy / "cm.png")
    assert_clean_failure(code, err, "--plot", "matplotlib", 'pip install "striate[train]"')
    assert out == ""


# --------------------------------------------------------------------------- --overwrite

def test_overwrite_with_a_failing_setting_keeps_the_old_run(capsys, run_copy):
    before = tree(run_copy)
    code, _, err = run(capsys, "train", "--out", run_copy, "--overwrite", "--lr", "1e6", *TINY)
    assert_clean_failure(code, err, "nan", "the run in")
    assert tree(run_copy) == before


def test_overwrite_interrupted_in_the_first_epoch_keeps_the_old_run(capsys, run_copy,
                                                                      monkeypatch):
    from striate.train.trainer import Trainer

    def interrupt(self, epoch):
        raise KeyboardInterrupt
    monkeypatch.setattr(Trainer, "train_epoch", interrupt)
    before = tree(run_copy)
    code, _, err = run(capsys, "train", "--out", run_copy, "--overwrite", *TINY)
    assert code == 130 and "interrupted" in err and "Traceback" not in err
    assert tree(run_copy) == before


def test_overwrite_replaces_the_run_and_keeps_other_files(capsys, run_copy):
    (run_copy / "notes.txt").write_text("mine")
    code, stdout, err = run(capsys, "train", "--out", run_copy, "--overwrite", "--limit", "64",
                            "--epochs", "2", "--batch-size", "32", "--no-progress")
    assert code == 0, err
    assert sorted(os.listdir(run_copy)) == ["checkpoint", "learning_curve.png",
                                            "metrics.jsonl", "notes.txt"]
    assert [r["epoch"] for r in read_metrics(run_copy / "metrics.jsonl")] == [1, 2]
    checkpoint = load_checkpoint(run_copy)
    assert checkpoint.epoch == 2 and checkpoint.meta["config"]["limit"] == 64
    assert (run_copy / "notes.txt").read_text() == "mine"


# --------------------------------------------------------------------------- --out

@pytest.mark.parametrize("where, message", [
    ("file", "is a file"),
    ("under-file", "is a file"),
    ("proc", "cannot write"),
])
def test_unusable_out_is_refused_before_training(capsys, tmp_path, where, message):
    (tmp_path / "plain").write_text("x")
    out = {"file": tmp_path / "plain", "under-file": tmp_path / "plain" / "run",
           "proc": "/proc/striate-run"}[where]
    code, stdout, err = run(capsys, "train", "--out", out, *TINY)
    assert_clean_failure(code, err, message, str(out))
    assert "epoch" not in stdout
    assert (tmp_path / "plain").read_text() == "x"


def test_empty_out_is_a_usage_error(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, stdout, err = run(capsys, "train", "--out", "", *TINY)
    assert code == 2 and "--out" in err and "empty" in err
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------- --data-dir

@pytest.fixture
def mnist_elsewhere(tmp_path, monkeypatch):
    """A (fake) MNIST in $STRIATE_DATA, where a wrong --data-dir must not fall back to."""
    data = tmp_path / "elsewhere"
    (data / "mnist").mkdir(parents=True)
    write_mnist_files(data / "mnist")
    monkeypatch.setenv("STRIATE_DATA", str(data))
    (tmp_path / "empty").mkdir()
    (tmp_path / "plain").write_text("x")
    return data


@pytest.mark.parametrize("data_dir, message", [
    ("empty", "train-images-idx3-ubyte"),
    ("plain", "not a directory"),
    ("missing", "does not exist"),
])
@pytest.mark.parametrize("command", ["train", "evaluate", "datasets"])
def test_explicit_data_dir_is_used_or_refused(capsys, tmp_path, mnist_elsewhere, run_copy,
                                              command, data_dir, message):
    where = tmp_path / data_dir
    args = {"train": ["train", "--dataset", "mnist", "--out", tmp_path / "new", *TINY],
            "evaluate": ["evaluate", run_copy, "--dataset", "mnist"],
            "datasets": ["datasets"]}[command]
    code, out, err = run(capsys, *args, "--data-dir", where)
    assert_clean_failure(code, err, str(where), message)
    assert "epoch" not in out and not (tmp_path / "new").exists()


def test_data_dir_for_the_embedded_digits_is_refused(capsys, tmp_path):
    code, _, err = run(capsys, "train", "--data-dir", tmp_path, "--out", tmp_path / "run", *TINY)
    assert_clean_failure(code, err, "--data-dir", "embedded")
    assert not (tmp_path / "run").exists()


def test_explicit_data_dir_is_used(capsys, tmp_path, mnist_elsewhere):
    mine = tmp_path / "mine"
    mine.mkdir()
    write_mnist_files(mine, n=48)
    code, out, err = run(capsys, "train", "--dataset", "mnist", "--data-dir", mine,
                         "--out", tmp_path / "run", "--epochs", "1", "--no-progress")
    assert code == 0, err
    assert "48 train" in out  # the 48 images of --data-dir, not the 40 of $STRIATE_DATA
    code, out, err = run(capsys, "datasets", "--data-dir", mine)
    assert code == 0 and f"mnist           {mine}" in out


# --------------------------------------------------------------------------- predict

def test_predict_refuses_nan_weights(capsys, run_copy, tmp_path):
    checkpoint = load_checkpoint(run_copy)
    model = checkpoint.build_model()
    first = next(iter(model.parameters()))
    first.data[...] = np.nan
    save_checkpoint(run_copy / "checkpoint", model, epoch=checkpoint.epoch, meta=checkpoint.meta)
    draw_seven(tmp_path / "seven.png")
    code, out, err = run(capsys, "predict", run_copy, tmp_path / "seven.png")
    assert_clean_failure(code, err, "NaN", "features.0.weight")
    assert out == ""
    code, out, err = run(capsys, "evaluate", run_copy, "--limit", "20")
    assert_clean_failure(code, err, "NaN", "features.0.weight")


@pytest.mark.parametrize("colour", ["white", "black", (128, 128, 128)])
def test_predict_warns_on_a_blank_image(capsys, trained_run, tmp_path, colour):
    Image.new("RGB", (40, 30), colour).save(tmp_path / "blank.png")
    draw_seven(tmp_path / "seven.png")
    code, out, err = run(capsys, "predict", trained_run, tmp_path / "blank.png",
                         tmp_path / "seven.png")
    assert code == 0, err
    assert "blank.png" in err and "blank" in err and "seven.png" not in err
    assert len(out.strip().splitlines()) == 2


# --------------------------------------------------------------------------- sizes

def test_too_small_image_size_names_the_layer_and_the_size_that_works(capsys, tmp_path):
    code, stdout, err = run(capsys, "train", "--model", "alexnet", "--width", "0.25",
                            "--image-size", "16", "--out", tmp_path / "run", *TINY)
    assert_clean_failure(code, err, "features.", "(MaxPool2d)", "16x16", "--image-size 63")
    assert "epoch" not in stdout and not (tmp_path / "run").exists()
    code, _, err = run(capsys, "summary", "alexnet", "--width", "0.25", "--input-shape",
                       "1,63,63")
    assert code == 0, err  # the suggested size does work


def test_summary_with_a_too_small_input_shape_names_the_layer(capsys):
    code, out, err = run(capsys, "summary", "alexnet", "--width", "0.25", "--input-shape",
                         "3,16,20")
    assert_clean_failure(code, err, "features.", "(MaxPool2d)", "--input-shape 3,63,63")
    assert out == ""


def test_image_size_a_fixed_size_model_cannot_take(capsys, tmp_path):
    code, _, err = run(capsys, "train", "--model", "lenet5", "--image-size", "32",
                       "--out", tmp_path / "run", *TINY)
    assert_clean_failure(code, err, "(Linear)", "--image-size 28")
    assert not (tmp_path / "run").exists()


# --------------------------------------------------------------------------- evaluate --plot

@pytest.mark.parametrize("where, message", [
    ("missing/cm.png", "does not exist"),
    ("folder", "is a directory"),
    ("plain/cm.png", "not a directory"),
])
def test_evaluate_plot_destination_is_checked_first(capsys, run_copy, tmp_path, where, message):
    (tmp_path / "folder").mkdir()
    (tmp_path / "plain").write_text("x")
    before = tree(tmp_path)
    code, out, err = run(capsys, "evaluate", run_copy, "--limit", "20", "--plot", tmp_path / where)
    assert_clean_failure(code, err, "--plot", message)
    assert out == "" and ".tmp" not in err
    assert tree(tmp_path) == before


# --------------------------------------------------------------------------- output for people

def test_training_header_fits_a_100_column_terminal(capsys, tmp_path):
    code, out, err = run(capsys, "train", "--model", "lenet5_classic", "--optimizer", "rmsprop",
                         "--schedule", "cosine", "--warmup", "1", "--image-size", "32",
                         "--weight-decay", "0.0005", "--seed", "12345", "--out",
                         tmp_path / "a-rather-long-output-directory-name", *TINY)
    assert code == 0, err
    header = out.split("\nepoch")[0].splitlines()
    assert 2 <= len(header) <= 3
    assert all(len(line) <= 100 for line in header), header
    text = " ".join(header)
    for fragment in ("lenet5_classic", "digits", "64 train", "16 test", "1x32x32", "rmsprop",
                     "cosine", "batch 32", "seed 12345"):
        assert fragment in text


def _listed_options(out):
    """{model: {option: default}} from the output of ``striate models``."""
    import ast

    options, name = {}, None
    for line in out.splitlines():
        if not line.startswith(" "):
            name = line.split()[0]
            options[name] = {}
        elif line.strip().startswith("options:"):
            for item in line.split("options:", 1)[1].split(", "):
                key, value = item.strip().split("=", 1)
                options[name][key] = ast.literal_eval(value)
    return options


def test_models_lists_every_model_with_its_options_and_defaults(capsys):
    from striate import models

    code, out, _ = run(capsys, "models")
    assert code == 0
    listed = _listed_options(out)
    assert sorted(listed) == models.list_models()
    assert listed["lenet5"] == {"input_size": 28}
    assert listed["alexnet"] == {"dropout": 0.5, "width": 1.0}
    for name, options in listed.items():
        if not options:
            continue
        # Every option as printed is one that create() takes (width shrunk to stay quick).
        kwargs = dict(options, **({"width": 0.0625} if "width" in options else {}))
        assert isinstance(models.create(name, **kwargs), striate.nn.Module)
