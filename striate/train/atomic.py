"""Atomic file writing lives in :mod:`striate.io.atomic` (the floor below
training); re-exported here so that existing imports keep working."""
from ..io.atomic import atomic_path, default_permissions, fsync_dir, fsync_file  # noqa: F401

__all__ = ["atomic_path", "fsync_dir", "fsync_file", "default_permissions"]
