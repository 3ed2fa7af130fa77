"""Set git-ot up in a repository and take it away again.

Hooks are installed from one template (githooks/hook.tmpl) into the
directory git itself resolves for hooks (`git rev-parse --git-path hooks`,
which honours core.hooksPath and linked worktrees). A hook that was there
before is kept as `<hook>.pre-git-ot` and called first by ours, so
installing is safe to repeat and uninstalling restores exactly what was
there.
"""

from __future__ import annotations

import os
import stat
import sys
from importlib import resources

from .. import PYTHON_ARGS_SH
from ..errors import HookInstallError
from ..store.git import run as run_git
from ..store import state
from ..store.gitdir import Location
from ..store.repository import Store
from . import prepush
from .sealing import seal_pending

HOOKS = ("post-commit", "post-rewrite", "post-merge", "post-applypatch")
# Installed only where plain pushes carry the bucket (`git ot remote set
# --plain-git`): every other repository's pushes run no hook of git-ot's.
PUSH_HOOK = "pre-push"
MARKER = "git-ot-hook-marker:"
LEGACY_SUFFIX = ".pre-git-ot"


def hooks_dir(location: Location) -> str:
    out = run_git(["rev-parse", "--path-format=absolute", "--git-path", "hooks"],
                  cwd=location.worktree or location.git_dir)
    return out.decode("utf-8", "surrogateescape").strip()


def _template() -> str:
    try:
        return resources.files("git_ot.githooks").joinpath("hook.tmpl").read_text()
    except ModuleNotFoundError:
        # Running from a source checkout, where githooks/ sits beside git_ot/.
        here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        with open(os.path.join(here, "githooks", "hook.tmpl"), encoding="utf-8") as fh:
            return fh.read()


def render(hook: str) -> str:
    template = _template()
    python = sys.executable.replace("'", "'\\''")
    return template.replace("@HOOK@", hook).replace("@PYTHON@", python).replace("@PYTHON_ARGS@", PYTHON_ARGS_SH)


def is_ours(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return MARKER.encode() in fh.read(4096)
    except OSError:
        return False


def init(location: Location) -> dict:
    """Install the git hooks; returns what was done, per hook."""
    location.require_worktree("git ot init")
    directory = _make_hooks_dir(location)
    try:
        os.makedirs(location.state_dir, exist_ok=True)
        os.makedirs(state.inbox(location.state_dir), exist_ok=True)  # the harness hooks' sh writes there
    except OSError as exc:
        raise HookInstallError(f"cannot create '{exc.filename}': {exc.strerror}") from None
    hooks = HOOKS + ((PUSH_HOOK,) if prepush.enabled(location) else ())
    return {"hooks_dir": directory, "hooks": {hook: _install(directory, hook) for hook in hooks}}


def set_push_hook(location: Location, on: bool) -> str:
    """Install or remove the pre-push hook alone, as `git ot remote set
    --plain-git` / `--no-plain-git` asks: only a repository that wants its
    plain pushes to carry the bucket pays for a hook on every push."""
    if on:
        return _install(_make_hooks_dir(location), PUSH_HOOK)
    return _remove(hooks_dir(location), PUSH_HOOK)


def uninstall(location: Location) -> dict:
    """Remove git-ot's hooks, restore chained ones, seal what is spooled."""
    directory = hooks_dir(location)
    result = {"hooks_dir": directory, "hooks": {}, "sealed": []}
    if location.worktree is not None:
        result["sealed"] = seal_pending(Store(location))
    for hook in HOOKS + (PUSH_HOOK,):
        action = _remove(directory, hook)
        if hook != PUSH_HOOK or action != "absent":
            result["hooks"][hook] = action
    return result


def _make_hooks_dir(location: Location) -> str:
    directory = hooks_dir(location)
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        raise HookInstallError(f"cannot create '{exc.filename}': {exc.strerror}") from None
    return directory


def _install(directory: str, hook: str) -> str:
    """Install one hook, chaining one that was there: what was done."""
    path = os.path.join(directory, hook)
    legacy = path + LEGACY_SUFFIX
    action = "installed"
    if os.path.lexists(path) and not is_ours(path):
        if os.path.lexists(legacy):
            raise HookInstallError(
                f"both '{path}' and '{legacy}' exist",
                hint=f"merge them by hand, or remove '{legacy}', then run 'git ot init' again",
            )
        _rename(path, legacy)
        action = "chained"
    elif os.path.lexists(path):
        action = "updated" if _read(path) != render(hook) else "unchanged"
    if action != "unchanged":
        _write_hook(path, render(hook))
    return action


def _remove(directory: str, hook: str) -> str:
    """Remove one of git-ot's hooks, restoring the one it chained: what was done."""
    path = os.path.join(directory, hook)
    legacy = path + LEGACY_SUFFIX
    if os.path.lexists(path) and not is_ours(path):
        return "not ours, left in place"
    action = "absent"
    try:
        if os.path.lexists(path):
            os.unlink(path)
            action = "removed"
        if os.path.lexists(legacy):
            os.rename(legacy, path)
            action = "restored"
    except OSError as exc:
        raise HookInstallError(f"cannot remove '{exc.filename}': {exc.strerror}") from None
    return action


def _read(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace") as fh:
        return fh.read()


def _rename(src: str, dst: str) -> None:
    try:
        os.rename(src, dst)
    except OSError as exc:
        raise HookInstallError(f"cannot move '{src}' aside: {exc.strerror}") from None


def _write_hook(path: str, text: str) -> None:
    tmp = path + ".git-ot-tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
        mode = os.stat(tmp).st_mode
        os.chmod(tmp, mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        os.replace(tmp, path)
    except OSError as exc:
        raise HookInstallError(f"cannot write '{path}': {exc.strerror}") from None
