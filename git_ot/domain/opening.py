"""Opening a repository for a command: where it is, its store, a snapshot.

Every command of cli/ starts here; what it then works on is the store
(store/repository.py).
"""

from __future__ import annotations

import os
import time

from ..errors import GateBlocked, LockBusy
from ..store import inbox, locks, notices, snapshot, state
from ..store.gitdir import Location, locate
from ..store.repository import Store
from ..store.spool import Spool


# How long a command waits for a seal a hook left running in the background.
BACKGROUND_SEAL_WAIT = 10.0


def open_store(path: str | None = None, seal: bool = False, settle: bool = False) -> Store:
    """The store of the repository at `path` (default: the current one).

    With `seal`, for the commands that read sessions, every session's
    spooled events are sealed first (in a repository with a working tree),
    so that a running session shows every step up to now. This is the one
    place a command seals before it reads; with nothing spooled it costs one
    listing of the spool.

    A reader never fails for want of a seal: a session that cannot be sealed
    now (a read-only state directory, a full disk, a stale lock) is left in
    the spool and named in one warning, and the command reads what is
    already sealed. Spool files that belong to no session are set aside
    (set_aside_strays), and the commits a git hook left for the next run
    are anchored (anchor_left).

    With `settle`, for a command that shows the spool as it is rather than
    sealing it (`scan`), the seals a hook left running in the background
    are waited for first (at most BACKGROUND_SEAL_WAIT seconds each), so
    that a turn that just ended shows sealed, as it will be.
    """
    store = Store(locate(path))
    if seal or settle:
        try:
            inbox.drain(store.location)  # hook payloads not spooled yet (store/inbox.py)
        except Exception as exc:  # read what is spooled and sealed; say what is not
            notices.warn(f"hook events in '{inbox.directory(store.location.state_dir)}' not spooled yet: "
                         f"{_reason(exc)}")
    if settle:
        wait_for_background_seals(store)
    if seal and store.location.worktree is not None:
        spool = Spool(store.location.state_dir)
        set_aside_strays(spool)
        pending = spool.pending_sessions()
        if pending:
            from .sealing import seal as seal_one  # the gate comes with it: only when there is work

            for sid in pending:
                try:
                    seal_one(store, sid)
                except GateBlocked:
                    continue  # its events wait in the spool; 'git ot scan' shows why
                except Exception as exc:  # read what is sealed; say what is not
                    notices.warn(f"session {sid} not sealed, showing what was sealed before: "
                                 f"{_reason(exc)}")
        anchor_left(store)
    return store


def anchor_left(store: Store) -> None:
    """Anchor what git hooks left for the next run: the commits whose hook
    waited in vain for a seal another process ran (which may have ended
    before the hook gave up), the notes the notes ref could not take then,
    and the trail anchors a hook could not write past its wait. A listing
    of three folders when there is nothing."""
    from .trail import session_anchors

    state_dir = store.location.state_dir
    try:
        later = os.listdir(state.anchor_later(state_dir))
    except OSError:
        later = []
    try:
        notes = os.listdir(state.notes_pending(state_dir))
    except OSError:
        notes = []
    kept = session_anchors.sessions_pending(store)
    if not later and not notes and not kept:
        return
    from ..store import notes as notes_store
    from .trail.anchor import Anchorer
    from .trail.githooks import anchor_deferred

    try:
        if later:
            anchor_deferred(store)
        if notes and notes_store.take_pending(state_dir):  # not written with the deferred
            Anchorer(store).write([], "pending notes")
        session_anchors.flush_pending(store)
    except Exception as exc:  # recomputed by the next run; blame needs none of it
        notices.warn(f"commits left for anchoring not anchored yet: {_reason(exc)}")


def set_aside_strays(spool: Spool) -> list[tuple[str, str]]:
    """Move the spool files no session owns into spool-damaged/, one warning
    each saying where they are now (store/spool.py, Spool.set_aside)."""
    try:
        moved = spool.set_aside(spool.strays())
    except OSError as exc:
        notices.warn(f"spool files of no session left in '{spool.dir}': {_reason(exc)}")
        return []
    for name, where in moved:
        notices.warn(f"spool file '{name}' belongs to no session: set aside as '{where}'")
    return moved


def _reason(exc: BaseException) -> str:
    """Why, in one line: the message of a git-ot error, else the exception's own."""
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    lines = text.strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def locate_repository(path: str | None = None) -> Location:
    return locate(path)


def take_snapshot(path: str | None = None) -> str:
    """A snapshot tree of the working tree, as the hooks take it."""
    return snapshot.take(locate(path), snapshot.configured_max_file_size())


def wait_for_background_seals(store: Store) -> None:
    """Wait for the detached seals the hooks started (capture/hook.py): each
    holds its session's lock under seal-attempts/ until its spool is empty."""
    folder = os.path.dirname(state.detached_seal_lock(store.location.state_dir, "x"))
    try:
        names = [n for n in os.listdir(folder) if n.endswith(".detached")]
    except OSError:
        return
    for name in names:
        path = os.path.join(folder, name)
        try:
            fd = os.open(path, os.O_RDWR)  # never created here: a seal that ended removed it
        except OSError:
            continue
        try:
            locks.flock_until(fd, path, time.monotonic() + BACKGROUND_SEAL_WAIT)
        except LockBusy:
            notices.warn(f"session {name[:-len('.detached')]} is still being sealed in the background; "
                         "showing its spool as it is now")
        finally:
            os.close(fd)
