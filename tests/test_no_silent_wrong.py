"""Nothing wrong in silence: an option that cannot apply is an error, and a
result that is likely worse than it looks says so."""
import pytest

from cli_runner import run

TINY = ["--limit", "64", "--epochs", "1", "--batch-size", "32", "--no-progress"]
TINY_UNET = ["--model", "unet", "--dataset", "digit-scenes", "--width", "0.0625",
             "--model-arg", "depth=2", "--limit", "32", "--batch-size", "16", "--epochs", "1",
             "--no-progress"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from striate.cli import main
    root = tmp_path_factory.mktemp("silent")
    assert main(["train", "--out", str(root / "run"), *TINY]) == 0
    assert main(["train", "--out", str(root / "seg"), *TINY_UNET]) == 0
    return root


def test_tta_flip_on_digits_warns_and_keeps_the_plain_matrix(capsys, runs):
    code, plain, err = run(capsys, "evaluate", runs / "run", "--limit", "100")
    assert code == 0 and "warning" not in err
    code, flipped, err = run(capsys, "evaluate", runs / "run", "--limit", "100", "--tta", "flip")
    assert code == 0, err
    assert "warning: --tta flip" in err and "digits" in err
    plain_file = runs / "run" / "confusion_matrix-digits-test.png"
    flip_file = runs / "run" / "confusion_matrix-digits-test-tta-flip.png"
    assert str(plain_file) in plain and str(flip_file) in flipped
    assert plain_file.exists() and flip_file.exists()


def test_tta_on_a_segmentation_run_is_refused(capsys, runs):
    code, _, err = run(capsys, "evaluate", runs / "seg", "--tta", "flip", "--limit", "8")
    assert code == 1 and "--tta flip" in err and "segmentation" in err
