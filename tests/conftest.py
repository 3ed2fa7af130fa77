"""Hermetic test set-up: every test gets its own HOME, git config and repository.

Git never reads the developer's ~/.gitconfig or /etc/gitconfig here, author
and committer and their dates are pinned, and a guard fails any test that
writes into the real $HOME.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from git_ot.demo.replay import replay as replay_payloads

REAL_HOME = os.environ.get("HOME", "")
FIXTURES = Path(__file__).parent / "fixtures"
RECORDED = FIXTURES / "claude-code" / "recorded-2.1.328"

PINNED = {
    "GIT_AUTHOR_NAME": "A U Thor",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "C O Mitter",
    "GIT_COMMITTER_EMAIL": "committer@example.com",
    "GIT_AUTHOR_DATE": "1700000000 +0000",
    "GIT_COMMITTER_DATE": "1700000000 +0000",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
    "LC_ALL": "C.UTF-8",
    "TZ": "UTC",
}


@pytest.fixture(autouse=True)
def hermetic(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    for key, value in PINNED.items():
        monkeypatch.setenv(key, value)
    for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
                "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_OT_MAX_FILE_SIZE", "CLAUDE_CONFIG_DIR"):
        monkeypatch.delenv(key, raising=False)
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n[protocol \"file\"]\n\tallow = always\n")
    before = _snapshot_home()
    yield home
    after = _snapshot_home()
    assert before == after, "a test wrote into the real $HOME"


def _snapshot_home():
    if not REAL_HOME or not os.path.isdir(REAL_HOME):
        return None
    try:
        return sorted((e.name, e.stat(follow_symlinks=False).st_mtime_ns) for e in os.scandir(REAL_HOME))
    except OSError:
        return None


def git(cwd, *args, input=None, check=True, env=None) -> str:
    """Run real git and return stdout as text."""
    proc = subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True,
                          text=True, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


def run_ot(cwd, *args, input: bytes | str | None = None, env=None):
    """Run the installed `git-ot` as a separate process, as git and harnesses do."""
    if isinstance(input, str):
        input = input.encode()
    return subprocess.run([sys.executable, "-m", "git_ot", *args], cwd=cwd, input=input,
                          capture_output=True, env=env)


class Repo:
    """A scratch repository with helpers for the tests."""

    def __init__(self, path: Path):
        self.path = path
        self.damaged = False  # set by tests that delete objects on purpose

    def git(self, *args, **kw) -> str:
        return git(self.path, *args, **kw)

    def write(self, rel: str, text: str) -> Path:
        p = self.path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        return p

    def commit(self, message: str = "change") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD").strip()

    def ot(self, *args, input=None, env=None):
        return run_ot(self.path, *args, input=input, env=env)

    def ot_json(self, *args):
        proc = self.ot(*args, "--json")
        assert proc.returncode == 0, proc.stderr.decode()
        return json.loads(proc.stdout)

    def hook(self, event: str, payload: dict):
        payload = {**payload, "cwd": str(self.path), "hook_event_name": event}
        proc = self.ot("hook", "claude-code", event, input=json.dumps(payload))
        assert proc.returncode == 0
        return proc

    def fsck(self) -> None:
        self.git("fsck", "--strict", "--no-dangling")


@pytest.fixture
def repo(tmp_path):
    """A repository with two committed files; `git fsck --strict` must pass after the test."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q")
    r = Repo(path)
    r.write("app.py", 'def greet(name):\n    return "hi " + name\n')
    r.write("README.md", "readme\n")
    r.commit("initial")
    yield r
    if not r.damaged:
        r.fsck()


@pytest.fixture
def empty_repo(tmp_path):
    path = tmp_path / "empty"
    path.mkdir()
    git(path, "init", "-q")
    r = Repo(path)
    yield r
    if not r.damaged:
        r.fsck()


def recorded_payloads(scenario: str) -> list[dict]:
    """The hook payloads Claude Code sent in one recorded scenario, in order."""
    out = []
    with open(RECORDED / scenario / "hooks.jsonl") as fh:
        for line in fh:
            d = json.loads(line)
            d.pop("_received_at", None)
            out.append(d)
    return out


def replay(repo: Repo, scenario: str, **kw) -> str:
    """Replay a recorded session's hooks, applying each tool's file effect.

    The one replay, git ot demo's (git_ot/demo/replay.py): every payload
    goes to the hook command Claude Code runs, and Edit and Write effects
    are applied between PreToolUse and PostToolUse, as Claude Code does;
    `run_shell=True` runs Bash commands there too, `after` is called after
    each payload. Returns the session id.
    """
    return replay_payloads(str(repo.path), recorded_payloads(scenario), **kw)
