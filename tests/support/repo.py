"""Real git, git-ot as a process or inside this one, and a scratch repository to drive them in."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from git_ot.demo.replay import RECORDER_KEYS, read_payloads
from git_ot.demo.replay import replay as replay_payloads
from support.cli import run_here

ROOT = Path(__file__).resolve().parents[2]  # the source tree
FIXTURES = ROOT / "tests" / "fixtures"
RECORDED = FIXTURES / "claude-code" / "recorded-2.1.328"


def git(cwd, *args, input=None, check=True, env=None) -> str:
    """Run real git and return stdout as text."""
    proc = subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True,
                          text=True, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


def run_ot(cwd, *args, input: bytes | str | None = None, env=None):
    """Run the installed `git-ot` as a separate process, as git and harnesses do.

    A harness's hook seals at turn and session end in the background; this
    returns once those seals are done too (support/seals.py), as the tests
    read the refs right after."""
    if isinstance(input, str):
        input = input.encode()
    proc = subprocess.run([sys.executable, "-m", "git_ot", *args], cwd=cwd, input=input,
                          capture_output=True, env=env)
    if len(args) > 1 and args[0] == "hook" and args[1] not in ("git", "seal"):
        from .seals import wait_for_background_seals

        wait_for_background_seals(cwd)
    return proc


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
        """`git ot ARGS` as a process of its own, as a user or git runs it."""
        return run_ot(self.path, *args, input=input, env=env)

    def ot_json(self, *args):
        proc = self.ot(*args, "--json")
        assert proc.returncode == 0, proc.stderr.decode()
        return json.loads(proc.stdout)

    def cli(self, *args, input=None, env=None):
        """`git ot ARGS` inside the test process (support/cli.py): the same
        exit code and output as `ot`, without a new process."""
        return run_here(self.path, *args, input=input, env=env)

    def cli_json(self, *args):
        proc = self.cli(*args, "--json")
        assert proc.returncode == 0, proc.stderr.decode()
        return json.loads(proc.stdout)

    def hook(self, event: str, payload: dict):
        payload = {**payload, "cwd": str(self.path), "hook_event_name": event}
        proc = self.ot("hook", "claude-code", event, input=json.dumps(payload))
        assert proc.returncode == 0
        return proc

    def fsck(self) -> None:
        self.git("fsck", "--strict", "--no-dangling")


def recorded_payloads(scenario: str) -> list[dict]:
    """The hook payloads Claude Code sent in one recorded scenario, in order."""
    return [{k: v for k, v in p.items() if k not in RECORDER_KEYS}
            for p in read_payloads(str(RECORDED / scenario / "hooks.jsonl"))]


def replay(repo: Repo, scenario: str, **kw) -> str:
    """Replay a recorded session's hooks, applying each tool's file effect.

    The one replay, git ot demo's (git_ot/demo/replay.py): every payload
    goes to the hook command Claude Code runs, and Edit and Write effects
    are applied between PreToolUse and PostToolUse, as Claude Code does;
    `run_shell=True` runs Bash commands there too, `after` is called after
    each payload. Returns the session id. Each hook call returns once the
    seal it started in the background is done (support/seals.py).
    """
    from .seals import wait_for_background_seals

    after = kw.pop("after", None)

    def settled(payload: dict) -> None:
        wait_for_background_seals(repo.path)
        if after is not None:
            after(payload)

    return replay_payloads(str(repo.path), recorded_payloads(scenario), after=settled, **kw)
