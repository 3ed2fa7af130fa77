"""The one registry of harnesses: name -> the package that implements it.

A harness is registered here and nowhere else; `git ot hook`, `install`,
`uninstall` and `import` all find it through `find` or `get`. Each entry
names a package under capture/ whose `HARNESS` implements
capture/harness.py's `Harness`; the package is imported only when its
harness is asked for, so the hook path of one harness loads no other.
"""

from __future__ import annotations

import sys

from ..errors import UnsupportedHarness

REGISTERED = {
    "claude-code": "git_ot.capture.claude_code",
    "codex": "git_ot.capture.codex",
    "pi": "git_ot.capture.pi",
}


def names() -> tuple[str, ...]:
    """Every registered harness, in the order they are listed."""
    return tuple(REGISTERED)


def find(name: str | None):
    """The harness called `name`, or None when there is none."""
    module = REGISTERED.get(name) if isinstance(name, str) else None
    if not module:
        return None
    __import__(module)  # not importlib's import_module: importlib and warnings cost a hook 1 ms
    return sys.modules[module].HARNESS


def get(name: str, command: str, what: str):
    """The harness called `name`; else UnsupportedHarness: "cannot <what> '<name>'",
    with a hint listing what `git ot <command>` supports."""
    harness = find(name)
    if harness is None:
        raise UnsupportedHarness(f"cannot {what} '{name}'",
                                 hint=f"'git ot {command}' supports: " + ", ".join(names()))
    return harness


def scopes() -> tuple[str, ...]:
    """Every install scope of any harness, for the command line's choices."""
    out: dict[str, None] = {}
    for name in REGISTERED:
        out.update(dict.fromkeys(find(name).scopes))
    return tuple(out)
