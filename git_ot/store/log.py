"""The failure log hooks write instead of failing the harness or git."""

from __future__ import annotations

import os
import sys
import time

from . import state

MAX_LOG = 1 << 20


def log_path(location) -> str:
    if location is not None:
        return state.log(location.state_dir)
    import tempfile  # only when no repository was found

    return os.path.join(tempfile.gettempdir(), f"git-ot-{os.getuid()}.log")


def log_failure(location, what: str, exc: BaseException) -> str | None:
    """Append a failure with versions and traceback; return the log's path."""
    import traceback

    from .. import __version__

    text = (f"--- {time.strftime('%Y-%m-%dT%H:%M:%S')} git-ot {__version__} "
            f"python {sys.version.split()[0]}: {what}\n"
            + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    for path in (log_path(location), log_path(None)):
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if os.path.exists(path) and os.path.getsize(path) > MAX_LOG:
                os.replace(path, path + ".1")
            with open(path, "a", encoding="utf-8", errors="replace") as fh:
                fh.write(text)
            return path
        except OSError:
            continue
    return None
