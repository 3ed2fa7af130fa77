"""Pi extension events, normalised into git-ot events.

git-ot's Pi extension (git-ot.ts beside this module) runs `git ot hook pi
<event>` with one JSON object on stdin: Pi's own event, its large or
transient fields left out, plus what the extension context knows:
`sessionId`, `sessionFile`, `cwd`, `model` (`{"provider", "id"}`) and
`piVersion` (Pi's own version). The
events, by Pi's name (`type`):

- `session_start` (`reason`, `previousSessionFile`, and `gitHead`, the
  commit and branch the working tree was at, which the extension looked
  at): a session is started, resumed or forked;
- `message_end` with `message.role` "user": a prompt, as the session file
  stores it (after skill and template expansion); with "assistant" and some
  text: the reply's words, one message step per reply (its text blocks
  joined by a blank line, as the importer joins them), with its `model`
  and `usage`;
- `tool_call` (`toolName`, `toolCallId`, `input`) before a tool runs, and
  `tool_result` (`content`, `details`, `isError` besides) after; for a
  write or edit call the extension read its file before and after,
  `files`: `[{"path", "before", "after"}]` (the file's absolute path, its
  text before, null when it did not exist, and after), which become the
  event's `edits`: the seal makes the step's patch and partial snapshots
  of them (domain/edit_states.py), and no snapshot is taken;
- `agent_end`: the prompt is answered (the turn ends; its closing words
  came as a message);
- `session_compact` (`compactionEntry`, `fromExtension`),
  `session_shutdown` (`reason`), and anything else the extension sends
  (`session_tree`, `model_select`), kept whole as kind "other".
"""

from __future__ import annotations

from ...errors import BadPayload
from ...store.git import is_object_id
from ..modular import payload_header
from ..readonly import shell_reads_only

SOURCE = "pi"

# Pi's built-in tools that change files; every other tool (read, grep,
# find, ls, and tools extensions add) is taken not to write, and gets no
# snapshot. An extension's tool that writes files has its changes seen
# by the next write tool's snapshot, or by the commit.
WRITE_TOOLS = frozenset({"write", "edit", "bash"})

_KINDS = {
    "session_start": "session_start",
    "input": "prompt",
    "tool_call": "tool_start",
    "tool_result": "tool_end",
    "agent_end": "stop",
    "session_compact": "compact",
    "session_shutdown": "session_end",
}

# Events after which the spool is sealed into the session ref.
SEAL_KINDS = frozenset({"stop", "session_end"})

# Pi's token counts, by the names refs/README.md gives a step's `usage`.
USAGE_KEYS = {"input": "input_tokens", "output": "output_tokens",
              "cacheWrite": "cache_creation_input_tokens", "cacheRead": "cache_read_input_tokens"}


def writes(tool_name, tool_input=None) -> bool:
    """Whether a call may change the working tree: write and edit, and
    bash unless its command only reads (readonly.py)."""
    if tool_name == "bash":
        return not shell_reads_only(tool_input)
    return tool_name in WRITE_TOOLS


def text_of(content) -> str | None:
    """The text blocks of a message's content, joined by a blank line; None without any."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return None
    texts = [b.get("text") for b in content if isinstance(b, dict) and b.get("type") == "text"
             and isinstance(b.get("text"), str)]
    return "\n\n".join(texts) if texts else None


def usage(message: dict) -> dict | None:
    raw = message.get("usage")
    if not isinstance(raw, dict):
        return None
    return {ours: raw[key] for key, ours in USAGE_KEYS.items() if isinstance(raw.get(key), int)} or None


def model_id(value) -> str | None:
    """A model's id: from `{"provider", "id"}` or a plain string."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def _head(value) -> dict | None:
    """The commit and branch the extension saw at the session's start
    (`gitHead`), when well formed; else None, and the hook looks itself."""
    if not isinstance(value, dict):
        return None
    commit, branch = value.get("commit"), value.get("branch")
    if commit is not None and not is_object_id(commit):
        return None
    if branch is not None and not (isinstance(branch, str) and branch):
        return None
    return {"commit": commit, "branch": branch}


def _edits(files) -> list[dict] | None:
    """The `files` a write or edit call's result carries, as edits
    (`{"file", "before", "after"}`), when well formed; else None."""
    if not isinstance(files, list) or not files:
        return None
    out = []
    for f in files:
        if not (isinstance(f, dict) and isinstance(f.get("path"), str) and f["path"].startswith("/")
                and isinstance(f.get("after"), str) and (f.get("before") is None or isinstance(f["before"], str))):
            return None
        out.append({"file": f["path"], "before": f.get("before"), "after": f["after"]})
    return out


def normalise(event_name: str | None, payload: dict) -> dict:
    """The git-ot event for one payload of git-ot's Pi extension (no id or time yet)."""
    name, sid = payload_header("pi", event_name, payload, "type", "sessionId", "event type")
    kind = _KINDS.get(name, "other")
    data: dict = {"cwd": payload.get("cwd"), "transcript_path": payload.get("sessionFile"),
                  "harness_version": payload.get("piVersion")}
    model = model_id(payload.get("model"))
    is_write = False
    if name == "message_end":
        message = payload.get("message")
        role = message.get("role") if isinstance(message, dict) else None
        text = text_of(message.get("content")) if isinstance(message, dict) else None
        if role == "user" and text is not None:
            kind = "prompt"
            data["text"] = text
        elif role == "assistant" and text is not None and text.strip():
            kind = "message"
            data.update(text=text, model=model_id(message.get("model")) or model, usage=usage(message))
        else:
            data["payload"] = payload
    elif kind == "session_start":
        data.update(source=payload.get("reason"), model=model,
                    previous_session=payload.get("previousSessionFile"), head=_head(payload.get("gitHead")))
    elif kind == "prompt":
        data["text"] = payload.get("text", "")
    elif kind in ("tool_start", "tool_end"):
        tool = payload.get("toolName")
        if not isinstance(tool, str) or not tool:
            raise BadPayload(f"pi {name} payload has no toolName")
        is_write = writes(tool, payload.get("input"))
        data.update(name=tool, tool_use_id=payload.get("toolCallId"), input=payload.get("input"))
        if kind == "tool_end":
            output = {"content": payload.get("content")}
            if payload.get("details") is not None:
                output["details"] = payload["details"]
            data["output"] = output
            data["error"] = bool(payload.get("isError"))
            edits = _edits(payload.get("files"))
            if edits is not None:
                data["edits"] = edits
    elif kind == "compact":
        entry = payload.get("compactionEntry")
        data["trigger"] = "extension" if payload.get("fromExtension") else None
        data["phase"] = "post"
        if isinstance(entry, dict) and isinstance(entry.get("tokensBefore"), int):
            data["tokens_before"] = entry["tokensBefore"]
    elif kind == "session_end":
        data["reason"] = payload.get("reason")
    elif kind == "other":
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
