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


def _assert_refused_before_training(capsys, tmp_path, argv, *fragments):
    out = tmp_path / "new-run"
    code, text, err = run(capsys, "train", "--out", out, *argv)
    assert code == 1, err
    assert "Traceback" not in err and "bug in striate" not in err
    for fragment in fragments:
        assert fragment in err, err
    assert "epoch 1" not in text and not out.exists()


def test_a_model_arg_the_data_decides_is_an_error(capsys, tmp_path):
    _assert_refused_before_training(capsys, tmp_path, ["--model", "28x28-6C5-MP2-10",
                                                       "--model-arg", "num_classes=3", *TINY],
                                    "--model-arg num_classes=3", "leave it out")


def test_init_key_with_a_run_directory_is_an_error(capsys, tmp_path, runs):
    _assert_refused_before_training(capsys, tmp_path, ["--init-from", runs / "run", "--init-key",
                                                       "model", *TINY], "--init-key model",
                                    "run directory")


def test_mixup_on_a_segmentation_set_is_refused_before_training(capsys, tmp_path):
    _assert_refused_before_training(capsys, tmp_path, [*TINY_UNET, "--augment", "mixup"],
                                    "--augment", "mixup", "label maps")


def test_a_1d_model_built_for_another_length_fails_before_training(capsys, tmp_path):
    pytest.importorskip("mnist1d")
    _assert_refused_before_training(capsys, tmp_path, ["--model", "cnn1d", "--dataset", "mnist1d",
                                                       "--model-arg", "length=28", *TINY],
                                    "cnn1d", "--model-arg length=40")


def test_a_nan_dice_weight_is_refused_by_the_command(capsys, tmp_path):
    code, _, err = run(capsys, "train", *TINY_UNET, "--dice-weight", "nan",
                       "--out", tmp_path / "x")
    assert code == 2 and "--dice-weight" in err and "nan" in err
    assert not (tmp_path / "x").exists()


def test_every_report_says_which_images_it_was_measured_on(capsys, tmp_path):
    out = tmp_path / "run"
    code, text, err = run(capsys, "train", "--out", out, "--limit", "400", "--epochs", "1",
                          "--no-progress")
    assert code == 0, err
    assert "on 100 of the 1,000 test images" in text and "after 1 epoch " in text
    assert "1 epochs" not in text
    code, text, err = run(capsys, "evaluate", out)
    assert code == 0 and "the 1,000 test images" in text
    code, text, err = run(capsys, "evaluate", out, "--limit", "250")
    assert code == 0 and "250 of the 1,000 test images" in text


@pytest.mark.parametrize("schedule", ["none", "step", "cosine", "onecycle"])
def test_a_finished_run_can_be_extended_under_every_schedule(capsys, tmp_path, schedule):
    out = tmp_path / "run"
    base = ["--limit", "128", "--batch-size", "64", "--no-progress", "--schedule", schedule]
    assert run(capsys, "train", "--out", out, "--epochs", "2", *base)[0] == 0
    code, text, err = run(capsys, "train", "--resume", out, "--epochs", "4", "--no-progress")
    assert code == 0, err
    assert "epoch 3/4" in text and "epoch 4/4" in text
    if schedule in ("onecycle", "cosine"):
        assert "new cycle" in err
    from striate.train import read_metrics
    records = read_metrics(out / "metrics.jsonl")
    assert [r["epoch"] for r in records] == [1, 2, 3, 4]
    assert all(r["lr"] > 0 for r in records)


def test_a_stopped_run_resumed_with_more_epochs_replans_its_schedule(capsys, tmp_path):
    out = tmp_path / "run"
    base = ["--limit", "128", "--batch-size", "64", "--no-progress"]
    assert run(capsys, "train", "--out", out, "--epochs", "4", "--stop-after", "2", *base)[0] == 0
    code, text, err = run(capsys, "train", "--resume", out, "--epochs", "6", "--no-progress")
    assert code == 0, err
    assert "now spans 1-6" in err and "epoch 6/6" in text
    from striate.train import read_metrics
    rates = [r["lr"] for r in read_metrics(out / "metrics.jsonl")]
    assert rates[2] > rates[-1] and rates[2] > 1e-3  # epoch 3 is not trained at the end rate


def _edit_state(run_dir, edit):
    import json
    path = run_dir / "checkpoint" / "training_state.json"
    state = json.loads(path.read_text())
    edit(state)
    path.write_text(json.dumps(state))


@pytest.mark.parametrize("edit, fragment", [
    (lambda s: s.update(epoch=7), "epoch 7 is past the 3 epochs"),
    (lambda s: s["meta"]["config"].update(model="vgg11"), "names model 'vgg11'"),
    (lambda s: s["meta"]["config"].update(limit=-5), "limit = -5"),
    (lambda s: s["meta"]["config"].update(optimizer="sgdx"), "optimizer = 'sgdx'"),
], ids=["epoch-past-plan", "model-changed", "limit-negative", "optimizer-unknown"])
def test_resume_refuses_a_tampered_run_naming_the_file(capsys, tmp_path, edit, fragment):
    from snapshot import tree
    out = tmp_path / "run"
    assert run(capsys, "train", "--out", out, "--limit", "128", "--epochs", "3", "--stop-after",
               "2", "--no-progress")[0] == 0
    _edit_state(out, edit)
    before = tree(tmp_path)
    code, text, err = run(capsys, "train", "--resume", out, "--no-progress")
    assert code == 1, text + err
    assert fragment in err and "training_state.json" in err and "Traceback" not in err
    assert "nothing to do" not in text and tree(tmp_path) == before


@pytest.mark.parametrize("spec", ["flip=1", "rotate=30,translate=0.2", "elastic"])
def test_a_segmentation_run_moves_the_label_maps_with_the_images(spec):
    """The training loader of a U-Net run with spatial augmentation: the ink of
    each augmented scene still lies on its own label map."""
    import numpy as np
    from striate.runs.api import resolve_config
    from striate.runs.config import prepare_run

    config = resolve_config(model="unet", dataset="digit-scenes", limit=32, batch_size=32,
                            augment=spec, model_args={"width": 0.0625, "depth": 2})
    run_ = prepare_run(config)
    images, masks = next(iter(run_.train_loader))
    mean, std = run_.normalization["mean"][0], run_.normalization["std"][0]
    ink = images.data[:, 0] * std + mean > 0.5          # back in [0, 1]
    labelled = masks.data > 0
    iou = (ink & labelled).sum() / (ink | labelled).sum()
    assert iou > 0.8, f"{spec}: ink and label maps overlap at IoU {iou:.2f}"
