"""The file a long-running process keeps while it runs (the OTLP receiver's
otel.json, the watcher's watch.json): what it serves and its pid, so that
`git ot status` can say whether it runs and a second one is refused.

Written whole through a temporary file and a rename, removed by the process
that wrote it (never another's); a file whose process is gone counts as
none.
"""

from __future__ import annotations

import json
import os


def write(path: str, info: dict) -> None:
    """Keep `info` (with this process's `pid`) at `path`, replaced whole."""
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(info, fh)
        fh.write("\n")
    os.replace(tmp, path)


def remove(path: str) -> None:
    """Remove the file at `path` if this process wrote it."""
    try:
        with open(path, encoding="utf-8") as fh:
            if json.load(fh).get("pid") != os.getpid():
                return
        os.unlink(path)
    except (OSError, ValueError):
        pass


def running(path: str) -> dict | None:
    """The info kept at `path` while its process lives, else None (no file,
    an unreadable one, or its process is gone)."""
    try:
        with open(path, encoding="utf-8") as fh:
            info = json.load(fh)
        os.kill(int(info["pid"]), 0)
    except PermissionError:
        return info  # alive, and another user's
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return info
