"""`git ot version`: the versions of git-ot and of what it runs with.

git-ot's own, git's, Python's, and those of the coding agents' command-line
programs found on PATH, each asked with `<program> --version`. Asking never
fails: a program that is missing, fails, or takes longer than
HARNESS_TIMEOUT seconds has no version (None), and the report says which.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys

from .. import __version__
from ..errors import GitCommandError
from ..store import git

# The harnesses' programs, by harness name, in the order they are reported
# (codex is listed though git-ot does not capture it yet: a report names
# what is installed beside it).
HARNESS_PROGRAMS = {
    "claude-code": "claude",
    "codex": "codex",
    "pi": "pi",
}
HARNESS_TIMEOUT = 5.0

# The first dotted number in what `--version` prints: "2.1.328 (Claude Code)",
# "codex-cli 0.46.0", "git version 2.43.0".
_VERSION = re.compile(r"\d+(?:\.\d+)+(?:[-+][0-9A-Za-z.+-]*[0-9A-Za-z])?")


def parse_version(text: str) -> str | None:
    """The version in a program's `--version` output, or its first line, or None."""
    m = _VERSION.search(text)
    if m:
        return m.group()
    first = text.strip().splitlines()[0].strip() if text.strip() else ""
    return first or None


def versions() -> dict:
    """`{"git-ot", "git", "python", "harnesses": {name: version or None}}`.

    Also `"found"`: for each harness, the program's path, or None when it is
    not on PATH (a program found whose version could not be read has a path
    and no version).
    """
    found = {name: shutil.which(program) for name, program in HARNESS_PROGRAMS.items()}
    return {
        "git-ot": __version__,
        "git": git_version(),
        "python": "%d.%d.%d" % sys.version_info[:3],
        "harnesses": {name: program_version(path) if path else None for name, path in found.items()},
        "found": found,
    }


def git_version() -> str | None:
    try:
        proc = git.process(["--version"])
    except GitCommandError:
        return None
    if proc.returncode != 0:
        return None
    return parse_version(proc.stdout.decode("utf-8", "replace"))


def program_version(path: str, timeout: float | None = None) -> str | None:
    """What `<path> --version` says its version is; None if it fails or hangs.

    The program runs in a process group of its own, so a timeout kills
    whatever it started too, and its output pipe is not held open after.
    """
    try:
        proc = subprocess.Popen([path, "--version"], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                start_new_session=True)
    except OSError:
        return None
    try:
        out, _ = proc.communicate(timeout=HARNESS_TIMEOUT if timeout is None else timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        proc.communicate()
        return None
    if proc.returncode != 0:
        return None
    return parse_version(out.decode("utf-8", "replace"))
