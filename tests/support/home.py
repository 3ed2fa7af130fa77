"""A guard that records every write the test process makes under the real $HOME.

Each test runs with HOME pointed at a temporary directory, and so do the
git and git-ot processes it starts; what could still reach the real home is
this process itself (a path built before HOME moved, `~` expanded by a
library that read the home from `pwd`). A listing of the home taken before
and after each test also sees every other program on the machine that
touches it, so instead an audit hook (PEP 578) sees what this process asks
of the operating system: opening a file for writing, making, renaming,
removing or re-linking a path, changing its mode or times. A recorder is
active only while a test runs; conftest.py asserts it saw nothing.
"""

from __future__ import annotations

import os
import pwd
import sys
import tempfile

# The events that change a path, and the positions of the paths in their
# arguments (with the position of the dir_fd argument relative paths are
# taken from, if any). `open` is a write only with a writing flag (below).
EVENTS = {
    "open": ((0,), None),
    "os.mkdir": ((0,), 2),
    "os.rename": ((0, 1), 2),
    "os.remove": ((0,), 1),
    "os.rmdir": ((0,), 1),
    "os.symlink": ((1,), 2),
    "os.link": ((0, 1), 2),
    "os.chmod": ((0,), 2),
    "os.chown": ((0,), 3),
    "os.utime": ((0,), 3),
    "os.truncate": ((0,), None),
    "os.chflags": ((0,), None),
    "os.setxattr": ((0,), None),
    "os.removexattr": ((0,), None),
    "shutil.copyfile": ((1,), None),
    "shutil.copytree": ((1,), None),
    "shutil.rmtree": ((0,), 1),
    "shutil.move": ((0, 1), None),
}
WRITING = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


def real_homes() -> list[str]:
    """The real home as the environment and the password database name it."""
    homes = {os.environ.get("HOME", "")}
    try:
        homes.add(pwd.getpwuid(os.getuid()).pw_dir)
    except KeyError:
        pass
    out = set()
    for home in homes:
        if home and home != "/" and os.path.isdir(home):
            out |= {os.path.abspath(home), os.path.realpath(home)}
    return sorted(out)


def _under(path: str, roots) -> bool:
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


class Recorder:
    """The writes under `homes` made while it is active, except under `allowed`.

    `allowed` holds the places a test may write in even when they lie under
    the home: the temporary directory (tmp_path), the source tree and the
    virtualenv (Python writes bytecode caches there on import).
    """

    def __init__(self, homes, allowed=()):
        self.homes = [h for h in homes if h]
        self.allowed = sorted({p for a in allowed if a for p in (os.path.abspath(a), os.path.realpath(a))})
        self.seen: list[tuple[str, str]] = []

    def __enter__(self) -> "Recorder":
        _install()
        _active.append(self)
        return self

    def __exit__(self, *exc) -> None:
        _active.remove(self)

    def event(self, event: str, args: tuple) -> None:
        positions, dir_fd_at = EVENTS[event]
        if event == "open" and not (args[2] & WRITING):
            return
        if dir_fd_at is not None and len(args) > dir_fd_at and args[dir_fd_at] not in (None, -1):
            return  # relative to an open directory: the call that opened it was checked
        for i in positions:
            path = _path(args[i]) if len(args) > i else None
            if path is None or "/__pycache__/" in path:
                continue
            if _under(path, self.homes) and not _under(path, self.allowed):
                self.seen.append((event, path))


def _path(value) -> str | None:
    if isinstance(value, int) or value is None:
        return None  # a file descriptor: opened, and checked, before
    try:
        return os.path.abspath(os.fsdecode(os.fspath(value)))
    except (TypeError, ValueError):
        return None


_active: list[Recorder] = []
_installed = False


def _audit(event: str, args: tuple) -> None:
    if _active and event in EVENTS:
        for recorder in _active:
            recorder.event(event, args)


def _install() -> None:
    """An audit hook cannot be removed: one is installed, and serves every recorder."""
    global _installed
    if not _installed:
        sys.addaudithook(_audit)
        _installed = True


def default_allowed(root) -> list[str]:
    return [tempfile.gettempdir(), str(root), sys.prefix]
