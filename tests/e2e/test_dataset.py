"""Datasets from sessions the real Claude Code CLI made, to a published dataset repository.

Three `claude -p` sessions against the scripted model (tests/support/
scripted_model.py), with git-ot installed as a user installs it: one whose
work is committed and stays, one whose work is committed and then reverted,
one whose prompt holds an access key. The example workflow's rows carry
their survival; two are approved, one rejected; `dataset publish` pushes to
a local bare repository, and a clone of it holds exactly the two approved
rows and a card the Hub reads, and not one byte of the key or of the
rejected row in any object of its history.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from support import agents
from support import datasets as published
from support.repo import git
from support.scripted_model import ScriptedModel
from support.seals import wait_for_background_seals

pytestmark = pytest.mark.e2e

# An AWS access key id the gate's patterns detect (tests/gate/test_gate.py).
SECRET = "AKIA" + "ZXCVBNMLKJHGFD45"


@pytest.fixture(scope="session")
def claude_bin(tmp_path_factory) -> str:
    return agents.require("claude-code", tmp_path_factory.mktemp("claude-version-home"))


def _user_env() -> dict:
    env = agents.clean_env()
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


def git_ot(repo, *args) -> str:
    proc = subprocess.run(["git", "ot", *args], cwd=repo.path, env=_user_env(), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def claude(claude_bin, repo, home, prompt: str, script: list) -> str:
    """One `claude -p` session against the scripted model; its session id."""
    with ScriptedModel(script) as model:
        env = {**_user_env(), "HOME": str(home), "ANTHROPIC_BASE_URL": model.url,
               "ANTHROPIC_API_KEY": "sk-ant-test", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
               "IS_SANDBOX": "1"}
        proc = subprocess.run([claude_bin, "-p", prompt, "--dangerously-skip-permissions",
                               "--output-format", "json"], cwd=repo.path, env=env, capture_output=True,
                              text=True, timeout=180, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"claude failed ({proc.returncode}): {proc.stderr}\n{proc.stdout}"
    wait_for_background_seals(repo.path)
    result = json.loads(proc.stdout)
    assert not result.get("is_error"), result
    return result["session_id"]


def write(path, content: str, say: str = "Writing it.") -> list:
    return [{"say": say, "tool": "Write", "input": {"file_path": str(path), "content": content}},
            {"text": "Done."}]


def all_objects(path) -> bytes:
    """Every object of the repository's history, decompressed, one after another."""
    return subprocess.run(["git", "cat-file", "--batch-all-objects", "--batch"], cwd=path,
                          capture_output=True, check=True).stdout


def test_sessions_to_reviewed_rows_to_a_published_dataset(claude_bin, repo, hermetic, tmp_path):
    git_ot(repo, "init")
    git_ot(repo, "install", "claude-code", "--scope", "project")
    repo.git("add", ".claude")
    repo.git("commit", "-q", "-m", "git-ot for Claude Code")

    lands = claude(claude_bin, repo, hermetic, "add a farewell module",
                   write(repo.path / "farewell.py", 'def farewell(name):\n    return "bye " + name\n'))
    repo.git("add", "farewell.py")
    repo.git("commit", "-q", "-m", "farewell")

    reverted = claude(claude_bin, repo, hermetic, "add a shout helper",
                      write(repo.path / "shout.py", "def shout(s):\n    return s.upper() + '!'\n"))
    repo.git("add", "shout.py")
    repo.git("commit", "-q", "-m", "shout")
    repo.git("revert", "--no-edit", "HEAD")

    leaky = claude(claude_bin, repo, hermetic, f"note the deploy key {SECRET} in DEPLOY.md",
                   write(repo.path / "DEPLOY.md", "Deploy with the key in the vault.\n"))
    repo.git("add", "DEPLOY.md")
    repo.git("commit", "-q", "-m", "deploy notes")

    assert repo.cli("dataset", "new", "sessions").returncode == 0
    run = repo.cli_json("dataset", "run", "sessions")
    assert (run["sessions"], run["rows"], run["new"], run["blocked"]) == (3, 3, 3, [])
    rows = {}
    for r in repo.cli_json("dataset", "review", "sessions")["rows"]:
        rec = repo.cli_json("dataset", "review", "sessions", r["id"])
        rows[rec["sessions"][0]] = rec
    assert rows[lands]["row"] == {"session": lands, "prompt": "add a farewell module",
                                  "files": ["farewell.py"], "survival": "alive_on_path"}
    assert rows[reverted]["row"] == {"session": reverted, "prompt": "add a shout helper",
                                     "files": ["shout.py"], "survival": "reverted"}
    # The key never reached the session (redacted at seal), so not the row either.
    assert rows[leaky]["row"] == {"session": leaky,
                                  "prompt": "note the deploy key [REDACTED:aws-access-key] in DEPLOY.md",
                                  "files": ["DEPLOY.md"], "survival": "alive_on_path"}
    assert {r["status"] for r in rows.values()} == {"inbox"}
    # Every stored record has the shape refs/schemas/datasets.schema.json gives.
    from support.spec import validate

    for rec in rows.values():
        validate("datasets", {"schema": "git-ot/datasets", "v": 1, **rec})

    assert repo.cli("dataset", "approve", "sessions", rows[lands]["id"][:8],
                    rows[reverted]["id"][:8]).stdout.decode() == "approved 2 rows\n"
    assert repo.cli("dataset", "reject", "sessions", rows[leaky]["id"]).stdout.decode() == "rejected 1 row\n"

    bare = tmp_path / "hub.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    out = repo.cli_json("dataset", "publish", "sessions", "--to", str(bare))
    assert out["rows"] == 2

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(bare), str(clone))
    assert sorted(git(clone, "ls-files").split()) == ["README.md", published.data_file(clone)]
    data = published.rows(clone)
    assert sorted(data, key=lambda r: r["session"]) == sorted([rows[lands]["row"], rows[reverted]["row"]],
                                                              key=lambda r: r["session"])
    card = (clone / "README.md").read_text()
    assert card.startswith("---\n")
    _, front, body = card.split("---\n", 2)
    meta = yaml.safe_load(front)
    assert meta == {"license": "mit", "task_categories": ["text-generation"],
                    "configs": [{"config_name": "default",
                                 "data_files": [{"split": "train", "path": "data/train-*"}]}]}
    assert body.lstrip().startswith("# sessions\n")

    assert git(clone, "log", "--format=%s").splitlines() == ["Publish 2 rows of dataset sessions (train split)"]
    history = all_objects(clone)
    assert SECRET.encode() not in history
    rejected = rows[leaky]["row"]
    for piece in (json.dumps(rejected, sort_keys=True, ensure_ascii=False), rejected["prompt"], leaky,
                  "DEPLOY.md", rows[leaky]["id"]):
        assert piece.encode() not in history, piece
