"""The calls of tools git-ot does not hook, read from the transcript as the session goes.

Claude Code's tool hooks are installed for the tools that need a look at
the working tree (settings.py, TOOL_MATCHER). A tool that cannot change it
(Read, Grep, Glob, ...) needs no snapshot, and Write, Edit and MultiEdit
write one file whose contents before and after their transcript result
holds; a hook process on each side of each of their calls would cost the
agent two process starts. Their calls are still steps of the session. Each
hook call of the session reads what the session's transcript gained since
the previous one (and what its subagents' transcripts gained) and spools
the calls of those tools found there, before its own event, so the steps
keep the order in which they ran.

The events spooled are the ones `git ot import` makes of the same lines
(capture/claude_code/transcript.py, ids derived from each line's uuid), so
an import later, or a hook of an older install that still sees every tool,
folds each call once. A write tool's end event carries its `edits`, which
the seal turns into the step's patch and partial snapshots as an import
does (domain/edit_states.py).

The git hooks read what the transcripts of sessions still running gained
before they anchor (`settle` with `quick`): a commit the agent makes right
after an edit takes that edit's lines as the session's.

What has been read is kept in `<state>/transcript-fill/<session>.json`:
per transcript file, the offset read up to (always the end of a whole
line) and the calls started whose results have not been read yet. Losing
that file costs one reading of the transcripts from their start, nothing
else: the events read again are folded once.
"""

from __future__ import annotations

import os

from ...store import fastjson, state
from ...store.locks import hold
from .hooks import TRANSCRIPT_WRITE_TOOLS, UNHOOKED_TOOLS

# How a call starts in a transcript line: a tool_use block, its name a few
# bytes on (Claude Code writes `{"type":"tool_use","id":"toolu_...","name":"Read",...`).
_CALL = b'"type":"tool_use"'
_NAME = b'"name":"'
# Lines that can hold a call or its result; every other line (requests,
# attachments, the tools' definitions) is not even parsed.
_RELEVANT = (b'"tool_use"', b'"tool_result"')
# The most a hook reads of one transcript in one call; a larger backlog (a
# state file lost in a long session) is read by the next calls in turn.
MAX_READ = 64 * 1024 * 1024


def fill(location, event: dict) -> list[dict]:
    """The events of unhooked tool calls the transcripts gained since the
    session's previous hook call, oldest first (refs/README.md, section 12)."""
    data = event.get("data")
    path = data.get("transcript_path") if isinstance(data, dict) else None
    if event.get("kind") == "raw" or not isinstance(path, str) or not path.endswith(".jsonl"):
        return []
    session = event["session"]
    files = [path]
    sub = os.path.join(os.path.dirname(path), session, "subagents")
    try:
        files += sorted(os.path.join(sub, n) for n in os.listdir(sub)
                        if n.startswith("agent-") and n.endswith(".jsonl"))
    except OSError:
        pass  # no subagent has run
    where = state.transcript_fill(location.state_dir, session)
    os.makedirs(os.path.dirname(where), exist_ok=True)
    with hold(where + ".lock", 5.0):
        seen = _load(where)
        out: list[dict] = []
        changed = False
        for name in files:
            entry = seen.setdefault(name, {"offset": 0, "open": {}})
            chunk = _new_lines(name, entry["offset"])
            if not chunk:
                continue
            changed = True
            entry["offset"] += len(chunk)
            if _unhooked_call(chunk) or any(tid.encode() in chunk for tid in entry["open"]):
                out += _calls(session, name, chunk, entry["open"])
        if changed:
            _save(where, seen)
    out.sort(key=lambda ev: ev["t"])
    for ev in out:
        ev["filled"] = True
        # A reply's token usage is its own, not its tool calls': an import
        # gives it to the reply's first block, which is often text, not read here.
        ev["data"].pop("usage", None)
    return out


# How long a transcript must stay unchanged before `settle` reads it last,
# and the longest it waits for that (seconds).
QUIET = 0.15
SETTLE_LIMIT = 1.5


# How long a git hook waits for the results of write calls the transcript
# shows started (seconds): Claude Code writes a result as its tool ends.
QUICK_LIMIT = 1.0


def settle(location, session: str, quick: bool = False) -> list[dict]:
    """At the end of a turn, in the detached seal (no agent waits on it):
    once the session's transcripts have stopped growing (Claude Code writes
    the turn's last lines a moment after its Stop hook), the calls they
    gained since the last hook call, so that the seal places them in their
    turn rather than a later one.

    With `quick` (a git hook, before it anchors): what they gained now,
    waiting at most QUICK_LIMIT only while a write call read as started
    has no result yet."""
    import time

    where = state.transcript_fill(location.state_dir, session)
    files = list(_load(where))
    if not files:
        return []  # no hook of the session read a transcript
    main = next((f for f in files if os.path.basename(f) == session + ".jsonl"), files[0])
    event = {"session": session, "kind": "stop", "data": {"transcript_path": main}}
    if quick:
        out = fill(location, event)
        deadline = time.monotonic() + QUICK_LIMIT
        while _writing(where) and time.monotonic() < deadline:
            time.sleep(0.03)
            out += fill(location, event)
        return out
    deadline = time.monotonic() + SETTLE_LIMIT
    sizes = None
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        now = [_size(f) for f in files]
        if now != sizes:
            sizes, quiet_since = now, time.monotonic()
        elif time.monotonic() - quiet_since >= QUIET:
            break
        time.sleep(0.03)
    return fill(location, event)


def _writing(where: str) -> bool:
    """Does a write call read as started still wait for its result?"""
    return any(call[0] in TRANSCRIPT_WRITE_TOOLS
               for entry in _load(where).values() for call in entry["open"].values())


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return -1


def _unhooked_call(chunk: bytes) -> bool:
    """Does a call of an unhooked tool start in `chunk`? Found by bytes, so
    that a chunk without one costs no parsing."""
    i = chunk.find(_CALL)
    while i >= 0:
        j = chunk.find(_NAME, i, i + 256)
        if j >= 0:
            end = chunk.find(b'"', j + len(_NAME))
            if chunk[j + len(_NAME):end].decode("utf-8", "replace") in UNHOOKED_TOOLS:
                return True
        i = chunk.find(_CALL, i + len(_CALL))
    return False


def _new_lines(path: str, offset: int) -> bytes:
    """The whole lines the file gained after `offset` (a file now shorter
    was replaced: read from its start)."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size < offset:
                offset = 0
            fh.seek(offset)
            data = fh.read(min(size - offset, MAX_READ))
    except OSError:
        return b""
    end = data.rfind(b"\n")
    return data[:end + 1] if end >= 0 else b""


def _calls(session: str, path: str, chunk: bytes, open_calls: dict) -> list[dict]:
    """The tool events of unhooked tools in `chunk`; `open_calls` (tool_use
    id -> [name, input]) carries the calls whose results come later."""
    from .. import jsonl
    from .transcript import Converter

    relevant = b"".join(line for line in chunk.splitlines(keepends=True)
                        if any(mark in line for mark in _RELEVANT))
    lines = jsonl.timed(path, jsonl.parse(relevant), lambda obj: session)
    conv = Converter(session, lines)
    conv.tools.update({k: tuple(v) for k, v in open_calls.items()})
    events = []
    for ev in conv.run():
        name = ev["data"].get("name")
        if ev["kind"] not in ("tool_start", "tool_end") or name not in UNHOOKED_TOOLS:
            continue
        tid = ev["data"].get("tool_use_id")
        if ev["kind"] == "tool_start" and isinstance(tid, str):
            open_calls[tid] = [name, ev["data"].get("input")]
        elif isinstance(tid, str):
            open_calls.pop(tid, None)
        events.append(ev)
    return events


def _load(path: str) -> dict:
    try:
        with open(path, "rb") as fh:
            value = fastjson.loads(fh.read().decode("utf-8", "surrogatepass"))
    except (OSError, ValueError, RecursionError):
        return {}
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(v, dict)
            and isinstance(v.get("offset"), int) and isinstance(v.get("open"), dict)}


def _save(path: str, seen: dict) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(fastjson.dumps(seen, ascii=True))
    os.replace(tmp, path)
