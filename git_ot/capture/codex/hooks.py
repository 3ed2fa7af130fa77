"""Codex CLI hook payloads, normalised into git-ot events.

Codex (npm @openai/codex, seen with 0.169.0) runs each command hook of its
hooks.json with one JSON object on stdin: `hook_event_name`, `session_id`
(the thread's rollout id, a UUIDv7), `transcript_path` (the rollout file),
`cwd`, `model`, `permission_mode`, and per event `turn_id`, `prompt`,
`tool_name`, `tool_input`, `tool_response`, `tool_use_id`, `source`
(startup or resume), `last_assistant_message`, `reason`. A patch arrives
as `tool_name: "apply_patch"` with the patch text in
`tool_input.command`; a shell command as `tool_name: "Bash"`.
"""

from __future__ import annotations

from ...errors import BadPayload
from ...store import fastjson
from ..modular import payload_header
from ..readonly import shell_reads_only

SOURCE = "codex"

# Tools that cannot change the working tree. Everything else (apply_patch,
# the shell in all its names, MCP tools) may write and is snapshotted.
READ_ONLY_TOOLS = frozenset({
    "read_file", "list_dir", "grep_files", "view_image", "web_search", "update_plan",
    "tool_search", "request_user_input", "list_mcp_resources", "list_mcp_resource_templates",
    "read_mcp_resource", "wait", "list_agents", "spawn_agent", "send_input", "close_agent",
})
# The shell's names: in hook payloads, and in rollouts of each Codex version.
SHELL_TOOLS = frozenset({"Bash", "exec_command", "shell", "shell_command", "local_shell",
                         "container.exec", "write_stdin"})

_KINDS = {
    "SessionStart": "session_start",
    "UserPromptSubmit": "prompt",
    "PreToolUse": "tool_start",
    "PostToolUse": "tool_end",
    "Stop": "stop",
    "Interrupt": "stop",
    "SubagentStart": "subagent_start",
    "SubagentStop": "subagent_stop",
    "PreCompact": "compact",
    "PostCompact": "compact",
    "SessionEnd": "session_end",
}

# Events after which the spool is sealed into the session ref: a turn's
# end, an interrupted turn, the session's end.
SEAL_KINDS = frozenset({"stop", "session_end"})


# How a tool's output names its exit status: apply_patch's "Exit code: N"
# (hooks and rollouts), the unified exec's "Process exited with code N"
# (rollouts; a Bash hook payload has the output alone).
_EXIT = ("Exit code: ", "Process exited with code ")


def _exit_status(text: str) -> str | None:
    """The status the first such line of `text` gives (`-?<digits>`, the
    whole rest of the line), or None; read without `re`, off the hook's imports."""
    for line in text.split("\n"):
        for prefix in _EXIT:
            if line.startswith(prefix):
                code = line[len(prefix):]
                digits = code[1:] if code.startswith("-") else code
                if digits.isdecimal():
                    return code
    return None


def writes(tool_name: str | None, tool_input=None) -> bool:
    """Whether a call may change the working tree: any tool but the
    read-only ones, and the shell unless its command only reads
    (readonly.py)."""
    if tool_name in SHELL_TOOLS:
        return not shell_reads_only(tool_input)
    return tool_name not in READ_ONLY_TOOLS


def failed(output) -> bool:
    """Whether a tool's output says it failed: a non-zero exit status in its
    text, or in the `metadata.exit_code` of older versions' JSON output."""
    if isinstance(output, str) and output.startswith("{") and '"exit_code"' in output:
        try:
            code = (fastjson.loads(output).get("metadata") or {}).get("exit_code")
        except (ValueError, AttributeError):
            code = None
        if isinstance(code, int):
            return code != 0
    if isinstance(output, str):
        code = _exit_status(output[:4096])
        return code is not None and code != "0"
    return False


def normalise(event_name: str | None, payload: dict) -> dict:
    """The git-ot event for one Codex hook payload (no id or time yet)."""
    name, sid = payload_header("codex", event_name, payload, "hook_event_name", "session_id")
    kind = _KINDS.get(name, "other")
    data: dict = {"cwd": payload.get("cwd"), "transcript_path": payload.get("transcript_path"),
                  "turn_id": payload.get("turn_id"), "model": payload.get("model")}
    if payload.get("agent_id"):
        data["agent_id"] = payload["agent_id"]
    is_write = False
    if kind == "session_start":
        data["source"] = payload.get("source")
    elif kind == "prompt":
        data["text"] = payload.get("prompt", "")
    elif kind in ("tool_start", "tool_end"):
        tool = payload.get("tool_name")
        if not isinstance(tool, str) or not tool:
            raise BadPayload(f"codex {name} payload has no tool_name")
        is_write = writes(tool, payload.get("tool_input"))
        data.update(name=tool, tool_use_id=payload.get("tool_use_id"), input=payload.get("tool_input"))
        if kind == "tool_end":
            data["output"] = payload.get("tool_response")
            data["error"] = failed(data["output"])
    elif kind in ("stop", "subagent_stop"):
        data["message"] = payload.get("last_assistant_message")
        if name == "Interrupt":
            data["interrupted"] = True
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
    return {
        "source": SOURCE,
        "event": name,
        "session": sid,
        "kind": kind,
        "writes": is_write,
        "data": {k: v for k, v in data.items() if v is not None},
    }
