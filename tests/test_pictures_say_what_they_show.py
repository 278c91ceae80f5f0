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


def _lab(rgb):
    """sRGB (..., 3) in 0..255 -> CIELAB (D65), the space where a distance of
    about 2 is just noticeable."""
    import numpy as np

    c = np.asarray(rgb, float) / 255
    c = np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
    xyz = c @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                        [0.0193, 0.1192, 0.9505]]).T / np.array([0.95047, 1, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]),
                     200 * (f[..., 1] - f[..., 2])], -1)


@pytest.mark.parametrize("ink", [255, 128])
def test_scene_overlay_colours_can_be_told_apart(ink):
    """The ten digit classes, tinted over white ink (and grey), differ from each
    other and from the untinted ink by a CIELAB distance of at least 30."""
    import itertools

    import numpy as np
    from striate.cli.segmentation import OVERLAY_ALPHA, PALETTE

    colours = np.array(PALETTE[1:11], float)
    tinted = _lab((1 - OVERLAY_ALPHA) * ink + OVERLAY_ALPHA * colours)
    pairs = {(i, j): np.linalg.norm(tinted[i] - tinted[j])
             for i, j in itertools.combinations(range(10), 2)}
    worst = min(pairs, key=pairs.get)
    assert pairs[worst] >= 30, f"digits {worst} look alike: distance {pairs[worst]:.1f}"
    plain = _lab(np.array([ink, ink, ink], float))
    assert min(np.linalg.norm(tinted - plain, axis=1)) >= 30


def test_feature_maps_say_how_many_channels_they_show_and_keep_the_title_whole():
    import numpy as np
    from striate.explain.plots import feature_map_grid

    maps = {"features.0": np.random.rand(6, 28, 28), "features.3": np.random.rand(16, 10, 10)}
    title = "lenet5 feature maps of fashion-mnist test #0: T-shirt/top 98.7%"
    figure = feature_map_grid(np.random.rand(28, 28), maps, title)
    labels = [a.get_ylabel() for a in figure.get_axes() if a.get_visible() and a.get_ylabel()]
    assert any("first 8 of 16" in label for label in labels)
    assert not any("of 6" in label for label in labels)  # all 6 shown: nothing to say
    figure.canvas.draw()
    text = figure._suptitle
    assert "fashion-mnist" in text.get_text() and "more than 8 channels: the first 8" in text.get_text()
    box = text.get_window_extent(figure.canvas.get_renderer())
    assert box.x0 >= 0 and box.x1 <= figure.bbox.width
