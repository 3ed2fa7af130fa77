"""Claude Code hook payloads, normalised into git-ot events.

Claude Code sends one JSON object on stdin per hook call, with
`hook_event_name`, `session_id`, `cwd`, `transcript_path` and fields per
event (`prompt`; `tool_name`, `tool_input`, `tool_use_id`, `tool_response`;
`last_assistant_message`; `trigger`; `reason`; `agent_id`, `agent_type`).
"""

from __future__ import annotations

import os

from ...store import fastjson
from ..modular import payload_header
from ..readonly import shell_reads_only

SOURCE = "claude-code"

# Tools known not to change the working tree; every other tool, MCP tools
# included, may write and gets a snapshot on both sides of its window.
READ_ONLY_TOOLS = frozenset({
    "Read", "Glob", "Grep", "LS", "WebFetch", "WebSearch", "TodoWrite", "TodoRead",
    "Task", "Agent", "ExitPlanMode", "EnterPlanMode", "BashOutput", "KillShell", "KillBash",
    "NotebookRead", "ListMcpResourcesTool", "ReadMcpResourceTool", "AskUserQuestion",
    "ToolSearch", "Skill", "SlashCommand", "TaskOutput", "TaskStop",
})

# Tools that write one file and whose transcript result holds it before and
# after (Write's content, Edit's and MultiEdit's originalFile): their steps
# and states are read from the transcript (fill.py), as an import reads
# them, so no hook runs around them.
TRANSCRIPT_WRITE_TOOLS = frozenset({"Write", "Edit", "MultiEdit"})
# The tools install does not hook: their calls are read from the transcript.
UNHOOKED_TOOLS = READ_ONLY_TOOLS | TRANSCRIPT_WRITE_TOOLS

_KINDS = {
    "SessionStart": "session_start",
    "UserPromptSubmit": "prompt",
    "PreToolUse": "tool_start",
    "PostToolUse": "tool_end",
    "PostToolUseFailure": "tool_end",
    "Stop": "stop",
    "SubagentStart": "subagent_start",
    "SubagentStop": "subagent_stop",
    "PreCompact": "compact",
    "PostCompact": "compact",
    "SessionEnd": "session_end",
}

# Events after which the spool is sealed into the session ref.
SEAL_KINDS = frozenset({"stop", "session_end"})


def writes(tool_name: str | None, tool_input=None) -> bool:
    """Whether a call may change the working tree: any tool but the
    read-only ones, and Bash unless its command only reads (readonly.py)."""
    if tool_name == "Bash":
        return not shell_reads_only(tool_input)
    return tool_name not in READ_ONLY_TOOLS


def normalise(event_name: str | None, payload: dict) -> dict:
    """The git-ot event for one Claude Code hook payload (no id or time yet)."""
    name, sid = payload_header("claude-code", event_name, payload, "hook_event_name", "session_id")
    kind = _KINDS.get(name, "other")
    data: dict = {"cwd": payload.get("cwd"), "transcript_path": payload.get("transcript_path")}
    if payload.get("agent_id"):
        data["agent_id"] = payload["agent_id"]
    is_write = False
    if kind == "session_start":
        data["source"] = payload.get("source")
        data["started_by"] = payload.get("source")  # the trace's info.started_by, when it comes first
        if payload.get("model"):
            data["model"] = payload["model"]
    elif kind == "prompt":
        data["text"] = payload.get("prompt", "")
        data["prompt_id"] = payload.get("prompt_id")
    elif kind in ("tool_start", "tool_end"):
        tool = payload.get("tool_name")
        is_write = writes(tool, payload.get("tool_input"))
        data.update(name=tool, tool_use_id=payload.get("tool_use_id"), input=payload.get("tool_input"))
        if kind == "tool_end":
            failed = name == "PostToolUseFailure"
            data["output"] = payload.get("error") if failed else payload.get("tool_response")
            data["error"] = failed
    elif kind in ("stop", "subagent_stop"):
        data["message"] = payload.get("last_assistant_message")
    elif kind == "subagent_start":
        data["agent_type"] = payload.get("agent_type")
    elif kind == "compact":
        data["trigger"] = payload.get("trigger")
        data["phase"] = "pre" if name == "PreCompact" else "post"
    elif kind == "session_end":
        data["reason"] = payload.get("reason")
    else:
        # An event this version does not know: keep all of it.
        data["payload"] = payload
    if kind in SEAL_KINDS and isinstance(payload.get("transcript_path"), str):
        # No payload names the model or Claude Code's version (SessionStart
        # only sometimes the model); the transcript's latest lines do.
        data.update({k: v for k, v in transcript_facts(payload["transcript_path"]).items()
                     if k not in data})
    return {
        "source": SOURCE,
        "event": name,
        "session": sid,
        "kind": kind,
        "writes": is_write,
        "data": {k: v for k, v in data.items() if v is not None},
    }


# How much of a transcript's end `transcript_facts` reads: a few replies.
TAIL_BYTES = 256 * 1024


def transcript_facts(path: str) -> dict:
    """The model of the latest reply, the Claude Code version and the
    conversation's name (`slug`), from the end of the session's transcript:
    {"model": ..., "harness_version": ..., "slug": ...}, each missing when
    not found (no transcript, none written yet, a version without slugs)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - TAIL_BYTES))
            tail = fh.read()
    except OSError:
        return {}
    found: dict = {}
    for raw in reversed(tail.splitlines()):
        if not raw.startswith(b"{"):
            continue  # a line cut by the seek, or not JSON
        try:
            obj = fastjson.loads(raw.decode("utf-8"))
        except ValueError:
            continue
        if not isinstance(obj, dict):
            continue
        version = obj.get("version")
        if "harness_version" not in found and isinstance(version, str) and version:
            found["harness_version"] = version
        message = obj.get("message")
        model = message.get("model") if obj.get("type") == "assistant" and isinstance(message, dict) else None
        # "<synthetic>" marks a message Claude Code wrote itself.
        if "model" not in found and isinstance(model, str) and model and not model.startswith("<"):
            found["model"] = model
        slug = obj.get("slug")
        if "slug" not in found and isinstance(slug, str) and slug:
            found["slug"] = slug
        if "model" in found and "harness_version" in found:
            # A version that names conversations names them on its lines:
            # those read so far had the slug, or it has none (on the hook path,
            # a transcript's whole tail is not read for it).
            break
    return found
