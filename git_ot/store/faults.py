"""Crash points for tests, in the spirit of git's own GIT_TEST_* variables.

`GIT_OT_TEST_KILL_AT=<point>` makes the process SIGKILL itself at that
point, so tests can prove a crash there loses nothing. Unset, it costs one
dictionary lookup.
"""

from __future__ import annotations

import os

POINTS = ("after-spill", "after-append", "after-inbox-append", "after-take", "after-ref-move", "push-after-send")


def crash_point(name: str) -> None:
    if os.environ.get("GIT_OT_TEST_KILL_AT") == name:
        import signal  # only when set: signal brings enum, off the hook path

        os.kill(os.getpid(), signal.SIGKILL)
