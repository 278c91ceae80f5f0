"""Pictures that say what they show: a segmentation run's curve names its loss,
its pixel accuracy and its mean IoU; a one-epoch run gets a readable axis."""
import pytest

pytest.importorskip("matplotlib")

from striate.train.plots import plot_learning_curve  # noqa: E402


def _segmentation_records(epochs):
    return [{"epoch": e, "train_loss": 1.0 / e, "test_loss": 1.1 / e, "train_acc": 0.93,
             "test_acc": 0.94, "train_miou": 0.1 * e, "test_miou": 0.12 * e} for e in epochs]


def test_a_segmentation_curve_names_its_loss_and_plots_mean_iou(tmp_path):
    figure = plot_learning_curve(_segmentation_records([1, 2, 3]), tmp_path / "c.png",
                                 loss_name="cross-entropy + 0.5 x Dice")
    axes = figure.get_axes()
    assert [a.get_ylabel() for a in axes] == ["cross-entropy + 0.5 x Dice", "pixel accuracy (%)",
                                              "mean IoU"]
    assert axes[0].get_title() == "cross-entropy + 0.5 x Dice"
    assert "0.360" in axes[2].get_title()  # the final test mean IoU, not an accuracy
    assert (tmp_path / "c.png").stat().st_size > 0


def test_a_one_epoch_curve_has_whole_epochs_and_room_around_them(tmp_path):
    records = [{"epoch": 1, "train_loss": 2.3, "test_loss": 2.2, "train_acc": 0.1,
                "test_acc": 0.2}]
    figure = plot_learning_curve(records, tmp_path / "c.png")
    for axes in figure.get_axes():
        assert list(axes.get_xticks()) == [1]
        low, high = axes.get_xlim()
        assert low <= 0.5 and high >= 1.5
    low, high = figure.get_axes()[1].get_ylim()
    assert high == 100.0 and high - low > 50  # a share on a share's axis, not 19.2 +- 0.8


def test_a_nan_dice_weight_is_refused():
    from striate.train.segmentation import segmentation_loss

    for bad in (float("nan"), float("inf"), -1.0):
        with pytest.raises(ValueError, match="dice_weight"):
            segmentation_loss(bad)
