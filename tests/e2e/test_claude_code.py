"""The real Claude Code CLI, with git-ot installed as a user installs it.

Each test starts the project's scripted model (tests/support/scripted_model.py)
on 127.0.0.1, runs `git ot init` and `git ot install claude-code` in a
scratch repository through the installed `git ot` command, then drives
`claude -p` (npm @anthropic-ai/claude-code, pinned below and installed by
.ci/run) with a scratch HOME, and checks what landed under
refs/opentraces/: the steps, the prompts, the tool calls and each step's
patch, exactly.

Without the CLI these tests fail; set GIT_OT_SKIP_E2E=1 to skip them on a
machine without npm.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from git_ot.capture.claude_code import settings as claude_settings
from support import agents
from support.seals import wait_for_background_seals
from support.trail import read_records
from support.repo import git
from support.scripted_model import ScriptedModel

pytestmark = pytest.mark.e2e



@pytest.fixture(scope="session")
def claude_bin(tmp_path_factory) -> str:
    return agents.require("claude-code", tmp_path_factory.mktemp("claude-version-home"))


_clean_env = agents.clean_env


def _user_env() -> dict:
    """The environment of a user whose PATH has the installed git-ot."""
    env = _clean_env()
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


class Agent:
    """Claude Code in one scratch repository, set up as a user would."""

    def __init__(self, claude: str, repo, home: Path):
        self.claude = claude
        self.repo = repo
        self.home = home
        self.durations: list[float] = []

    def git_ot(self, *args) -> str:
        proc = subprocess.run(["git", "ot", *args], cwd=self.repo.path, env=_user_env(),
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    def run(self, prompt: str, script: list, resume: str | None = None) -> dict:
        """One `claude -p` run against the scripted model; its JSON result."""
        args = [self.claude, "-p", prompt, "--dangerously-skip-permissions", "--output-format", "json"]
        if resume:
            args += ["--resume", resume]
        with ScriptedModel(script) as model:
            env = {**_user_env(), "HOME": str(self.home), "ANTHROPIC_BASE_URL": model.url,
                   "ANTHROPIC_API_KEY": "sk-ant-test", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
                   "IS_SANDBOX": "1"}
            start = time.monotonic()
            proc = subprocess.run(args, cwd=self.repo.path, env=env, capture_output=True, text=True,
                                  timeout=180, stdin=subprocess.DEVNULL)
            self.durations.append(time.monotonic() - start)
        assert proc.returncode == 0, f"claude failed ({proc.returncode}): {proc.stderr}\n{proc.stdout}"
        wait_for_background_seals(self.repo.path)
        result = json.loads(proc.stdout)
        assert not result.get("is_error"), result
        assert model.requests, "claude never called the scripted model"
        self.models = [r["model"] for r in model.requests if r["path"].startswith("/v1/messages")
                       and "count_tokens" not in r["path"] and r["tools"]]
        return result

    # -- what landed ---------------------------------------------------------

    def session_refs(self) -> list[str]:
        return git(self.repo.path, "for-each-ref", "--format=%(refname)", "refs/opentraces/").split()

    def unsealed(self) -> list[str]:
        spool = self.repo.path / ".git" / "opentraces" / "spool"
        return sorted(n for n in os.listdir(spool) if n.endswith((".jsonl", ".sealing"))) \
            if spool.exists() else []

    def steps(self, sid: str) -> list[dict]:
        """The sealed steps, checking first that the hooks sealed them all."""
        assert self.session_refs() == [f"refs/opentraces/sessions/{sid}"]
        assert self.unsealed() == [], "events were left in the spool after the session ended"
        log = self.repo.path / ".git" / "opentraces" / "log"
        assert not log.exists(), log.read_text()
        return self.repo.ot_json("trace", "show", sid)["steps"]


@pytest.fixture
def agent(claude_bin, repo, hermetic):
    a = Agent(claude_bin, repo, hermetic)
    init = a.git_ot("init")
    assert init.splitlines()[-1] == f"git-ot is set up in {repo.path}/.git/hooks"
    out = a.git_ot("install", "claude-code", "--scope", "project")
    assert out.splitlines()[-1] == f"Claude Code runs git-ot from {repo.path}/.claude/settings.json"
    settings = json.loads((repo.path / ".claude" / "settings.json").read_text())
    command = settings["hooks"]["PostToolUse"][0]["hooks"][0]["command"]
    # The committed file names no path of this machine: Claude Code's shell
    # finds the user's git-ot on PATH.
    assert command.startswith("if command -v git-ot >/dev/null 2>&1; then exec git-ot hook claude-code PostToolUse;")
    assert sys.prefix not in command
    yield a


def shape(steps: list[dict]) -> list[tuple]:
    return [(s["n"], s["kind"], s.get("name") or s.get("text")) for s in steps]


def patches(steps: list[dict]) -> dict[int, list[tuple]]:
    """Per tool step that may write: (status, path, added, removed, hunks) per file."""
    return {s["n"]: [(f["status"], f["path"], f["added"], f["removed"], f["hunks"])
                     for f in s["patch"]["files"]]
            for s in steps if "patch" in s}


APP = 'def greet(name):\n    return "hi " + name\n'


def test_edit_write_bash_over_two_prompts_with_resume(agent, repo):
    app, test_app = str(repo.path / "app.py"), str(repo.path / "test_app.py")
    script = [
        {"say": "I'll add a farewell function.", "tool": "Edit", "input": {
            "file_path": app, "old_string": '    return "hi " + name\n',
            "new_string": '    return "hi " + name\n\n\ndef farewell(name):\n    return "bye " + name\n'}},
        {"say": "Adding a test.", "tool": "Write", "input": {
            "file_path": test_app,
            "content": 'from app import greet, farewell\n\n\ndef test_greet():\n    assert greet("a") == "hi a"\n'
                       '\n\ndef test_farewell():\n    assert farewell("a") == "bye a"\n'}},
        {"say": "Running the tests.", "tool": "Bash", "input": {
            # -B: no __pycache__, so this step changes nothing.
            "command": "python3 -B -c 'import test_app; test_app.test_greet(); test_app.test_farewell(); print(\"ok\")'",
            "description": "Run tests"}},
        {"text": "Added farewell() with a test; tests pass."},
        {"say": "Making greet polite.", "tool": "Edit", "input": {
            "file_path": app, "old_string": '    return "hi " + name\n', "new_string": '    return "hello " + name\n'}},
        {"say": "Updating the test.", "tool": "Edit", "input": {
            "file_path": test_app, "old_string": '== "hi a"', "new_string": '== "hello a"'}},
        {"text": "greet now says hello."},
    ]
    first = agent.run("add a farewell function with a test", script)
    sid = first["session_id"]
    assert first["result"] == "Added farewell() with a test; tests pass."
    assert agent.session_refs() == [f"refs/opentraces/sessions/{sid}"]  # sealed once the run ended
    second = agent.run("make greet say hello instead of hi", script, resume=sid)
    assert second["session_id"] == sid

    steps = agent.steps(sid)
    assert shape(steps) == [
        (1, "prompt", "add a farewell function with a test"),
        (2, "tool", "Edit"), (3, "tool", "Write"), (4, "tool", "Bash"),
        (5, "message", "Added farewell() with a test; tests pass."),
        (6, "prompt", "make greet say hello instead of hi"),
        (7, "tool", "Edit"), (8, "tool", "Edit"),
        (9, "message", "greet now says hello."),
    ]
    assert all(s["status"] == "ok" for s in steps if s["kind"] == "tool")
    assert steps[1]["input"]["file_path"] == app and steps[2]["input"]["file_path"] == test_app
    assert "ok" in json.dumps(steps[3]["output"])
    assert patches(steps) == {
        2: [("M", "app.py", 4, 0, [[2, 0, 3, 4]])],
        3: [("A", "test_app.py", 9, 0, [[0, 0, 1, 9]])],
        4: [],
        7: [("M", "app.py", 1, 1, [[2, 1, 2, 1]])],
        8: [("M", "test_app.py", 1, 1, [[5, 1, 5, 1]])],
    }
    manifest = repo.ot_json("trace", "list")["sessions"][0]
    assert (manifest["prompts"], manifest["tools"], manifest["files"]) == (2, 5, 2)
    assert manifest["end"] is not None
    # No payload names them: the hooks read the model the agent's turns
    # asked for and Claude Code's version from the session's transcript.
    [asked] = set(agent.models)
    assert (manifest["models"], manifest["harness_version"]) == ([asked], agents.CLIS["claude-code"][1])


def test_a_bash_command_that_writes_files_owns_its_changes(agent, repo):
    script = [
        {"say": "Generating a config with the shell.", "tool": "Bash", "input": {
            "command": "printf 'PORT = 8080\\nDEBUG = False\\n' > settings.py && sed -i 's/hi /hey /' app.py"
                       " && mkdir -p pkg && echo '__all__ = []' > pkg/__init__.py",
            "description": "Write files"}},
        {"say": "Checking.", "tool": "Bash", "input": {"command": "cat settings.py app.py", "description": "Show"}},
        {"text": "Created settings.py and pkg/, changed the greeting."},
    ]
    sid = agent.run("write a config from the shell", script)["session_id"]
    steps = agent.steps(sid)
    assert shape(steps) == [
        (1, "prompt", "write a config from the shell"), (2, "tool", "Bash"), (3, "tool", "Bash"),
        (4, "message", "Created settings.py and pkg/, changed the greeting."),
    ]
    assert steps[1]["input"]["command"].startswith("printf 'PORT = 8080")
    assert patches(steps) == {
        2: [("M", "app.py", 1, 1, [[2, 1, 2, 1]]),
            ("A", "pkg/__init__.py", 1, 0, [[0, 0, 1, 1]]),
            ("A", "settings.py", 2, 0, [[0, 0, 1, 2]])],
    }
    # `cat` only reads: no snapshot, no patch, no window.
    assert (steps[2]["writes"], "snapshot_before" in steps[2], "snapshot_after" in steps[2]) == (False, False, False)
    assert (repo.path / "app.py").read_text() == APP.replace("hi ", "hey ")


def test_parallel_tool_calls_in_one_model_turn(agent, repo):
    a, b = str(repo.path / "a.py"), str(repo.path / "b.py")
    script = [
        {"say": "Creating two modules at once.", "tools": [
            {"tool": "Write", "input": {"file_path": a, "content": "A = 1\n"}},
            {"tool": "Write", "input": {"file_path": b, "content": "B = 2\nC = 3\n"}}]},
        {"say": "Reading both back.", "tools": [
            {"tool": "Read", "input": {"file_path": a}},
            {"tool": "Read", "input": {"file_path": b}}]},
        {"text": "Created a.py and b.py."},
    ]
    sid = agent.run("create two modules", script)["session_id"]
    steps = agent.steps(sid)
    assert shape(steps)[0] == (1, "prompt", "create two modules")
    assert shape(steps)[-1] == (6, "message", "Created a.py and b.py.")
    tools = [s for s in steps if s["kind"] == "tool"]
    # Claude Code runs the two writes one after the other and the two reads
    # side by side, so the reads may land in either order.
    assert [(s["name"], s["input"]["file_path"]) for s in tools[:2]] == [("Write", a), ("Write", b)]
    assert sorted(s["input"]["file_path"] for s in tools[2:]) == [a, b]
    assert {s["name"] for s in tools[2:]} == {"Read"}
    assert len({s["tool_use_id"] for s in tools}) == 4
    assert patches(steps) == {
        2: [("A", "a.py", 1, 0, [[0, 0, 1, 1]])],
        3: [("A", "b.py", 2, 0, [[0, 0, 1, 2]])],
    }  # reads take no snapshots and have no patch


def _hooked(sid_steps: list[dict]) -> list[tuple]:
    """Per tool step: its name and whether a hook saw it (an event id of
    its own) or only the transcript did (ids imported from it: tr-...)."""
    return [(s["name"], "hook" if any(not e.startswith("tr-") for e in s["events"]) else "transcript")
            for s in sid_steps if s["kind"] == "tool"]


def test_tools_the_transcript_tells_cost_no_hook_and_are_steps_in_their_place(agent, repo):
    app, new = str(repo.path / "app.py"), str(repo.path / "new.py")
    script = [
        {"say": "Reading.", "tool": "Read", "input": {"file_path": app}},
        {"say": "And the readme.", "tool": "Read", "input": {"file_path": str(repo.path / "README.md")}},
        {"say": "Writing.", "tool": "Write", "input": {"file_path": new, "content": "N = 1\n"}},
        {"say": "Checking.", "tool": "Read", "input": {"file_path": new}},
        {"say": "Listing.", "tool": "Bash", "input": {"command": "ls", "description": "List"}},
        {"text": "Wrote new.py."},
    ]
    sid = agent.run("read app.py, then write new.py", script)["session_id"]
    steps = agent.steps(sid)
    assert shape(steps) == [
        (1, "prompt", "read app.py, then write new.py"),
        (2, "tool", "Read"), (3, "tool", "Read"), (4, "tool", "Write"), (5, "tool", "Read"),
        (6, "tool", "Bash"), (7, "message", "Wrote new.py."),
    ]
    # No hook ran for the Read and Write calls: the transcript gave them.
    # Bash may write anything: hooked (this one, `ls`, only reads: no snapshot).
    assert _hooked(steps) == [("Read", "transcript"), ("Read", "transcript"),
                              ("Write", "transcript"), ("Read", "transcript"), ("Bash", "hook")]
    assert [s["status"] for s in steps if s["kind"] == "tool"] == ["ok"] * 5
    assert steps[1]["input"] == {"file_path": app}
    assert steps[1]["output"]["file"]["content"] == APP
    assert steps[4]["output"]["file"]["content"] == "N = 1\n"
    assert patches(steps) == {4: [("A", "new.py", 1, 0, [[0, 0, 1, 1]])]}
    # The Write's states are the transcript's, as an import makes them:
    # trees of its file alone, before (none) and after.
    trail = read_records(repo, sid)["trail"]
    snaps = trail["snapshots"]
    assert (steps[3]["snapshot_before"], steps[3]["snapshot_after"]) == ("4-before", "4-after")
    assert snaps["4-before"]["partial"] is True and snaps["4-after"]["partial"] is True
    assert repo.git("ls-tree", "-r", snaps["4-before"]["tree"]) == ""
    assert repo.git("ls-tree", "-r", "--name-only", snaps["4-after"]["tree"]) == "new.py\n"
    assert (steps[5]["writes"], "6-before" in snaps, "6-after" in snaps) == (False, False, False)


def test_an_install_that_hooked_every_tool_records_each_call_once_and_is_updated(agent, repo):
    settings_path = repo.path / ".claude" / "settings.json"
    settings = json.loads(settings_path.read_text())
    for event in ("PreToolUse", "PostToolUse", "PostToolUseFailure"):
        settings["hooks"][event][0]["matcher"] = "*"  # as git-ot 0.1 installed it
    settings_path.write_text(json.dumps(settings, indent=2) + "\n")
    app, new = str(repo.path / "app.py"), str(repo.path / "new.py")
    script = [
        {"say": "Reading.", "tool": "Read", "input": {"file_path": app}},
        {"say": "Writing.", "tool": "Write", "input": {"file_path": new, "content": "N = 1\n"}},
        {"text": "Done."},
    ]
    sid = agent.run("read, then write", script)["session_id"]
    steps = agent.steps(sid)
    assert shape(steps) == [(1, "prompt", "read, then write"), (2, "tool", "Read"),
                            (3, "tool", "Write"), (4, "message", "Done.")]
    assert _hooked(steps) == [("Read", "hook"), ("Write", "hook")]
    # The hooks saw the Read and the Write and the transcript gave them too:
    # one step each, the Write with the hooks' snapshots and one patch.
    assert any(e.startswith("tr-") for e in steps[1]["events"])
    assert any(e.startswith("tr-") for e in steps[2]["events"])
    trail = read_records(repo, sid)["trail"]
    assert [p["step"] for p in trail["patches"]] == [3]
    assert "source" not in trail["patches"][0]
    assert patches(steps) == {3: [("A", "new.py", 1, 0, [[0, 0, 1, 1]])]}
    snaps = trail["snapshots"]
    assert not snaps[steps[2]["snapshot_before"]].get("partial")
    assert not snaps[steps[2]["snapshot_after"]].get("partial")
    out = agent.git_ot("install", "claude-code", "--scope", "project")
    assert [line for line in out.splitlines() if line.endswith("updated")] == [
        "PreToolUse: updated", "PostToolUse: updated", "PostToolUseFailure: updated"]
    matchers = {e: json.loads(settings_path.read_text())["hooks"][e][0]["matcher"]
                for e in ("PreToolUse", "PostToolUse", "PostToolUseFailure")}
    assert set(matchers.values()) == {claude_settings.TOOL_MATCHER}


def test_the_agent_commits_in_the_middle_of_its_turn(agent, repo):
    base = repo.git("rev-parse", "HEAD").strip()
    app, notes = str(repo.path / "app.py"), str(repo.path / "NOTES.md")
    script = [
        {"say": "Adding a helper.", "tool": "Edit", "input": {
            "file_path": app, "old_string": '    return "hi " + name\n',
            "new_string": '    return "hi " + name.strip()\n'}},
        {"say": "Committing.", "tool": "Bash", "input": {
            "command": "git add app.py && git commit -m 'Strip names before greeting' -q && git log --oneline -1",
            "description": "Commit"}},
        {"say": "One more change after the commit.", "tool": "Write", "input": {
            "file_path": notes, "content": "greet strips whitespace\n"}},
        {"text": "Committed the change and left a note."},
    ]
    sid = agent.run("strip names, commit, then note it", script)["session_id"]
    head = repo.git("rev-parse", "HEAD").strip()
    assert repo.git("rev-parse", "HEAD~1").strip() == base
    assert repo.git("log", "-1", "--format=%s").strip() == "Strip names before greeting"
    steps = agent.steps(sid)
    assert shape(steps) == [
        (1, "prompt", "strip names, commit, then note it"),
        (2, "tool", "Edit"), (3, "tool", "Bash"), (4, "tool", "Write"),
        (5, "message", "Committed the change and left a note."),
    ]
    assert head[:7] in json.dumps(steps[2]["output"])
    # Committing moves no file in the working tree: the Edit keeps its
    # change, the commit step has none, the later Write has its own.
    assert patches(steps) == {
        2: [("M", "app.py", 1, 1, [[2, 1, 2, 1]])],
        3: [],
        4: [("A", "NOTES.md", 1, 0, [[0, 0, 1, 1]])],
    }
    # git-ot's post-commit hook sealed mid-turn, with the Bash call still
    # open; the seals after it closed that step without losing or doubling
    # it. Those run in the background from Stop and SessionEnd: one seal
    # when SessionEnd's event was spooled before Stop's seal took the batch,
    # else two.
    chain = repo.git("log", "--format=%s", f"refs/opentraces/sessions/{sid}").splitlines()
    seals = [subject for subject in reversed(chain) if subject.startswith("seal ")]
    assert seals[0] == f"seal {sid}: 5 events"
    assert seals[1:] in ([f"seal {sid}: 5 events"], [f"seal {sid}: 4 events", f"seal {sid}: 1 event"])
    manifest = repo.ot_json("trace", "list")["sessions"][0]
    assert manifest["base"] == base
    # No hook ran around the Edit: the post-commit hook read it from the
    # transcript before it anchored, and gave its line to the session.
    assert [json.loads(line) for line in repo.git("notes", "--ref=opentraces", "show", head).splitlines()] == [
        {"v": 1, "session": sid, "step": 2, "hunk": "2.1.1", "path": "app.py", "lines": [2, 2],
         "harness": "claude-code", "model": "claude-opus-5-5"}]


def test_async_hooks_are_cut_short_at_the_end_of_a_print_turn(agent, repo, tmp_path):
    """Why git-ot's hooks are synchronous (see git_ot/capture/claude_code/settings.py).

    Claude Code 2.1.328 runs `"async": true` hooks in the background, but at
    the end of a `claude -p` turn it terminates those still running. A Stop
    hook written as async would lose its seal; if this test fails on a newer
    Claude Code, revisit that decision.
    """
    marks = tmp_path / "marks"
    hook = tmp_path / "slow-hook.sh"
    hook.write_text(f"#!/bin/sh\ntrap 'echo terminated >> {marks}; kill $pid; exit 0' TERM\n"
                    f"cat > /dev/null\necho started >> {marks}\nsleep 20 & pid=$!\nwait $pid\n"
                    f"echo finished >> {marks}\n")
    hook.chmod(0o755)
    path = repo.path / ".claude" / "settings.json"
    settings = json.loads(path.read_text())
    settings["hooks"]["Stop"].append({"hooks": [{"type": "command", "command": str(hook), "async": True}]})
    path.write_text(json.dumps(settings, indent=2) + "\n")
    sid = agent.run("say hello", [{"text": "Hello."}])["session_id"]
    lines = marks.read_text().splitlines()
    assert lines[-1] == "terminated" and "finished" not in lines, lines
    # git-ot's own synchronous Stop hook sealed the turn all the same.
    assert shape(agent.steps(sid)) == [(1, "prompt", "say hello"), (2, "message", "Hello.")]


class Terminal:
    """Claude Code run interactively, as a user runs it: in a terminal
    (a pseudo-terminal here), typing a line at a time."""

    def __init__(self, argv: list[str], cwd: Path, env: dict):
        import pty

        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: Claude Code
            try:
                os.chdir(cwd)
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        self.screen = b""

    def pump(self, seconds: float) -> int:
        """Read what Claude Code draws for `seconds`; how many bytes came."""
        import select

        got = 0
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if ready:
                try:
                    data = os.read(self.fd, 65536)
                except OSError:  # it exited
                    return got
                self.screen += data
                got += len(data)
        return got

    def settle(self, until, what: str, timeout: float = 90) -> None:
        """Wait for `until()`, then for the screen to stop changing."""
        end = time.monotonic() + timeout
        while not until():
            assert time.monotonic() < end, f"waited {timeout} s for {what}; the screen:\n" \
                                           f"{self.screen[-3000:].decode(errors='replace')}"
            self.pump(0.2)
        while self.pump(1.0):
            assert time.monotonic() < end + 30, f"the screen kept changing after {what}"

    def type(self, line: str) -> None:
        for ch in line:
            os.write(self.fd, ch.encode())
            time.sleep(0.02)
        self.pump(0.5)  # a slash command's menu opens before Enter picks it
        os.write(self.fd, b"\r")

    def wait_exit(self, timeout: float = 60) -> int:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.pump(0.2)
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)
        os.close(self.fd)
        raise AssertionError(f"Claude Code did not exit in {timeout} s after /exit")


def test_a_clear_starts_a_session_that_records_how_it_started(agent, repo, hermetic):
    # A prompt, /clear, a prompt, /exit, typed into Claude Code's terminal.
    # The /clear ends the first session and starts a second: git-ot's
    # SessionStart hook records how each started. Claude Code 2.1.328 names
    # no conversation without a plan (no `slug`) and links the two sessions
    # in no record: `blame commit` names no session the second continues.
    one, two = repo.path / "one.txt", repo.path / "two.txt"
    first = [{"say": "Writing one.", "tool": "Write", "input": {"file_path": str(one), "content": "one\n"}},
             {"text": "Wrote one."}]
    # After the /clear the model sees a history of its own again.
    second = [{"say": "Writing two.", "tool": "Write", "input": {"file_path": str(two), "content": "two\n"}},
              {"text": "Wrote two."}]
    state = hermetic / ".claude.json"
    known = json.loads(state.read_text()) if state.exists() else {}
    state.write_text(json.dumps({**known, "hasCompletedOnboarding": True, "theme": "dark",
                                 "bypassPermissionsModeAccepted": True,
                                 "customApiKeyResponses": {"approved": ["sk-ant-test"], "rejected": []},
                                 "projects": {str(repo.path): {"hasTrustDialogAccepted": True}}}))
    with ScriptedModel(first) as model:
        env = {**_user_env(), "HOME": str(hermetic), "ANTHROPIC_BASE_URL": model.url,
               "ANTHROPIC_API_KEY": "sk-ant-test", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
               "IS_SANDBOX": "1", "TERM": "xterm-256color"}
        term = Terminal([agent.claude, "--dangerously-skip-permissions"], repo.path, env)

        def answered(n: int):
            return lambda: sum(1 for r in model.requests if r["tools"]) >= n

        term.settle(lambda: "❯".encode() in term.screen, "the prompt")
        term.type("write one")
        term.settle(lambda: one.exists() and answered(2)(), "the first turn")
        term.type("/clear")
        term.settle(lambda: b"/clear" in term.screen, "the /clear")
        model.script = second
        term.type("write two")
        term.settle(lambda: two.exists() and answered(4)(), "the second turn")
        term.type("/exit")
        assert term.wait_exit() == 0
    wait_for_background_seals(repo.path)

    listed = repo.ot_json("trace", "list")["sessions"]
    assert len(listed) == 2
    by_start = sorted(listed, key=lambda r: r["start"])
    assert [(r["started_by"], r["slug"], r["continues"], r["prompts"], r["files"]) for r in by_start] == [
        ("startup", None, None, 1, 1), ("clear", None, None, 1, 1)]
    cleared, started = by_start[0]["session"], by_start[1]["session"]
    records = read_records(repo, started)
    assert (records["trace"]["info"]["started_by"], records["manifest"]["started_by"]) == ("clear", "clear")
    ends = [e for e in read_records(repo, cleared)["trace"]["lifecycle"] if e["kind"] == "session_end"]
    assert [e["data"]["reason"] for e in ends] == ["clear"]
    git(repo.path, "add", "two.txt")
    git(repo.path, "commit", "-q", "-m", "two")
    shown = repo.ot_json("blame", "commit", "HEAD")
    assert [(s["session"], s["continues"], s["lines"]) for s in shown["sessions"]] == [(started, None, 1)]
