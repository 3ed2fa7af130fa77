"""Pi session files, normalised into git-ot events.

Pi writes every session to `<agent dir>/sessions/--<cwd>--/<time>_<id>.jsonl`
(the agent dir is `$PI_CODING_AGENT_DIR`, by default `~/.pi/agent`; the
cwd with its leading "/" dropped and every "/", "\\" and ":" made "-"),
one JSON object a line. The first is the header, `{"type": "session",
"version": 3, "id", "timestamp", "cwd"}`; each line after it is an entry
with its own `id` and the `parentId` it follows, so one file holds every
branch the user took with /tree. Version 1 files have no ids (the entries
follow each other), version 2 call an extension's message role
"hookMessage" (3 calls it "custom"); all three are read here.

Entries become the same normalised events the extension sends live
(hooks.py): a user message is a prompt, an assistant message its words (one
message step for the text of one reply, as live) then one tool start per
tool call, a tool result the tool's end, a compaction a compaction step;
every other entry (the header, model and thinking-level changes, labels,
branch summaries, extension entries, the user's own shell commands) is kept
whole as a `raw` lifecycle event, and every line is accounted for, as a
step, a kept raw record, or one of the skips in SKIP_REASONS.

Branches: entries are folded in the order Pi wrote them, which is the
order the work happened. A branch left behind with /tree keeps its steps
(its tools changed the working tree whichever branch the conversation went
on from); the branch summary Pi writes is kept raw, and a live capture
records the move itself as a `session_tree` event.

Event ids derive from the session id and the entry's id (a line's bytes
and how often they occurred before, in version 1), so importing the same
file twice folds nothing new.
"""

from __future__ import annotations

import hashlib
import os
import re

from ...errors import NotATranscript
from .. import jsonl
from ..edits import replace_unique
from ..jsonl import Accounting, Line, imported_event, imported_id
from .hooks import SOURCE, model_id, text_of, usage, writes

# Why a line makes neither a step nor a kept record. Each reason is
# documented in `git help git-ot-import` and in refs/README.md.
SKIP_REASONS = {
    "blank": "an empty line",
    "duplicate": "an entry whose id an earlier line of the session already had (a session "
                 "file copied, or imported beside its copy)",
    "empty-text": "an assistant message with no content but blank text",
}

_DIFF_LINE = re.compile(r"([ +-]) *(\d+) ")


def agent_dir(env=os.environ) -> str:
    value = env.get("PI_CODING_AGENT_DIR")
    if value:
        return os.path.expanduser(value)
    return os.path.join(os.path.expanduser("~"), ".pi", "agent")


def default_folder(worktree: str, env=os.environ) -> str:
    """The folder where Pi keeps the sessions run in `worktree`."""
    safe = re.sub(r"[/\\:]", "-", re.sub(r"^[/\\]", "", worktree))
    return os.path.join(agent_dir(env), "sessions", f"--{safe}--")


_NOT_A_SESSION_HINT = ("a Pi session file is a .jsonl file whose first line is its header "
                       "({\"type\": \"session\", \"id\": ...}), as Pi writes under ~/.pi/agent/sessions/")


def read_transcript(path: str, data: bytes) -> list[Line]:
    """The lines of one session file, all of the session its header names."""
    parsed = jsonl.parse(data)
    header = next((obj for _, obj in parsed if obj is not None and obj.get("type") == "session"), None)
    first = next((obj for raw, obj in parsed if raw.strip()), None)
    if header is None or first is not header:
        raise NotATranscript(f"'{path}' is not a Pi session file", hint=_NOT_A_SESSION_HINT)
    sid = header.get("id")
    if not isinstance(sid, str) or not sid:
        raise NotATranscript(f"'{path}' names no session", hint="its header has no \"id\"")
    return jsonl.timed(path, parsed, lambda obj: sid)


by_session = jsonl.by_session


def session_cwd(lines: list[Line]) -> str | None:
    """The directory the session ran in: its header's `cwd`."""
    return next((ln.obj.get("cwd") for ln in lines if ln.obj and ln.obj.get("type") == "session"
                 and isinstance(ln.obj.get("cwd"), str)), None)


class Converter:
    """Turns the ordered lines of one session into normalised events."""

    def __init__(self, session_id: str, lines: list[Line]):
        self.session = session_id
        self.lines = lines
        self.events: list[dict] = []
        self.accounting = Accounting()
        self.cwd = session_cwd(lines)
        self.ids: set[str] = set()
        self.occurrences: dict[str, int] = {}
        self.tools: dict[str, tuple] = {}  # toolCallId -> (name, arguments)
        self.files: dict[str, str] = {}  # absolute path -> contents known from the session
        self.unsure: dict[str, str] = {}  # the same, from before a shell command ran

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

    # -- one line ----------------------------------------------------------

    def _line(self, ln: Line) -> str:
        obj = ln.obj
        if obj is None:
            if not ln.raw.strip():
                return "blank"
            # Not a JSON object (a write cut short): its text, kept whole.
            base = self._base(ln, {})
            self.events.append(self._event(imported_id(self.session, base, "raw"), "raw", "unparsed", ln.order,
                                           {"text": ln.raw.decode("utf-8", "surrogateescape")}))
            return "raw"
        base = self._base(ln, obj)
        if base is None:
            return "duplicate"
        typ = obj.get("type")
        if typ == "message" and isinstance(obj.get("message"), dict):
            role = obj["message"].get("role")
            if role == "user":
                return self._user(ln, obj, base)
            if role == "assistant":
                return self._assistant(ln, obj, base)
            if role == "toolResult":
                return self._tool_result(ln, obj, base)
        elif typ == "compaction":
            self._emit(imported_id(self.session, base, "compact"), "compact", "compaction", ln, obj,
                       {"trigger": "extension" if obj.get("fromHook") else None, "phase": "post",
                        "tokens_before": obj.get("tokensBefore")})
            return "step"
        self._keep(ln, obj, base)
        return "raw"

    def _user(self, ln: Line, obj: dict, base: str) -> str:
        content = obj["message"].get("content")
        text = text_of(content)
        if text is None:
            self._keep(ln, obj, base)
            return "raw"
        self._emit(imported_id(self.session, base, "0"), "prompt", "user", ln, obj, {"text": text})
        if isinstance(content, list) and any(isinstance(b, dict) and b.get("type") != "text" for b in content):
            self._keep(ln, obj, base, "rest")  # images, whole
        return "step"

    def _assistant(self, ln: Line, obj: dict, base: str) -> str:
        message = obj["message"]
        content = message.get("content")
        blocks = [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []
        if isinstance(content, str):
            blocks = [{"type": "text", "text": content}]
        extra = {"model": model_id(message.get("model")), "usage": usage(message)}
        made = 0
        unknown = False

        def emit(eid, kind, name, data, is_write=False):
            nonlocal made
            # The usage belongs to the reply, not to each of its events.
            self._emit(eid, kind, name, ln, obj, {**data, **extra, "usage": extra["usage"] if not made else None},
                       is_write)
            made += 1

        for i, block in enumerate(blocks):
            if block.get("type") == "thinking":
                thinking = block.get("thinking")
                signature = block.get("thinkingSignature")
                emit(imported_id(self.session, base, str(i)), "message", "assistant",
                     {"text": thinking if isinstance(thinking, str) else "", "thinking": True,
                      **({"signature": signature} if isinstance(signature, str) and signature else {})})
        text = text_of(blocks)
        if text is not None and text.strip():
            # One step for the reply's words, as the live message_end gives.
            emit(imported_id(self.session, base, "text"), "message", "assistant", {"text": text})
        for i, block in enumerate(blocks):
            kind = block.get("type")
            if kind == "toolCall":
                name = block.get("name") if isinstance(block.get("name"), str) and block.get("name") else "?"
                self.tools[block.get("id")] = (name, block.get("arguments"))
                emit(imported_id(self.session, base, str(i)), "tool_start", "toolCall",
                     {"name": name, "tool_use_id": block.get("id"), "input": block.get("arguments")},
                     writes(name, block.get("arguments")))
            elif kind not in ("text", "thinking"):
                unknown = True
        if unknown or (not made and (message.get("errorMessage") or not blocks)):
            # A block this version does not know, or a reply that failed
            # or was cut short (its error is the record): the entry, whole.
            self._keep(ln, obj, base, "rest" if made else "raw")
            return "step" if made else "raw"
        return "step" if made else "empty-text"

    def _tool_result(self, ln: Line, obj: dict, base: str) -> str:
        message = obj["message"]
        tid = message.get("toolCallId")
        name, arguments = self.tools.get(tid, (None, None))
        name = message.get("toolName") if isinstance(message.get("toolName"), str) else name
        output = {"content": message.get("content")}
        if message.get("details") is not None:
            output["details"] = message["details"]
        error = bool(message.get("isError"))
        data = {"name": name, "tool_use_id": tid, "input": arguments, "output": output, "error": error}
        if not error:
            edits = self._file_edits(name, arguments, output)
            if name in ("write", "edit"):
                data["edits"] = edits
        if name == "bash" or (error and name in ("write", "edit")):
            # A shell command (or a write that failed half way) may have
            # changed any file: what the session knew of their contents
            # is no longer sure (see _file_edits).
            self.unsure.update(self.files)
            self.files.clear()
        self._emit(imported_id(self.session, base, "0"), "tool_end", "toolResult", ln, obj, data,
                   writes(name or "?", arguments))
        return "step"

    # -- file contents -----------------------------------------------------

    def _path(self, arguments) -> str | None:
        path = arguments.get("path", arguments.get("file_path")) if isinstance(arguments, dict) else None
        if not isinstance(path, str) or not path:
            return None
        path = path[1:] if path.startswith("@") else path
        if not os.path.isabs(path):
            if not self.cwd or not os.path.isabs(self.cwd):
                return None
            path = os.path.join(self.cwd, path)
        return os.path.normpath(path)

    def _file_edits(self, name, arguments, output: dict) -> list[dict] | None:
        """What a write or edit did to its file (see claude_code/transcript.py's
        file_edits for the shape); a read's whole text is remembered as the
        file's contents, for the edits that follow it."""
        path = self._path(arguments)
        if path is None:
            return None
        if name == "read":
            text = _whole_read(arguments, output)
            if text is not None:
                self.files[path] = text
            return None
        if name == "write":
            after = arguments.get("content")
            if not isinstance(after, str):
                return None
            # A file the session had neither read nor written is taken to
            # be new; one it knew before a shell command, to be as it was.
            before = self.files.pop(path, self.unsure.pop(path, None))
            self.files[path] = after
            return [{"file": path, "before": before, "after": after}]
        if name != "edit":
            return None
        edits = arguments.get("edits")
        if not isinstance(edits, list) and "oldText" in arguments:  # the edit tool's older arguments
            edits = [{"oldText": arguments.get("oldText"), "newText": arguments.get("newText")}]
        details = output.get("details")
        diff = details.get("diff") if isinstance(details, dict) else None
        sure = path in self.files
        before = self.files.pop(path, None) if sure else self.unsure.pop(path, None)
        after = replace_unique(before, edits) if before is not None else None
        # Contents known only from before a shell command are used when the
        # lines the edit reports (changed and around) are theirs.
        if after is not None and (sure or agrees(diff, before, after)):
            self.files[path] = after
            return [{"file": path, "before": before, "after": after}]
        return hunks_from_numbered_diff(path, diff)

    # -- events ------------------------------------------------------------

    def _base(self, ln: Line, obj: dict) -> str | None:
        """What a line's event ids derive from; None for an entry converted before."""
        eid = obj.get("id")
        if isinstance(eid, str) and eid and obj.get("type") != "session":
            if eid in self.ids:
                return None
            self.ids.add(eid)
            return eid
        digest = hashlib.sha1(ln.raw).hexdigest()
        n = self.occurrences.get(digest, 0)
        self.occurrences[digest] = n + 1
        if obj.get("type") == "session" and n:
            return None  # the header of a copy of the file
        return f"{digest}:{n}"

    def _keep(self, ln: Line, obj: dict, base: str, part: str = "raw") -> None:
        """Keep the entry whole, as a raw lifecycle event."""
        typ = obj.get("type") if isinstance(obj.get("type"), str) and obj.get("type") else "unknown"
        if typ == "message" and isinstance(obj.get("message"), dict) and isinstance(obj["message"].get("role"), str):
            typ += "/" + obj["message"]["role"]
        self.events.append(self._event(imported_id(self.session, base, part), "raw", typ,
                                       ln.t if ln.t is not None else ln.order, {"line": obj}))

    def _emit(self, eid: str, kind: str, name: str, ln: Line, obj: dict, data: dict,
              is_write: bool = False) -> None:
        data = {"cwd": self.cwd, "transcript_path": ln.path, **data}
        self.events.append(self._event(eid, kind, name, ln.t if ln.t is not None else ln.order, data,
                                       is_write))

    def _event(self, eid: str, kind: str, name: str, t, data: dict, is_write: bool = False) -> dict:
        return imported_event(SOURCE, self.session, eid, kind, name, t, data, is_write)


def convert(session_id: str, lines: list[Line]) -> tuple[list[dict], Accounting]:
    """The normalised events of one session's lines, and what became of each line."""
    conv = Converter(session_id, lines)
    return conv.run(), conv.accounting


def _whole_read(arguments: dict, output: dict) -> str | None:
    """The text of a read that returned the whole file, as it is on disk."""
    if arguments.get("offset") not in (None, 1) or arguments.get("limit") is not None:
        return None
    details = output.get("details")
    if isinstance(details, dict) and details.get("truncation"):
        return None
    content = output.get("content")
    if (not isinstance(content, list) or len(content) != 1 or not isinstance(content[0], dict)
            or content[0].get("type") != "text" or not isinstance(content[0].get("text"), str)):
        return None
    return content[0]["text"]


def agrees(diff, before: str, after: str) -> bool:
    """Whether every line of an edit's numbered diff (hunks_from_numbered_diff)
    is the line of that number in `before` (context and removed lines) or
    `after` (added lines)."""
    if not isinstance(diff, str) or not diff:
        return False
    old, new = before.split("\n"), after.split("\n")
    changed = False
    for line in diff.split("\n"):
        m = _DIFF_LINE.match(line)
        if m is None:
            continue
        tag, n, text = m.group(1), int(m.group(2)), line[m.end():]
        lines = new if tag == "+" else old
        if not 0 < n <= len(lines) or lines[n - 1] != text:
            return False
        changed = changed or tag != " "
    return changed


def hunks_from_numbered_diff(path: str, diff) -> list[dict] | None:
    """Zero-context hunks from the diff Pi's edit tool reports in its
    details: a line each, "+<new line number> text", "-<old line number>
    text", " <old line number> text" for context, and " ..." for lines left
    out. For an edit whose file contents the session does not hold."""
    if not isinstance(diff, str) or not diff:
        return None
    hunks, added, removed, delta = [], 0, 0, 0
    run: tuple[list, list] | None = None

    def close():
        nonlocal run, delta
        if run is None:
            return
        old, new = run
        old_start = old[0] if old else new[0] - delta - 1
        new_start = new[0] if new else old[0] + delta - 1
        hunks.append([old_start, len(old), new_start, len(new)])
        delta += len(new) - len(old)
        run = None

    for line in diff.split("\n"):
        m = _DIFF_LINE.match(line)
        if m is None or m.group(1) == " ":
            close()
            continue
        if run is None:
            run = ([], [])
        if m.group(1) == "-":
            run[0].append(int(m.group(2)))
            removed += 1
        else:
            run[1].append(int(m.group(2)))
            added += 1
    close()
    if not hunks:
        return None
    return [{"file": path, "status": "M", "hunks": hunks, "added": added, "removed": removed}]
