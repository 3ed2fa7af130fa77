"""Warnings for the person at the terminal, gathered while a command runs.

A reader that meets damage it can step around (a corrupt session among
many, a note that is not JSON Lines, a spool file set aside, a seal that
could not run) says so here and goes on; the command line prints each
notice once, as a `warning:` line on stderr, when the command ends
(git_ot/cli/__init__.py). The hooks never print them: a hook's failures
go to the log (store/log.py).
"""

from __future__ import annotations

_pending: list[str] = []


def warn(message: str) -> None:
    """Add one line (lowercase, no full stop, as git's warnings); said once."""
    if message not in _pending:
        _pending.append(message)


def drain() -> list[str]:
    """The notices given since the last drain, in order; forgets them."""
    out = list(_pending)
    _pending.clear()
    return out
