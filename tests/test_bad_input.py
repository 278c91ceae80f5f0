"""Bad input across the command line and the Python calls behind it.

Every case runs in a workspace holding a small trained run, a good image and
whatever bad files the case makes; for each one we check a clear message that
names the problem, a non-zero exit (2 for a malformed command line, as
argparse does), no traceback, and that no file in the workspace was changed,
deleted or added.
"""
import json
import os
import shutil

import numpy as np
import pytest

from snapshot import tree
from striate.cli import main

PIL = pytest.importorskip("PIL")
from PIL import Image, ImageDraw  # noqa: E402

TINY = ["--limit", "64", "--epochs", "1", "--batch-size", "32", "--no-progress"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A LeNet-5 run of one tiny epoch, made once for the module."""
    out = tmp_path_factory.mktemp("bad-input") / "run"
    assert main(["train", "--out", str(out), *TINY]) == 0
    return out


# --------------------------------------------------------------------------- bad files

def draw_digit(path):
    image = Image.new("L", (60, 80), 255)
    ImageDraw.Draw(image).line([(10, 15), (50, 15), (25, 70)], fill=0, width=6)
    image.save(path)


def text_as_png(ws):
    (ws / "text.png").write_text("this is a text file, not a picture\n")


def empty_png(ws):
    (ws / "empty.png").write_bytes(b"")


def truncated_png(ws):
    draw_digit(ws / "cut.png")
    data = (ws / "cut.png").read_bytes()
    (ws / "cut.png").write_bytes(data[:len(data) // 2])


def folder(ws):
    (ws / "folder").mkdir()


def plain_file(ws):
    (ws / "plain").write_text("x")


def damage(name, how):
    """A setup that damages ``run/checkpoint/NAME``: garbage, truncation, or JSON edits."""
    def setup(ws):
        path = ws / "run" / "checkpoint" / name
        if how == "garbage":
            path.write_bytes(b"\x00\x01 not what it claims to be " * 4)
        elif how == "truncate":
            path.write_bytes(path.read_bytes()[:40])
        else:
            state = json.loads(path.read_text())
            how(state)
            path.write_text(json.dumps(state))
    return setup


def foreign_weights(ws):
    """The run's checkpoint with the weights of another architecture."""
    from striate import models
    from striate.train import save_checkpoint

    save_checkpoint(ws / "foreign", models.create("lenet5_classic", num_classes=10), epoch=1)
    shutil.copy(ws / "foreign" / "model.safetensors",
                ws / "run" / "checkpoint" / "model.safetensors")
    shutil.rmtree(ws / "foreign")


def nan_weights(ws):
    from striate.train import load_checkpoint, save_checkpoint

    checkpoint = load_checkpoint(ws / "run")
    model = checkpoint.build_model()
    next(iter(model.parameters())).data[...] = np.nan
    save_checkpoint(ws / "run" / "checkpoint", model, epoch=checkpoint.epoch, meta=checkpoint.meta)


def corrupt_idx(ws):
    from striate.data import write_idx

    rng = np.random.default_rng(0)
    (ws / "data").mkdir()
    for prefix in ("train", "t10k"):
        write_idx(ws / "data" / f"{prefix}-images-idx3-ubyte.gz",
                  rng.integers(0, 256, size=(20, 28, 28), dtype=np.uint8))
        write_idx(ws / "data" / f"{prefix}-labels-idx1-ubyte.gz",
                  rng.integers(0, 10, size=20, dtype=np.uint8))
    path = ws / "data" / "train-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:len(path.read_bytes()) // 2])


def both(*setups):
    def setup(ws):
        for one in setups:
            one(ws)
    return setup


# --------------------------------------------------------------------------- the cases

CLI_CASES = [
    # malformed command lines: argparse, exit 2
    ("no-command", [], "required: COMMAND", 2, None),
    ("unknown-command", ["fit"], "invalid choice: 'fit'", 2, None),
    ("epochs-text", ["train", "--epochs", "x"], "expected a positive integer, got 'x'", 2, None),
    ("epochs-zero", ["train", "--epochs", "0"], "expected a positive integer, got '0'", 2, None),
    ("epochs-negative", ["train", "--epochs=-3"], "expected a positive integer", 2, None),
    ("batch-fraction", ["train", "--batch-size", "2.5"], "positive integer, got '2.5'", 2, None),
    ("lr-nan", ["train", "--lr", "nan"], "finite number > 0, got 'nan'", 2, None),
    ("lr-inf", ["train", "--lr", "inf"], "finite number > 0, got 'inf'", 2, None),
    ("lr-negative", ["train", "--lr=-0.1"], "finite number > 0", 2, None),
    ("weight-decay-negative", ["train", "--weight-decay=-1"], "finite number >= 0", 2, None),
    ("unknown-optimizer", ["train", "--optimizer", "lbfgs"], "invalid choice: 'lbfgs'", 2, None),
    ("unknown-schedule", ["train", "--schedule", "linear"], "invalid choice: 'linear'", 2, None),
    ("unknown-option", ["train", "--colour", "blue"], "unrecognized arguments: --colour", 2,
     None),
    ("model-arg-no-equals", ["train", "--model-arg", "oops"], "expected KEY=VALUE", 2, None),
    ("model-arg-bad-key", ["train", "--model-arg", "1x=2"], "expected KEY=VALUE", 2, None),
    ("out-empty", ["train", "--out", ""], "argument --out: expected a path, got an empty", 2,
     None),
    ("width-zero", ["train", "--width", "0"], "argument --width: expected a finite number > 0",
     2, None),
    ("input-shape-zero", ["summary", "lenet5", "--input-shape", "1,0,28"], "expected C,H,W", 2,
     None),
    ("input-shape-2d", ["summary", "lenet5", "--input-shape", "28,28"], "expected C,H,W", 2,
     None),
    ("input-shape-text", ["summary", "lenet5", "--input-shape", "a,b,c"], "expected C,H,W", 2,
     None),
    ("depth-negative", ["summary", "lenet5", "--depth=-1"], "expected an integer >= 0", 2, None),
    ("predict-no-image", ["predict", "{ws}/run"], "required: IMAGE", 2, None),
    ("predict-top-zero", ["predict", "{ws}/run", "{ws}/digit.png", "--top", "0"],
     "argument --top: expected a positive integer", 2, None),
    ("evaluate-unknown-split", ["evaluate", "{ws}/run", "--split", "valid"],
     "invalid choice: 'valid'", 2, None),
    ("evaluate-plot-empty", ["evaluate", "{ws}/run", "--plot", ""], "argument --plot", 2, None),

    # names and settings
    ("unknown-model", ["train", "--model", "lenet6"], "unknown model 'lenet6'. Did you mean",
     1, None),
    ("unknown-dataset", ["train", "--dataset", "cifar-100"], "unknown dataset 'cifar-100'", 1,
     None),
    ("model-arg-unknown-key", ["train", "--model-arg", "depth=3"],
     "model 'lenet5' does not accept these options", 1, None),
    ("summary-unknown-model", ["summary", "lenet6"], "unknown model 'lenet6'", 1, None),
    ("summary-model-arg-unknown", ["summary", "alexnet", "--width", "0.25", "--model-arg",
                                   "depth=3"],
     "does not accept these options", 1, None),
    ("image-size-too-small", ["train", "--model", "alexnet", "--width", "0.25",
                              "--image-size", "16"],
     "alexnet needs images of at least 63x63: use --image-size 63", 1, None),
    ("image-size-wrong", ["train", "--image-size", "32"], "use --image-size 28", 1, None),
    ("summary-input-too-small", ["summary", "alexnet", "--width", "0.25", "--input-shape",
                                 "3,16,16"],
     "use --input-shape 3,63,63", 1, None),

    # output paths
    ("out-is-a-file", ["train", "--out", "{ws}/plain"], "is a file, not a directory", 1,
     plain_file),
    ("out-under-a-file", ["train", "--out", "{ws}/plain/run"], "is a file, so no directory",
     1, plain_file),
    ("out-under-proc", ["train", "--out", "/proc/striate-run"], "cannot write --out", 1, None),
    ("out-holds-a-run", ["train", "--out", "{ws}/run"], "already holds a training run", 1,
     None),
    ("overwrite-diverges", ["train", "--out", "{ws}/run", "--overwrite", "--lr", "1e6"],
     "the run in", 1, None),
    ("plot-missing-folder", ["evaluate", "{ws}/run", "--plot", "{ws}/missing/cm.png"],
     "the folder", 1, None),
    ("plot-is-a-folder", ["evaluate", "{ws}/run", "--plot", "{ws}/folder"], "is a directory",
     1, folder),
    ("plot-under-a-file", ["evaluate", "{ws}/run", "--plot", "{ws}/plain/cm.png"],
     "is not a directory", 1, plain_file),

    # --resume
    ("resume-missing", ["train", "--resume", "{ws}/nowhere"], "the directory does not exist",
     1, None),
    ("resume-empty-folder", ["train", "--resume", "{ws}/folder"], "no checkpoint at", 1,
     folder),
    ("resume-other-model", ["train", "--resume", "{ws}/run", "--model", "lenet5_classic"],
     "cannot resume", 1, None),
    ("resume-other-lr", ["train", "--resume", "{ws}/run", "--lr", "0.3"],
     "--lr 0.3 (the run has None)", 1, None),
    ("resume-and-overwrite", ["train", "--resume", "{ws}/run", "--overwrite"],
     "--resume continues a run and --overwrite replaces it", 1, None),
    ("resume-no-config", ["train", "--resume", "{ws}/run"], "stores no training configuration",
     1, damage("training_state.json", lambda s: s["meta"].pop("config"))),

    # data
    ("data-dir-file", ["train", "--dataset", "mnist", "--data-dir", "{ws}/plain"],
     "is not a directory", 1, plain_file),
    ("data-dir-empty", ["train", "--dataset", "mnist", "--data-dir", "{ws}/folder"],
     "train-images-idx3-ubyte", 1, folder),
    ("data-dir-missing", ["train", "--dataset", "mnist", "--data-dir", "{ws}/nowhere"],
     "does not exist", 1, None),
    ("data-dir-for-digits", ["train", "--data-dir", "{ws}/folder"], "is embedded", 1, folder),
    ("data-dir-corrupt-idx", ["train", "--dataset", "mnist", "--data-dir", "{ws}/data"],
     "train-labels-idx1-ubyte", 1, corrupt_idx),
    ("evaluate-data-dir-empty", ["evaluate", "{ws}/run", "--dataset", "mnist", "--data-dir",
                                 "{ws}/folder"], "not in --data-dir", 1, folder),
    ("evaluate-unknown-dataset", ["evaluate", "{ws}/run", "--dataset", "svhn"],
     "unknown dataset 'svhn'", 1, None),
    ("datasets-data-dir-file", ["datasets", "--data-dir", "{ws}/plain"], "is not a directory",
     1, plain_file),
    ("datasets-data-dir-missing", ["datasets", "--data-dir", "{ws}/nowhere"], "does not exist",
     1, None),

    # checkpoints
    ("evaluate-missing-run", ["evaluate", "{ws}/nowhere"], "the directory does not exist", 1,
     None),
    ("evaluate-not-a-run", ["evaluate", "{ws}/folder"], "expected model.safetensors", 1,
     folder),
    ("checkpoint-is-a-file", ["predict", "{ws}/plain", "{ws}/digit.png"], "no checkpoint at",
     1, plain_file),
    ("model-safetensors-garbage", ["evaluate", "{ws}/run"],
     "model.safetensors is not a readable safetensors file", 1,
     damage("model.safetensors", "garbage")),
    ("state-safetensors-truncated", ["predict", "{ws}/run", "{ws}/digit.png"],
     "training_state.safetensors is not a readable safetensors file", 1,
     damage("training_state.safetensors", "truncate")),
    ("json-garbage", ["evaluate", "{ws}/run"], "is not readable JSON", 1,
     damage("training_state.json", "garbage")),
    ("json-other-format", ["evaluate", "{ws}/run"], "is not a striate checkpoint", 1,
     damage("training_state.json", lambda s: s.update(format="keras"))),
    ("json-newer-version", ["predict", "{ws}/run", "{ws}/digit.png"], "upgrade striate", 1,
     damage("training_state.json", lambda s: s.update(version=99))),
    ("json-unknown-model", ["evaluate", "{ws}/run"], "unknown model 'lenet9'", 1,
     damage("training_state.json", lambda s: s["meta"]["model"].update(name="lenet9"))),
    ("checkpoint-of-another-model", ["evaluate", "{ws}/run"], "does not fit", 1,
     foreign_weights),
    ("nan-weights-predict", ["predict", "{ws}/run", "{ws}/digit.png"], "NaN or infinite", 1,
     nan_weights),
    ("nan-weights-evaluate", ["evaluate", "{ws}/run"], "NaN or infinite", 1, nan_weights),

    # images
    ("image-text-file", ["predict", "{ws}/run", "{ws}/text.png"], "cannot decode", 1,
     text_as_png),
    ("image-empty-file", ["predict", "{ws}/run", "{ws}/empty.png"], "cannot decode", 1,
     empty_png),
    ("image-truncated", ["predict", "{ws}/run", "{ws}/digit.png", "{ws}/cut.png"],
     "cannot decode", 1, truncated_png),
    ("image-is-a-folder", ["predict", "{ws}/run", "{ws}/folder"], "is a directory", 1, folder),
    ("image-missing", ["predict", "{ws}/run", "{ws}/nowhere.png"], "no such file", 1, None),
    ("image-bad-and-checkpoint-bad", ["predict", "{ws}/run", "{ws}/text.png"],
     "not a readable safetensors", 1,
     both(text_as_png, damage("model.safetensors", "garbage"))),
]


@pytest.fixture
def workspace(trained, tmp_path, monkeypatch):
    """A copy of the trained run and a good image; the current directory, so
    that a stray default output (runs/...) would show in the snapshot."""
    ws = tmp_path / "ws"
    ws.mkdir()
    shutil.copytree(trained, ws / "run")
    draw_digit(ws / "digit.png")
    monkeypatch.chdir(ws)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("STRIATE_DATA", raising=False)
    return ws


@pytest.mark.parametrize("argv, fragment, status, setup",
                         [case[1:] for case in CLI_CASES], ids=[case[0] for case in CLI_CASES])
def test_bad_command_line_input(capsys, workspace, argv, fragment, status, setup):
    if setup is not None:
        setup(workspace)
    argv = [a.format(ws=workspace) for a in argv]
    if argv and argv[0] == "train" and "--limit" not in argv and "--resume" not in argv:
        argv += TINY
    before = tree(workspace)
    try:
        code = main(argv)
    except SystemExit as exit:
        code = exit.code
    out, err = capsys.readouterr()
    assert code == status, (code, err)
    assert fragment in err, f"{fragment!r} not in {err!r}"
    assert "Traceback" not in out + err and "bug in striate" not in err
    assert tree(workspace) == before


# --------------------------------------------------------------------------- Python calls

def junk_checkpoint(ws):
    (ws / "junk" / "checkpoint").mkdir(parents=True)
    for name in ("model.safetensors", "training_state.safetensors"):
        (ws / "junk" / "checkpoint" / name).write_bytes(b"junk")
    (ws / "junk" / "checkpoint" / "training_state.json").write_text("{}")
    return ws / "junk"


def decoded(ws):
    from striate.data.images import load_image

    return load_image(ws / "digit.png")


def load_checkpoint(path):
    from striate.train import load_checkpoint

    return load_checkpoint(path)


def load_text_as_image(ws):
    from striate.data.images import load_image

    text_as_png(ws)
    return load_image(ws / "text.png")


API_CASES = [
    ("load-checkpoint-file", lambda ws: load_checkpoint(ws / "digit.png"), "CheckpointError",
     "no checkpoint at"),
    ("load-checkpoint-junk", lambda ws: load_checkpoint(junk_checkpoint(ws)), "CheckpointError",
     "is not a striate checkpoint"),
    ("prepare-image-list", lambda ws: _prepare([[0, 1], [1, 0]], (1, 28, 28)), "TypeError",
     "expected a Pillow image"),
    ("prepare-image-float-array", lambda ws: _prepare(np.zeros((28, 28)), (1, 28, 28)),
     "ValueError", "must be uint8"),
    ("prepare-image-5-bands", lambda ws: _prepare(np.zeros((28, 28, 5), np.uint8), (1, 28, 28)),
     "ValueError", "(28, 28, 5)"),
    ("prepare-image-empty-array", lambda ws: _prepare(np.zeros((0, 28), np.uint8), (1, 28, 28)),
     "ValueError", "the image is empty"),
    ("prepare-image-2d-shape", lambda ws: _prepare(decoded(ws), (28, 28)), "ValueError",
     "input_shape must be (C, H, W)"),
    ("prepare-image-2-channels", lambda ws: _prepare(decoded(ws), (2, 28, 28)), "ValueError",
     "C 1 (grey) or 3 (RGB)"),
    ("prepare-image-zero-height", lambda ws: _prepare(decoded(ws), (1, 0, 28)), "ValueError",
     "positive H and W"),
    ("prepare-image-framing", lambda ws: _prepare(decoded(ws), (1, 28, 28), framing="zoom"),
     "ValueError", "framing must be one of"),
    ("prepare-image-invert", lambda ws: _prepare(decoded(ws), (1, 28, 28), invert="maybe"),
     "ValueError", "invert must be"),
    ("load-image-text", load_text_as_image, "ImageDecodeError", "cannot decode"),
]


def _prepare(image, shape, **options):
    from striate.data.images import prepare_image

    return prepare_image(image, shape, **options)


@pytest.mark.parametrize("call, error, fragment", [case[1:] for case in API_CASES],
                         ids=[case[0] for case in API_CASES])
def test_bad_python_input(workspace, call, error, fragment):
    before = tree(workspace)
    with pytest.raises(Exception) as info:
        call(workspace)
    assert type(info.value).__name__ == error, repr(info.value)
    assert fragment in str(info.value)
    after = tree(workspace)
    assert {k: v for k, v in after.items() if k in before} == before  # nothing changed or lost



# --------------------------------------------------------------------------- folders of images

def _image(path, size=(16, 16), value=None, mode="L"):
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(abs(hash(str(path.name))) % 2**32)
    pixels = rng.integers(0, 256, (size[1], size[0])) if value is None else \
        np.full((size[1], size[0]), value)
    Image.fromarray(pixels.astype(np.uint8)).convert(mode).save(path)


def _classes(root, names=("a", "b"), count=12):
    for name in names:
        for i in range(count):
            _image(root / name / f"{i}.png")


def _huge_png(path):
    """A valid 1x1 PNG whose header claims 10000x10000 pixels."""
    import struct
    import zlib

    _image(path, size=(1, 1))
    data = bytearray(path.read_bytes())
    data[16:24] = struct.pack(">II", 10000, 10000)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    path.write_bytes(bytes(data))


def _text(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("not a picture\n")


def _cut(path):
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


def _trained(ws):
    from striate.cli import main as striate
    assert striate(["train", "--data", str(ws / "data"), "--out", str(ws / "run"),
                    "--epochs", "1", "--batch-size", "8", "--no-progress"]) == 0


def _split(ws, test="test", test_classes=("a", "b"), extra=None):
    _classes(ws / "split" / "train")
    _classes(ws / "split" / test, test_classes, 3)
    if extra:
        (ws / "split" / extra).mkdir()


def _changed_after_training(ws):
    _trained(ws)
    _image(ws / "data" / "a" / "new.png")


def _cache_inside(ws):
    os.environ["STRIATE_CACHE"] = str(ws / "data" / "a" / "cache")


FOLDER_CASES = [
    ("missing", ["train", "--data", "{ws}/nowhere"], "no such folder", 1, None),
    ("a-file", ["train", "--data", "{ws}/notes.txt"], "is a file, not a folder", 1,
     lambda ws: _text(ws / "notes.txt")),
    ("empty", ["train", "--data", "{ws}/empty"], "is empty", 1,
     lambda ws: (ws / "empty").mkdir()),
    ("no-class-folders", ["train", "--data", "{ws}/loose"], "but no class folders", 1,
     lambda ws: _image(ws / "loose" / "x.png")),
    ("one-class", ["train", "--data", "{ws}/one"], "only one class", 1,
     lambda ws: _classes(ws / "one", ("a",))),
    ("empty-class-folder", ["train", "--data", "{ws}/data"], "holds no image file", 1,
     lambda ws: (ws / "data" / "c").mkdir()),
    ("non-image-file", ["train", "--data", "{ws}/data"], "is not an image file", 1,
     lambda ws: _text(ws / "data" / "a" / "notes.txt")),
    ("class-without-readable-image", ["train", "--data", "{ws}/data"],
     "no readable image is left in the class folder c", 1,
     lambda ws: [_text(ws / "data" / "c" / f"{i}.png") for i in range(2)]),
    ("truncated-above-threshold", ["train", "--data", "{ws}/data"], "cannot be decoded", 1,
     lambda ws: [_cut(ws / "data" / "a" / f"{i}.png") for i in range(2)]),
    ("huge-image", ["train", "--data", "{ws}/data"], "more than the 50,000,000", 1,
     lambda ws: _huge_png(ws / "data" / "b" / "huge.png")),
    ("symlink-loop", ["train", "--data", "{ws}/data"], "loops back", 1,
     lambda ws: os.symlink(ws / "data" / "a", ws / "data" / "a" / "again")),
    ("train-test-classes-differ", ["train", "--data", "{ws}/split"], "differ", 1,
     lambda ws: _split(ws, test_classes=("a", "c"))),
    ("test-and-val", ["train", "--data", "{ws}/split"], "keep one", 1,
     lambda ws: (_split(ws), _classes(ws / "split" / "val", ("a", "b"), 2))),
    ("train-beside-other-folders", ["train", "--data", "{ws}/split"], "may hold only", 1,
     lambda ws: _split(ws, extra="extra")),
    ("empty-test-folder", ["train", "--data", "{ws}/split"], "holds no class folders", 1,
     lambda ws: (_classes(ws / "split" / "train"), (ws / "split" / "test").mkdir())),
    ("images-outside-class-folders", ["train", "--data", "{ws}/split"],
     "outside any class folder", 1,
     lambda ws: (_split(ws), _image(ws / "split" / "train" / "stray.png"))),
    ("data-and-dataset", ["train", "--data", "{ws}/data", "--dataset", "mnist"],
     "give one of them", 1, None),
    ("data-and-data-dir", ["train", "--data", "{ws}/data", "--data-dir", "{ws}"],
     "leave out --data-dir", 1, None),
    ("out-inside-data", ["train", "--data", "{ws}/data", "--out", "{ws}/data/run"],
     "lies inside the image folder", 1, None),
    ("imagenet-normalize-on-grey", ["train", "--data", "{ws}/data", "--normalize", "imagenet"],
     "is for RGB images", 1, None),
    ("val-split-out-of-range", ["train", "--data", "{ws}/data", "--val-split", "1.5"],
     "fraction between 0 and 1", 2, None),
    ("image-size-too-small", ["train", "--data", "{ws}/data", "--image-size", "4"],
     "too small", 1, None),
    ("unknown-model", ["train", "--data", "{ws}/data", "--model", "lenet9"], "lenet9", 1, None),
    ("cache-inside-data", ["train", "--data", "{ws}/data"], "lies inside the dataset folder", 1,
     _cache_inside),
    ("folder-changed-before-resume", ["train", "--resume", "{ws}/run", "--epochs", "2"],
     "has changed since this run started", 1, _changed_after_training),
    ("evaluate-on-foreign-classes", ["evaluate", "{ws}/run", "--data", "{ws}/other"],
     "are not classes of this run", 1,
     lambda ws: (_trained(ws), _classes(ws / "other", ("a", "zebra"), 2))),
    ("evaluate-data-and-dataset", ["evaluate", "{ws}/run", "--data", "{ws}/data",
                                   "--dataset", "mnist"], "give one of them", 1, _trained),
    ("predict-onnx-not-onnx", ["predict", "{ws}/fake.onnx", "{ws}/data/a/0.png"],
     "not a readable ONNX model", 1, lambda ws: _text(ws / "fake.onnx")),
]


@pytest.fixture
def folder_workspace(tmp_path, monkeypatch):
    """A good folder of images (2 classes of 12) in the current directory; the
    decode cache outside it."""
    ws = tmp_path / "ws"
    _classes(ws / "data")
    monkeypatch.chdir(ws)
    monkeypatch.setenv("STRIATE_CACHE", str(tmp_path / "cache"))
    return ws


@pytest.mark.parametrize("argv, fragment, status, setup", [case[1:] for case in FOLDER_CASES],
                         ids=[case[0] for case in FOLDER_CASES])
def test_bad_folder_input(capsys, folder_workspace, tmp_path, argv, fragment, status, setup):
    ws = folder_workspace
    if setup is not None:
        setup(ws)
    argv = [a.format(ws=ws) for a in argv]
    if argv[0] == "train" and "--resume" not in argv:
        argv += ["--epochs", "1", "--batch-size", "8", "--no-progress"]
        if "--out" not in argv:
            argv += ["--out", str(ws / "new-run")]
    (tmp_path / "cache").mkdir(exist_ok=True)
    before, cached = tree(ws), tree(tmp_path / "cache")
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as exit:
        code = exit.code
    out, err = capsys.readouterr()
    assert code == status, (code, out, err)
    assert fragment in err, f"{fragment!r} not in {err!r}"
    if status == 1:
        assert len(err.strip().splitlines()) == 1, err  # one line
    assert "Traceback" not in out + err and "bug in striate" not in err
    assert tree(ws) == before
    assert tree(tmp_path / "cache") == cached  # nothing decoded into the cache either
