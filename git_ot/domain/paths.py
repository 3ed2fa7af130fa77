"""The home directory in stored paths: `[HOME]`.

The security gate's transformer (gate/transform.py) writes the home
directory of a path as `[HOME]`, so a session's records name no user; the
trail (trail/windows.py) maps the token back to this machine's home to
find the files a session wrote. Both use this module, so the trail does
not depend on the gate.
"""

from __future__ import annotations

import os

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
