"""The README, tried in order as a new user would.

Every command of the README's shell blocks runs as written, in order, in one
fresh folder: what an earlier command writes (a run, a sample picture) is
what a later one reads. Only the slow ones are shortened: training gets
``--limit`` and one epoch (a resumed or extended run keeps its stored limit),
evaluation a ``--limit``. Lines that install packages, start a server or run
the test suite are the setup, not the tour, and are listed as skipped.
"""
import os
import shlex
import shutil
import subprocess
import sys

from striate.cli import main
from striate.cli.main import COMMANDS

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")
SETUP = ("pip", "python", "apt-get")          # installing and testing, not the tour
SERVERS = (("striate", "playground"),)        # runs until stopped; tested in test_playground
TRAIN_LIMIT, EVAL_LIMIT = 256, 200


def readme_commands(path=README):
    """The shell commands of the README's code blocks, in order: ``(line
    number, argv)``, continuation lines joined and comments dropped."""
    commands, block, start, pending = [], None, 0, ""
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            stripped = line.rstrip("\n")
            if stripped.startswith("```"):
                block = None if block is not None else stripped[3:].strip()
                continue
            if block is None or block not in ("", "bash", "sh", "shell"):
                continue
            if not pending:
                start = number
            pending += stripped.rstrip("\\").rstrip() + " " if stripped.endswith("\\") else stripped
            if stripped.endswith("\\"):
                continue
            words = shlex.split(pending, comments=True)
            pending = ""
            while words:  # `pip install ... && striate train`: each command in turn
                argv = words[:words.index("&&")] if "&&" in words else words
                words = words[len(argv) + 1:]
                if argv and (argv[0] in ("mpiexec",) + SETUP or
                             (argv[0] == "striate" and len(argv) > 1 and argv[1] in COMMANDS)):
                    commands.append((start, argv))
    return commands


def shortened(argv):
    """``argv`` with its slow parts shortened (see the module docstring)."""
    argv = list(argv)
    if argv[:2] == ["striate", "train"] and "--resume" not in argv:
        for option, value in (("--epochs", "1"), ("--limit", str(TRAIN_LIMIT))):
            if option in argv:
                at = argv.index(option) + 1
                argv[at] = value if option == "--epochs" else str(min(int(argv[at]), TRAIN_LIMIT))
            else:
                argv += [option, value]
    if argv[:2] == ["striate", "evaluate"] and "--limit" not in argv:
        argv += ["--limit", str(EVAL_LIMIT)]
    return argv


def _dataset_missing(argv):
    from striate.data.datasets import find_dataset_dir

    if "--dataset" not in argv:
        return None
    name = argv[argv.index("--dataset") + 1]
    if name in ("fashion-mnist", "mnist", "kmnist") and find_dataset_dir(name) is None:
        return name
    return None


def test_the_readme_has_a_tour():
    commands = readme_commands()
    assert sum(argv[0] == "striate" for _, argv in commands) >= 20


def test_every_readme_command_runs_in_order(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    failures, ran, skipped = [], 0, []
    for number, argv in readme_commands():
        if argv[0] in SETUP or tuple(argv[:2]) in SERVERS:
            skipped.append(f"line {number}: {' '.join(argv)}")
            continue
        missing = _dataset_missing(argv)
        if missing and not os.environ.get("CI"):
            skipped.append(f"line {number}: {missing} is not installed")
            continue
        command = shortened(argv)
        if command[0] == "mpiexec":
            mpiexec = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or \
                shutil.which("mpiexec")
            if mpiexec is None:
                skipped.append(f"line {number}: no mpiexec")
                continue
            at = command.index("striate")
            command = [mpiexec] + command[1:at] + [sys.executable, "-m", "striate.cli"] + \
                command[at + 1:]
            result = subprocess.run(command, capture_output=True, text=True, timeout=600)
            code, err = result.returncode, result.stderr
        else:
            try:
                code = main(command[1:])
            except SystemExit as exit:
                code = exit.code
            err = capsys.readouterr().err
        ran += 1
        if code != 0:
            failures.append(f"README line {number}: {' '.join(command)}\n  -> exit {code}: "
                            f"{err.strip()[-400:]}")
    print(f"ran {ran} README commands; skipped:\n  " + "\n  ".join(skipped))
    assert not failures, "\n".join(failures)


def test_shortening_keeps_the_command_and_only_shrinks_it():
    assert shortened(["striate", "train", "--epochs", "10"]) == \
        ["striate", "train", "--epochs", "1", "--limit", str(TRAIN_LIMIT)]
    assert shortened(["striate", "train", "--limit", "100"])[-1] == "1"
    assert shortened(["striate", "train", "--resume", "r", "--epochs", "20"])[-1] == "20"
    assert shortened(["striate", "models"]) == ["striate", "models"]
    text = "```bash\nstriate train --a \\\n    --b 1   # note\n```\n```python\nstriate x\n```\n"
    assert readme_commands_from(text) == [
        (2, ["striate", "train", "--a", "--b", "1"])]


def readme_commands_from(text):
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".md", delete=False) as f:
        f.write(text)
    try:
        return readme_commands(f.name)
    finally:
        os.unlink(f.name)

