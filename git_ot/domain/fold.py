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
subagent_start, subagent_stop, compact, stop, session_end, other, raw,
telemetry.

Telemetry (capture/otel: an OTLP log record, span or metric data point)
makes no step of its own: it is joined to the step it reports on
(`join_target`), or waits in the trace's `telemetry` list until that step
is recorded, which may be a later seal.

Events imported from a harness's transcript (capture/<harness>/transcript.py)
have ids that start with IMPORTED_ID_PREFIX. When one repeats a step that
live capture recorded (the same tool_use_id, prompt, closing message or
subagent), it is merged into that step instead of adding a second one, and
the other way round.
"""

from __future__ import annotations

import itertools
import json

from ..store import notices
from ..store.spool import Spilled, SpillLost

# typing is not imported at run time: the hook path reads this module.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable
    from ..store.repository import Store

# Strings longer than this go to blobs/ rather than inline in a record.
INLINE_LIMIT = 2048
BLOB_KEY = "$blob"
# What a record holds in place of a spilled string whose file was lost.
LOST_SPILLED = "[git-ot: spilled output lost"
LIFECYCLE_KINDS = {"session_start", "stop", "session_end", "subagent_stop", "other", "raw"}

# The trace's `info` facts an event's data carries under their own name,
# each the first non-empty value (refs/README.md section 7); with
# `started_by`, the info that is text, passed through the security gate.
INFO_CARRIED = ("cwd", "transcript_path", "model", "harness_version", "slug")
INFO_TEXTS = INFO_CARRIED + ("started_by",)
IMPORTED_ID_PREFIX = "tr-"
# An imported prompt without a prompt id is the live one with the same text
# only if the two times are this close (seconds).
PROMPT_MERGE_WINDOW = 60.0


class Streamed:
    """A long string that Payloads stores as a blob without holding it
    whole: `chunks()` yields the blob's bytes, a chunk at a time."""

    def chunks(self):
        raise NotImplementedError


class _SpilledText(Streamed):
    """A spilled string (store/spool.py) as a blob holds it: each piece
    made valid text, as `valid_text` makes a string of an event."""

    def __init__(self, spilled: Spilled):
        self.spilled = spilled

    def chunks(self):
        for text in self.spilled.windows():
            yield _text(text).encode("utf-8", "surrogateescape")


class Payloads:
    """Moves large strings out of records into content-addressed blobs.

    A spilled string (store/spool.py), redacted or not, is written through
    `write_stream` (an iterable of bytes -> the blob's id and size), so it is
    never held whole; without `write_stream`, it is joined and written as
    any other."""

    def __init__(self, write_blob: Callable[[bytes], str], redact: Callable | None = None,
                 write_stream: Callable | None = None):
        self.write_blob = write_blob
        self.write_stream = write_stream
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
        if isinstance(value, Spilled):
            value = _SpilledText(value)
        if isinstance(value, Streamed):
            return self._stream(value)
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


    def _stream(self, value: Streamed):
        try:
            if self.write_stream is not None:
                oid, size = self.write_stream(value.chunks())
            else:
                data = b"".join(value.chunks())
                oid, size = self.write_blob(data), len(data)
        except SpillLost as exc:
            # Damaged outside git-ot (a crash of the machine, a hand): the
            # rest of the event is kept, with what happened in its place.
            notices.warn(str(exc))
            return self._store(f"{LOST_SPILLED}: {exc}]")
        self.new.append(oid)
        return {BLOB_KEY: oid, "size": size}


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
    if value.isascii():  # known without reading it: most strings, and the largest
        return value
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        try:
            return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:
            return value.encode("utf-8", "backslashreplace").decode("utf-8")


def valid_text(value):
    """`value` with every string (keys too) made valid UTF-8 text: `value`
    itself when every string in it is (nearly always), else a copy from the
    first change down."""
    try:
        # Whether every string is valid, found by json's encoder in C: a
        # lone surrogate passes it unchanged and fails the encoding.
        json.dumps(value, ensure_ascii=False, check_circular=False).encode("utf-8")
        return value
    except (UnicodeEncodeError, TypeError, ValueError, RecursionError):
        return _valid_text(value)


def _valid_text(value):
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, dict):
        out = None
        for i, (k, v) in enumerate(value.items()):
            nk, nv = _valid_text(k), _valid_text(v)
            if out is None and (nk is not k or nv is not v):
                out = dict(itertools.islice(value.items(), i))
            if out is not None:
                out[nk] = nv
        return value if out is None else out
    if isinstance(value, list):
        new = None
        for i, v in enumerate(value):
            nv = _valid_text(v)
            if new is None and nv is not v:
                new = value[:i]
            if new is not None:
                new.append(nv)
        return value if new is None else new
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
        seen.update(t["id"] for t in step.get("telemetry", ()))
    for entry in trace["lifecycle"]:
        seen.add(entry["id"])
    seen.update(t["id"] for t in trace.get("telemetry", ()))
    return seen


class Folder:
    """Applies events, in spool order, to the three records of one session."""

    def __init__(self, recs: dict, payloads: Payloads, watched: Callable[[], list] | None = None):
        self.trace = recs["trace"]
        # The watch journal's lines (store/watchlog.py), read when a session
        # that only telemetry captured needs the snapshots of a tool call.
        self._watched_source = watched
        self._watched: list | None = None
        self.trail = recs["trail"]
        self.ctx = recs["ctx"]
        self.payloads = payloads
        self.seen = seen_event_ids(self.trace)
        # Steps none of whose events was imported: the only ones an imported
        # event can be the twin of (`_twin`); kept by `_add_step` and `_add_event`.
        self._without_imported = sum(1 for s in self.trace["steps"] if not _has_imported(s))
        # The last tool step of each tool_use_id (`_open_tool`), kept by `_add_step`.
        self._tools: dict[str, dict] = {}
        for s in self.trace["steps"]:
            self._index_tool(s)
        self.new_snapshots: dict[str, str] = {}
        self._sealed_steps = len(self.trace["steps"])  # steps an earlier seal wrote
        self.completed: list[dict] = []  # tool steps whose window closed now
        self.transcript_patches: dict[int, list] = {}  # step -> files, for steps without snapshots

    # -- helpers ---------------------------------------------------------

    def _next_n(self) -> int:
        return len(self.trace["steps"]) + 1

    def _open_tool(self, tool_use_id):
        if isinstance(tool_use_id, str):
            return self._tools.get(tool_use_id)
        for step in reversed(self.trace["steps"]):
            if step["kind"] == "tool" and step.get("tool_use_id") == tool_use_id:
                return step
        return None

    def _index_tool(self, step: dict) -> None:
        if step["kind"] == "tool" and isinstance(step.get("tool_use_id"), str):
            self._tools[step["tool_use_id"]] = step

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
        self._index_tool(step)
        if not event["id"].startswith(IMPORTED_ID_PREFIX):
            self._without_imported += 1
        return step

    def _add_event(self, step: dict, eid: str) -> None:
        if eid.startswith(IMPORTED_ID_PREFIX) and not _has_imported(step):
            self._without_imported -= 1
        step["events"].append(eid)

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

        if imported and not self._without_imported and kind != "message" and kind != "stop":
            return None  # every step holds an imported event: none is the other source's

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
            if imported and not self._without_imported:
                return None  # as above, once the text is previewed as before
            return next((s for s in steps if s["kind"] == "message" and "parent" not in s
                         and not s.get("thinking") and other(s) and _same_text(s.get("text"), text)),
                        None)
        elif kind == "compact":
            return next((s for s in steps if s["kind"] == "compaction"
                         and s.get("phase") == data.get("phase") and other(s)), None)
        return None

    def _merge(self, step: dict, kind: str, data: dict, event: dict) -> None:
        self._add_event(step, event["id"])
        self._details(step, data)
        if kind in ("tool_start", "tool_end") and event.get("snapshot"):
            # A hook of an install that still hooks a tool the transcript
            # also gave, in the same seal: its snapshot of the working tree
            # is the state, over a partial one the transcript's result made
            # (a sealed step stays as it was).
            at = "before" if kind == "tool_start" else "after"
            name = step.get(f"snapshot_{at}")
            if step["n"] > self._sealed_steps and (
                    name is None or self.trail["snapshots"].get(name, {}).get("partial")):
                self._snapshot(step, event, at)
                if step.get("status") != "running":
                    self.completed.append(step)
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
        if event.get("filled") is True:
            step["filled"] = True  # captured live, read from the transcript (windows.py: _is_blind)
        self._message(step, "assistant", event)
        return step

    def _message(self, step: dict, role: str, event: dict, **extra) -> None:
        """Record a message entering the model's view, and the view at this step.

        Its content is the step's own (the prompt, the text, the tool's
        input or result: domain/ctx.py reads it from there), so the model's
        view costs no second copy of the session; `source` says where the
        step was rebuilt from."""
        messages = self.ctx["messages"]
        messages.append({"id": len(messages) + 1, "step": step["n"], "role": role,
                         "source": event_source(event), **extra})
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
        branch = trees.get("branch") if isinstance(trees.get("branch"), str) else None
        for at, t in (("before", step.get("t")), ("after", event.get("t"))):
            name = f"{step['n']}-{at}"
            self.trail["snapshots"][name] = {"tree": trees[at], "step": step["n"], "at": at, "t": t,
                                             "partial": True, **({"branch": branch} if branch else {})}
            self.new_snapshots[name] = trees[at]
            step[f"snapshot_{at}"] = name

    # -- the fold --------------------------------------------------------

    def apply(self, event: dict, valid: bool = False) -> bool:
        """Fold one event; False when it was folded before (a repeated seal).
        With `valid`, the caller knows every string in it is valid text (no
        lone surrogate), and it is not checked again."""
        eid = event.get("id")
        if not eid or eid in self.seen:
            return False
        self.seen.add(eid)
        if not valid:
            event = valid_text(event)
        kind = event.get("kind", "other")
        data = event.get("data") or {}
        info = self.trace["info"]
        if kind == "telemetry" and event.get("capture") == "telemetry" and not self.trace["steps"] \
                and not self.trace["lifecycle"] and not self.trace.get("telemetry"):
            # A session no hook captures (the watcher vouched for it): its
            # telemetry makes its steps (refs/README.md section 7).
            info["capture"] = "telemetry"
        elif kind != "telemetry" and info.get("capture") == "telemetry" and "corrupt" not in event:
            del info["capture"]  # hooks took over: they make the steps from here on
        if event.get("source") and "harness" not in info:
            info["harness"] = event["source"]
        for key in INFO_CARRIED:
            if data.get(key) and key not in info:
                info[key] = data[key]
        if "started_by" not in info and not self.trace["steps"] and data.get("started_by"):
            # How the harness started the session, told before its first step.
            info["started_by"] = data["started_by"]
        if kind == "session_start" and isinstance(data.get("head"), dict) and "base" not in info:
            info["base"] = data["head"]

        twin = self._twin(kind, data, event) if kind != "stop" and "corrupt" not in event else None
        if twin is not None:
            self._merge(twin, kind, data, event)
        elif kind == "telemetry":
            if info.get("capture") == "telemetry":
                self._telemetry_step(event, data)
            self._telemetry(event, data)
        elif "corrupt" in event:
            self.trace["lifecycle"].append({"id": eid, "event": "corrupt", "t": None,
                                            "data": self.payloads.put({"line": event["corrupt"]})})
        elif kind == "prompt":
            step = self._add_step({"kind": "prompt", "text": self.payloads.put(data.get("text", ""))}, event)
            if data.get("prompt_id"):
                step["prompt_id"] = data["prompt_id"]
            self._message(step, "user", event)
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
                self._add_event(step, eid)
            step["status"] = "error" if data.get("error") else "ok"
            step["t_end"] = event.get("t")
            step["output"] = self.payloads.put(data.get("output"))
            self._details(step, data)
            self._message(step, "tool", event)
            self._snapshot(step, event, "after")
            if data.get("patch") is not None and not (step.get("snapshot_before")
                                                      and step.get("snapshot_after")):
                self.transcript_patches[step["n"]] = data["patch"]
                self._partial_snapshots(step, event)
            self.completed.append(step)
        elif kind == "message":
            step = self._add_step({"kind": "message", "text": self.payloads.put(data.get("text", ""))}, event)
            if step.get("thinking") and isinstance(data.get("signature"), str) and data["signature"]:
                step["signature"] = self.payloads.put(data["signature"])
                if data.get("redacted"):
                    step["redacted"] = True
            self._message(step, "assistant", event)
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
                    self._add_event(twin, eid)
                else:
                    step = self._add_step({"kind": "message",
                                           "text": self.payloads.put(data["message"])}, event)
                    self._message(step, "assistant", event)
                data = {k: v for k, v in data.items() if k != "message"}
            entry = {"id": eid, "event": event.get("event") or kind, "kind": kind, "t": event.get("t")}
            extra = {k: v for k, v in data.items()
                     if k not in ("cwd", "transcript_path", "head", "slug", "started_by")}
            if extra:
                entry["data"] = self.payloads.put(extra)
            self.trace["lifecycle"].append(entry)
            line = data.get("line") if kind == "raw" else None
            if (isinstance(line, dict) and line.get("isCompactSummary") and not line.get("isSidechain")
                    and self.trace["steps"]):
                # A compaction's summary: the first message the model sees
                # after it, kept in this lifecycle entry.
                self._message(self.trace["steps"][-1], "user", event, summary=eid)
        return True

    # -- telemetry -------------------------------------------------------

    def _telemetry_step(self, event: dict, data: dict) -> None:
        """The step a record of a session without hooks stands for: a
        prompt (`user_prompt`), or a tool call (`tool_result`: it ended at
        the record's time, after its `duration_ms`), whose snapshots are the
        working tree's states the watcher recorded at its start and end."""
        if data.get("signal") != "logs":
            return
        name = _short(event.get("event") or data.get("name") or "")
        attrs = data.get("attributes") if isinstance(data.get("attributes"), dict) else {}
        t = data.get("time") if isinstance(data.get("time"), (int, float)) else event.get("t")
        if name == "user_prompt" and data.get("prompt_id"):
            if any(s["kind"] == "prompt" and s.get("prompt_id") == data["prompt_id"] for s in self.trace["steps"]):
                return
            text = attrs.get("prompt") if isinstance(attrs.get("prompt"), str) else ""
            step = self._add_step({"kind": "prompt", "text": self.payloads.put(text),
                                   "prompt_id": data["prompt_id"]}, {**event, "t": t})
            self._message(step, "user", event)
        elif name == "tool_result" and data.get("tool_use_id") and t is not None:
            if self._open_tool(data["tool_use_id"]) is not None:
                return
            duration = _int(attrs.get("duration_ms")) or 0
            t0 = t - duration / 1000.0
            tool_input = attrs.get("tool_input")
            try:
                import json

                tool_input = json.loads(tool_input) if isinstance(tool_input, str) else tool_input
            except ValueError:
                pass
            step = self._add_step({
                "kind": "tool", "name": attrs.get("tool_name") or "?", "tool_use_id": data["tool_use_id"],
                "status": "ok" if str(attrs.get("success", "true")).lower() == "true" else "error",
                "writes": True, "input": self.payloads.put(tool_input),
            }, {**event, "t": t0})
            step["t_end"] = t
            step["output"] = None  # telemetry carries none
            self._message(step, "assistant", event)
            self._message(step, "tool", event)
            before, after = self._watched_states(t0, t)
            if before and after:
                self._snapshot(step, {"snapshot": before, "t": t0}, "before")
                self._snapshot(step, {"snapshot": after, "t": t}, "after")
            self.completed.append(step)

    def _watched_states(self, t0: float, t1: float) -> tuple[str | None, str | None]:
        """The working tree's trees at t0 and t1, from the watch journal;
        (None, None) when either is uncertain (a burst of changes spans it)."""
        if self._watched is None:
            self._watched = self._watched_source() if self._watched_source else []
        if not self._watched:
            return None, None
        from ..store import watchlog

        before, sure_before = watchlog.state_at(self._watched, t0 - watchlog.TOLERANCE)
        after, sure_after = watchlog.state_at(self._watched, t1 + watchlog.TOLERANCE)
        if not (sure_before and sure_after):
            return None, None
        return before, after

    def _telemetry(self, event: dict, data: dict) -> None:
        """Keep one telemetry record, joined to its step when that is known."""
        entry = {"id": event["id"], "event": event.get("event") or data.get("name") or "telemetry",
                 "t": data.get("time") if isinstance(data.get("time"), (int, float)) else event.get("t")}
        for key in JOIN_KEYS:
            if data.get(key) is not None:
                entry[key] = data[key]
        rest = {k: v for k, v in data.items() if k not in JOIN_KEYS and k not in ("time", "name")}
        entry["data"] = self.payloads.put(rest)
        self.trace.setdefault("telemetry", []).append(entry)

    def settle(self) -> None:
        """Join every waiting telemetry entry whose step is now known."""
        waiting = self.trace.get("telemetry")
        if not waiting:
            return
        by_prompt: dict[str, list] = {}
        for entry in self._all_telemetry():
            if entry.get("prompt_id") is not None and entry.get("sequence") is not None:
                by_prompt.setdefault(entry["prompt_id"], []).append(entry)
        for entries in by_prompt.values():
            entries.sort(key=lambda e: e["sequence"])
        codex = _codex_records(self._all_telemetry())
        keep = []
        for entry in waiting:
            step = join_target(entry, self.trace["steps"], by_prompt.get(entry.get("prompt_id"), []))
            if step is None and _codex_reply(entry):
                step = codex_reply_target(entry, self.trace["steps"], codex)
            elif step is None and entry.get("event") == "codex.user_prompt":
                step = codex_prompt_target(entry, self.trace["steps"], codex)
            if step is None:
                keep.append(entry)
            else:
                _attach(step, entry)
        # A span whose parent span joined a step (Claude Code's permission
        # wait and execution under its tool span) joins the same step.
        spans = {t["span_id"]: s for s in self.trace["steps"] for t in s.get("telemetry", ())
                 if t.get("span_id") and _is_span(t)}
        for entry in list(keep):
            step = spans.get(entry.get("parent_span_id"))
            if step is not None and _is_span(entry) and not entry.get("tool_use_id"):
                keep.remove(entry)
                _attach(step, entry)
                if entry.get("span_id"):
                    spans[entry["span_id"]] = step
        if len(keep) != len(waiting):
            self.trace["telemetry"] = keep

    def _all_telemetry(self):
        for step in self.trace["steps"]:
            yield from step.get("telemetry", ())
        yield from self.trace.get("telemetry", ())


# Fields of a telemetry entry that say where it belongs, kept beside its
# data (never redacted: ids and a counter, as a step's tool_use_id).
JOIN_KEYS = ("prompt_id", "tool_use_id", "sequence", "span_id", "parent_span_id")
# Records of one model request, in the order the harness emits them:
# the request body (when raw bodies are exported), then the request's
# outcome, then the reply's text.
REQUEST_BODY = "api_request_body"
REQUEST = "api_request"
REPLY_EVENTS = (REQUEST_BODY, REQUEST, "assistant_response", "api_error")


def event_source(event: dict) -> str:
    """Where a step (and the message of the model's view it makes) came from."""
    if event.get("kind") == "telemetry":
        return "telemetry"
    return "transcript" if str(event.get("id", "")).startswith(IMPORTED_ID_PREFIX) else "hooks"


def _is_span(entry: dict) -> bool:
    return isinstance(entry.get("data"), dict) and entry["data"].get("signal") == "traces"


def _short(event: str) -> str:
    """`claude_code.api_request` -> `api_request`."""
    return event.rsplit(".", 1)[-1] if event.startswith(("claude_code.", "codex.")) else event


def join_target(entry: dict, steps: list[dict], prompt_entries: list[dict]) -> dict | None:
    """The step a telemetry entry reports on, or None while it is not known.

    - a record naming a tool call (`tool_use_id`): that tool's step;
    - the prompt (`user_prompt`): the prompt step with its `prompt_id`;
    - a model request (`api_request`, its body, the reply's text): the
      first step of the reply it produced: the step of the first tool call
      that follows it in the prompt's records (by `event.sequence`) before
      the next request, or, for a reply that called no tool, the message
      step with the reply's text (without its text, the closing message of
      the turn, once a record of the turn's end shows the reply was last).
    Everything else joins no step.
    """
    name = _short(entry.get("event", ""))
    if entry.get("tool_use_id"):
        return next((s for s in reversed(steps) if s["kind"] == "tool"
                     and s.get("tool_use_id") == entry["tool_use_id"]), None)
    prompt_id = entry.get("prompt_id")
    if prompt_id is None:
        return None
    if name == "user_prompt":
        return next((s for s in steps if s["kind"] == "prompt" and "parent" not in s
                     and s.get("prompt_id") == prompt_id), None)
    if name not in REPLY_EVENTS or entry.get("sequence") is None:
        return None
    later = [e for e in prompt_entries if e["sequence"] > entry["sequence"]]
    own_request = name == REQUEST_BODY
    reply = [entry]
    ended = False
    for other in later:
        other_name = _short(other.get("event", ""))
        if other.get("tool_use_id"):
            return next((s for s in reversed(steps) if s["kind"] == "tool"
                         and s.get("tool_use_id") == other["tool_use_id"]), None)
        if other_name == REQUEST and own_request:
            own_request = False
        elif other_name in (REQUEST, REQUEST_BODY):
            break  # the next request: this reply called no tool, and was not the turn's last
        elif _turn_end(other):
            ended = True  # the turn's end: this reply called no tool and closed the turn
            break
        reply.append(other)
    return _closing_message(steps, prompt_id, reply, ended)


def _codex_reply(entry: dict) -> bool:
    """A Codex record of one model request: `codex.api_request`, or the
    `codex.sse_event` of its completed response (which carries the tokens)."""
    data = entry.get("data") if isinstance(entry.get("data"), dict) else {}
    attrs = data.get("attributes") if isinstance(data.get("attributes"), dict) else {}
    event = entry.get("event", "")
    return (data.get("signal") == "logs" and entry.get("prompt_id") is None and isinstance(entry.get("t"), (int, float))
            and (event == "codex.api_request"
                 or (event == "codex.sse_event" and attrs.get("event.kind") == "response.completed"
                     and "input_token_count" in attrs)))


def _codex_records(entries) -> list[dict]:
    """Codex's log records in time order: Codex names no prompt and numbers
    no record (not all of them carry a trace id), so their times order them."""
    return sorted((e for e in entries if str(e.get("event", "")).startswith("codex.")
                   and isinstance(e.get("data"), dict) and e["data"].get("signal") == "logs"
                   and isinstance(e.get("t"), (int, float))), key=lambda e: e["t"])


def codex_reply_target(entry: dict, steps: list[dict], records: list[dict]) -> dict | None:
    """The step a Codex model request's records join, as join_target does for
    Claude Code's: the step of the first tool call its reply made (the
    first record naming a call after it, before the next request), or, for
    the last reply of a turn (no request follows before the next prompt),
    which called no tool, the first message step after it when no prompt
    step comes between."""
    for other in (e for e in records if e["t"] > entry["t"]):
        if other.get("tool_use_id"):
            return next((s for s in reversed(steps) if s["kind"] == "tool"
                         and s.get("tool_use_id") == other["tool_use_id"]), None)
        if other.get("event") == "codex.api_request":
            return None  # the next request: this reply called no tool, and was not the turn's last
        if other.get("event") == "codex.user_prompt":
            break  # the next turn: this reply was its turn's last
    for s in steps:
        if not isinstance(s.get("t"), (int, float)) or s["t"] < entry["t"] or "parent" in s:
            continue
        if s["kind"] == "prompt":
            return None
        if s["kind"] == "message" and not s.get("thinking"):
            return s
    return None


def codex_prompt_target(entry: dict, steps: list[dict], records: list[dict]) -> dict | None:
    """The prompt step a Codex `codex.user_prompt` record reports on. Codex
    names no prompt: the record joins the main agent's prompt step next to
    it in time, when nothing comes between the two (no other step, no
    other `codex.user_prompt`), the prompt's length is the record's
    `prompt_length`, and the step has no `codex.user_prompt` yet."""
    t = entry.get("t")
    data = entry.get("data") if isinstance(entry.get("data"), dict) else {}
    attrs = data.get("attributes") if isinstance(data.get("attributes"), dict) else {}
    if data.get("signal") != "logs" or not isinstance(t, (int, float)):
        return None
    length = _int(attrs.get("prompt_length"))
    prompts = [e["t"] for e in records if e.get("event") == "codex.user_prompt" and e is not entry]
    times = [s["t"] for s in steps if isinstance(s.get("t"), (int, float))]
    best = None
    for s in steps:
        if s["kind"] != "prompt" or "parent" in s or not isinstance(s.get("t"), (int, float)):
            continue
        if any(e.get("event") == "codex.user_prompt" for e in s.get("telemetry", ())):
            continue
        text = s.get("text")
        if length is not None and isinstance(text, str) and length not in (len(text), len(text.encode("utf-8"))):
            continue
        low, high = sorted((s["t"], t))
        if sum(1 for x in times if low <= x <= high) > 1 or any(low < x < high for x in prompts):
            continue
        if best is None or abs(s["t"] - t) < abs(best["t"] - t):
            best = s
    return best


def _turn_end(entry: dict) -> bool:
    """A record the harness emits only once the turn's last reply is done
    (Claude Code runs its Stop hooks)."""
    data = entry.get("data") if isinstance(entry.get("data"), dict) else {}
    attrs = data.get("attributes") if isinstance(data.get("attributes"), dict) else {}
    return attrs.get("hook_event") == "Stop"


def _closing_message(steps: list[dict], prompt_id: str, reply: list[dict], ended: bool):
    """The message step of a reply that called no tool: the one with the
    reply's text, else, once the turn is known to have ended with this
    reply, the last message of the prompt's turn."""
    start = next((s["n"] for s in steps if s["kind"] == "prompt" and "parent" not in s
                  and s.get("prompt_id") == prompt_id), None)
    if start is None:
        return None
    turn = []
    for s in steps[start:]:
        if s["kind"] == "prompt" and "parent" not in s:
            break
        if s["kind"] == "message" and "parent" not in s and not s.get("thinking"):
            turn.append(s)
    texts = [e["data"].get("attributes", {}).get("response") for e in reply
             if _short(e.get("event", "")) == "assistant_response" and isinstance(e.get("data"), dict)]
    for text in texts:
        if text is not None:
            match = next((s for s in turn if s.get("text") == text), None)
            if match is not None:
                return match
    if ended and turn and not texts:
        return turn[-1]
    return None


def _attach(step: dict, entry: dict) -> None:
    """Join a telemetry entry to its step, with what it tells of the step:
    the model, tokens, cost and duration of a model request; a tool call's
    permission decision and its duration."""
    step.setdefault("telemetry", []).append(entry)
    name = _short(entry.get("event", ""))
    data = entry.get("data") if isinstance(entry.get("data"), dict) else {}
    attrs = data.get("attributes") if isinstance(data.get("attributes"), dict) else {}
    if name == REQUEST and data.get("signal") == "logs":
        if isinstance(attrs.get("model"), str) and "model" not in step:
            step["model"] = attrs["model"]
        usage = {key: _int(attrs.get(src)) for key, src in USAGE_FIELDS if _int(attrs.get(src)) is not None}
        if usage and "usage" not in step:
            step["usage"] = usage
        if "api" not in step:
            api = {key: conv(attrs.get(key)) for key, conv in API_FIELDS if conv(attrs.get(key)) is not None}
            step["api"] = api
    elif entry.get("event") == "codex.sse_event" and data.get("signal") == "logs":
        usage = {key: _int(attrs.get(src)) for key, src in CODEX_USAGE_FIELDS if _int(attrs.get(src)) is not None}
        if usage and "usage" not in step:
            step["usage"] = usage
    elif name == "tool_decision" and step["kind"] == "tool" and "decision" not in step:
        step["decision"] = {k: attrs[k] for k in ("decision", "source") if isinstance(attrs.get(k), str)}
    elif name == "tool_result" and step["kind"] == "tool" and "duration_ms" not in step:
        if _int(attrs.get("duration_ms")) is not None:
            step["duration_ms"] = _int(attrs["duration_ms"])


def _int(value):
    try:
        return int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def _float(value):
    try:
        return float(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


USAGE_FIELDS = (("input_tokens", "input_tokens"), ("output_tokens", "output_tokens"),
                ("cache_creation_input_tokens", "cache_creation_tokens"),
                ("cache_read_input_tokens", "cache_read_tokens"))
# A Codex response's token counts (its `response.completed` sse_event).
CODEX_USAGE_FIELDS = (("input_tokens", "input_token_count"), ("output_tokens", "output_token_count"),
                      ("cache_read_input_tokens", "cached_token_count"))
API_FIELDS = (("model", lambda v: v if isinstance(v, str) else None), ("cost_usd", _float),
              ("duration_ms", _int), ("ttft_ms", _int))


def _has_imported(step: dict) -> bool:
    return any(e.startswith(IMPORTED_ID_PREFIX) for e in step.get("events", ()))


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
        import hashlib

        algo = hashlib.sha256 if len(oid) == 64 else hashlib.sha1
        return algo(b"blob %d\0" % len(data) + data).hexdigest() == oid
    return False
