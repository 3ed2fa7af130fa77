"""Sealing: move a session's spooled events into its ref, atomically.

A seal takes the spool's unsealed batches under the session's seal lock,
folds them onto the records at the ref's tip, writes one new commit and
moves the ref with a compare-and-swap; only then are the batches deleted.
A crash anywhere before that leaves the batches for the next seal, and
event ids make a repeated seal a no-op, so nothing is lost or doubled.

The batches are read one event at a time, so a seal holds one event in
memory, not all of them (batches of less than KEEP_BELOW bytes, which a
seal would otherwise parse at each of its passes, are parsed once and
held); a large tool output spilled beside the journal
(store/spool.py) is gated and written to its blob a window at a time, so
it is never held whole. On the hook path a seal is counted
(`<common>/opentraces/seal-attempts/<session>`) from its start to its end: a
session whose seal was killed HOOK_ATTEMPTS times in a row (a harness's hook
timeout, say) is no longer sealed inside hooks, which would be killed again;
it is sealed outside them (capture/hook.py starts a detached process, and
every `git ot` command that reads seals first).
"""

from __future__ import annotations

import contextlib
import os

import pygit2

from .. import __version__
from ..errors import GateBlocked, LockBusy
from ..store import notices, records, snapshot, state
from ..store.files import replace_file
from ..store import times as times_format
from ..store.faults import crash_point
from ..store.packs import UNPACK_LIMIT, PackBuffer
from ..store.repository import Store
from ..store.spool import Spool, is_event
from ..store.trees import path_fields
from .fold import anchored_commits, Folder, Payloads, new_records, seen_event_ids
from .gate.seal import SealGate
from .trail import session_anchors


def spool_for(store: Store) -> Spool:
    return Spool(store.location.state_dir)


# Batches smaller than this (bytes of spool) are parsed once and held by
# the seal, which iterates them more than once; larger ones are read again
# at each pass, one event at a time.
KEEP_BELOW = 64 << 20

# Hook-path seals of one session killed in a row before it is left to a
# seal outside the hooks.
HOOK_ATTEMPTS = 2


def seal(store: Store, session_id: str, wait: float | None = None,
         loose_below: int = UNPACK_LIMIT) -> str | None:
    """Seal one session's spooled events; the new tip, or None if nothing new.

    `wait` bounds the wait for a seal of the session another process runs
    (then LockBusy; None: wait for it). The seal's new objects are written
    loose when they are fewer than `loose_below`, else as one pack (an
    import: 0, one pack per session)."""
    spool = spool_for(store)
    with spool.sealing(session_id, wait) as batch:
        events = _Placed(batch.take(lazy=True, keep_below=KEEP_BELOW))
        if not events:
            return None
        crash_point("after-take")
        tip = store.tip(session_id)
        if tip is None and not any(map(is_event, events)):
            # Nothing but lines that are no event's (junk under a session's
            # name): no session is made of it; the files are kept aside.
            for where in batch.set_aside():
                notices.warn(f"spool file of session {session_id} holds no event: set aside as '{where}'")
            return None
        current = store.session(session_id, tip)
        if current is not None:
            recs = {k: current.record(k) for k in ("trace", "trail", "ctx")}
        else:
            recs = {k: records.envelope(k, v) for k, v in new_records(session_id).items()}
        # The security gate: every value is redacted as it is folded, the
        # rest (snapshots included) is checked before anything is written.
        gate = SealGate(store, session_id, events)
        # The new objects are kept and written together, as one pack when
        # they are many (store/packs.py), just before the commit.
        pack = PackBuffer(store)
        payloads = Payloads(pack.blob, gate.redact, store.write_blob_stream)
        folder = Folder(recs, payloads, watched=lambda: _watched(store))
        edits = _Edits(store)
        applied = sum(1 for ev in events if folder.apply(edits.resolve(ev), valid=batch.plain_text(ev)))
        folder.settle()  # telemetry that waited for its step, or arrived after it
        if applied == 0:
            # Everything was sealed before a crash cut the retire short.
            batch.retire()
            return tip
        # Anchors a git hook kept for the session, its seal lock being held
        # (trail/session_anchors.py): written with this seal.
        kept = session_anchors.add_kept(store, session_id, recs["trail"])
        gate_report = gate.check(recs, folder, current.record("manifest") if current else None)
        _add_patches(store, recs["trail"], folder)
        manifest = build_manifest(store, session_id, recs,
                                  previous=current.record("manifest") if current else None)
        manifest["gate"] = gate_report
        recs["manifest"] = manifest
        message = (f"seal {session_id}: {applied} event{'s' if applied != 1 else ''}\n\n"
                   f"Steps: {len(recs['trace']['steps'])}\n")
        new_tip = store.write_session(session_id, tip, recs, payloads.new,
                                      folder.new_snapshots, message, pack=pack,
                                      loose_below=loose_below)
        crash_point("after-ref-move")
        session_anchors.clear_pending(store, session_id, kept)
        batch.retire()
        return new_tip


class _Placed:
    """A batch's events, those a hook read from a transcript (`filled`,
    capture/claude_code/fill.py) placed among the others by their times.

    A harness writes its transcript a moment after its hooks fire, so a
    call read from it is often spooled after events that came later; the
    fold numbers steps in the order it is given them. Every other event
    keeps its place in the spool. Telemetry places nothing: the receiver
    spools it as it arrives, before the events still in the inbox, and it
    joins its step by ids, not by place."""

    def __init__(self, events):
        self.events = events

    def __bool__(self) -> bool:
        return bool(self.events)

    def __iter__(self):
        filled = sorted((e for e in self.events if _filled(e)), key=lambda e: e["t"])
        i = 0
        for event in self.events:
            if _filled(event):
                continue
            t = event.get("t")
            if isinstance(t, (int, float)) and event.get("kind") != "telemetry":
                while i < len(filled) and filled[i]["t"] <= t:
                    yield filled[i]
                    i += 1
            yield event
        yield from filled[i:]


def _add_patches(store: Store, trail: dict, folder) -> None:
    """The patch of every step the batch completed, one per step: its
    snapshots' diff, else (an imported or filled step) the patch the
    transcript's structured edit results give, if any. A step completed
    again (a hook and the transcript both told it) keeps one patch: a
    sealed one as it is, else its snapshots' when it has both."""
    sealed = {p["step"] for p in trail["patches"]}
    for n, step in {s["n"]: s for s in folder.completed}.items():
        if n not in sealed:
            patch = step_patch(store, trail, step) or folder.transcript_patch(step)
            if patch is not None:
                trail["patches"].append(patch)


class _Edits:
    """The patch and partial snapshots of the write calls whose event
    carries the file before and after (`edits`: a call a hook read from the
    transcript, capture/claude_code/fill.py; Pi's write and edit, read by
    its extension; Codex's apply_patch, whose hooks hashed its file,
    capture/hook.py), made as an import makes them (edit_states.py), each
    path mapped with the directory its own event names."""

    def __init__(self, store: Store):
        self.store = store
        self.states = None

    def resolve(self, event: dict) -> dict:
        data = event.get("data")
        if not isinstance(data, dict) or "edits" not in data or event.get("kind") != "tool_end":
            return event
        worktree = self.store.location.worktree
        if worktree is None:
            data.pop("edits")  # no checkout to map its paths into
            return event
        if self.states is None:
            from .edit_states import EditStates
            from .paths import relpath_mapper

            self.states = EditStates(self.store, relpath_mapper, worktree, None, None)
        self.states.resolve(event)
        return event


def _filled(event: dict) -> bool:
    return event.get("filled") is True and isinstance(event.get("t"), (int, float))


def _watched(store: Store) -> list[dict]:
    """The watch journal of this worktree (`git ot watch`), for a session
    only telemetry captured."""
    from ..store import watchlog

    if store.location.worktree is None:
        return []
    return watchlog.read(store.location.worktree_state_dir)


def seal_pending(store: Store, only_interrupted: bool = False) -> list[str]:
    """Seal every session with spooled events (or only those a crash left)."""
    spool = spool_for(store)
    ids = spool.has_leftover_batches() if only_interrupted else spool.pending_sessions()
    sealed = []
    for sid in ids:
        try:
            if seal(store, sid) is not None:
                sealed.append(sid)
        except GateBlocked:
            continue  # its events wait in the spool; 'git ot scan' shows why
        # Sealed outside the hooks: the hooks may seal it again.
        _set_attempts(state.seal_attempts(store.location.state_dir, sid), 0)
    return sealed


def _attempts(path: str) -> int:
    try:
        with open(path, "rb") as fh:
            text = fh.read().strip()
    except OSError:
        return 0
    return int(text) if text.isdigit() else HOOK_ATTEMPTS


def _set_attempts(path: str, n: int) -> None:
    if n <= 0:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return
    replace_file(path, b"%d\n" % n)


def killed_seals(state_dir: str, session_id: str) -> int:
    """How many hook-path seals of the session started and never finished."""
    return _attempts(state.seal_attempts(state_dir, session_id))


def seal_on_hook_path(store: Store, session_id: str, wait: float | None) -> bool:
    """Seal one session from a hook; False when it was left for later: its
    seal kept being killed (see the module's doc), or another process held
    its seal lock for `wait` seconds."""
    marker = state.seal_attempts(store.location.state_dir, session_id)
    n = _attempts(marker)
    if n >= HOOK_ATTEMPTS:
        return False
    _set_attempts(marker, n + 1)
    try:
        seal(store, session_id, wait=wait)
    except LockBusy:
        _set_attempts(marker, n)  # not killed: another process seals it
        return False
    except BaseException:
        _set_attempts(marker, n)  # failed, not killed: the failure is logged
        raise
    _set_attempts(marker, 0)
    return True


def seal_outside_hooks(store: Store, session_id: str) -> str | None:
    """Seal a session whose hook-path seals were killed, however long it takes."""
    tip = seal(store, session_id)
    _set_attempts(state.seal_attempts(store.location.state_dir, session_id), 0)
    return tip


def seal_pending_on_hook_path(store: Store, wait: float) -> list[str]:
    """Seal every session with spooled events, from a git hook, waiting at
    most `wait` seconds for each; the sessions left unsealed."""
    left = []
    for sid in spool_for(store).pending_sessions():
        try:
            if not seal_on_hook_path(store, sid, wait):
                left.append(sid)
        except GateBlocked:
            continue  # its events wait in the spool; 'git ot scan' shows why
    return left


def _is_pointer(store: Store, oid, size: int) -> bool:
    if size == 0 or size > 200 or oid.raw == b"\0" * len(oid.raw):
        return False
    return store.read_blob(oid, "snapshot").startswith(snapshot.POINTER_HEADER)


def step_patch(store: Store, trail: dict, step: dict) -> dict | None:
    """The change one tool step made: the diff of its before and after snapshots."""
    before = step.get("snapshot_before")
    after = step.get("snapshot_after")
    if not before or not after:
        return None
    snaps = trail["snapshots"]
    if snaps[before].get("partial") or snaps[after].get("partial"):
        return None  # an imported step's: its patch is the transcript's
    a, b = snaps[before]["tree"], snaps[after]["tree"]
    files = []
    if a != b:
        diff = store.repo.diff(store.get(a, "snapshot"), store.get(b, "snapshot"), context_lines=0)
        # Fixed flags, not the user's diff.renames: every machine must write
        # the same trail for the same session.
        diff.find_similar(flags=pygit2.enums.DiffFind.FIND_RENAMES)
        for patch in diff:
            delta = patch.delta
            entry = {"status": delta.status_char(), **path_fields(delta.new_file.raw_path)}
            if delta.old_file.raw_path != delta.new_file.raw_path:
                entry.update(path_fields(delta.old_file.raw_path, "old_"))
            if delta.is_binary:
                entry["binary"] = True
            if (_is_pointer(store, delta.old_file.id, delta.old_file.size)
                    or _is_pointer(store, delta.new_file.id, delta.new_file.size)):
                # Over the size limit: the content was never stored, so there
                # are no lines to attribute, only the fact of the change.
                entry.update(large=True, hunks=[], added=0, removed=0)
                files.append(entry)
                continue
            entry["hunks"] = [[h.old_start, h.old_lines, h.new_start, h.new_lines] for h in patch.hunks]
            _, adds, dels = patch.line_stats
            entry["added"], entry["removed"] = adds, dels
            files.append(entry)
    return {"step": step["n"], "before": before, "after": after, "files": files}


def build_manifest(store: Store, session_id: str, recs: dict, previous: dict | None) -> dict:
    """The manifest: what `trace list` shows, derived from the records."""
    trace, trail = recs["trace"], recs["trail"]
    info = trace["info"]
    steps = trace["steps"]
    times = [s["t"] for s in steps if s.get("t") is not None]
    times += [e["t"] for e in trace["lifecycle"] if e.get("t") is not None]
    files = sorted({f["path"] for p in trail["patches"] for f in p["files"]})
    ended = any(e.get("kind") == "session_end" for e in trace["lifecycle"])
    base = info.get("base") or (previous.get("base") if previous else None)
    if base is None:
        base = _head(store)  # no session-start event: HEAD at the first seal
    return records.envelope("manifest", {
        "session": session_id,
        "harness": {"name": info.get("harness", "unknown"), "version": info.get("harness_version")},
        "models": _models(info, steps),
        "base": base,
        "start": times_format.iso(min(times)) if times else None,
        "end": times_format.iso(max(times)) if (times and ended) else None,
        "counts": {
            "steps": len(steps),
            "prompts": sum(1 for s in steps if s["kind"] == "prompt"),
            "tools": sum(1 for s in steps if s["kind"] == "tool"),
            "events": len(seen_event_ids(trace)),
            "files": len(files),
            "commits": anchored_commits(trail),
        },
        "files": files,
        "slug": info.get("slug"),
        "started_by": info.get("started_by"),
        "writer": f"git-ot {__version__}",
    })


def _models(info: dict, steps: list[dict]) -> list[str]:
    """The session's model first, then every other model a step names."""
    out = [info["model"]] if info.get("model") else []
    for s in steps:
        if s.get("model") and s["model"] not in out:
            out.append(s["model"])
    return out


def _head(store: Store) -> dict:
    repo = store.repo
    try:
        if repo.head_is_unborn:
            branch = repo.references["HEAD"].target if "HEAD" in repo.references else None
            return {"commit": None, "branch": _branch_name(branch)}
        head = repo.head
        branch = head.name if not repo.head_is_detached else None
        return {"commit": str(head.target), "branch": _branch_name(branch)}
    except (pygit2.GitError, KeyError):
        return {"commit": None, "branch": None}


def _branch_name(ref) -> str | None:
    if isinstance(ref, str) and ref.startswith("refs/heads/"):
        return ref[len("refs/heads/"):]
    return None
