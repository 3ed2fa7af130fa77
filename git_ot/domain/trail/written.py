"""The lines agent windows wrote into each path: how a put-back line is told.

A line that changed outside every window, in a file agent windows wrote,
may have been put back rather than typed (a `git stash pop`, an editor's
undo): it is when its text is one a window introduced into the path, a line
that window's after-state holds once and its before-state not at all
(attribution.py, `_put_back`). Telling that reads two states of every window
on the path, so the answer is kept in a local, derived file,
`<common-dir>/opentraces/written.json`: per path, the windows already read
and a short hash of each line they introduced. A hook run then reads only
the windows that came since; a window that went (a forgotten session) makes
the path's entry be read again from its windows. Hashes, not lines: the
file holds no text of the repository. Deleting it costs one read of every
window's states, once.
"""

from __future__ import annotations

import hashlib
import json

from ...store import state
from ...store.files import replace_file
from . import lines as L

CACHE_VERSION = 1


def line_hash(text: bytes) -> str:
    return hashlib.blake2b(text, digest_size=8).hexdigest()


def introduced(after: bytes, before: bytes) -> set[str]:
    """The hashes of the lines `after` holds once and `before` not at all."""
    seen: dict[bytes, int] = {}
    for x in L.split(after):
        seen[x] = seen.get(x, 0) + 1
    earlier = set(L.split(before))
    return {line_hash(x) for x, n in seen.items() if n == 1 and x not in earlier}


class Written:
    """path -> the hashes of the lines its windows introduced, kept up to date."""

    def __init__(self, state_dir: str):
        self.path = state.written(state_dir)
        self._paths: dict | None = None

    def _load(self) -> dict:
        if self._paths is None:
            try:
                with open(self.path, encoding="utf-8") as fh:
                    data = json.load(fh)
                self._paths = data["paths"] if data.get("v") == CACHE_VERSION else {}
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                self._paths = {}
        return self._paths

    def lines(self, path: str, windows: dict, read) -> set[str]:
        """The hashes for `path`, given its windows (key -> window) and
        `read(window)`, which returns the window's (after, before) states of
        the path, or None when it has none to read (a large file)."""
        paths = self._load()
        entry = paths.get(path)
        if entry is None or not set(entry["windows"]) <= windows.keys():
            entry = {"windows": [], "lines": []}
        done = set(entry["windows"])
        new = [k for k in windows if k not in done]
        if not new:
            return set(entry["lines"])
        hashes = set(entry["lines"])
        for key in new:
            states = read(windows[key])
            if states is not None:
                hashes |= introduced(*states)
        paths[path] = {"windows": sorted(done | set(new)), "lines": sorted(hashes)}
        try:
            replace_file(self.path, json.dumps({"v": CACHE_VERSION, "paths": paths},
                                               separators=(",", ":")).encode())
        except OSError:
            pass  # a cache: the next run reads those windows again
        return hashes
