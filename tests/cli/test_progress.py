"""Long commands show a progress bar on a terminal's standard error, and nothing when piped.

The real `git-ot` runs with standard error on a pseudo-terminal; what it
wrote there is read back. The same command with standard error piped
writes nothing there, and the same standard output.
"""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import time

from support.repo import git
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


def test_fetch_shows_a_bar_on_a_terminal_only(tmp_path):
    """Fetching more sessions than fetch's threshold (20): a bar on a
    terminal, nothing piped; the same standard output either way."""
    from support.share import make_clone, ok, record_session

    server = tmp_path / "server.git"
    seed = tmp_path / "seed"
    seed.mkdir()
    git(seed, "init", "-q")
    (seed / "app.py").write_text("print('hi')\n")
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "initial")
    git(tmp_path, "clone", "-q", "--bare", str(seed), str(server))
    a = make_clone(str(server), tmp_path / "a")
    a.git("config", "ot.requireApproval", "false")
    record_session(a, "s000", "the first")
    tip = a.git("rev-parse", "refs/opentraces/sessions/s000").strip()
    a.git("update-ref", "--stdin", input="".join(
        f"create refs/opentraces/sessions/s{i:03d} {tip}\n" for i in range(1, COMMITS)))
    ok(a.ot("push"))
    on_terminal = make_clone(str(server), tmp_path / "b")
    through_pipe = make_clone(str(server), tmp_path / "c")
    piped = _piped(through_pipe.path, "fetch")
    assert piped.returncode == 0, piped.stderr
    assert piped.stderr == b""
    out, tty = _on_tty(on_terminal.path, "fetch")
    assert out == piped.stdout
    # click's bar redrawn from 0 to 30 sessions (the cursor hidden while it
    # runs), 36 columns wide, then a new line; only the rate varies, and a
    # frame shorter than the one before ends in spaces that clear it.
    assert tty.endswith("\x1b[?25h\r\n"), repr(tty)
    frames = tty.removesuffix("\x1b[?25h\r\n").split("\r")
    assert frames[0] == "" and len(frames) == COMMITS + 2, repr(tty)
    for done, frame in enumerate(frames[1:]):
        filled = int(done / COMMITS * 36)
        bar = "#" * filled + "-" * (36 - filled)
        assert re.fullmatch(rf"\x1b\[\?25lmerging  \[{bar}\]  {done}/{COMMITS}  \d+\.\d/s *", frame), frame


def test_import_shows_a_bar_on_a_terminal_only_and_none_with_json(repo):
    """Importing more files than import's threshold (4): a bar on a
    terminal, nothing piped, and nothing with --json either."""
    from pathlib import Path

    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "claude-code"
    files = [str(p) for p in sorted((fixtures / "spotter").glob("*.jsonl"))
             + sorted((fixtures / "recorded-2.1.328").glob("*/transcript.jsonl"))]
    assert len(files) >= 5
    set_up(repo, hooks=False)
    out, tty = _on_tty(repo.path, "import", "claude-code", "--json", *files)
    assert tty == ""
    assert len(__import__("json").loads(out)["sessions"]) == len(files)
    piped = _piped(repo.path, "import", "claude-code", *files)
    assert piped.returncode == 0 and piped.stderr == b"", piped.stderr
    out, tty = _on_tty(repo.path, "import", "claude-code", *files)
    assert out == piped.stdout  # each session: nothing new, both times
    final = tty.rsplit("importing", 1)[1]
    total = sum(Path(f).stat().st_size for f in files)
    assert f"{total}/{total}" in final and "/s" in final, tty
