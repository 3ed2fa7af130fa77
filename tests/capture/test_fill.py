"""The calls of unhooked tools, read from the transcript as it grows (capture/claude_code/fill.py).

A real Claude Code session with subagents (the fixtures' large session and
its subagents' files) is written out as Claude Code writes it, a piece at a
time and cut mid-line, with a hook call after each piece; what the hooks
spool must be exactly the read-only tools' events that `git ot import`
makes of the whole files, each once, whatever the pieces.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from git_ot.capture.claude_code import fill, hooks, settings, transcript
from git_ot.capture import jsonl
from git_ot.store import state

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "claude-code"
SID = "4d5611e5-241a-462a-8d15-5122611a9569"
MAIN = FIXTURES / "spotter-large" / f"{SID}.jsonl"
SUBAGENTS = FIXTURES / "spotter" / SID / "subagents"


def imported(files: list[Path]) -> dict[str, dict]:
    """What `git ot import` makes of the files: the unhooked tools' events, by id."""
    lines = jsonl.by_session([transcript.read_transcript(str(p), p.read_bytes()) for p in files])
    events, _ = transcript.convert(SID, lines[SID])
    return {e["id"]: e for e in events
            if e["kind"] in ("tool_start", "tool_end") and e["data"].get("name") in hooks.UNHOOKED_TOOLS}


def test_a_growing_transcript_gives_each_unhooked_call_once_as_import_makes_it(tmp_path):
    project = tmp_path / "projects" / "-repo"
    (project / SID / "subagents").mkdir(parents=True)
    main = project / f"{SID}.jsonl"
    subs = sorted(SUBAGENTS.glob("agent-*.jsonl"))
    location = SimpleNamespace(state_dir=str(tmp_path / "state"))
    event = {"session": SID, "kind": "tool_start", "data": {"transcript_path": str(main)}}
    data = MAIN.read_bytes()
    # Seven pieces, each ending inside a line, as a hook finds a transcript
    # Claude Code is still writing.
    cuts = [len(data) * k // 7 + 5 for k in range(1, 7)] + [len(data)]
    spooled: list[dict] = []
    start = 0
    for i, cut in enumerate(cuts):
        with open(main, "ab") as fh:
            fh.write(data[start:cut])
        start = cut
        if i == 3:  # the subagents start to write halfway
            for sub in subs:
                shutil.copy(sub, project / SID / "subagents" / sub.name)
        spooled += fill.fill(location, event)
    spooled += fill.settle(location, SID)
    assert fill.settle(location, SID) == [] and fill.fill(location, event) == []  # nothing twice

    expected = imported([main] + [project / SID / "subagents" / s.name for s in subs])
    assert len(expected) > 40  # Read, Grep, Glob, Task, Edit, Write and subagents' calls
    # A write call's end carries its file before and after, for the seal.
    ends = [e for e in expected.values() if e["kind"] == "tool_end"
            and e["data"]["name"] in hooks.TRANSCRIPT_WRITE_TOOLS]
    assert ends and all(isinstance(e["data"].get("edits"), list) for e in ends)
    assert any(e["data"].get("agent_id") for e in expected.values())
    files = {str(main)} | {str(project / SID / "subagents" / s.name) for s in subs}

    def placeless(ev: dict) -> dict:
        # A subagent's call relayed into its parent's transcript (an
        # agent_progress line) is the same event read from another file.
        assert ev["data"]["transcript_path"] in files
        return {**ev, "data": {k: v for k, v in ev["data"].items() if k != "transcript_path"}}

    for ev in spooled:
        assert "usage" not in ev["data"]  # a reply's usage is the reply's: a hook reads no reply
    for ev in expected.values():
        ev["data"].pop("usage", None)

    by_id: dict[str, dict] = {}
    for ev in spooled:
        assert ev.pop("filled") is True
        assert by_id.setdefault(ev["id"], placeless(ev)) == placeless(ev)
    assert by_id == {k: placeless(v) for k, v in expected.items()}
    # The state names what was read of each file, to the end of its last line.
    kept = json.loads(Path(state.transcript_fill(location.state_dir, SID)).read_text())
    assert {k: v["offset"] for k, v in kept.items()} == {
        str(p): p.stat().st_size for p in [main] + [project / SID / "subagents" / s.name for s in subs]}
    assert all(v["open"] == {} for v in kept.values())


def test_a_chunk_naming_no_unhooked_tool_is_not_parsed(tmp_path, monkeypatch):
    main = tmp_path / f"{SID}.jsonl"
    main.write_text(json.dumps({"type": "assistant", "uuid": "u1", "sessionId": SID,
                                "timestamp": "2026-12-01T00:00:00Z",
                                "message": {"content": [{"type": "tool_use", "id": "t1",
                                                         "name": "Bash", "input": {}}]}},
                               separators=(",", ":")) + "\n")
    monkeypatch.setattr(fill, "_calls", lambda *a: (_ for _ in ()).throw(AssertionError("parsed")))
    location = SimpleNamespace(state_dir=str(tmp_path / "state"))
    assert fill.fill(location, {"session": SID, "kind": "tool_start",
                                "data": {"transcript_path": str(main)}}) == []


def test_the_matcher_hooks_every_tool_but_those_the_transcript_tells():
    # Claude Code reads a matcher that is not a plain list of names as a
    # JavaScript regular expression; for this pattern Python's matches the same.
    names = sorted(hooks.READ_ONLY_TOOLS) + ["Write", "Edit", "MultiEdit", "Bash", "NotebookEdit",
                                               "mcp__fs__write_file", "Reader", "ReadX", "XRead",
                                               "Writer", "EditX", "MultiEdits"]
    hooked = {n for n in names if re.search(settings.TOOL_MATCHER, n)}
    assert hooked == {"Bash", "NotebookEdit", "mcp__fs__write_file", "Reader", "ReadX", "XRead",
                      "Writer", "EditX", "MultiEdits"}


def test_a_seal_places_calls_read_late_from_the_transcript_by_their_time(repo):
    """A transcript is written a moment after the hooks fire: a Read read
    from it is spooled after the Write that followed it, and the seal folds
    it before that Write, by its time; every other event keeps its place."""
    from git_ot.store.spool import Spool
    from git_ot.store.gitdir import locate

    sid = "5e1f0c3a-0000-4000-8000-000000000001"
    base = {"v": 1, "source": "claude-code", "session": sid}
    where = {"cwd": str(repo.path), "transcript_path": "/nonexistent.jsonl"}

    def ev(eid, t, kind, event, **data):
        return {**base, "id": eid, "t": t, "kind": kind, "event": event, "data": {**where, **data}}

    read = {"name": "Read", "tool_use_id": "toolu_r", "input": {"file_path": str(repo.path / "app.py")}}
    write = {"name": "Write", "tool_use_id": "toolu_w",
             "input": {"file_path": str(repo.path / "new.py"), "content": "N = 1\n"}}
    # The receiver spools telemetry as it arrives, before the prompt still
    # in the inbox: it places nothing.
    telemetry = {**base, "id": "00000000000000c1", "t": 101.5, "kind": "telemetry",
                 "event": "claude_code.api_request",
                 "data": {"signal": "logs", "name": "claude_code.api_request", "time": 101.5,
                          "attributes": {}}}
    events = [
        telemetry,
        ev("0000000000000001", 100.0, "prompt", "UserPromptSubmit", text="read, then write"),
        ev("0000000000000002", 103.0, "tool_start", "PreToolUse", **write),
        ev("0000000000000003", 104.0, "tool_end", "PostToolUse", **write, output="ok", error=False),
        # Read at PostToolUse of the Write: the Read ran before it.
        {**ev("tr-00000000000000a1", 101.0, "tool_start", "tool_use", **read), "filled": True},
        {**ev("tr-00000000000000a2", 102.0, "tool_end", "tool_result", **read, output="x", error=False),
         "filled": True},
        ev("0000000000000004", 105.0, "stop", "Stop", message="Done."),
        # Read by the detached seal once the transcript was quiet: after the Stop's event.
        {**ev("tr-00000000000000b1", 104.5, "tool_start", "tool_use",
              **{**read, "tool_use_id": "toolu_r2"}), "filled": True},
        {**ev("tr-00000000000000b2", 104.6, "tool_end", "tool_result",
              **{**read, "tool_use_id": "toolu_r2"}, output="x", error=False), "filled": True},
    ]
    Spool(locate(str(repo.path)).state_dir).append_many(sid, events)
    steps = repo.ot_json("trace", "show", sid)["steps"]
    assert [(s["n"], s["kind"], s.get("name") or s.get("text"), s.get("tool_use_id")) for s in steps] == [
        (1, "prompt", "read, then write", None),
        (2, "tool", "Read", "toolu_r"),
        (3, "tool", "Write", "toolu_w"),
        (4, "tool", "Read", "toolu_r2"),
        (5, "message", "Done.", None),
    ]


RECORDED = FIXTURES / "recorded-2.1.328" / "linear-edit"


def _edit_turn(repo) -> tuple[str, list[bytes]]:
    """The recorded linear-edit session's lines, up to its first Edit's
    result, as if run in `repo` (its app.py as the Edit found it); the
    session id and the lines: ..., the Edit's tool_use, its result."""
    lines = (RECORDED / "transcript.jsonl").read_bytes().replace(
        b"/home/dev/src/linear-edit", str(repo.path).encode()).splitlines(keepends=True)
    objs = [json.loads(line) for line in lines]
    result = next(i for i, o in enumerate(objs) if isinstance(o.get("toolUseResult"), dict)
                  and "originalFile" in o["toolUseResult"])
    repo.write("app.py", objs[result]["toolUseResult"]["originalFile"])
    repo.git("add", "app.py")
    repo.git("commit", "-q", "--allow-empty", "-m", "app")
    return objs[result]["sessionId"], lines[:result + 1]


def _edited(repo, lines: list[bytes]) -> None:
    """The Edit's effect on app.py, as its result says."""
    result = json.loads(lines[-1])["toolUseResult"]
    text = result["originalFile"].replace(result["oldString"], result["newString"])
    repo.write("app.py", text)


def _session_began(repo, sid: str, transcript: Path) -> None:
    """The session's first two hook calls, at the times they were recorded
    (the transcript's lines hold theirs)."""
    recorded = [json.loads(line) for line in (RECORDED / "hooks.jsonl").read_bytes().splitlines()]
    for event, extra in (("SessionStart", {"source": "startup"}), ("UserPromptSubmit", {"prompt": "farewell"})):
        at = next(p["_received_at"] for p in recorded if p["hook_event_name"] == event)
        payload = {"session_id": sid, "transcript_path": str(transcript), "cwd": str(repo.path),
                   "hook_event_name": event, **extra}
        proc = repo.ot("hook", "claude-code", event, input=json.dumps(payload),
                       env={**os.environ, "GIT_OT_EVENT_TIME": str(at)})
        assert proc.returncode == 0


@pytest.mark.parametrize("result_late", [False, True], ids=["result-written", "result-written-during-commit"])
def test_a_commit_made_right_after_an_unhooked_edit_gives_its_lines_to_the_session(repo, tmp_path, result_late):
    """No hook runs between the agent's Edit and the person's commit: the
    post-commit hook reads the transcript before it anchors, waiting for the
    result of a write call the transcript shows started."""
    import threading

    repo.cli_json("init")
    sid, lines = _edit_turn(repo)
    transcript = tmp_path / "projects" / f"{sid}.jsonl"
    transcript.parent.mkdir()
    edit_at = next(i for i, line in enumerate(lines) if b'"name":"Edit"' in line)
    transcript.write_bytes(b"".join(lines[:edit_at]))  # up to the Edit's call
    _session_began(repo, sid, transcript)
    with open(transcript, "ab") as fh:
        fh.write(b"".join(lines[edit_at:-1]))  # the call
    _edited(repo, lines)
    late = threading.Timer(0.3, lambda: transcript.open("ab").write(lines[-1]))
    if result_late:
        late.start()  # Claude Code writes the result as the tool ends
    else:
        late.function()
    repo.git("commit", "-q", "-am", "farewell")
    if result_late:
        late.join()
    head = repo.git("rev-parse", "HEAD").strip()
    note = [json.loads(line) for line in repo.git("notes", "--ref=opentraces", "show", head).splitlines()]
    assert note == [{"v": 1, "session": sid, "step": 2, "hunk": "2.1.1", "path": "app.py", "lines": [3, 6],
                     "harness": "claude-code", "model": "claude-opus-5-5"}]


def test_a_write_read_from_the_transcript_without_its_contents_gives_its_lines_to_no_one(repo):
    """A result with a structuredPatch alone (no file before and after)
    gives a patch but no states; the call was still captured live, so its
    window is blind: the lines are of unknown origin, never the person's."""
    from git_ot.store.gitdir import locate
    from git_ot.store.spool import Spool

    repo.cli_json("init")
    sid = "5e1f0c3a-0000-4000-8000-000000000002"
    base = {"v": 1, "source": "claude-code", "session": sid}
    where = {"cwd": str(repo.path), "transcript_path": "/nonexistent.jsonl"}
    now = time.time()
    write = {"name": "Write", "tool_use_id": "toolu_w",
             "input": {"file_path": str(repo.path / "notes.txt"), "content": "one\ntwo\n"}}
    events = [
        {**base, "id": "0000000000000001", "t": now - 3, "kind": "prompt", "event": "UserPromptSubmit",
         "data": {**where, "text": "write notes"}},
        {**base, "id": "tr-00000000000000d1", "t": now - 2, "kind": "tool_start", "event": "tool_use",
         "writes": True, "filled": True, "data": {**where, **write}},
        {**base, "id": "tr-00000000000000d2", "t": now - 1, "kind": "tool_end", "event": "tool_result",
         "writes": True, "filled": True,
         "data": {**where, **write, "output": "ok", "error": False,
                  "edits": [{"file": str(repo.path / "notes.txt"), "status": "A", "hunks": [[0, 0, 1, 2]],
                             "added": 2, "removed": 0}]}},
        {**base, "id": "0000000000000002", "t": now - 0.5, "kind": "stop", "event": "Stop",
         "data": {**where, "message": "Wrote notes."}},
    ]
    repo.write("notes.txt", "one\ntwo\n")
    Spool(locate(str(repo.path)).state_dir).append_many(sid, events)
    [step] = [s for s in repo.ot_json("trace", "show", sid)["steps"] if s["kind"] == "tool"]
    assert (step["filled"], step["patch"]["files"][0]["hunks"]) == (True, [[0, 0, 1, 2]])
    assert "snapshot_before" not in step
    repo.git("add", "notes.txt")
    repo.git("commit", "-q", "-m", "notes")
    lines = repo.cli_json("blame", "notes.txt")["lines"]
    assert [ln["attribution"] for ln in lines] == [
        {"kind": "unknown", "reason": "unknown", "candidates": [f"{sid}:2"]}] * 2
