"""Every path of git-ot's local state, built here and nowhere else.

git-ot keeps what is local to one clone under the git directory, never in
the working tree (as git-filter-repo keeps `.git/filter-repo/`). Most of it
is shared by the linked worktrees, under the common directory; the snapshot
index is per worktree. None of it is pushed; all of it but the spool and
the lists of approved and forgotten sessions is a cache that git-ot
rebuilds when it is missing (refs/README.md, section 12).

    <common-dir>/opentraces/          root()
        spool/<session>.jsonl ...     events not yet sealed (store/spool.py)
        spool-damaged/<name>          spool files set aside: not a session's, or junk
        log, log.1                    failures of hooks and commands (store/log.py)
        approved, forgotten           session lists (store/approvals.py)
        salt                          the key of the gate's tokens (made by the first seal)
        gate-cache.json               what the gate found in each blob
        gate/blocked/<session>        a session the gate keeps from sealing
        gate/originals/<session>      the blobs a redaction replaced
        windows.json                  the index of write windows (trail)
        written.json                  the lines those windows wrote (trail)
        patch-ids.json                patch ids of anchored commits (trail)
        push.lock, push.log           the background push of a plain git push
        otel.json                     the running OTLP receiver (capture/otel)
        otel/held/<session>.jsonl     telemetry of sessions not known here yet
        notes-pending/<commit>        a note the notes ref could not take yet
        anchor-later/<commit>         a commit whose hook left its anchoring to the next run
        seal-attempts/<session>       hook seals of the session started and not finished
        capsule/                      an opened capsule's records (domain/capsule.py)
        query.sqlite                  the full-text index of `trace query` (store/search.py)
    <git-dir>/opentraces/             worktree_root(): per worktree
        snapshot.index                the snapshots' private index
        snapshot.tree                 the tree written from it last, while it holds just that
        snapshot.lock                 held (flock) while one snapshot is taken
        large-files.json              files over the size limit, by stat data
        watch.json                    the running watcher (capture/watcher.py)
        watch.jsonl                   the changes it recorded: time, snapshot tree
"""

from __future__ import annotations

import os

LOCAL_DIR = "opentraces"
APPROVED = "approved"
FORGOTTEN = "forgotten"


def root(common_dir: str) -> str:
    """The repository's shared state, under the common git directory."""
    return os.path.join(common_dir, LOCAL_DIR)


def worktree_root(git_dir: str) -> str:
    """One worktree's own state, under its git directory."""
    return os.path.join(git_dir, LOCAL_DIR)


def worktree_roots(common_dir: str) -> list[str]:
    """The per-worktree state of the main worktree and of each linked one."""
    dirs = [worktree_root(common_dir)]
    linked = os.path.join(common_dir, "worktrees")
    try:
        names = sorted(os.listdir(linked))
    except FileNotFoundError:
        names = []
    dirs.extend(worktree_root(os.path.join(linked, name)) for name in names)
    return dirs


def spool(state_dir: str) -> str:
    return os.path.join(state_dir, "spool")


def spool_damaged(state_dir: str) -> str:
    return os.path.join(state_dir, "spool-damaged")


def log(state_dir: str) -> str:
    return os.path.join(state_dir, "log")


def session_list(state_dir: str, name: str) -> str:
    """APPROVED or FORGOTTEN."""
    return os.path.join(state_dir, name)


def salt(state_dir: str) -> str:
    return os.path.join(state_dir, "salt")


def gate_cache(state_dir: str) -> str:
    return os.path.join(state_dir, "gate-cache.json")


def blocked_marker(state_dir: str, session_id: str) -> str:
    return os.path.join(state_dir, "gate", "blocked", session_id)


def originals(state_dir: str, session_id: str) -> str:
    return os.path.join(state_dir, "gate", "originals", session_id)


def windows_index(state_dir: str) -> str:
    return os.path.join(state_dir, "windows.json")


def written(state_dir: str) -> str:
    return os.path.join(state_dir, "written.json")


def patch_ids(state_dir: str) -> str:
    return os.path.join(state_dir, "patch-ids.json")


def seal_attempts(state_dir: str, session_id: str) -> str:
    return os.path.join(state_dir, "seal-attempts", session_id)


def anchors_pending(state_dir: str, session_id: str) -> str:
    """A session's trail anchors a git hook could not write in its bounded wait."""
    return os.path.join(state_dir, "anchors-pending", session_id + ".jsonl")


def inbox(state_dir: str) -> str:
    """Hook payloads waiting to be spooled (store/inbox.py)."""
    return os.path.join(state_dir, "inbox")


def transcript_fill(state_dir: str, session_id: str) -> str:
    """What the hooks have read of a session's transcripts (capture/claude_code/fill.py)."""
    return os.path.join(state_dir, "transcript-fill", session_id + ".json")


def detached_seal_lock(state_dir: str, session_id: str) -> str:
    return os.path.join(state_dir, "seal-attempts", session_id + ".detached")


def anchor_later(state_dir: str) -> str:
    return os.path.join(state_dir, "anchor-later")


def notes_pending(state_dir: str) -> str:
    return os.path.join(state_dir, "notes-pending")


def query_index(state_dir: str) -> str:
    """The SQLite FTS5 index `git ot trace query` reads (derived, rebuilt when missing)."""
    return os.path.join(state_dir, "query.sqlite")


def push_lock(state_dir: str) -> str:
    return os.path.join(state_dir, "push.lock")


def push_log(state_dir: str) -> str:
    return os.path.join(state_dir, "push.log")


def capsule(state_dir: str) -> str:
    """Where `git ot capsule open` keeps the records of the capsule it opened."""
    return os.path.join(state_dir, "capsule")


def snapshot_index(worktree_state_dir: str) -> str:
    return os.path.join(worktree_state_dir, "snapshot.index")


def snapshot_tree(worktree_state_dir: str) -> str:
    return os.path.join(worktree_state_dir, "snapshot.tree")


def snapshot_lock(worktree_state_dir: str) -> str:
    return os.path.join(worktree_state_dir, "snapshot.lock")


def large_files(worktree_state_dir: str) -> str:
    return os.path.join(worktree_state_dir, "large-files.json")


def otel_receiver(state_dir: str) -> str:
    """The running receiver's pid, address and ports (`git ot otel serve`)."""
    return os.path.join(state_dir, "otel.json")


def otel_held(state_dir: str) -> str:
    """Telemetry of sessions this repository does not know yet, held unsealed."""
    return os.path.join(state_dir, "otel", "held")


def watcher(worktree_state_dir: str) -> str:
    """The running watcher's pid and working tree (`git ot watch`)."""
    return os.path.join(worktree_state_dir, "watch.json")


def watch_journal(worktree_state_dir: str) -> str:
    """The changes the watcher recorded, one JSON object a line."""
    return os.path.join(worktree_state_dir, "watch.jsonl")
