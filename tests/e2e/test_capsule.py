"""`git ot capsule` with the real Claude Code CLI: a failing step, sealed and replayed elsewhere.

A small application pins `tinylib==1.0`, whose `add` subtracts. The
agent's shell call runs the application against it and fails. The episode
is sealed into a capsule; the original repository is moved away; in
another HOME and directory the capsule opens, `replay` rebuilds the
environment from the recorded pins (pip pointed at wheels built here, no
network) and says `reproduces`, and `replay --with tinylib==1.1` says
`fixed` (flipped). The secrets of the session's prompt and outputs are in
no byte of the capsule, nor in any object in it once decompressed. The
capsule carries the step's context: `git ot ctx resume` works inside it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from support import agents
from support.repo import git
from support.scripted_model import ScriptedModel
from support.seals import wait_for_background_seals
from support.spec import load_schema

pytestmark = pytest.mark.e2e

# Secrets the gate knows by their shape (an AWS access key id, a GitHub token).
PROMPT_SECRET = "AKIAQ7ZK2M4XWTB9RJ5N"
OUTPUT_SECRET = "ghp_" + "R8a2Kd9ZqL4mX7vN1cT6wB3yH5pJ0sEfGuQi"
APP = ("import tinylib\n\n"
       "total = tinylib.add(2, 2)\n"
       "print('2 + 2 =', total)\n"
       "assert total == 4, 'tinylib.add is wrong'\n")
LIB = {"1.0": "def add(a, b):\n    return a - b\n",
       "1.1": "def add(a, b):\n    return a + b\n"}


def wheel(folder: Path, version: str) -> Path:
    """tinylib's wheel of `version`, written by hand (no build, no network)."""
    files = {
        "tinylib/__init__.py": LIB[version],
        f"tinylib-{version}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: tinylib\nVersion: {version}\n",
        f"tinylib-{version}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                                             "Tag: py3-none-any\n",
    }
    record = []
    for name, text in files.items():
        data = text.encode()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    files[f"tinylib-{version}.dist-info/RECORD"] = "\n".join(record + [f"tinylib-{version}.dist-info/RECORD,,"]) + "\n"
    path = folder / f"tinylib-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return path


@pytest.fixture(scope="session")
def claude_bin(tmp_path_factory) -> str:
    return agents.require("claude-code", tmp_path_factory.mktemp("claude-version-home"))


def _env(home: Path, **extra) -> dict:
    env = agents.clean_env()
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    for key in ("VIRTUAL_ENV", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_NO_INDEX"):
        env.pop(key, None)
    return {**env, "HOME": str(home), **extra}


def git_ot(cwd, home, *args, status=0, env=None) -> subprocess.CompletedProcess:
    proc = subprocess.run(["git", "ot", *args], cwd=cwd, env={**_env(home), **(env or {})},
                          capture_output=True, text=True)
    assert proc.returncode == status, proc.stdout + proc.stderr
    return proc


def claude(claude_bin, cwd, home, prompt, script, extra_env=None) -> dict:
    args = [claude_bin, "-p", prompt, "--dangerously-skip-permissions", "--output-format", "json"]
    with ScriptedModel(script) as model:
        env = _env(home, ANTHROPIC_BASE_URL=model.url, ANTHROPIC_API_KEY="sk-ant-test",
                   CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1", IS_SANDBOX="1", **(extra_env or {}))
        proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=180,
                              stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"claude failed: {proc.stderr}\n{proc.stdout}"
    wait_for_background_seals(cwd)
    result = json.loads(proc.stdout)
    assert not result.get("is_error"), result
    return result


def every_object(bundle: Path, scratch: Path) -> list[bytes]:
    """The content of every object the bundle holds, decompressed."""
    repo = scratch / "unbundled.git"
    git(scratch, "init", "-q", "--bare", str(repo))
    git(repo, "bundle", "unbundle", str(bundle))
    proc = subprocess.run(["git", "cat-file", "--batch-all-objects", "--batch", "--unordered"], cwd=repo,
                          capture_output=True, check=True)
    return [proc.stdout]


@pytest.fixture
def sealed(claude_bin, repo, hermetic, tmp_path):
    """A session whose shell call fails on tinylib 1.0, sealed: (capsule, session, step, wheels)."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    wheel(wheels, "1.0")
    wheel(wheels, "1.1")
    repo.write("app.py", APP)
    repo.write("requirements.txt", "tinylib==1.0\n")
    repo.write(".gitignore", ".venv/\n")
    repo.commit("the application")
    pip_env = _env(hermetic, PIP_NO_INDEX="1", PIP_FIND_LINKS=str(wheels))
    subprocess.run([sys.executable, "-m", "venv", str(repo.path / ".venv")], check=True, env=pip_env)
    subprocess.run([str(repo.path / ".venv" / "bin" / "python"), "-m", "pip", "install", "-q",
                    "--disable-pip-version-check", "-r", "requirements.txt"],
                   cwd=repo.path, check=True, env=pip_env)
    git_ot(repo.path, hermetic, "init")
    git_ot(repo.path, hermetic, "install", "claude-code", "--scope", "project")
    script = [
        {"say": "Checking the deployment token.", "tool": "Bash", "input": {"command": 'echo "$DEPLOY_TOKEN"'}},
        {"say": "Running the application.", "tool": "Bash", "input": {"command": ".venv/bin/python app.py"}},
        {"text": "The application fails: tinylib.add is wrong."},
    ]
    result = claude(claude_bin, repo.path, hermetic,
                    f"run the app and tell me why it fails; the AWS key is {PROMPT_SECRET}", script,
                    extra_env={"DEPLOY_TOKEN": OUTPUT_SECRET})
    sid = result["session_id"]
    steps = json.loads(git_ot(repo.path, hermetic, "trace", "show", sid, "--json").stdout)["steps"]
    [run] = [s for s in steps if s["kind"] == "tool" and "app.py" in json.dumps(s["input"])]
    assert run["status"] == "error"
    out = tmp_path / "out"
    out.mkdir()
    seal = json.loads(git_ot(repo.path, hermetic, "capsule", "seal", sid, "--verdict", ".venv/bin/python app.py",
                             "--output", str(out / "bug.capsule"), "--json").stdout)
    assert seal["file"] == str(out / "bug.capsule") and seal["session"] == sid
    # The default step is the last failing tool call.
    assert seal["step"] == run["n"]
    assert seal["failure"]["command"] == ".venv/bin/python app.py"
    assert seal["failure"]["exit_status"] == 1
    assert "AssertionError: tinylib.add is wrong" in seal["failure"]["output"]
    assert seal["pins"] == len(seal_pins(repo.path))
    return out / "bug.capsule", sid, run["n"], wheels


def seal_pins(top: Path) -> list[str]:
    """What pip itself says is installed in the source environment (pip left out)."""
    proc = subprocess.run([str(top / ".venv" / "bin" / "python"), "-m", "pip", "list", "--format=json",
                           "--disable-pip-version-check"], capture_output=True, text=True, check=True)
    return sorted(f"{d['name']}=={d['version']}" for d in json.loads(proc.stdout) if d["name"] != "pip")


def test_seal_open_replay_elsewhere_reproduces_then_fixed(sealed, repo, hermetic, tmp_path, claude_bin):
    capsule, sid, step, wheels = sealed
    pins = seal_pins(repo.path)
    assert "tinylib==1.0" in pins
    # The original repository goes away; another user, another HOME, another directory.
    shutil.move(str(repo.path), str(tmp_path / "moved-away"))
    repo.damaged = True  # moved: the fixture's fsck has nothing to check
    home = tmp_path / "maintainer-home"
    home.mkdir()
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(capsule, elsewhere / "bug.capsule")

    opened = git_ot(elsewhere, home, "capsule", "open", "bug.capsule", "--json")
    info = json.loads(opened.stdout)
    where = elsewhere / "bug"
    assert info["directory"] == str(where) and info["session"] == sid and info["step"] == step
    assert (where / "app.py").read_text() == APP
    assert (where / "requirements.txt").read_text() == "tinylib==1.0\n"
    assert not (where / ".venv").exists()
    assert git(where, "status", "--porcelain") == ""

    shown = json.loads(git_ot(where, home, "capsule", "show", "--json").stdout)
    jsonschema_validate(shown)
    assert shown["intent"] == ["run the app and tell me why it fails; the AWS key is [REDACTED:aws-access-key]"]
    assert shown["failure"]["command"] == ".venv/bin/python app.py"
    assert shown["failure"]["exit_status"] == 1
    assert [i["kind"] for i in shown["trajectory"]][0] == "prompt"
    assert shown["trajectory"][-1]["n"] == step
    env = shown["environment"]["python_env"]
    assert env["path"] == ".venv"
    assert sorted(f"{p['name']}=={p['version']}" for p in env["pins"]) == pins
    text = git_ot(where, home, "capsule", "show").stdout.splitlines()
    assert text[0] == f"capsule of session {sid} at step {step}"
    assert f"failing step {step}: Bash .venv/bin/python app.py (exit 1)" in text
    assert "verdict: .venv/bin/python app.py" in text

    pip = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels)}
    again = json.loads(git_ot(where, home, "capsule", "replay", "--json", env=pip).stdout)
    assert (again["verdict"], again["flipped"]) == ("reproduces", False)
    assert again["recorded"]["exit_status"] == 1 and again["replayed"]["exit_status"] == 1
    assert "AssertionError: tinylib.add is wrong" in again["replayed"]["output"]
    assert "2 + 2 = 0" in again["replayed"]["output"]
    assert again["environment"]["path"] == ".venv"

    fixed = git_ot(where, home, "capsule", "replay", "--with", "tinylib==1.1", env=pip)
    assert fixed.stdout.splitlines()[:2] == [
        "fixed (flipped): the verdict command passes now (exit 0)",
        "recorded exit 1, replayed exit 0, with tinylib==1.1"]
    fixed = json.loads(git_ot(where, home, "capsule", "replay", "--with",
                              f"tinylib@{wheels / 'tinylib-1.1-py3-none-any.whl'}", "--json", env=pip).stdout)
    assert (fixed["verdict"], fixed["flipped"]) == ("fixed", True)
    assert "2 + 2 = 4" in fixed["replayed"]["output"]
    # The replay ran in a scratch copy: the opened checkout is as it was.
    assert git(where, "status", "--porcelain") == "" and not (where / ".venv").exists()

    # The capsule carries the step's context: a maintainer resumes from it.
    resumed = json.loads(git_ot(where, home, "ctx", "resume", f"{sid}:{step}", "--worktree",
                                str(tmp_path / "resumed"), "--json").stdout)
    assert resumed["harness"] == "claude-code"
    assert (tmp_path / "resumed" / "app.py").read_text() == APP
    [transcript] = list((home / ".claude" / "projects").rglob(resumed["session"] + ".jsonl"))
    lines = transcript.read_text()
    assert "run the app and tell me why it fails" in lines and "tinylib.add is wrong" in lines
    assert PROMPT_SECRET not in lines and OUTPUT_SECRET not in lines
    script = [{"text": "unused"}, {"text": "unused"}, {"text": "unused"}, {"text": "Resumed from the capsule."}]
    with ScriptedModel(script) as model:
        env = _env(home, ANTHROPIC_BASE_URL=model.url, ANTHROPIC_API_KEY="sk-ant-test",
                   CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1", IS_SANDBOX="1")
        proc = subprocess.run([claude_bin, "-p", "PROMPT-AFTER why?", "--dangerously-skip-permissions",
                               "--output-format", "json", "--resume", resumed["session"]],
                              cwd=resumed["cwd"], env=env, capture_output=True, text=True, timeout=180,
                              stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    bodies = [r["body"] for r in model.requests if r["path"].startswith("/v1/messages")
              and "count_tokens" not in r["path"] and r["tools"]]
    sent = json.dumps(bodies[-1]["messages"])
    assert "run the app and tell me why it fails" in sent and "tinylib.add is wrong" in sent
    assert "PROMPT-AFTER why?" in sent


def test_no_secret_leaves_in_the_capsule(sealed, repo, hermetic, tmp_path):
    capsule, sid, step, _ = sealed
    # The session as stored held them both before the gate: the prompt's and the tool output's.
    raw = capsule.read_bytes()
    objects = every_object(capsule, tmp_path)
    for secret in (PROMPT_SECRET, OUTPUT_SECRET):
        assert secret.encode() not in raw
        for content in objects:
            assert secret.encode() not in content
    # ... and what replaced them is there, so the scan read the right text.
    assert b"[REDACTED:aws-access-key]" in objects[0]
    assert b"[REDACTED:github-token]" in objects[0]


def jsonschema_validate(shown: dict) -> None:
    import jsonschema

    record = {k: v for k, v in shown.items() if k != "directory"}
    jsonschema.validate(record, load_schema("capsule"))
