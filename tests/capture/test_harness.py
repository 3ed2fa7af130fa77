"""Every registered harness implements the one Harness interface."""

from __future__ import annotations

import pytest

from git_ot.capture import registry
from git_ot.capture.harness import Harness
from git_ot.errors import UnsupportedHarness


@pytest.mark.parametrize("name", registry.names())
def test_registered_harness_implements_the_protocol(name):
    harness = registry.find(name)
    assert isinstance(harness, Harness)
    assert harness.name == name
    assert harness.scopes and harness.seal_kinds
    for scope in harness.scopes:
        assert name in harness.hook_command("Stop", scope)


def test_unknown_harness():
    assert registry.find("no-such-agent") is None
    assert registry.find(None) is None
    with pytest.raises(UnsupportedHarness) as exc:
        registry.get("no-such-agent", "import", "import transcripts of")
    assert exc.value.message == "cannot import transcripts of 'no-such-agent'"
    assert exc.value.hint == "'git ot import' supports: claude-code, codex, pi"


@pytest.mark.parametrize("name,package,event,payload", [
    ("claude-code", "claude_code", "Stop", {"session_id": "s"}),
    ("codex", "codex", "Stop", {"session_id": "s"}),
    ("pi", "pi", "agent_end", {"sessionId": "s"}),
])
def test_the_hook_path_loads_only_its_harness_half(name, package, event, payload):
    """`git ot hook <harness>` must not import the transcript or settings code,
    nor any other harness."""
    import json
    import subprocess
    import sys

    code = ("import sys; from git_ot.capture import registry; "
            f"h = registry.find({name!r}); h.normalise({event!r}, {json.dumps(payload)}); "
            "print(sorted(m for m in sys.modules if m.startswith('git_ot.capture')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == str(sorted(["git_ot.capture", "git_ot.capture.registry", "git_ot.capture.readonly",
                                       f"git_ot.capture.{package}", f"git_ot.capture.{package}.hooks",
                                       "git_ot.capture.modular"]))


# What the hook path may import beyond what Python itself loads at start:
# C modules only. json, re, subprocess and contextlib (with the enum,
# functools, threading and collections they bring) cost a hook process
# about a third of its time (store/fastjson.py, store/git.py's spawn).
HOOK_PATH_STDLIB = {"_json", "fcntl", "select", "_signal", "encodings.ascii", "zlib", "errno", "__future__"}


@pytest.mark.parametrize("harness, event, payload", [
    ("codex", "PreToolUse", {"session_id": "s-codex", "tool_name": "Bash", "tool_use_id": "c1",
                             "tool_input": {"command": "printf x > x.txt"}}),
    ("codex", "PostToolUse", {"session_id": "s-codex", "tool_name": "Bash", "tool_use_id": "c1",
                              "tool_input": {"command": "printf x > x.txt"}, "tool_response": "Exit code: 0"}),
    ("pi", "tool_call", {"type": "tool_call", "sessionId": "s-pi", "toolName": "bash", "toolCallId": "c2",
                         "input": {"command": "printf y > y.txt"}}),
    ("claude-code", "PostToolUse", {"session_id": "s-cc", "tool_name": "Bash", "tool_use_id": "c3",
                                    "tool_input": {"command": "printf z > z.txt"},
                                    "tool_response": {"stdout": "", "stderr": ""}}),
])
def test_a_hook_that_snapshots_imports_no_heavy_module(repo, harness, event, payload):
    """A tool hook, run as the harness runs it (a snapshot taken, the event
    spooled), loads no Python module but C ones beyond Python's own start."""
    import json
    import subprocess
    import sys

    repo.cli_json("init")
    code = ("import sys; before = set(sys.modules); from git_ot.capture.hook import main; "
            f"main([{harness!r}, {event!r}]); "
            "print(sorted(m for m in set(sys.modules) - before if not m.startswith('git_ot')))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=repo.path, capture_output=True, text=True,
                          input=json.dumps({**payload, "cwd": str(repo.path), "hook_event_name": event}))
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    loaded = set(json.loads(proc.stdout.replace("'", '"')))
    assert loaded <= HOOK_PATH_STDLIB, loaded - HOOK_PATH_STDLIB
    # It did its work: the event is spooled with its snapshot.
    [journal] = (repo.path / ".git/opentraces/spool").glob("*.jsonl")
    [line] = journal.read_text().splitlines()
    assert json.loads(line)["snapshot"]


def test_a_hook_leaves_a_batch_another_process_seals_without_loading_the_seal(repo):
    """A turn's detached seal still holds its batch when the next tool hook
    runs: the hook sees the lock held and goes on, without importing what a
    seal needs (pygit2, the gate) only to find that out."""
    import fcntl
    import json
    import os
    import subprocess
    import sys

    repo.cli_json("init")
    spool = repo.path / ".git/opentraces/spool"
    spool.mkdir(parents=True, exist_ok=True)
    (spool / "s-before.1.sealing").write_text("")  # a batch a seal took ...
    fd = os.open(spool / "s-before.seal.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # ... and is at work on
    try:
        payload = {"session_id": "s-now", "tool_name": "Bash", "tool_use_id": "c1", "cwd": str(repo.path),
                   "tool_input": {"command": "printf x > x.txt"}, "hook_event_name": "PreToolUse"}
        code = ("import sys; before = set(sys.modules); from git_ot.capture.hook import main; "
                "main(['codex', 'PreToolUse']); "
                "print(sorted(m for m in set(sys.modules) - before if not m.startswith('git_ot')))")
        proc = subprocess.run([sys.executable, "-c", code], cwd=repo.path, capture_output=True, text=True,
                              input=json.dumps(payload), timeout=60)
    finally:
        os.close(fd)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    loaded = set(json.loads(proc.stdout.replace("'", '"')))
    assert loaded <= HOOK_PATH_STDLIB, loaded - HOOK_PATH_STDLIB
    assert sorted(p.name for p in spool.iterdir() if not p.name.endswith(".lock")) == [
        "s-before.1.sealing", "s-now.jsonl"]
