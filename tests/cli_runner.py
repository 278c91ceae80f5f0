"""Run the ``striate`` command in the test's own process."""
from striate.cli import main


def run(capsys, *args):
    """``striate ARGS...`` in this process: (exit status, stdout, stderr)."""
    try:
        code = main([str(a) for a in args])
    except SystemExit as exit:  # argparse: --help, malformed command lines
        code = exit.code
    out, err = capsys.readouterr()
    return code, out, err
