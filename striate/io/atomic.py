"""Writing files so that a crash never leaves a half-written one behind.

The recipe (the same one databases and editors use): write the new content to
a temporary file in the *same* directory, flush and ``fsync`` it, then
``os.replace`` it over the final name. ``os.replace`` is atomic on POSIX and
Windows when both names are on one filesystem, so a reader sees either the
old file or the new one, never a mixture. Finally ``fsync`` the directory so
that the rename itself survives a power cut.
"""
import contextlib
import os
import tempfile

__all__ = ["atomic_path", "fsync_dir", "fsync_file", "default_permissions"]


def default_permissions(path):
    """Give ``path`` the permissions a plain ``open()``/``mkdir()`` would have:
    ``tempfile`` makes private (0600/0700) files and directories, which would
    surprise a user sharing a run directory."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, (0o777 if os.path.isdir(path) else 0o666) & ~umask)


def fsync_file(path):
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def fsync_dir(path):
    """Persist a directory's entries (renames, new files). A no-op where the
    platform cannot open directories (Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path next to ``path``; on success, fsync it and move it
    over ``path``. On any exception the temporary file is removed and ``path``
    is untouched.

        with atomic_path("curve.png") as tmp:
            figure.savefig(tmp, format="png")
    """
    directory = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=".tmp", dir=directory)
    os.close(fd)
    try:
        yield tmp
        default_permissions(tmp)
        fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise
    fsync_dir(directory)
