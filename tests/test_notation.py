"""The lectures' architecture notation: the Chinese-OCR net of the notes
(shapes down to 2x2x400, the 3755-way classification layer of 1,881,255
weights and biases), the grammar's tokens, errors that point at the bad
token, and notation strings wherever the command line takes a model."""
import numpy as np
import pytest

from striate import models, nn
from striate.autograd import Tensor
from striate.cli import main
from striate.models.notation import NotationError, from_notation, is_notation, parse_notation

OCR = "9HL-48x48-100C3-MP2-200C2-MP2-300C2-MP2-400C2-MP2-500N-3755"


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_notes_ocr_net_has_the_notes_shapes_and_classification_layer():
    net = from_notation(OCR)
    # Each map by hand: valid convolutions shrink by f - 1, pools halve (floored).
    expected = [(100, 46, 46), (100, 23, 23), (200, 22, 22), (200, 11, 11), (300, 10, 10),
                (300, 5, 5), (400, 4, 4), (400, 2, 2), (500,), (3755,)]
    assert [shape for _, shape, _ in net.shapes] == expected
    assert net.input_shape == (1, 48, 48)
    # The notes' "Classification layer: 1'881'255 weights" is the 500 -> 3755 layer.
    assert net.output.weight.shape == (3755, 500)
    assert net.output.weight.data.size + net.output.bias.data.size == 1_881_255
    assert net.fc1.weight.data.size + net.fc1.bias.data.size == 1600 * 500 + 500
    assert net.shapes[-1][2] == 1_881_255
    out = net(Tensor(np.zeros((2, 1, 48, 48), dtype=np.float32)))
    assert out.shape == (2, 3755)


def test_summary_command_prints_the_ocr_net(capsys):
    code, out, err = run(capsys, "summary", OCR)
    assert code == 0, err
    assert "2x2x400" in out and "[1, 400, 2, 2]" in out
    assert "1,881,255" in out and "800,500" in out and "[1, 3755]" in out


def test_tokens_build_the_layers_they_name():
    net = from_notation("3x32x32-16C5-BN-AP2-D0.25-32N-BN-D0.5-10", activation="tanh")
    kinds = [type(m).__name__ for m in net.children()]
    assert kinds == ["Conv2d", "BatchNorm2d", "Tanh", "AvgPool2d", "Dropout", "Flatten",
                     "Linear", "BatchNorm1d", "Tanh", "Dropout", "Linear"]
    assert net.conv1.weight.shape == (16, 3, 5, 5)
    assert net.dropout1.p == 0.25 and net.dropout2.p == 0.5
    assert net.fc1.weight.shape == (32, 16 * 14 * 14)
    assert net(Tensor(np.zeros((2, 3, 32, 32), dtype=np.float32))).shape == (2, 10)


def test_is_notation_tells_specs_from_model_names():
    assert is_notation("28x28-32C3-MP2-10") and is_notation(OCR)
    assert not is_notation("resnet18") and not is_notation("lenet5_classic")


@pytest.mark.parametrize("spec, position, fragment", [
    ("28x28-32C3-XC3-10", 11, "unknown token 'XC3'"),
    ("28x28-32C3-MP2- 64Q3-10", 16, "unknown token '64Q3'"),
    ("28by28-32C3-10", 0, "input size"),
    ("28x28-32C3-10-5", 11, "must be the last token"),
    ("28x28-32C3-MP2", 14, "number of output classes"),
    ("28x28-32C3-D1.5-10", 11, "dropout probability"),
    ("8HL-28x28-32C3-MP2-10", 0, "announces 8 hidden layers but the notation has 2"),
    ("28x28-0C3-10", 6, "must be positive"),
])
def test_errors_point_at_the_bad_token(spec, position, fragment):
    with pytest.raises(NotationError) as error:
        from_notation(spec)
    message = str(error.value)
    assert fragment in message and f"at position {position}" in message
    caret_line = message.splitlines()[-1]
    assert caret_line.index("^") - 2 == position  # the caret sits under the token


def test_a_pooling_that_empties_the_map_names_its_token():
    with pytest.raises(NotationError) as error:
        from_notation("28x28-32C5-MP2-64C5-MP2-MP8-10")
    message = str(error.value)
    # 28 -> 24 -> 12 -> 8 -> 4 -> 4 // 8 = 0 at the sixth token, MP8, position 24.
    assert "'MP8'" in message and "4x4 map to 0x0" in message and "position 24" in message
    with pytest.raises(NotationError, match=r"'64C5' does not fit the 2x2 map"):
        from_notation("8x8-8C3-MP3-64C5-10")


def test_notation_must_agree_with_the_data():
    with pytest.raises(NotationError, match="data has 11"):
        from_notation("28x28-8C3-10", num_classes=11)
    with pytest.raises(NotationError, match="3x28x28"):
        from_notation("28x28-8C3-10", in_channels=3)
    assert isinstance(models.create("28x28-8C3-MP2-10", num_classes=10, in_channels=1),
                      nn.Sequential)
    assert parse_notation("2x5x7-3C2-4")[0] == (2, 5, 7)


def test_a_notation_net_trains_from_the_command_line(tmp_path, capsys):
    spec = "28x28-8C3-MP2-16C3-MP2-32N-10"
    code, out, err = run(capsys, "train", "--model", spec, "--limit", "400", "--epochs", "1",
                         "--out", tmp_path / "run", "--no-progress")
    assert code == 0, err
    assert "test accuracy" in out
    code, out, err = run(capsys, "evaluate", tmp_path / "run", "--limit", "50")
    assert code == 0, err and "accuracy" in out
    code, out, err = run(capsys, "train", "--model", "28x28-8C3-XP2-10", "--out",
                         tmp_path / "bad")
    assert code == 1 and "unknown token 'XP2'" in err and not (tmp_path / "bad").exists()


@pytest.mark.parametrize("spec,token,size", [
    ("28x28-99999999999C3-10", "99999999999C3", "3.6 TiB"),
    ("28x28-10000000000N-10", "10000000000N", "28.6 TiB"),
    ("99999x99999-10", "10", "372.5 GiB"),
])
def test_weights_too_large_are_refused_before_allocating(spec, token, size):
    with pytest.raises(NotationError, match=rf"the weights up to '{token}' \(.* parameters\) "
                                            rf"would need {size}, more than the limit .*"
                                            r"STRIATE_MAX_BYTES"):
        from_notation(spec)


def test_the_weight_limit_can_be_raised_and_lowered(monkeypatch):
    # 28x28-8C3-10: 8*(9+1) + 10*(8*26*26+1) = 54,170 parameters, 216,680 bytes
    monkeypatch.setenv("STRIATE_MAX_BYTES", "200000")
    with pytest.raises(NotationError, match=r"'10' \(54,170 parameters\) would need 211.6 KiB"):
        from_notation("28x28-8C3-10")
    monkeypatch.setenv("STRIATE_MAX_BYTES", "216680")
    assert sum(p.data.size for p in from_notation("28x28-8C3-10").parameters()) == 54170
