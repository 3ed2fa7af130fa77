"""`git ot ctx` with the real Claude Code CLI: resume a session from a step.

Two prompts A and B run against the scripted model with git-ot capturing;
the session is resumed at the last step before B, a prompt C is sent to
the resumed session, and the request the scripted model receives must hold
A, its tool call and result, not B, and C; the resumed working directory
holds the files as they were at that step. The same from a fresh clone
with another HOME, which never saw the session, for sessions of each of
Claude Code, Pi and Codex.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from support import agents
from support.repo import git
from support.scripted_model import ScriptedModel
from support.seals import wait_for_background_seals

pytestmark = pytest.mark.e2e

APP_A = 'def greet(name):\n    return "hi " + name\n\n\ndef farewell(name):\n    return "bye " + name\n'


@pytest.fixture(scope="session")
def claude_bin(tmp_path_factory) -> str:
    return agents.require("claude-code", tmp_path_factory.mktemp("claude-version-home"))


@pytest.fixture(scope="session")
def pi_bin(tmp_path_factory) -> str:
    return agents.require("pi", tmp_path_factory.mktemp("pi-version-home"))


def _env(home: Path, **extra) -> dict:
    env = agents.clean_env()
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return {**env, "HOME": str(home), **extra}


def git_ot(cwd, home, *args, ok=True, env=None) -> subprocess.CompletedProcess:
    proc = subprocess.run(["git", "ot", *args], cwd=cwd, env={**_env(home), **(env or {})},
                          capture_output=True, text=True)
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


def claude(claude_bin, cwd, home, prompt, script, resume=None) -> tuple[dict, list[dict]]:
    """One `claude -p` run; its JSON result and the bodies of the model requests."""
    args = [claude_bin, "-p", prompt, "--dangerously-skip-permissions", "--output-format", "json"]
    if resume:
        args += ["--resume", resume]
    with ScriptedModel(script) as model:
        env = _env(home, ANTHROPIC_BASE_URL=model.url, ANTHROPIC_API_KEY="sk-ant-test",
                   CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1", IS_SANDBOX="1")
        proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=180,
                              stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"claude failed: {proc.stderr}\n{proc.stdout}"
    result = json.loads(proc.stdout)
    assert not result.get("is_error"), result
    bodies = [r["body"] for r in model.requests if r["path"].startswith("/v1/messages")
              and "count_tokens" not in r["path"] and r["tools"]]
    return result, bodies


def texts(body: dict) -> list[str]:
    """Every text the request's messages carry, tool inputs and results included, in order."""
    out = []
    for m in body["messages"]:
        content = m["content"] if isinstance(m["content"], list) else [{"type": "text", "text": m["content"]}]
        for b in content:
            if b.get("type") == "text":
                out.append(b["text"])
            elif b.get("type") == "tool_use":
                out.append(json.dumps(b["input"]))
            elif b.get("type") == "tool_result":
                c = b.get("content")
                out.append(c if isinstance(c, str) else json.dumps(c))
    return out


def has(body: dict, needle: str) -> bool:
    return any(needle in t for t in texts(body))


@pytest.fixture
def session(claude_bin, repo, hermetic):
    """A captured session of two prompts: A adds farewell(), B rewrites greet()."""
    git_ot(repo.path, hermetic, "init")
    git_ot(repo.path, hermetic, "install", "claude-code", "--scope", "project")
    app = str(repo.path / "app.py")
    script = [
        {"say": "Adding farewell.", "tool": "Write", "input": {"file_path": app, "content": APP_A}},
        {"text": "Added farewell (reply A)."},
        {"say": "Rewriting greet.", "tool": "Write",
         "input": {"file_path": app, "content": 'def greet(name):\n    return "HELLO-B " + name\n'}},
        {"text": "Rewrote greet (reply B)."},
    ]
    first, _ = claude(claude_bin, repo.path, hermetic, "PROMPT-A add a farewell function", script)
    sid = first["session_id"]
    claude(claude_bin, repo.path, hermetic, "PROMPT-B rewrite greet", script, resume=sid)
    steps = json.loads(git_ot(repo.path, hermetic, "trace", "show", sid, "--json").stdout)["steps"]
    [b] = [s for s in steps if s["kind"] == "prompt" and "PROMPT-B" in s["text"]]
    return sid, b["n"] - 1, steps


def resume_and_continue(claude_bin, cwd, home, spec, worktree) -> tuple[dict, list[dict]]:
    out = json.loads(git_ot(cwd, home, "ctx", "resume", spec, "--worktree", str(worktree),
                            "--json").stdout)
    assert set(out) == {"harness", "session", "cwd", "command", "not_carried"}
    assert out["not_carried"] == []
    assert out["harness"] == "claude-code" and out["cwd"] == os.path.realpath(worktree)
    assert out["command"] == f"claude --resume {out['session']}"
    files = home / ".claude" / "projects"
    [written] = [p for p in files.rglob(out["session"] + ".jsonl")]
    assert written.parent.name == "".join(c if c.isalnum() else "-" for c in out["cwd"])
    assert not [p for p in files.rglob("*.tmp")], "no temporary file is left behind"
    # The resumed history holds A's one model reply pair; C is answered next.
    script = [{"text": "unused"}, {"text": "unused"}, {"text": "Answer to C."}]
    result, bodies = claude(claude_bin, out["cwd"], home, "PROMPT-C what did you do?", script,
                            resume=out["session"])
    assert result["result"] == "Answer to C."
    return out, bodies


def check_context(bodies: list[dict]) -> None:
    body = bodies[-1]
    assert has(body, "PROMPT-A add a farewell function")
    assert has(body, "def farewell(name):")  # A's tool call, its input
    assert any(b.get("type") == "tool_result" for m in body["messages"] if isinstance(m["content"], list)
               for b in m["content"])
    assert has(body, "Added farewell (reply A).")
    assert not has(body, "PROMPT-B") and not has(body, "HELLO-B") and not has(body, "reply B")
    # C comes after A's closing words.
    where = [json.dumps(m) for m in body["messages"]]
    reply_a = max(i for i, m in enumerate(where) if "reply A" in m)
    prompt_c = [i for i, m in enumerate(where) if "PROMPT-C what did you do?" in m]
    assert len(prompt_c) == 1 and prompt_c[0] > reply_a
    assert body["messages"][prompt_c[0]]["role"] == "user"


def test_resume_claude_code_at_the_step_before_the_second_prompt(claude_bin, repo, hermetic, session,
                                                                 tmp_path):
    sid, step, steps = session
    assert steps[step - 1]["kind"] == "message" and "reply A" in steps[step - 1]["text"]
    shown = json.loads(git_ot(repo.path, hermetic, "ctx", "show", f"{sid}:{step}", "--json").stdout)
    # Live hooks see the prompt and the closing words; the Edit's call and
    # result are read from the transcript, as no hook runs around an Edit
    # (the words before a tool call are the transcript's alone).
    assert [m["role"] for m in shown["messages"]] == ["user", "assistant", "tool", "assistant"]
    assert [m["source"] for m in shown["messages"]] == ["hooks", "transcript", "transcript", "hooks"]
    assert shown["source"] == "hooks+transcript"
    assert (repo.path / "app.py").read_text() == 'def greet(name):\n    return "HELLO-B " + name\n'
    head = git(repo.path, "rev-parse", "HEAD")
    worktree = tmp_path / "resumed"
    # SESSION:@2 is the step just before the second prompt.
    assert json.loads(git_ot(repo.path, hermetic, "ctx", "show", f"{sid}:@2", "--json").stdout)["step"] == step
    _, bodies = resume_and_continue(claude_bin, repo.path, hermetic, f"{sid}:{step}", worktree)
    check_context(bodies)
    assert (worktree / "app.py").read_text() == APP_A
    # The user's own checkout is untouched.
    assert git(repo.path, "rev-parse", "HEAD") == head
    assert (repo.path / "app.py").read_text() == 'def greet(name):\n    return "HELLO-B " + name\n'


def another_home(tmp_path, hermetic) -> Path:
    """A HOME that never saw the session: only the user's git configuration."""
    home = tmp_path / "other-home"
    home.mkdir()
    (home / ".gitconfig").write_text((hermetic / ".gitconfig").read_text()
                                     if (hermetic / ".gitconfig").exists() else "")
    return home


def shared_clone(repo, hermetic, sid, tmp_path) -> tuple[Path, Path]:
    """The session pushed through a bare repository (`git ot push`) and
    fetched (`git ot fetch`) into a fresh clone of it, under another HOME."""
    bare = tmp_path / "shared.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(repo.path, "remote", "add", "origin", str(bare))
    git(repo.path, "push", "-q", "origin", "main")
    git_ot(repo.path, hermetic, "approve", sid)
    git_ot(repo.path, hermetic, "push")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(bare), str(clone))
    home = another_home(tmp_path, hermetic)
    git_ot(clone, home, "fetch")
    listed = json.loads(git_ot(clone, home, "trace", "list", "--json").stdout)["sessions"]
    assert [r["session"] for r in listed] == [sid]
    return clone, home


def test_resume_from_a_fresh_clone_with_another_home(claude_bin, repo, hermetic, session, tmp_path):
    sid, step, _ = session
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo.path), str(clone))
    home = another_home(tmp_path, hermetic)
    git_ot(clone, home, "fetch")
    _, bodies = resume_and_continue(claude_bin, clone, home, f"{sid}:{step}", tmp_path / "resumed")
    check_context(bodies)
    assert (tmp_path / "resumed" / "app.py").read_text() == APP_A


def test_bad_input_is_one_clear_line(repo, hermetic, session):
    sid, _, steps = session
    cases = {
        f"{sid}:{len(steps) + 1}": f"error: session {sid[:12]} has no step {len(steps) + 1}",
        "nosuchsession:1": "error: no session matches 'nosuchsession'",
        f"{sid}:0": f"error: invalid step '0' in '{sid}:0'",
        f"{sid}:@3": f"error: session {sid[:12]} has no prompt 3",
    }
    for spec, line in cases.items():
        for cmd in (["ctx", "show", spec], ["ctx", "resume", spec]):
            proc = git_ot(repo.path, hermetic, *cmd, ok=False)
            assert proc.returncode == 1
            assert proc.stderr.splitlines()[0] == line, proc.stderr


# -- Pi ----------------------------------------------------------------------

def pi(pi_bin, cwd, home, prompt, script, extra=()) -> tuple[str, list[dict]]:
    """One `pi -p` run against the scripted model; what it printed and the request bodies."""
    agent_dir = home / "pi-agent"
    agent_dir.mkdir(parents=True, exist_ok=True)
    with ScriptedModel(script) as model:
        (agent_dir / "models.json").write_text(json.dumps({"providers": {"fake": {
            "baseUrl": model.url, "api": "anthropic-messages", "apiKey": "sk-ant-test",
            "models": [{"id": "claude-scripted", "name": "Claude Scripted", "reasoning": False,
                        "contextWindow": 200000, "maxTokens": 8192}]}}}))
        env = _env(home, PI_CODING_AGENT_DIR=str(agent_dir), PI_OFFLINE="1")
        proc = subprocess.run([pi_bin, "-p", *extra, "--provider", "fake", "--model", "claude-scripted",
                               prompt], cwd=cwd, env=env, capture_output=True, text=True, timeout=180,
                              stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"pi failed: {proc.stderr}\n{proc.stdout}"
    return proc.stdout, [r["body"] for r in model.requests if r["tools"]]


def resume_in_pi(pi_bin, cwd, home, spec, worktree, *extra) -> tuple[dict, list[dict]]:
    agent_dir = home / "pi-agent"
    out = json.loads(git_ot(cwd, home, "ctx", "resume", spec, *extra, "--worktree", str(worktree), "--json",
                            env={"PI_CODING_AGENT_DIR": str(agent_dir)}).stdout)
    assert out["harness"] == "pi" and out["cwd"] == os.path.realpath(worktree)
    assert out["command"] == f"pi --session {out['session']}"
    folder = agent_dir / "sessions" / ("--" + out["cwd"].lstrip("/").replace("/", "-") + "--")
    [written] = list(folder.glob(f"*_{out['session']}.jsonl"))
    header = json.loads(written.read_text().splitlines()[0])
    assert (header["type"], header["version"], header["id"], header["cwd"]) == \
        ("session", 3, out["session"], out["cwd"])
    assert header["parentSession"] == spec.split(":")[0]
    # Pi's history holds A's two replies; C is answered next.
    script = [{"text": "unused"}, {"text": "unused"}, {"text": "Answer to C."}]
    printed, bodies = pi(pi_bin, out["cwd"], home, "PROMPT-C what did you do?", script,
                         extra=("--session", out["session"]))
    assert printed.strip() == "Answer to C."
    return out, bodies


def test_claude_code_reposed_into_pi(pi_bin, repo, hermetic, session, tmp_path):
    sid, step, _ = session
    worktree = tmp_path / "in-pi"
    _, bodies = resume_in_pi(pi_bin, repo.path, hermetic, f"{sid}:{step}", worktree, "--into", "pi")
    check_context(bodies)
    assert (worktree / "app.py").read_text() == APP_A


@pytest.fixture
def pi_session(pi_bin, repo, hermetic) -> tuple[str, int]:
    """A captured Pi session of two prompts: A adds farewell(), B rewrites greet()."""
    git_ot(repo.path, hermetic, "init")
    git_ot(repo.path, hermetic, "install", "pi", "--scope", "project")
    app = str(repo.path / "app.py")
    script = [
        {"say": "Adding farewell.", "tool": "write", "input": {"path": app, "content": APP_A}},
        {"text": "Added farewell (reply A)."},
        {"say": "Rewriting greet.", "tool": "write",
         "input": {"path": app, "content": 'def greet(name):\n    return "HELLO-B " + name\n'}},
        {"text": "Rewrote greet (reply B)."},
    ]
    pi(pi_bin, repo.path, hermetic, "PROMPT-A add a farewell function", script)
    pi(pi_bin, repo.path, hermetic, "PROMPT-B rewrite greet", script, extra=("-c",))
    [sid] = [r["session"] for r in json.loads(git_ot(repo.path, hermetic, "trace", "list", "--json").stdout)["sessions"]]
    steps = json.loads(git_ot(repo.path, hermetic, "trace", "show", sid, "--json").stdout)["steps"]
    [b] = [s for s in steps if s["kind"] == "prompt" and "PROMPT-B" in s["text"]]
    return sid, b["n"] - 1


def test_pi_session_resumed_in_pi(pi_bin, repo, hermetic, pi_session, tmp_path):
    sid, step = pi_session
    worktree = tmp_path / "resumed"
    _, bodies = resume_in_pi(pi_bin, repo.path, hermetic, f"{sid}:{step}", worktree)
    check_context(bodies)
    assert (worktree / "app.py").read_text() == APP_A
    assert (repo.path / "app.py").read_text() == 'def greet(name):\n    return "HELLO-B " + name\n'


def test_pi_session_resumed_from_a_fresh_clone_with_another_home(pi_bin, repo, hermetic, pi_session,
                                                                  tmp_path):
    sid, step = pi_session
    clone, home = shared_clone(repo, hermetic, sid, tmp_path)
    worktree = tmp_path / "resumed"
    _, bodies = resume_in_pi(pi_bin, clone, home, f"{sid}:{step}", worktree)
    check_context(bodies)
    assert (worktree / "app.py").read_text() == APP_A
    assert (clone / "app.py").read_text() == 'def greet(name):\n    return "hi " + name\n'


# -- Codex -------------------------------------------------------------------

@pytest.fixture(scope="session")
def codex_bin(tmp_path_factory) -> str:
    return agents.require("codex", tmp_path_factory.mktemp("codex-version-home"))


def codex_home(home) -> Path:
    """`home`'s CODEX_HOME, configured for the scripted server (once: it
    also holds the hooks' trust)."""
    from support.scripted_responses import codex_config

    folder = home / ".codex"
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "config.toml").exists():
        # The server's port changes with every run: `-c` gives it to Codex.
        (folder / "config.toml").write_text(codex_config("http://127.0.0.1:9/v1"))
    return folder


def codex(codex_bin, cwd, home, *args, script=None) -> tuple[str, list[dict]]:
    """One `codex exec` run against the scripted server; its last message and the request bodies."""
    from support.scripted_responses import ScriptedResponses

    folder = codex_home(home)
    with ScriptedResponses(script or [{"text": "Answer to C."}] * 20) as model:
        env = _env(home, CODEX_HOME=str(folder), SCRIPTED_API_KEY="sk-test")
        proc = subprocess.run([codex_bin, "exec", "-c", f'model_providers.scripted.base_url="{model.url}"',
                               "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox", *args],
                              cwd=cwd, env=env, capture_output=True, text=True, timeout=180,
                              stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"codex failed: {proc.stderr}\n{proc.stdout}"
    wait_for_background_seals(cwd)
    return proc.stdout.strip(), [r["body"] for r in model.requests if r["tools"]]


def check_codex_context(body: dict) -> dict:
    """The request Codex sent after the resume: A, its tool call and result,
    A's closing words, then C; nothing of B. The call."""
    items = [i for i in body["input"] if i.get("role") != "developer"]
    flat = [json.dumps(i) for i in items]
    a = [n for n, t in enumerate(flat) if "PROMPT-A add a farewell function" in t]
    call = [n for n, i in enumerate(items) if i.get("type") in ("function_call", "custom_tool_call")
            and "def farewell(name):" in (i.get("arguments") or i.get("input") or "")]
    result = [n for n, i in enumerate(items) if i.get("type") in ("function_call_output", "custom_tool_call_output")]
    reply = [n for n, t in enumerate(flat) if "reply A" in t]
    c = [n for n, t in enumerate(flat) if "PROMPT-C what did you do?" in t]
    assert len(a) == len(call) == len(result) == len(reply) == len(c) == 1, flat
    assert a[0] < call[0] < result[0] < reply[0] < c[0]
    assert items[result[0]]["call_id"] == items[call[0]]["call_id"]
    assert not any("PROMPT-B" in t or "HELLO-B" in t or "reply B" in t for t in flat)
    return items[call[0]]


def test_claude_code_reposed_into_codex(codex_bin, repo, hermetic, session, tmp_path):
    sid, step, _ = session
    # Codex has run here before: its state database exists, and the new
    # thread must be found through it.
    codex(codex_bin, tmp_path, hermetic, "warm up")
    assert (hermetic / ".codex" / "state_5.sqlite").exists()
    worktree = tmp_path / "in-codex"
    out = json.loads(git_ot(repo.path, hermetic, "ctx", "resume", f"{sid}:{step}", "--into", "codex",
                            "--worktree", str(worktree), "--json",
                            env={"CODEX_HOME": str(hermetic / ".codex")}).stdout)
    assert out["harness"] == "codex" and out["command"] == f"codex resume {out['session']}"
    printed, bodies = codex(codex_bin, out["cwd"], hermetic, "resume", out["session"], "PROMPT-C what did you do?")
    assert printed == "Answer to C."
    call = check_codex_context(bodies[-1])
    assert (call["type"], call["name"]) == ("function_call", "Write")
    assert (worktree / "app.py").read_text() == APP_A


APP_PATCH_A = ("*** Begin Patch\n*** Update File: app.py\n@@\n     return \"hi \" + name\n+\n+\n"
               "+def farewell(name):\n+    return \"bye \" + name\n*** End Patch\n")
APP_PATCH_B = ("*** Begin Patch\n*** Update File: app.py\n@@ def greet(name):\n-    return \"hi \" + name\n"
               "+    return \"HELLO-B \" + name\n*** End Patch\n")


@pytest.fixture
def codex_session(codex_bin, repo, hermetic) -> tuple[str, int]:
    """A Codex session captured live by its hooks, of two prompts: A adds
    farewell() with apply_patch, B (`codex exec resume --last`) rewrites greet()."""
    # With codex on PATH, the install records Codex's trust in the hooks.
    env = {"CODEX_HOME": str(codex_home(hermetic)),
           "PATH": os.path.dirname(codex_bin) + os.pathsep + _env(hermetic)["PATH"]}
    git_ot(repo.path, hermetic, "init")
    git_ot(repo.path, hermetic, "install", "codex", env=env)
    script = [
        {"say": "Adding farewell.", "tool": "apply_patch", "input": APP_PATCH_A},
        {"text": "Added farewell (reply A)."},
        {"say": "Rewriting greet.", "tool": "apply_patch", "input": APP_PATCH_B},
        {"text": "Rewrote greet (reply B)."},
    ]
    printed, _ = codex(codex_bin, repo.path, hermetic, "PROMPT-A add a farewell function", script=script)
    assert printed == "Added farewell (reply A)."
    printed, _ = codex(codex_bin, repo.path, hermetic, "resume", "--last", "PROMPT-B rewrite greet", script=script)
    assert printed == "Rewrote greet (reply B)."
    [listed] = json.loads(git_ot(repo.path, hermetic, "trace", "list", "--json").stdout)["sessions"]
    sid = listed["session"]
    steps = json.loads(git_ot(repo.path, hermetic, "trace", "show", sid, "--json").stdout)["steps"]
    assert [(s["kind"], s.get("name") or s.get("text")) for s in steps] == [
        ("prompt", "PROMPT-A add a farewell function"), ("tool", "apply_patch"),
        ("message", "Added farewell (reply A)."), ("prompt", "PROMPT-B rewrite greet"), ("tool", "apply_patch"),
        ("message", "Rewrote greet (reply B).")]
    assert (repo.path / "app.py").read_text() == 'def greet(name):\n    return "HELLO-B " + name\n\n\n' \
        'def farewell(name):\n    return "bye " + name\n'
    return sid, 3


def resume_in_codex(codex_bin, cwd, home, spec, worktree) -> list[dict]:
    """`git ot ctx resume` of a Codex session into Codex, then C sent to it; the request bodies."""
    env = {"CODEX_HOME": str(codex_home(home))}
    out = json.loads(git_ot(cwd, home, "ctx", "resume", spec, "--worktree", str(worktree), "--json",
                            env=env).stdout)
    assert out["harness"] == "codex" and out["cwd"] == os.path.realpath(worktree)
    assert out["command"] == f"codex resume {out['session']}" and out["not_carried"] == []
    [rollout] = (home / ".codex" / "sessions").rglob(f"rollout-*-{out['session']}.jsonl")
    meta = json.loads(rollout.read_text().splitlines()[0])
    assert (meta["type"], meta["payload"]["id"], meta["payload"]["cwd"]) == ("session_meta", out["session"], out["cwd"])
    printed, bodies = codex(codex_bin, out["cwd"], home, "resume", out["session"], "PROMPT-C what did you do?")
    assert printed == "Answer to C."
    return bodies


APP_CODEX_A = 'def greet(name):\n    return "hi " + name\n\n\ndef farewell(name):\n    return "bye " + name\n'


def test_codex_session_resumed_in_codex(codex_bin, repo, hermetic, codex_session, tmp_path):
    sid, step = codex_session
    assert json.loads(git_ot(repo.path, hermetic, "ctx", "show", f"{sid}:@2", "--json").stdout)["step"] == step
    worktree = tmp_path / "resumed"
    bodies = resume_in_codex(codex_bin, repo.path, hermetic, f"{sid}:{step}", worktree)
    call = check_codex_context(bodies[-1])
    # Codex's own apply_patch call goes back as it made it: its patch as text.
    assert (call["type"], call["name"], call["input"]) == ("custom_tool_call", "apply_patch", APP_PATCH_A)
    assert (worktree / "app.py").read_text() == APP_CODEX_A
    assert "HELLO-B" in (repo.path / "app.py").read_text()


def test_codex_session_resumed_from_a_fresh_clone_with_another_home(codex_bin, repo, hermetic, codex_session,
                                                                     tmp_path):
    sid, step = codex_session
    clone, home = shared_clone(repo, hermetic, sid, tmp_path)
    worktree = tmp_path / "resumed"
    bodies = resume_in_codex(codex_bin, clone, home, f"{sid}:{step}", worktree)
    check_codex_context(bodies[-1])
    assert (worktree / "app.py").read_text() == APP_CODEX_A
