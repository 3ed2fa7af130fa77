"""Claude Code, Codex and Pi, side by side on one file, then one commit.

One repository with git-ot set up and all three harnesses installed as a
user installs them. Each real CLI (pinned in tests/support/agents.py),
driven by its scripted model on loopback, edits its own part of `calc.py`;
the person writes a line of their own between the sessions; then the person
commits everything at once. `git ot blame` must give every line to the
harness, session and prompt that wrote it, and the person's lines, old and
new, to the person.

Without the CLIs these tests fail; set GIT_OT_SKIP_E2E=1 to skip them on a
machine without npm.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from support import agents
from support.seals import wait_for_background_seals
from support.scripted_model import ScriptedModel
from support.scripted_responses import ScriptedResponses, codex_config

pytestmark = pytest.mark.e2e

CALC = ("def add(a, b):\n    return a + b\n\n\n"
        "def sub(a, b):\n    return a - b\n\n\n"
        "def mul(a, b):\n    return a * b\n")
PROMPTS = {"claude-code": "make add accept strings",
           "codex": "make sub never go below zero",
           "pi": "make mul round its result"}


@pytest.fixture(scope="module")
def clis(tmp_path_factory) -> dict:
    home = tmp_path_factory.mktemp("cli-version-home")
    return {name: agents.require(name, home) for name in ("claude-code", "codex", "pi")}


def user_env(home: Path, clis: dict) -> dict:
    """A user's environment: git-ot and the three CLIs on PATH, this HOME."""
    env = agents.clean_env()
    dirs = [os.path.dirname(sys.executable)] + sorted({os.path.dirname(p) for p in clis.values()})
    env["PATH"] = os.pathsep.join(dirs + [env.get("PATH", "")])
    env.update(HOME=str(home), CODEX_HOME=str(home / ".codex"), PI_CODING_AGENT_DIR=str(home / "pi-agent"))
    return env


def run(argv: list, cwd: Path, env: dict) -> str:
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=180,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"{argv[0]} failed ({proc.returncode}): {proc.stderr}\n{proc.stdout}"
    wait_for_background_seals(cwd)  # the turn's seal, so the commit after it anchors at once
    return proc.stdout


def claude_code(cli: str, repo: Path, env: dict) -> None:
    script = [{"say": "Converting.", "tool": "Edit",
               "input": {"file_path": str(repo / "calc.py"), "old_string": "    return a + b\n",
                         "new_string": "    return int(a) + int(b)\n"}},
              {"text": "add takes strings now."}]
    with ScriptedModel(script) as model:
        run([cli, "-p", PROMPTS["claude-code"], "--dangerously-skip-permissions", "--output-format", "json"],
            repo, {**env, "ANTHROPIC_BASE_URL": model.url, "ANTHROPIC_API_KEY": "sk-ant-test",
                   "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "IS_SANDBOX": "1"})
        assert model.requests


def codex(cli: str, repo: Path, env: dict) -> None:
    patch = ("*** Begin Patch\n*** Update File: calc.py\n@@ def sub(a, b):\n"
             "-    return a - b\n+    return max(a - b, 0)\n*** End Patch\n")
    script = [{"say": "Clamping.", "tool": "apply_patch", "input": patch}, {"text": "sub stays at zero or above."}]
    with ScriptedResponses(script) as model:
        run([cli, "exec", "-c", f'model_providers.scripted.base_url="{model.url}"', "--skip-git-repo-check",
             "--dangerously-bypass-approvals-and-sandbox", PROMPTS["codex"]],
            repo, {**env, "SCRIPTED_API_KEY": "sk-test"})
        assert model.requests


def pi(cli: str, repo: Path, env: dict, agent_dir: Path) -> None:
    script = [{"say": "Rounding.", "tool": "edit",
               "input": {"path": "calc.py", "edits": [{"oldText": "    return a * b\n",
                                                       "newText": "    return round(a * b, 2)\n"}]}},
              {"text": "mul rounds now."}]
    with ScriptedModel(script) as model:
        (agent_dir / "models.json").write_text(json.dumps({"providers": {"fake": {
            "baseUrl": model.url, "api": "anthropic-messages", "apiKey": "sk-ant-test",
            "models": [{"id": "claude-scripted", "name": "Claude Scripted", "reasoning": False,
                        "contextWindow": 200000, "maxTokens": 8192}]}}}))
        run([cli, "-p", "--provider", "fake", "--model", "claude-scripted", PROMPTS["pi"]],
            repo, {**env, "PI_OFFLINE": "1"})
        assert model.requests


def test_three_harnesses_edit_one_file_before_one_commit(clis, repo, hermetic):
    home = hermetic
    env = user_env(home, clis)
    (home / ".codex").mkdir()
    (home / ".codex" / "config.toml").write_text(codex_config("http://127.0.0.1:9/v1"))
    (home / "pi-agent").mkdir()
    # The person's file, committed with git-ot's hooks in place: its note
    # says no agent wrote it.
    run(["git", "ot", "init"], repo.path, env)
    repo.write("calc.py", CALC)
    repo.git("add", "calc.py")
    repo.git("commit", "-q", "-m", "calc")
    for harness in ("claude-code", "codex", "pi"):
        run(["git", "ot", "install", harness], repo.path, env)

    claude_code(clis["claude-code"], repo.path, env)
    codex(clis["codex"], repo.path, env)
    # The person's own line, between two sessions.
    repo.write("calc.py", "# small arithmetic\n" + (repo.path / "calc.py").read_text())
    pi(clis["pi"], repo.path, env, home / "pi-agent")
    run(["git", "commit", "-q", "-am", "calc: strings, floors, rounding"], repo.path, env)

    sessions = {s["harness"]: s for s in json.loads(run(["git", "ot", "trace", "list", "--json"],
                                                        repo.path, env))["sessions"]}
    assert sorted(sessions) == ["claude-code", "codex", "pi"]
    assert all(s["commits"] == 1 for s in sessions.values())

    def agent(harness: str) -> tuple:
        s = sessions[harness]
        return ("agent", harness, s["session"], s["models"][0], PROMPTS[harness])

    human = ("human", None, None, None, None)
    lines = json.loads(run(["git", "ot", "blame", "calc.py", "--json"], repo.path, env))["lines"]
    got = [(ln["content"], (ln["attribution"]["kind"], ln["attribution"].get("harness"),
                            ln["attribution"].get("session"), ln["attribution"].get("model"),
                            ln["attribution"].get("prompt")))
           for ln in lines]
    assert got == [
        ("# small arithmetic", human),
        ("def add(a, b):", human),
        ("    return int(a) + int(b)", agent("claude-code")),
        ("", human),
        ("", human),
        ("def sub(a, b):", human),
        ("    return max(a - b, 0)", agent("codex")),
        ("", human),
        ("", human),
        ("def mul(a, b):", human),
        ("    return round(a * b, 2)", agent("pi")),
    ]
    # Each harness names its own model.
    assert [sessions[h]["models"] for h in ("claude-code", "codex", "pi")] == [
        [sessions["claude-code"]["models"][0]], ["gpt-5.5"], [sessions["pi"]["models"][0]]]
