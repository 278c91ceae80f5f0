"""The house's floors, read from the source: the command line and the
playground are two faces over one run layer, and neither imports the other.

Every import statement is read with ``ast`` (module-level and inside
functions), relative imports resolved against the module's package.
"""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent / "striate"

#: What a command module may not import: the pieces a run is built from
#: (optimizers, loaders, datasets, transforms, the trainer, the run's own
#: builders). The command line reaches them through :mod:`striate.runs`.
RUN_INTERNALS = {
    "striate.optim": None,
    "striate.nn": None,
    "striate.data.loader": None,
    "striate.data.dataset": None,
    "striate.data.transforms": None,
    "striate.data": {"DataLoader", "Subset", "load_dataset", "transforms"},
    "striate.data.datasets": {"load_dataset"},
    "striate.train.trainer": {"Trainer"},
    "striate.runs.config": {"build_transforms", "build_optimizer", "build_scheduler",
                            "channel_stats", "spread_indices", "mixing_loader"},
}


def _module_name(path):
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path, source=None):
    """``[(line, module, names)]`` of every import in the file at ``path``
    (or in ``source``, read as if it were that file)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text() if source is None else source, str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, set()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            names = {alias.name for alias in node.names}
            found.append((node.lineno, module, names))
            # ``from striate import cli`` imports the subpackage
            found += [(node.lineno, f"{module}.{n}", set()) for n in names]
    return found


def _files(room):
    return sorted((ROOT / room).rglob("*.py")) if room else sorted(ROOT.rglob("*.py"))


def _under(module, package):
    return module == package or module.startswith(package + ".")


def test_imports_are_resolved():
    # The reader itself: a relative import in a known file resolves as Python does.
    found = imports(ROOT / "cli" / "train.py")
    assert any(module == "striate.runs.tasks" for _, module, _ in found)
    assert any(module == "striate.cli.common" for _, module, _ in found)


@pytest.mark.parametrize("path", _files("playground"), ids=lambda p: p.name)
def test_playground_does_not_import_the_command_line(path):
    bad = [f"{path.name}:{line} imports {module}" for line, module, _ in imports(path)
           if _under(module, "striate.cli")]
    assert not bad, bad


@pytest.mark.parametrize("path", _files("cli"), ids=lambda p: p.name)
def test_command_line_does_not_import_the_playground(path):
    # One door: the ``playground`` command starts the server through the
    # playground package's public ``create_app``, as it calls any library API.
    allowed = {("playground.py", "striate.playground", frozenset({"create_app"}))}
    bad = [f"{path.name}:{line} imports {module} {sorted(names)}"
           for line, module, names in imports(path)
           if _under(module, "striate.playground")
           and (path.name, module, frozenset(names)) not in allowed
           and not (path.name == "playground.py" and module == "striate.playground.create_app")]
    assert not bad, bad


@pytest.mark.parametrize("path", [p for p in _files(None)
                                  if p.relative_to(ROOT).parts[0] not in ("cli", "playground")],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_library_imports_neither_face(path):
    bad = [f"line {line} imports {module}" for line, module, _ in imports(path)
           if _under(module, "striate.cli") or _under(module, "striate.playground")]
    assert not bad, bad


@pytest.mark.parametrize("path", _files("cli"), ids=lambda p: p.name)
def test_command_line_holds_no_run_logic(path):
    bad = []
    for line, module, names in imports(path):
        for internal, forbidden in RUN_INTERNALS.items():
            if forbidden is None and _under(module, internal):
                bad.append(f"{path.name}:{line} imports {module}")
            elif forbidden is not None and module == internal and names & forbidden:
                bad.append(f"{path.name}:{line} imports {sorted(names & forbidden)} from {module}")
    assert not bad, bad


def test_the_reader_catches_a_violation():
    # A test must be able to fail: the imports these tests forbid are seen,
    # at module level and inside functions, relative and absolute.
    probe = ROOT / "playground" / "probe.py"
    source = "import striate.cli.main\ndef f():\n    from ..cli.common import UsageError\n"
    assert [m for _, m, _ in imports(probe, source) if _under(m, "striate.cli")] == \
        ["striate.cli.main", "striate.cli.common", "striate.cli.common.UsageError"]
    command = ROOT / "cli" / "probe.py"
    found = imports(command, "def g():\n    from ..data import DataLoader\n")
    assert ("striate.data", {"DataLoader"}) in [(m, n) for _, m, n in found]
