"""No command writes onto what it reads, onto a file of an existing run, or
over an existing output without ``--overwrite``.

Each case runs in a workspace holding a small classifier run, a small
segmentation run, a picture and a PyTorch checkpoint. A refused command exits
non-zero with one line naming the option (or argument) and the path, prints no
traceback, and leaves every file in the workspace byte for byte as it was.
The property test at the end points every output option of every writing
command at every input of that command and at every file of a run.
"""
import os
import shutil

import numpy as np
import pytest

from cli_runner import run
from snapshot import tree

PIL = pytest.importorskip("PIL")
from PIL import Image, ImageDraw  # noqa: E402

TINY = ["--limit", "64", "--epochs", "1", "--batch-size", "32", "--no-progress"]
TINY_UNET = ["--model", "unet", "--dataset", "digit-scenes", "--width", "0.0625",
             "--model-arg", "depth=2", "--limit", "32", "--batch-size", "16", "--epochs", "1",
             "--no-progress"]

# The files every finished run holds (paths relative to the run).
RUN_FILES = ["metrics.jsonl", "learning_curve.png", "checkpoint/model.safetensors",
             "checkpoint/training_state.json", "checkpoint/training_state.safetensors"]


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A classifier run, a U-Net run, a digit picture and a torch.save checkpoint, made once."""
    from striate.cli import main
    root = tmp_path_factory.mktemp("nothing-lost")
    assert main(["train", "--out", str(root / "run"), *TINY]) == 0
    assert main(["train", "--out", str(root / "seg"), *TINY_UNET]) == 0
    image = Image.new("L", (60, 80), 255)
    ImageDraw.Draw(image).line([(10, 15), (50, 15), (25, 70)], fill=0, width=6)
    image.save(root / "digit.png")
    Image.fromarray((np.arange(48 * 48) % 251).astype(np.uint8).reshape(48, 48)).save(
        root / "scene.png")
    torch = pytest.importorskip("torch")
    torch.save({"conv.weight": torch.zeros(2, 1, 3, 3)}, root / "weights.pt")
    return root


@pytest.fixture
def ws(made, tmp_path, monkeypatch):
    """A private copy of the made files; the test runs inside it."""
    work = tmp_path / "ws"
    shutil.copytree(made, work)
    monkeypatch.chdir(work)
    return work


def assert_refused(capsys, ws, argv, *fragments):
    before = tree(ws)
    code, out, err = run(capsys, *argv)
    assert code != 0, f"{argv} was not refused:\n{out}{err}"
    assert "Traceback" not in err and "bug in striate" not in err, err
    message = err.strip()
    assert message and len(message.splitlines()) == 1, f"expected one line, got:\n{err}"
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert tree(ws) == before, f"{argv} changed the workspace"
    return message


# --------------------------------------------------------------------------- the reported cases

def test_kernels_does_not_write_over_its_photo(capsys, ws):
    assert_refused(capsys, ws, ["kernels", "digit.png", "--out", "digit.png"], "--out", "digit.png")


def test_augment_does_not_write_over_its_image(capsys, ws):
    assert_refused(capsys, ws, ["augment", "digit.png", "--out", "digit.png"], "--out", "digit.png")


def test_export_does_not_write_over_the_weights_even_with_overwrite(capsys, ws):
    pytest.importorskip("onnx")
    assert_refused(capsys, ws, ["export", "run", "--out", "run/checkpoint/model.safetensors",
                                "--overwrite"], "--out", "model.safetensors")


@pytest.mark.parametrize("target", ["run/metrics.jsonl", "run/checkpoint/model.safetensors",
                                    "run/checkpoint/training_state.json"])
def test_evaluate_plot_does_not_write_over_the_run(capsys, ws, target):
    assert_refused(capsys, ws, ["evaluate", "run", "--plot", target], "--plot",
                   os.path.basename(target))


def test_predict_does_not_replace_an_existing_overlay(capsys, ws):
    (ws / "scene-overlay.png").write_bytes(b"the user's own picture")
    assert_refused(capsys, ws, ["predict", "seg", "scene.png", "--overlay-dir", "."],
                   "scene-overlay.png", "--overwrite")


def test_train_does_not_replace_the_run_it_starts_from(capsys, ws):
    assert_refused(capsys, ws, ["train", "--init-from", "run", "--out", "run", "--overwrite",
                                *TINY], "--out", "--init-from")


def test_convert_does_not_write_over_its_source(capsys, ws):
    assert_refused(capsys, ws, ["convert", "weights.pt", "weights.pt", "--overwrite"],
                   "weights.pt")


def test_an_existing_output_needs_overwrite(capsys, ws):
    (ws / "k.png").write_bytes(b"the user's own picture")
    assert_refused(capsys, ws, ["kernels", "digit.png", "--out", "k.png"], "k.png", "--overwrite")
    assert_refused(capsys, ws, ["augment", "digit.png", "--out", "k.png"], "k.png", "--overwrite")
    assert_refused(capsys, ws, ["evaluate", "run", "--plot", "k.png"], "k.png", "--overwrite")


def test_overwrite_replaces_an_output_that_is_not_an_input(capsys, ws):
    (ws / "k.png").write_bytes(b"an old picture")
    code, out, err = run(capsys, "kernels", "digit.png", "--out", "k.png", "--overwrite")
    assert code == 0, err
    with Image.open(ws / "k.png") as picture:
        assert picture.size[0] > 0


def test_overwrite_prints_the_final_checkpoint_path(capsys, ws):
    code, out, err = run(capsys, "train", "--out", "run", "--overwrite", *TINY)
    assert code == 0, err
    assert ".striate-new-run-" not in out, out
    assert os.path.join("run", "checkpoint") in out


def test_a_link_to_an_input_is_the_input(capsys, ws):
    os.symlink("digit.png", ws / "alias.png")
    assert_refused(capsys, ws, ["kernels", "digit.png", "--out", "alias.png", "--overwrite"],
                   "--out", "alias.png")
    os.link(ws / "digit.png", ws / "hard.png")
    assert_refused(capsys, ws, ["augment", "digit.png", "--out", "hard.png", "--overwrite"],
                   "--out", "hard.png")


# --------------------------------------------------------------------------- the property

# Every writing command: (name, argv builder taking the output path, its inputs).
WRITERS = [
    ("kernels --out", lambda out: ["kernels", "digit.png", "--out", out], ["digit.png"]),
    ("augment --out", lambda out: ["augment", "digit.png", "--out", out], ["digit.png"]),
    ("evaluate --plot", lambda out: ["evaluate", "run", "--plot", out], []),
    ("convert OUT", lambda out: ["convert", "weights.pt", out], ["weights.pt"]),
    ("export --out", lambda out: ["export", "run", "--out", out], []),
]


@pytest.mark.parametrize("overwrite", [False, True], ids=["plain", "overwrite"])
@pytest.mark.parametrize("name, argv, inputs", WRITERS, ids=[w[0] for w in WRITERS])
def test_no_output_option_writes_onto_an_input_or_a_run(capsys, ws, name, argv, inputs, overwrite):
    if name.startswith("export"):
        pytest.importorskip("onnx")
    targets = inputs + [f"run/{f}" for f in RUN_FILES] + [f"seg/{f}" for f in RUN_FILES]
    for target in targets:
        command = argv(target) + (["--overwrite"] if overwrite else [])
        assert_refused(capsys, ws, command, os.path.basename(target))


def test_train_out_onto_any_file_of_a_run_is_refused(capsys, ws):
    for target in RUN_FILES:
        assert_refused(capsys, ws, ["train", "--out", f"run/{target}", "--overwrite", *TINY],
                       "--out")


def test_an_overlay_never_writes_onto_an_input(capsys, ws):
    """An output folder: an overlay whose file name falls on another input is
    refused before anything is written, even with --overwrite."""
    shutil.copy(ws / "scene.png", ws / "x.png")
    shutil.copy(ws / "scene.png", ws / "x-overlay.png")
    assert_refused(capsys, ws, ["predict", "seg", "x.png", "x-overlay.png", "--overlay-dir", ".",
                                "--overwrite"], "x-overlay.png")
