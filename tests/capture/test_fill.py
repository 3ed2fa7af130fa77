"""The calls of unhooked tools, read from the transcript as it grows (capture/claude_code/fill.py).

A real Claude Code session with subagents (the fixtures' large session and
its subagents' files) is written out as Claude Code writes it, a piece at a
time and cut mid-line, with a hook call after each piece; what the hooks
spool must be exactly the read-only tools' events that `git ot import`
makes of the whole files, each once, whatever the pieces.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

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
            if e["kind"] in ("tool_start", "tool_end") and e["data"].get("name") in hooks.READ_ONLY_TOOLS}


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
    assert len(expected) > 40  # Read, Grep, Glob, Task and subagents' calls
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
                                                         "name": "Write", "input": {}}]}},
                               separators=(",", ":")) + "\n")
    monkeypatch.setattr(fill, "_calls", lambda *a: (_ for _ in ()).throw(AssertionError("parsed")))
    location = SimpleNamespace(state_dir=str(tmp_path / "state"))
    assert fill.fill(location, {"session": SID, "kind": "tool_start",
                                "data": {"transcript_path": str(main)}}) == []


def test_the_matcher_hooks_every_tool_but_the_read_only_ones():
    # Claude Code reads a matcher that is not a plain list of names as a
    # JavaScript regular expression; for this pattern Python's matches the same.
    names = sorted(hooks.READ_ONLY_TOOLS) + ["Write", "Edit", "MultiEdit", "Bash", "NotebookEdit",
                                               "mcp__fs__write_file", "Reader", "ReadX", "XRead"]
    hooked = {n for n in names if re.search(settings.TOOL_MATCHER, n)}
    assert hooked == {"Write", "Edit", "MultiEdit", "Bash", "NotebookEdit", "mcp__fs__write_file",
                      "Reader", "ReadX", "XRead"}


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
    events = [
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
