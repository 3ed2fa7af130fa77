"""Session files written as JSON Lines, read the same way for every harness.

Claude Code's transcripts, Codex's rollouts and Pi's session files are all
one JSON object a line with a `timestamp`. A harness's reader (its
`read_transcript`) splits and parses a file with `parse`, decides which
session each line belongs to, and gets its `Line`s from `timed`; `by_session`
merges the lines of many files into one time-ordered list per session;
a converter makes its events with `imported_id` and `imported_event`.
"""

from __future__ import annotations

import heapq
import json

from ..domain.fold import IMPORTED_ID_PREFIX
from ..store.times import parse_iso

# Neither typing nor hashlib's OpenSSL is imported at run time: the hook
# path reads this module.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Iterable
try:
    from _sha1 import sha1
except ImportError:  # a Python built without its own SHA-1
    from hashlib import sha1


class Line:
    """One line of a session file, parsed. (A plain class: this runs on the
    hook path, where importing dataclasses would cost more than the rest.)"""

    __slots__ = ("path", "number", "raw", "obj", "session", "t", "order")

    def __init__(self, path: str, number: int, raw: bytes, obj: dict | None, session: str,
                 t: float | None, order: float):
        self.path = path
        self.number = number  # from 1
        self.raw = raw
        self.obj = obj  # None when the line is blank or not a JSON object
        self.session = session
        self.t = t  # the line's own timestamp
        self.order = order  # its timestamp, or the last one before it in the file

    def __repr__(self) -> str:
        return f"Line({self.path!r}, {self.number}, session={self.session!r})"

    @property
    def size(self) -> int:
        return len(self.raw) + 1


class Accounting:
    """What became of the lines of one session."""

    __slots__ = ("lines", "steps", "kept_raw", "skipped")

    def __init__(self):
        self.lines = 0
        self.steps = 0
        self.kept_raw = 0
        self.skipped: dict = {}

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def parse(data: bytes) -> list[tuple[bytes, dict | None]]:
    """Each line of a file with its JSON object (None for a blank line, one
    that is not JSON, or JSON that is not an object); a last line without
    its line feed is a line too."""
    chunks = data.split(b"\n")
    if chunks and chunks[-1] == b"":
        chunks.pop()
    parsed = []
    for raw in chunks:
        obj = None
        if raw.strip():
            try:
                value = json.loads(raw.decode("utf-8", "surrogateescape"))
                obj = value if isinstance(value, dict) else None
            except ValueError:
                obj = None
        parsed.append((raw, obj))
    return parsed


def timed(path: str, parsed: list[tuple[bytes, dict | None]],
          session_of: Callable[[dict | None], str]) -> list[Line]:
    """The parsed lines as `Line`s of the sessions `session_of` names, each
    ordered by its own timestamp or the last one before it. Lines before
    the first timestamp take the first one, so they stay at the head of
    the file when files are merged."""
    lines = []
    last = None
    for number, (raw, obj) in enumerate(parsed, 1):
        t = parse_iso(obj.get("timestamp")) if obj is not None else None
        if t is not None:
            last = t
        lines.append(Line(path, number, raw, obj, session_of(obj), t,
                          last if last is not None else float("-inf")))
    first = next((ln.t for ln in lines if ln.t is not None), None)
    for ln in lines:
        if ln.order == float("-inf") and first is not None:
            ln.order = first
    return lines


def by_session(files: Iterable[list[Line]]) -> dict[str, list[Line]]:
    """Every session's lines from all files, in time order.

    Each file keeps its own order; files are interleaved by time, so a
    session resumed in several files, and a subagent's file, take their
    places on one timeline (entries repeated in two files are the
    converter's to drop, by their ids).
    """
    streams: dict[str, list[list[tuple]]] = {}
    for index, lines in enumerate(files):
        per: dict[str, list[tuple]] = {}
        for ln in lines:
            per.setdefault(ln.session, []).append((ln.order, index, ln.number, ln))
        for sid, items in per.items():
            streams.setdefault(sid, []).append(items)
    return {sid: [item[3] for item in heapq.merge(*parts, key=lambda x: x[:3])]
            for sid, parts in sorted(streams.items())}


def imported_id(*parts: str) -> str:
    """The id of an event imported from a session file: stable across
    imports of the same file, so importing it twice folds nothing new."""
    return IMPORTED_ID_PREFIX + sha1("\0".join(parts).encode("utf-8", "surrogateescape")).hexdigest()[:16]


def imported_event(source: str, session: str, eid: str, kind: str, name: str, t, data: dict,
                   writes: bool = False) -> dict:
    """A normalised event (refs/README.md, the spool event) made from a
    session file's line; a line with no time of its own sorts first."""
    event = {"v": 1, "id": eid, "t": t if t is not None and t != float("-inf") else 0.0,
             "source": source, "event": name, "session": session, "kind": kind,
             "data": {k: v for k, v in data.items() if v is not None}}
    if writes:
        event["writes"] = True
    return event
