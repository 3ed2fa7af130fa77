"""Fold normalised hook events into a session's trace, trail and ctx records.

The fold is incremental: sealing appends new events to the records already
in the session ref, so a session may be sealed at every turn end, after a
crash, or when a commit needs it, and the result is the same as one seal at
the end. Event ids make a second fold of the same event a no-op.

Normalised events (written by the capture adapters) look like

    {"v": 1, "id": "...", "t": 1700000000.1, "source": "claude-code",
     "event": "PostToolUse", "session": "...", "kind": "tool_end",
     "snapshot": "<tree id>" | null, "data": {...}}

and `kind` is one of: session_start, prompt, tool_start, tool_end, message,
subagent_start, subagent_stop, compact, stop, session_end, other, raw.

Events imported from a harness's transcript (capture/<harness>/transcript.py)
have ids that start with IMPORTED_ID_PREFIX. When one repeats a step that
live capture recorded (the same tool_use_id, prompt, closing message or
subagent), it is merged into that step instead of adding a second one, and
the other way round.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from ..store.repository import Store

# Strings longer than this go to blobs/ rather than inline in a record.
INLINE_LIMIT = 2048
BLOB_KEY = "$blob"
LIFECYCLE_KINDS = {"session_start", "stop", "session_end", "subagent_stop", "other", "raw"}
IMPORTED_ID_PREFIX = "tr-"
# An imported prompt without a prompt id is the live one with the same text
# only if the two times are this close (seconds).
PROMPT_MERGE_WINDOW = 60.0


class Payloads:
    """Moves large strings out of records into content-addressed blobs."""

    def __init__(self, write_blob: Callable[[bytes], str], redact: Callable | None = None):
        self.write_blob = write_blob
        # The security gate (domain/gate): every harness value passes it
        # before anything of it is stored, inline or in a blob.
        self.redact = redact
        self.new: list[str] = []
        self._previewed: dict[str, str] = {}

    def put(self, value):
        if self.redact is not None:
            if isinstance(value, str) and value in self._previewed:
                value = self._previewed.pop(value)  # redacted once, counted once
            else:
                value = self.redact(value)
        return self._store(value)

    def preview(self, text: str) -> str:
        """`text` as put() stores it (redacted), to compare with stored text;
        the put() of the same text that may follow reuses it."""
        if self.redact is None or not isinstance(text, str):
            return text
        if text not in self._previewed:
            self._previewed[text] = self.redact(text)
        return self._previewed[text]

    def _store(self, value):
        if isinstance(value, str) and len(value) > INLINE_LIMIT:
            data = value.encode("utf-8", "surrogateescape")
            oid = self.write_blob(data)
            self.new.append(oid)
            return {BLOB_KEY: oid, "size": len(data)}
        if isinstance(value, dict):
            # Keys starting with "$" are reserved for references; a harness
            # key that starts with "$" is stored with one more "$".
            return {("$" + k if isinstance(k, str) and k.startswith("$") else k): self._store(v)
                    for k, v in value.items()}
        if isinstance(value, list):
            return [self._store(v) for v in value]
        return value


def expand(store: Store, session_id: str, value):
    """Replace blob references with their content, for showing or scanning a
    step: what `Payloads.put` stored, the other way round."""
    if isinstance(value, dict):
        if BLOB_KEY in value:
            data = store.read_blob(value[BLOB_KEY], f"session {session_id}")
            return data.decode("utf-8", "surrogateescape")
        return {(k[1:] if isinstance(k, str) and k.startswith("$$") else k): expand(store, session_id, v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [expand(store, session_id, v) for v in value]
    return value


def _text(value: str) -> str:
    """A string CBOR can store: bytes that were not UTF-8 (surrogate-escaped)
    become \\xNN, lone surrogates \\udNNN; valid text is returned as is."""
    if value.isascii():
        return value  # no encoded copy to check a large ASCII output
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        try:
            return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:
            return value.encode("utf-8", "backslashreplace").decode("utf-8")


def valid_text(value):
    """`value` with every string (keys too) made valid UTF-8 text."""
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, dict):
        return {valid_text(k): valid_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [valid_text(v) for v in value]
    return value


def anchored_commits(trail: dict) -> int:
    """How many commits took this session's work (the manifest's count)."""
    return len({a["commit"] for a in trail["anchors"]})


def new_records(session_id: str) -> dict:
    return {
        "trace": {"session": session_id, "steps": [], "lifecycle": [], "info": {}},
        "trail": {"snapshots": {}, "patches": [], "anchors": []},
        "ctx": {"messages": [], "views": []},
    }


def seen_event_ids(trace: dict) -> set[str]:
    seen = set()
    for step in trace["steps"]:
        seen.update(step.get("events", ()))
    for entry in trace["lifecycle"]:
        seen.add(entry["id"])
    return seen


class Folder:
    """Applies events, in spool order, to the three records of one session."""

    def __init__(self, recs: dict, payloads: Payloads):
        self.trace = recs["trace"]
        self.trail = recs["trail"]
        self.ctx = recs["ctx"]
        self.payloads = payloads
        self.seen = seen_event_ids(self.trace)
        self.new_snapshots: dict[str, str] = {}
        self.completed: list[dict] = []  # tool steps whose window closed now
        self.transcript_patches: dict[int, list] = {}  # step -> files, for steps without snapshots

    # -- helpers ---------------------------------------------------------

    def _next_n(self) -> int:
        return len(self.trace["steps"]) + 1

    def _open_tool(self, tool_use_id):
        for step in reversed(self.trace["steps"]):
            if step["kind"] == "tool" and step.get("tool_use_id") == tool_use_id:
                return step
        return None

    def _parent_for(self, agent_id):
        if not agent_id:
            return None
        for step in reversed(self.trace["steps"]):
            if step["kind"] == "subagent" and step.get("agent_id") == agent_id:
                return step["n"]
        return None

    def _add_step(self, step: dict, event: dict) -> dict:
        step = {"n": self._next_n(), **step, "t": event.get("t"), "events": [event["id"]]}
        parent = self._parent_for(event.get("data", {}).get("agent_id"))
        if parent is not None:
            step["parent"] = parent
        self._details(step, event.get("data", {}))
        self.trace["steps"].append(step)
        return step

    @staticmethod
    def _details(step: dict, data: dict) -> None:
        """What a transcript adds to a step: the model, its token usage, thinking."""
        for key in ("model", "usage"):
            if data.get(key) and key not in step:
                step[key] = data[key]
        if data.get("thinking") and step["kind"] == "message":
            step["thinking"] = True

    def _twin(self, kind: str, data: dict, event: dict):
        """The step this event repeats, recorded by the other capture source, or None."""
        steps = self.trace["steps"]
        if kind in ("tool_start", "tool_end"):
            step = self._open_tool(data["tool_use_id"]) if data.get("tool_use_id") else None
            if step is None or (kind == "tool_end" and step.get("status") == "running"):
                return None  # a new tool, or the end of a running one: the usual path
            return step
        if kind == "subagent_start":
            return next((s for s in steps if s["kind"] == "subagent"
                         and s.get("agent_id") == data.get("agent_id")), None)
        imported = event["id"].startswith(IMPORTED_ID_PREFIX)

        def other(step):
            return all(e.startswith(IMPORTED_ID_PREFIX) != imported for e in step["events"])

        if kind == "prompt" and not data.get("agent_id"):
            for s in steps:
                if s["kind"] != "prompt" or "parent" in s or not other(s):
                    continue
                if data.get("prompt_id") and s.get("prompt_id"):
                    if data["prompt_id"] == s["prompt_id"]:
                        return s
                elif (_same_text(s.get("text"), self.payloads.preview(data.get("text", "")))
                      and s.get("t") is not None
                      and event.get("t") is not None
                      and abs(s["t"] - event["t"]) <= PROMPT_MERGE_WINDOW):
                    return s
        elif ((kind == "message" and not data.get("thinking") and not data.get("agent_id"))
              or (kind == "stop" and data.get("message"))):
            # A turn's closing words, reported by the Stop hook and written
            # in the transcript: the main agent's, never a subagent's.
            text = self.payloads.preview(data.get("text") if kind == "message" else data.get("message"))
            return next((s for s in steps if s["kind"] == "message" and "parent" not in s
                         and not s.get("thinking") and other(s) and _same_text(s.get("text"), text)),
                        None)
        elif kind == "compact":
            return next((s for s in steps if s["kind"] == "compaction"
                         and s.get("phase") == data.get("phase") and other(s)), None)
        return None

    def _merge(self, step: dict, kind: str, data: dict, event: dict) -> None:
        step["events"].append(event["id"])
        self._details(step, data)
        if (kind == "tool_end" and data.get("patch") is not None
                and not (step.get("snapshot_before") and step.get("snapshot_after"))
                and not any(p["step"] == step["n"] for p in self.trail["patches"])):
            # Captured live without its snapshots: the transcript's patch will do.
            self.transcript_patches[step["n"]] = data["patch"]
            self._partial_snapshots(step, event)
            self.completed.append(step)

    def transcript_patch(self, step: dict) -> dict | None:
        """The patch a transcript reconstructed for a tool step that has no snapshots."""
        files = self.transcript_patches.get(step["n"])
        if files is None:
            return None
        return {"step": step["n"], "source": "transcript", "files": files}

    def _tool_step(self, event: dict, data: dict) -> dict:
        step = self._add_step({
            "kind": "tool", "name": data.get("name", "?"),
            "tool_use_id": data.get("tool_use_id"), "status": "running",
            "writes": bool(event.get("writes")),
            "input": self.payloads.put(data.get("input")),
        }, event)
        self._message(step, "assistant")
        return step

    def _message(self, step: dict, role: str) -> None:
        """Record a message entering the model's view, and the view at this step."""
        messages = self.ctx["messages"]
        messages.append({"id": len(messages) + 1, "step": step["n"], "role": role})
        views = self.ctx["views"]
        start = views[-1]["from"] if views else 1
        views.append({"step": step["n"], "from": start, "to": len(messages)})

    def _snapshot(self, step: dict, event: dict, at: str) -> None:
        oid = event.get("snapshot")
        if not oid:
            if event.get("writes") and event.get("snapshot_error") is not None:
                # The hook tried and failed: the step says so, and its window
                # gives no one's lines (refs/README.md, section 11).
                failed = step.setdefault("snapshot_failed", {})
                failed[at] = self.payloads.put(str(event["snapshot_error"])[:500])
            return
        name = f"{step['n']}-{at}"
        self.trail["snapshots"][name] = {"tree": oid, "step": step["n"], "at": at, "t": event.get("t")}
        self.new_snapshots[name] = oid
        step[f"snapshot_{at}"] = name

    def _partial_snapshots(self, step: dict, event: dict) -> None:
        """An imported step's partial snapshots (trees of its file alone,
        refs/README.md section 10), for a step that has no snapshot."""
        trees = event.get("partial")
        if (not isinstance(trees, dict) or not trees.get("before") or not trees.get("after")
                or step.get("snapshot_before") or step.get("snapshot_after")):
            return
        for at, t in (("before", step.get("t")), ("after", event.get("t"))):
            name = f"{step['n']}-{at}"
            self.trail["snapshots"][name] = {"tree": trees[at], "step": step["n"], "at": at, "t": t,
                                             "partial": True}
            self.new_snapshots[name] = trees[at]
            step[f"snapshot_{at}"] = name

    # -- the fold --------------------------------------------------------

    def apply(self, event: dict) -> bool:
        """Fold one event; False when it was folded before (a repeated seal)."""
        eid = event.get("id")
        if not eid or eid in self.seen:
            return False
        self.seen.add(eid)
        event = valid_text(event)
        kind = event.get("kind", "other")
        data = event.get("data") or {}
        info = self.trace["info"]
        if event.get("source") and "harness" not in info:
            info["harness"] = event["source"]
        for key in ("cwd", "transcript_path", "model", "harness_version"):
            if data.get(key) and key not in info:
                info[key] = data[key]
        if kind == "session_start" and isinstance(data.get("head"), dict) and "base" not in info:
            info["base"] = data["head"]

        twin = self._twin(kind, data, event) if kind != "stop" and "corrupt" not in event else None
        if twin is not None:
            self._merge(twin, kind, data, event)
        elif "corrupt" in event:
            self.trace["lifecycle"].append({"id": eid, "event": "corrupt", "kind": "corrupt", "t": None,
                                            "data": self.payloads.put({"line": event["corrupt"]})})
        elif kind == "prompt":
            step = self._add_step({"kind": "prompt", "text": self.payloads.put(data.get("text", ""))}, event)
            if data.get("prompt_id"):
                step["prompt_id"] = data["prompt_id"]
            self._message(step, "user")
        elif kind == "tool_start":
            step = self._tool_step(event, data)
            self._snapshot(step, event, "before")
        elif kind == "tool_end":
            step = self._open_tool(data.get("tool_use_id")) if data.get("tool_use_id") else None
            if step is None or step.get("status") != "running":
                # The start was never seen (hooks installed mid-call): the
                # step still exists, with no before-snapshot.
                step = self._tool_step(event, data)
            else:
                step["events"].append(eid)
            step["status"] = "error" if data.get("error") else "ok"
            step["t_end"] = event.get("t")
            step["output"] = self.payloads.put(data.get("output"))
            self._details(step, data)
            self._message(step, "tool")
            self._snapshot(step, event, "after")
            if data.get("patch") is not None and not (step.get("snapshot_before")
                                                      and step.get("snapshot_after")):
                self.transcript_patches[step["n"]] = data["patch"]
                self._partial_snapshots(step, event)
            self.completed.append(step)
        elif kind == "message":
            step = self._add_step({"kind": "message", "text": self.payloads.put(data.get("text", ""))}, event)
            self._message(step, "assistant")
        elif kind == "subagent_start":
            step = self._add_step({"kind": "subagent", "agent_id": data.get("agent_id"),
                                   "agent_type": data.get("agent_type")}, event)
        elif kind == "compact":
            step = self._add_step({"kind": "compaction", "trigger": data.get("trigger"),
                                   "phase": data.get("phase")}, event)
            if data.get("phase") != "pre":
                # After a compaction the model sees only what follows it.
                self.ctx["views"].append({"step": step["n"], "from": len(self.ctx["messages"]) + 1,
                                          "to": len(self.ctx["messages"])})
        else:
            if kind == "stop" and data.get("message"):
                # The turn's closing words are a step; the turn end itself
                # stays in the lifecycle under the same event id.
                twin = self._twin(kind, data, event)
                if twin is not None:  # imported from the transcript already
                    twin["events"].append(eid)
                else:
                    step = self._add_step({"kind": "message",
                                           "text": self.payloads.put(data["message"])}, event)
                    self._message(step, "assistant")
                data = {k: v for k, v in data.items() if k != "message"}
            entry = {"id": eid, "event": event.get("event") or kind, "kind": kind, "t": event.get("t")}
            extra = {k: v for k, v in data.items() if k not in ("cwd", "transcript_path", "head")}
            if extra:
                entry["data"] = self.payloads.put(extra)
            self.trace["lifecycle"].append(entry)
        return True


def _same_text(stored, text) -> bool:
    """Whether a step's text (inline, or a blob reference) is `text`."""
    if not isinstance(text, str):
        return False
    if isinstance(stored, str):
        return stored == _text(text)
    if isinstance(stored, dict) and isinstance(stored.get(BLOB_KEY), str):
        data = _text(text).encode("utf-8")
        if stored.get("size") != len(data):
            return False
        oid = stored[BLOB_KEY]
        algo = hashlib.sha256 if len(oid) == 64 else hashlib.sha1
        return algo(b"blob %d\0" % len(data) + data).hexdigest() == oid
    return False
