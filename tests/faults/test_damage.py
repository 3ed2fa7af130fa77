"""Faults by damage: torn and truncated spool files, damaged records of every
shape, a read-only state directory, stale locks, stray spool files, damaged
notes and payloads at the edge (issue 12, defects 2, 3, 6, 7 and 8).

Each test damages what git-ot keeps the way a full disk, a kill, a bad
editor or a stray tool would, then asserts what issue 12 promises: no event
that reached the spool is lost, no step is duplicated, no agent line is
called human, `git fsck --strict` is clean (the `repo` fixture runs it
after each test), and the user's git command succeeded.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import cbor2
import pytest

from git_ot.store.records import raw_frame
from support.damage import (Unprivileged, assert_kept, damaged_dir, journal, replace_in_session,
                            session_refs, spool_dir, spooled_ids, write_blob)
from support.trail import Agent, HUMAN, blame, head, one_turn, read_records

BASE = 'def greet(name):\n    return "hi " + name\n'
FAREWELL = BASE + 'def farewell(name):\n    return "bye " + name\n'


def _prompt(repo, session: str, text: str) -> None:
    repo.hook("UserPromptSubmit", {"session_id": session, "prompt": text})


def _stderr(proc) -> list[str]:
    return proc.stderr.decode().splitlines()


# -- defect 2: a torn spool line ---------------------------------------------

@pytest.mark.parametrize("cut", ["newline", "half", "one-byte"])
def test_a_torn_spool_line_does_not_swallow_the_next_event(repo, cut):
    """A write cut short leaves a line without its line feed; the next
    event must be a line of its own, and the fragment kept as corrupt."""
    _prompt(repo, "s-torn", "first")
    _prompt(repo, "s-torn", "second")
    path = journal(repo, "s-torn")
    data = path.read_bytes()
    last = data[:-1].rfind(b"\n") + 1  # where the second event's line starts
    keep = {"newline": len(data) - 1, "half": last + (len(data) - last) // 2, "one-byte": last + 1}[cut]
    path.write_bytes(data[:keep])
    whole = spooled_ids(repo)  # the first event, and the second when only its line feed went
    _prompt(repo, "s-torn", "third")
    third = spooled_ids(repo) - whole
    assert len(third) == 1, "the event after the torn line is not a whole line"
    repo.hook("Stop", {"session_id": "s-torn"})
    lifecycle = assert_kept(repo, "s-torn", whole | third)
    corrupt = [e for e in lifecycle if e.get("event") == "corrupt"]
    texts = [s.get("text") for s in read_records(repo, "s-torn")["trace"]["steps"]]
    if cut == "newline":
        assert (texts, corrupt) == (["first", "second", "third"], [])
    else:
        assert texts == ["first", "third"]
        [fragment] = corrupt
        assert fragment["data"]["line"] == data[last:keep].decode() + "\n"


def test_a_torn_tool_end_keeps_the_turn_end_and_the_commit(repo):
    """The tool's end is torn (the hook killed mid-write): the turn's end
    after it is kept, and the person's commit goes through. (What blame
    says of that tool's lines, a window without its after snapshot, is the
    snapshot-failure case's and is asserted with it.)"""
    repo.cli_json("init")
    a = Agent(repo, "s-cut")
    a.prompt("add farewell")
    p = a.payload("Edit", "app.py")
    a.start(p)
    repo.write("app.py", FAREWELL)
    a.end(p)
    path = journal(repo, "s-cut")
    data = path.read_bytes()
    path.write_bytes(data[:-40])
    whole = spooled_ids(repo)
    repo.hook("Stop", {"session_id": "s-cut"})
    stop = spooled_ids(repo) - whole if journal(repo, "s-cut").exists() else None
    repo.write("app.py", FAREWELL + "# by hand\n")
    repo.git("commit", "-q", "-am", "farewell")  # the user's command: it must succeed
    lifecycle = assert_kept(repo, "s-cut", whole)
    assert stop is None  # the Stop sealed the session: its event is in the ref
    assert [e["event"] for e in lifecycle] == ["SessionStart", "corrupt", "Stop"]
    # The tool's window never got its after snapshot, and no snapshot was
    # taken until the commit: whether the tool or the person wrote the line
    # cannot be told, so it is unknown, the tool its candidate, not the person's.
    assert blame(repo, "app.py")[-1] == ("# by hand", {"kind": "unknown", "reason": "unknown",
                                                       "candidates": ["s-cut:2"]})


def test_a_journal_truncated_to_nothing_and_a_torn_batch(repo):
    _prompt(repo, "s-trunc", "lost to truncation")
    journal(repo, "s-trunc").write_bytes(b"")
    _prompt(repo, "s-trunc", "after")
    # A batch taken for sealing whose last line was cut (a kill during an import).
    (spool_dir(repo) / "s-trunc.1.sealing").write_bytes(b'{"v":1,"id":"abc","kind":"pro')
    spooled = spooled_ids(repo)
    repo.hook("Stop", {"session_id": "s-trunc"})
    lifecycle = assert_kept(repo, "s-trunc", spooled)
    assert [e["data"]["line"] for e in lifecycle if e.get("event") == "corrupt"] == [
        '{"v":1,"id":"abc","kind":"pro']
    assert sorted(os.listdir(spool_dir(repo))) == []


# -- defect 3: one damaged session among many ----------------------------------

def _trace(**fields) -> bytes:
    return raw_frame(cbor2.dumps({"schema": "git-ot/trace", "v": 1, **fields}))


DAMAGE = {
    "manifest-not-json": ("manifest.json", b'{"schema": "git-ot/manifest", "v": 1'),
    "manifest-wrong-shape": ("manifest.json", json.dumps(
        {"schema": "git-ot/manifest", "v": 1, "session": "s-bad", "harness": "claude-code"}).encode()),
    "trace-undecodable": ("trace.cbor.zst", b"\x00garbage"),
    "trace-steps-not-a-list": ("trace.cbor.zst", _trace(session="s-bad", info={}, lifecycle=[], steps=5)),
    "trace-step-not-a-map": ("trace.cbor.zst", _trace(session="s-bad", info={}, lifecycle=[], steps=["x"])),
    "trail-wrong-shape": ("trail.cbor.zst", raw_frame(cbor2.dumps(
        {"schema": "git-ot/trail", "v": 1, "snapshots": [], "patches": {}, "anchors": 1}))),
}


def _two_sessions(repo):
    repo.cli_json("init")
    one_turn(repo, "s-good", "app.py", FAREWELL, "add farewell")
    repo.git("commit", "-q", "-am", "farewell")
    _prompt(repo, "s-bad", "soon damaged")
    repo.hook("Stop", {"session_id": "s-bad"})


@pytest.mark.parametrize("shape", sorted(DAMAGE))
def test_a_damaged_record_skips_that_session_only(repo, shape):
    _two_sessions(repo)
    name = DAMAGE[shape][0]
    replace_in_session(repo, "s-bad", *DAMAGE[shape])
    warning = (f"warning: skipping damaged session s-bad: corrupt record {name} in session s-bad: ")
    # trace list reads the manifests, track the manifests and trails: each
    # skips a session whose record it needs is damaged, and names it.
    for args, reads in ((["trace", "list", "--json"], ("manifest.json",)),
                        (["track", "--json"], ("manifest.json", "trail.cbor.zst"))):
        proc = repo.cli(*args)
        assert proc.returncode == 0, proc.stderr
        rows = json.loads(proc.stdout)["sessions"]
        if name in reads:
            assert [r["session"] for r in rows] == ["s-good"]
            [line] = _stderr(proc)
            assert line.startswith(warning) and line.endswith(" (see 'git ot fsck')"), line
        else:
            assert (sorted(r["session"] for r in rows), _stderr(proc)) == (["s-bad", "s-good"], [])
    # Asked for by name it is an error, the same one for every shape: never exit 3.
    shown = repo.cli("trace", "show", "s-bad")
    assert shown.returncode == 1, shown.stderr
    assert _stderr(shown)[0].startswith(f"error: corrupt record {name} in session s-bad: ")
    fsck = repo.cli("fsck", "--json")
    assert fsck.returncode == 1
    [problem] = json.loads(fsck.stdout)["problems"]
    assert (problem["kind"], problem["name"]) == ("session", "s-bad")
    assert problem["problem"].startswith(f"corrupt record {name} in session s-bad: ")
    assert "'git ot forget s-bad'" in problem["repair"]
    # The way out it names works, and leaves nothing damaged.
    assert repo.cli("forget", "s-bad").returncode == 0
    clean = repo.cli("fsck")
    assert (clean.returncode, clean.stdout.decode().splitlines()[-1]) == (
        0, "checked 1 session, 0 spool files, 1 note: no damage")
    assert [line for line, who in blame(repo, "app.py") if who != HUMAN and who["kind"] == "agent"] == [
        "def farewell(name):", '    return "bye " + name']


@pytest.mark.parametrize("target", ["blob", "missing"])
def test_a_session_ref_at_a_blob_or_a_missing_object(repo, target):
    _two_sessions(repo)
    ref = repo.path / ".git" / "refs" / "opentraces" / "sessions" / "s-bad"
    oid = write_blob(repo, b"not a commit\n") if target == "blob" else "0123456789" * 4
    ref.write_text(oid + "\n")
    repo.damaged = target == "missing"  # git fsck rightly reports a ref at no object
    listed = repo.cli("trace", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [r["session"] for r in json.loads(listed.stdout)["sessions"]] == ["s-good"]
    [warning] = _stderr(listed)
    assert warning.startswith("warning: skipping damaged session s-bad: ")
    tracked = repo.cli("track", "--json")
    assert tracked.returncode == 0, tracked.stderr
    fsck = repo.cli("fsck")
    assert fsck.returncode == 1
    assert fsck.stdout.decode().splitlines()[0].startswith("damaged session s-bad: ")
    assert "'git ot forget s-bad'" in fsck.stdout.decode().splitlines()[1]
    assert repo.cli("forget", "s-bad").returncode == 0  # the way out fsck names
    assert not ref.exists()
    repo.damaged = False
    assert repo.cli("fsck").returncode == 0


# -- defect 6: readers that cannot seal still read -----------------------------

def test_a_record_of_the_wrong_shape_is_a_corrupt_record_error(repo):
    _two_sessions(repo)
    replace_in_session(repo, "s-bad", *DAMAGE["trace-steps-not-a-list"])
    shown = repo.cli("trace", "show", "s-bad")
    assert (shown.returncode, _stderr(shown)) == (1, [
        "error: corrupt record trace.cbor.zst in session s-bad: 'steps' is an integer, not a list",
        "hint: 'git fsck' checks the objects; fetch the session again from a remote that has it"])


def test_a_stale_session_ref_lock_does_not_stop_the_readers(repo):
    repo.cli_json("init")
    one_turn(repo, "s-lock", "app.py", FAREWELL, "add farewell")
    repo.git("commit", "-q", "-am", "farewell")
    lock = repo.path / ".git" / "refs" / "opentraces" / "sessions" / "s-lock.lock"
    lock.write_text("")  # left by a process killed while it moved the ref
    _prompt(repo, "s-lock", "later")
    spooled = spooled_ids(repo)
    for args in (["trace", "list"], ["trace", "show", "s-lock"], ["track"], ["blame", "app.py"],
                 ["blame", "commit", "HEAD"]):
        proc = repo.cli(*args)
        assert proc.returncode == 0, (args, proc.stderr)
        [warning] = _stderr(proc)
        assert warning.startswith("warning: session s-lock not sealed, showing what was sealed before: ")
    assert read_records(repo, "s-lock")["manifest"]["counts"]["steps"] == 2
    lock.unlink()
    assert repo.cli("trace", "list").returncode == 0
    assert_kept(repo, "s-lock", spooled)
    assert read_records(repo, "s-lock")["manifest"]["counts"]["steps"] == 3


def test_a_read_only_state_directory(repo):
    if os.geteuid() != 0 and shutil.which("setpriv") is None:
        pytest.skip("needs root with setpriv, or a non-root user")
    repo.cli_json("init")
    one_turn(repo, "s-ro", "app.py", FAREWELL, "add farewell")
    repo.git("commit", "-q", "-am", "farewell")
    _prompt(repo, "s-ro", "not sealed yet")
    user = Unprivileged(repo)
    try:
        probe = user.ot("--version")
        if probe.returncode != 0:
            pytest.skip(f"the interpreter cannot run as an unprivileged user: {probe.stderr[:200]!r}")
        for args in (["trace", "list", "--json"], ["trace", "show", "s-ro", "--json"],
                     ["track", "--json"], ["blame", "app.py", "--json"]):
            proc = user.ot(*args)
            assert proc.returncode == 0, (args, proc.stderr)
            [warning] = _stderr(proc)
            assert warning.startswith("warning: session s-ro not sealed, showing what was sealed before: ")
            assert "Permission denied" in warning or "permission" in warning.lower(), warning
        lines = json.loads(user.ot("blame", "app.py", "--json").stdout)["lines"]
        assert [ln["attribution"]["kind"] for ln in lines] == ["unknown", "unknown", "agent", "agent"]
    finally:
        user.close()
    spooled = spooled_ids(repo)
    assert repo.cli("trace", "list").returncode == 0  # writable again: sealed now
    assert_kept(repo, "s-ro", spooled)


@pytest.fixture
def small_state_dir(repo, tmp_path):
    """.git/opentraces on a tmpfs of 512 KiB (root only), its files kept."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a full disk needs root to mount a small tmpfs")
    state = repo.path / ".git" / "opentraces"
    state.mkdir(exist_ok=True)
    saved = tmp_path / "state-saved"
    shutil.copytree(state, saved)
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(state)],
                          capture_output=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr[:200]!r}")
    try:
        shutil.copytree(saved, state, dirs_exist_ok=True)
        yield state
    finally:
        subprocess.run(["umount", str(state)], check=True)


def _fill(path) -> None:
    """Write zeros into `path` until the file system is full."""
    with open(path, "wb", buffering=0) as fh:
        for size in (65536, 4096, 512, 1):
            try:
                while True:
                    fh.write(b"\0" * size)
            except OSError:
                continue


def test_a_full_disk_loses_no_spooled_event_and_stops_no_reader(repo, small_state_dir):
    repo.cli_json("init")
    one_turn(repo, "s-full", "app.py", FAREWELL, "add farewell")
    repo.git("commit", "-q", "-am", "farewell")  # the user's commit, anchored
    _prompt(repo, "s-full", "before the disk filled")
    _fill(small_state_dir / "filler")
    for i in range(30):  # hooks on a full disk: each exits 0, a line may be cut short
        _prompt(repo, "s-full", f"while full {i} " + "x" * 200)
    kept = spooled_ids(repo)
    for args in (["trace", "list"], ["blame", "app.py"], ["track"]):
        proc = repo.cli(*args)
        assert proc.returncode == 0, (args, proc.stderr)
        assert all(line.startswith("warning: session s-full not sealed, showing what was sealed before: ")
                   for line in _stderr(proc)), proc.stderr
    assert [who["kind"] for _, who in blame(repo, "app.py")][2:] == ["agent", "agent"]
    (small_state_dir / "filler").unlink()
    _prompt(repo, "s-full", "after the disk had room again")
    spooled = kept | spooled_ids(repo)
    repo.hook("Stop", {"session_id": "s-full"})
    assert_kept(repo, "s-full", spooled)
    texts = [s.get("text") for s in read_records(repo, "s-full")["trace"]["steps"] if s["kind"] == "prompt"]
    assert texts[:2] == ["add farewell", "before the disk filled"]
    assert texts[-1] == "after the disk had room again"


# -- defect 7: damaged notes and spool files -----------------------------------

def test_a_damaged_note_reads_as_unknown_and_anchor_rewrites_it(repo, monkeypatch):
    # Real commit times: anchor recomputes a note from the write windows
    # before the commit's time (as tests/trail/conftest.py does).
    monkeypatch.delenv("GIT_COMMITTER_DATE", raising=False)
    repo.cli_json("init")
    sid = one_turn(repo, "s-note", "app.py", FAREWELL, "add farewell").session
    repo.git("commit", "-q", "-am", "farewell")
    commit = head(repo)
    good = repo.git("notes", "--ref=opentraces", "show", commit)
    repo.git("notes", "--ref=opentraces", "add", "-f", "-m", good.splitlines()[0][:25], commit)
    out = repo.cli("blame", "commit", "HEAD", "--json")
    assert out.returncode == 0
    lines = json.loads(out.stdout)["lines"]
    assert (lines["agent"], lines["human"], lines["unknown"]) == (0, 0, 2)
    assert _stderr(out) == [
        f"warning: the note of commit {commit[:12]} on refs/notes/opentraces is damaged (line 1 is not "
        f"JSON): its lines read as unknown; 'git ot anchor {commit[:12]}^!' rewrites it"]
    assert [who for _, who in blame(repo, "app.py")][2:] == [
        {"kind": "unknown", "reason": "damaged-note"}] * 2
    fsck = json.loads(repo.cli("fsck", "--json").stdout)
    assert [(p["kind"], p["name"]) for p in fsck["problems"]] == [("note", commit)]
    anchored = repo.cli("anchor", f"{commit}^!", "--json")
    assert anchored.returncode == 0, anchored.stderr
    assert [r["commit"] for r in json.loads(anchored.stdout)["anchored"]] == [commit]
    assert repo.git("notes", "--ref=opentraces", "show", commit) == good
    assert [(who["kind"], who["session"]) for _, who in blame(repo, "app.py")[2:]] == [("agent", sid)] * 2


@pytest.mark.parametrize("name", ["bad name.jsonl", "x.lock.jsonl", "notes.txt"])
def test_a_stray_spool_file_is_set_aside_and_blocks_nothing(repo, name):
    repo.cli_json("init")
    _prompt(repo, "s-ok", "hello")
    spooled = spooled_ids(repo)
    (spool_dir(repo) / name).write_bytes(b'{"v":1,"id":"x1","kind":"prompt"}\n')
    proc = repo.cli("trace", "list", "--json")
    assert proc.returncode == 0, proc.stderr
    assert [r["session"] for r in json.loads(proc.stdout)["sessions"]] == ["s-ok"]
    where = damaged_dir(repo) / name
    assert _stderr(proc) == [f"warning: spool file '{name}' belongs to no session: set aside as '{where}'"]
    assert where.read_bytes() == b'{"v":1,"id":"x1","kind":"prompt"}\n'
    assert_kept(repo, "s-ok", spooled)
    fsck = json.loads(repo.cli("fsck", "--json").stdout)
    assert [(p["kind"], p["name"]) for p in fsck["problems"]] == [("set-aside", str(where))]
    # A stray that arrives later blocks neither the hooks nor uninstall.
    (spool_dir(repo) / name).write_bytes(b"junk")
    _prompt(repo, "s-ok", "again")
    repo.write("app.py", FAREWELL)
    repo.git("commit", "-q", "-am", "by hand")
    assert repo.cli("uninstall").returncode == 0
    assert (spool_dir(repo) / name).read_bytes() == b"junk"  # uninstall reads no stray
    assert len(sealed := [e for e in read_records(repo, "s-ok")["trace"]["steps"]]) == 2, sealed


def test_a_spool_file_of_junk_makes_no_phantom_session(repo):
    (spool_dir(repo)).mkdir(parents=True)
    (spool_dir(repo) / "s-junk.jsonl").write_bytes(b"\x00\x01junk\xff\nmore junk\n")
    proc = repo.cli("trace", "list", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"sessions": []}
    assert session_refs(repo) == []
    where = damaged_dir(repo) / "s-junk.1.sealing"
    assert _stderr(proc) == [f"warning: spool file of session s-junk holds no event: set aside as '{where}'"]
    assert where.read_bytes() == b"\x00\x01junk\xff\nmore junk\n"


# -- defect 8: payloads at the edge --------------------------------------------

def test_a_cwd_in_another_repository_does_not_split_the_session(repo, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    repo.git("init", "-q", str(other))
    a = Agent(repo, "s-cd")
    a.prompt("work over there")
    p = a.payload("Bash", command="cd ../other && make")
    # The agent's shell is in the other repository now; its hooks still run here.
    proc = repo.ot("hook", "claude-code", "PreToolUse",
                   input=json.dumps({**p, "cwd": str(other), "hook_event_name": "PreToolUse"}))
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"", b"")
    spooled = spooled_ids(repo)
    assert len(spooled) == 3, "the event in the other repository's cwd went elsewhere"
    a.stop()
    assert_kept(repo, "s-cd", spooled)
    assert not (other / ".git" / "opentraces").exists()
    assert session_refs(repo) == ["s-cd"]


EDGE = {
    "cwd-a-number": {"hook_event_name": "UserPromptSubmit", "prompt": "p", "cwd": 5},
    "cwd-a-list": {"hook_event_name": "UserPromptSubmit", "prompt": "p", "cwd": ["/tmp"]},
    "tool-name-an-object": {"hook_event_name": "PreToolUse", "tool_name": {"x": 1},
                            "tool_use_id": "t1", "tool_input": {}},
}


@pytest.mark.parametrize("edge", sorted(EDGE) + ["nested-deep"])
def test_a_payload_at_the_edge_is_kept_as_a_raw_record(repo, edge):
    _prompt(repo, "s-edge", "before")
    if edge == "nested-deep":
        text = '{"session_id": "s-edge", "hook_event_name": "PostToolUse", "tool_response": ' \
               + "[" * 100000 + "]" * 100000 + "}"
        event = "PostToolUse"
    else:
        payload = {"session_id": "s-edge", **EDGE[edge]}
        event = payload["hook_event_name"]
        text = json.dumps(payload)
    proc = repo.ot("hook", "claude-code", event, input=text)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"", b"")
    spooled = spooled_ids(repo)
    assert len(spooled) == 2, "the payload at the edge was dropped"
    repo.hook("Stop", {"session_id": "s-edge"})
    lifecycle = assert_kept(repo, "s-edge", spooled)
    [raw] = [e for e in lifecycle if e.get("kind") == "raw"]
    assert raw["event"] == event
    data = raw["data"]
    kept = data["text"]
    if isinstance(kept, dict):  # a large text is a blob of the session
        kept = repo.git("cat-file", "blob", kept["$blob"])
    assert kept == text


def test_fsck_reports_a_damaged_dataset_or_ratings_ref(repo):
    """Records under refs/opentraces/<namespace>/<name> are checked as a
    session's are: a record that does not decode, or of another namespace."""
    repo.cli_json("init")
    one_turn(repo, "s-good", "app.py", FAREWELL, "add farewell")
    repo.git("commit", "-q", "-am", "farewell")
    junk = repo.git("hash-object", "-w", "--stdin", input="not a record").strip()
    ratings = raw_frame(cbor2.dumps({"schema": "git-ot/datasets", "v": 1}))
    other = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=repo.path, input=ratings,
                           capture_output=True, check=True).stdout.decode().strip()
    for ref, blob in (("refs/opentraces/datasets/rows", junk), ("refs/opentraces/ratings/skills", other)):
        tree = repo.git("mktree", input=f"100644 blob {blob}\tr1.cbor.zst\n").strip()
        commit = repo.git("commit-tree", tree, "-m", "damaged").strip()
        repo.git("update-ref", ref, commit)
    proc = repo.cli("fsck", "--json")
    assert proc.returncode == 1
    found = json.loads(proc.stdout)
    assert [(p["kind"], p["name"]) for p in found["problems"]] == [
        ("entity", "refs/opentraces/datasets/rows"), ("entity", "refs/opentraces/ratings/skills")]
    assert all(p["problem"].startswith("corrupt record r1.cbor.zst") for p in found["problems"]), found
    assert found["checked"]["entities"] == 2
    repo.git("update-ref", "-d", "refs/opentraces/datasets/rows")
    repo.git("update-ref", "-d", "refs/opentraces/ratings/skills")
    clean = repo.cli("fsck")
    assert (clean.returncode, clean.stdout.decode().splitlines()[-1]) == (
        0, "checked 1 session, 0 spool files, 1 note: no damage")
