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
    code, text, err = run(capsys, "inspect", out)
    assert code == 0, err
    assert (out / "inspect" / "filters.png").exists() and "maps-" in text
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
