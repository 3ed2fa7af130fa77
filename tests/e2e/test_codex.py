"""The real Codex CLI, with git-ot installed as a user installs it.

Each test starts the project's scripted Responses server
(tests/support/scripted_responses.py) on 127.0.0.1, runs `git ot init` and
`git ot install codex` in a scratch repository through the installed
`git ot` command, then drives `codex exec` (npm @openai/codex, pinned in
tests/support/agents.py and installed by .ci/run) with a scratch HOME and
CODEX_HOME, and checks what landed under refs/opentraces/: the steps, the
prompts, the tool calls, each step's patch and what `git ot blame` says.

Codex runs no hook it has not been told to trust; `git ot install codex`
records that trust, so every run here goes without
`--dangerously-bypass-hook-trust`. Without the CLI these tests fail; set
GIT_OT_SKIP_E2E=1 to skip them on a machine without npm.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support import agents, hookcommands
from support.seals import wait_for_background_seals
from support.repo import Repo, git
from support.scripted_responses import ScriptedResponses, codex_config

pytestmark = pytest.mark.e2e

EVENTS = ["SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop", "Interrupt",
          "SubagentStart", "SubagentStop", "PreCompact", "PostCompact", "SessionEnd"]


@pytest.fixture(scope="session")
def codex_bin(tmp_path_factory) -> str:
    return agents.require("codex", tmp_path_factory.mktemp("codex-version-home"))


class Codex:
    """Codex with a scratch HOME and CODEX_HOME, pointed at the scripted server."""

    def __init__(self, codex: str, home: Path):
        self.codex = codex
        self.home = home
        self.codex_home = home / ".codex"
        self.codex_home.mkdir(parents=True, exist_ok=True)
        # The server's port changes with every run: `-c` gives it to Codex.
        (self.codex_home / "config.toml").write_text(codex_config("http://127.0.0.1:9/v1"))

    def env(self, codex_on_path: bool = True) -> dict:
        """A user's environment: git-ot (and codex) on PATH, this HOME and CODEX_HOME."""
        env = agents.clean_env()
        path = [d for d in env.get("PATH", "").split(os.pathsep)
                if d and not os.path.exists(os.path.join(d, "codex"))]
        env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable)]
                                      + ([os.path.dirname(self.codex)] if codex_on_path else []) + path)
        env.update(HOME=str(self.home), CODEX_HOME=str(self.codex_home), SCRIPTED_API_KEY="sk-test")
        return env

    def git_ot(self, cwd: Path, *args, codex_on_path: bool = True) -> str:
        proc = subprocess.run(["git", "ot", *args], cwd=cwd, env=self.env(codex_on_path),
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    def run(self, cwd: Path, prompt: str, script: list, resume: bool = False, *options: str) -> str:
        """One `codex exec` against the scripted server; its last message."""
        with ScriptedResponses(script) as model:
            args = [self.codex, "exec", "-c", f'model_providers.scripted.base_url="{model.url}"',
                    "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox", *options]
            args += ["resume", "--last", prompt] if resume else [prompt]
            proc = subprocess.run(args, cwd=cwd, env=self.env(), capture_output=True, text=True,
                                  timeout=180, stdin=subprocess.DEVNULL)
        assert proc.returncode == 0, f"codex failed ({proc.returncode}): {proc.stderr}\n{proc.stdout}"
        wait_for_background_seals(cwd)
        assert model.requests, "codex never called the scripted server"
        return proc.stdout.strip()

    def rollouts(self) -> list[Path]:
        return sorted((self.codex_home / "sessions").rglob("rollout-*.jsonl"))


def session_refs(repo: Repo) -> list[str]:
    return git(repo.path, "for-each-ref", "--format=%(refname)", "refs/opentraces/").split()


def sealed_steps(repo: Repo, sid: str) -> list[dict]:
    """The sealed steps, checking first that the hooks sealed them all."""
    assert session_refs(repo) == [f"refs/opentraces/sessions/{sid}"]
    spool = repo.path / ".git" / "opentraces" / "spool"
    assert not spool.exists() or not [n for n in os.listdir(spool) if n.endswith((".jsonl", ".sealing"))]
    log = repo.path / ".git" / "opentraces" / "log"
    assert not log.exists(), log.read_text()
    return repo.ot_json("trace", "show", sid)["steps"]


def shape(steps: list[dict]) -> list[tuple]:
    return [(s["n"], s["kind"], s.get("name") or s.get("text")) for s in steps]


def patches(steps: list[dict]) -> dict[int, list[tuple]]:
    return {s["n"]: [(f["status"], f["path"], f["added"], f["removed"], f["hunks"])
                     for f in s["patch"]["files"]]
            for s in steps if "patch" in s}


def blame(repo: Repo, path: str) -> list[tuple]:
    """Per line: its text and who wrote it (the session as `S`, which differs per run)."""
    out = []
    for row in repo.ot_json("blame", path)["lines"]:
        a = row["attribution"]
        who = (("agent", a["harness"], a["model"], a["step"], a["prompt"], a["prompt_step"])
               if a["kind"] == "agent" else (a["kind"], a.get("reason")))
        out.append((row["content"], who))
    return out


FAREWELL = ("*** Begin Patch\n*** Update File: app.py\n@@\n     return \"hi \" + name\n+\n+\n"
            "+def farewell(name):\n+    return \"bye \" + name\n*** End Patch\n")
TEST_APP = ("*** Begin Patch\n*** Add File: test_app.py\n+from app import greet, farewell\n+\n+\n"
            "+def test_greet():\n+    assert greet(\"a\") == \"hi a\"\n*** End Patch\n")
POLITE = ("*** Begin Patch\n*** Update File: app.py\n@@ def greet(name):\n-    return \"hi \" + name\n"
          "+    return \"hello \" + name\n*** End Patch\n")


@pytest.fixture
def codex(codex_bin, hermetic):
    return Codex(codex_bin, hermetic)


@pytest.fixture
def installed(codex, repo):
    """`repo` with git-ot set up and installed into Codex (user scope), trust recorded."""
    assert codex.git_ot(repo.path, "init").splitlines()[-1] == f"git-ot is set up in {repo.path}/.git/hooks"
    out = codex.git_ot(repo.path, "install", "codex").splitlines()
    assert out == [f"{event}: installed, trusted" for event in EVENTS] + [
        f"Codex runs git-ot from {codex.codex_home}/hooks.json"]
    again = codex.git_ot(repo.path, "install", "codex", "--json")
    trust = json.loads(again)["trust"]
    assert (trust["trusted"], trust["events"]) == ([], {event: "already trusted" for event in EVENTS})
    assert trust["already"] == sorted(f"{codex.codex_home}/hooks.json:{key}:0:0" for key in (
        "session_start", "user_prompt_submit", "pre_tool_use", "post_tool_use", "stop", "interrupt",
        "subagent_start", "subagent_stop", "pre_compact", "post_compact", "session_end"))
    status = codex.git_ot(repo.path, "status").splitlines()
    assert f"  codex        user     11 of 11 events, in {codex.codex_home}/hooks.json" in status
    assert status[-1] == "no problems found"
    return repo


def test_apply_patch_and_shell_over_two_prompts_with_resume(codex, installed):
    repo = installed
    script = [
        {"say": "I'll add a farewell function.", "tool": "apply_patch", "input": FAREWELL},
        {"say": "Adding a test.", "tool": "apply_patch", "input": TEST_APP},
        {"say": "Running it.", "tool": "exec_command", "input": {
            "cmd": "python3 -B -c 'import test_app; test_app.test_greet(); print(\"ok\")'"}},
        {"text": "Added farewell() with a test; it passes."},
        {"say": "Making greet polite.", "tool": "apply_patch", "input": POLITE},
        {"say": "Writing a config from the shell.", "tool": "exec_command", "input": {
            "cmd": "printf 'PORT = 8080\\n' > settings.py"}},
        {"text": "greet now says hello."},
    ]
    assert codex.run(repo.path, "add a farewell function with a test", script) == \
        "Added farewell() with a test; it passes."
    [rollout] = codex.rollouts()
    sid = rollout.name[-len("01a24356-cad1-7870-916c-0a418c1d6cb8.jsonl"):-len(".jsonl")]
    assert session_refs(repo) == [f"refs/opentraces/sessions/{sid}"]  # sealed once the turn ended
    assert codex.run(repo.path, "make greet say hello instead of hi", script, resume=True) == \
        "greet now says hello."
    assert codex.rollouts() == [rollout]  # a resumed thread appends to its rollout

    steps = sealed_steps(repo, sid)
    assert shape(steps) == [
        (1, "prompt", "add a farewell function with a test"),
        (2, "tool", "apply_patch"), (3, "tool", "apply_patch"), (4, "tool", "Bash"),
        (5, "message", "Added farewell() with a test; it passes."),
        (6, "prompt", "make greet say hello instead of hi"),
        (7, "tool", "apply_patch"), (8, "tool", "Bash"),
        (9, "message", "greet now says hello."),
    ]
    assert all(s["status"] == "ok" for s in steps if s["kind"] == "tool")
    assert steps[1]["input"] == {"command": FAREWELL}
    assert steps[3]["input"] == {"command": "python3 -B -c 'import test_app; test_app.test_greet(); print(\"ok\")'"}
    assert steps[3]["output"] == "ok\n"
    assert len({s["tool_use_id"] for s in steps if s["kind"] == "tool"}) == 5
    assert patches(steps) == {
        2: [("M", "app.py", 4, 0, [[2, 0, 3, 4]])],
        3: [("A", "test_app.py", 5, 0, [[0, 0, 1, 5]])],
        4: [],
        7: [("M", "app.py", 1, 1, [[2, 1, 2, 1]])],
        8: [("A", "settings.py", 1, 0, [[0, 0, 1, 1]])],
    }
    manifest = repo.ot_json("trace", "list")["sessions"][0]
    assert (manifest["harness"], manifest["models"], manifest["prompts"], manifest["tools"]) == \
        ("codex", ["gpt-5.5"], 2, 5)

    lines = repo.ot_json("blame", "app.py")["lines"]
    assert [(r["content"], r["attribution"].get("session"), r["attribution"].get("step"),
             r["attribution"].get("prompt")) for r in lines] == [
        ("def greet(name):", None, None, None),
        ('    return "hello " + name', sid, 7, "make greet say hello instead of hi"),
        ("", sid, 2, "add a farewell function with a test"),
        ("", sid, 2, "add a farewell function with a test"),
        ("def farewell(name):", sid, 2, "add a farewell function with a test"),
        ('    return "bye " + name', sid, 2, "add a farewell function with a test"),
    ]
    assert {r["attribution"].get("harness") for r in lines[1:]} == {"codex"}

    # The rollout imported over the live capture: merged, nothing doubled;
    # what the hooks never saw (the words between tools) is added after.
    out = codex.git_ot(repo.path, "import", "codex").splitlines()
    assert out[0] == f"{sid}: 59 lines: 20 as steps, 39 kept raw, 0 skipped; merged into the live capture"
    merged = repo.ot_json("trace", "show", sid)["steps"]
    assert shape(merged) == shape(steps) + [
        (10, "message", "I'll add a farewell function."), (11, "message", "Adding a test."),
        (12, "message", "Running it."), (13, "message", "Making greet polite."),
        (14, "message", "Writing a config from the shell."),
    ]
    assert patches(merged) == patches(steps)
    assert merged[9]["usage"] == {"input_tokens": 100, "output_tokens": 20, "cache_read_input_tokens": 0,
                                  "cache_creation_input_tokens": 0}


# Tool calls without words: the hooks see no text between tools, so an
# import of the same session has the same steps as its live capture.
SILENT = [
    {"tool": "apply_patch", "input": FAREWELL},
    {"tool": "apply_patch", "input": TEST_APP},
    {"text": "Added farewell() with a test."},
    {"tool": "apply_patch", "input": POLITE},
    {"text": "greet now says hello."},
]


def _two_prompts(codex: Codex, repo: Repo) -> None:
    codex.run(repo.path, "add a farewell function with a test", SILENT)
    codex.run(repo.path, "make greet say hello instead of hi", SILENT, resume=True)
    # Committed after the session, as the import looks for the commits
    # made since its work began (the pinned date of the tests is long before).
    now = f"{int(time.time()) + 1} +0000"
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "farewell, politely",
             env={**os.environ, "GIT_AUTHOR_DATE": now, "GIT_COMMITTER_DATE": now})


def test_import_into_another_clone_gives_the_blame_of_live_capture(codex_bin, codex, installed, tmp_path):
    live = installed
    _two_prompts(codex, live)

    # The same work where git-ot was never installed ...
    plain = Repo(tmp_path / "plain")
    plain.path.mkdir()
    git(plain.path, "init", "-q")
    plain.write("app.py", 'def greet(name):\n    return "hi " + name\n')
    plain.write("README.md", "readme\n")
    plain.commit("initial")
    assert git(plain.path, "rev-parse", "HEAD") == git(live.path, "rev-parse", "HEAD~1")
    plain_codex = Codex(codex_bin, tmp_path / "plain-home")
    _two_prompts(plain_codex, plain)
    assert session_refs(plain) == []
    [rollout] = plain_codex.rollouts()

    # ... imported into a fresh clone at another path, by a user with another HOME.
    clone = Repo(tmp_path / "elsewhere" / "clone")
    git(tmp_path, "clone", "-q", str(plain.path), str(clone.path))
    importer = Codex(codex_bin, tmp_path / "importer-home")
    shutil.copytree(plain_codex.codex_home / "sessions", importer.codex_home / "sessions")
    importer.git_ot(clone.path, "init")
    out = importer.git_ot(clone.path, "import", "codex").splitlines()
    sid = rollout.name[-len("01a24356-cad1-7870-916c-0a418c1d6cb8.jsonl"):-len(".jsonl")]
    assert out[0].startswith(f"{sid}: ")
    assert out[-1] == "anchored 1 commit: " + git(clone.path, "rev-parse", "HEAD").strip()[:12]

    live_steps = live.ot_json("trace", "show", session_refs(live)[0].rsplit("/", 1)[1])["steps"]
    assert shape(clone.ot_json("trace", "show", sid)["steps"]) == shape(live_steps) == [
        (1, "prompt", "add a farewell function with a test"),
        (2, "tool", "apply_patch"), (3, "tool", "apply_patch"),
        (4, "message", "Added farewell() with a test."),
        (5, "prompt", "make greet say hello instead of hi"),
        (6, "tool", "apply_patch"),
        (7, "message", "greet now says hello."),
    ]
    for path in ("app.py", "test_app.py"):
        assert blame(clone, path) == blame(live, path)
    assert blame(clone, "app.py") == [
        ("def greet(name):", ("unknown", "not-anchored")),
        ('    return "hello " + name', ("agent", "codex", "gpt-5.5", 6, "make greet say hello instead of hi", 5)),
    ] + [(text, ("agent", "codex", "gpt-5.5", 2, "add a farewell function with a test", 1))
         for text in ("", "", "def farewell(name):", '    return "bye " + name')]


def test_untrusted_hooks_do_not_run_until_install_records_their_trust(codex, repo):
    """The project's committed hooks.json, on a machine where git-ot is on
    PATH: Codex reads it only in a trusted project, and runs its hooks only
    once their trust is recorded."""
    codex.git_ot(repo.path, "init")
    out = codex.git_ot(repo.path, "install", "codex", "--scope", "project", codex_on_path=False)
    hooks_json = repo.path / ".codex" / "hooks.json"
    assert out.splitlines()[-2:] == [
        "warning: Codex's trust in these hooks is not recorded ('codex' is not on PATH); "
        "Codex skips them until 'git ot install codex --scope project' records it",
        f"Codex runs git-ot from {hooks_json}"]
    command = json.loads(hooks_json.read_text())["hooks"]["PostToolUse"][0]["hooks"][0]["command"]
    # An apply_patch call's payload and file go to the inbox from sh; any
    # other call's payload to the git-ot on PATH.
    assert command == hookcommands.patch("codex", "PostToolUse", "project")
    assert command.endswith("printf '%s' \"$p\" | { if command -v git-ot >/dev/null 2>&1; then exec git-ot hook "
                            "codex PostToolUse; fi; d=$(git --exec-path 2>/dev/null) && [ -x \"$d/git-ot\" ] "
                            "&& exec \"$d/git-ot\" hook codex PostToolUse; exit 0; }")
    assert sys.prefix not in command

    out = codex.git_ot(repo.path, "install", "codex", "--scope", "project").splitlines()
    assert out[-2] == ("warning: Codex's trust in these hooks is not recorded (Codex does not read "
                       f"'{hooks_json}' yet: it reads a project's .codex/ only once the project is "
                       "trusted ('codex exec --trust' trusts it)); Codex skips them until "
                       "'git ot install codex --scope project' records it")
    script = [{"tool": "apply_patch", "input": FAREWELL}, {"text": "Added farewell()."}]
    codex.run(repo.path, "add a farewell function", script, False, "--trust")
    assert session_refs(repo) == []  # the project is trusted now, its hooks are not

    out = codex.git_ot(repo.path, "install", "codex", "--scope", "project").splitlines()
    assert out == [f"{event}: unchanged, trusted" for event in EVENTS] + [f"Codex runs git-ot from {hooks_json}"]
    repo.git("checkout", "--", "app.py")
    codex.run(repo.path, "add a farewell function", script)
    [ref] = session_refs(repo)
    steps = sealed_steps(repo, ref.rsplit("/", 1)[1])
    assert shape(steps) == [(1, "prompt", "add a farewell function"), (2, "tool", "apply_patch"),
                            (3, "message", "Added farewell().")]
    assert patches(steps) == {2: [("M", "app.py", 4, 0, [[2, 0, 3, 4]])]}


def test_parallel_tool_calls_in_one_model_reply(codex, installed):
    repo = installed
    script = [
        {"say": "Creating two modules at once.", "tools": [
            {"tool": "apply_patch", "input": "*** Begin Patch\n*** Add File: a.py\n+A = 1\n*** End Patch\n"},
            {"tool": "apply_patch", "input": "*** Begin Patch\n*** Add File: b.py\n+B = 2\n+C = 3\n*** End Patch\n"}]},
        {"say": "Reading both back.", "tools": [
            {"tool": "exec_command", "input": {"cmd": "cat a.py"}},
            {"tool": "exec_command", "input": {"cmd": "cat b.py"}}]},
        {"text": "Created a.py and b.py."},
    ]
    codex.run(repo.path, "create two modules", script)
    [ref] = session_refs(repo)
    steps = sealed_steps(repo, ref.rsplit("/", 1)[1])
    assert shape(steps)[0] == (1, "prompt", "create two modules")
    assert shape(steps)[-1] == (6, "message", "Created a.py and b.py.")
    tools = [s for s in steps if s["kind"] == "tool"]
    assert [s["name"] for s in tools] == ["apply_patch", "apply_patch", "Bash", "Bash"]
    assert sorted(s["input"]["command"] for s in tools[2:]) == ["cat a.py", "cat b.py"]
    assert len({s["tool_use_id"] for s in tools}) == 4
    # Each patch owns its own file, whichever order Codex ran them in.
    added = {s["input"]["command"].split("Add File: ")[1].split("\n")[0]: patches([s])[s["n"]] for s in tools[:2]}
    assert added == {"a.py": [("A", "a.py", 1, 0, [[0, 0, 1, 1]])], "b.py": [("A", "b.py", 2, 0, [[0, 0, 1, 2]])]}
    # `cat` only reads: no snapshot, no patch, no window.
    assert [(s["writes"], "snapshot_before" in s, "patch" in s) for s in tools[2:]] == [(False, False, False)] * 2


def test_the_agent_commits_in_the_middle_of_its_turn(codex, installed):
    repo = installed
    base = repo.git("rev-parse", "HEAD").strip()
    script = [
        {"tool": "apply_patch", "input": ("*** Begin Patch\n*** Update File: app.py\n@@\n"
                                          "-    return \"hi \" + name\n+    return \"hi \" + name.strip()\n"
                                          "*** End Patch\n")},
        {"tool": "exec_command", "input": {
            "cmd": "git add app.py && git commit -q -m 'Strip names before greeting' && git log --oneline -1"}},
        {"tool": "apply_patch", "input": "*** Begin Patch\n*** Add File: NOTES.md\n+greet strips whitespace\n"
                                         "*** End Patch\n"},
        {"text": "Committed the change and left a note."},
    ]
    codex.run(repo.path, "strip names, commit, then note it", script)
    head = repo.git("rev-parse", "HEAD").strip()
    assert repo.git("rev-parse", "HEAD~1").strip() == base
    [ref] = session_refs(repo)
    sid = ref.rsplit("/", 1)[1]
    steps = sealed_steps(repo, sid)
    assert shape(steps) == [
        (1, "prompt", "strip names, commit, then note it"),
        (2, "tool", "apply_patch"), (3, "tool", "Bash"), (4, "tool", "apply_patch"),
        (5, "message", "Committed the change and left a note."),
    ]
    assert head[:7] in steps[2]["output"]
    assert patches(steps) == {
        2: [("M", "app.py", 1, 1, [[2, 1, 2, 1]])],
        3: [],
        4: [("A", "NOTES.md", 1, 0, [[0, 0, 1, 1]])],
    }
    # git-ot's post-commit hook anchored the commit the agent made.
    note = [json.loads(line) for line in repo.git("notes", "--ref=opentraces", "show", head).splitlines()]
    assert [(n["session"], n["step"], n["path"], n["lines"], n["harness"], n["model"]) for n in note] == [
        (sid, 2, "app.py", [2, 2], "codex", "gpt-5.5")]
