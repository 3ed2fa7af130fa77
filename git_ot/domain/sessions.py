"""Reading sessions back: list them, resolve an id prefix, show steps."""

from __future__ import annotations

from ..errors import UnknownStep
from ..store.refs import match_session
from ..store.repository import Store
from .fold import expand


def resolve(store: Store, spec: str) -> str:
    """The full session id for an id or a unique prefix of one."""
    return match_session(spec, store.session_ids())


def parse_spec(spec: str) -> tuple[str, int | None]:
    """Split '<session>[:<step>]'."""
    if ":" in spec:
        sid, _, step = spec.rpartition(":")
        if not step.isdigit() or int(step) < 1:
            raise UnknownStep(f"invalid step '{step}' in '{spec}'",
                              hint="a step is a number from 1, as 'git ot trace show' lists them")
        return sid, int(step)
    return spec, None


def summary(store: Store, session_id: str) -> dict:
    """One row of `trace list`: the manifest's facts about a session."""
    tree = store.session(session_id)
    m = tree.record("manifest")
    return {
        "session": session_id,
        "harness": m["harness"]["name"],
        "harness_version": m["harness"].get("version"),
        "models": m.get("models", []),
        "start": m.get("start"),
        "end": m.get("end"),
        "steps": m["counts"]["steps"],
        "prompts": m["counts"]["prompts"],
        "tools": m["counts"]["tools"],
        "files": m["counts"]["files"],
        "commits": m["counts"]["commits"],
        "base": m.get("base", {}).get("commit"),
        "branch": m.get("base", {}).get("branch"),
        "tip": tree.tip,
    }


def list_sessions(store: Store) -> list[dict]:
    """Every session, newest first (a command seals the spools before: domain/opening.py)."""
    rows = [summary(store, sid) for sid in store.session_ids()]
    rows.sort(key=lambda r: (r["start"] or "", r["session"]), reverse=True)
    return rows


def show(store: Store, spec: str) -> dict:
    """A session with its steps in order, or one step in full."""
    sid_spec, step_n = parse_spec(spec)
    sid = resolve(store, sid_spec)
    tree = store.session(sid)
    trace = tree.record("trace")
    trail = tree.record("trail")
    patches = {p["step"]: p for p in trail["patches"]}
    steps = []
    for step in trace["steps"]:
        item = dict(step)
        if step["n"] in patches:
            item["patch"] = patches[step["n"]]
        steps.append(item)
    out = {"session": summary(store, sid)}
    if step_n is None:
        out["steps"] = steps
        return out
    if step_n > len(steps):
        raise UnknownStep(f"session {sid[:12]} has no step {step_n}",
                          hint=f"its steps are 1 to {len(steps)}" if steps else "it has no steps yet")
    out["step"] = expand(store, sid, steps[step_n - 1])
    return out
