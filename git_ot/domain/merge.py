"""Joining two diverged copies of one session into one, losing nothing.

The same session id can be sealed differently in two clones (a session
resumed on a second machine after a fetch, the same transcript imported
twice). Neither copy may overwrite the other, so `git ot fetch` and
`git ot push` join them in a merge commit with both tips as parents, whose
records hold the union of both copies' steps:

- The *primary* copy is the one with more folded events (ties: the greater
  tip id), so the choice is the same in every clone. Its steps keep their
  numbers and its records are the base of the merged records.
- A step of the other copy is *the same step* when it shares an event id
  with a primary step; it is then not repeated (the primary's version
  stands).
- Every other step of the other copy is appended after the primary's last
  step, in its own order, renumbered, and marks where it came from with
  `merged_from` (`commit`: the other tip, `n`: its number there). Its
  snapshots, patch, ctx messages and payload blobs come with it under the
  new numbers; lifecycle entries, telemetry entries and anchors are united.

What the model saw at an appended step (its ctx view) can name only the
appended messages: the full view, with the messages it shared with the
primary copy, is in the other parent's ctx.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import cbor2

from ..store.repository import SessionTree, Store
from .fold import seen_event_ids
from .sealing import build_manifest


@dataclass
class Merged:
    """The records of a merged session and what its tree must add."""

    records: dict
    new_blobs: list[str] = field(default_factory=list)
    snapshots: dict[str, str] = field(default_factory=dict)
    appended: int = 0  # steps taken over from the other copy


def primary_first(store: Store, a: SessionTree, b: SessionTree) -> tuple[SessionTree, SessionTree]:
    """(primary, other): more events first; ties broken by the greater tip id."""
    def key(t: SessionTree):
        return (len(seen_event_ids(t.record("trace"))), t.tip)
    return (a, b) if key(a) >= key(b) else (b, a)


def merge_sessions(store: Store, session_id: str, primary: SessionTree, other: SessionTree) -> Merged:
    """The union of two copies of a session, on the primary's numbering."""
    trace = copy.deepcopy(primary.record("trace"))
    trail = copy.deepcopy(primary.record("trail"))
    ctx = copy.deepcopy(primary.record("ctx"))
    o_trace, o_trail, o_ctx = other.record("trace"), other.record("trail"), other.record("ctx")
    out = Merged(records={})

    seen = seen_event_ids(trace)
    primary_step_of = {e: s["n"] for s in trace["steps"] for e in s.get("events", ())}
    # The other copy's step numbers, to the merged numbers.
    renumber: dict[int, int] = {}
    appended: list[dict] = []
    next_n = len(trace["steps"]) + 1
    for step in o_trace["steps"]:
        shared = [primary_step_of[e] for e in step.get("events", ()) if e in primary_step_of]
        if shared:
            renumber[step["n"]] = shared[0]
            continue
        renumber[step["n"]] = next_n
        next_n += 1
        appended.append(step)
    out.appended = len(appended)

    o_snapshots = other.snapshots()
    for step in appended:
        new = copy.deepcopy(step)
        new["n"] = renumber[step["n"]]
        new["merged_from"] = {"commit": other.tip, "n": step["n"]}
        if step.get("parent") is not None:
            if step["parent"] in renumber:
                new["parent"] = renumber[step["parent"]]
            else:
                del new["parent"]
        for at in ("before", "after"):
            name = step.get(f"snapshot_{at}")
            if not name:
                continue
            new_name = f"{new['n']}-{at}"
            new[f"snapshot_{at}"] = new_name
            info = o_trail["snapshots"].get(name)
            tree = o_snapshots.get(name) or (info or {}).get("tree")
            if tree:
                out.snapshots[new_name] = tree
                trail["snapshots"][new_name] = {**(info or {"at": at, "t": None}),
                                               "tree": tree, "step": new["n"]}
        trace["steps"].append(new)

    moved = {step["n"] for step in appended}
    for patch in o_trail["patches"]:
        if patch["step"] in moved:
            n = renumber[patch["step"]]
            trail["patches"].append({**copy.deepcopy(patch), "step": n,
                                     "before": f"{n}-before", "after": f"{n}-after"})

    have = {_key(a) for a in trail["anchors"]}
    for anchor in o_trail["anchors"]:
        anchor = copy.deepcopy(anchor)
        if isinstance(anchor.get("step"), int) and anchor["step"] in renumber:
            anchor["step"] = renumber[anchor["step"]]
        if _key(anchor) not in have:
            have.add(_key(anchor))
            trail["anchors"].append(anchor)

    for entry in o_trace["lifecycle"]:
        if entry["id"] not in seen:
            trace["lifecycle"].append(copy.deepcopy(entry))
    # Telemetry the primary lacks, on steps it shares or waiting: it waits
    # in the merged trace (the next seal joins what it can).
    moved_ids = {step["n"] for step in appended}
    others = [t for s in o_trace["steps"] if s["n"] not in moved_ids for t in s.get("telemetry", ())]
    taken = 0
    for entry in others + list(o_trace.get("telemetry", ())):
        if entry["id"] not in seen:
            trace.setdefault("telemetry", []).append(copy.deepcopy(entry))
            taken += 1
    for key, value in o_trace.get("info", {}).items():
        trace["info"].setdefault(key, copy.deepcopy(value))

    _merge_ctx(ctx, o_ctx, moved, renumber)

    if appended or taken or len(trace["lifecycle"]) != len(primary.record("trace")["lifecycle"]):
        out.new_blobs = _missing_blobs(store, primary, other)
    recs = {"trace": trace, "trail": trail, "ctx": ctx}
    manifest = build_manifest(store, session_id, recs, previous=primary.record("manifest"))
    recs["manifest"] = manifest
    out.records = recs
    return out


def _merge_ctx(ctx: dict, o_ctx: dict, moved: set[int], renumber: dict[int, int]) -> None:
    messages, views = ctx["messages"], ctx["views"]
    new_id: dict[int, int] = {}
    for msg in o_ctx["messages"]:
        if msg["step"] in moved:
            new_id[msg["id"]] = len(messages) + 1
            messages.append({**copy.deepcopy(msg), "id": new_id[msg["id"]],
                             "step": renumber[msg["step"]]})
    for view in o_ctx["views"]:
        if view["step"] not in moved:
            continue
        ids = [new_id[i] for i in range(view["from"], view["to"] + 1) if i in new_id]
        if ids:
            views.append({"step": renumber[view["step"]], "from": min(ids), "to": max(ids)})
        else:  # nothing of the merged-in messages in view (after a compaction)
            views.append({"step": renumber[view["step"]], "from": len(messages) + 1,
                          "to": len(messages)})


def _key(value) -> bytes:
    return cbor2.dumps(value, canonical=True)


def _blob_ids(store: Store, tree: SessionTree) -> set[str]:
    try:
        blobs = tree.tree["blobs"]
    except KeyError:
        return set()
    out = set()
    for sub in store.get(blobs.id, f"session {tree.session_id}"):
        for entry in store.get(sub.id, f"session {tree.session_id}"):
            out.add(sub.name + entry.name)
    return out


def _missing_blobs(store: Store, primary: SessionTree, other: SessionTree) -> list[str]:
    """The other copy's payload blobs that the primary's tree does not list."""
    return sorted(_blob_ids(store, other) - _blob_ids(store, primary))


def merge_message(session_id: str, merged: Merged, other_tip: str) -> str:
    steps = len(merged.records["trace"]["steps"])
    n = merged.appended
    return (f"merge {session_id}: {n} step{'s' if n != 1 else ''} from {other_tip[:12]}\n\n"
            f"Steps: {steps}\n")

