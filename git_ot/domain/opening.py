"""Opening a repository for a command: where it is, its store, a snapshot.

Every command of cli/ starts here; what it then works on is the store
(store/repository.py).
"""

from __future__ import annotations

from ..store import snapshot
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
    """
    store = Store(locate(path))
    if seal and store.location.worktree is not None \
            and Spool(store.location.state_dir).pending_sessions():
        from .sealing import seal_pending  # the gate comes with it: only when there is work

        seal_pending(store)
    return store


def locate_repository(path: str | None = None) -> Location:
    return locate(path)


def take_snapshot(path: str | None = None) -> str:
    """A snapshot tree of the working tree, as the hooks take it."""
    return snapshot.take(locate(path), snapshot.configured_max_file_size())
