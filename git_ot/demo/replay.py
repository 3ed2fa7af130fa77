"""Replay recorded Claude Code hook payloads through the live capture path.

Each payload goes, on stdin, to the very command `git ot install
claude-code` writes into Claude Code's settings (`<python> -m git_ot hook
claude-code <Event>`, run through `/bin/sh -c` as Claude Code runs it), in a
process of its own, in the replay's working tree. Between a tool's
PreToolUse and its PostToolUse the tool's effect is applied to the working
tree, as Claude Code applies it between the two hooks, so the snapshots
around the tool see what the recorded tool did.

One mechanism for `git ot demo` and for the tests that replay the
recordings (tests/support/repo.py).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from typing import Callable, Iterable

from ..capture import registry
from ..capture.hook import EVENT_TIME_VARIABLE

# Added by the recorder, never sent by Claude Code.
RECORDER_KEYS = ("_received_at",)
HARNESS = "claude-code"  # the harness whose payloads are replayed


class ReplayError(Exception):
    """A hook call of the replay failed (a hook exits 0 unless it cannot start)."""


def read_payloads(path: str) -> list[dict]:
    """The payloads of a recorded `hooks.jsonl`, in order, as recorded."""
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def replay(worktree: str, payloads: Iterable[dict], *, after: Callable[[dict], None] | None = None,
           run_shell: bool = False, env: dict | None = None, transcript: str | None = None,
           transcript_text: str | None = None, recorded_times: bool = False) -> str | None:
    """Send each payload to the hook command in `worktree`; returns the session id.

    The payload's `cwd` becomes `worktree`, as if the session had run
    there, and its `transcript_path` becomes `transcript` when given (where
    the recorded transcript is, on this machine); everything else is sent as
    recorded. With `transcript_text` (the recorded transcript), `transcript`
    is written as Claude Code wrote it, each line once the recording's time
    passed the line's and the recording's directory replaced by `worktree`,
    and the replay is that of the current install: the
    calls of the tools it does not hook (capture/claude_code/settings.py,
    TOOL_MATCHER) send no hook, the transcript tells them. Without it every
    payload is sent, as to an install that hooks every tool.

    With `recorded_times`, each event is recorded at the time the recording
    received it (`_received_at`, through EVENT_TIME_VARIABLE) rather than
    now, so the session is dated as the commits a replay makes at the
    recording's times. `after(payload)` is called after each hook call, and
    for a PreToolUse after the tool's effect too (still inside the tool's
    window). Bash commands run (with `bash -c`, in `worktree`) only with
    `run_shell`: a recorded command is not run on a machine just because it
    was recorded.
    """
    worktree = os.path.abspath(worktree)
    grows = None
    session = None
    for recorded in payloads:
        if grows is None and transcript and transcript_text is not None:
            # The transcript's paths are the recording's: the session ran here.
            grows = _Growing(transcript, _moved(transcript_text, recorded.get("cwd"), worktree))
        session = recorded["session_id"]
        event = recorded["hook_event_name"]
        payload = {k: v for k, v in recorded.items() if k not in RECORDER_KEYS}
        payload["cwd"] = worktree
        if transcript is not None:
            payload["transcript_path"] = transcript
        call_env = env
        if recorded_times and "_received_at" in recorded:
            call_env = {**(os.environ if env is None else env),
                        EVENT_TIME_VARIABLE: repr(float(recorded["_received_at"]))}
        if grows is not None and isinstance(recorded.get("_received_at"), (int, float)):
            grows.until(recorded["_received_at"])
        if grows is None or _hooked(event, payload.get("tool_name")):
            hook(worktree, event, payload, call_env)
        if event == "PreToolUse":
            apply_tool(worktree, recorded, run_shell=run_shell, env=env)
        if after is not None:
            after(recorded)
    if grows is not None:
        grows.until(None)
    return session


def _moved(text: str, recorded_cwd: str | None, worktree: str) -> str:
    """A recorded transcript's text with the recording's directory replaced by `worktree`."""
    if not recorded_cwd:
        return text
    return text.replace(json.dumps(recorded_cwd)[1:-1], json.dumps(worktree)[1:-1])


def _hooked(event: str, tool: str | None) -> bool:
    """Whether the current install's settings send this event (its matcher)."""
    from ..capture.claude_code.settings import TOOL_EVENTS, TOOL_MATCHER

    return event not in TOOL_EVENTS or re.search(TOOL_MATCHER, tool or "") is not None


class _Growing:
    """A recorded transcript written out as the recording's time passes."""

    def __init__(self, path: str, text: str):
        from ..store.times import parse_iso

        self.path = path
        self.lines = []
        t = float("-inf")
        for line in text.splitlines(keepends=True):
            try:
                stamp = parse_iso(json.loads(line).get("timestamp"))
            except (ValueError, AttributeError):
                stamp = None
            t = stamp if stamp is not None else t  # a line without a time follows the one before
            self.lines.append((t, line))
        with open(path, "w", encoding="utf-8", newline=""):
            pass

    def until(self, t: float | None) -> None:
        """Write the lines stamped up to `t` (None: all that are left)."""
        n = 0
        while n < len(self.lines) and (t is None or self.lines[n][0] <= t):
            n += 1
        if n:
            with open(self.path, "a", encoding="utf-8", newline="") as fh:
                fh.write("".join(line for _, line in self.lines[:n]))
            del self.lines[:n]


def hook(worktree: str, event: str, payload: dict, env: dict | None = None) -> None:
    """One hook call, exactly as Claude Code makes it.

    The command is the local scope's, which names this interpreter: the
    replay runs the git-ot it is part of, whatever `git-ot` PATH holds.
    """
    command = registry.find(HARNESS).hook_command(event, "local")
    proc = subprocess.run(["/bin/sh", "-c", command], cwd=worktree, env=env,
                          input=json.dumps(payload).encode(), capture_output=True)
    if proc.returncode != 0:
        raise ReplayError(f"hook {event} exited {proc.returncode}: "
                          f"{proc.stderr.decode('utf-8', 'replace').strip()[-500:]}")


def apply_tool(worktree: str, payload: dict, *, run_shell: bool = False, env: dict | None = None) -> None:
    """What the recorded tool did to the working tree: Write, Edit, and Bash if asked."""
    ti = payload.get("tool_input") or {}
    name = payload.get("tool_name")
    if name in ("Write", "Edit"):
        path = os.path.join(worktree, _relative(ti["file_path"], payload.get("cwd")))
        if name == "Write":
            os.makedirs(os.path.dirname(path), exist_ok=True)
            text = ti["content"]
        else:
            with open(path, encoding="utf-8", newline="") as fh:
                old = fh.read()
            count = -1 if ti.get("replace_all") else 1
            text = old.replace(ti["old_string"], ti["new_string"], count)
        with open(path, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
    elif name == "Bash" and run_shell:
        subprocess.run(["bash", "-c", ti["command"]], cwd=worktree, env=env, check=True,
                       capture_output=True)


def _relative(path: str, recorded_cwd: str | None) -> str:
    """A recorded absolute path as a path inside the replay's working tree."""
    if recorded_cwd and not os.path.relpath(path, recorded_cwd).startswith(".."):
        return os.path.relpath(path, recorded_cwd)
    return os.path.basename(path)
