"""Codex: hook payloads, rollouts and apply_patch, as normalised events.

The payloads and the rollout are the real Codex CLI 0.169.0's
(tests/fixtures/codex/recorded-0.169.0/), the older rollouts git-ai's
(tests/fixtures/codex/git-ai/); PROVENANCE.md there says where each comes
from.
"""

from __future__ import annotations

import json

import pytest

from support.repo import FIXTURES
from support.spec import read_session
from git_ot.capture.codex import HARNESS
from git_ot.capture.codex.rollout import SKIP_REASONS, tool_call
from git_ot.capture.edits import apply_file_op, apply_update, parse_apply_patch
from git_ot.errors import BadPayload, NotATranscript

CODEX = FIXTURES / "codex"
RECORDED = CODEX / "recorded-0.169.0"
ROLLOUT = next(RECORDED.glob("rollout-*.jsonl"))
SID = "01a24356-cad1-7870-916c-0a418c1d6cb8"
TURN1, TURN2 = "01a24356-cb02-7442-80a0-2d5ab17faf4c", "01a24356-d915-7b92-8934-37d56a38f129"
OLD_SID = "019c4b43-1451-7af3-be4c-5576369bf1ba"
FAREWELL = ('*** Begin Patch\n*** Update File: app.py\n@@\n     return "hi " + name\n+\n+\n'
            '+def farewell(name):\n+    return "bye " + name\n*** End Patch\n')
APP = 'def greet(name):\n    return "hi " + name\n'


def payloads() -> list[dict]:
    return [json.loads(line) for line in (RECORDED / "hooks.jsonl").read_text().splitlines()]


# -- hook payloads -------------------------------------------------------------

def test_every_recorded_payload_normalises():
    got = [(e["event"], e["kind"], e["writes"], e["data"].get("name"), e["data"].get("turn_id"))
           for e in (HARNESS.normalise(None, p) for p in payloads())]
    assert got == [
        ("SessionStart", "session_start", False, None, None),
        ("UserPromptSubmit", "prompt", False, None, TURN1),
        ("PreModelRequest", "other", False, None, TURN1),
        ("PreToolUse", "tool_start", True, "apply_patch", TURN1),
        ("PostToolUse", "tool_end", True, "apply_patch", TURN1),
        ("PreModelRequest", "other", False, None, TURN1),
        ("PreToolUse", "tool_start", True, "Bash", TURN1),
        ("PostToolUse", "tool_end", True, "Bash", TURN1),
        ("PreModelRequest", "other", False, None, TURN1),
        ("Stop", "stop", False, None, TURN1),
        ("SessionEnd", "session_end", False, None, None),
        ("SessionStart", "session_start", False, None, None),
        ("UserPromptSubmit", "prompt", False, None, TURN2),
        ("PreModelRequest", "other", False, None, TURN2),
        ("PreToolUse", "tool_start", True, "apply_patch", TURN2),
        ("PostToolUse", "tool_end", True, "apply_patch", TURN2),
        ("PreModelRequest", "other", False, None, TURN2),
        ("Stop", "stop", False, None, TURN2),
        ("SessionEnd", "session_end", False, None, None),
    ]
    assert {HARNESS.normalise(None, p)["session"] for p in payloads()} == {SID}


def test_a_patch_and_a_shell_call_in_full():
    p = payloads()
    post_patch = HARNESS.normalise("PostToolUse", p[4])
    assert post_patch == {
        "source": "codex", "event": "PostToolUse", "session": SID, "kind": "tool_end", "writes": True,
        "data": {"cwd": "/tmp/codex-x/repo", "transcript_path": str(p[4]["transcript_path"]),
                 "turn_id": TURN1, "model": "gpt-5.5", "name": "apply_patch",
                 "tool_use_id": "call_30b36127b8a14c18a4b9c34e", "input": {"command": FAREWELL},
                 "output": "Exit code: 0\nWall time: 0 seconds\nOutput:\nSuccess. Updated the following "
                           "files:\nM app.py\n", "error": False}}
    shell = HARNESS.normalise(None, p[6])["data"]
    assert (shell["name"], shell["input"]) == ("Bash", {"command": "printf 'X = 1\\n' > x.py && cat app.py"})
    start = HARNESS.normalise(None, p[11])["data"]
    assert (start["source"], start["model"]) == ("resume", "gpt-5.5")
    assert HARNESS.normalise(None, p[9])["data"]["message"] == "Done one."
    assert HARNESS.normalise(None, p[10])["data"]["reason"] == "other"


@pytest.mark.parametrize("tool,writes", [
    ("apply_patch", True), ("Bash", True), ("exec_command", True), ("mcp__fs__write", True),
    ("read_file", False), ("list_dir", False), ("update_plan", False), ("view_image", False),
])
def test_write_tools_are_snapshotted_read_only_ones_are_not(tool, writes):
    event = HARNESS.normalise("PreToolUse", {"session_id": SID, "tool_name": tool, "tool_input": {}})
    assert event["writes"] is writes


def test_events_this_version_does_not_know_are_kept_whole():
    payload = {"session_id": SID, "hook_event_name": "PostModelRequest", "cwd": "/r", "usage": {"x": 1}}
    event = HARNESS.normalise(None, payload)
    assert (event["kind"], event["data"]["payload"]) == ("other", payload)
    interrupt = HARNESS.normalise("Interrupt", {"session_id": SID, "turn_id": "t"})
    assert (interrupt["kind"], interrupt["data"]) == ("stop", {"turn_id": "t", "interrupted": True})


@pytest.mark.parametrize("event,payload,message", [
    ("Stop", [], "codex hook payload is not a JSON object"),
    (None, {"session_id": SID}, "codex hook payload has no hook_event_name"),
    ("Stop", {"cwd": "/r"}, "codex Stop payload has no session_id"),
    ("PreToolUse", {"session_id": SID, "tool_input": {}}, "codex PreToolUse payload has no tool_name"),
])
def test_bad_payloads(event, payload, message):
    with pytest.raises(BadPayload) as exc:
        HARNESS.normalise(event, payload)
    assert exc.value.message == message


def test_a_bad_payload_leaves_the_hook_silent_and_logged(repo):
    proc = repo.ot("hook", "codex", "Stop", input=b'{"cwd": "/r"}')
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"", b"")
    assert "codex Stop payload has no session_id" in (repo.path / ".git" / "opentraces" / "log").read_text()


# -- apply_patch -----------------------------------------------------------------

def test_apply_patch_parses_every_operation():
    text = ("*** Begin Patch\n*** Add File: new.py\n+A = 1\n+\n*** Delete File: old.py\n"
            "*** Update File: app.py\n*** Move to: src/app.py\n@@ def greet(name):\n-    return 1\n+    return 2\n"
            "@@\n x\n+y\n*** End of File\n*** End Patch")
    assert parse_apply_patch(text) == [
        {"op": "add", "path": "new.py", "content": "A = 1\n\n"},
        {"op": "delete", "path": "old.py"},
        {"op": "update", "path": "app.py", "move_to": "src/app.py", "chunks": [
            {"context": "def greet(name):", "old": ["    return 1"], "new": ["    return 2"], "eof": False},
            {"context": None, "old": ["x"], "new": ["x", "y"], "eof": True}]},
    ]


@pytest.mark.parametrize("text", [None, "", "*** Begin Patch\n*** End Patch", "diff --git a/x b/x",
                                  "*** Begin Patch\n*** Add File: x\nno plus\n*** End Patch",
                                  "*** Begin Patch\n*** Update File: x\n*** End Patch",
                                  "*** Begin Patch\n*** Update File: x\n?odd\n*** End Patch"])
def test_what_is_not_an_apply_patch(text):
    assert parse_apply_patch(text) is None


@pytest.mark.parametrize("before,chunks,after", [
    (APP, parse_apply_patch(FAREWELL)[0]["chunks"], APP + '\n\ndef farewell(name):\n    return "bye " + name\n'),
    # a context line to find first, then the lines below it
    ("a\nx\nb\nx\n", [{"context": "b", "old": ["x"], "new": ["y"]}], "a\nx\nb\ny\n"),
    # lines matched ignoring trailing whitespace, as Codex does
    ("a  \nb\n", [{"context": None, "old": ["a", "b"], "new": ["a", "c"]}], "a\nc\n"),
    # a chunk that only adds goes at the end; the result ends with a line feed
    ("a", [{"context": None, "old": [], "new": ["b"]}], "a\nb\n"),
    # at the end of the file
    ("x\ny\nx\n", [{"context": None, "old": ["x"], "new": ["z"], "eof": True}], "x\ny\nz\n"),
    ("a\n", [{"context": None, "old": ["missing"], "new": ["b"]}], None),
])
def test_apply_update(before, chunks, after):
    assert apply_update(before, chunks) == after


def test_apply_file_op():
    add, = parse_apply_patch("*** Begin Patch\n*** Add File: b.py\n+B = 2\n*** End Patch")
    assert apply_file_op(None, add) == "B = 2\n"
    update, = parse_apply_patch(FAREWELL)
    assert apply_file_op(None, update) is None
    assert apply_file_op("", {"op": "delete", "path": "x"}) is None


# -- rollouts --------------------------------------------------------------------

def converted(path, data: bytes | None = None):
    data = path.read_bytes() if data is None else data
    sessions = HARNESS.by_session([HARNESS.read_transcript(str(path), data)])
    return {sid: HARNESS.convert(sid, lines) for sid, lines in sessions.items()}


def steps_of(events: list[dict]) -> list[tuple]:
    return [(e["kind"], e["data"].get("name") or e["data"].get("text")) for e in events if e["kind"] != "raw"]


def test_the_recorded_rollout():
    [(sid, (events, acct))] = converted(ROLLOUT).items()
    assert sid == SID
    assert (acct.lines, acct.steps, acct.kept_raw, acct.skipped) == (45, 14, 31, {})
    assert steps_of(events) == [
        ("session_start", None), ("prompt", "add farewell"), ("message", "Editing."),
        ("tool_start", "apply_patch"), ("tool_end", "apply_patch"), ("message", "Run."),
        ("tool_start", "Bash"), ("tool_end", "Bash"), ("message", "Done one."),
        ("prompt", "add b"), ("message", "Adding."), ("tool_start", "apply_patch"),
        ("tool_end", "apply_patch"), ("message", "Done two."),
    ]
    start = events[0]["data"]
    assert (start["head"], start["harness_version"], start["source"], start["cwd"]) == (
        {"commit": "32a0c83858817ea1bc565636f955bbd49c7a5429", "branch": "master"}, "0.169.0", "exec",
        "/tmp/codex-x/repo")
    ends = [e["data"] for e in events if e["kind"] == "tool_end"]
    assert ends[0]["edits"] == [{"file": "/tmp/codex-x/repo/app.py", "change": parse_apply_patch(FAREWELL)[0]}]
    assert ends[0]["tool_use_id"] == "call_30b36127b8a14c18a4b9c34e" and ends[0]["error"] is False
    assert ends[1]["input"] == {"command": "printf 'X = 1\\n' > x.py && cat app.py"}
    assert ends[2]["edits"] == [{"file": "/tmp/codex-x/repo/b.py",
                                 "change": {"op": "add", "path": "b.py", "content": "B = 2\n"}}]
    assert {e["data"]["turn_id"] for e in events if e["kind"] == "prompt"} == {TURN1, TURN2}
    # Each of the five model replies gives its usage to its first step.
    usage = {"input_tokens": 100, "output_tokens": 20, "cache_read_input_tokens": 0,
             "cache_creation_input_tokens": 0}
    assert [(e["data"].get("text") or e["data"]["name"]) for e in events if "usage" in e["data"]] == [
        "Editing.", "Run.", "Done one.", "Adding.", "Done two."]
    assert all(e["data"]["usage"] == usage for e in events if "usage" in e["data"])
    raw = sorted({e["event"] for e in events if e["kind"] == "raw"})
    assert raw == ["event_msg/item_completed", "event_msg/task_complete", "event_msg/task_started",
                   "event_msg/thread_settings_applied", "event_msg/token_count", "response_item/message",
                   "session_meta", "token_usage_record", "turn_context", "world_state"]
    # Ids are derived from the lines: a second read folds nothing new.
    assert [e["id"] for e in events] == [e["id"] for e in converted(ROLLOUT)[SID][0]]


def test_older_rollouts():
    [(sid, (events, acct))] = converted(CODEX / "git-ai" / "git-ai-codex-session-updated.jsonl").items()
    assert sid == OLD_SID and (acct.lines, acct.steps, acct.kept_raw) == (6, 5, 1)
    assert steps_of(events) == [
        ("session_start", None), ("prompt", "Refactor src/main.rs to add a greeting function and tests."),
        ("tool_start", "apply_patch"), ("tool_start", "Bash"),
        ("message", "Implemented the refactor and verified tests pass."),
    ]
    calls = [e["data"] for e in events if e["kind"] == "tool_start"]
    assert calls[0]["input"]["command"].startswith("*** Begin Patch\n*** Update File: src/main.rs\n")
    assert calls[1]["input"] == {"command": "cargo test", "workdir": "/Users/test/projects/git-ai"}
    assert calls[1]["model"] == "gpt-5.1-codex"


@pytest.mark.parametrize("name,args,custom,expected", [
    ("exec_command", '{"cmd": "ls -l", "yield_time_ms": 10}', False,
     ("Bash", {"command": "ls -l", "yield_time_ms": 10})),
    ("shell", '{"command": ["bash", "-lc", "make"]}', False, ("Bash", {"command": "make"})),
    ("shell", '{"command": ["ls", "-a", "x", "y"]}', False, ("Bash", {"command": "ls -a x y"})),
    ("shell_command", '{"command": "pwd"}', False, ("Bash", {"command": "pwd"})),
    ("apply_patch", "*** Begin Patch", True, ("apply_patch", {"command": "*** Begin Patch"})),
    ("apply_patch", '{"input": "P"}', False, ("apply_patch", {"command": "P"})),
    ("apply_patch", '{"patch": "P"}', False, ("apply_patch", {"command": "P"})),
    ("read_file", '{"path": "a"}', False, ("read_file", {"path": "a"})),
    ("js_repl", "1 + 1", True, ("js_repl", {"input": "1 + 1"})),
    ("web_search", "not json", False, ("web_search", {"arguments": "not json"})),
])
def test_tool_calls_are_named_as_the_hooks_name_them(name, args, custom, expected):
    assert tool_call(name, args, custom) == expected


def test_a_resumed_thread_in_two_files_is_one_session(tmp_path):
    lines = ROLLOUT.read_bytes().splitlines(keepends=True)
    cut = next(i for i, ln in enumerate(lines) if b'"add b"' in ln) - 3
    first, second = tmp_path / "rollout-a.jsonl", tmp_path / "rollout-b.jsonl"
    first.write_bytes(b"".join(lines[:cut]))
    # An older Codex started a new file for the resumed turn, repeating the history.
    second.write_bytes(b"".join(lines[:cut] + lines[cut:]))
    files = [HARNESS.read_transcript(str(p), p.read_bytes()) for p in (first, second)]
    sessions = HARNESS.by_session(files)
    assert list(sessions) == [SID]
    events, acct = HARNESS.convert(SID, sessions[SID])
    assert (acct.lines, acct.steps, acct.kept_raw, acct.skipped) == (45 + cut, 14, 31, {"duplicate": cut})
    assert steps_of(events) == steps_of(converted(ROLLOUT)[SID][0])
    assert set(SKIP_REASONS) == {"blank", "duplicate"}


def test_a_truncated_rollout_and_unknown_types_are_kept(tmp_path):
    data = ROLLOUT.read_bytes()
    data += b'{"timestamp":"2026-12-04T23:15:00.000Z","type":"future_thing","payload":{"a":1}}\n'
    data += b'{"timestamp":"2026-12-04T23:15:00.100Z","type":"response_item","payload":{"type":"new_item"}}\n'
    data += b'{"timestamp":"2026-12-04T23:15:00.200Z","type":"response_item","payl'
    events, acct = converted(ROLLOUT, data)[SID]
    assert (acct.lines, acct.steps, acct.kept_raw) == (48, 14, 34)
    tail = [(e["kind"], e["event"], e["data"]) for e in events[-3:]]
    assert tail == [("raw", "future_thing", {"line": {"timestamp": "2026-12-04T23:15:00.000Z",
                                                       "type": "future_thing", "payload": {"a": 1}}}),
                    ("raw", "response_item/new_item", {"line": {
                        "timestamp": "2026-12-04T23:15:00.100Z", "type": "response_item",
                        "payload": {"type": "new_item"}}}),
                    ("raw", "unparsed", {"text": '{"timestamp":"2026-12-04T23:15:00.200Z","type":"response_item","payl'})]


def test_what_is_not_a_rollout(tmp_path):
    with pytest.raises(NotATranscript) as exc:
        HARNESS.read_transcript("/x/notes.jsonl", b"hello\n")
    assert exc.value.message == "'/x/notes.jsonl' is not a Codex rollout"
    with pytest.raises(NotATranscript) as exc:
        HARNESS.read_transcript("/x/notes.jsonl", b'{"type": "response_item", "payload": {}}\n')
    assert exc.value.message == "'/x/notes.jsonl' names no Codex thread"


# -- git ot import codex -----------------------------------------------------------

def rollout_of(repo, tmp_path, name: str = "rollout.jsonl"):
    """The recorded rollout as if it had run in `repo`, from its HEAD."""
    head = repo.git("rev-parse", "HEAD").strip()
    data = ROLLOUT.read_bytes().replace(b"/tmp/codex-x/repo", str(repo.path).encode()).replace(
        b"32a0c83858817ea1bc565636f955bbd49c7a5429", head.encode())
    path = tmp_path / name
    path.write_bytes(data)
    return path


def do_import(repo, *args) -> dict:
    proc = repo.cli("import", "codex", *map(str, args), "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)


def test_import_rebuilds_apply_patch_steps(repo, tmp_path):
    out = do_import(repo, rollout_of(repo, tmp_path))
    assert out["sessions"] == [{"session": SID, "lines": 45, "steps": 14, "kept_raw": 31, "skipped": {},
                                "merged_into_live": False, "changed": True}]
    assert out["other_projects"] == []
    steps = repo.ot_json("trace", "show", SID)["steps"]
    assert [(s["n"], s["kind"], s.get("name") or s.get("text")) for s in steps] == [
        (1, "prompt", "add farewell"), (2, "message", "Editing."), (3, "tool", "apply_patch"),
        (4, "message", "Run."), (5, "tool", "Bash"), (6, "message", "Done one."),
        (7, "prompt", "add b"), (8, "message", "Adding."), (9, "tool", "apply_patch"),
        (10, "message", "Done two."),
    ]
    assert {s["n"]: s["patch"]["files"] for s in steps if "patch" in s} == {
        3: [{"status": "M", "path": "app.py", "hunks": [[2, 0, 3, 4]], "added": 4, "removed": 0}],
        9: [{"status": "A", "path": "b.py", "hunks": [[0, 0, 1, 1]], "added": 1, "removed": 0}],
    }
    records = read_session(repo.path, SID)[-1]["records"]
    assert records["trace"]["info"]["harness"] == "codex"
    assert records["trace"]["info"]["base"]["commit"] == repo.git("rev-parse", "HEAD").strip()
    assert sorted(records["trail"]["snapshots"]) == ["3-after", "3-before", "9-after", "9-before"]
    again = do_import(repo, rollout_of(repo, tmp_path))
    assert again["sessions"][0]["changed"] is False


def test_another_projects_rollout_is_one_line(repo, tmp_path):
    proc = repo.cli("import", "codex", str(ROLLOUT))
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode() == ("1 file, 59922 bytes, 0 sessions\n"
                                    f"skipped 1 session of other projects (run elsewhere, from commits "
                                    f"this repository does not have): {SID}\n")
    assert repo.git("for-each-ref", "refs/opentraces/") == ""


def test_the_default_folder_is_codex_home_sessions(repo, tmp_path, monkeypatch):
    sessions = tmp_path / "codex-home" / "sessions" / "2026" / "12" / "04"
    sessions.mkdir(parents=True)
    rollout_of(repo, sessions, ROLLOUT.name)
    (sessions / "rollout-other.jsonl").write_bytes(
        (CODEX / "git-ai" / "git-ai-codex-session-simple.jsonl").read_bytes())
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "codex-home"))
    out = do_import(repo)
    assert [s["session"] for s in out["sessions"]] == [SID]
    assert out["other_projects"] == [{"session": OLD_SID, "cwd": "/Users/test/projects/git-ai"}]
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "nowhere"))
    proc = repo.cli("import", "codex")
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines() == [
        f"error: no Codex transcripts for this repository in '{tmp_path}/nowhere/sessions'",
        "hint: name the rollout files or folders to import, or set CODEX_HOME to Codex's home folder"]


@pytest.mark.parametrize("output,failed", [
    ("Exit code: 0\nWall time: 0 seconds\nOutput:\nSuccess. Updated the following files:\nM app.py\n", False),
    ("Exit code: 1\nWall time: 0 seconds\nOutput:\napply_patch verification failed: no such file\n", True),
    ("Chunk ID: 434d11\nWall time: 0.0000 seconds\nProcess exited with code 2\nOutput:\nboom\n", True),
    ("Chunk ID: 434d11\nWall time: 0.0000 seconds\nProcess exited with code 0\nOutput:\nok\n", False),
    ('{"output": "x", "metadata": {"exit_code": 1, "duration_seconds": 0.1}}', True),
    ('{"output": "x", "metadata": {"exit_code": 0}}', False),
    ("plain output that mentions Exit code: 3 mid-line", False),
    (None, False), ({"stdout": ""}, False),
])
def test_a_tools_exit_status_from_its_output(output, failed):
    from git_ot.capture.codex.hooks import failed as tool_failed

    assert tool_failed(output) is failed
    end = HARNESS.normalise("PostToolUse", {"session_id": SID, "tool_name": "apply_patch",
                                            "tool_response": output})
    assert end["data"]["error"] is failed


def test_a_compaction_is_a_step_and_its_history_is_kept(tmp_path):
    line = {"timestamp": "2026-12-04T23:15:00.000Z", "type": "compacted",
            "payload": {"message": "summary of the work so far", "replacement_history": [
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "add farewell"}]}]}}
    data = ROLLOUT.read_bytes() + json.dumps(line).encode() + b"\n"
    events, acct = converted(ROLLOUT, data)[SID]
    assert (acct.steps, acct.kept_raw) == (15, 31)
    compact, kept = events[-2:]
    assert (compact["kind"], compact["event"], compact["data"]["phase"]) == ("compact", "compacted", "post")
    assert (kept["kind"], kept["event"], kept["data"]["line"]) == ("raw", "compacted", line)
