"""The error a run raises when it cannot start as configured.

Every front end shows it the same way: the command line prints its message
as one line after ``striate CMD: error:``, the playground returns it as a
400 JSON error. The message names the setting, the value and the way out.
"""

__all__ = ["RunConfigError"]


class RunConfigError(Exception):
    """A run (or a command) that cannot start as configured; the message says
    why and what to do."""
