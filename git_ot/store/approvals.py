"""Lists of session ids kept as local state, never pushed.

`<common-dir>/opentraces/approved` holds the sessions the user approved for
sharing, and `<common-dir>/opentraces/forgotten` those `git ot forget`
deleted here, so that no fetch brings them back. Each holds one session id
a line, sorted and unique. Both are decisions about this machine's copy, so
the files live beside the spool and travel nowhere; deleting `approved`
only means that `git ot push` asks for approval again, deleting `forgotten`
that the next fetch may bring a forgotten session back.
"""

from __future__ import annotations

import contextlib
import fcntl
import os

from . import state
from .files import replace_file



class SessionList:
    """One list of session ids of a repository (shared by its linked worktrees)."""

    def __init__(self, state_dir: str, filename: str):
        self.dir = state_dir
        self.path = state.session_list(state_dir, filename)

    def read(self) -> set[str]:
        try:
            with open(self.path, encoding="utf-8") as fh:
                return {line.strip() for line in fh if line.strip()}
        except FileNotFoundError:
            return set()

    def add(self, session_ids) -> list[str]:
        """Add these sessions; returns those that were not listed before."""
        with self._locked():
            current = self.read()
            new = sorted(set(session_ids) - current)
            if new:
                self._write(current | set(new))
            return new

    def remove(self, session_ids) -> list[str]:
        """Take these sessions out; returns those that were listed."""
        with self._locked():
            current = self.read()
            gone = sorted(current & set(session_ids))
            if gone:
                self._write(current - set(gone))
            return gone

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


def approvals(state_dir: str) -> SessionList:
    return SessionList(state_dir, state.APPROVED)


def forgotten(state_dir: str) -> SessionList:
    return SessionList(state_dir, state.FORGOTTEN)
