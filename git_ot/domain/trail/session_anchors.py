"""Anchors in the session's own trail: the session records which commits took its work.

An anchor is appended the way a seal appends events: under the session's
seal lock, one new commit on the session's chain (the trail and the
manifest replaced), moved by compare-and-swap. It is the same mechanism as
sealing (git_ot/domain/sealing.py), not a second one: the same lock and
the same writer (Store.write_session).
"""

from __future__ import annotations

import json
import os

from ... import __version__
from ...errors import ConcurrentUpdate, LockBusy
from ...store import locks, state
from ...store.files import replace_file
from ...store.repository import Store
from ...store.spool import Spool
from ..fold import anchored_commits

ANCHOR_KEYS = ("commit", "path", "lines", "step", "hunk")


def _key(anchor: dict) -> tuple:
    return tuple(str(anchor.get(k)) for k in ANCHOR_KEYS)


def append_anchors(store: Store, session_id: str, anchors: list[dict], attempts: int = 5,
                   wait: float | None = None) -> str | None:
    """Add anchors to a session's trail; the new tip, or None if it had them all.

    `wait` bounds the wait for the session's seal lock (a git hook's wait
    is bounded: a long seal may hold it); past it the anchors are kept in
    anchors-pending/ and None is returned: the session's next seal, or the
    next anchoring of it, writes them. Anchors kept so before are written
    with these."""
    try:
        with Spool(store.location.state_dir).sealing(session_id, wait):
            lines = kept_lines(store, session_id)
            kept = parsed(lines)
            written = _append(store, session_id, kept + anchors, attempts)
            clear_pending(store, session_id, len(lines))
            return written
    except LockBusy:
        if wait is None:
            raise
        keep_pending(store, session_id, anchors)
        return None


def _append(store: Store, session_id: str, anchors: list[dict], attempts: int) -> str | None:
    for attempt in range(attempts):
        tip = store.tip(session_id)
        current = store.session(session_id, tip)
        if current is None:
            return None  # the session is gone (forgotten): nothing to record into
        trail = current.record("trail")
        new = merged(trail.get("anchors", []), anchors)
        if not new:
            return None
        trail = {**trail, "anchors": list(trail.get("anchors", [])) + new}
        manifest = _manifest(current.record("manifest"), trail)
        commits = sorted({a["commit"] for a in new})
        message = (f"anchor {session_id}: {len(new)} range{'s' if len(new) != 1 else ''} "
                   f"in {', '.join(c[:12] for c in commits)}\n\n"
                   f"Steps: {manifest['counts'].get('steps', 0)}\n")
        try:
            return store.write_session(session_id, tip, {"trail": trail, "manifest": manifest},
                                       [], {}, message)
        except ConcurrentUpdate:
            if attempt == attempts - 1:
                raise
    return None


def merged(known: list[dict], anchors: list[dict]) -> list[dict]:
    """The anchors of `anchors` that `known` lacks, each once."""
    seen = {_key(a) for a in known}
    new = []
    for anchor in anchors:
        if _key(anchor) not in seen:
            seen.add(_key(anchor))
            new.append(anchor)
    return new


def add_kept(store: Store, session_id: str, trail: dict) -> int:
    """Add to `trail` (under the session's seal lock) the kept anchors it
    lacks; the number of kept lines read, for clear_pending once the trail
    is written."""
    lines = kept_lines(store, session_id)
    trail["anchors"] = list(trail.get("anchors", [])) + merged(trail.get("anchors", []), parsed(lines))
    return len(lines)


def parsed(lines: list[bytes]) -> list[dict]:
    """The anchors of kept lines (kept_lines), in the order they were kept."""
    return [a for a in map(_parse, lines) if a is not None]


def kept_lines(store: Store, session_id: str) -> list[bytes]:
    """The lines of the anchors kept for the session by a hook that could
    not write them, one JSON object a line."""
    try:
        with open(state.anchors_pending(store.location.state_dir, session_id), "rb") as fh:
            return fh.read().splitlines(keepends=True)
    except FileNotFoundError:
        return []


def _parse(line: bytes) -> dict | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None  # a line cut short by a crash: `git ot anchor` recomputes its anchor
    return value if isinstance(value, dict) and all(k in value for k in ANCHOR_KEYS) else None


def keep_pending(store: Store, session_id: str, anchors: list[dict]) -> None:
    """Append anchors to the session's kept ones (under their own lock)."""
    path = state.anchors_pending(store.location.state_dir, session_id)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = "".join(json.dumps(a, sort_keys=True, separators=(",", ":")) + "\n" for a in anchors)
    with locks.hold(path + ".lock", None):
        with open(path, "ab") as fh:
            fh.write(data.encode("utf-8"))


def clear_pending(store: Store, session_id: str, count: int) -> None:
    """Drop the first `count` kept lines: those just written into the trail
    (a hook may have kept more meanwhile; they stay)."""
    if count == 0:
        return
    path = state.anchors_pending(store.location.state_dir, session_id)
    with locks.hold(path + ".lock", None):
        rest = kept_lines(store, session_id)[count:]
        if rest:
            replace_file(path, b"".join(rest))
        else:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass


def sessions_pending(store: Store) -> list[str]:
    """The sessions with anchors kept for them."""
    try:
        names = os.listdir(os.path.dirname(state.anchors_pending(store.location.state_dir, "x")))
    except OSError:
        return []
    return sorted(n[:-len(".jsonl")] for n in names if n.endswith(".jsonl"))


def flush_pending(store: Store) -> list[str]:
    """Write every session's kept anchors (a command's run, which may wait)."""
    done = []
    for sid in sessions_pending(store):
        append_anchors(store, sid, [])
        done.append(sid)
    return done


def _manifest(previous: dict, trail: dict) -> dict:
    """The manifest after new anchors: only what derives from them changes.

    The same values build_manifest (sealing.py) derives, without decoding the
    trace again: the trace is untouched, so every other count stands.
    """
    counts = {**previous.get("counts", {}), "commits": anchored_commits(trail)}
    return {**previous, "counts": counts, "writer": f"git-ot {__version__}"}
