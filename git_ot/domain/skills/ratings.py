"""Ratings: the scores people give a session's skill runs, stored in git.

One entity of the `ratings` namespace (store/entities.py,
refs/README.md section 19), `refs/opentraces/ratings/skills`, holds one
record per rated session, keyed by the session id:

    {"session": <id>, "ratings": [{"score", "note", "by", "t"}, ...]}

Rating a session again here replaces its record (the chain keeps the old
one). When two clones rated the same session, the merge keeps both
ratings, as a notes merge keeps both lines; the one that counts is the
latest (`t`, then `by`, `score`, `note` to break a tie), so every clone
reads the same score from the same tips.
"""

from __future__ import annotations

import math

from ...errors import ConcurrentUpdate, InvalidScore
from ...store import entities, times
from ...store.repository import Store

NAMESPACE = "ratings"
ENTITY = "skills"


def validate_score(score: float) -> float:
    if not isinstance(score, (int, float)) or math.isnan(score) or not 0 <= score <= 1:
        raise InvalidScore(f"score '{score}' is not between 0 and 1",
                           hint="a score is a number from 0 (useless) to 1 (kept as it was)")
    return float(score)


def rate(store: Store, session: str, score: float, note: str | None) -> dict:
    """Store a rating of `session`'s runs; the rating as stored."""
    score = validate_score(score)
    sig = store.signature()
    rating = {"score": score, "note": note, "by": f"{sig.name} <{sig.email}>",
              "t": times.iso(sig.time)}
    for _ in range(5):
        current = entities.read(store, NAMESPACE, ENTITY)
        tip = current.tip if current is not None else None
        try:
            entities.write(store, NAMESPACE, ENTITY, tip,
                           {session: {"session": session, "ratings": [rating]}},
                           f"rate {session}: {score:g}")
            return {"session": session, **rating}
        except ConcurrentUpdate:
            continue  # another rating was written meanwhile: write onto it
    raise ConcurrentUpdate(f"'{ENTITY}' ratings kept moving", hint="run the command again")


def forget(store: Store, sessions: list[str]) -> str | None:
    """Rewrite the ratings without the records of these sessions, history
    included (`git ot forget`); the old tip, or None when none was rated."""
    return entities.rewrite_without(store, NAMESPACE, ENTITY, set(sessions),
                                    f"forget the ratings of {len(sessions)} session(s)")


def _key(r: dict) -> tuple:
    return (r.get("t") or "", r.get("by") or "", r.get("score") or 0, r.get("note") or "")


def current(store: Store) -> dict[str, dict]:
    """The rating that counts for each rated session."""
    entity = entities.read(store, NAMESPACE, ENTITY)
    if entity is None:
        return {}
    out = {}
    for key, record in entity.records().items():
        ratings = [r for r in record.get("ratings") or [] if isinstance(r, dict)
                   and isinstance(r.get("score"), (int, float)) and 0 <= r["score"] <= 1]
        if ratings:
            out[key] = max(ratings, key=_key)
    return out


def combine(key: str, a: dict, b: dict) -> dict:
    """Two clones' records of one session: both their ratings, oldest first."""
    seen = {}
    for r in (a.get("ratings") or []) + (b.get("ratings") or []):
        seen.setdefault(repr(sorted(r.items())), r)
    return {"session": key, "ratings": sorted(seen.values(), key=_key)}
