"""A Claude Code session with no hook installed, captured by the OTLP
receiver and the watcher alone.

The test starts `git-ot otel serve` and `git-ot watch` in a repository that
has git-ot's git hooks but no harness hook, runs the real `claude -p`
twice against the scripted model with its exporter pointed at the receiver,
writes a file itself between the two prompts, commits, and reads the
blame: the file the Write tool wrote goes to the first prompt, the file the
shell command generated to the second, the person's file to no session.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from support import agents, spec
from support.scripted_model import ScriptedModel

pytestmark = pytest.mark.e2e

WAIT = 60.0
DEBUG = None


@pytest.fixture(scope="session")
def claude_bin(tmp_path_factory) -> str:
    return agents.require("claude-code", tmp_path_factory.mktemp("claude-version-home"))


def _user_env() -> dict:
    env = agents.clean_env()
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


class Service:
    """A `git-ot` foreground command, as a service manager runs it."""

    def __init__(self, repo, *args):
        self.proc = subprocess.Popen(["git-ot", *args, "--json"], cwd=repo.path, env=_user_env(),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line, self.proc.stderr.read()
        self.info = next(iter(json.loads(line).values()))

    def stop(self) -> dict:
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=60)
        assert self.proc.returncode == 0, err
        return json.loads(out)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def run_claude(claude, repo, home, prompt, script, endpoint, resume=None) -> dict:
    args = [claude, "-p", prompt, "--dangerously-skip-permissions", "--output-format", "json"]
    if resume:
        args += ["--resume", resume]
    with ScriptedModel(script) as model:
        env = {**_user_env(), "HOME": str(home), "ANTHROPIC_BASE_URL": model.url,
               "ANTHROPIC_API_KEY": "sk-ant-test", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
               "IS_SANDBOX": "1",
               "CLAUDE_CODE_ENABLE_TELEMETRY": "1", "CLAUDE_CODE_ENHANCED_TELEMETRY_BETA": "1",
               "OTEL_LOGS_EXPORTER": "otlp", "OTEL_METRICS_EXPORTER": "otlp", "OTEL_TRACES_EXPORTER": "otlp",
               "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
               "OTEL_LOG_USER_PROMPTS": "1", "OTEL_LOG_TOOL_DETAILS": "1",
               "OTEL_LOGS_EXPORT_INTERVAL": "500"}
        proc = subprocess.run(args, cwd=repo.path, env=env, capture_output=True, text=True, timeout=180,
                              stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"claude failed ({proc.returncode}): {proc.stderr}\n{proc.stdout}"
    return json.loads(proc.stdout)


def wait_until(predicate, what: str):
    deadline = time.monotonic() + WAIT
    while not predicate():
        assert time.monotonic() < deadline, f"waited in vain for {what}: {DEBUG and DEBUG()}"
        time.sleep(0.1)


def blame(repo, path: str) -> list[tuple]:
    proc = repo.ot("blame", path, "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    return [(ln["content"], ln["attribution"]["kind"], ln["attribution"].get("session"),
             ln["attribution"].get("step"), ln["attribution"].get("prompt"))
            for ln in json.loads(proc.stdout)["lines"]]


def test_a_session_without_hooks_is_captured_sealed_and_blamed(claude_bin, repo, hermetic, monkeypatch):
    proc = subprocess.run(["git", "ot", "init"], cwd=repo.path, env=_user_env(), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert not (repo.path / ".claude").exists()  # no harness hook anywhere
    receiver = Service(repo, "otel", "serve", "--grpc-port", "0", "--http-port", "0")
    watcher = Service(repo, "watch")
    endpoint = f"http://127.0.0.1:{receiver.info['http_port']}"
    journal = repo.path / ".git" / "opentraces" / "watch.jsonl"
    spool = repo.path / ".git" / "opentraces" / "spool"
    global DEBUG
    DEBUG = lambda: (journal.read_text(), os.listdir(repo.path))  # noqa: E731
    try:
        # One script for the whole session: its entries answer by the number
        # of replies the conversation already holds (support/scripted_model.py).
        script = [
            {"say": "Writing them.", "tool": "Write", "input": {"file_path": str(repo.path / "notes.txt"),
                                                               "content": "alpha\nbeta\n"}},
            {"text": "Wrote notes.txt."},
            {"say": "Generating it.", "tool": "Bash",
             "input": {"command": "printf 'PORT = 8080\\nDEBUG = False\\n' > config.py", "description": "Gen"}},
            {"text": "Generated config.py."},
        ]
        first = run_claude(claude_bin, repo, hermetic, "write the notes", script, endpoint)
        sid = first["session_id"]
        # The receiver holds the session's records until the watcher's
        # journal shows this working tree changed while its tool ran.
        wait_until(lambda: (spool / f"{sid}.jsonl").exists(), "the session to be claimed")
        claimed = [json.loads(line) for line in (spool / f"{sid}.jsonl").read_text().splitlines()]
        assert {(e["kind"], e.get("capture")) for e in claimed} == {("telemetry", "telemetry")}
        for event in claimed:
            spec.validate("spool-event", event)
        # The person writes a file between the prompts.
        repo.write("person.txt", "typed by hand\n")
        wait_until(lambda: "person.txt" in journal.read_text(), "the watcher to record person.txt")
        second = run_claude(claude_bin, repo, hermetic, "generate the config", script, endpoint, resume=sid)
        assert second["session_id"] == sid
        wait_until(lambda: "config.py" in journal.read_text(), "the watcher to record config.py")
    finally:
        watched = watcher.stop() if watcher.proc.poll() is None else None
        received = receiver.stop() if receiver.proc.poll() is None else None
        watcher.kill()
        receiver.kill()
    assert received["held_sessions"] == [] and received["refused"] == 0, received
    assert watched["recorded"] >= 4, watched

    now = f"{int(time.time())} +0000"
    monkeypatch.setenv("GIT_COMMITTER_DATE", now)
    monkeypatch.setenv("GIT_AUTHOR_DATE", now)
    repo.commit("notes, config and the person's file")

    spec.read_session(repo.path, sid)  # every commit of the session, to the spec
    trace = repo.ot_json("trace", "show", sid)
    steps = trace["steps"]
    assert [(s["kind"], s.get("name") or s.get("text")) for s in steps] == [
        ("prompt", "write the notes"), ("tool", "Write"),
        ("prompt", "generate the config"), ("tool", "Bash"),
    ]
    assert blame(repo, "notes.txt") == [
        ("alpha", "agent", sid, 2, "write the notes"),
        ("beta", "agent", sid, 2, "write the notes"),
    ]
    assert blame(repo, "config.py") == [
        ("PORT = 8080", "agent", sid, 4, "generate the config"),
        ("DEBUG = False", "agent", sid, 4, "generate the config"),
    ]
    assert blame(repo, "person.txt") == [("typed by hand", "human", None, None, None)]
