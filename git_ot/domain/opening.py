"""Opening a repository for a command: where it is, its store, a snapshot.

Every command of cli/ starts here; what it then works on is the store
(store/repository.py).
"""

from __future__ import annotations

from ..store import snapshot
from ..store.gitdir import Location, locate
from ..store.repository import Store


def open_store(path: str | None = None) -> Store:
    return Store(locate(path))


def locate_repository(path: str | None = None) -> Location:
    return locate(path)


def take_snapshot(path: str | None = None) -> str:
    """A snapshot tree of the working tree, as the hooks take it."""
    return snapshot.take(locate(path), snapshot.configured_max_file_size())
