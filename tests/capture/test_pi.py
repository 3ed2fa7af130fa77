"""Pi: the extension's events normalised (`git ot hook pi`), and its session
files read (`git ot import pi`), on real session files (tests/fixtures/pi/,
see PROVENANCE.md there).

Every import goes through the same fold and seal as live capture, so each
session here is also read back straight from git objects and checked
against the format specification (tests/support/spec.py, read_session).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from support.repo import FIXTURES
from support.spec import read_session
from git_ot.capture.pi.hooks import normalise
from git_ot.capture.pi.transcript import agrees, default_folder, hunks_from_numbered_diff
from git_ot.errors import BadPayload

PI = FIXTURES / "pi"
RECORDED = next((PI / "recorded-0.73.1").glob("*.jsonl"))
RECORDED_ID = "01a24362-86bc-77e4-95a5-38aa08147e0a"
V1 = PI / "pi-mono-large-session-v1.jsonl"
GIT_AI = PI / "git-ai-pi-session-tool.jsonl"
CWD = "/home/dev/src/app"
BASE = {"sessionId": "01a24362-86bc-77e4-95a5-38aa08147e0a", "cwd": CWD,
        "sessionFile": "/home/dev/.pi/agent/sessions/--home-dev-src-app--/s.jsonl",
        "model": {"provider": "fake", "id": "claude-scripted"}}
WHERE = {"cwd": CWD, "transcript_path": BASE["sessionFile"]}


def entries(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def do_import(repo, *args, env=None) -> dict:
    proc = repo.cli("import", "pi", *map(str, args), "--json", env=env)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stderr == b""
    return json.loads(proc.stdout)


def tip_records(repo, sid: str) -> dict:
    return read_session(repo.path, sid)[-1]["records"]


def shape(steps: list[dict]) -> list[tuple]:
    return [(s["n"], s["kind"], s.get("name") or s.get("text")) for s in steps]


# -- live events ------------------------------------------------------------------------

def event(name, **fields):
    return normalise(name, {"type": name, **BASE, **fields})


def test_normalise_each_event():
    sid = BASE["sessionId"]

    def out(name, kind, data, writes=False):
        return {"source": "pi", "event": name, "session": sid, "kind": kind, "writes": writes,
                "data": {**WHERE, **data}}

    assert event("session_start", reason="startup") == out(
        "session_start", "session_start", {"source": "startup", "model": "claude-scripted"})
    assert event("session_start", reason="fork", previousSessionFile="/p/old.jsonl") == out(
        "session_start", "session_start",
        {"source": "fork", "model": "claude-scripted", "previous_session": "/p/old.jsonl"})
    user = {"role": "user", "content": [{"type": "text", "text": "add a test"}]}
    assert event("message_end", message=user) == out("message_end", "prompt", {"text": "add a test"})
    reply = {"role": "assistant", "content": [{"type": "text", "text": "One."}, {"type": "text", "text": "Two."}],
             "model": "claude-x", "provider": "fake", "stopReason": "toolUse",
             "usage": {"input": 10, "output": 5, "cacheRead": 2, "cacheWrite": 0, "totalTokens": 17}}
    assert event("message_end", message=reply) == out("message_end", "message", {
        "text": "One.\n\nTwo.", "model": "claude-x",
        "usage": {"input_tokens": 10, "output_tokens": 5, "cache_creation_input_tokens": 0,
                  "cache_read_input_tokens": 2}})
    custom = {"role": "custom", "customType": "x", "content": "hi"}
    assert event("message_end", message=custom)["kind"] == "other"
    assert event("message_end", message=custom)["data"]["payload"]["message"] == custom
    edit = {"path": "app.py", "edits": [{"oldText": "a", "newText": "b"}]}
    assert event("tool_call", toolName="edit", toolCallId="toolu_1", input=edit) == out(
        "tool_call", "tool_start", {"name": "edit", "tool_use_id": "toolu_1", "input": edit}, writes=True)
    assert event("tool_call", toolName="read", toolCallId="toolu_2", input={"path": "a"})["writes"] is False
    assert event("tool_call", toolName="bash", toolCallId="toolu_3", input={"command": "ls > x"})["writes"] is True
    assert event("tool_call", toolName="bash", toolCallId="toolu_4", input={"command": "ls"})["writes"] is False
    content = [{"type": "text", "text": "Successfully replaced 1 block(s) in app.py."}]
    details = {"diff": "-1 a\n+1 b", "firstChangedLine": 1}
    assert event("tool_result", toolName="edit", toolCallId="toolu_1", input=edit, content=content,
                 details=details, isError=False) == out(
        "tool_result", "tool_end", {"name": "edit", "tool_use_id": "toolu_1", "input": edit,
                                    "output": {"content": content, "details": details}, "error": False},
        writes=True)
    failed = event("tool_result", toolName="bash", toolCallId="t", input={}, content=content, isError=True)
    assert failed["data"]["error"] is True and failed["data"]["output"] == {"content": content}
    assert event("agent_end") == out("agent_end", "stop", {})
    assert event("session_compact", compactionEntry={"id": "c1", "tokensBefore": 5000}, fromExtension=False) \
        == out("session_compact", "compact", {"phase": "post", "tokens_before": 5000})
    assert event("session_shutdown", reason="quit") == out("session_shutdown", "session_end", {"reason": "quit"})
    tree = event("session_tree", newLeafId="b", oldLeafId="a")
    assert tree == out("session_tree", "other", {"payload": {"type": "session_tree", **BASE,
                                                             "newLeafId": "b", "oldLeafId": "a"}})
    assert event("agent_end", piVersion="0.73.1") == out("agent_end", "stop", {"harness_version": "0.73.1"})
    # The event's name comes from the command line, else from the payload.
    assert normalise(None, {"type": "agent_end", **BASE})["kind"] == "stop"


@pytest.mark.parametrize("payload,message", [
    ([1], "pi hook payload is not a JSON object"),
    ({"sessionId": "s"}, "pi hook payload has no event type"),
    ({"type": "agent_end"}, "pi agent_end payload has no sessionId"),
    ({"type": "tool_call", "sessionId": "s", "input": {}}, "pi tool_call payload has no toolName"),
])
def test_bad_payloads(payload, message):
    with pytest.raises(BadPayload) as exc:
        normalise(None, payload)
    assert exc.value.message == message


def test_a_bad_payload_is_logged_and_the_hook_exits_0(repo):
    proc = repo.ot("hook", "pi", "tool_call", input=json.dumps({"type": "tool_call", "cwd": str(repo.path)}))
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"", b"")
    log = (repo.path / ".git" / "opentraces" / "log").read_text()
    assert "BadPayload: pi tool_call payload has no sessionId" in log


def test_live_events_through_the_hook_are_sealed_into_steps(repo):
    """The payloads the extension sends, through the real hook process."""
    app = str(repo.path / "app.py")
    base = {**BASE, "cwd": str(repo.path)}

    def hook(name, **fields):
        proc = repo.ot("hook", "pi", name, input=json.dumps({"type": name, **base, **fields}))
        assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"", b"")

    edit = {"path": "app.py", "edits": [{"oldText": "hi ", "newText": "hello "}]}
    hook("session_start", reason="startup")
    hook("message_end", message={"role": "user", "content": [{"type": "text", "text": "say hello"}]})
    hook("message_end", message={"role": "assistant", "content": [{"type": "text", "text": "Editing."}]})
    hook("tool_call", toolName="edit", toolCallId="toolu_1", input=edit)
    Path(app).write_text(Path(app).read_text().replace("hi ", "hello "))
    hook("tool_result", toolName="edit", toolCallId="toolu_1", input=edit,
         content=[{"type": "text", "text": "Successfully replaced 1 block(s) in app.py."}], isError=False)
    hook("message_end", message={"role": "assistant", "content": [{"type": "text", "text": "Done."}]})
    hook("agent_end")
    records = tip_records(repo, BASE["sessionId"])
    steps = records["trace"]["steps"]
    assert shape(steps) == [(1, "prompt", "say hello"), (2, "message", "Editing."), (3, "tool", "edit"),
                            (4, "message", "Done.")]
    assert [p["files"] for p in records["trail"]["patches"]] == [
        [{"status": "M", "path": "app.py", "hunks": [[2, 1, 2, 1]], "added": 1, "removed": 1}]]
    assert records["trace"]["info"]["harness"] == "pi" and records["trace"]["info"]["model"] == "claude-scripted"
    assert [e["kind"] for e in records["trace"]["lifecycle"]] == ["session_start", "stop"]


# -- session files ----------------------------------------------------------------------

RECORDED_STEPS = [
    (1, "prompt", "add a farewell function with a test"),
    (2, "message", "Reading app.py first."), (3, "tool", "read"),
    (4, "message", "I'll add a farewell function."), (5, "tool", "edit"),
    (6, "message", "Adding a test."), (7, "tool", "write"),
    (8, "message", "Running the tests."), (9, "tool", "bash"),
    (10, "message", "Added farewell() with a test; tests pass."),
    (11, "prompt", "make greet say hello instead of hi"),
    (12, "message", "Making greet polite."), (13, "tool", "edit"),
    (14, "message", "Updating the test."), (15, "tool", "edit"),
    (16, "message", "greet now says hello."),
]


def test_the_recorded_session(repo):
    out = do_import(repo, RECORDED)
    assert out["files"] == 1 and out["bytes"] == RECORDED.stat().st_size
    assert out["sessions"] == [{"session": RECORDED_ID, "lines": 19, "steps": 16, "kept_raw": 3, "skipped": {},
                                "merged_into_live": False, "changed": True}]
    records = tip_records(repo, RECORDED_ID)
    steps = records["trace"]["steps"]
    assert shape(steps) == RECORDED_STEPS
    # (the gate stores the home folder's user name as a token)
    assert records["trace"]["info"]["cwd"].endswith("/src/app") and records["trace"]["info"]["harness"] == "pi"
    assert {s["model"] for s in steps if s["kind"] != "prompt"} == {"claude-scripted"}
    assert steps[1]["usage"] == {"input_tokens": 10, "output_tokens": 5, "cache_creation_input_tokens": 0,
                                 "cache_read_input_tokens": 0}
    assert "usage" not in steps[2]  # the reply's usage is on its first step only
    assert [(p["step"], p["source"], p["files"]) for p in records["trail"]["patches"]] == [
        (5, "transcript", [{"status": "M", "path": "app.py", "hunks": [[2, 0, 3, 4]], "added": 4, "removed": 0}]),
        (7, "transcript", [{"status": "A", "path": "test_app.py", "hunks": [[0, 0, 1, 9]], "added": 9, "removed": 0}]),
        (13, "transcript", [{"status": "M", "path": "app.py", "hunks": [[2, 1, 2, 1]], "added": 1, "removed": 1}]),
        (15, "transcript", [{"status": "M", "path": "test_app.py", "hunks": [[5, 1, 5, 1]], "added": 1, "removed": 1}]),
    ]
    # Each rebuilt step has partial snapshots: its file alone, before and after.
    app = {s["n"]: s for s in steps}[13]
    before, after = (records["trail"]["snapshots"][app[f"snapshot_{at}"]] for at in ("before", "after"))
    assert before["partial"] and after["partial"]
    assert repo.git("show", f"{after['tree']}:app.py") == \
        'def greet(name):\n    return "hello " + name\n\n\ndef farewell(name):\n    return "bye " + name\n'
    raw = [e for e in records["trace"]["lifecycle"] if e["kind"] == "raw"]
    assert [e["event"] for e in raw] == ["session", "model_change", "thinking_level_change"]
    assert {**raw[0]["data"]["line"], "cwd": "-"} == {**entries(RECORDED)[0], "cwd": "-"}
    again = do_import(repo, RECORDED)
    assert again["sessions"][0]["changed"] is False


def test_git_ai_session_with_a_relative_path(repo):
    out = do_import(repo, GIT_AI)
    assert out["sessions"][0] == {"session": "pi-session-456", "lines": 4, "steps": 3, "kept_raw": 1,
                                  "skipped": {}, "merged_into_live": False, "changed": True}
    records = tip_records(repo, "pi-session-456")
    assert shape(records["trace"]["steps"]) == [
        (1, "prompt", "Rename helper and edit the file."), (2, "message", "Applying the requested change."),
        (3, "tool", "edit")]
    tool = records["trace"]["steps"][2]
    assert (tool["tool_use_id"], tool["status"], tool["writes"]) == ("call_edit_1", "ok", True)
    assert tool["input"] == {"path": "src/main.rs", "edits": [{"oldText": "before", "newText": "after"}]}
    # Neither the file's contents nor the edit's diff are in the file: no patch.
    assert records["trail"]["patches"] == []


def test_a_version_1_session_every_line_accounted_for(repo):
    data = entries(V1)
    [s] = do_import(repo, V1)["sessions"]
    assert s["session"] == data[0]["id"] and s["lines"] == len(data)
    assert s["steps"] + s["kept_raw"] + sum(s["skipped"].values()) == len(data)
    steps = tip_records(repo, s["session"])["trace"]["steps"]
    messages = [d["message"] for d in data if d["type"] == "message"]
    calls = [b for m in messages if m["role"] == "assistant" for b in m["content"] if b["type"] == "toolCall"]
    tools = [st for st in steps if st["kind"] == "tool"]
    assert [(t["tool_use_id"], t["name"]) for t in tools] == [(c["id"], c["name"]) for c in calls]
    results = {m["toolCallId"]: m["isError"] for m in messages if m["role"] == "toolResult"}
    assert [t["status"] for t in tools] == [("error" if results[t["tool_use_id"]] else "ok")
                                            if t["tool_use_id"] in results else "running" for t in tools]
    prompts = [m for m in messages if m["role"] == "user"]
    assert [st["kind"] for st in steps].count("prompt") == len(prompts)
    assert s["kept_raw"] == 1 + sum(d["type"] != "message" for d in data[1:]) + sum(
        1 for m in messages if m["role"] == "assistant" and not m["content"])


def test_branches_unknown_entries_and_a_file_cut_short(repo, tmp_path):
    """A branch taken with /tree: its entries follow in file order; entries
    of types that make no step are kept whole; a last line cut short is
    kept as its text."""
    lines = RECORDED.read_text().splitlines()
    first_reply = entries(RECORDED)[4]["id"]  # the first prompt's first reply
    extra = [
        {"type": "branch_summary", "id": "b0000001", "parentId": first_reply,
         "timestamp": "2026-12-04T23:30:00.000Z", "fromId": "x", "summary": "Tried a test first."},
        {"type": "message", "id": "b0000002", "parentId": "b0000001", "timestamp": "2026-12-04T23:30:01.000Z",
         "message": {"role": "user", "content": [{"type": "text", "text": "write the test first"}]}},
        {"type": "custom_message", "id": "b0000003", "parentId": "b0000002", "timestamp": "2026-12-04T23:30:02.000Z",
         "customType": "note", "content": "hello", "display": True},
        {"type": "message", "id": "b0000004", "parentId": "b0000003", "timestamp": "2026-12-04T23:30:03.000Z",
         "message": {"role": "hookMessage", "customType": "old", "content": "from version 2", "display": False}},
        {"type": "hologram", "id": "b0000005", "parentId": "b0000004", "timestamp": "2026-12-04T23:30:04.000Z",
         "payload": {"$ref": 1}},
        {"type": "message", "id": "b0000006", "parentId": "b0000005", "timestamp": "2026-12-04T23:30:05.000Z",
         "message": {"role": "assistant", "content": [], "stopReason": "aborted", "errorMessage": "Request was aborted"}},
    ]
    cut = '{"type":"message","id":"b0000007","parentId":"b0000006","message":{"role":"assi'
    path = tmp_path / "branched.jsonl"
    path.write_text("\n".join(lines + [json.dumps(e) for e in extra] + [cut]))
    [s] = do_import(repo, path)["sessions"]
    assert (s["lines"], s["steps"], s["kept_raw"], s["skipped"]) == (26, 17, 9, {})
    records = tip_records(repo, RECORDED_ID)
    assert shape(records["trace"]["steps"]) == RECORDED_STEPS + [(17, "prompt", "write the test first")]
    raw = {e["event"]: e["data"] for e in records["trace"]["lifecycle"] if e["kind"] == "raw"}
    assert raw["branch_summary"]["line"] == extra[0]
    assert raw["custom_message"]["line"] == extra[2]
    assert raw["message/hookMessage"]["line"] == extra[3]
    assert raw["hologram"]["line"] == {**extra[4], "payload": {"$$ref": 1}}
    assert raw["message/assistant"]["line"] == extra[5]
    assert raw["unparsed"] == {"text": cut}


def test_the_same_session_in_two_files_is_one_session(repo, tmp_path):
    lines = RECORDED.read_text().splitlines(keepends=True)
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "first.jsonl").write_text("".join(lines[:11]))
    (tmp_path / "a" / "whole.jsonl").write_text("".join(lines))
    out = do_import(repo, tmp_path / "a")
    assert out["files"] == 2
    [s] = out["sessions"]
    assert (s["lines"], s["steps"], s["kept_raw"], s["skipped"]) == (30, 16, 3, {"duplicate": 11})
    assert shape(tip_records(repo, RECORDED_ID)["trace"]["steps"]) == RECORDED_STEPS


def test_default_folder_honours_pi_coding_agent_dir(repo, hermetic, tmp_path):
    assert default_folder("/home/dev/src/app", env={"HOME": "/home/dev"}).endswith(
        "/.pi/agent/sessions/--home-dev-src-app--")
    slug = "--" + str(repo.path)[1:].replace("/", "-") + "--"
    for base, env in ((hermetic / ".pi" / "agent", {}),
                      (tmp_path / "agent", {"PI_CODING_AGENT_DIR": str(tmp_path / "agent")})):
        folder = base / "sessions" / slug
        folder.mkdir(parents=True)
        (folder / RECORDED.name).write_bytes(RECORDED.read_bytes())
        out = do_import(repo, env={**os.environ, **env})
        assert out["files"] == 1 and out["sessions"][0]["session"] == RECORDED_ID
        repo.git("update-ref", "-d", f"refs/opentraces/sessions/{RECORDED_ID}")


@pytest.mark.parametrize("args,message,hint", [
    (["notes.jsonl"], "error: '{repo}/notes.jsonl' is not a Pi session file", "hint: a Pi session file is"),
    ([str(FIXTURES / "claude-code" / "recorded-2.1.328" / "linear-edit" / "transcript.jsonl")],
     "error: '" + str(FIXTURES / "claude-code" / "recorded-2.1.328" / "linear-edit" / "transcript.jsonl")
     + "' is not a Pi session file", "hint: a Pi session file is"),
    (["empty"], "error: no transcript (*.jsonl) files in 'empty'", "hint: Pi keeps them in"),
    ([], "error: no Pi transcripts for this repository in '{home}/.pi/agent/sessions/--{slug}--'",
     "hint: name the session files or folders to import"),
])
def test_errors(repo, hermetic, args, message, hint):
    (repo.path / "notes.jsonl").write_text('{"type": "message", "id": "a"}\n')
    (repo.path / "empty").mkdir()
    proc = repo.cli("import", "pi", *args)
    assert proc.returncode == 1 and proc.stdout == b""
    err = proc.stderr.decode().splitlines()
    assert err[0] == message.format(repo=repo.path, home=hermetic, slug=str(repo.path)[1:].replace("/", "-"))
    assert err[1].startswith(hint) and len(err) == 2
    assert not repo.git("for-each-ref", "refs/opentraces/")


# -- edits --------------------------------------------------------------------------------

def test_hunks_from_the_edit_tools_diff():
    """The diffs Pi 0.73.1 reported for the recorded session's edits."""
    results = {e["message"]["toolCallId"]: e["message"]["details"]["diff"] for e in entries(RECORDED)
               if e["type"] == "message" and e["message"]["role"] == "toolResult"
               and e["message"]["toolName"] == "edit"}
    assert [hunks_from_numbered_diff("/r/f", d)[0]["hunks"] for d in results.values()] == [
        [[2, 0, 3, 4]], [[2, 1, 2, 1]], [[5, 1, 5, 1]]]
    diff = "  1 a\n- 2 b\n- 3 c\n+ 2 B\n  4 d\n    ...\n  9 i\n-10 j\n 11 k\n+10 l"
    assert hunks_from_numbered_diff("/r/f", diff) == [
        {"file": "/r/f", "status": "M", "hunks": [[2, 2, 2, 1], [10, 1, 8, 0], [11, 0, 10, 1]],
         "added": 2, "removed": 3}]
    assert hunks_from_numbered_diff("/r/f", "") is None
    before, after = "a\nb\nc\n", "a\nB\nc\n"
    assert agrees(" 1 a\n-2 b\n+2 B\n 3 c", before, after)
    assert not agrees(" 1 a\n-2 x\n+2 B\n 3 c", before, after)  # the file was not as the session knew it
    assert not agrees(" 1 a\n 3 c", before, after)  # no change shown
