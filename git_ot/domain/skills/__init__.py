"""Skills: did a change to a skill make the agent better, judged by labels git supplies.

`git ot skill list`, `score` and `rate`. The runs and their versions come
from the sessions (runs.py), the labels from what became of each run's
work, `git ot track`'s survival states (trail/track.py), and from ratings
people store in git (ratings.py); the rules that turn labels into a
score and a verdict are score.py's.
"""

from __future__ import annotations

from ...errors import UnknownSkill
from ...store import times
from ...store.repository import Store
from ..sessions import readable, resolve
from ..trail import track as track_domain
from . import ratings, score
from .runs import Run, session_runs


def all_runs(store: Store) -> list[Run]:
    """Every skill run of every readable session, oldest first."""
    out: list[Run] = []
    for sid in store.session_ids():
        got = readable(store, sid, lambda s, i: session_runs(s, s.session(i)))
        out.extend(got or [])
    out.sort(key=_when)
    return out


def _when(run: Run) -> tuple:
    t = times.iso(run.t) if isinstance(run.t, (int, float)) else (run.start or "")
    return (t, run.session, run.step)


def list_skills(store: Store) -> dict:
    """The skills the sessions ran: runs, sessions and versions of each."""
    by_skill: dict[str, list[Run]] = {}
    for run in all_runs(store):
        by_skill.setdefault(run.skill, []).append(run)
    rows = []
    for name, runs in sorted(by_skill.items()):
        versions = list(dict.fromkeys(r.version for r in runs if r.version))
        rows.append({"skill": name, "runs": len(runs),
                     "sessions": len({r.session for r in runs}),
                     "versions": len(versions),
                     "latest_version": versions[-1] if versions else None,
                     "last_run": _iso(runs[-1])})
    return {"skills": rows}


def _iso(run: Run) -> str | None:
    return times.iso(run.t) if isinstance(run.t, (int, float)) else run.start


def labels(store: Store, runs: list[Run], at: str | None = None) -> dict[tuple, tuple]:
    """{(session, step): (label or None, source)} for each run: a rating of
    its session, else the label of its work's hunks at `at` (default HEAD)."""
    rated = ratings.current(store)
    need = sorted({r.session for r in runs if r.session not in rated and r.steps})
    hunks: dict[tuple, list[dict]] = {}
    if need:
        tracked = track_domain.track(store, need, at=at)
        for s in tracked["sessions"]:
            for h in s["hunks"]:
                hunks.setdefault((s["session"], h["step"]), []).append(
                    {"state": h["state"], **h["lines"]})
    out = {}
    for r in runs:
        if r.session in rated:
            out[(r.session, r.step)] = (float(rated[r.session]["score"]), "rating")
            continue
        work = [h for n in r.steps for h in hunks.get((r.session, n), [])]
        label = score.run_label(work)
        out[(r.session, r.step)] = (label, "trail" if label is not None else None)
    return out


def skill_score(store: Store, name: str, threshold: float = score.DEFAULT_THRESHOLD,
                min_runs: int = score.DEFAULT_MIN_RUNS, at: str | None = None) -> dict:
    """Each version of skill `name`, oldest first, its runs and labels, and
    the verdict between the last two; or a blocked_* status and no score."""
    runs = [r for r in all_runs(store) if r.skill == name]
    if not runs:
        raise UnknownSkill(f"no session ran skill '{name}'",
                           hint="'git ot skill list' lists the skills the sessions ran")
    got = labels(store, runs, at)
    order: dict[str, list[Run]] = {}
    for r in runs:
        if r.version:
            order.setdefault(r.version, []).append(r)
    per_version = {v: [got[(r.session, r.step)][0] for r in rs
                       if got[(r.session, r.step)][0] is not None] for v, rs in order.items()}
    state = score.status(list(per_version.values()), min_runs)
    scored = state == "ok"
    versions = []
    for v, rs in order.items():
        sources = [got[(r.session, r.step)][1] for r in rs]
        versions.append({"version": v, "skill_md": rs[0].blob, "first_run": _iso(rs[0]),
                         "runs": len(rs),
                         **score.version_row(per_version[v], threshold, scored, min_runs),
                         "from_trail": sources.count("trail"), "from_ratings": sources.count("rating")})
    comparison = None
    if scored and len(order) >= 2:
        old, new = list(order)[-2:]
        comparison = {"from": old, "to": new,
                      **score.compare(per_version[old], per_version[new], min_runs)}
    return {
        "skill": name, "threshold": threshold, "min_runs": min_runs, "status": state,
        "versions": versions, "comparison": comparison,
        "unversioned": sum(1 for r in runs if not r.version),
        "runs": [{"session": r.session, "step": r.step, "how": r.how, "version": r.version,
                  "t": _iso(r), "label": round(got[(r.session, r.step)][0], score.DIGITS)
                  if scored and got[(r.session, r.step)][0] is not None else None,
                  "labelled": got[(r.session, r.step)][0] is not None,
                  "source": got[(r.session, r.step)][1]} for r in runs],
    }


def rate(store: Store, spec: str, value: float, note: str | None = None) -> dict:
    """Rate the skill runs of the session `spec` names (an id or a unique prefix)."""
    ratings.validate_score(value)
    return ratings.rate(store, resolve(store, spec), value, note)
