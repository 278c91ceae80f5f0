import os
import sys

import numpy as np
import pytest

# Tests import the harness as a plain module.
sys.path.insert(0, os.path.dirname(__file__))


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same random state: tests are deterministic."""
    import striate
    striate.manual_seed(0)
    np.random.seed(0)
    yield


# In CI (.ci/run installs MPI, onnxruntime, oneDNN, Chromium and Playwright) a skip of these
# modules means a broken install, not a missing extra: the run fails and says so.
REQUIRED_IN_CI = ("test_distributed.py", "test_onnx.py", "test_playground.py", "test_accel.py",
                  "test_accel_passes.py",
                  "test_playground_safety.py", "test_folder.py", "test_examples.py",
                  "test_playground_browser.py", "test_mnist1d.py")
_skipped_in_ci = []


def _note_skip(report):
    if os.environ.get("CI") and report.skipped and \
            os.path.basename(str(report.fspath)) in REQUIRED_IN_CI:
        _skipped_in_ci.append(f"{report.nodeid}: {report.longrepr}")


def pytest_collectreport(report):
    _note_skip(report)


def pytest_runtest_logreport(report):
    _note_skip(report)


# No test input may reach the "looks like a bug in striate" label of the command line's
# top-level handler: every user mistake has its own message. Each label given is noted here.
_bug_labels = []


@pytest.fixture(autouse=True, scope="session")
def _note_bug_labels():
    import functools
    import importlib

    cli_main = importlib.import_module("striate.cli.main")
    plain = cli_main.error_message

    @functools.wraps(plain)
    def noting(error):
        message = plain(error)
        if "looks like a bug in striate" in message:
            _bug_labels.append(message)
        return message
    cli_main.error_message = noting
    yield
    cli_main.error_message = plain


def pytest_sessionfinish(session, exitstatus):
    if _bug_labels:
        print("\nthese command-line errors were labelled as bugs in striate:\n  "
              + "\n  ".join(_bug_labels))
        session.exitstatus = 1
    if _skipped_in_ci:
        print("\nCI: these tests skipped although .ci/run installs what they need:\n  "
              + "\n  ".join(_skipped_in_ci))
        session.exitstatus = 1
