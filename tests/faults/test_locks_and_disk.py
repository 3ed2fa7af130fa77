"""Stale locks of every kind git-ot takes, and a full disk.

git-ot's own locks are flocks (store/locks.py, store/spool.py): a file left
behind holds nothing. git's lock files (a ref's, the snapshot index's) stay
behind a killed process: each must be cleared once provably stale, and never
stop capture, notes or the user's commits. So must `packed-refs.lock`, which
git-ot meets when it deletes a packed ref, and git-ot's `push.lock`, which
names the pid of a background push and is taken over once that process is
gone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from support import faults

# Lock files, relative to the git directory; {sid} is the session's id.
LOCKS = {
    "snapshot index (git)": "opentraces/snapshot.index.lock",
    "snapshot (flock)": "opentraces/snapshot.lock",
    "spool append (flock)": "opentraces/spool/{sid}.lock",
    "spool seal (flock)": "opentraces/spool/{sid}.seal.lock",
    "detached seal (flock)": "opentraces/seal-attempts/{sid}.detached",
    "notes ref (git)": "refs/notes/opentraces.lock",
    "session ref (git)": "refs/opentraces/sessions/{sid}.lock",
}
GIT_LOCKS = {"snapshot index (git)", "notes ref (git)", "session ref (git)"}
# Beside these: git's packed-refs.lock and git-ot's push.lock, whose takers
# are a ref's deletion and a plain git push (tests below).


@pytest.mark.parametrize("harness", faults.harnesses(), ids=lambda h: h.name)
@pytest.mark.parametrize("kind", list(LOCKS))
def test_a_stale_lock_stops_nothing(repo, harness, kind, monkeypatch):
    monkeypatch.delenv("GIT_COMMITTER_DATE", raising=False)
    repo.cli_json("init")
    base = repo.git("rev-parse", "HEAD").strip()
    scenario = harness.scenarios[0]
    sid = f"stale-{scenario}"
    lock = repo.path / ".git" / LOCKS[kind].format(sid=sid)
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_bytes(b"")
    old = time.time() - 3600
    os.utime(lock, (old, old))  # left by a process killed an hour ago
    spooled = faults.Spooled(repo.path)
    faults.replay(harness, repo.path, harness.payloads(scenario, session=sid), spooled)
    faults.check(repo, spooled, base)
    if kind in GIT_LOCKS:
        assert not lock.exists()
    # Capture went on: every writing tool has both its snapshots, and the commit its note.
    from support.trail import note, read_records

    for step in read_records(repo, sid)["trace"]["steps"]:
        if step["kind"] == "tool" and step["writes"]:
            assert step.get("snapshot_before") and step.get("snapshot_after"), step["n"]
    assert any(line.get("session") == sid for line in note(repo, "HEAD~1") or note(repo) or [])


@pytest.mark.parametrize("harness", faults.harnesses(), ids=lambda h: h.name)
def test_a_stale_packed_refs_lock_stops_nothing(repo, harness, monkeypatch):
    """git's packed-refs.lock, left by a killed `git gc` or `git pack-refs`:
    capture, notes and the user's commits never take it; deleting a packed
    session ref (`git ot forget`) clears it once provably stale, and never
    brings back the ref's older, packed tip."""
    monkeypatch.delenv("GIT_COMMITTER_DATE", raising=False)
    repo.cli_json("init")
    base = repo.git("rev-parse", "HEAD").strip()
    # A session sealed, its ref packed as `git gc` leaves it, then moved on.
    repo.hook("UserPromptSubmit", {"session_id": "old", "prompt": "first"})
    faults.settle(repo.path)
    repo.git("pack-refs", "--all")
    repo.hook("UserPromptSubmit", {"session_id": "old", "prompt": "second"})
    faults.settle(repo.path)
    lock = repo.path / ".git" / "packed-refs.lock"
    lock.write_bytes(b"")
    old = time.time() - 3600
    os.utime(lock, (old, old))  # left by a process killed an hour ago
    scenario = harness.scenarios[0]
    sid = f"stale-{scenario}"
    spooled = faults.Spooled(repo.path)
    faults.replay(harness, repo.path, harness.payloads(scenario, session=sid), spooled)
    faults.check(repo, spooled, base)
    assert lock.exists()  # nothing so far rewrote packed-refs
    proc = repo.cli("forget", "old")
    assert (proc.returncode, proc.stderr) == (0, b"")
    assert not lock.exists()
    assert repo.git("for-each-ref", "--format=%(refname)", "refs/opentraces/sessions/").split() == [
        f"refs/opentraces/sessions/{sid}"]
    repo.fsck()


def test_a_live_packed_refs_lock_is_waited_for_then_named(repo, monkeypatch):
    """A packed-refs.lock that may be live (young) is not removed: past the
    wait, one line names it, and nothing is deleted."""
    repo.cli_json("init")
    repo.hook("UserPromptSubmit", {"session_id": "old", "prompt": "first"})
    faults.settle(repo.path)
    repo.git("pack-refs", "--all")
    lock = repo.path / ".git" / "packed-refs.lock"
    lock.write_bytes(b"")
    monkeypatch.setenv("GIT_OT_TEST_LOCK_WAIT", "0.2")
    proc = repo.cli("forget", "old")
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines() == [f"error: '{lock}' is held by another process",
                                                 "hint: if no git command runs, remove that file"]
    assert lock.exists()
    assert repo.git("for-each-ref", "--format=%(refname)", "refs/opentraces/sessions/").split() == [
        "refs/opentraces/sessions/old"]
    lock.unlink()
    assert repo.cli("forget", "old").returncode == 0
    assert repo.git("for-each-ref", "refs/opentraces/sessions/") == ""


@pytest.mark.parametrize("harness", faults.harnesses(), ids=lambda h: h.name)
@pytest.mark.parametrize("holder", ["dead process", "none"])
def test_a_stale_push_lock_is_taken_over(repo, harness, holder, tmp_path, monkeypatch):
    """git-ot's push.lock (domain/prepush.py) names the pid of the bucket's
    background push; one whose process is gone, or that names none (a hook
    killed before writing it), is taken over by the next plain git push."""
    monkeypatch.delenv("GIT_COMMITTER_DATE", raising=False)
    bucket = tmp_path / "bucket.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bucket)], check=True, capture_output=True)
    repo.git("remote", "add", "origin", str(bucket))
    repo.cli_json("init")
    assert repo.cli("remote", "set", "origin", "--plain-git").returncode == 0
    base = repo.git("rev-parse", "HEAD").strip()
    lock = repo.path / ".git" / "opentraces" / "push.lock"
    dead = subprocess.Popen(["true"])
    dead.wait()
    lock.write_text(f"{dead.pid}\n" if holder == "dead process" else "")
    scenario = harness.scenarios[0]
    sid = f"stale-{scenario}"
    spooled = faults.Spooled(repo.path)
    faults.replay(harness, repo.path, harness.payloads(scenario, session=sid), spooled)
    faults.check(repo, spooled, base)
    assert repo.cli("approve", "--all").returncode == 0
    proc = subprocess.run(["git", "push", "-q", "origin", "HEAD"], cwd=repo.path, capture_output=True,
                          text=True, timeout=faults.PROCESS_LIMIT)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    deadline = time.monotonic() + faults.PROCESS_LIMIT
    while lock.exists():
        assert time.monotonic() < deadline, "the background push did not finish"
        time.sleep(0.05)
    log = (repo.path / ".git" / "opentraces" / "push.log").read_text().splitlines()
    assert log[1:] == ["pushed 1 session to origin; notes pushed"]
    from support.share import notes, sessions

    assert sessions(bucket) == sessions(repo.path) and list(sessions(bucket)) == [sid]
    assert notes(bucket) == notes(repo.path) and notes(bucket)
    subprocess.run(["git", "fsck", "--strict", "--no-dangling"], cwd=bucket, check=True, capture_output=True)


def _small_disk(tmp_path):
    """A 16 MiB tmpfs (root only), unmounted by the caller."""
    if os.geteuid() != 0:
        pytest.skip("a full disk needs a small tmpfs, which only root can mount")
    mount = tmp_path / "disk"
    mount.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    return mount


def _fill(mount) -> None:
    # Unbuffered: a write the disk refused leaves nothing for close() to
    # flush (which would raise ENOSPC again, outside the loop).
    with open(mount / "filler", "wb", buffering=0) as fh:
        try:
            while True:
                fh.write(b"\0" * (1 << 16))
        except OSError:
            pass
    # Small files still find room in a few free blocks: take them too.
    for i in range(1000):
        try:
            (mount / f"filler-{i}").write_bytes(b"\0" * 4096)
        except OSError:
            break


@pytest.mark.parametrize("harness", faults.harnesses(), ids=lambda h: h.name)
def test_a_full_disk_loses_nothing_that_reached_the_spool(harness, tmp_path, monkeypatch):
    from support.repo import Repo

    monkeypatch.delenv("GIT_COMMITTER_DATE", raising=False)
    mount = _small_disk(tmp_path)
    try:
        path = mount / "repo"
        path.mkdir()
        repo = Repo(path)
        repo.git("init", "-q")
        repo.write("app.py", 'def greet(name):\n    return "hi " + name\n')
        repo.write("README.md", "readme\n")
        repo.commit("initial")
        repo.cli_json("init")
        base = repo.git("rev-parse", "HEAD").strip()
        spooled = faults.Spooled(path)
        scenario = harness.scenarios[0]
        payloads = harness.payloads(scenario, session=f"full-{scenario}")
        starts = 0
        for p in payloads:
            full = harness.is_tool_start(p) and starts % 2 == 0
            starts += harness.is_tool_start(p)
            if full:
                _fill(mount)  # the disk fills up as the tool starts ...
            faults.run_hook(harness, str(path), p)  # ... the hook still exits 0 and says nothing
            if full:
                for f in mount.iterdir():
                    if f.name.startswith("filler"):
                        f.unlink()  # ... and has room again by its end
            if harness.is_tool_start(p):
                harness.apply(str(path), p)
            spooled.look()
        faults.check(repo, spooled, base)
    finally:
        shutil.rmtree(mount / "repo", ignore_errors=True)
        subprocess.run(["umount", str(mount)], capture_output=True)
