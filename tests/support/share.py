"""Sharing the bucket: a `git daemon` on loopback, clones, and readers of what they hold."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from support.cli import run_here
from support.repo import Repo, git


# -- a git server on loopback ----------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon:
    """`git daemon` serving every repository under `base`, with pushes enabled."""

    def __init__(self, base: Path):
        self.base = base
        for _ in range(5):
            self.port = _free_port()
            self.proc = subprocess.Popen(
                ["git", "daemon", "--reuseaddr", "--export-all", "--enable=receive-pack",
                 f"--base-path={base}", "--listen=127.0.0.1", f"--port={self.port}", str(base)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            if self._wait_ready():
                return
            self.stop()
        raise RuntimeError("git daemon did not start")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return True
            except OSError:
                time.sleep(0.05)
        return False

    def url(self, name: str, port: int | None = None) -> str:
        return f"git://127.0.0.1:{port or self.port}/{name}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            # The daemon and the receive-pack/upload-pack children it forked.
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)


class Server:
    def __init__(self, path: Path, daemon: Daemon):
        self.path = path
        self.daemon = daemon
        self.url = daemon.url("server.git")

    def git(self, *args) -> str:
        return git(self.path, *args)


# -- helpers ----------------------------------------------------------------------------

def fsck(path) -> None:
    git(path, "fsck", "--strict", "--no-dangling")


def ok(proc):
    assert proc.returncode == 0, (proc.stdout.decode(), proc.stderr.decode())
    return proc


def ot_json(path, *args):
    """`git ot ARGS --json` in `path`, inside the test process (support/cli.py)."""
    return json.loads(ok(run_here(path, *args, "--json")).stdout)


def make_clone(url: str, path: Path, set_remote: bool = True) -> Repo:
    git(path.parent, "clone", "-q", url, str(path))
    repo = Repo(path)
    if set_remote:
        ok(repo.ot("remote", "set", "origin"))
    return repo


def record_session(repo: Repo, sid: str, prompt: str) -> None:
    repo.hook("UserPromptSubmit", {"session_id": sid, "prompt": prompt})
    repo.hook("Stop", {"session_id": sid})


def add_note_line(repo: Repo, commit: str, line: str) -> None:
    """Add one JSON line to a commit's note, kept sorted and unique as the format says."""
    old = git(repo.path, "notes", "--ref=opentraces", "show", commit, check=False)
    lines = sorted(set(old.splitlines()) | {line})
    git(repo.path, "notes", "--ref=opentraces", "add", "-f", "-F", "-", commit,
        input="".join(l + "\n" for l in lines))


def note_line(session: str, path: str = "app.py", first: int = 1) -> str:
    return json.dumps({"v": 1, "session": session, "step": 1, "hunk": "1.1.1", "path": path,
                       "lines": [first, first], "harness": "claude-code", "model": None},
                      separators=(",", ":"))


def sessions(path) -> dict[str, str]:
    out = git(path, "for-each-ref", "--format=%(refname) %(objectname)", "refs/opentraces/sessions/")
    return {line.split()[0].rsplit("/", 1)[1]: line.split()[1] for line in out.splitlines()}


def notes(path) -> dict[str, list[str]]:
    """Every annotated commit and the lines of its note."""
    listed = git(path, "notes", "--ref=opentraces", "list", check=False)
    out = {}
    for line in listed.splitlines():
        commit = line.split()[1]
        out[commit] = git(path, "notes", "--ref=opentraces", "show", commit).splitlines()
    return out


def main_commit(path) -> str:
    return git(path, "rev-parse", "refs/heads/main").strip()
