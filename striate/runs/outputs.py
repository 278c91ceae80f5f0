"""What a command may write, decided before it does any work.

One rule, the one git, rsync and ``torch.save`` keep: nothing a user has is
lost.

- A command never writes onto a file it reads (the same file by any name:
  a symbolic link or a hard link to an input is that input), not even with
  ``--overwrite``.
- A command never writes onto a file of a training run (its checkpoint, its
  metrics log, its learning curve) through an output option; only training
  writes those, and ``striate train --overwrite`` replaces a run as a whole.
- An existing output file is replaced only when the user said ``--overwrite``.
- An output's folder exists and is writable, and the output is not a folder.

    plan = OutputPlan(overwrite=args.overwrite)
    plan.reads(args.image, "IMAGE")
    plan.reads_run(args.checkpoint, "RUN")
    plan.writes(args.out, "--out")
    plan.check()           # raises OutputRefused, having written nothing

Each refusal is one line naming the option, the path and the way out.
"""
import os
import tempfile

from .errors import RunConfigError

__all__ = ["OutputRefused", "OutputPlan", "run_file_role", "RUN_FILE_ROLES"]

#: The files a run directory holds, with what each one is to the run.
RUN_FILE_ROLES = {
    "metrics.jsonl": "metrics log",
    "learning_curve.png": "learning curve",
}
CHECKPOINT_DIR = "checkpoint"
CHECKPOINT_MARK = "training_state.json"


class OutputRefused(RunConfigError):
    """An output that would destroy something the user has, or that cannot be written."""


def _is_run_dir(path):
    return os.path.isfile(os.path.join(path, CHECKPOINT_DIR, CHECKPOINT_MARK))


def run_file_role(path):
    """``(run directory, role)`` when ``path`` is (or would be) a file of an
    existing training run, else None. A run is a directory whose
    ``checkpoint/`` holds ``training_state.json``."""
    real = os.path.realpath(path)
    folder, name = os.path.split(real)
    if os.path.basename(folder) == CHECKPOINT_DIR and _is_run_dir(os.path.dirname(folder)):
        return os.path.dirname(folder), "checkpoint"
    if os.path.isfile(os.path.join(folder, CHECKPOINT_MARK)):  # a checkpoint saved on its own
        return folder, "checkpoint"
    if _is_run_dir(real):
        return real, "run directory"
    if name == CHECKPOINT_DIR and _is_run_dir(folder):
        return folder, "checkpoint"
    if name in RUN_FILE_ROLES and _is_run_dir(folder):
        return folder, RUN_FILE_ROLES[name]
    return None


def _same_file(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def _inside(path, folder):
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


class OutputPlan:
    """The inputs and outputs of one command, checked against each other at once.

    ``overwrite`` is whether the user passed ``--overwrite`` (None for a command
    that has no such option: then an existing output is refused and the
    message suggests another path).
    """

    def __init__(self, overwrite=False):
        self.overwrite = overwrite
        self._reads = []     # (label, path) of files the command reads
        self._runs = []      # (label, run directory) the command reads
        self._writes = []    # (label, path, kind) with kind "file" or "dir"

    # ----------------------------------------------------------------- declare

    def reads(self, path, label):
        """A file (or folder of files) the command reads."""
        if path is not None:
            self._reads.append((label, os.fspath(path)))
        return self

    def reads_run(self, path, label="RUN"):
        """A training run the command reads (its directory or its checkpoint)."""
        if path is not None:
            found = run_file_role(path)
            self._runs.append((label, found[0] if found else os.fspath(path)))
        return self

    def writes(self, path, label, report=False):
        """A file the command will write. ``report``: a default output that the
        command keeps for a run (its confusion matrix, its inspect views) and
        replaces each time it runs, without ``--overwrite``."""
        if path is not None:
            self._writes.append((label, os.fspath(path), "report" if report else "file"))
        return self

    def writes_dir(self, path, label, files=(), report=False, replaces=False):
        """A folder the command writes ``files`` (names) into; ``replaces``: the
        command may replace the folder's content as a whole (a run replaced with
        ``striate train --overwrite``), so no input may lie inside it."""
        if path is not None:
            self._writes.append((label, os.fspath(path), "replaced dir" if replaces else "dir"))
            for name in files:
                self.writes(os.path.join(os.fspath(path), name), label, report)
        return self

    # ----------------------------------------------------------------- check

    def check(self):
        """Raise :class:`OutputRefused` for the first output that breaks the rule."""
        for label, path, kind in self._writes:
            if kind in ("dir", "replaced dir"):
                self._check_dir(label, path, replaced=kind == "replaced dir")
            else:
                self._check_file(label, path, replace=self.overwrite or kind == "report")
        return self

    def _check_file(self, label, path, replace):
        for read_label, read in self._reads:
            if os.path.lexists(path) and os.path.exists(read) and (
                    _same_file(path, read) if os.path.isfile(read) else _inside(path, read)):
                raise OutputRefused(
                    f"{label} {path} is {read_label} {read}, which this command reads; it is "
                    f"never written over, even with --overwrite: choose another {label}")
        found = run_file_role(path)
        if found is not None:
            run_dir, role = found
            raise OutputRefused(
                f"{label} {path} is a file of the training run {run_dir} (its {role}); a run's "
                f"files are written only by `striate train`: choose a path outside the run")
        if os.path.isdir(path):
            raise OutputRefused(f"{label} {path} is a directory; give a file name, such as "
                                f"{os.path.join(path, 'out.png')}")
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder) and any(w[2] == "dir" and _inside(folder, w[1])
                                             for w in self._writes):
            return  # a file in an output folder that the command makes
        if not os.path.isdir(folder):
            what = "is not a directory" if os.path.lexists(folder) else "does not exist"
            raise OutputRefused(f"{label} {path}: the folder {folder} {what}; create it first "
                                f"or choose another path")
        if os.path.lexists(path) and not replace:
            way = ("pass --overwrite to replace it" if self.overwrite is not None
                   else f"choose another {label} or remove it first")
            raise OutputRefused(f"{label} {path} exists; {way}")
        _probe_writable(folder, label, path)

    def _check_dir(self, label, path, replaced):
        if os.path.lexists(path) and not os.path.isdir(path):
            raise OutputRefused(f"{label} {path} is a file, not a directory; choose another {label}")
        for read_label, read in self._reads + self._runs:
            if not os.path.exists(read):
                continue
            if os.path.realpath(path) == os.path.realpath(read) or (replaced and _inside(read, path)):
                raise OutputRefused(f"{label} {path} holds {read_label} {read}, which this "
                                    f"command reads; it is never replaced, even with "
                                    f"--overwrite: choose another {label}")
        found = run_file_role(path)
        if found is not None and found[1] == "checkpoint":
            raise OutputRefused(f"{label} {path} is inside the checkpoint of the training run "
                                f"{found[0]}; choose a folder outside it")
        ancestor = os.path.abspath(path)
        while not os.path.lexists(ancestor):
            ancestor = os.path.dirname(ancestor)
        if not os.path.isdir(ancestor):
            raise OutputRefused(f"{label} {path}: {ancestor} is a file, so no directory can be made "
                                f"under it; choose another {label}")
        _probe_writable(ancestor, label, path)


def _probe_writable(folder, label, path):
    """Make and remove a hidden folder in ``folder``: the one test of
    writability that holds for root and for read-only mounts alike."""
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".striate-probe-", dir=folder))
    except OSError as error:
        raise OutputRefused(f"cannot write {label} {path}: {folder} is not writable "
                            f"({error.strerror})") from None
