"""ONNX export: ``striate.onnx.export(model, "model.onnx", input_shape=(1, 28, 28))``.

The ``onnx`` package (the optional extra ``striate[onnx]``) is imported only
when a graph is built; importing this package loads NumPy only.
"""
from .deploy import OnnxClassifier, export_run
from .export import OnnxExportError, build_model, export

__all__ = ["export", "export_run", "build_model", "OnnxExportError", "OnnxClassifier"]
