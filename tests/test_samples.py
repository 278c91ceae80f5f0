"""``striate samples``: the pictures the README's commands are tried on."""
import numpy as np
import pytest

from cli_runner import run

PIL = pytest.importorskip("PIL")
from PIL import Image  # noqa: E402


def test_samples_are_written_once_and_replaced_only_when_asked(capsys, tmp_path):
    code, out, err = run(capsys, "samples", tmp_path)
    assert code == 0, err
    with Image.open(tmp_path / "my_digit.png") as digit:
        ink = np.asarray(digit)
        assert digit.size == (112, 112) and digit.mode == "L"
    assert ink.mean() > 128 and ink.min() < 64  # dark strokes on a white page
    with Image.open(tmp_path / "scene.png") as scene:
        assert scene.size == (48, 48)
    with Image.open(tmp_path / "photo.jpg") as photo:
        assert photo.format == "JPEG" and photo.size == (256, 256)
    classes = sorted(p.name for p in (tmp_path / "my-pictures").iterdir())
    assert len(classes) == 10 and "seven" in classes
    assert len(list((tmp_path / "my-pictures" / "seven").glob("*.png"))) == 100
    before = (tmp_path / "scene.png").read_bytes()
    code, _, err = run(capsys, "samples", tmp_path)
    assert code == 1 and "exists" in err and "--overwrite" in err
    assert run(capsys, "samples", tmp_path, "--overwrite")[0] == 0
    assert (tmp_path / "scene.png").read_bytes() == before  # the same picture every time
