"""Waiting for the seals a harness's turn-end hook starts in the background.

At turn and session end the hook appends the event and starts `git ot hook
seal <session>` detached (git_ot/capture/hook.py), holding the session's
detached seal lock (`<common>/opentraces/seal-attempts/<session>.detached`)
for it before the hook returns. A test that looks at refs/opentraces/
directly, not through a command (which seals what is spooled first), waits
here until no such lock is held (by /proc/locks).
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

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
        if not any(map(_held, (state / "seal-attempts").glob("*.detached"))):
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
