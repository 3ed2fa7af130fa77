"""`git ot forget --all`, `--since`, `--before` and `--dry-run`: which sessions
each selects, exactly what is printed, and that a dry run changes nothing.

Sessions with known start times are imported from small transcripts with
fixed timestamps (an import keeps the transcript's times); one more is made
live through the hooks and left in the spool.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess

from support.repo import git

OLD, MID, NEW = "11111111-0000-4000-8000-000000000001", "22222222-0000-4000-8000-000000000002", \
    "33333333-0000-4000-8000-000000000003"
STARTS = {OLD: "2024-01-10T09:00:00.000Z", MID: "2025-03-01T12:00:00.000Z", NEW: "2026-01-05T08:30:00.000Z"}


def _transcript(tmp_path, sid: str, start: str):
    """A two-message transcript whose first event is at `start`."""
    base = {"isSidechain": False, "userType": "external", "cwd": "/home/user/app", "sessionId": sid,
            "version": "2.1.38", "gitBranch": "main"}
    later = start[:-5] + "30.000Z"
    lines = [
        {**base, "parentUuid": None, "type": "user", "uuid": sid[:8] + "-u",
         "message": {"role": "user", "content": "say hello"}, "timestamp": start},
        {**base, "parentUuid": sid[:8] + "-u", "type": "assistant", "uuid": sid[:8] + "-a",
         "message": {"id": "msg_" + sid[:8], "type": "message", "role": "assistant", "model": "claude-test",
                     "content": [{"type": "text", "text": "hello"}], "stop_reason": "end_turn",
                     "usage": {"input_tokens": 1, "output_tokens": 1}},
         "timestamp": later},
    ]
    path = tmp_path / f"{sid}.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def _sessions(repo, tmp_path, live: bool = True):
    for sid, start in STARTS.items():
        repo.cli_json("import", "claude-code", str(_transcript(tmp_path, sid, start)))
    if live:  # now, only in the spool
        repo.hook("UserPromptSubmit", {"session_id": "live-1", "prompt": "still going"})


def _refs(repo):
    return repo.git("for-each-ref", "--format=%(refname) %(objectname)").splitlines()


def _state(repo):
    """Everything forget may change: refs, notes, spool, reflogs, objects."""
    ot = repo.path / ".git" / "opentraces"
    files = {}
    for root, _, names in os.walk(ot):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as fh:
                files[os.path.relpath(path, ot)] = hashlib.sha1(fh.read()).hexdigest()
    objects = subprocess.run(["git", "cat-file", "--batch-all-objects", "--batch-check"], cwd=repo.path,
                             capture_output=True, check=True).stdout
    logs = sorted(str(p.relative_to(repo.path)) for p in (repo.path / ".git" / "logs").rglob("*"))
    return _refs(repo), repo.git("notes", "--ref=opentraces", "list"), files, objects, logs


def _local_sessions(repo):
    return sorted(r.split()[0].rsplit("/", 1)[1] for r in _refs(repo) if r.startswith("refs/opentraces/sessions/"))


def test_imported_sessions_keep_their_start(repo, tmp_path):
    _sessions(repo, tmp_path, live=False)
    starts = {s["session"]: s["start"] for s in repo.cli_json("trace", "list")["sessions"]}
    assert {sid: starts[sid][:19] for sid in STARTS} == {sid: t[:19] for sid, t in STARTS.items()}


def test_since_and_before_select_exactly_by_start(repo, tmp_path):
    _sessions(repo, tmp_path)
    pick = lambda *args: [s["session"] for s in repo.cli_json("forget", "--dry-run", *args)["sessions"]]
    assert pick("--since", "2025-03-01T12:00:00Z") == [MID, NEW, "live-1"]  # at the start counts
    assert pick("--since", "2025-03-01T12:00:01Z") == [NEW, "live-1"]
    assert pick("--before", "2025-03-01T12:00:00Z") == [OLD]  # before is strict
    assert pick("--before", "2025-03-01T12:00:01Z") == [OLD, MID]
    assert pick("--since", "2024-06-01", "--before", "2026-01-01") == [MID]
    assert pick("--since", "7d") == ["live-1"]
    assert pick("--before", "7d") == [OLD, MID, NEW]
    assert pick("--all") == [OLD, MID, NEW, "live-1"]
    assert pick("--all", "--since", "2026-01-01") == [NEW, "live-1"]

    result = repo.cli_json("forget", "--since", "2024-06-01", "--before", "2026-01-01")
    assert result["dry_run"] is False
    assert [s["session"] for s in result["sessions"]] == [MID]
    assert _local_sessions(repo) == sorted([OLD, NEW])


def test_dry_run_prints_what_would_go_and_changes_nothing(repo, tmp_path):
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    repo.git("remote", "add", "origin", str(bare))
    _sessions(repo, tmp_path)
    head = repo.git("rev-parse", "HEAD").strip()
    line = json.dumps({"v": 1, "session": OLD, "step": 1, "hunk": "1.1.1", "path": "x", "lines": [1, 1],
                       "harness": "claude-code", "model": None}, separators=(",", ":"))
    repo.git("notes", "--ref=opentraces", "add", "-m", line, head)
    before = _state(repo)

    proc = repo.ot("forget", "--dry-run", "--before", "2025-01-01")
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().splitlines() == [
        f"would forget {OLD} (refs/opentraces/sessions/{OLD})",
        "would remove 1 note line from refs/notes/opentraces",
        "remote 'origin' may still hold it",
        "dry run: nothing was deleted"]
    assert _state(repo) == before

    assert repo.ot_json("forget", "--dry-run", "--all") == {
        "dry_run": True,
        "sessions": [{"session": OLD, "refs": [f"refs/opentraces/sessions/{OLD}"], "spool": False},
                     {"session": MID, "refs": [f"refs/opentraces/sessions/{MID}"], "spool": False},
                     {"session": NEW, "refs": [f"refs/opentraces/sessions/{NEW}"], "spool": False},
                     {"session": "live-1", "refs": [], "spool": True}],
        "remote": None,
        "notes": [{"ref": "refs/notes/opentraces", "lines": 1}],
        "objects": None,
        "ran": [],
        "remotes": [{"remote": "origin",
                     "commands": [f"git ot forget --remote origin {OLD} {MID} {NEW} live-1"]}],
    }
    proc = repo.ot("forget", "--dry-run", "--remote", "origin", MID)
    assert proc.stdout.decode().splitlines() == [
        f"would forget {MID} (refs/opentraces/sessions/{MID})",
        "would delete it on origin too",
        "dry run: nothing was deleted"]
    assert _state(repo) == before

    # The real run removes what the dry run named.
    result = repo.ot_json("forget", "--all")
    assert result["dry_run"] is False
    assert [s["session"] for s in result["sessions"]] == [OLD, MID, NEW, "live-1"]
    assert result["notes"] == [{"ref": "refs/notes/opentraces", "lines": 1}]
    assert not [r for r in _refs(repo) if r.startswith("refs/opentraces/")]
    assert not os.listdir(repo.path / ".git" / "opentraces" / "spool")


def test_all_with_remote_forgets_there_too(repo, tmp_path):
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    repo.git("remote", "add", "origin", str(bare))
    _sessions(repo, tmp_path, live=False)
    repo.git("push", "-q", "origin", "refs/opentraces/sessions/*:refs/opentraces/sessions/*")
    proc = repo.ot("forget", "--all", "--remote", "origin")
    assert proc.returncode == 0, proc.stderr.decode()
    out = proc.stdout.decode().splitlines()
    assert [line for line in out if line.startswith("deleted refs/")] == [
        f"deleted refs/opentraces/sessions/{sid} on origin" for sid in (OLD, MID, NEW)]
    assert git(bare, "for-each-ref", "refs/opentraces/") == ""


def test_nothing_selected_says_so_and_succeeds(repo, tmp_path):
    for args in (("--all",), ("--all", "--dry-run"), ("--since", "1d")):
        proc = repo.ot("forget", *args)
        assert (proc.returncode, proc.stdout.decode(), proc.stderr.decode()) == (0, "no sessions to forget\n", "")
    assert repo.ot_json("forget", "--all") == {
        "dry_run": False, "sessions": [], "remote": None, "notes": [],
        "objects": {"deleted": 0, "kept": 0, "remaining": []}, "ran": [], "remotes": []}
    _sessions(repo, tmp_path, live=False)
    proc = repo.ot("forget", "--since", "2999-01-01")
    assert (proc.returncode, proc.stdout.decode()) == (0, "no sessions to forget\n")
    assert _local_sessions(repo) == sorted(STARTS)


def test_usage_errors(repo):
    cases = {
        ("forget",): ["error: name the sessions to forget, or give --all, --since or --before",
                      "hint: see 'git ot forget --help'"],
        ("forget", "--all", OLD): [
            "error: give either SESSION arguments or --all, --since and --before, not both",
            "hint: see 'git ot forget --help'"],
        ("forget", "--since", "7d", OLD): [
            "error: give either SESSION arguments or --all, --since and --before, not both",
            "hint: see 'git ot forget --help'"],
        ("forget", "--before", "yesterday"): [
            "error: invalid --before 'yesterday'",
            "hint: give an age such as '7d', '2w', '24h' or '30m', or a date such as "
            "'2024-05-01' or '2024-05-01T12:00:00Z'"],
        ("forget", "--since", "soon", "--dry-run"): [
            "error: invalid --since 'soon'",
            "hint: give an age such as '7d', '2w', '24h' or '30m', or a date such as "
            "'2024-05-01' or '2024-05-01T12:00:00Z'"],
    }
    for args, err in cases.items():
        proc = repo.ot(*args)
        assert (proc.returncode, proc.stdout.decode(), proc.stderr.decode().splitlines()) == (1, "", err), args
