"""Codex rollout files, normalised into git-ot events.

Codex writes every thread to `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<time>-<id>.jsonl`,
one JSON object a line: `{"timestamp", "type", "payload"}`. The types
(0.99 to 0.169.0) are `session_meta` (the thread: id, cwd, cli_version, git
commit and branch), `turn_context` (each turn's cwd and model),
`response_item` (what went to and came from the model: messages,
reasoning, function and custom tool calls and their outputs), `event_msg`
(what the client showed: task start and end, token counts, completed
items), `compacted` (a compaction and its replacement history), and newer
bookkeeping types. This module turns them into the same normalised events
the hook adapter (hooks.py) produces, so an import is folded by the same
code as live capture.

Every line is accounted for: a step, a kept raw record (every type that
makes no step, and every type this version does not know), or a skip in
SKIP_REASONS. A resumed thread appends to its rollout, or (in older
versions) starts a new file with the same id; the files of one id are one
session, their lines put in time order and a line repeated verbatim in a
second file skipped. Event ids derive from the line's bytes, so importing
the same rollout twice folds nothing new.

Patches: an apply_patch call names its change by text, not by the file's
contents. Each successful call becomes, per file, an edit
`{"file": <absolute path>, "change": <operation>}` (capture/edits.py,
`parse_apply_patch`), which the importer applies to the file as the
session's earlier edits left it, or as the session's base commit holds it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re

from ...errors import NotATranscript
from ...store.git import run as run_git
from .. import jsonl
from ..edits import parse_apply_patch
from ..jsonl import Accounting, Line, imported_event, imported_id
from .hooks import SHELL_TOOLS, SOURCE, writes
from .hooks import failed as tool_failed

SKIP_REASONS = {
    "blank": "an empty line",
    "duplicate": "a line a resumed thread's file repeats verbatim from an earlier file",
}

# Text Codex itself puts into the conversation as a user message: context,
# not the user's prompt.
_CONTEXT_PREFIXES = ("<environment_context>", "<user_instructions>", "# AGENTS.md instructions",
                     "<turn_aborted>", "<user_shell_command>", "<skill>", "<permissions instructions>",
                     "<collaboration_mode>", "<subagent_notification>")
# A reply's token usage: (the spec's name, Codex's name).
_USAGE_KEYS = (("input_tokens", "input_tokens"), ("output_tokens", "output_tokens"),
               ("cache_read_input_tokens", "cached_input_tokens"),
               ("cache_creation_input_tokens", "cache_write_input_tokens"))
_ID_IN_NAME = re.compile(r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.jsonl$")


def default_folder(worktree: str, env=os.environ) -> str:
    """Where Codex keeps rollouts (of every project: see `belongs`)."""
    home = env.get("CODEX_HOME") or os.path.join(os.path.expanduser("~"), ".codex")
    return os.path.join(home, "sessions")


def read_transcript(path: str, data: bytes) -> list[Line]:
    """The lines of one rollout file, each assigned to the thread its
    session_meta names (else the id in the file's name)."""
    parsed = jsonl.parse(data)
    sid = None
    objects = 0
    for _, obj in parsed:
        if obj is not None and isinstance(obj.get("type"), str):
            objects += 1
            payload = obj.get("payload")
            if sid is None and obj["type"] == "session_meta" and isinstance(payload, dict):
                sid = payload.get("id") if isinstance(payload.get("id"), str) else None
    if objects == 0:
        raise NotATranscript(f"'{path}' is not a Codex rollout",
                             hint="a rollout is a .jsonl file of JSON objects that each have a \"type\", "
                                  "as Codex writes under ~/.codex/sessions/")
    if sid is None:
        match = _ID_IN_NAME.search(os.path.basename(path))
        sid = match.group(1) if match else None
    if not sid:
        raise NotATranscript(f"'{path}' names no Codex thread",
                             hint="it has no session_meta line and its name is not rollout-<time>-<id>.jsonl")
    return jsonl.timed(path, parsed, lambda obj: sid)


by_session = jsonl.by_session


def _meta(lines: list[Line]) -> dict:
    for ln in lines:
        if ln.obj and ln.obj.get("type") == "session_meta" and isinstance(ln.obj.get("payload"), dict):
            return ln.obj["payload"]
    return {}


def session_cwd(lines: list[Line]) -> str | None:
    cwd = _meta(lines).get("cwd")
    if isinstance(cwd, str):
        return cwd
    for ln in lines:
        payload = (ln.obj or {}).get("payload")
        if (ln.obj or {}).get("type") == "turn_context" and isinstance(payload, dict) \
                and isinstance(payload.get("cwd"), str):
            return payload["cwd"]
    return None


def belongs(worktree: str, lines: list[Line]) -> bool:
    """Whether a thread ran in this repository or a checkout of it: its cwd
    is inside this working tree, or the commit it started from is one of
    this repository's."""
    cwd = session_cwd(lines)
    root = os.path.realpath(worktree)
    if isinstance(cwd, str) and os.path.isabs(cwd):
        real = os.path.realpath(cwd)
        if real == root or real.startswith(root + os.sep):
            return True
    commit = (_meta(lines).get("git") or {}).get("commit_hash")
    if isinstance(commit, str) and re.fullmatch(r"[0-9a-f]{40}", commit):
        try:
            run_git(["cat-file", "-e", commit + "^{commit}"], cwd=worktree)
            return True
        except Exception:
            return False
    return False


def _texts(content, kinds: tuple[str, ...]) -> str | None:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return None
    texts = [b.get("text") for b in content
             if isinstance(b, dict) and b.get("type") in kinds and isinstance(b.get("text"), str)]
    return "\n\n".join(texts) if texts else None


def _arguments(value) -> dict:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return {"arguments": value}  # not JSON: kept as it came
        return parsed if isinstance(parsed, dict) else {"arguments": parsed}
    return {}


def tool_call(name: str, args, custom: bool = False) -> tuple[str, dict]:
    """A rollout's tool call as the hooks name it: the shell as `Bash` with
    `command` a string, apply_patch with the patch text in `command`.
    `args` is a function call's JSON arguments, or a custom (freeform)
    tool's input text."""
    if custom:
        return name, {"command" if name == "apply_patch" else "input": args}
    args = _arguments(args)
    if name == "apply_patch":
        text = next((args[k] for k in ("command", "input", "patch") if isinstance(args.get(k), str)), None)
        return name, {"command": text, **{k: v for k, v in args.items() if k not in ("command", "input", "patch")}}
    if name in SHELL_TOOLS and name != "write_stdin":
        command = args.get("cmd", args.get("command"))
        if isinstance(command, list):
            # ["bash", "-lc", "<script>"]: the script is what was asked for.
            command = command[-1] if len(command) == 3 and command[1] in ("-lc", "-c") else " ".join(
                str(c) for c in command)
        rest = {k: v for k, v in args.items() if k not in ("cmd", "command")}
        return "Bash", {"command": command, **rest}
    return name, args


class Converter:
    """Turns the ordered lines of one thread into normalised events."""

    def __init__(self, session_id: str, lines: list[Line]):
        self.session = session_id
        self.lines = lines
        self.events: list[dict] = []
        self.accounting = Accounting()
        self.seen: dict[bytes, int] = {}  # line bytes -> the file they were first read from
        self.occurrences: dict[str, int] = {}
        self.tools: dict[str, tuple] = {}  # call_id -> (name, input)
        self.cwd = session_cwd(lines)
        self.model = None
        self.version = None
        self.turn = None
        self.started = False
        self.reply = None  # the first event of the model reply whose usage is still to come

    def run(self) -> list[dict]:
        files: dict[str, int] = {}
        for ln in self.lines:
            self.accounting.lines += 1
            index = files.setdefault(ln.path, len(files))
            outcome = self._line(ln, index)
            if outcome == "step":
                self.accounting.steps += 1
            elif outcome == "raw":
                self.accounting.kept_raw += 1
            else:
                self.accounting.skip(outcome)
        return self.events

    def _base(self, ln: Line) -> str:
        digest = hashlib.sha1(ln.raw).hexdigest()
        n = self.occurrences.get(digest, 0)
        self.occurrences[digest] = n + 1
        return f"{digest}:{n}"

    def _line(self, ln: Line, file_index: int) -> str:
        if not ln.raw.strip():
            return "blank"
        first = self.seen.setdefault(ln.raw, file_index)
        if first != file_index:
            return "duplicate"
        base = self._base(ln)
        obj = ln.obj
        if obj is None:
            # Not a JSON object (a write cut short): its text, kept whole.
            self.events.append(self._event(imported_id(base, "raw"), "raw", "unparsed", ln.order,
                                           {"text": ln.raw.decode("utf-8", "surrogateescape")}))
            return "raw"
        typ, payload = obj.get("type"), obj.get("payload")
        payload = payload if isinstance(payload, dict) else {}
        if typ == "session_meta":
            return self._session_meta(ln, base, payload)
        if typ == "turn_context":
            self.turn = payload.get("turn_id") or self.turn
            if isinstance(payload.get("cwd"), str):
                self.cwd = payload["cwd"]
            if isinstance(payload.get("model"), str):
                self.model = payload["model"]
        elif typ == "response_item":
            made = self._response_item(ln, base, payload)
            if made:
                return made
        elif typ == "compacted":
            # The rollout does not say what triggered it (the PreCompact hook does).
            self._emit(imported_id(base, "compact"), "compact", "compacted", ln, {"phase": "post"})
            self._keep(ln, base, "rest")  # the summary and replacement history, whole
            return "step"
        elif typ == "event_msg" and payload.get("type") in ("task_started", "turn_started"):
            self.turn = payload.get("turn_id") or self.turn
        elif typ == "token_usage_record":
            self._usage(payload.get("usage"))
        elif typ == "event_msg" and payload.get("type") == "token_count":
            # Older versions report a reply's usage only here.
            self._usage((payload.get("info") or {}).get("last_token_usage")
                        if isinstance(payload.get("info"), dict) else None)
        self._keep(ln, base)
        return "raw"

    def _session_meta(self, ln: Line, base: str, meta: dict) -> str:
        if isinstance(meta.get("cli_version"), str):
            self.version = meta["cli_version"]
        if self.started:
            self._keep(ln, base)  # a resumed thread's later header
            return "raw"
        self.started = True
        git = meta.get("git") if isinstance(meta.get("git"), dict) else {}
        head = {"commit": git.get("commit_hash"), "branch": git.get("branch")}
        data = {"source": meta.get("source") if isinstance(meta.get("source"), str) else None,
                "originator": meta.get("originator")}
        if head["commit"]:
            data["head"] = head
        self._emit(imported_id(base, "start"), "session_start", "session_meta", ln, data)
        self._keep(ln, base, "rest")  # the instructions and the rest of the header, whole
        return "step"

    def _response_item(self, ln: Line, base: str, item: dict) -> str | None:
        kind = item.get("type")
        if kind == "message":
            role = item.get("role")
            if role == "user":
                text = _texts(item.get("content"), ("input_text",))
                if text is None or text.lstrip().startswith(_CONTEXT_PREFIXES):
                    return None
                self._emit(imported_id(base, "0"), "prompt", "user", ln, {"text": text})
                return "step"
            if role == "assistant":
                text = _texts(item.get("content"), ("output_text",))
                if text is None or not text.strip():
                    return None
                self._emit(imported_id(base, "0"), "message", "assistant", ln, {"text": text, "model": self.model})
                return "step"
            return None
        if kind == "reasoning":
            text = _texts(item.get("summary"), ("summary_text",)) or _texts(item.get("content"),
                                                                          ("reasoning_text", "text"))
            if not text:
                return None  # encrypted reasoning only: kept raw
            self._emit(imported_id(base, "0"), "message", "reasoning", ln,
                       {"text": text, "thinking": True, "model": self.model})
            return "step"
        if kind in ("function_call", "custom_tool_call", "local_shell_call"):
            call_id = item.get("call_id") or item.get("id")
            if kind == "local_shell_call":
                name, tool_input = tool_call("local_shell", {"command": (item.get("action") or {}).get("command")})
            else:
                raw_name = item.get("name") if isinstance(item.get("name"), str) else "?"
                custom = kind == "custom_tool_call"
                name, tool_input = tool_call(raw_name, item.get("input") if custom else item.get("arguments"),
                                             custom)
            self.tools[call_id] = (name, tool_input)
            self._emit(imported_id(base, "0"), "tool_start", kind, ln,
                       {"name": name, "tool_use_id": call_id, "input": tool_input, "model": self.model},
                       writes=writes(name, tool_input))
            return "step"
        if kind in ("function_call_output", "custom_tool_call_output"):
            call_id = item.get("call_id")
            name, tool_input = self.tools.get(call_id, (None, None))
            output = item.get("output")
            failed = tool_failed(output)
            data = {"name": name, "tool_use_id": call_id, "input": tool_input, "output": output,
                    "error": failed}
            if name == "apply_patch" and not failed:
                data["edits"] = self._edits(tool_input)
            self._emit(imported_id(base, "0"), "tool_end", kind, ln, data,
                       writes=writes(name or "?", tool_input))
            return "step"
        return None

    def _usage(self, usage) -> None:
        """Give the reply's first step its token usage, in the spec's names."""
        if self.reply is None or not isinstance(usage, dict):
            return
        out = {ours: usage[theirs] for ours, theirs in _USAGE_KEYS if isinstance(usage.get(theirs), int)}
        if out:
            self.reply["data"]["usage"] = out
        self.reply = None

    def _edits(self, tool_input) -> list[dict] | None:
        ops = parse_apply_patch((tool_input or {}).get("command") if isinstance(tool_input, dict) else None)
        if not ops:
            return None
        out = []
        for op in ops:
            path = self._absolute(op["path"])
            if path is None or op["op"] == "delete":
                continue  # a deleted file has no lines to attribute
            if op["op"] == "update" and op.get("move_to"):
                target = self._absolute(op["move_to"])
                if target is None:
                    continue
                out.append({"file": target, "change": op, "from": path})
            else:
                out.append({"file": path, "change": op})
        return out

    def _absolute(self, path: str) -> str | None:
        if os.path.isabs(path):
            return os.path.normpath(path)
        return os.path.normpath(os.path.join(self.cwd, path)) if self.cwd else None

    def _keep(self, ln: Line, base: str, part: str = "raw") -> None:
        obj = ln.obj
        typ = obj.get("type") if isinstance(obj.get("type"), str) and obj.get("type") else "unknown"
        payload = obj.get("payload")
        if isinstance(payload, dict) and isinstance(payload.get("type"), str):
            typ += "/" + payload["type"]
        self.events.append(self._event(imported_id(base, part), "raw", typ,
                                       ln.t if ln.t is not None else ln.order, {"line": obj}))

    def _emit(self, eid: str, kind: str, name: str, ln: Line, data: dict, writes: bool = False) -> None:
        data = {"cwd": self.cwd, "transcript_path": ln.path, "harness_version": self.version,
                "turn_id": self.turn, **data}
        event = self._event(eid, kind, name, ln.t if ln.t is not None else ln.order, data, writes)
        self.events.append(event)
        if kind in ("message", "tool_start") and self.reply is None:
            self.reply = event

    def _event(self, eid: str, kind: str, name: str, t, data: dict, writes: bool = False) -> dict:
        return imported_event(SOURCE, self.session, eid, kind, name, t, data, writes)


def convert(session_id: str, lines: list[Line]) -> tuple[list[dict], Accounting]:
    """The normalised events of one thread's lines, and what became of each line."""
    conv = Converter(session_id, lines)
    return conv.run(), conv.accounting
