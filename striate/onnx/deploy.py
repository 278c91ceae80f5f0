"""What a deployed model needs travels with its ONNX file.

:func:`export_run` writes a trained run's model with the input normalization
either inside the graph (``normalization="graph"``: the graph takes pixels
scaled to [0, 1]) or described in the metadata (``"metadata"``: the graph
takes normalized inputs, as the model itself does), and with these
``metadata_props`` (JSON values):

=========================  ===================================================
``striate.classes``        the class names, in the order of the output columns
``striate.input_shape``    ``[C, H, W]`` of one input image
``striate.channel_order``  ``"grey"`` (C = 1) or ``"RGB"`` (C = 3), planar (CHW)
``striate.input_range``    ``[0, 1]``: 8-bit pixels divided by 255
``striate.normalization``  ``"graph"`` or ``"metadata"``: where (x - mean) / std is
``striate.mean``           per-channel mean (subtract it yourself under ``"metadata"``)
``striate.std``            per-channel std (divide by it yourself under ``"metadata"``)
``striate.framing``        how a picture becomes the input (see :mod:`striate.data.images`)
``striate.background``     ``"dark"`` when the training images were light on dark
=========================  ===================================================

:class:`OnnxClassifier` reads such a file with onnxruntime and gives the
same class probabilities as the run it came from.
"""
import json

import numpy as np

__all__ = ["NORMALIZATIONS", "export_run", "run_metadata", "OnnxClassifier"]

NORMALIZATIONS = ("graph", "metadata")
PREFIX = "striate."


def run_metadata(meta, normalization):
    """The ``metadata_props`` (str -> str) of a run's checkpoint ``meta``."""
    channels = int(meta["input_shape"][0])
    norm = meta.get("normalization") or {}
    values = {"classes": list(meta.get("classes") or []),
              "input_shape": [int(n) for n in meta["input_shape"]],
              "channel_order": "grey" if channels == 1 else "RGB",
              "input_range": [0, 1], "normalization": normalization,
              "mean": norm.get("mean"), "std": norm.get("std"),
              "framing": meta.get("framing", "resize"), "background": meta.get("background")}
    return {PREFIX + key: json.dumps(value) for key, value in values.items()}


def _normalized(model, mean, std):
    """``model`` behind (x - mean) / std, as striate ops, so the graph holds them."""
    from .. import nn
    from ..autograd import Tensor

    class Normalized(nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model
            shape = (1, -1, 1, 1)
            self._mean = Tensor(np.asarray(mean, dtype=np.float32).reshape(shape))
            self._std = Tensor(np.asarray(std, dtype=np.float32).reshape(shape))

        def forward(self, x):
            return self.model((x - self._mean) / self._std)

    return Normalized()


def export_run(model, meta, path, normalization="graph", opset=17, dynamic_batch=True):
    """Write ``model`` (of a run with checkpoint ``meta``) as ONNX to ``path``
    with the metadata above; returns ``path``."""
    from ..io.atomic import atomic_path
    from .export import build_model

    if normalization not in NORMALIZATIONS:
        raise ValueError(f"export: normalization must be one of {NORMALIZATIONS}, "
                         f"got {normalization!r}")
    norm = meta.get("normalization") or {}
    if normalization == "graph" and norm.get("mean") is not None:
        model = _normalized(model, norm["mean"], norm["std"])
    proto = build_model(model, tuple(meta["input_shape"]), opset=opset,
                        dynamic_batch=dynamic_batch)
    for key, value in run_metadata(meta, normalization).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(proto.SerializeToString())
    return path


class OnnxClassifier:
    """An exported classifier run by onnxruntime: ``probabilities(batch)`` of
    inputs in [0, 1] (N, C, H, W), framed as ``framing`` says."""

    def __init__(self, path):
        try:
            import onnxruntime
        except ImportError:
            raise ImportError("running an ONNX file needs onnxruntime: "
                              "pip install onnxruntime") from None
        try:
            self.session = onnxruntime.InferenceSession(str(path),
                                                        providers=["CPUExecutionProvider"])
        except Exception as error:  # noqa: BLE001 - onnxruntime's own exception types
            raise ValueError(f"{path}: not a readable ONNX model ({error})") from None
        props = self.session.get_modelmeta().custom_metadata_map
        self.meta = {key[len(PREFIX):]: json.loads(value) for key, value in props.items()
                     if key.startswith(PREFIX)}
        if "input_shape" not in self.meta:
            raise ValueError(f"{path} has no striate metadata (input shape, classes); export it "
                             "with `striate export`")
        self.input_shape = tuple(self.meta["input_shape"])
        self.classes = self.meta.get("classes") or []
        self.framing = self.meta.get("framing") or "resize"
        self.background = self.meta.get("background")
        self.input_name = self.session.get_inputs()[0].name

    def probabilities(self, batch):
        """Class probabilities (N, K) for (N, C, H, W) float inputs in [0, 1]."""
        batch = np.asarray(batch, dtype=np.float32)
        if self.meta.get("normalization") == "metadata" and self.meta.get("mean") is not None:
            mean = np.asarray(self.meta["mean"], np.float32).reshape(1, -1, 1, 1)
            std = np.asarray(self.meta["std"], np.float32).reshape(1, -1, 1, 1)
            batch = (batch - mean) / std
        logits = self.session.run(None, {self.input_name: batch})[0].astype(np.float64)
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        return exp / exp.sum(axis=1, keepdims=True)
