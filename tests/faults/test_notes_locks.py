"""Notes under lock contention: a stale lock is cleared, a held one waited
for, and a note that still cannot be written waits for the next run."""

from __future__ import annotations

import os
import time

from support.trail import one_turn, note, set_up

BASE = 'def greet(name):\n    return "hi " + name\n'


def _line(session: str, step: int = 2) -> dict:
    return {"v": 1, "session": session, "step": step, "hunk": f"{step}.1.1", "path": "app.py",
            "lines": [3, 4], "harness": "claude-code", "model": "claude-opus-4-5"}


def test_a_stale_notes_lock_is_cleared(repo):
    set_up(repo, True)
    lock = repo.path / ".git/refs/notes/opentraces.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_bytes(b"")
    old = time.time() - 3600
    os.utime(lock, (old, old))  # left by a git killed an hour ago
    one_turn(repo, "s-stale", "app.py", BASE + "\ndef a():\n    pass\n")
    repo.git("commit", "-q", "-am", "a")
    assert note(repo) == [{**_line("s-stale"), "lines": [3, 5]}]
    assert not lock.exists()


def test_a_note_the_ref_cannot_take_waits_for_the_next_run(repo):
    set_up(repo, True)
    lock = repo.path / ".git/refs/notes/opentraces.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_bytes(b"")  # held now: not stale, so not cleared
    one_turn(repo, "s-held", "app.py", BASE + "\ndef a():\n    pass\n")
    env = {**os.environ, "GIT_OT_TEST_LOCK_WAIT": "0.2"}
    repo.git("commit", "-q", "-am", "a", env=env)  # the user's commit succeeds
    first = repo.git("rev-parse", "HEAD").strip()
    assert note(repo) is None
    pending = repo.path / ".git/opentraces/notes-pending" / first
    assert pending.read_bytes().startswith(b'{"v":1,"session":"s-held"')
    lock.unlink()  # the other writer is done
    one_turn(repo, "s-next", "README.md", "readme\nmore\n")
    repo.git("commit", "-q", "-am", "b")
    assert note(repo, first) == [{**_line("s-held"), "lines": [3, 5]}]
    assert note(repo) == [{"v": 1, "session": "s-next", "step": 2, "hunk": "2.1.1", "path": "README.md",
                           "lines": [2, 2], "harness": "claude-code", "model": "claude-opus-4-5"}]
    assert not pending.exists()
