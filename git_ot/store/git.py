"""The one way git-ot starts git.

git-ot runs git from inside other programs: git's own hooks, which export
GIT_DIR, GIT_INDEX_FILE (a commit's temporary index) and friends; harness
hooks; the user's shell. A variable that selects a repository, an index or
an object store, inherited by a git that git-ot runs for its own purpose,
would point that git at the wrong place (pre-commit's `git.no_git_env`
makes the same point). So every git process git-ot starts gets an
environment without them, and names what it works on by its working
directory or by options (`--git-dir`); a caller that needs one of them
(the snapshot's private index) sets it explicitly through `environment`.

The only git that keeps the inherited environment is `gitdir.locate`'s
`rev-parse`, which asks exactly which repository git-ot was called for.
"""

from __future__ import annotations

import os
import subprocess

from ..errors import GitCommandError

# Variables that choose the repository, index or object store git works on.
REPOSITORY_VARIABLES = frozenset({
    "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_COMMON_DIR", "GIT_NAMESPACE", "GIT_PREFIX",
    "GIT_INTERNAL_SUPER_PREFIX", "GIT_QUARANTINE_PATH",
})


def environment(base: dict | None = None, **overrides: str) -> dict:
    """`base` (default: this process's environment) without the repository
    variables, with `overrides` set on top."""
    env = {k: v for k, v in (os.environ if base is None else base).items()
           if k not in REPOSITORY_VARIABLES}
    env.update(overrides)
    return env


def process(args: list[str], cwd: str | None = None, input: bytes | None = None,
            env: dict | None = None, stderr=subprocess.PIPE,
            pass_fds: tuple = ()) -> subprocess.CompletedProcess:
    """Run git; the finished process (exit status, stdout, stderr), whatever its status.

    For callers that read a failure as an answer (a path blame cannot
    follow, a revision that is not there) rather than as an error. `env` is
    the whole environment (made by `environment`); by default,
    this process's without the repository variables. `pass_fds`: descriptors
    git inherits (a lock it must hold while it runs)."""
    try:
        return subprocess.run(["git", *args], cwd=cwd, input=input,
                              env=environment() if env is None else env,
                              stdout=subprocess.PIPE, stderr=stderr, pass_fds=pass_fds)
    except FileNotFoundError as exc:
        raise GitCommandError("git is not installed or not on PATH") from exc


def processes(argvs: list[list[str]], cwd: str | None = None) -> list[subprocess.CompletedProcess]:
    """Run several git commands, a few at a time; their processes, in order."""
    if len(argvs) <= 1:
        return [process(a, cwd) for a in argvs]
    from concurrent.futures import ThreadPoolExecutor  # not on the hook path

    with ThreadPoolExecutor(max(2, min(8, os.cpu_count() or 2))) as pool:
        return list(pool.map(lambda argv: process(argv, cwd), argvs))


def run(args: list[str], cwd: str | None = None, input: bytes | None = None,
        env: dict | None = None, pass_fds: tuple = ()) -> bytes:
    """Run git and return its stdout; raise GitCommandError on failure."""
    proc = process(args, cwd=cwd, input=input, env=env, pass_fds=pass_fds)
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        first = err[-1] if err else f"exit status {proc.returncode}"
        raise GitCommandError(f"'git {args[0]}' failed: {first}")
    return proc.stdout


def stream(args: list[str], cwd: str | None = None, env: dict | None = None) -> subprocess.Popen:
    """Start git with its stdout and stderr as pipes, for output read as it comes."""
    try:
        return subprocess.Popen(["git", *args], cwd=cwd, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=environment() if env is None else env)
    except FileNotFoundError as exc:
        raise GitCommandError("git is not installed or not on PATH") from exc


def blob(common_dir: str, oid: str) -> bytes | None:
    """A blob's bytes, read without loading pygit2 (the hook path): from its
    loose object (as `git hash-object -w` leaves it), else by `git cat-file`;
    None when the repository does not have it as a blob."""
    import zlib

    try:
        with open(os.path.join(common_dir, "objects", oid[:2], oid[2:]), "rb") as fh:
            raw = zlib.decompress(fh.read())
        header, _, body = raw.partition(b"\0")
        if header == b"blob %d" % len(body):
            return body
    except (OSError, zlib.error):
        pass
    proc = process(["--git-dir", common_dir, "cat-file", "blob", oid])
    return proc.stdout if proc.returncode == 0 else None
