"""Anchors in the session's own trail: the session records which commits took its work.

An anchor is appended the way a seal appends events: under the session's
seal lock, one new commit on the session's chain (the trail and the
manifest replaced), moved by compare-and-swap. It is the same mechanism as
sealing (git_ot/domain/sealing.py), not a second one: the same lock and
the same writer (Store.write_session).
"""

from __future__ import annotations

from ... import __version__
from ...errors import ConcurrentUpdate
from ...store.repository import Store
from ...store.spool import Spool
from ..fold import anchored_commits

ANCHOR_KEYS = ("commit", "path", "lines", "step", "hunk")


def _key(anchor: dict) -> tuple:
    return tuple(str(anchor.get(k)) for k in ANCHOR_KEYS)


def append_anchors(store: Store, session_id: str, anchors: list[dict], attempts: int = 5) -> str | None:
    """Add anchors to a session's trail; the new tip, or None if it had them all."""
    with Spool(store.location.state_dir).sealing(session_id):
        for attempt in range(attempts):
            tip = store.tip(session_id)
            current = store.session(session_id, tip)
            if current is None:
                return None  # the session is gone (forgotten): nothing to record into
            trail = current.record("trail")
            known = {_key(a) for a in trail.get("anchors", [])}
            new = [a for a in anchors if _key(a) not in known]
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


def _manifest(previous: dict, trail: dict) -> dict:
    """The manifest after new anchors: only what derives from them changes.

    The same values build_manifest (sealing.py) derives, without decoding the
    trace again: the trace is untouched, so every other count stands.
    """
    counts = {**previous.get("counts", {}), "commits": anchored_commits(trail)}
    return {**previous, "counts": counts, "writer": f"git-ot {__version__}"}
