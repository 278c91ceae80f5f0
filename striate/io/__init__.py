"""Weights in and out: PyTorch checkpoints without PyTorch, safetensors files.

    state = striate.io.load("resnet18.pth")      # name -> NumPy array, torch or safetensors
    model.load_state_dict(state)
    striate.io.save_safetensors(state, "resnet18.safetensors")

This room knows arrays and files, not layers: it imports NumPy only (and
safetensors when a safetensors file is read or written).
"""
from .safetensors_file import load_safetensors, save_safetensors
from .state import detect_format, load, load_torch
from .torch_writer import save_torch
from .torch_zip import CheckpointFileError, UnsafeCheckpointError, read_torch

__all__ = ["load", "load_torch", "read_torch", "save_torch", "load_safetensors", "save_safetensors",
           "detect_format", "CheckpointFileError", "UnsafeCheckpointError"]
