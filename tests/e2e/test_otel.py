"""The real Claude Code CLI exporting OpenTelemetry to `git ot otel serve`.

Each test starts the receiver in a scratch repository (`git ot otel serve`
on free ports, through the installed `git ot`), runs `claude -p` with git-ot's
hooks installed and its exporter pointed at the receiver over one protocol
(`OTEL_EXPORTER_OTLP_PROTOCOL` = http/json, http/protobuf or grpc), stops
the receiver with SIGTERM and checks how the telemetry joined the steps
the hooks recorded: which step got which model request (model, tokens,
cost), which tool call got its decision and its result.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from types import SimpleNamespace

import pytest

from support import agents
from support.scripted_model import ScriptedModel

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def claude_bin(tmp_path_factory) -> str:
    return agents.require("claude-code", tmp_path_factory.mktemp("claude-version-home"))


def _user_env() -> dict:
    env = agents.clean_env()
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


class Receiver:
    """`git-ot otel serve` on free ports, as a service manager starts it (`git ot`
    would put git between the signal and the receiver)."""

    def __init__(self, repo):
        self.proc = subprocess.Popen(["git-ot", "otel", "serve", "--grpc-port", "0", "--http-port", "0",
                                      "--json"], cwd=repo.path, env=_user_env(), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line, self.proc.stderr.read()
        self.info = json.loads(line)["listening"]

    def endpoint(self, protocol: str) -> str:
        port = self.info["grpc_port"] if protocol == "grpc" else self.info["http_port"]
        return f"http://127.0.0.1:{port}"

    def stop(self) -> dict:
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=60)
        assert self.proc.returncode == 0, err
        assert err == ""
        return json.loads(out)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def run_claude(claude: str, repo, home, prompt: str, script: list, endpoint: str, protocol: str,
               resume: str | None = None, extra: dict | None = None, seen: list | None = None) -> dict:
    args = [claude, "-p", prompt, "--dangerously-skip-permissions", "--output-format", "json"]
    if resume:
        args += ["--resume", resume]
    with ScriptedModel(script) as model:
        env = {**_user_env(), "HOME": str(home), "ANTHROPIC_BASE_URL": model.url,
               "ANTHROPIC_API_KEY": "sk-ant-test", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
               "IS_SANDBOX": "1",
               # The recipe of ../shared/tools/README.md, pointed at the test's receiver.
               "CLAUDE_CODE_ENABLE_TELEMETRY": "1", "CLAUDE_CODE_ENHANCED_TELEMETRY_BETA": "1",
               "OTEL_LOGS_EXPORTER": "otlp", "OTEL_METRICS_EXPORTER": "otlp", "OTEL_TRACES_EXPORTER": "otlp",
               "OTEL_EXPORTER_OTLP_PROTOCOL": protocol, "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
               "OTEL_LOG_USER_PROMPTS": "1", "OTEL_LOG_TOOL_DETAILS": "1",
               "OTEL_LOGS_EXPORT_INTERVAL": "500", **(extra or {})}
        proc = subprocess.run(args, cwd=repo.path, env=env, capture_output=True, text=True, timeout=180,
                              stdin=subprocess.DEVNULL)
        if seen is not None:
            seen.extend(r for r in model.requests if "count_tokens" not in r["path"])
    assert proc.returncode == 0, f"claude failed ({proc.returncode}): {proc.stderr}\n{proc.stdout}"
    return json.loads(proc.stdout)


@pytest.fixture
def wired(repo):
    for args in (["init"], ["install", "claude-code", "--scope", "project"]):
        proc = subprocess.run(["git", "ot", *args], cwd=repo.path, env=_user_env(), capture_output=True,
                              text=True)
        assert proc.returncode == 0, proc.stderr
    return repo


def joins(steps: list[dict]) -> list[tuple]:
    """Per step: its kind and name or text, and the telemetry joined to it."""
    out = []
    for s in steps:
        names = [t["event"] for t in s.get("telemetry", []) if t["data"]["signal"] == "logs"]
        spans = sorted(t["event"] for t in s.get("telemetry", []) if t["data"]["signal"] == "traces")
        out.append((s["n"], s["kind"], s.get("name") or s.get("text"), names, spans))
    return out


@pytest.mark.parametrize("protocol", ["http/json", "http/protobuf", "grpc"])
def test_telemetry_joins_the_steps_the_hooks_recorded(claude_bin, wired, hermetic, protocol):
    repo = wired
    app = str(repo.path / "app.py")
    script = [
        {"say": "I'll add a farewell function.", "tool": "Edit", "input": {
            "file_path": app, "old_string": '    return "hi " + name\n',
            "new_string": '    return "hi " + name\n\n\ndef farewell(name):\n    return "bye " + name\n'}},
        {"say": "Checking.", "tool": "Bash", "input": {"command": "python3 -B -c 'import app'",
                                                        "description": "Import"}},
        {"text": "Added farewell()."},
    ]
    receiver = Receiver(repo)
    try:
        result = run_claude(claude_bin, repo, hermetic, "add a farewell function", script,
                            receiver.endpoint(protocol), protocol)
        status = subprocess.run(["git", "ot", "status", "--json"], cwd=repo.path, env=_user_env(),
                                capture_output=True, text=True)
        assert json.loads(status.stdout)["telemetry"] == {
            "receiver": receiver.info, "held": 0, "held_records": 0, "held_since": None,
            "held_max_age": 7 * 86400, "held_max_age_error": None}
    finally:
        summary = receiver.stop() if receiver.proc.poll() is None else None
        receiver.kill()
    sid = result["session_id"]
    # Records may come before the session's first hook ran (held, then
    # claimed): none may be left held, or refused.
    assert (summary["refused"], summary["rejected"], summary["failed"], summary["held_sessions"]) == \
        (0, 0, 0, []), summary
    assert summary["held"] == summary["claimed"]
    assert summary["spooled"] + summary["claimed"] == summary["items"] > 0
    assert not (repo.path / ".git" / "opentraces" / "otel.json").exists()

    show = subprocess.run(["git", "ot", "trace", "show", sid, "--json"], cwd=repo.path, env=_user_env(),
                          capture_output=True, text=True)
    assert show.returncode == 0, show.stderr
    steps = json.loads(show.stdout)["steps"]
    assert joins(steps) == [
        (1, "prompt", "add a farewell function", ["claude_code.user_prompt"], []),
        (2, "tool", "Edit",
         ["claude_code.api_request", "claude_code.assistant_response", "claude_code.tool_decision",
          "claude_code.tool_result"],
         ["claude_code.tool", "claude_code.tool.blocked_on_user", "claude_code.tool.execution"]),
        (3, "tool", "Bash",
         ["claude_code.api_request", "claude_code.assistant_response", "claude_code.tool_decision",
          "claude_code.tool_result"],
         ["claude_code.tool", "claude_code.tool.blocked_on_user", "claude_code.tool.execution"]),
        (4, "message", "Added farewell().",
         ["claude_code.api_request", "claude_code.assistant_response"], []),
    ], summary
    for n in (2, 3, 4):
        step = steps[n - 1]
        assert step["model"] == "claude-opus-5-5"  # what the scripted model answers with
        assert step["usage"] == {"input_tokens": 10, "output_tokens": 5, "cache_creation_input_tokens": 0,
                                 "cache_read_input_tokens": 0}
        assert set(step["api"]) == {"model", "cost_usd", "duration_ms", "ttft_ms"}
        assert step["api"]["cost_usd"] > 0
    for n in (2, 3):
        assert steps[n - 1]["decision"] == {"decision": "accept", "source": "config"}
        assert isinstance(steps[n - 1]["duration_ms"], int)
    # The prompt's record carries the text the user typed.
    prompt = steps[0]["telemetry"][0]
    assert prompt["data"]["attributes"]["prompt"] == "add a farewell function"
    assert prompt["prompt_id"] == steps[0]["prompt_id"]


def test_raw_request_bodies_are_kept_on_the_step_their_reply_began(claude_bin, wired, hermetic):
    """With OTEL_LOG_RAW_API_BODIES, the request Claude Code sent the model
    for each reply is kept whole, on that reply's first step."""
    repo = wired
    script = [
        {"say": "Writing it.", "tool": "Write", "input": {"file_path": str(repo.path / "notes.txt"),
                                                         "content": "remember the milk\n"}},
        {"text": "Wrote notes.txt."},
    ]
    receiver = Receiver(repo)
    seen: list = []
    try:
        result = run_claude(claude_bin, repo, hermetic, "write a note", script,
                            receiver.endpoint("http/protobuf"), "http/protobuf",
                            extra={"OTEL_LOG_RAW_API_BODIES": "1"}, seen=seen)
    finally:
        receiver.stop()
        receiver.kill()
    sid = result["session_id"]

    def step(n):
        proc = subprocess.run(["git", "ot", "trace", "show", f"{sid}:{n}", "--json"], cwd=repo.path,
                              env=_user_env(), capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)["step"]

    write, closing = step(2), step(3)
    bodies = []

    def entries_of(s):
        return [t for t in s["telemetry"] if t["event"] == "claude_code.api_request_body"]

    for s in (write, closing):
        entries = entries_of(s)
        assert len(entries) == 1 and "body_truncated" not in entries[0]["data"]["attributes"]
        bodies.append(json.loads(entries[0]["data"]["attributes"]["body"]))
    # The bodies are the two requests the model answered, as it got them.
    assert [(len(b["messages"]), len(b["tools"])) for b in bodies] == \
        [(r["messages"], r["tools"]) for r in seen if r["tools"]]
    assert [b["model"] for b in bodies] == ["claude-opus-5-5", "claude-opus-5-5"]
    assert json.dumps(bodies[0]["messages"][0]).count("write a note") == 1
    results = [c for m in bodies[1]["messages"] if isinstance(m["content"], list) for c in m["content"]
               if c.get("type") == "tool_result"]
    assert [r["tool_use_id"] for r in results] == [write["tool_use_id"]]
    # What the model saw at the closing step is the request it got for that
    # reply, as it got it, then the reply.
    proc = subprocess.run(["git", "ot", "ctx", "show", f"{sid}:3", "--json"], cwd=repo.path, env=_user_env(),
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)
    assert shown["api_request"] == {"entry": entries_of(closing)[0]["id"], "step": 3}
    assert shown["source"] == "api-request+hooks"

    def blocks(m):
        return {**m, "content": [{"type": "text", "text": m["content"]}] if isinstance(m["content"], str)
                else m["content"]}

    assert [m["message"] for m in shown["messages"]] == [blocks(m) for m in bodies[1]["messages"]] + [
        {"role": "assistant", "content": [{"type": "text", "text": "Wrote notes.txt."}]}]
    assert [m["source"] for m in shown["messages"]] == ["api-request"] * len(bodies[1]["messages"]) + ["hooks"]
    assert [t["name"] for t in shown["request"]["tools"]] == [t["name"] for t in bodies[1]["tools"]]

    # Resumed from there (in Claude Code, from those raw messages), the
    # model gets them again, then the next prompt.
    worktree = repo.path.parent / "resumed"
    proc = subprocess.run(["git", "ot", "ctx", "resume", f"{sid}:3", "--worktree", str(worktree), "--json"],
                          cwd=repo.path, env={**_user_env(), "HOME": str(hermetic)}, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    # The request's system turn (the environment) is Claude Code's to send again.
    assert [m["role"] for m in bodies[1]["messages"]] == ["user", "system", "assistant", "user"]
    assert out["not_carried"] == ["a system turn of the model request (the resumed harness sends its own)"]
    later: list = []
    result = run_claude(claude_bin, SimpleNamespace(path=worktree), hermetic, "PROMPT-C what did you do?",
                        [{"text": "unused"}, {"text": "unused"}, {"text": "Answer to C."}], "http://127.0.0.1:9",
                        "http/json", resume=out["session"], extra={"CLAUDE_CODE_ENABLE_TELEMETRY": "0"},
                        seen=later)
    assert result["result"] == "Answer to C."
    [last] = [r["body"] for r in later if r["tools"]][-1:]
    sent = json.dumps(last["messages"])
    assert sent.count("write a note") == 1 and sent.count("PROMPT-C what did you do?") == 1
    calls = [b for m in last["messages"] if isinstance(m["content"], list) for b in m["content"]
             if b.get("type") in ("tool_use", "tool_result")]
    assert [(b["type"], b.get("id") or b.get("tool_use_id")) for b in calls] == [
        ("tool_use", write["tool_use_id"]), ("tool_result", write["tool_use_id"])]
    assert sent.index("write a note") < sent.index("remember the milk") < sent.index("Wrote notes.txt.") \
        < sent.index("PROMPT-C what did you do?")
    assert (worktree / "notes.txt").read_text() == "remember the milk\n"
