"""Locate a repository and git-ot's local state without importing pygit2.

The hook fast path runs here, so this module uses one `git rev-parse` call
(which knows GIT_DIR, gitfiles, linked worktrees and core.hooksPath better
than any re-implementation) and nothing heavier.
"""

from __future__ import annotations

import os
import subprocess

from ..errors import BareRepository, GitCommandError, NotARepository

LOCAL_DIR = "opentraces"


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
        return os.path.join(self.common_dir, LOCAL_DIR)

    @property
    def worktree_state_dir(self) -> str:
        """git-ot's per-worktree state (the snapshot index)."""
        return os.path.join(self.git_dir, LOCAL_DIR)

    def require_worktree(self, what: str) -> str:
        if self.worktree is None:
            raise BareRepository(
                f"'{what}' needs a working tree and this repository is bare",
                hint="run it in a clone with a working tree",
            )
        return self.worktree


def git_process(args: list[str], cwd: str | None = None, input: bytes | None = None,
                env: dict | None = None) -> subprocess.CompletedProcess:
    """Run git; the finished process (exit status, stdout, stderr), whatever its status.

    For callers that read a failure as an answer (a path blame cannot
    follow, a revision that is not there) rather than as an error.
    """
    try:
        return subprocess.run(
            ["git", *args], cwd=cwd, input=input, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
    except FileNotFoundError as exc:
        raise GitCommandError("git is not installed or not on PATH") from exc


def git_processes(argvs: list[list[str]], cwd: str | None = None) -> list[subprocess.CompletedProcess]:
    """Run several git commands, a few at a time; their processes, in order."""
    if len(argvs) <= 1:
        return [git_process(a, cwd) for a in argvs]
    from concurrent.futures import ThreadPoolExecutor  # not on the hook path

    with ThreadPoolExecutor(max(2, min(8, os.cpu_count() or 2))) as pool:
        return list(pool.map(lambda argv: git_process(argv, cwd), argvs))


def run_git(args: list[str], cwd: str | None = None, input: bytes | None = None,
            env: dict | None = None) -> bytes:
    """Run git and return its stdout; raise GitCommandError on failure."""
    proc = git_process(args, cwd=cwd, input=input, env=env)
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        first = err[-1] if err else f"exit status {proc.returncode}"
        raise GitCommandError(f"'git {args[0]}' failed: {first}")
    return proc.stdout


def locate(path: str | None = None) -> Location:
    """Find the repository containing `path` (default: the current directory)."""
    cwd = path or os.getcwd()
    try:
        proc = subprocess.run(
            ["git", "rev-parse", "--path-format=absolute", "--git-dir",
             "--git-common-dir", "--is-bare-repository", "--show-toplevel"],
            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
    except FileNotFoundError as exc:
        raise GitCommandError("git is not installed or not on PATH") from exc
    except NotADirectoryError as exc:
        raise NotARepository(f"not a directory: '{cwd}'") from exc
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
