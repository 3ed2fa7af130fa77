"""Long commands show a progress bar on a terminal's standard error, and nothing when piped.

The real `git-ot` runs with standard error on a pseudo-terminal; what it
wrote there is read back. The same command with standard error piped
writes nothing there, and the same standard output.
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time

from support.trail import one_turn, set_up

BASE = 'def greet(name):\n    return "hi " + name\n'
FAREWELL = '\n\ndef farewell(name):\n    return "bye " + name\n'
COMMITS = 30  # past the commands' threshold of 20


def _history(repo) -> None:
    """An agent's session, then COMMITS commits made with no hooks (fast-import: quick)."""
    set_up(repo, hooks=False)
    one_turn(repo, "s-progress", "app.py", BASE + FAREWELL, "add a farewell")
    repo.git("commit", "-q", "-am", "farewell")
    now = int(time.time()) + 1
    parent = repo.git("rev-parse", "HEAD").strip()
    stream = []
    for i in range(COMMITS):
        data = f"line {i}\n" * (i + 1)
        msg = f"log {i}\n"
        stream.append(f"commit refs/heads/main\ncommitter T <t@example.com> {now + i} +0000\n"
                      f"data {len(msg)}\n{msg}" + (f"from {parent}\n" if i == 0 else "")
                      + f"M 100644 inline log.txt\ndata {len(data)}\n{data}\n")
    repo.git("fast-import", "--quiet", input="".join(stream))
    repo.git("reset", "-q", "--hard", "main")


def _on_tty(cwd, *args) -> tuple[bytes, str]:
    """Run git-ot with stderr on a pseudo-terminal: (stdout, what the terminal got)."""
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "git_ot", *args], cwd=cwd,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
        os.close(slave)
        got = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed its end
                break
            if not chunk:
                break
            got += chunk
        out = proc.stdout.read()
        proc.wait(timeout=60)
    finally:
        os.close(master)
    assert proc.returncode == 0, got
    return out, got.decode("utf-8", "replace")


def _piped(cwd, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "git_ot", *args], cwd=cwd,
                          stdin=subprocess.DEVNULL, capture_output=True)


def _check(repo, label: str, *args: str) -> None:
    piped = _piped(repo.path, *args)
    assert piped.returncode == 0, piped.stderr
    assert piped.stderr == b""
    out, tty = _on_tty(repo.path, *args)
    assert out == piped.stdout
    assert label in tty
    final = tty.rsplit(label, 1)[1]
    done = final.split("/")[0].split()[-1]
    assert int(done) >= COMMITS and f"{done}/{done}" in final, tty
    assert "/s" in final, tty


def test_track_shows_a_bar_on_a_terminal_only(repo):
    _history(repo)
    _check(repo, "tracking", "track")


def test_anchor_shows_a_bar_on_a_terminal_only(repo):
    _history(repo)
    _check(repo, "anchoring", "anchor", "--dry-run")


def test_a_quick_run_shows_no_bar(repo):
    set_up(repo, hooks=False)
    out, tty = _on_tty(repo.path, "anchor", "--dry-run")
    assert tty == ""
    assert out == _piped(repo.path, "anchor", "--dry-run").stdout
