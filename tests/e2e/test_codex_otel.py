"""The real Codex CLI exporting OpenTelemetry over gRPC to `git ot otel serve`.

The test sets git-ot up as a user does (`git ot init`, `git ot install
codex`, `git ot install codex --otel`), starts the receiver on free ports in
the scratch repository, and runs `codex exec` (then `codex exec resume`)
against the scripted Responses server. `install --otel` points Codex at the
receiver's default gRPC port (4317); a test cannot count on that port being
free, so for the runs it swaps in the receiver's port in the `[otel]` table
install wrote, and puts the installed text back before `uninstall --otel`.
Then it stops the receiver with SIGTERM and checks which step each
`codex.*` record joined (by `conversation.id`, the call id, and the
records' order): every model request (its model, duration and tokens) the
step its reply began, every tool call its decision and result.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from support import agents
from support.scripted_responses import ScriptedResponses, codex_config

pytestmark = pytest.mark.e2e

EVENTS = ["SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop", "Interrupt",
          "SubagentStart", "SubagentStop", "PreCompact", "PostCompact", "SessionEnd"]

BLOCK = ("# Added by 'git ot install codex --otel'; 'git ot uninstall codex --otel' removes it.\n"
         "[otel]\n"
         'exporter = { otlp-grpc = { endpoint = "http://127.0.0.1:4317" } }\n'
         'trace_exporter = { otlp-grpc = { endpoint = "http://127.0.0.1:4317" } }\n'
         'metrics_exporter = { otlp-grpc = { endpoint = "http://127.0.0.1:4317" } }\n')
FAREWELL = ("*** Begin Patch\n*** Update File: app.py\n@@\n     return \"hi \" + name\n+\n+\n"
            "+def farewell(name):\n+    return \"bye \" + name\n*** End Patch\n")
USAGE = {"input_tokens": 100, "output_tokens": 20, "cache_read_input_tokens": 0}


@pytest.fixture(scope="session")
def codex_bin(tmp_path_factory) -> str:
    return agents.require("codex", tmp_path_factory.mktemp("codex-version-home"))


def user_env(home) -> dict:
    """A user's environment: git-ot and codex on PATH, this HOME and CODEX_HOME."""
    env = agents.clean_env()
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    env.update(HOME=str(home), CODEX_HOME=str(home / ".codex"), SCRIPTED_API_KEY="sk-test")
    return env


def git_ot(env, cwd, *args) -> list[str]:
    proc = subprocess.run(["git", "ot", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def run_codex(codex: str, home, cwd, prompt: str, script: list, resume: bool = False) -> str:
    """One `codex exec` against the scripted server; its last message."""
    with ScriptedResponses(script) as model:
        args = [codex, "exec", "-c", f'model_providers.scripted.base_url="{model.url}"',
                "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox"]
        args += ["resume", "--last", prompt] if resume else [prompt]
        proc = subprocess.run(args, cwd=cwd, env=user_env(home), capture_output=True, text=True,
                              timeout=180, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"codex failed ({proc.returncode}): {proc.stderr}\n{proc.stdout}"
    return proc.stdout.strip()


class Receiver:
    """`git-ot otel serve` on free ports, as a service manager starts it (`git ot`
    would put git between the signal and the receiver)."""

    def __init__(self, home, cwd):
        self.proc = subprocess.Popen(["git-ot", "otel", "serve", "--grpc-port", "0", "--http-port", "0",
                                      "--json"], cwd=cwd, env=user_env(home), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line, self.proc.stderr.read()
        self.info = json.loads(line)["listening"]

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


def joins(steps: list[dict]) -> list[tuple]:
    """Per step: its kind and name or text, the codex.* log records joined to
    it, and what they told of it."""
    out = []
    for s in steps:
        names = sorted(t["event"] for t in s.get("telemetry", [])
                       if t["data"]["signal"] == "logs" and t["event"].startswith("codex."))
        out.append((s["n"], s["kind"], s.get("name") or s.get("text"), names,
                    s.get("usage"), (s.get("api") or {}).get("model"), s.get("decision")))
    return out


def test_codex_telemetry_over_grpc_joins_the_steps_the_hooks_recorded(codex_bin, hermetic, repo):
    home = hermetic
    codex_home = home / ".codex"
    codex_home.mkdir(parents=True, exist_ok=True)
    config = codex_home / "config.toml"
    # The server's port changes with every run: `-c` gives it to Codex.
    config.write_text(codex_config("http://127.0.0.1:9/v1"))
    env = user_env(home)
    env["PATH"] = os.path.dirname(codex_bin) + os.pathsep + env["PATH"]  # `install` asks Codex
    assert git_ot(env, repo.path, "init")[-1] == f"git-ot is set up in {repo.path}/.git/hooks"
    git_ot(env, repo.path, "install", "codex")
    before = config.read_text()  # with the trust `install` recorded
    out = git_ot(env, repo.path, "install", "codex", "--otel")
    assert out == [f"{event}: unchanged, already trusted" for event in EVENTS] + [
        "otel.exporter: installed", "otel.trace_exporter: installed", "otel.metrics_exporter: installed",
        f"Codex runs git-ot from {codex_home}/hooks.json",
        f"Codex exports telemetry as {config} says"]
    installed = config.read_text()
    assert installed == before + "\n" + BLOCK
    again = git_ot(env, repo.path, "install", "codex", "--otel")
    assert again[len(EVENTS):len(EVENTS) + 3] == [
        "otel.exporter: unchanged", "otel.trace_exporter: unchanged", "otel.metrics_exporter: unchanged"]
    assert config.read_text() == installed

    receiver = Receiver(home, repo.path)
    try:
        port = receiver.info["grpc_port"]
        config.write_text(installed.replace("127.0.0.1:4317", f"127.0.0.1:{port}"))
        script = [
            {"say": "Adding farewell.", "tool": "apply_patch", "input": FAREWELL},
            {"say": "Running it.", "tool": "exec_command", "input": {"cmd": "echo ok"}},
            {"text": "Added farewell()."},
            {"text": "Nothing else to change."},
        ]
        assert run_codex(codex_bin, home, repo.path, "add a farewell function", script) == "Added farewell()."
        assert run_codex(codex_bin, home, repo.path, "anything else?", script, True) == "Nothing else to change."
        stats = receiver.stop()
    finally:
        receiver.kill()
        config.write_text(installed)
    assert (stats["refused"], stats["failed"], stats["held"]) == (0, 0, 0)
    assert stats["spooled"] > 0

    [session] = repo.ot_json("trace", "list")["sessions"]
    steps = repo.ot_json("trace", "show", session["session"])["steps"]
    request = ["codex.api_request", "codex.sse_event"]
    tool = ["codex.tool_decision", "codex.tool_result"]
    approved = {"decision": "approved", "source": "Config"}
    assert joins(steps) == [
        (1, "prompt", "add a farewell function", ["codex.user_prompt"], None, None, None),
        (2, "tool", "apply_patch", request + tool, USAGE, "gpt-5.5", approved),
        (3, "tool", "Bash", request + tool, USAGE, "gpt-5.5", approved),
        (4, "message", "Added farewell().", request, USAGE, "gpt-5.5", None),
        (5, "prompt", "anything else?", ["codex.user_prompt"], None, None, None),
        (6, "message", "Nothing else to change.", request, USAGE, "gpt-5.5", None),
    ]
    # Each prompt's record is that prompt's: its length, the text redacted.
    for s in (steps[0], steps[4]):
        [record] = [t for t in s["telemetry"] if t["event"] == "codex.user_prompt"]
        assert (record["data"]["attributes"]["prompt_length"], record["data"]["attributes"]["prompt"]) == \
            (str(len(s["text"])), "[REDACTED]")
    # Each tool call's record names it by Codex's call id, as the hooks did.
    for s in steps[1:3]:
        assert {t["tool_use_id"] for t in s["telemetry"] if t["event"].startswith("codex.tool_")} == \
            {s["tool_use_id"]}
        assert isinstance(s["duration_ms"], int)

    # uninstall --otel takes out exactly what install --otel wrote.
    out = git_ot(env, repo.path, "uninstall", "codex", "--otel")
    assert out == ["otel.exporter: removed", "otel.trace_exporter: removed", "otel.metrics_exporter: removed",
                   f"{config}: updated"]
    assert config.read_text() == before
