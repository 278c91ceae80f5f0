"""``striate.summary``: the lecture's tables, parameter totals, multiply-adds and
receptive fields, checked against hand arithmetic (the notes, the papers, the
receptive-field recurrence), never against our own output."""
import json

import numpy as np
import pytest

import striate
import striate.models as models
from striate import nn
from striate.cli import main as cli_main
from striate.summary import summary


def leaves(result, *types):
    return [layer for layer in result.layers
            if layer.is_leaf and (not types or layer.type in types)]


@pytest.fixture(scope="module")
def alexnet_summary():
    return summary(models.create("alexnet_original"), (3, 227, 227))


def test_alexnet_original_reproduces_the_lecture_table(alexnet_summary):
    """The notes' "AlexNet single GPU equivalent" table."""
    rows = [(layer.type, layer.output_shape[1:], layer.num_params)
            for layer in leaves(alexnet_summary, "Conv2d", "MaxPool2d", "Linear")]
    assert rows == [
        ("Conv2d", (96, 55, 55), (11 * 11 * 3 + 1) * 96),        # 34,944
        ("MaxPool2d", (96, 27, 27), 0),
        ("Conv2d", (256, 27, 27), (5 * 5 * 96 + 1) * 256),       # 614,656
        ("MaxPool2d", (256, 13, 13), 0),
        ("Conv2d", (384, 13, 13), (3 * 3 * 256 + 1) * 384),      # 885,120
        ("Conv2d", (384, 13, 13), (3 * 3 * 384 + 1) * 384),      # 1,327,488
        ("Conv2d", (256, 13, 13), (3 * 3 * 384 + 1) * 256),      # 884,992
        ("MaxPool2d", (256, 6, 6), 0),
        ("Linear", (4096,), 256 * 6 * 6 * 4096 + 4096),           # the notes leave out biases
        ("Linear", (4096,), 4096 * 4096 + 4096),
        ("Linear", (1000,), 4096 * 1000 + 1000),
    ]
    assert [r[2] for r in rows if r[0] == "Conv2d"] == [34_944, 614_656, 885_120, 1_327_488,
                                                        884_992]


def test_alexnet_original_multiply_adds_and_receptive_fields(alexnet_summary):
    convs = leaves(alexnet_summary, "Conv2d")
    assert convs[0].mult_adds == 55 * 55 * 96 * (11 * 11 * 3)
    # RF recurrence: 11; pool +2*4 = 19; conv2 +4*8 = 51; pool +2*8 = 67; three
    # 3x3 convs +2*16 each = 99, 131, 163; pool +2*16 = 195 (AlexNet's well-known 195).
    spatial = leaves(alexnet_summary, "Conv2d", "MaxPool2d")
    assert [layer.receptive_field for layer in spatial] == \
        [(r, r) for r in (11, 19, 51, 67, 99, 131, 163, 195)]
    linears = leaves(alexnet_summary, "Linear")
    assert alexnet_summary.total_mult_adds == \
        sum(layer.mult_adds for layer in convs) + 9216 * 4096 + 4096 * 4096 + 4096 * 1000
    assert [layer.mult_adds for layer in linears] == [9216 * 4096, 4096 * 4096, 4096 * 1000]


def test_alexnet_original_totals(alexnet_summary):
    conv = 34_944 + 614_656 + 885_120 + 1_327_488 + 884_992
    fc = (9216 + 1) * 4096 + (4096 + 1) * 4096 + (4096 + 1) * 1000
    assert alexnet_summary.total_params == conv + fc
    assert alexnet_summary.trainable_params == conv + fc
    assert alexnet_summary.non_trainable_params == 0
    assert alexnet_summary.param_bytes == 4 * (conv + fc)
    text = str(alexnet_summary)
    assert f"Total params: {conv + fc:,}" in text


def test_lenet5_classic_reproduces_the_papers_shapes():
    result = summary(models.create("lenet5_classic"))
    shapes = [layer.output_shape[1:] for layer in leaves(result, "Conv2d", "AvgPool2d", "Flatten",
                                                              "Linear")]
    # C1 28x28x6, S2 14x14x6, C3 10x10x16, S4 5x5x16, C5 120 (1x1 maps), F6 84, output 10
    assert shapes == [(6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5), (120, 1, 1), (120,),
                      (84,), (10,)]
    # RF: C1 5; S2 5+1 = 6 (jump 2); C3 6+4*2 = 14; S4 14+1*2 = 16 (jump 4); C5 16+4*4 = 32:
    # "C5 ... sees the whole 32x32 input", as the paper says.
    spatial = leaves(result, "Conv2d", "AvgPool2d")
    assert [layer.receptive_field for layer in spatial] == [(r, r) for r in (5, 6, 14, 16, 32)]
    assert result.total_params == 156 + 2416 + 48_120 + 10_164 + 850


def test_table_has_the_keras_torchinfo_columns_and_footer():
    text = str(summary(models.create("lenet5")))
    for heading in ("Layer (type)", "Output Shape", "Param #", "Mult-Adds", "RF",
                    "Total params: 61,706", "Trainable params: 61,706",
                    "Non-trainable params: 0", "Total mult-adds:", "Params size (MB):",
                    "Forward activations (MB):", "0 (Conv2d)"):
        assert heading in text
    assert "[1, 6, 28, 28]" in text


def test_trainable_and_non_trainable_parameters():
    model = models.create("resnet18", width=0.125, small_input=True, num_classes=10)
    model.conv1.weight.requires_grad_(False)
    result = summary(model, (3, 32, 32))
    total = sum(p.numel() for p in model.parameters())
    assert result.total_params == total
    assert result.non_trainable_params == model.conv1.weight.numel() == 8 * 3 * 3 * 3
    assert result.trainable_params == total - 8 * 3 * 3 * 3
    # batch norm running statistics are buffers, not parameters
    assert result.buffer_bytes == sum(b.numpy().nbytes for b in model.buffers()) > 0


def test_nested_blocks_form_a_tree_cut_at_depth():
    model = models.create("resnet18", width=0.125)
    result = summary(model, (3, 64, 64), depth=1)
    shown = result.rows()
    assert {layer.depth for layer in shown} == {0, 1}
    assert [layer.label for layer in shown[1:]] == ["conv1", "bn1", "relu", "maxpool", "layer1",
                                                    "layer2", "layer3", "layer4", "avgpool", "fc"]
    deeper = result.rows(depth=3)
    assert any(layer.name == "layer1.0.conv1" and layer.depth == 3 for layer in deeper)
    assert len(str(result).splitlines()) < len(str(summary(model, (3, 64, 64), depth=3))
                                               .splitlines())
    for layer in result.layers:  # a container's numbers include everything inside it
        if layer.children:
            assert layer.mult_adds == sum(child.mult_adds for child in layer.children)
    layer1 = next(layer for layer in result.layers if layer.name == "layer1")
    assert layer1.num_params == sum(p.numel() for p in model.layer1.parameters())


def test_receptive_field_through_residual_blocks():
    """ResNet-18: stem 7 (jump 2), max-pool 11 (jump 4); layer1 +4 convs * 2*4 = 43;
    layer2 +2*4 then +3 * 2*8 = 99; layer3 +2*8 + 3*2*16 = 211; layer4 +2*16 + 3*2*32 = 435.
    The additions have no module: their field comes from the deepest map of that size."""
    result = summary(models.create("resnet18", width=0.125), (3, 224, 224))
    rf = {layer.name: layer.receptive_field for layer in result.layers}
    assert rf["maxpool"] == (11, 11)
    assert rf["layer1.0"] == (27, 27)
    assert rf["layer1"] == (43, 43)
    assert rf["layer2"] == (99, 99)
    assert rf["layer4"] == (435, 435)
    assert rf["layer2.0.downsample"] == (43, 43)  # a 1x1 shortcut adds nothing to layer1's field


def test_receptive_field_through_inception_concatenation():
    """GoogLeNet: conv1 7 (jump 2), maxpool1 11 (jump 4), conv2 1x1 11, conv3 3x3 19,
    maxpool2 27 (jump 8); inception3a's widest branch adds a 3x3: 27 + 2*8 = 43."""
    result = summary(models.create("googlenet", width=0.125), (3, 224, 224))
    rf = {layer.name: layer.receptive_field for layer in result.layers}
    assert rf["maxpool2"] == (27, 27)
    assert rf["inception3a.branch1"] == (27, 27)
    assert rf["inception3a"] == (43, 43)


def test_receptive_field_through_unet_crop_and_concatenation():
    """U-Net: encoder levels add 4 * jump each and pools +jump; the bottleneck gives
    140 at jump 16; each 2x2/2 up-convolution keeps the field and halves the jump,
    each decoder level adds 4 * jump: 140 + 32 + 16 + 8 + 4 = 200."""
    result = summary(models.create("unet", width=0.0625), (1, 188, 188))
    rf = {layer.name: layer.receptive_field for layer in result.layers}
    assert rf["bottleneck"] == (140, 140)
    assert rf["upconvs.0"] == (140, 140)
    assert rf["decoder.0"] == (172, 172)
    assert rf["head"] == (200, 200)
    assert result.layers[0].output_shape == (1, 2, 4, 4)


def test_multiply_adds_and_fields_of_special_layers():
    model = nn.Sequential(
        nn.Conv2d(4, 8, 3, padding=1, groups=2),          # 6x6: 8*36 outputs * (4/2 * 9)
        nn.ConvTranspose2d(8, 3, 2, stride=2),            # each of 6*6*8 inputs feeds 3*2*2
        nn.Conv2d(3, 2, (3, 5), dilation=(1, 2), padding=(1, 4)),
        nn.Flatten(),
        nn.Linear(2 * 12 * 12, 5),
    )
    result = summary(model, (4, 6, 6))
    conv, transposed, wide, _, linear = leaves(result)
    assert conv.mult_adds == 8 * 36 * 2 * 9
    assert transposed.mult_adds == 6 * 6 * 8 * 3 * 2 * 2
    assert linear.mult_adds == 288 * 5
    assert conv.receptive_field == (3, 3) and conv.jump == (1, 1)
    assert transposed.receptive_field == (3, 3) and transposed.jump == (0.5, 0.5)
    # (3, 5) kernel with dilation (1, 2): spans (3, 9) map units of 0.5 pixel
    assert wide.receptive_field == (3 + 2 * 0.5, 3 + 8 * 0.5)
    assert "4x7" in str(result)


def test_summary_leaves_mode_hooks_and_random_state_alone():
    model = models.create("lenet5")
    model.train()
    state = json.dumps(striate.get_rng_state())
    summary(model)
    assert model.training
    assert json.dumps(striate.get_rng_state()) == state
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_summary_errors_are_clear():
    with pytest.raises(ValueError, match="input_shape"):
        summary(nn.Sequential(nn.Linear(3, 2)))
    model = models.create("lenet5")
    with pytest.raises(RuntimeError, match=r"forward pass of LeNet5 .*\(1, 3, 28, 28\)"):
        summary(model, (3, 28, 28))
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_structured_data_and_command_line_entry(capsys):
    result = summary(models.create("lenet5"))
    data = json.loads(json.dumps(result.to_dict()))
    assert data["total_params"] == 61_706
    assert data["layers"][0]["type"] == "LeNet5"
    assert cli_main(["summary", "lenet5", "--depth", "1", "--num-classes", "3"]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[3].startswith("LeNet5") and "[1, 3]" in text
    assert "features (Sequential)" in text and "0 (Conv2d)" not in text


def test_a_model_batch_norm_statistics_are_untouched():
    model = models.create("resnet18", width=0.125, small_input=True)
    before = {k: v.copy() for k, v in model.state_dict().items()}
    summary(model, (3, 32, 32))
    after = model.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)
