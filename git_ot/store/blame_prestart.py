"""Start `git blame` before the command line is even parsed.

`git ot blame` is one `git blame --porcelain` plus a look-up per line; the
price of Python's start-up and imports (about 100 ms with click and pygit2)
would come on top of git's own time. So `git_ot/__main__.py` hands the raw
arguments of `git ot blame ...` to `spawn()` first thing, which guesses the
git command they mean and starts it; git then works while Python imports.
The guess is only an optimisation: the blame command builds its git command
from what click parsed, and `take()` hands over the early process only when
that command is exactly the one started (otherwise it is killed and a new one
started). It spawns git with os.posix_spawnp: importing subprocess alone
would cost a few milliseconds before git could start.

A start-up trick, not domain logic: it is one more way the store starts
git, kept apart from store/git.py because it must import nothing (not even
subprocess) before git is running; `__main__.py` starts the process and the
domain's blame (domain/trail/blame.py) takes it over.
"""

from __future__ import annotations

import atexit
import os

_early: tuple | None = None  # (argv, cwd, process)


def operands(args: list[str]) -> list[str] | None:
    """git blame's operands for the arguments `git ot blame` was given after
    its options (`--` kept where it stood), or None for an arrangement git
    blame refuses.

    As git blame (builtin/blame.c): `FILE`, `REV -- FILE` and `-- FILE` name
    their file; `-- FILE REV` is the old order, put in the new one; and
    `A B` is left as it is, for git to decide as it always does: the old
    order `FILE REV` when B names an object, else `REV FILE`.
    """
    if "--" not in args:
        if len(args) == 1:
            return ["--", args[0]]
        return list(args) if len(args) == 2 else None
    at = args.index("--")
    before, after = args[:at], args[at + 1:]
    if len(after) == 1 and len(before) <= 1:
        return [*before, "--", after[0]]
    if len(after) == 2 and not before:
        return [after[1], "--", after[0]]
    return None


def git_argv(ops: list[str], line_ranges=(), moves: int = 0, copies: int = 0,
             whitespace: bool = False) -> list[str]:
    """The git blame command for `git ot blame` with these options and operands()."""
    argv = ["git", "blame", "--porcelain"]
    for spec in line_ranges:
        argv += ["-L", spec]
    return argv + ["-w"] * whitespace + ["-M"] * moves + ["-C"] * copies + ops


def guess(args: list[str]) -> list[str] | None:
    """The git command `git ot blame <args>` will run, or None when unsure."""
    ranges: list[str] = []
    moves = copies = 0
    whitespace = False
    rest: list[str] = []  # the arguments that are not options, `--` kept in its place
    i = 0
    while i < len(args):
        a = args[i]
        i += 1
        if "--" in rest or not a.startswith("-") or a == "-":
            rest.append(a)
        elif a == "--":
            rest.append(a)
        elif a == "-L" and i < len(args):
            ranges.append(args[i])
            i += 1
        elif a.startswith("-L") and len(a) > 2:
            ranges.append(a[2:])
        elif len(a) > 1 and set(a[1:]) <= {"M", "C", "w"}:
            moves += a.count("M")
            copies += a.count("C")
            whitespace = whitespace or "w" in a
        elif a in ("--json", "--porcelain"):
            continue
        else:
            return None  # an option this guess does not know (or --help)
    if rest[:1] in (["commit"], ["pr"]):
        return None  # `blame commit REV`, not a file
    ops = operands(rest)
    return None if ops is None else git_argv(ops, ranges, moves, copies, whitespace)


class Spawned:
    """A child with its stdout and stderr piped: what blame needs of a Popen."""

    def __init__(self, argv: list[str]):
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        actions = [(os.POSIX_SPAWN_DUP2, out_w, 1), (os.POSIX_SPAWN_DUP2, err_w, 2),
                   (os.POSIX_SPAWN_CLOSE, out_r), (os.POSIX_SPAWN_CLOSE, err_r)]
        try:
            self.pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=actions)
        finally:
            os.close(out_w)
            os.close(err_w)
        self.out, self.err = out_r, err_r
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def read_out(self, feed) -> None:
        """Hand stdout to `feed` chunk by chunk, as it arrives, to its end."""
        try:
            while True:
                chunk = os.read(self.out, 1 << 16)
                if not chunk:
                    break
                feed(chunk)
        finally:
            os.close(self.out)
            self.out = None

    def communicate(self) -> tuple[bytes, bytes]:
        # git writes to stderr only when it fails, and then little: reading
        # stdout to its end first cannot fill the stderr pipe.
        out = _read_all(self.out) if self.out is not None else b""
        err = _read_all(self.err)
        if self.returncode is None:
            _, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)
        return out, err

    def kill(self) -> None:
        if self.returncode is None:
            try:
                os.kill(self.pid, 9)
            except ProcessLookupError:
                pass
            for fd in (self.out, self.err):
                try:
                    if fd is not None:
                        os.close(fd)
                except OSError:
                    pass
            os.waitpid(self.pid, 0)
            self.returncode = -9


def _read_all(fd: int) -> bytes:
    chunks = []
    try:
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks)


def spawn(args: list[str]) -> None:
    """Start the git blame `git ot blame <args>` will want, if it can be told."""
    global _early
    argv = guess(args)
    if argv is None:
        return
    try:
        proc = Spawned(argv)
    except OSError:
        return
    _early = (argv, os.getcwd(), proc)
    atexit.register(_discard)


def take(argv: list[str]):
    """The early process if it runs exactly `argv` here, else None."""
    global _early
    early, _early = _early, None
    if early is None:
        return None
    if early[0] == argv and early[1] == os.getcwd():
        return early[2]
    _kill(early[2])
    return None


def discard() -> None:
    """Stop the early process if nothing took it."""
    _discard()


def _discard() -> None:
    global _early
    if _early is not None:
        _kill(_early[2])
        _early = None


def _kill(proc) -> None:
    try:
        proc.kill()
    except Exception:
        pass
