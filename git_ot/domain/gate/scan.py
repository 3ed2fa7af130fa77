"""`git ot scan`: what the gate finds in sessions, sealed and still spooled."""

from __future__ import annotations

from ...store.refs import match_session
from ...store.repository import Store
from ...store.spool import Spilled, Spool
from ..fold import INFO_TEXTS, expand
from . import judge
from .detectors import Hit, secret_in_field
from .engine import Gate, line_of
from .policy import Policy
from .seal import whole_text
from .transform import PLACEHOLDER


def scan(store: Store, specs: list[str] | tuple = (), policy: Policy | None = None) -> dict:
    """`git ot scan`: the findings in the sessions named (all, by default),
    sealed and still spooled, under the policy in force."""
    gate = Gate(store, policy)
    pending = Spool(store.location.state_dir).pending_sessions()
    ids = _resolve_ids(store, list(specs), pending)
    return {"policy": gate.policy.describe(), "sessions": [scan_session(gate, sid) for sid in ids]}


def scan_session(gate: Gate, session_id: str, spool: bool = True) -> dict:
    """What the gate finds in one session under the current policy.

    Findings are `redacted` (replaced at seal: the placeholders in the
    records and the files marked in the trail), `open` (in the stored
    session and not allowed by the current policy) or `pending` (in
    spooled events not sealed yet).
    """
    store = gate.store
    tree = store.session(session_id)
    findings: list[dict] = []
    residual: dict = {}
    texts: dict[str, str] = {}
    where: dict[str, dict] = {}
    judged: set[str] = set()
    by_key: dict[str, list[Hit]] = {}

    def add_text(loc: dict, text, judge_it: bool, key=None) -> None:
        if not isinstance(text, str) or not text:
            return
        name = f"t{len(texts)}"
        texts[name] = text
        where[name] = loc
        if judge_it:
            judged.add(name)
        if isinstance(key, str) and secret_in_field(key, text) and not gate.policy.allowed(text):
            by_key[name] = [Hit("password-assignment", "pattern", 0, len(text))]

    def leaves(value, path: str, key=None):
        if isinstance(value, Spilled):
            value = whole_text(value)  # a spilled output, read whole to be scanned
        if isinstance(value, str):
            yield path, value, key
        elif isinstance(value, dict):
            for k, v in value.items():
                yield from leaves(v, f"{path}.{k}" if path else str(k), k)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                yield from leaves(v, f"{path}[{i}]")

    manifest = None
    if tree is not None:
        manifest = tree.record("manifest")
        trace, trail = tree.record("trace"), tree.record("trail")
        for step in trace["steps"]:
            for key in ("text", "input", "output"):
                if key in step:
                    for path, text, k in leaves(expand(store, session_id, step[key]), key):
                        add_text({"step": step["n"], "field": path}, text, True, k)
            for key in ("name", "agent_type", "trigger"):
                add_text({"step": step["n"], "field": key}, step.get(key), False)
        for entry in trace["lifecycle"]:
            if "data" in entry:
                for path, text, k in leaves(expand(store, session_id, entry["data"]), "data"):
                    add_text({"lifecycle": entry["id"], "field": path}, text, True, k)
        for key in INFO_TEXTS:
            add_text({"field": "info." + key}, trace["info"].get(key), False)
        for name, snap in trail["snapshots"].items():
            add_text({"field": f"snapshots.{name}.branch"}, snap.get("branch"), False)
    sealed_texts = len(texts)
    if spool:
        for event in Spool(store.location.state_dir).peek(session_id):
            eid = event.get("id") or "corrupt"
            if "corrupt" in event:
                add_text({"spool": eid, "field": "line"}, event["corrupt"], False)
            for path, text, k in leaves(event.get("data") or {}, "data"):
                add_text({"spool": eid, "field": path}, text, False, k)

    th = gate.trufflehog_hits(texts)
    open_count = 0
    for i, (name, text) in enumerate(texts.items()):
        loc = where[name]
        status = "open" if i < sealed_texts else "pending"
        for m in PLACEHOLDER.finditer(text):
            findings.append({"kind": m.group("kind"), "status": "redacted", **loc,
                             "line": line_of(text, m.start())})
        for h in gate.hits(text, False, th.get(name, []) + by_key.get(name, [])):
            findings.append({"kind": h.kind, "status": status, "detector": h.detector, **loc,
                             "line": line_of(text, h.start)})
            if status == "open":
                open_count += 1
        if name in judged:
            judge.residual(text, residual)

    if tree is not None:
        for mark in trail.get("redacted", []):
            for hit in mark.get("hits", []):
                findings.append({"kind": hit["kind"], "status": "redacted", "snapshot": mark["snapshot"],
                                 "path": mark["path"], "line": hit["line"]})
        base = (manifest.get("base") or {}).get("commit")
        snaps = sorted(tree.snapshots().items(), key=lambda kv: _snapshot_order(kv[0]))
        listed = [(name, gate.tree_blobs(oid, base)) for name, oid in snaps]
        results = gate.scan_blobs({o for _, blobs in listed for _, o in blobs}, rewrite=False)
        for name, blobs in listed:
            for path, oid in blobs:
                for kind, line, detector in (results[oid][1] if results[oid] else []):
                    findings.append({"kind": kind, "status": "open", "detector": detector, "snapshot": name,
                                     "path": path.decode("utf-8", "backslashreplace"), "line": line})
                    open_count += 1
        gate.cache.save()
    counts = {k: residual.get(k, 0) for k in judge.RESIDUAL_KEYS}
    return {"session": session_id, "sealed": tree is not None,
            "risk": judge.score(counts, open_count), "residual": counts,
            "open": open_count, "findings": findings}


def _snapshot_order(name: str):
    n, _, at = name.partition("-")
    return (int(n) if n.isdigit() else 0, 0 if at == "before" else 1, name)


def _resolve_ids(store: Store, specs: list[str], pending: list[str]) -> list[str]:
    known = sorted(set(store.session_ids()) | set(pending))
    if not specs:
        return known
    out = []
    for spec in specs:
        sid = match_session(spec, known)
        if sid not in out:
            out.append(sid)
    return out
