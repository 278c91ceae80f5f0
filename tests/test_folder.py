"""Folders of images: training, evaluating and predicting on a practitioner's
own pictures, and the decode-once cache behind them."""
import builtins
import json
import os
import time

import numpy as np
import pytest

from cli_runner import run as cli
from folder_data import FASHION, class_folder_name, fashion_available, write_fashion_folder

PIL = pytest.importorskip("PIL")
from PIL import Image  # noqa: E402


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("STRIATE_CACHE", str(tmp_path / "cache"))


def write_shapes(root, classes=("circle", "square", "triangle"), per_class=12, size=24,
                 mode="L", seed=0):
    """Small synthetic class folders: bright shapes on noise."""
    rng = np.random.default_rng(seed)
    for c, name in enumerate(classes):
        os.makedirs(os.path.join(root, name), exist_ok=True)
        for i in range(per_class):
            yy, xx = np.mgrid[:size, :size + i % 3]
            if c == 0:
                mask = (yy - size / 2) ** 2 + (xx - size / 2) ** 2 < (size / 4) ** 2
            elif c == 1:
                mask = (abs(yy - size / 2) < size / 4) & (abs(xx - size / 2) < size / 4)
            else:
                mask = (yy > size / 4) & (abs(xx - size / 2) < (yy - size / 4) / 2)
            pixels = np.clip(mask * 200 + rng.integers(0, 50, mask.shape), 0, 255)
            image = Image.fromarray(pixels.astype(np.uint8))
            image.convert(mode).save(os.path.join(root, name, f"{i:03d}.png"))
    return root


# --------------------------------------------------------------------------- must show 1

@pytest.fixture(scope="module")
def fashion_run(tmp_path_factory):
    """Fashion-MNIST as 7,000 PNG files in 10 named class folders, trained with
    ``striate train --data`` and nothing else (default model and epochs)."""
    if not fashion_available():
        if os.environ.get("CI"):
            pytest.fail(f"Fashion-MNIST is not in {FASHION}, which CI installs")
        pytest.skip(f"Fashion-MNIST is not in {FASHION}")
    root = tmp_path_factory.mktemp("fashion")
    cache = root / "cache"
    start = time.perf_counter()
    classes, files = write_fashion_folder(str(root / "fashion"))
    written = time.perf_counter() - start
    old = os.environ.get("STRIATE_CACHE")
    os.environ["STRIATE_CACHE"] = str(cache)
    try:
        from striate.cli import main
        code = main(["train", "--data", str(root / "fashion"), "--out", str(root / "run"),
                     "--no-progress"])
    finally:
        if old is None:
            os.environ.pop("STRIATE_CACHE")
        else:
            os.environ["STRIATE_CACHE"] = old
    assert code == 0
    print(f"\nwrote {len(files)} PNG files in {written:.1f} s; "
          f"train --data took {time.perf_counter() - start - written:.1f} s")
    return root, classes, files


def test_train_on_a_folder_of_fashion_pictures_reaches_85_percent(fashion_run):
    root, classes, files = fashion_run
    lines = [json.loads(line) for line in open(root / "run" / "metrics.jsonl")]
    assert len(lines) == 10  # the default number of epochs
    assert lines[-1]["test_acc"] >= 0.85, lines[-1]["test_acc"]
    from striate.train import load_checkpoint
    meta = load_checkpoint(str(root / "run")).meta
    assert meta["classes"] == classes
    assert meta["model"]["name"] == "lenet5" and meta["input_shape"] == [1, 28, 28]
    assert meta["folder"]["held_out"] == "test" and meta["folder"]["images"] == 7000


def test_predict_prints_the_class_name(capsys, fashion_run, monkeypatch):
    root, classes, files = fashion_run
    monkeypatch.setenv("STRIATE_CACHE", str(root / "cache"))
    # the first test image of each class the model gets right: its name is printed
    hits = 0
    for name in classes:
        path = sorted(p for p, c in files.items() if c == name and "/test/" in p)[0]
        code, out, err = cli(capsys, "predict", root / "run", path, "--top", "1")
        assert code == 0, err
        predicted = out.split(": ", 1)[1].rsplit(" ", 1)[0]
        assert predicted in classes
        hits += predicted == name
    assert hits >= 7  # of 10 first test images, at 85% or more accuracy


def test_evaluate_labels_the_confusion_matrix_with_class_names(capsys, fashion_run,
                                                               monkeypatch):
    root, classes, files = fashion_run
    monkeypatch.setenv("STRIATE_CACHE", str(root / "cache"))
    drawn = {}
    import striate.train.plots as plots
    monkeypatch.setattr(plots, "plot_confusion_matrix",
                        lambda matrix, names, path, title: drawn.update(names=names,
                                                                        matrix=matrix))
    code, out, err = cli(capsys, "evaluate", root / "run", "--plot", root / "cm.png")
    assert code == 0, err
    assert drawn["names"] == classes and np.asarray(drawn["matrix"]).sum() == 1000
    table = out.split("per-class accuracy:\n")[1].splitlines()
    assert [line.split()[0] for line in table[:10]] == [c.split()[0] for c in classes]
    final = json.loads(open(root / "run" / "metrics.jsonl").read().splitlines()[-1])
    assert f"accuracy {100 * final['test_acc']:.2f}%" in out  # the same split as training


# --------------------------------------------------------------------------- must show 2

class OpenCounter:
    """Counts the files under ``root`` opened by Python or by Pillow."""

    def __init__(self, root, monkeypatch):
        self.root, self.paths = os.path.realpath(root), []
        real_open, real_image_open = builtins.open, Image.open

        def counted_open(file, *args, **kwargs):
            self._note(file)
            return real_open(file, *args, **kwargs)

        def counted_image_open(file, *args, **kwargs):
            self._note(file)
            return real_image_open(file, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", counted_open)
        monkeypatch.setattr(Image, "open", counted_image_open)

    def _note(self, file):
        if isinstance(file, (str, bytes, os.PathLike)):
            if os.path.realpath(os.fsdecode(file)).startswith(self.root + os.sep):
                self.paths.append(os.fsdecode(file))

    def take(self):
        paths, self.paths = self.paths, []
        return paths


def _memory_mapped(array):
    import mmap
    while array is not None and not isinstance(array, (np.memmap, mmap.mmap)):
        array = getattr(array, "base", None)
    return array is not None


def _config(data, **more):
    import striate.runs
    return striate.runs.resolve_config(data=str(data), epochs=2, batch_size=8, **more)


def test_epochs_open_no_image_file_and_a_changed_folder_is_read_again(tmp_path, monkeypatch):
    from striate.runs import prepare_run

    data = write_shapes(str(tmp_path / "shapes"))
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(data) for f in fs)
    opens = OpenCounter(data, monkeypatch)
    run = prepare_run(_config(data))
    first = opens.take()
    assert sorted(set(first)) == files  # the counter sees every file the first pass reads
    assert _memory_mapped(run.train_set.dataset.images)

    seen = []
    trainer = run.make_trainer(str(tmp_path / "run"), plot=False,
                               log=lambda line: seen.append(opens.take()))
    trainer.fit(2)
    assert seen == [[], []]  # neither epoch 1 nor epoch 2 opened an image file

    again = prepare_run(_config(data))  # unchanged folder: from the cache
    assert opens.take() == []
    assert np.array_equal(np.asarray(again.train_set.dataset.images),
                          np.asarray(run.train_set.dataset.images))

    changed = os.path.join(data, "square", "005.png")
    Image.new("L", (24, 24), 255).save(changed)  # a white square replaces it
    os.utime(changed, ns=(time.time_ns(), time.time_ns() + 10**9))
    third = prepare_run(_config(data))
    assert changed in opens.take()
    # the new picture is what the run trains on now (no image was skipped: row = file index)
    row = _row_of(third, changed)
    assert (np.asarray(third.train_set.dataset.images[row]) == 255).all()
    assert not (np.asarray(run.train_set.dataset.images[row]) == 255).all()


def _row_of(run, path):
    from striate.data.folder import index_folder
    index = index_folder(run.folder["root"])
    return index.files.index(os.path.relpath(path, run.folder["root"]))


# --------------------------------------------------------------------------- the policies

def test_colour_is_decided_per_dataset(tmp_path):
    from striate.data.folder import decode_folder, index_folder

    grey_rgb = write_shapes(str(tmp_path / "a"), mode="RGB")  # RGB files, grey pixels
    images, _, _ = decode_folder(index_folder(grey_rgb), 16)
    assert images.shape[1] == 1

    mixed = write_shapes(str(tmp_path / "b"))
    tinted = np.zeros((24, 24, 3), np.uint8)
    tinted[..., 0] = 200  # one red picture makes the whole dataset RGB
    Image.fromarray(tinted).save(os.path.join(mixed, "circle", "red.png"))
    index = index_folder(mixed)
    images, kept, _ = decode_folder(index, 16)
    assert images.shape[1] == 3
    red = index.files.index(os.path.join("circle", "red.png"))
    assert (images[list(kept).index(red)][0] == 200).all()
    assert (images[list(kept).index(red)][1:] == 0).all()

    transparent = write_shapes(str(tmp_path / "c"))
    Image.new("LA", (24, 24), (0, 0)).save(os.path.join(transparent, "square", "clear.png"))
    index = index_folder(transparent)
    images, kept, _ = decode_folder(index, 16)
    clear = index.files.index(os.path.join("square", "clear.png"))
    assert (images[list(kept).index(clear)] == 255).all()  # transparency laid on white


def test_short_side_is_resized_then_the_centre_cut_out(tmp_path):
    from striate.data.images import crop_frame

    wide = np.zeros((20, 60), np.uint8)
    wide[:, 14:46] = 255  # a white band a little wider than the middle third
    frame = crop_frame(Image.fromarray(wide), 10, 10, 1)
    # 20x60 -> 10x30; the centre 10x10 is columns 10..20 of it, 20..40 of the original
    assert frame.shape == (1, 10, 10) and (frame == 255).all()  # stretched, the sides are dark
    tall = np.zeros((60, 20), np.uint8)
    tall[:10] = 255  # the top sixth is white: cut away
    assert (crop_frame(Image.fromarray(tall), 10, 10, 1) == 0).all()


def test_predict_frames_a_training_file_as_the_cache_did(tmp_path):
    from striate.data.folder import decode_folder, index_folder
    from striate.data.images import load_image, prepare_image

    data = write_shapes(str(tmp_path / "shapes"), size=37)
    index = index_folder(data)
    images, kept, _ = decode_folder(index, 20)
    for row, i in enumerate(kept[:5]):
        framed = prepare_image(load_image(os.path.join(data, index.files[i])), (1, 20, 20),
                               framing="crop", invert=False)
        assert np.array_equal(np.round(framed * 255).astype(np.uint8), images[row])


def test_stratified_split_is_seeded_and_per_class():
    from striate.data.folder import stratified_split

    labels = np.repeat([0, 1, 2], [50, 20, 3])
    train, held = stratified_split(labels, 0.1, seed=7)
    assert sorted(np.concatenate([train, held]).tolist()) == list(range(73))
    assert np.bincount(labels[held]).tolist() == [5, 2, 1]  # round(0.1 n), at least one
    again, held_again = stratified_split(labels, 0.1, seed=7)
    assert np.array_equal(held, held_again)
    assert not np.array_equal(held, stratified_split(labels, 0.1, seed=8)[1])


def test_val_split_is_recorded_and_reused_by_evaluate(capsys, tmp_path):
    data = write_shapes(str(tmp_path / "shapes"), per_class=20)
    code, out, err = cli(capsys, "train", "--data", data, "--out", tmp_path / "run",
                         "--epochs", "1", "--val-split", "0.25", "--seed", "3",
                         "--no-progress")
    assert code == 0, err
    assert "45 train / 15 test images" in out  # 5 of each class's 20 held out
    from striate.train import load_checkpoint
    meta = load_checkpoint(str(tmp_path / "run")).meta
    assert meta["config"]["val_split"] == 0.25 and meta["folder"]["val_split"] == 0.25
    final = json.loads(open(tmp_path / "run" / "metrics.jsonl").read().splitlines()[-1])
    code, out, err = cli(capsys, "evaluate", tmp_path / "run", "--plot", tmp_path / "cm.png")
    assert code == 0, err
    assert "on shapes: the 15 test images" in out
    assert f"loss {final['test_loss']:.4f}" in out


def test_the_python_door_trains_on_a_folder(tmp_path):
    import striate.runs

    data = write_shapes(str(tmp_path / "shapes"))
    run = striate.runs.train(data=data, epochs=1, out=tmp_path / "run", plot=False)
    assert run.classes == ["circle", "square", "triangle"]
    assert run.config["model"] == "lenet5" and run.config["image_size"] == 28
    assert len(run.history) == 1


def test_a_few_unreadable_files_are_skipped_and_named(capsys, tmp_path):
    data = write_shapes(str(tmp_path / "shapes"), per_class=40)
    cut = os.path.join(data, "square", "007.png")
    with open(cut, "rb") as f:
        head = f.read(60)
    with open(cut, "wb") as f:
        f.write(head)  # 1 of 120 files (under 1%): skipped, counted, named
    code, out, err = cli(capsys, "train", "--data", data, "--out", tmp_path / "run",
                         "--epochs", "1", "--no-progress")
    assert code == 0, err
    assert "skipped 1 unreadable file(s)" in out and "square/007.png" in out
    assert "decoded 119 images" in out


def test_the_readme_notebook_snippet_runs(tmp_path, monkeypatch, capsys):
    import re
    readme = open(os.path.join(os.path.dirname(__file__), "..", "README.md")).read()
    blocks = [b for b in re.findall(r"```python\n(.*?)```", readme, re.S)
              if "striate.runs.train(" in b]
    assert len(blocks) == 1
    monkeypatch.chdir(tmp_path)
    write_shapes("photos")
    exec(compile(blocks[0], "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "['circle', 'square', 'triangle']" in out
    assert (tmp_path / "runs" / "photos-notebook" / "checkpoint").is_dir()


def test_inspect_reads_the_runs_folder_or_another(capsys, tmp_path):
    data = write_shapes(str(tmp_path / "shapes"))
    code, out, err = cli(capsys, "train", "--data", data, "--out", tmp_path / "run",
                         "--epochs", "1", "--no-progress")
    assert code == 0, err
    code, out, err = cli(capsys, "inspect", tmp_path / "run", "--what", "saliency",
                         "--out", tmp_path / "own")
    assert code == 0, err
    assert (tmp_path / "own" / "saliency.png").exists()
    other = write_shapes(str(tmp_path / "more"), classes=("square",), per_class=3, seed=1)
    code, out, err = cli(capsys, "inspect", tmp_path / "run", "--data", other, "--what",
                         "saliency", "--out", tmp_path / "other")
    assert code == 1 and "only one class" in err  # a folder is a dataset: two classes at least


def test_resume_on_a_folder_continues_exactly(capsys, tmp_path):
    from striate.train import load_checkpoint

    data = write_shapes(str(tmp_path / "shapes"))
    common = ["--data", data, "--epochs", "2", "--batch-size", "8", "--no-progress"]
    assert cli(capsys, "train", *common, "--out", tmp_path / "straight")[0] == 0
    assert cli(capsys, "train", *common, "--out", tmp_path / "halves", "--stop-after", "1")[0] == 0
    code, out, err = cli(capsys, "train", "--resume", tmp_path / "halves", "--no-progress")
    assert code == 0, err
    straight = load_checkpoint(str(tmp_path / "straight")).model_state
    halves = load_checkpoint(str(tmp_path / "halves")).model_state
    for name in straight:
        assert np.array_equal(np.asarray(straight[name]), np.asarray(halves[name])), name


def test_the_playground_serves_a_folder_run_with_its_class_names(capsys, tmp_path):
    from striate.playground.served import ServedModel

    data = write_shapes(str(tmp_path / "shapes"), per_class=20)
    code, out, err = cli(capsys, "train", "--data", data, "--out", tmp_path / "run",
                         "--epochs", "1", "--no-progress")
    assert code == 0, err
    served = ServedModel(str(tmp_path / "run"))
    confusion = served.confusion()
    assert confusion["classes"] == ["circle", "square", "triangle"]
    assert confusion["images"] == 6  # the run's own held-out split: 2 of 20 per class
    final = json.loads(open(tmp_path / "run" / "metrics.jsonl").read().splitlines()[-1])
    assert confusion["accuracy"] == pytest.approx(final["test_acc"])
