"""Paths: the home directory in stored paths (`[HOME]`), and a session's
paths mapped into this repository.

The security gate's transformer (gate/transform.py) writes the home
directory of a path as `[HOME]`, so a session's records name no user; the
trail (trail/windows.py) maps the token back to this machine's home to
find the files a session wrote. Both use this module, so the trail does
not depend on the gate.
"""

from __future__ import annotations

import os
from typing import Callable

HOME_TOKEN = "[HOME]"


def current_home() -> str | None:
    """The home directory of the user running git-ot ($HOME, else the password database)."""
    home = os.environ.get("HOME")
    if not home:
        try:
            import pwd

            home = pwd.getpwuid(os.getuid()).pw_dir
        except (ImportError, KeyError):
            return None
    return home if os.path.isabs(home) else None


def untoken(path: str | None) -> str | None:
    """A path stored with the home directory as `[HOME]`, as it is on this machine."""
    if isinstance(path, str) and (path == HOME_TOKEN or path.startswith(HOME_TOKEN + "/")):
        home = current_home()
        if home:
            return home.rstrip("/") + path[len(HOME_TOKEN):]
    return path


def relpath_mapper(worktree: str, cwd: str | None) -> Callable[[str], str | None]:
    """Maps absolute paths of a session to paths in this repository.

    A path inside this working tree maps to its place in it. A session run in
    another checkout of the project (another machine, another clone) has
    paths under its own `cwd`, the project's root there; they map by their
    tail below it. When that `cwd` ends in a folder this checkout also has,
    under a folder named like this checkout's, the tail starts there.
    """
    root = os.path.normpath(worktree)
    other = None
    if cwd and os.path.isabs(cwd):
        c = os.path.normpath(cwd)
        if c != root and not c.startswith(root + os.sep):
            parts = c.strip(os.sep).split(os.sep)
            prefix = ""
            for k in range(len(parts) - 1, 0, -1):
                if parts[-k - 1] == os.path.basename(root) and os.path.isdir(os.path.join(root, *parts[-k:])):
                    prefix = "/".join(parts[-k:])
                    break
            other = (c, prefix)

    def mapper(path: str) -> str | None:
        if not isinstance(path, str) or not os.path.isabs(path):
            return None
        p = os.path.normpath(path)
        if p.startswith(root + os.sep):
            return p[len(root) + 1:].replace(os.sep, "/")
        if other and p.startswith(other[0] + os.sep):
            tail = p[len(other[0]) + 1:].replace(os.sep, "/")
            return f"{other[1]}/{tail}" if other[1] else tail
        return None

    return mapper
