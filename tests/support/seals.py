"""Waiting for the seals a harness's turn-end hook starts in the background.

At turn and session end the hook leaves the payload in the repository's
inbox and starts `git ot hook drain` in the background, which spools it and
seals the session holding its detached seal lock
(`<common>/opentraces/seal-attempts/<session>.detached`); a hook run as
Python appends the event and starts `git ot hook seal <session>` detached,
holding that lock for it before the hook returns (git_ot/capture/hook.py). A test that looks at refs/opentraces/
directly, not through a command (which seals what is spooled first), waits
here until no such lock is held (by /proc/locks).
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

# The events whose payload in the inbox comes with a drain started in the
# background (capture/hookfile.py, inbox_command; Pi's extension): the other
# payloads wait there for the next hook or command.
DRAIN_EVENTS = ("Stop", "Interrupt", "SessionEnd", "agent_end", "session_shutdown")
# Bounds the wait for a process that never comes; the test's assertions
# then say what was left unsealed.
LIMIT = 120.0


def wait_for_background_seals(cwd: Path) -> None:
    """Wait for the seals the hooks started in the repository of `cwd`."""
    common = subprocess.run(["git", "rev-parse", "--path-format=absolute", "--git-common-dir"],
                            cwd=cwd, capture_output=True, text=True)
    if common.returncode != 0:
        return  # not in a repository: no hook recorded anything here
    state = Path(common.stdout.strip()) / "opentraces"
    deadline = time.monotonic() + LIMIT
    while time.monotonic() < deadline:
        # In the order a turn's end goes through them: its payload in the
        # inbox, the drain that spools it (holding the inbox's lock until it
        # holds the seal's), the seal.
        if not any(p.name.split(".")[3] in DRAIN_EVENTS for p in (state / "inbox").glob("*.json")) \
                and not _held(state / "inbox" / ".lock") \
                and not any(map(_held, (state / "seal-attempts").glob("*.detached"))):
            return
        time.sleep(0.01)


def _held(lock: Path) -> bool:
    """Whether a process holds a flock on `lock`, read from /proc/locks:
    taking the lock to find out could make a hook start no seal."""
    try:
        st = os.stat(lock)
    except FileNotFoundError:
        return False
    want = (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
    with open("/proc/locks") as fh:
        for line in fh:
            fields = line.split()
            if "FLOCK" not in fields or "->" in fields:
                continue  # another kind of lock, or a waiter
            where = fields[fields.index("FLOCK") + 4].split(":")
            if len(where) == 3 and (int(where[0], 16), int(where[1], 16), int(where[2])) == want:
                return True
    return False
