"""Long seals: the user's commit never waits on one for ever, and a seal the
harness keeps killing is finished outside the hooks."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time

from support.repo import Repo
from support.trail import Agent, note, one_turn, read_records, set_up

BASE = 'def greet(name):\n    return "hi " + name\n'
FAREWELL = '\n\ndef farewell(name):\n    return "bye " + name\n'
# Bounds on waits for a process, so a regression fails instead of hanging.
PROCESS_LIMIT = 120


def _hook(repo, event: str, payload: dict, env=None) -> None:
    payload = {**payload, "cwd": str(repo.path), "hook_event_name": event}
    proc = subprocess.run([sys.executable, "-m", "git_ot", "hook", "claude-code", event], cwd=repo.path,
                          input=json.dumps(payload).encode(), capture_output=True, env=env,
                          timeout=PROCESS_LIMIT)
    assert proc.returncode in (0, -9), proc.stderr


def _spool(repo) -> list[str]:
    spool = repo.path / ".git/opentraces/spool"
    return sorted(p.name for p in spool.iterdir() if not p.name.endswith(".lock")) if spool.exists() else []


def test_a_commit_does_not_wait_for_a_seal_that_holds_its_lock(repo, monkeypatch):
    monkeypatch.delenv("GIT_COMMITTER_DATE", raising=False)  # anchored later, by its real time
    set_up(repo, True)
    a = Agent(repo, "s-busy")
    a.prompt("add a farewell function")
    a.write("app.py", BASE + FAREWELL)  # spooled, not sealed: the turn goes on
    lock = repo.path / ".git/opentraces/spool/s-busy.seal.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # a long seal of the session runs
    try:
        proc = subprocess.run(["git", "commit", "-q", "-am", "farewell"], cwd=repo.path,
                              capture_output=True, text=True, timeout=PROCESS_LIMIT)
        assert proc.returncode == 0, proc.stderr
    finally:
        os.close(fd)
    first = repo.git("rev-parse", "HEAD").strip()
    # Not anchored while the session's lines were unknown to git-ot ...
    assert note(repo, first) is None
    assert (repo.path / ".git/opentraces/anchor-later" / first).exists()
    # ... but by the next run, once the session is sealed.
    a.stop()
    repo.write("README.md", "readme\nby hand\n")
    repo.git("commit", "-q", "-am", "readme")
    assert note(repo, first) == [{"v": 1, "session": "s-busy", "step": 2, "hunk": "2.1.1", "path": "app.py",
                                  "lines": [3, 6], "harness": "claude-code", "model": "claude-opus-4-5"}]
    assert note(repo) == []
    assert not (repo.path / ".git/opentraces/anchor-later" / first).exists()


def test_a_commit_left_for_anchoring_is_anchored_as_its_own_worktree_sees_it(repo, monkeypatch, tmp_path):
    """Two sessions write the same lines, one in each of two linked
    worktrees. The commit of the first is left for later (its session was
    being sealed); the hook of the other worktree's commit anchors it, and
    must name the session of the worktree the commit was made in, not its
    own."""
    monkeypatch.delenv("GIT_COMMITTER_DATE", raising=False)
    set_up(repo, True)
    repo.git("worktree", "add", "-q", "-b", "other", str(tmp_path / "other"))
    other = Repo(tmp_path / "other")
    here = Agent(repo, "s-here")
    here.prompt("add a farewell function")
    here.write("app.py", BASE + FAREWELL)  # spooled, not sealed
    lock = repo.path / ".git/opentraces/spool/s-here.seal.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        repo.git("commit", "-q", "-am", "farewell here")
    finally:
        os.close(fd)
    first = repo.git("rev-parse", "HEAD").strip()
    assert note(repo, first) is None
    assert (repo.path / ".git/opentraces/anchor-later" / first).read_text() == \
        f"{repo.path / '.git'}\n{repo.path}\n"
    one_turn(other, "s-there", "app.py", BASE + FAREWELL, "add a farewell function")
    other.git("commit", "-q", "-am", "farewell there")
    second = other.git("rev-parse", "HEAD").strip()
    expected = {"v": 1, "step": 2, "hunk": "2.1.1", "path": "app.py", "lines": [3, 6],
                "harness": "claude-code", "model": "claude-opus-4-5"}
    assert note(repo, second) == [{**expected, "session": "s-there"}]
    assert note(repo, first) == [{**expected, "session": "s-here"}]
    assert not (repo.path / ".git/opentraces/anchor-later").exists() or \
        list((repo.path / ".git/opentraces/anchor-later").iterdir()) == []


def test_a_commit_left_for_anchoring_is_anchored_by_the_next_command_that_reads(repo, monkeypatch):
    """The seal a git hook waited for may end just before the hook gives up
    and leaves its commit for later: then no seal or git hook may come
    after it, but the next command that reads anchors it."""
    monkeypatch.delenv("GIT_COMMITTER_DATE", raising=False)
    set_up(repo, True)
    a = Agent(repo, "s-late")
    a.prompt("add a farewell function")
    a.write("app.py", BASE + FAREWELL)
    a.stop()
    repo.git("commit", "-q", "-am", "farewell")
    first = repo.git("rev-parse", "HEAD").strip()
    anchored = note(repo, first)
    assert anchored == [{"v": 1, "session": "s-late", "step": 2, "hunk": "2.1.1", "path": "app.py",
                         "lines": [3, 6], "harness": "claude-code", "model": "claude-opus-4-5"}]
    # What that race leaves: the commit without its note, marked for later.
    repo.git("notes", "--ref=opentraces", "remove", first)
    later = repo.path / ".git/opentraces/anchor-later"
    later.mkdir(exist_ok=True)
    (later / first).touch()
    proc = repo.ot("trace", "list")
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr
    assert note(repo, first) == anchored
    assert list(later.iterdir()) == []


def test_a_commit_does_not_wait_for_a_seal_lock_to_write_the_trail_anchors(repo, monkeypatch):
    """The session is sealed, but a long seal of it holds its lock when the
    user commits: the post-commit hook writes the note, keeps the session's
    trail anchors for later and returns; the next command writes them."""
    monkeypatch.delenv("GIT_COMMITTER_DATE", raising=False)
    set_up(repo, True)
    a = Agent(repo, "s-held")
    a.prompt("add a farewell function")
    a.write("app.py", BASE + FAREWELL)
    a.stop()
    repo.ot("trace", "list")  # sealed: nothing spooled is left
    assert _spool(repo) == []
    lock = repo.path / ".git/opentraces/spool/s-held.seal.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        proc = subprocess.run(["git", "commit", "-q", "-am", "farewell"], cwd=repo.path,
                              capture_output=True, text=True, timeout=PROCESS_LIMIT)
        assert proc.returncode == 0, proc.stderr
        first = repo.git("rev-parse", "HEAD").strip()
        assert note(repo, first) == [{"v": 1, "session": "s-held", "step": 2, "hunk": "2.1.1",
                                      "path": "app.py", "lines": [3, 6], "harness": "claude-code",
                                      "model": "claude-opus-4-5"}]
        assert read_records(repo, "s-held")["trail"].get("anchors", []) == []
        kept = repo.path / ".git/opentraces/anchors-pending/s-held.jsonl"
        assert [json.loads(line)["commit"] for line in kept.read_text().splitlines()] == [first]
    finally:
        os.close(fd)
    proc = repo.ot("trace", "list", "--json")
    assert proc.returncode == 0, proc.stderr
    assert [a["commit"] for a in read_records(repo, "s-held")["trail"]["anchors"]] == [first]
    assert json.loads(proc.stdout)["sessions"][0]["commits"] == 1
    assert not kept.exists()


def test_a_hook_does_not_wait_for_a_batch_another_process_is_sealing(repo):
    """A turn's detached seal is still sealing its batch when the next
    prompt's hooks run: they leave that batch to it rather than wait for its
    lock (HOOK_SEAL_WAIT, 10 s, a wait the agent would sit through)."""
    set_up(repo, True)
    a = Agent(repo, "s-sealing")
    a.prompt("add a farewell function")
    a.write("app.py", BASE + FAREWELL)
    spool = repo.path / ".git/opentraces/spool"
    (spool / "s-sealing.jsonl").rename(spool / "s-sealing.1.sealing")  # a seal took the batch ...
    fd = os.open(spool / "s-sealing.seal.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # ... and is at work on it
    try:
        payload = {"session_id": "s-sealing", "prompt": "next", "cwd": str(repo.path),
                   "hook_event_name": "UserPromptSubmit"}
        # Far longer than a hook takes, far shorter than the lock's wait.
        proc = subprocess.run([sys.executable, "-m", "git_ot", "hook", "claude-code", "UserPromptSubmit"],
                              cwd=repo.path, input=json.dumps(payload).encode(), capture_output=True,
                              timeout=8)
        assert proc.returncode == 0 and proc.stdout == b"", proc
        assert sorted(p.name for p in spool.iterdir() if not p.name.endswith(".lock")) == [
            "s-sealing.1.sealing", "s-sealing.jsonl"]
    finally:
        os.close(fd)
    trace = repo.ot_json("trace", "show", "s-sealing")
    assert [s["kind"] for s in trace["steps"]] == ["prompt", "tool", "prompt"]


def test_a_seal_the_harness_keeps_killing_is_finished_outside_the_hooks(repo):
    set_up(repo, True)
    a = Agent(repo, "s-killed")
    a.prompt("add a farewell function")
    a.write("app.py", BASE + FAREWELL)
    # The harness kills every turn-end hook while it seals (its hook timeout).
    killing = {**os.environ, "GIT_OT_TEST_KILL_AT": "after-take"}
    for _ in range(3):
        _hook(repo, "Stop", {"session_id": "s-killed"}, env=killing)
    deadline = time.monotonic() + PROCESS_LIMIT
    while _spool(repo) and time.monotonic() < deadline:
        time.sleep(0.1)  # the detached seal runs
    assert _spool(repo) == []
    trace = read_records(repo, "s-killed")["trace"]
    assert [s["kind"] for s in trace["steps"]] == ["prompt", "tool"]
    assert [e["kind"] for e in trace["lifecycle"]] == ["session_start", "stop", "stop", "stop"]
    ids = [e for s in trace["steps"] for e in s["events"]] + [e["id"] for e in trace["lifecycle"]]
    assert len(ids) == len(set(ids)) == 7
    assert not (repo.path / ".git/opentraces/seal-attempts/s-killed").exists()
