"""`git ot forget`: delete sessions for good, here, and say what is left elsewhere.

For each session: every ref that holds it (`refs/opentraces/sessions/<id>`
and a remote's copy under `refs/opentraces/remotes/*/sessions/<id>`), its
lines in the notes (`refs/notes/opentraces` and the remotes' copies, each
rewritten as one commit without history, since the history would keep the
lines), the reflog entries of those refs, its spool, and then the objects
nothing else reaches any more: the session's commits, records, blobs and
snapshots, the notes' old commits, and the unredacted snapshot objects the
hooks wrote before the gate replaced them. The git commands it runs to do
so are reported; objects any other ref, reflog or index reaches are kept.
"""

from __future__ import annotations

import os
import shutil
import time

from ..errors import GitOtError, UnknownSession
from ..store import approvals, inbox, notes, purge, refs, times
from ..store import state as state_paths
from ..store.repository import Store
from ..store.spool import Spool
from .share import forget_on_remote, resolve_remote
from . import datasets
from .skills import ratings


def _session_refs(store: Store, session_id: str) -> dict[str, str]:
    """Every local ref holding the session: its own, and remotes' copies."""
    out = {}
    suffix = "/sessions/" + session_id
    for ref in store.repo.references:
        name = ref if isinstance(ref, str) else ref.name
        if name.startswith(refs.NAMESPACE) and name.endswith(suffix) and (
                name == refs.session_ref(session_id) or name.startswith(refs.NAMESPACE + "remotes/")):
            target = store.repo.references.get(name)
            if target is not None:
                out[name] = str(target.target)
    return out


def _notes_refs(store: Store) -> list[str]:
    names = []
    for ref in store.repo.references:
        name = ref if isinstance(ref, str) else ref.name
        if name == refs.NOTES_REF or (name.startswith(refs.NAMESPACE + "remotes/") and name.endswith("/notes")):
            names.append(name)
    return sorted(names)


def _spool_snapshots(spool: Spool, session_id: str) -> list[str]:
    return [e["snapshot"] for e in spool.peek(session_id) if isinstance(e.get("snapshot"), str)]


def _held_sessions(store: Store) -> dict[str, list[str]]:
    """Every session id a ref of this repository holds, local or a remote's
    copy, and the commits those refs point at."""
    out: dict[str, list[str]] = {}
    remotes = refs.NAMESPACE + "remotes/"
    for ref in store.repo.references:
        name = ref if isinstance(ref, str) else ref.name
        sid = refs.session_id_from_ref(name)
        if sid is None and name.startswith(remotes) and "/sessions/" in name[len(remotes):]:
            sid = name[len(remotes):].split("/sessions/", 1)[1]
        target = store.repo.references.get(name) if sid else None
        if target is not None:
            out.setdefault(sid, []).append(str(target.target))
    return out


def _start(store: Store, spool: Spool, sid: str, tips: list[str]) -> float | None:
    """When a session started: the earliest of its manifests' starts and its
    spooled events' times; None when nothing says."""
    found = [e["t"] for e in spool.peek(sid) if isinstance(e.get("t"), (int, float))]
    for tip in tips:
        try:
            tree = store.session(sid, tip)
        except GitOtError:
            continue
        start = times.parse_iso(tree.record("manifest").get("start")) if tree is not None else None
        if start is not None:
            found.append(start)
    return min(found) if found else None


def select(store: Store, since: str | None = None, before: str | None = None,
           now: float | None = None) -> list[str]:
    """The sessions of this repository (sealed, fetched or only spooled) whose
    start is at or after `since` and before `before`; all of them without
    either. A session with no known start is chosen only without a bound."""
    now = time.time() if now is None else now
    since_t = times.parse_since(since, now) if since is not None else None
    before_t = times.parse_since(before, now, "--before") if before is not None else None
    spool = Spool(store.location.state_dir)
    held = _held_sessions(store)
    chosen = []
    for sid in sorted(set(held) | set(spool.pending_sessions())):
        if since_t is not None or before_t is not None:
            start = _start(store, spool, sid, held.get(sid, []))
            if start is None or (since_t is not None and start < since_t) or (
                    before_t is not None and start >= before_t):
                continue
        chosen.append(sid)
    return chosen


def forget(store: Store, session_ids: list[str], remote: str | None = None, *, everything: bool = False,
           since: str | None = None, before: str | None = None, dry_run: bool = False,
           now: float | None = None) -> dict:
    """Delete the sessions named (full ids), or those `everything`, `since`
    and `before` select (see `select`), and everything only they reached;
    with `remote`, delete them on that remote too (domain/share.py). With
    `dry_run`, say what would go and change nothing."""
    if remote is not None:
        remote = resolve_remote(store, remote)  # a remote git-ot cannot use fails before anything goes
    if everything or since is not None or before is not None:
        session_ids = select(store, since, before, now)
    location = store.location
    if not dry_run:
        # A session's events still in the inbox go with it, not into a new spool after.
        inbox.drain(location)
    spool = Spool(location.state_dir)
    pending = set(spool.pending_sessions())
    tombstones = approvals.forgotten(location.state_dir)
    already = tombstones.read()
    ids: list[str] = []
    held: dict[str, dict[str, str]] = {}
    for sid in session_ids:
        refs.validate_session_id(sid)
        found = _session_refs(store, sid)
        originals = os.path.exists(state_paths.originals(store.location.state_dir, sid))
        if not found and sid not in pending and not originals and sid not in already:
            near = [s for s in set(store.session_ids()) | pending if s.startswith(sid)]
            raise UnknownSession(
                f"no session '{sid}'",
                hint=(f"forget takes whole session ids: did you mean '{near[0]}'?" if len(near) == 1
                      else "'git ot trace list' shows the sessions of this repository"))
        if sid not in ids:
            ids.append(sid)
            held[sid] = found

    if dry_run or not ids:
        return _preview(store, ids, held, pending, remote, dry_run)

    # What the sessions reach, before anything is deleted.
    starts: set[str] = set()
    for sid in ids:
        starts.update(held[sid].values())
        starts.update(_spool_snapshots(spool, sid))
        try:
            with open(state_paths.originals(store.location.state_dir, sid), encoding="ascii") as fh:
                starts.update(line.strip() for line in fh if line.strip())
        except FileNotFoundError:
            pass
    # Other sessions' unsealed snapshots must survive: their seal reads them.
    keep_starts = [o for s in sorted(pending - set(ids)) for o in _spool_snapshots(spool, s)]

    ran: list[str] = []
    # 1. refs, and their reflogs
    all_refs = {name: tip for sid in ids for name, tip in held[sid].items()}
    if all_refs:
        purge.delete_refs(store.repo, location, all_refs)
    # 2. note lines: the notes are rewritten only if their history holds a line
    drop = notes.of_sessions(set(ids))
    note_lines: dict[str, int] = {}
    rewritten = []
    for ref in _notes_refs(store):
        old = store.ref_target(ref)
        removed = notes.rewrite_without(store, ref, drop, "forget sessions")
        if removed is not None:
            starts.add(old)
            rewritten.append(ref)
            note_lines[ref] = removed
            if store.repo.references.get(ref) is not None:
                purge.expire_reflog(location, ref)
                ran.append("git " + " ".join(purge.expire_reflog_command(ref)))
            else:
                purge.delete_reflog(location, ref)  # no notes left: the ref went
    # 2b. their ratings: rewritten without them, history included, as the notes
    rewritten_entities = []
    old_ratings = ratings.forget(store, ids)
    if old_ratings is not None:
        rewritten_entities.append((refs.entity_ref(ratings.NAMESPACE, ratings.ENTITY), old_ratings))
    # 2c. the dataset rows made from them, history included
    for name, old in datasets.forget(store, ids):
        rewritten_entities.append((refs.entity_ref(datasets.NAMESPACE, name), old))
    for ref, old in rewritten_entities:
        starts.add(old)
        if store.repo.references.get(ref) is None:
            purge.delete_reflog(location, ref)
        elif os.path.exists(os.path.join(location.common_dir, "logs", ref)):  # git fails on none
            purge.expire_reflog(location, ref)
    # 3. the spool and git-ot's local notes about the sessions
    spool_files = {}
    for sid in ids:
        spool_files[sid] = sid in pending
        spool.forget(sid)
        fill = state_paths.transcript_fill(location.state_dir, sid)
        for path in (state_paths.originals(location.state_dir, sid),
                     state_paths.blocked_marker(location.state_dir, sid), fill, fill + ".lock",
                     state_paths.anchors_pending(location.state_dir, sid)):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
    # 3b. no fetch brings them back, and no approval outlives them
    tombstones.add(ids)
    approvals.approvals(location.state_dir).remove(ids)
    # 3c. their text leaves the query index now, not at the next query
    from .query import drop as drop_from_index

    drop_from_index(location.state_dir, ids)
    # 4. the objects nothing else reaches
    candidates = purge.objects_of(location, starts)
    keep = purge.still_reachable(location, candidates) | purge.objects_of(location, keep_starts)
    doomed = candidates - keep
    deleted = 0
    remaining: set[str] = set()
    if doomed:
        _reset_snapshot_indexes(location)
        deleted = purge.delete_loose(location, doomed)
        packed = purge.existing(location, doomed)
        if packed:
            purge.repack_loosening_unreachable(location)
            ran.append("git " + " ".join(purge.REPACK))
            deleted += purge.delete_loose(location, packed)
        if purge.drop_commit_graph(location):
            ran.append("git " + " ".join(purge.COMMIT_GRAPH))
        remaining = purge.existing(location, doomed)
    on_remote = None
    if remote is not None:
        try:
            on_remote = forget_on_remote(store, remote, ids)
        except GitOtError as exc:  # forgotten here all the same: say both
            on_remote = {"remote": remote, "error": exc.message, "hint": exc.hint}
    return {
        "dry_run": False,
        "sessions": [{"session": sid, "refs": sorted(held[sid]), "spool": spool_files[sid]} for sid in ids],
        "remote": on_remote,
        "notes": [{"ref": ref, "lines": note_lines[ref]} for ref in rewritten],
        "objects": {"deleted": len(doomed) - len(remaining), "kept": len(candidates & keep),
                    "remaining": sorted(remaining)},
        "ran": ran,
        "remotes": [] if remote is not None else _remote_advice(store, ids),
    }


def _preview(store: Store, ids: list[str], held: dict, pending: set, remote: str | None, dry_run: bool) -> dict:
    """What forget would delete, deleting nothing (and the answer when nothing
    is selected). Which objects would go is known only by deleting the refs:
    `objects` is null in a dry run."""
    drop = notes.of_sessions(set(ids))
    lines = {ref: notes.would_drop(store, ref, drop) for ref in _notes_refs(store)} if ids else {}
    return {
        "dry_run": dry_run,
        "sessions": [{"session": sid, "refs": sorted(held[sid]), "spool": sid in pending} for sid in ids],
        "remote": {"remote": remote} if remote is not None and ids and dry_run else None,
        "notes": [{"ref": ref, "lines": n} for ref, n in lines.items() if n is not None],
        "objects": None if ids else {"deleted": 0, "kept": 0, "remaining": []},
        "ran": [],
        "remotes": [] if remote is not None or not ids else _remote_advice(store, ids),
    }


def _reset_snapshot_indexes(location) -> None:
    """Drop the private snapshot indexes: they may name objects just deleted.

    The next snapshot starts again from a copy of the user's index, as the
    first snapshot of a worktree does.
    """
    for state in purge.worktree_state_dirs(location):
        index = state_paths.snapshot_index(state)
        for path in (index, state_paths.large_files(state), state_paths.snapshot_tree(state)):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        shutil.rmtree(index + ".lock", ignore_errors=True)


def _remote_advice(store: Store, ids: list[str]) -> list[dict]:
    """Per remote, the command that deletes the sessions there too.

    git-ot cannot know what a remote holds without asking it, so every
    configured remote is named; a host keeps unreachable objects until its
    own garbage collection, and clones that fetched a session keep it.
    """
    return [{"remote": remote, "commands": [f"git ot forget --remote {remote} " + " ".join(ids)]}
            for remote in sorted(r.name for r in store.repo.remotes)]
