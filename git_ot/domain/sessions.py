"""Reading sessions back: list them, resolve an id prefix, show steps."""

from __future__ import annotations

from ..errors import CorruptRecord, GitOtError, UnknownStep
from ..store import notices
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
    if not isinstance(m.get("counts"), dict):
        raise CorruptRecord(f"corrupt record manifest.json in session {session_id}: no 'counts'",
                            hint="'git fsck' checks the objects; fetch the session again from a "
                                 "remote that has it")
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
        "slug": m.get("slug"),
        "started_by": m.get("started_by"),
        "tip": tree.tip,
    }


def may_continue(started_by, slug) -> bool:
    """Whether a session may continue another: a clear started it, in a
    conversation with a name (see `continues`)."""
    return started_by == "clear" and bool(slug)


def continues(rows: list[dict], row: dict) -> str | None:
    """The session that the session of `row` continues, among `rows` (trace
    list's): Claude Code keeps a conversation's name (`slug`, also its plan
    file's) when a /clear, or a plan accepted with its context cleared,
    starts a new session of it. A session started so (`started_by`
    "clear") continues the latest session of the same name that started
    before it; None for any other, or when no such session is here."""
    if not may_continue(row.get("started_by"), row.get("slug")) or not row.get("start"):
        return None
    earlier = [r for r in rows if r["session"] != row["session"] and r.get("slug") == row["slug"]
               and r.get("start") and r["start"] < row["start"]]
    return max(earlier, key=lambda r: (r["start"], r["session"]))["session"] if earlier else None


def list_sessions(store: Store) -> list[dict]:
    """Every session, newest first (a command seals the spools before: domain/opening.py).

    A damaged session (a record that does not decode or has the wrong
    shape, a ref at a missing object or at no commit) is left out with a
    warning naming it; the others are listed.
    """
    rows = []
    for sid in store.session_ids():
        row = readable(store, sid, summary)
        if row is not None:
            rows.append(row)
    rows.sort(key=lambda r: (r["start"] or "", r["session"]), reverse=True)
    for row in rows:
        row["continues"] = continues(rows, row)
    return rows


def readable(store: Store, session_id: str, read):
    """`read(store, session_id)`, or None with a one-line warning naming the
    session when it is damaged: for readers of many sessions, which go on
    with the others ('git ot fsck' says how to repair it)."""
    try:
        return read(store, session_id)
    except (GitOtError, KeyError, TypeError, AttributeError, ValueError) as exc:
        notices.warn(damaged_message(session_id, exc))
        return None


def damaged_message(session_id: str, exc: Exception) -> str:
    text = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
    return f"skipping damaged session {session_id}: {text.splitlines()[0] if text else ''}" \
           + " (see 'git ot fsck')"


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
    row = summary(store, sid)
    # The other sessions are read only for one that may continue one of them.
    row["continues"] = None
    if may_continue(row["started_by"], row["slug"]):
        row["continues"] = next((r["continues"] for r in list_sessions(store) if r["session"] == sid),
                                None)
    out = {"session": row}
    if step_n is None:
        out["steps"] = steps
        return out
    if step_n > len(steps):
        raise UnknownStep(f"session {sid[:12]} has no step {step_n}",
                          hint=f"its steps are 1 to {len(steps)}" if steps else "it has no steps yet")
    out["step"] = expand(store, sid, steps[step_n - 1])
    return out
