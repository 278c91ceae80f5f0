"""The metrics log: one JSON object per epoch, one per line (``metrics.jsonl``).

JSON lines because a line is appended at the end of every epoch, can be read
while training runs (``tail -f``), and loads with one line of pandas
(``pd.read_json(path, lines=True)``). Non-finite floats are written as
``null``: ``NaN`` is not JSON.
"""
import hashlib
import json
import math
import os

from .atomic import atomic_path

__all__ = ["MetricsLog", "read_metrics", "records_digest"]


def _finite(value):
    """Plain JSON values: NaN/inf -> None, NumPy scalars and arrays -> Python."""
    if hasattr(value, "tolist"):  # NumPy scalar or array
        value = value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def read_metrics(path):
    """All records of a metrics log, in order ([] if the file does not exist).
    A last line cut short by a crash is ignored."""
    if not os.path.exists(path):
        return []
    records = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                break  # a torn final line: everything before it is intact
    return records


def records_digest(records):
    """SHA-256 (hex) of metrics records, each written as canonical JSON (keys
    sorted): what a checkpoint keeps of the log lines it covers, so that an
    edited line can be told on resume whatever the spacing of the file."""
    digest = hashlib.sha256()
    for record in records:
        digest.update(json.dumps(_finite(record), sort_keys=True).encode("utf-8") + b"\n")
    return digest.hexdigest()


class MetricsLog:
    """Append-only log of per-epoch records at ``path``."""

    def __init__(self, path):
        self.path = path

    def records(self):
        return read_metrics(self.path)

    def append(self, record):
        line = json.dumps(_finite(record), sort_keys=False) + "\n"
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def _ends_cleanly(self):
        """Whether the file ends with a newline (or is empty or absent): a
        torn last line must go before the next record is appended."""
        if not os.path.exists(self.path) or os.path.getsize(self.path) == 0:
            return True
        with open(self.path, "rb") as f:
            f.seek(-1, os.SEEK_END)
            return f.read(1) == b"\n"

    def keep_epochs_up_to(self, epoch):
        """Drop the records of epochs after ``epoch``: on resume from a checkpoint
        of epoch ``epoch``, the log must not keep lines of epochs that will be
        trained again (they were logged before a crash cut the run short)."""
        records = self.records()
        kept = [r for r in records if r.get("epoch", 0) <= epoch]
        if len(kept) == len(records) and self._ends_cleanly():
            return kept
        with atomic_path(self.path) as tmp:
            with open(tmp, "w", encoding="utf-8") as f:
                f.writelines(json.dumps(_finite(r)) + "\n" for r in kept)
        return kept
