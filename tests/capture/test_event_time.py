"""GIT_OT_EVENT_TIME: the time a hook records its event at, for replays of recorded events."""

from __future__ import annotations

import json
import os
import time


def _hook(repo, event: str, payload: dict, when: str | None) -> None:
    env = {k: v for k, v in os.environ.items() if k != "GIT_OT_EVENT_TIME"}
    if when is not None:
        env["GIT_OT_EVENT_TIME"] = when
    payload = {**payload, "cwd": str(repo.path), "hook_event_name": event}
    proc = repo.ot("hook", "claude-code", event, input=json.dumps(payload), env=env)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"", b"")


def test_the_events_are_dated_as_told(repo):
    _hook(repo, "UserPromptSubmit", {"session_id": "s-then", "prompt": "hello"}, "1700000000.5")
    _hook(repo, "Stop", {"session_id": "s-then", "last_assistant_message": "hi"}, "1700000060")
    [row] = repo.cli_json("trace", "list")["sessions"]
    assert (row["start"], row["end"]) == ("2023-11-14T22:13:20.500000Z", None)
    steps = repo.cli_json("trace", "show", "s-then")["steps"]
    assert [(s["kind"], s["t"]) for s in steps] == [("prompt", 1700000000.5), ("message", 1700000060.0)]


def test_a_value_that_is_not_a_number_is_the_clocks_time(repo):
    before = time.time()
    _hook(repo, "UserPromptSubmit", {"session_id": "s-now", "prompt": "hello"}, "yesterday")
    after = time.time()
    _hook(repo, "Stop", {"session_id": "s-now"}, None)
    [step] = repo.cli_json("trace", "show", "s-now")["steps"]
    assert before <= step["t"] <= after
    assert not (repo.path / ".git" / "opentraces" / "log").exists()
