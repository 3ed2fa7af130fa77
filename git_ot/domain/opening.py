"""Opening a repository for a command: where it is, its store, a snapshot.

Every command of cli/ starts here; what it then works on is the store
(store/repository.py).
"""

from __future__ import annotations

from ..errors import GateBlocked
from ..store import notices, snapshot
from ..store.gitdir import Location, locate
from ..store.repository import Store
from ..store.spool import Spool


def open_store(path: str | None = None, seal: bool = False) -> Store:
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
    (set_aside_strays).
    """
    store = Store(locate(path))
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
    return store


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
