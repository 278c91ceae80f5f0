"""What the commands say: messages that name what the user gave, and text
without markup or arithmetic that does not hold."""
import pytest

from cli_runner import run


def test_models_prints_plain_text_not_markup(capsys):
    code, out, err = run(capsys, "models")
    assert code == 0, err
    assert "``" not in out and ":class:" not in out and ":func:" not in out
    assert "groups=2" in out  # the literal's text stays, without its quotes


def test_a_negative_augment_seed_names_the_option(capsys):
    code, _, err = run(capsys, "augment", "--seed", "-1")
    assert code == 2 and "--seed" in err and "-1" in err


@pytest.mark.parametrize("size, stride, expected", [(256, 2, "floor((256 - 3 + 2*1)/2) + 1 = 128"),
                                                    (28, 1, "(28 - 3 + 2*1)/1 + 1 = 28"),
                                                    (7, 3, "floor((7 - 3 + 2*1)/3) + 1 = 3")])
def test_kernel_captions_write_the_floor_of_a_strided_size(size, stride, expected):
    from striate.cli.kernels import _caption

    caption = _caption((size, size), (3, 3), 1, stride)
    assert caption == expected
    # the caption's arithmetic holds: evaluate it as written
    left, right = caption.split(" = ")
    assert eval(left, {"floor": lambda v: int(v // 1)}) == int(right)


def test_inspect_on_a_segmentation_run_shows_filters_and_maps(capsys, tmp_path):
    out = tmp_path / "seg"
    code, _, err = run(capsys, "train", "--model", "unet", "--dataset", "digit-scenes", "--width",
                       "0.0625", "--model-arg", "depth=2", "--limit", "32", "--batch-size", "16",
                       "--epochs", "1", "--no-progress", "--out", out)
    assert code == 0, err
    from striate.data.samples import write_samples

    scene, = write_samples(tmp_path, ["scene.png"])
    code, text, err = run(capsys, "inspect", out, scene)  # one picture: its maps, and the filters
    assert code == 0, err
    assert (out / "inspect" / "filters.png").exists() and "maps-scene.png" in text
    code, _, err = run(capsys, "inspect", out, "--what", "filters,saliency")
    assert code == 1 and "--what saliency" in err and "segmentation" in err
    assert "Traceback" not in err and "0-dimensional" not in err


def test_evaluating_on_data_of_another_kind_names_the_dataset(capsys, tmp_path):
    pytest.importorskip("mnist1d")
    out = tmp_path / "run"
    assert run(capsys, "train", "--out", out, "--limit", "64", "--epochs", "1",
               "--no-progress")[0] == 0
    code, _, err = run(capsys, "evaluate", out, "--dataset", "mnist1d")
    assert code == 1 and "--dataset mnist1d" in err and "1-D" in err
    assert "--image-size" not in err


# --------------------------------------------------------------------------- sizes before allocation

BIG_MATRIX = ";".join([",".join(["1"] * 251)] * 251)


@pytest.mark.parametrize("argv, fragments", [
    (["kernels", "--padding", "100000"], ["would need", "TiB", "STRIATE_MAX_BYTES"]),
    (["kernels", "--matrix", BIG_MATRIX], ["251x251", "would need", "STRIATE_MAX_BYTES"]),
    (["augment", "--n", "100000"], ["--n 100000", "at most 256"]),
    (["summary", "28x28-99999999999C3-10"], ["99999999999C3", "STRIATE_MAX_BYTES"]),
    (["train", "--model", "28x28-10000000000N-10", "--limit", "16"], ["10000000000N", "would need"]),
], ids=["kernel-padding", "kernel-matrix", "augment-n", "notation-conv", "notation-dense"])
def test_sizes_are_estimated_before_they_are_allocated(capsys, tmp_path, monkeypatch, argv, fragments):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *argv)
    assert code == 1, out + err
    assert "bug in striate" not in err and "MemoryError" not in err and "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err
    assert list(tmp_path.iterdir()) == []


def test_a_huge_stride_works_and_a_picture_over_the_pixel_limit_is_refused(capsys, tmp_path,
                                                                               monkeypatch):
    from PIL import Image

    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "kernels", "--stride", "100000", "--kernel", "box_blur",
                       "--out", "k.png")
    assert code == 0 and "k.png" in out
    Image.new("L", (300, 200), 128).save(tmp_path / "wide.png")
    monkeypatch.setenv("STRIATE_MAX_PIXELS", "50000")
    code, _, err = run(capsys, "kernels", "wide.png", "--out", "k2.png")
    assert code == 1 and "300x200 = 60,000 pixels" in err and "STRIATE_MAX_PIXELS" in err
    assert not (tmp_path / "k2.png").exists()


def test_the_bug_label_lives_only_in_the_top_level_handler():
    import pathlib

    import striate

    root = pathlib.Path(striate.__file__).parent
    places = [str(path.relative_to(root)) for path in root.rglob("*.py")
              if "looks like a bug" in path.read_text(encoding="utf-8")]
    assert places == ["cli/main.py"]
    import importlib

    handler = importlib.import_module("striate.cli.main")
    error_message = getattr(handler.error_message, "__wrapped__", handler.error_message)  # not noted
    assert "looks like a bug" in error_message(ZeroDivisionError("x"))  # a real bug keeps it
    assert "looks like a bug" not in error_message(ValueError("a user's mistake"))
