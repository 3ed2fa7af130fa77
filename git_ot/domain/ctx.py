"""Ctx: what the model saw at a step, read back from the session's ctx record.

The ctx record (refs/README.md, section 9) lists every message that entered
the model's view, each kept as a content-addressed blob in the session tree,
and the range of messages in view after every change: a step's context is
the range of the last view at or before it. This module reads one step's
context and prepares what resuming from it needs: the working files as they
were, in a linked worktree of their own.
"""

from __future__ import annotations

import json
import os

import pygit2

from ..errors import GitCommandError, NoContext, UnknownStep, UnusableDirectory
from ..store import git
from ..store.repository import Store
from . import sessions
from .fold import expand


def context(store: Store, spec: str) -> dict:
    """The messages in the model's view at the step `spec` names (SESSION:STEP)."""
    sid_spec, step_n = sessions.parse_spec(spec)
    if step_n is None:
        raise UnknownStep(f"no step in '{spec}'",
                          hint="name one as SESSION:STEP, as 'git ot trace show SESSION' lists them")
    sid = sessions.resolve(store, sid_spec)
    tree = store.session(sid)
    steps = tree.record("trace")["steps"]
    if step_n > len(steps):
        raise UnknownStep(f"session {sid[:12]} has no step {step_n}",
                          hint=f"its steps are 1 to {len(steps)}" if steps else "it has no steps yet")
    ctx = tree.record("ctx")
    messages = ctx["messages"]
    if not any("blob" in m for m in messages):
        raise NoContext(f"session {sid[:12]} has no recorded context",
                        hint="it was sealed by a git-ot that did not keep what the model saw; "
                             "'git ot import' its transcript again to add it")
    view = None
    for v in ctx["views"]:
        if v["step"] > step_n:
            break
        view = v
    in_view = messages[view["from"] - 1:view["to"]] if view else []
    out = []
    where = f"session {sid}"
    for m in in_view:
        if "blob" not in m:
            raise NoContext(f"message {m['id']} of session {sid[:12]} (step {m['step']}) was not kept",
                            hint="'git ot import' the session's transcript again to add it")
        body = json.loads(store.read_blob(m["blob"], where).decode("utf-8", "surrogateescape"))
        out.append({"id": m["id"], "step": m["step"], "role": m["role"], "source": m["source"],
                    "blob": m["blob"], "message": expand(store, sid, body)})
    sources = sorted({m["source"] for m in out})
    step = steps[step_n - 1]
    return {"session": sid, "step": step_n, "kind": step["kind"],
            "source": "+".join(sources) if sources else None,
            "compacted": bool(view and view["from"] > 1),
            "info": {k: v for k, v in tree.record("trace")["info"].items()
                     if k in ("cwd", "model", "harness", "harness_version")},
            "base": tree.record("manifest").get("base") or {},
            "messages": out}


def snapshot_commit(store: Store, session_id: str, step_n: int) -> str | None:
    """A commit whose tree holds the working files as they were at step
    `step_n`: the latest whole snapshot at or before it, as a commit on the
    session's base; the base itself when no tool step took one before; None
    when neither is known."""
    tree = store.session(session_id)
    trail = tree.record("trail")
    best = None
    for name, snap in trail["snapshots"].items():
        if snap.get("partial") or snap["step"] > step_n:
            continue
        rank = (snap["step"], snap["at"] == "after")
        if best is None or rank > best[0]:
            best = (rank, snap["tree"])
    base = (tree.record("manifest").get("base") or {}).get("commit")
    if best is None:
        return base if base and store.has_object(base) else None
    parents = [pygit2.Oid(hex=base)] if base and store.has_object(base) else []
    sig = pygit2.Signature("git-ot", "git-ot@localhost", 0, 0)
    oid = store.repo.create_commit(None, sig, sig, f"git-ot: session {session_id} at step {step_n}\n",
                                   pygit2.Oid(hex=best[1]), parents)
    return str(oid)


def default_worktree(store: Store, session_id: str, step_n: int) -> str:
    top = store.location.worktree or os.path.dirname(store.location.common_dir.rstrip("/"))
    top = top.rstrip("/")
    return os.path.join(os.path.dirname(top), f"{os.path.basename(top)}-{session_id[:8]}-step{step_n}")


def add_worktree(store: Store, session_id: str, step_n: int, path: str | None) -> str:
    """A new linked worktree at `path` (default: beside the repository) with
    the working files of step `step_n`; the user's checkout is not touched."""
    path = os.path.abspath(path or default_worktree(store, session_id, step_n))
    if os.path.exists(path) and (not os.path.isdir(path) or os.listdir(path)):
        raise UnusableDirectory(f"'{path}' already exists",
                                hint="name another directory with --worktree PATH")
    commit = snapshot_commit(store, session_id, step_n)
    if commit is None:
        raise NoContext(f"session {session_id[:12]} has no snapshot or base commit at step {step_n}",
                        hint="the working files of that step are not in this repository")
    try:
        git.run(["worktree", "add", "--detach", "--quiet", path, commit],
                cwd=store.location.worktree or store.location.common_dir)
    except GitCommandError as exc:
        raise UnusableDirectory(f"cannot make the worktree '{path}': {exc.message}") from exc
    return path
