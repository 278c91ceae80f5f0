"""Before a run is resumed: do its files agree with each other?

A run directory holds a checkpoint (``checkpoint/training_state.json``,
``checkpoint/model.safetensors``) and a metrics log (``metrics.jsonl``).
Resuming trusts all three; a file edited, truncated or deleted by hand would
otherwise resume in silence, drop lines, or fail much later with a message
about something else. :func:`check_run` compares them and raises
:class:`RunMismatchError` naming the file that disagrees and the file it
disagrees with, or returns the repairs that are provably safe:

* a last log line cut short without its newline (a crash while appending):
  the line is not part of any checkpoint, and resuming rewrites it;
* one log line past the checkpoint's epoch (a crash after logging an epoch,
  before its checkpoint was written): that epoch is trained again.

What is checked:

* ``training_state.json``: its epoch is a whole number, at most the epochs
  its configuration plans (``meta.config.epochs``) or the ``epochs`` given;
* ``metrics.jsonl``: present if the checkpoint has trained any epoch; every
  line a JSON object whose ``epoch`` runs 1, 2, 3, ... without a gap; at
  least as many epochs as the checkpoint, at most one more; the lines up to
  the checkpoint's epoch identical to those it recorded (``metrics_digest``,
  in checkpoints that keep one);
* ``model.safetensors``: every floating-point weight finite.
"""
import json
import os

from ..backend import xp
from .checkpoint import CheckpointError, load_checkpoint
from .history import records_digest
from .layout import RunLayout

__all__ = ["RunMismatchError", "check_run"]


class RunMismatchError(CheckpointError):
    """The files of a run disagree with each other."""


def _read_log(path):
    """The records of ``path`` and whether its last line was torn; raises on
    a line that is not a JSON object (other than a torn last line)."""
    with open(path, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    torn = bool(lines[-1].strip())  # text after the last newline: an unfinished append
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            record = None
        if not isinstance(record, dict):
            if torn and number == len(lines):
                break
            raise RunMismatchError(
                f"{path}: line {number} is not a JSON record ({line[:60]!r}); the log was "
                "edited or damaged. Restore it, or start the run afresh")
        records.append((number, record))
    return records, torn and (not records or records[-1][0] != len(lines))


def check_run(run_dir, epochs=None):
    """Check the files of the run in ``run_dir`` against each other (see the
    module docstring); ``epochs``: the epochs the resumed run will plan, if
    known. Returns a list of notes, one per safe repair that resuming will
    make; raises :class:`RunMismatchError` (or ``CheckpointError`` for a
    checkpoint that cannot be read at all)."""
    layout = RunLayout.of(run_dir)
    checkpoint = load_checkpoint(layout.checkpoint_dir)
    state_file = os.path.join(checkpoint.path, "training_state.json")
    model_file = os.path.join(checkpoint.path, "model.safetensors")
    log_file = layout.metrics_file
    epoch = checkpoint.epoch
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise RunMismatchError(f"{state_file}: epoch {epoch!r} is not a count of epochs")
    config = checkpoint.meta.get("config") if isinstance(checkpoint.meta, dict) else None
    planned = config.get("epochs") if isinstance(config, dict) else None
    if isinstance(planned, int) and not isinstance(planned, bool) and epoch > planned:
        raise RunMismatchError(f"{state_file}: epoch {epoch} is past the {planned} epochs of "
                               f"its own configuration (config.epochs); the file was edited")
    if epochs is not None and epoch > epochs and not isinstance(planned, int):
        raise RunMismatchError(f"{state_file}: epoch {epoch} is past the {epochs} epochs "
                               "the run plans")

    notes = []
    if not os.path.exists(log_file):
        if epoch > 0:
            raise RunMismatchError(
                f"{log_file} is missing, but {state_file} has trained {epoch} epoch(s); "
                "restore the log, or start the run afresh")
        records, torn = [], False
    elif not os.path.isfile(log_file):
        raise RunMismatchError(f"{log_file} is not a file")
    else:
        records, torn = _read_log(log_file)
    if torn:
        notes.append(f"{log_file}: its last line was cut short (a crash while writing it); "
                     "resuming drops it")
    for index, (number, record) in enumerate(records, start=1):
        got = record.get("epoch")
        if got != index or isinstance(got, bool):
            raise RunMismatchError(
                f"{log_file}: line {number} is for epoch {got!r} where epoch {index} was "
                "expected (the epochs must run 1, 2, 3, ...); the log was edited")
    logged = len(records)
    if logged < epoch:
        raise RunMismatchError(
            f"{log_file} ends at epoch {logged}, but {state_file} has trained {epoch} "
            "epochs; lines are missing from the log")
    if logged > epoch + 1:
        raise RunMismatchError(
            f"{log_file} has {logged} epochs, but {state_file} has trained only {epoch}: "
            "the checkpoint is older than the log (replaced or edited)")
    if logged == epoch + 1:
        notes.append(f"{log_file}: epoch {logged} was logged but not checkpointed (a crash "
                     "before its checkpoint); resuming trains it again")
    recorded = checkpoint.meta.get("metrics_digest") if isinstance(checkpoint.meta, dict) else None
    if recorded is not None and records_digest(r for _, r in records[:epoch]) != recorded:
        raise RunMismatchError(
            f"{log_file}: the lines of epochs 1-{epoch} differ from those {state_file} "
            "recorded; the log was edited after training")

    for name, array in checkpoint.model_state.items():
        array = xp.asarray(array)
        if xp.issubdtype(array.dtype, xp.floating) and not xp.isfinite(array).all():
            bad = int(array.size - xp.count_nonzero(xp.isfinite(array)))
            raise RunMismatchError(
                f"{model_file}: {name} holds {bad} non-finite value(s) (NaN or infinity); "
                f"the weights saved at epoch {epoch} are damaged, and training from them "
                "cannot recover")
    return notes

