"""Transfer learning on a folder of pictures, end to end: a torchvision-format
ResNet-18 file (written by ``torch.save``, read without torch), ImageNet
normalization, a new head for the folder's classes, the features frozen;
then the ONNX export gives the same probabilities as ``striate predict``."""
import os

import numpy as np
import pytest

from cli_runner import run as cli

torch = pytest.importorskip("torch")
PIL = pytest.importorskip("PIL")
from PIL import Image  # noqa: E402


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("STRIATE_CACHE", str(tmp_path / "cache"))


def write_colours(root, per_class=8, seed=0):
    """Three classes of 40x36 RGB pictures: mostly red, green or blue, noisy."""
    rng = np.random.default_rng(seed)
    for c, name in enumerate(("blue", "green", "red")):
        os.makedirs(os.path.join(root, name))
        for i in range(per_class):
            pixels = rng.integers(0, 120, (36, 40, 3))
            pixels[..., 2 - c] += 120
            Image.fromarray(pixels.astype(np.uint8)).save(os.path.join(root, name, f"{i}.png"))
    return root


def torchvision_resnet18_file(path):
    """A ResNet-18 state dict with torchvision's parameter names and shapes
    (those of striate's resnet18, which follows torchvision's naming), random
    weights drawn by torch, saved by ``torch.save``."""
    from striate import models

    torch.manual_seed(0)
    state = {}
    for name, value in models.create("resnet18").state_dict().items():
        if name.endswith("num_batches_tracked"):
            state[name] = torch.tensor(0)
        elif name.endswith("running_var"):
            state[name] = torch.rand(value.shape) + 0.5
        else:
            state[name] = torch.randn(value.shape) * 0.05
    torch.save(state, path)
    return {k: v.numpy() for k, v in state.items()}


def test_transfer_on_a_folder_trains_only_the_head_and_exports_the_same_probabilities(
        capsys, tmp_path):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    data = write_colours(str(tmp_path / "colours"))
    weights = torchvision_resnet18_file(str(tmp_path / "resnet18.pth"))
    code, out, err = cli(capsys, "train", "--data", data, "--model", "resnet18",
                         "--init-from", tmp_path / "resnet18.pth", "--new-head",
                         "--freeze", "features", "--normalize", "imagenet", "--image-size", "32",
                         "--epochs", "2", "--batch-size", "8", "--val-split", "0.25",
                         "--out", tmp_path / "run", "--no-progress")
    assert code == 0, err
    assert "input 3x32x32" in out

    from striate.train import load_checkpoint
    checkpoint = load_checkpoint(str(tmp_path / "run"))
    assert checkpoint.meta["classes"] == ["blue", "green", "red"]
    assert checkpoint.meta["normalization"] == {"mean": [0.485, 0.456, 0.406],
                                                "std": [0.229, 0.224, 0.225]}
    trained = {k: np.asarray(v) for k, v in checkpoint.model_state.items()}
    assert trained["fc.weight"].shape == (3, 512)
    frozen = [k for k in weights if not k.startswith("fc.")]
    for name in frozen:  # features: bit-identical to the file, running statistics included
        assert np.array_equal(trained[name], weights[name].astype(trained[name].dtype)), name
    # the head did train: rebuilt from the stored configuration (same seed), the
    # untrained head differs from the trained one
    from striate.runs import prepare_run
    initial = prepare_run(dict(checkpoint.meta["config"])).model.state_dict()
    assert not np.array_equal(initial["fc.weight"], trained["fc.weight"])
    assert np.array_equal(initial["layer4.1.conv2.weight"], trained["layer4.1.conv2.weight"])

    code, out, err = cli(capsys, "export", tmp_path / "run", "--out", tmp_path / "model.onnx")
    assert code == 0, err
    photo = os.path.join(data, "red", "3.png")
    code, from_run, err = cli(capsys, "predict", tmp_path / "run", photo, "--top", "3")
    assert code == 0, err
    code, from_onnx, err = cli(capsys, "predict", tmp_path / "model.onnx", photo, "--top", "3")
    assert code == 0, err
    assert from_onnx == from_run and from_run.startswith(f"{photo}: ")

    # the probabilities themselves, to float32 precision
    from striate.autograd import Tensor, no_grad
    from striate.data.images import load_image, prepare_image
    from striate.functional import softmax
    from striate.onnx import OnnxClassifier
    onnx_model = OnnxClassifier(tmp_path / "model.onnx")
    assert onnx_model.classes == ["blue", "green", "red"]
    assert onnx_model.meta["channel_order"] == "RGB" and onnx_model.input_shape == (3, 32, 32)
    pictures = [load_image(os.path.join(data, c, f"{i}.png"))
                for c in ("blue", "green", "red") for i in range(3)]
    raw = np.stack([prepare_image(p, (3, 32, 32), framing="crop", invert=False)
                    for p in pictures])
    norm = checkpoint.meta["normalization"]
    mean = np.asarray(norm["mean"], np.float32).reshape(1, 3, 1, 1)
    std = np.asarray(norm["std"], np.float32).reshape(1, 3, 1, 1)
    model = checkpoint.build_model()
    model.eval()
    with no_grad():
        expected = softmax(model(Tensor((raw - mean) / std)), dim=1).data
    np.testing.assert_allclose(onnx_model.probabilities(raw), expected, atol=1e-5)
