"""`git ot fsck`: every damaged session, spool file and note, and the way out.

Readers of many sessions step around damage with a warning (domain/sessions.py,
domain/opening.py, trail/blame.py); this reads everything once, changes
nothing, and says for each thing it finds how to repair it or forget it.
"""

from __future__ import annotations

import os

from ..errors import GitOtError
from ..store import entities
from ..store import notes as notes_store
from ..store import records, refs
from ..store.repository import Store
from ..store.spool import Spool


def fsck(store: Store) -> dict:
    """{"problems": [{"kind", "name", "problem", "repair"}], "checked": {...}}.

    `kind` is `session` (a ref at a missing object or at no commit, a record
    that does not decode or has the wrong shape), `spool` (a file of no
    session, or a session's file with lines that are no event), `set-aside`
    (a file in spool-damaged/ waiting for a person) or `note` (a note that is
    not valid JSON Lines) or `entity` (a dataset's rows or the ratings,
    `refs/opentraces/<namespace>/<name>`, whose ref is at no commit or whose
    record does not decode or has the wrong envelope).
    """
    problems: list[dict] = []
    sessions = store.session_ids()
    for sid in sessions:
        wrong = session_problem(store, sid)
        if wrong:
            problems.append({
                "kind": "session", "name": sid, "problem": wrong,
                "repair": f"'git ot fetch' brings it back from a remote that has it; "
                          f"'git ot forget {sid}' deletes it for good"})
    spool = Spool(store.location.state_dir)
    spool_files = spool.names()
    for name in spool.strays():
        problems.append({
            "kind": "spool", "name": os.path.join(spool.dir, name),
            "problem": "belongs to no session (its name is no session id)",
            "repair": f"any 'git ot trace list' moves it into '{spool.damaged_dir}'; "
                      f"delete it there once nothing in it is needed"})
    for sid in spool.pending_sessions():
        events = spool.peek(sid)
        corrupt = sum(1 for e in events if "corrupt" in e)
        if not corrupt:
            continue
        if corrupt == len(events) and store.tip(sid) is None:
            problems.append({
                "kind": "spool", "name": sid, "problem": "its spool files hold no event",
                "repair": f"the next seal ('git ot trace list') moves them into "
                          f"'{spool.damaged_dir}' and makes no session of them"})
        else:
            problems.append({
                "kind": "spool", "name": sid,
                "problem": f"{corrupt} torn or corrupt line{'s' if corrupt != 1 else ''} in its spool",
                "repair": "the next seal ('git ot trace list') keeps each as a corrupt record of "
                          f"the session; 'git ot forget {sid}' deletes the session for good"})
    try:
        aside = sorted(os.listdir(spool.damaged_dir))
    except OSError:
        aside = []
    for name in aside:
        problems.append({
            "kind": "set-aside", "name": os.path.join(spool.damaged_dir, name),
            "problem": "a spool file git-ot could not use, set aside",
            "repair": "read it, then delete it; nothing of git-ot reads it"})
    notes = notes_store.Notes(store)
    try:
        annotated = notes.annotated()
    except (GitOtError, KeyError, ValueError) as exc:
        annotated = []
        problems.append({"kind": "note", "name": notes.ref, "problem": _message(exc),
                         "repair": "'git ot fetch' merges a remote's notes; 'git ot anchor' writes "
                                   "the notes of HEAD's commits again"})
    for commit in annotated:
        lines = notes.read_lines(commit)
        if isinstance(lines, notes_store.DamagedNote):
            problems.append({
                "kind": "note", "name": commit,
                "problem": f"its note is not valid JSON Lines ({lines.problem}); its lines read as unknown",
                "repair": f"'git ot anchor {commit[:12]}^!' writes it again from the sessions"})
    checked_entities = 0
    for namespace in sorted(set(records.VERSIONS) - set(records.FILENAMES)):
        for name in entities.names(store, namespace):
            checked_entities += 1
            wrong = entity_problem(store, namespace, name)
            if wrong:
                problems.append({
                    "kind": "entity", "name": refs.entity_ref(namespace, name), "problem": wrong,
                    "repair": "'git ot fetch' merges a remote's copy where it is shared; else "
                              f"'git update-ref -d {refs.entity_ref(namespace, name)}' drops it "
                              "(a dataset's rows are made again by 'git ot dataset run')"})
    return {"problems": problems,
            "checked": {"sessions": len(sessions), "spool_files": len(spool_files),
                        "notes": len(annotated), "entities": checked_entities}}


def entity_problem(store: Store, namespace: str, name: str) -> str | None:
    """What is wrong with an entity's tip, or None: its commit, and every
    record in it decoded with the namespace's envelope."""
    try:
        entity = entities.read(store, namespace, name)
        if entity is not None:
            entity.records()
    except (GitOtError, KeyError, TypeError, ValueError, AttributeError) as exc:
        return _message(exc)
    return None


def session_problem(store: Store, session_id: str) -> str | None:
    """What is wrong with a stored session, or None: its ref's commit and
    tree, and every record of it decoded and of the right shape."""
    try:
        tree = store.session(session_id)
        if tree is None:
            return None
        for kind in records.FILENAMES:
            tree.record(kind)
        tree.snapshots()
    except (GitOtError, KeyError, TypeError, ValueError, AttributeError) as exc:
        return _message(exc)
    return None


def _message(exc: Exception) -> str:
    text = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
    return text.splitlines()[0] if text else type(exc).__name__
