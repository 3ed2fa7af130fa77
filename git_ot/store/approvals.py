"""The sessions the user approved for sharing: local state, never pushed.

`<common-dir>/opentraces/approved` holds one session id a line, sorted and
unique. Approving is a decision about this machine's copy, so the file
lives beside the spool and travels nowhere; deleting it only means that
`git ot push` asks for approval again.
"""

from __future__ import annotations

import contextlib
import fcntl
import os

from .files import replace_file

FILENAME = "approved"


class Approvals:
    """The approval list of one repository (shared by its linked worktrees)."""

    def __init__(self, state_dir: str):
        self.dir = state_dir
        self.path = os.path.join(state_dir, FILENAME)

    def read(self) -> set[str]:
        try:
            with open(self.path, encoding="utf-8") as fh:
                return {line.strip() for line in fh if line.strip()}
        except FileNotFoundError:
            return set()

    def add(self, session_ids) -> list[str]:
        """Approve these sessions; returns those that were not approved before."""
        with self._locked():
            current = self.read()
            new = sorted(set(session_ids) - current)
            if new:
                self._write(current | set(new))
            return new

    @contextlib.contextmanager
    def _locked(self):
        os.makedirs(self.dir, exist_ok=True)
        fd = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _write(self, ids: set[str]) -> None:
        # Write aside and rename, so a reader never sees half a list.
        replace_file(self.path, "".join(sid + "\n" for sid in sorted(ids)).encode("utf-8"), durable=True)
