"""Locate a repository and git-ot's local state without importing pygit2.

The hook fast path runs here, so this module uses one `git rev-parse` call
(which knows GIT_DIR, gitfiles, linked worktrees and core.hooksPath better
than any re-implementation), started by store/git.py's `spawn` with the
environment git-ot inherited, and nothing heavier.
"""

from __future__ import annotations

import os

from ..errors import BareRepository, GitCommandError, NotARepository
from . import state
from .git import spawn

class Location:
    """Where a repository lives on disk.

    A plain class, not a dataclass: the dataclasses module costs the hook
    path about 5 ms of imports.
    """

    __slots__ = ("git_dir", "common_dir", "worktree")

    def __init__(self, git_dir: str, common_dir: str, worktree: str | None):
        self.git_dir = git_dir  # this worktree's git directory
        self.common_dir = common_dir  # shared by all worktrees: refs, objects, the spool
        self.worktree = worktree  # None for a bare repository

    def __repr__(self) -> str:
        return f"Location({self.git_dir!r}, {self.common_dir!r}, {self.worktree!r})"

    @property
    def state_dir(self) -> str:
        """git-ot's shared local state (spool, logs), under the common dir."""
        return state.root(self.common_dir)

    @property
    def worktree_state_dir(self) -> str:
        """git-ot's per-worktree state (the snapshot index)."""
        return state.worktree_root(self.git_dir)

    def require_worktree(self, what: str) -> str:
        if self.worktree is None:
            raise BareRepository(
                f"'{what}' needs a working tree and this repository is bare",
                hint="run it in a clone with a working tree",
            )
        return self.worktree


def locate(path: str | None = None) -> Location:
    """Find the repository containing `path` (default: the current directory).

    The one git that runs with the environment git-ot inherited (store/git.py):
    GIT_DIR and GIT_WORK_TREE, when a caller set them, say which repository
    that is."""
    cwd = path or os.getcwd()
    if not os.path.isdir(cwd):
        raise NotARepository(f"not a directory: '{cwd}'")
    try:
        proc = spawn(["git", "-C", cwd, "rev-parse", "--path-format=absolute", "--git-dir",
                      "--git-common-dir", "--is-bare-repository", "--show-toplevel"])
    except FileNotFoundError as exc:
        raise GitCommandError("git is not installed or not on PATH") from exc
    lines = proc.stdout.decode("utf-8", "surrogateescape").splitlines()
    if proc.returncode != 0 and len(lines) < 3:
        raise NotARepository(
            "not a git repository (or any of the parent directories)",
            hint="run git-ot inside a git repository, or 'git init' one first",
        )
    git_dir, common_dir, bare = lines[0], lines[1], lines[2]
    worktree = None
    if bare != "true" and len(lines) > 3 and lines[3]:
        worktree = lines[3]
    if bare != "true" and worktree is None:
        # Inside the .git directory itself: there is a working tree, but we
        # are not in it; behave as git does and treat it as having none.
        worktree = None
    return Location(git_dir=git_dir, common_dir=common_dir, worktree=worktree)
