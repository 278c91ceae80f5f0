"""``striate train --overwrite``: replace a run without losing it to a failure.

The new run is trained into a hidden staging directory inside the old run's
directory, and only once it has written its first checkpoint are its files
moved over the old ones. Until then the old run is untouched: a setting that
fails in the first epoch (a diverging learning rate, an interrupt, a full
disk) leaves it byte for byte as it was. Files of the user's own in the run
directory (notes, confusion matrices) stay where they are.

The swap is one rename per run file (``checkpoint/``, ``metrics.jsonl``,
``learning_curve.png``), each atomic; the replaced files go into the staging
directory's ``replaced/``, which is deleted last (so a swap that fails half
way loses nothing: what was replaced is still there).
"""
import glob
import os
import shutil
import tempfile

__all__ = ["STAGING_PREFIX", "make_staging_dir", "discard", "swap_in"]

STAGING_PREFIX = ".striate-new-run-"


def _run_files():
    from ..train.layout import CHECKPOINT_DIR, CURVE_FILE, METRICS_FILE

    return (CHECKPOINT_DIR, METRICS_FILE, CURVE_FILE)


def make_staging_dir(out):
    """A fresh hidden directory inside ``out`` for the new run; staging
    directories that a killed process left behind are removed first."""
    for stale in glob.glob(os.path.join(out, STAGING_PREFIX + "*")):
        shutil.rmtree(stale, ignore_errors=True)
    return tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out)


def discard(staging):
    shutil.rmtree(staging, ignore_errors=True)


def swap_in(staging, out):
    """Move the run files of ``staging`` over those of ``out``; a run file the
    new run lacks (no curve without matplotlib) is removed from ``out`` too,
    so nothing of the old run is left to be mistaken for the new one."""
    replaced = os.path.join(staging, "replaced")
    os.mkdir(replaced)
    for name in _run_files():
        old, new = os.path.join(out, name), os.path.join(staging, name)
        if os.path.isdir(old) and not os.path.islink(old):
            os.replace(old, os.path.join(replaced, name))  # a directory cannot replace one
        if os.path.lexists(new):
            os.replace(new, old)
        elif os.path.lexists(old):
            os.replace(old, os.path.join(replaced, name))
    shutil.rmtree(staging)
