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

git is started with posix_spawn(3), not the subprocess module: the hook
path runs git two or three times per call, and importing subprocess (with
the threading, selectors, signal and enum it brings) cost a hook process
more than those runs' own start. `spawn` is what subprocess.run does for
these calls: the program looked up on the PATH the child gets, stdin from
/dev/null or the input, stdout (and stderr) read through pipes while the
input is written, SIGPIPE and SIGXFSZ back to their defaults, the working
directory as `git -C`. Descriptors the caller made inheritable (a lock git
must hold while it runs) are the ones git inherits.
"""

from __future__ import annotations

import os

from ..errors import GitCommandError

# What `process` does with git's stderr (subprocess's values, so callers may
# pass subprocess.PIPE or subprocess.DEVNULL too).
PIPE = -1
DEVNULL = -3
_CHUNK = 1 << 16
_HEX = frozenset("0123456789abcdef")


def is_object_id(text) -> bool:
    """Whether `text` is a whole object id as git prints it: 40 (SHA-1) or
    64 (SHA-256) lower-case hex digits."""
    return isinstance(text, str) and len(text) in (40, 64) and _HEX.issuperset(text)


class Finished:
    """A process that ran to its end: subprocess.CompletedProcess's fields."""

    __slots__ = ("args", "returncode", "stdout", "stderr")

    def __init__(self, args, returncode: int, stdout: bytes, stderr: bytes | None):
        self.args, self.returncode, self.stdout, self.stderr = args, returncode, stdout, stderr


def _program(name: str, env) -> str:
    """`name` looked up on the PATH of `env` (as subprocess does), else FileNotFoundError."""
    if os.sep in name:
        return name
    # os.get_exec_path's answer, without the warnings module it imports
    for folder in (env.get("PATH") or os.defpath).split(os.pathsep):
        path = os.path.join(folder, name)
        if os.access(path, os.X_OK) and not os.path.isdir(path):
            return path
    raise FileNotFoundError(2, "No such file or directory", name)


def spawn(argv: list[str], input: bytes | None = None, env=None, stderr: int | None = PIPE) -> Finished:
    """Run `argv` to its end (see the module's doc); stderr PIPE (read),
    DEVNULL, or None (this process's)."""
    import _signal
    import select

    env = os.environ if env is None else env
    program = _program(argv[0], env)
    stdin_w = out_r = err_r = None
    ends: list[int] = []  # the child's ends of the pipes, closed here once it started
    actions: list[tuple] = []
    try:
        if input is None:
            actions.append((os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0))
        else:
            r, stdin_w = os.pipe()
            ends.append(r)
            actions.append((os.POSIX_SPAWN_DUP2, r, 0))
        out_r, w = os.pipe()
        ends.append(w)
        actions.append((os.POSIX_SPAWN_DUP2, w, 1))
        if stderr == PIPE:
            err_r, w = os.pipe()
            ends.append(w)
            actions.append((os.POSIX_SPAWN_DUP2, w, 2))
        elif stderr == DEVNULL:
            actions.append((os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0))
        pid = os.posix_spawn(program, argv, env, file_actions=actions,
                             setsigdef=(_signal.SIGPIPE, _signal.SIGXFSZ))
    except BaseException:
        for fd in [*ends, stdin_w, out_r, err_r]:
            if fd is not None:
                os.close(fd)
        raise
    for fd in ends:
        os.close(fd)
    read = {fd: [] for fd in (out_r, err_r) if fd is not None}
    poller = select.poll()
    for fd in read:
        poller.register(fd, select.POLLIN)
    left = memoryview(input or b"")
    if stdin_w is not None:
        if left:
            os.set_blocking(stdin_w, False)
            poller.register(stdin_w, select.POLLOUT)
        else:
            os.close(stdin_w)
            stdin_w = None
    try:
        waiting = len(read) + (stdin_w is not None)
        while waiting:
            for fd, _ in poller.poll():
                if fd == stdin_w:
                    try:
                        left = left[os.write(fd, left[:_CHUNK]):]
                    except BlockingIOError:
                        continue
                    except BrokenPipeError:
                        left = left[:0]  # git stopped reading: what it says tells why
                    if not left:
                        poller.unregister(fd)
                        os.close(fd)
                        stdin_w = None
                        waiting -= 1
                    continue
                data = os.read(fd, _CHUNK)
                if data:
                    read[fd].append(data)
                else:
                    poller.unregister(fd)
                    waiting -= 1
    finally:
        for fd in [stdin_w, *read]:
            if fd is not None:
                os.close(fd)
        _, status = os.waitpid(pid, 0)
    return Finished(argv, os.waitstatus_to_exitcode(status), b"".join(read[out_r]),
                    b"".join(read[err_r]) if err_r is not None else None)


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
            env: dict | None = None, stderr: int | None = PIPE, pass_fds: tuple = ()) -> Finished:
    """Run git; the finished process (exit status, stdout, stderr), whatever its status.

    For callers that read a failure as an answer (a path blame cannot
    follow, a revision that is not there) rather than as an error. `env` is
    the whole environment (made by `environment`); by default,
    this process's without the repository variables. `pass_fds`: descriptors
    git inherits (a lock it must hold while it runs), made inheritable."""
    for fd in pass_fds:
        os.set_inheritable(fd, True)
    argv = ["git", "-C", cwd, *args] if cwd is not None else ["git", *args]
    try:
        return spawn(argv, input=input, env=environment() if env is None else env, stderr=stderr)
    except FileNotFoundError as exc:
        raise GitCommandError("git is not installed or not on PATH") from exc


def processes(argvs: list[list[str]], cwd: str | None = None) -> list[Finished]:
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


def stream(args: list[str], cwd: str | None = None, env: dict | None = None):
    """Start git with its stdout and stderr as pipes, for output read as it comes
    (a subprocess.Popen)."""
    import subprocess  # not on the hook path

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
