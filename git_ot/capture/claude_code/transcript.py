"""Claude Code transcript files, normalised into git-ot events.

Claude Code writes every session to `<config>/projects/<slug>/<session>.jsonl`,
one JSON object a line, and each subagent's conversation to
`<session>/subagents/agent-<id>.jsonl` beside it. This module turns those
lines into the same normalised events the hook adapter (claude_code.py)
produces, so an import is folded by the same code as live capture, plus
what hooks never see: the assistant's text and thinking, the model and the
token usage of each reply, and every line of a type that makes no step,
which is kept whole as a `raw` lifecycle event.

Every line is accounted for, as a step, a kept raw record, or one of the
skips in SKIP_REASONS. Event ids are derived from the line's `uuid`, so
importing the same transcript twice folds nothing new.
"""

from __future__ import annotations

import os
import re

from ...errors import NotATranscript
from ...store.times import parse_iso
from .. import jsonl
from ..edits import apply_structured_patch, hunks_from_structured_patch, replace_strings
from ..jsonl import Accounting, Line, imported_event, imported_id, sha1
from .hooks import SOURCE, TRANSCRIPT_WRITE_TOOLS, writes

# Why a line makes neither a step nor a kept record. Each reason is
# documented in `git help git-ot-import` and in refs/README.md.
SKIP_REASONS = {
    "blank": "an empty line",
    "progress": "a progress line: the transient state of a running hook, shell command or "
                "search, whose outcome a later line records",
    "duplicate": "a line whose message another line of the session already carried (a "
                 "subagent's message both in its subagents/ file and in its parent's "
                 "agent_progress line, or history copied into a resumed session's file)",
    "empty-text": "an assistant line whose only content is blank text (a streaming artefact)",
}

_INTERRUPTED = re.compile(r"^\[Request interrupted by user[^\]]*\]$")
_HARNESS_OUTPUT = ("<local-command-stdout>", "<local-command-stderr>", "<local-command-caveat>",
                   "<bash-stdout>", "<bash-stderr>")
_USAGE_KEYS = ("input_tokens", "output_tokens", "cache_creation_input_tokens",
               "cache_read_input_tokens")


def default_folder(worktree: str, env=os.environ) -> str:
    """The folder where Claude Code keeps the transcripts of sessions run in `worktree`."""
    config = env.get("CLAUDE_CONFIG_DIR") or os.path.join(os.path.expanduser("~"), ".claude")
    return os.path.join(config, "projects", re.sub(r"[^A-Za-z0-9]", "-", worktree))


def read_transcript(path: str, data: bytes) -> list[Line]:
    """The lines of one transcript file, each assigned to its session.

    A line names its session in `sessionId`; the few that do not (summary
    and file-history-snapshot lines) belong to the session most lines of the
    file name, else to the one the file is named after.
    """
    parsed = jsonl.parse(data)
    counts: dict[str, int] = {}
    objects = 0
    for _, obj in parsed:
        if obj is not None and isinstance(obj.get("type"), str):
            objects += 1
            sid = obj.get("sessionId")
            if isinstance(sid, str) and sid:
                counts[sid] = counts.get(sid, 0) + 1
    if objects == 0:
        raise NotATranscript(f"'{path}' is not a Claude Code transcript",
                             hint="a transcript is a .jsonl file of JSON objects that each have a "
                                  "\"type\", as Claude Code writes under ~/.claude/projects/")
    stem = os.path.basename(path)[:-len(".jsonl")] if path.endswith(".jsonl") else None
    main = max(counts, key=lambda s: (counts[s], s)) if counts else stem
    if not main:
        raise NotATranscript(f"'{path}' names no session",
                             hint="its lines carry no sessionId and its name is not <session>.jsonl")

    def session_of(obj):
        sid = obj.get("sessionId") if obj is not None else None
        return sid if isinstance(sid, str) and sid else main

    return jsonl.timed(path, parsed, session_of)


by_session = jsonl.by_session


class Converter:
    """Turns the ordered lines of one session into normalised events."""

    def __init__(self, session_id: str, lines: list[Line]):
        self.session = session_id
        self.lines = lines
        self.events: list[dict] = []
        self.accounting = Accounting()
        self.uuids: set[str] = set()
        self.tools: dict[str, tuple] = {}  # tool_use_id -> (name, input)
        self.agents_started: set[str] = set()
        self.messages_seen: set[str] = set()  # API message ids whose usage is recorded
        self.occurrences: dict[str, int] = {}
        self.agent_types = self._agent_types(lines)
        self.emitted = False  # has a line made an event of a step yet?
        self.started_by = None  # SessionStart's source, when a hook's line told it first

    # -- the whole session -------------------------------------------------

    def run(self) -> list[dict]:
        for ln in self.lines:
            self.accounting.lines += 1
            outcome = self._line(ln)
            if outcome == "step":
                self.accounting.steps += 1
            elif outcome == "raw":
                self.accounting.kept_raw += 1
            else:
                self.accounting.skip(outcome)
        return self.events

    @staticmethod
    def _agent_types(lines: list[Line]) -> dict[str, str]:
        """agent id -> subagent type, from the Task calls that started each agent."""
        inputs: dict[str, str] = {}
        agent_of_call: dict[str, str] = {}
        for ln in lines:
            obj = ln.obj or {}
            typ = obj.get("type")
            if typ == "assistant":
                for block in _blocks(obj):
                    if block.get("type") == "tool_use" and isinstance(block.get("input"), dict):
                        kind = block["input"].get("subagent_type")
                        if isinstance(kind, str):
                            inputs[block.get("id")] = kind
            elif typ == "progress":
                data = obj.get("data") or {}
                if isinstance(data, dict) and data.get("agentId") and obj.get("parentToolUseID"):
                    agent_of_call[obj["parentToolUseID"]] = data["agentId"]
            elif typ == "user" and isinstance(obj.get("toolUseResult"), dict):
                agent = obj["toolUseResult"].get("agentId")
                for block in _blocks(obj):
                    if agent and block.get("type") == "tool_result":
                        agent_of_call[block.get("tool_use_id")] = agent
        return {agent: inputs[call] for call, agent in agent_of_call.items() if call in inputs}

    # -- one line ----------------------------------------------------------

    def _line(self, ln: Line) -> str:
        obj = ln.obj
        if obj is None:
            if not ln.raw.strip():
                return "blank"
            # Not a JSON object (a write cut short): its text, kept whole.
            base = self._base(ln, {})
            self.events.append(self._event(imported_id(base, "raw"), "raw", "unparsed", ln.order,
                                           {"text": ln.raw.decode("utf-8", "surrogateescape")}))
            return "raw"
        typ = obj.get("type")
        if typ == "progress":
            data = obj.get("data")
            if isinstance(data, dict) and data.get("type") == "agent_progress" \
                    and isinstance(data.get("message"), dict):
                # A subagent's message, relayed into its parent's transcript
                # (before subagents had files of their own): the same uuid
                # as in the subagent's file, so whichever comes second is a
                # duplicate.
                inner = data["message"]
                line = {**inner, "isSidechain": True, "agentId": data.get("agentId") or "sidechain",
                        "cwd": obj.get("cwd"), "version": obj.get("version")}
                if inner.get("type") in ("user", "assistant") and inner.get("uuid"):
                    return self._message_line(ln, line)
            if (isinstance(data, dict) and data.get("hookEvent") == "SessionStart" and not self.emitted
                    and not obj.get("isSidechain") and isinstance(data.get("hookName"), str)
                    and data["hookName"].startswith("SessionStart:")):
                # A SessionStart hook running before the session's first
                # step: its name holds how the session started.
                self.started_by = self.started_by or data["hookName"][len("SessionStart:"):] or None
            return "progress"
        if typ in ("user", "assistant"):
            return self._message_line(ln, obj)
        base = self._base(ln, obj)
        if base is None:
            return "duplicate"
        if typ == "system" and str(obj.get("subtype", "")).endswith("compact_boundary"):
            meta = obj.get("compactMetadata") or obj.get("microcompactMetadata")
            self._emit(imported_id(base, "compact"), "compact", "system/" + obj["subtype"], ln, obj,
                       {"trigger": meta.get("trigger") if isinstance(meta, dict) else None,
                        "phase": "post"})
            return "step"
        self._keep(ln, base)
        return "raw"

    def _message_line(self, ln: Line, obj: dict) -> str:
        base = self._base(ln, obj)
        if base is None:
            return "duplicate"
        if obj.get("type") == "user":
            return self._user(ln, obj, base)
        return self._assistant(ln, obj, base)

    def _user(self, ln: Line, obj: dict, base: str) -> str:
        content = (obj.get("message") or {}).get("content")
        blocks = content if isinstance(content, list) else []
        results = [b for b in blocks if isinstance(b, dict) and b.get("type") == "tool_result"]
        if results:
            result = obj.get("toolUseResult")
            for i, block in enumerate(results):
                tid = block.get("tool_use_id")
                name, tool_input = self.tools.get(tid, (None, None))
                # The structured result is what a PostToolUse hook reports;
                # the block's content is the text the model was shown.
                output = result if (len(results) == 1 and "toolUseResult" in obj) else block.get("content")
                data = {"name": name, "tool_use_id": tid, "input": tool_input, "output": output,
                        "error": bool(block.get("is_error"))}
                if name in TRANSCRIPT_WRITE_TOOLS and not data["error"]:
                    data["edits"] = file_edits(name, tool_input, output)
                    if isinstance(obj.get("gitBranch"), str) and obj["gitBranch"]:
                        # The branch its checkout was on: one checkout's
                        # states on two branches are two timelines (windows.py).
                        data["branch"] = obj["gitBranch"]
                self._emit(imported_id(base, str(i)), "tool_end", "tool_result", ln, obj, data,
                           writes=writes(name or "?", tool_input))
            if len(results) != len(blocks):
                self._keep(ln, base, "rest")  # text or images beside the results
            return "step"
        text = _prompt_text(content)
        if (text is None or obj.get("isMeta") or obj.get("isCompactSummary")
                or _INTERRUPTED.match(text.strip()) or text.lstrip().startswith(_HARNESS_OUTPUT)):
            # Harness-written context (a compaction summary, a skill's
            # expansion, an interruption marker, a local command's output):
            # it reached the model but is not the user's prompt.
            self._keep(ln, base)
            return "raw"
        self._emit(imported_id(base, "0"), "prompt", "user", ln, obj,
                   {"text": text, "prompt_id": obj.get("promptId")})
        if any(b.get("type") != "text" for b in blocks if isinstance(b, dict)):
            self._keep(ln, base, "rest")  # images and other blocks, whole
        return "step"

    def _assistant(self, ln: Line, obj: dict, base: str) -> str:
        message = obj.get("message") or {}
        model = message.get("model")
        # "<synthetic>" marks a message the harness wrote itself.
        model = model if isinstance(model, str) and model and not model.startswith("<") else None
        usage = None
        mid = message.get("id")
        if isinstance(message.get("usage"), dict) and mid not in self.messages_seen:
            usage = {k: message["usage"][k] for k in _USAGE_KEYS
                     if isinstance(message["usage"].get(k), int)} or None
        made = 0
        unknown = False
        for i, block in enumerate(_blocks(obj)):
            kind = block.get("type")
            # The usage belongs to the API reply, not to each of its blocks.
            extra = {"model": model, "usage": usage if made == 0 else None}
            eid = imported_id(base, str(i))
            if kind == "text":
                if not str(block.get("text", "")).strip():
                    continue
                self._emit(eid, "message", "assistant", ln, obj, {"text": block["text"], **extra})
            elif kind in ("thinking", "redacted_thinking"):
                text = block.get("thinking") if kind == "thinking" else ""
                # The signature (a redacted block's data) is what lets the
                # thinking be sent back to the model on resume.
                signature = block.get("signature") if kind == "thinking" else block.get("data")
                self._emit(eid, "message", "assistant", ln, obj,
                           {"text": text if isinstance(text, str) else "", "thinking": True, **extra,
                            **({"signature": signature, "redacted": kind == "redacted_thinking"}
                               if isinstance(signature, str) and signature else {})})
            elif kind in ("tool_use", "server_tool_use"):
                name = block.get("name") or "?"
                self.tools[block.get("id")] = (name, block.get("input"))
                self._emit(eid, "tool_start", "tool_use", ln, obj,
                           {"name": name, "tool_use_id": block.get("id"), "input": block.get("input"),
                            **extra}, writes=writes(name, block.get("input")))
            elif isinstance(kind, str) and kind.endswith("_tool_result") and block.get("tool_use_id"):
                name, tool_input = self.tools.get(block["tool_use_id"], (None, None))
                self._emit(eid, "tool_end", "tool_result", ln, obj,
                           {"name": name, "tool_use_id": block["tool_use_id"], "input": tool_input,
                            "output": block.get("content"), "error": False},
                           writes=writes(name or "?", tool_input))
            else:
                unknown = True
                continue
            made += 1
        if made and mid:
            self.messages_seen.add(mid)
        if unknown:
            self._keep(ln, base, "rest")  # a block this version does not know, whole
            return "step" if made else "raw"
        return "step" if made else "empty-text"

    # -- events ------------------------------------------------------------

    def _base(self, ln: Line, obj: dict) -> str | None:
        """What a line's event ids derive from; None for a uuid converted before."""
        uuid = obj.get("uuid")
        if isinstance(uuid, str) and uuid:
            if uuid in self.uuids:
                return None
            self.uuids.add(uuid)
            return uuid
        # No uuid: the line's bytes, and how often the session had them before.
        digest = sha1(ln.raw).hexdigest()
        n = self.occurrences.get(digest, 0)
        self.occurrences[digest] = n + 1
        return f"{digest}:{n}"

    def _keep(self, ln: Line, base: str, part: str = "raw") -> None:
        """Keep the physical line whole, as a raw lifecycle event."""
        obj = ln.obj
        typ = obj.get("type") if isinstance(obj.get("type"), str) and obj.get("type") else "unknown"
        if typ == "system" and isinstance(obj.get("subtype"), str):
            typ += "/" + obj["subtype"]
        self.events.append(self._event(imported_id(base, part), "raw", typ,
                                       ln.t if ln.t is not None else ln.order, {"line": obj}))

    def _emit(self, eid: str, kind: str, name: str, ln: Line, obj: dict, data: dict,
              writes: bool = False) -> None:
        agent = (obj.get("agentId") or "sidechain") if obj.get("isSidechain") else None
        t = parse_iso(obj.get("timestamp"))
        t = t if t is not None else ln.order
        if agent and agent not in self.agents_started:
            self.agents_started.add(agent)
            self.events.append(self._event(imported_id("agent", agent), "subagent_start", "subagent", t,
                                           {"agent_id": agent,
                                            "agent_type": self.agent_types.get(agent)}))
        data = {"cwd": obj.get("cwd"), "transcript_path": ln.path,
                "harness_version": obj.get("version"), "agent_id": agent,
                # A subagent's own file names no conversation: its lines
                # carry none, wherever they were read.
                "slug": obj.get("slug") if isinstance(obj.get("slug"), str) and not agent else None,
                "started_by": None if self.emitted else self.started_by, **data}
        self.emitted = True
        self.events.append(self._event(eid, kind, name, t, data, writes))

    def _event(self, eid: str, kind: str, name: str, t, data: dict, writes: bool = False) -> dict:
        return imported_event(SOURCE, self.session, eid, kind, name, t, data, writes)


def _blocks(obj: dict) -> list[dict]:
    content = (obj.get("message") or {}).get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _prompt_text(content) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [b.get("text") for b in content if isinstance(b, dict) and b.get("type") == "text"]
        texts = [t for t in texts if isinstance(t, str)]
        if texts:
            return "\n\n".join(texts)
    return None


def convert(session_id: str, lines: list[Line]) -> tuple[list[dict], Accounting]:
    """The normalised events of one session's lines, and what became of each line."""
    conv = Converter(session_id, lines)
    return conv.run(), conv.accounting


# -- edits, from the tools' structured results -------------------------------

def file_edits(name: str, tool_input, result) -> list[dict] | None:
    """What an Edit, MultiEdit or Write did to its file, from its structured result.

    Each entry has `file` (the absolute path) and either `before` (None for a
    new file) and `after`, the whole contents; or, when the transcript does
    not hold the contents, `hunks`, `added` and `removed` from its
    structuredPatch. None when the result says too little.
    """
    if not isinstance(result, dict):
        return None
    tool_input = tool_input if isinstance(tool_input, dict) else {}
    path = result.get("filePath") or tool_input.get("file_path")
    if not isinstance(path, str) or not path:
        return None
    before = result.get("originalFile", result.get("originalFileContents"))
    if name == "Write" or result.get("type") in ("create", "update"):
        after = result.get("content", tool_input.get("content"))
        if not isinstance(after, str):
            return None
        if result.get("type") == "create":
            return [{"file": path, "before": None, "after": after}]
        if isinstance(before, str):
            return [{"file": path, "before": before, "after": after}]
        return hunks_from_structured_patch(path, result.get("structuredPatch"))
    if not isinstance(before, str):
        return hunks_from_structured_patch(path, result.get("structuredPatch"))
    edits = tool_input.get("edits") if name == "MultiEdit" else [{
        "old_string": result.get("oldString", tool_input.get("old_string")),
        "new_string": result.get("newString", tool_input.get("new_string")),
        "replace_all": result.get("replaceAll", tool_input.get("replace_all")),
    }]
    after = replace_strings(before, edits)
    if after is None:
        # Claude Code matched with normalised quotes or whitespace; its
        # structuredPatch says what it did.
        after = apply_structured_patch(before, result.get("structuredPatch"))
    if after is None:
        return hunks_from_structured_patch(path, result.get("structuredPatch"))
    if before == "" and all(isinstance(e, dict) and e.get("old_string") == "" for e in edits or []):
        before = None  # an Edit with an empty old_string creates the file
    return [{"file": path, "before": before, "after": after}]


def session_cwd(lines: list[Line]) -> str | None:
    """The directory the session started in: its first line's `cwd`."""
    return next((ln.obj.get("cwd") for ln in lines
                 if ln.obj and isinstance(ln.obj.get("cwd"), str)), None)
