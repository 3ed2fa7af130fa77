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


def test_a_waiting_note_is_written_by_the_next_command(repo):
    set_up(repo, True)
    lock = repo.path / ".git/refs/notes/opentraces.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_bytes(b"")
    one_turn(repo, "s-held", "app.py", BASE + "\ndef a():\n    pass\n")
    repo.git("commit", "-q", "-am", "a", env={**os.environ, "GIT_OT_TEST_LOCK_WAIT": "0.2"})
    assert note(repo) is None
    lock.unlink()
    # No commit comes after: the next command that reads writes it.
    repo.cli_json("trace", "list")
    assert note(repo) == [{**_line("s-held"), "lines": [3, 5]}]
    assert not any((repo.path / ".git/opentraces/notes-pending").iterdir())


def test_a_lock_taken_between_libgit2s_look_and_its_create_is_waited_for(tmp_path):
    """libgit2 checks for the lock file, then creates it exclusively: a lock
    taken in between fails the create with another message than the look's
    (filebuf.c). Both are a lock another writer holds, waited for alike."""
    import pygit2

    from git_ot.store.repository import _retry_locked

    lock = tmp_path / "refs" / "notes" / "opentraces.lock"
    messages = [f"failed to create locked file '{lock}': File exists",
                f"failed to lock file '{lock}' for writing"]
    calls = []

    def update():
        calls.append(None)
        if len(calls) <= len(messages):
            raise pygit2.GitError(messages[len(calls) - 1])

    _retry_locked(update)
    assert len(calls) == 3
    calls.clear()

    def other():
        raise pygit2.GitError(f"failed to create locked file '{lock}': Permission denied")

    try:
        _retry_locked(other)
    except pygit2.GitError as exc:
        assert "Permission denied" in str(exc)
    else:
        raise AssertionError("a lock file git-ot may not create is no lock to wait for")
