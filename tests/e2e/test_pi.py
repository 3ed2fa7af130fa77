"""The real Pi CLI, with git-ot installed as a user installs it.

Each test starts the project's scripted model (tests/support/scripted_model.py,
the Anthropic Messages API Pi reaches through a provider in its
models.json) on 127.0.0.1, runs `git ot init` and `git ot install pi` in a
scratch repository through the installed `git ot` command, then drives
`pi -p` (npm @mariozechner/pi-coding-agent, pinned in tests/support/agents.py
and installed by .ci/run) with a scratch HOME and agent folder, and checks
what landed under refs/opentraces/: the steps, the prompts, the tool calls
and each step's patch, exactly; then `git ot blame` on what was committed,
and the same blame from `git ot import pi` of the session file in a fresh
clone elsewhere.

Without the CLI these tests fail; set GIT_OT_SKIP_E2E=1 to skip them on a
machine without npm.
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

from support import agents
from support.seals import wait_for_background_seals
from support.trail import read_records
from support.repo import ROOT, Repo, git
from support.scripted_model import ScriptedModel

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def pi_bin(tmp_path_factory) -> str:
    return agents.require("pi", tmp_path_factory.mktemp("pi-version-home"))


def _env(git_ot: bool) -> dict:
    """A user's environment, with or without the installed git-ot on PATH."""
    env = agents.clean_env()
    bindir = os.path.dirname(sys.executable)
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and os.path.realpath(p) != os.path.realpath(bindir)]
    env["PATH"] = os.pathsep.join(([bindir] if git_ot else []) + path)
    return env


class Pi:
    """Pi in one scratch repository, set up as a user would."""

    def __init__(self, pi: str, repo, home: Path, git_ot: bool = True):
        self.pi = pi
        self.repo = repo
        self.home = home
        self.agent_dir = home / "pi-agent"
        self.env = _env(git_ot)

    def git_ot(self, *args) -> str:
        proc = subprocess.run(["git", "ot", *args], cwd=self.repo.path, env=_env(True),
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    def run(self, prompt: str, script: list, resume: bool = False, extra: tuple = ()) -> str:
        """One `pi -p` run against the scripted model; what it printed."""
        with ScriptedModel(script) as model:
            self.agent_dir.mkdir(parents=True, exist_ok=True)
            (self.agent_dir / "models.json").write_text(json.dumps({"providers": {"fake": {
                "baseUrl": model.url, "api": "anthropic-messages", "apiKey": "sk-ant-test",
                "models": [{"id": "claude-scripted", "name": "Claude Scripted", "reasoning": False,
                            "contextWindow": 200000, "maxTokens": 8192}]}}}))
            env = {**self.env, "HOME": str(self.home), "PI_CODING_AGENT_DIR": str(self.agent_dir),
                   "PI_OFFLINE": "1"}
            args = [self.pi, "-p", *(["-c"] if resume else []), *extra, "--provider", "fake",
                    "--model", "claude-scripted", prompt]
            proc = subprocess.run(args, cwd=self.repo.path, env=env, capture_output=True, text=True,
                                  timeout=180, stdin=subprocess.DEVNULL)
        assert proc.returncode == 0, f"pi failed ({proc.returncode}): {proc.stderr}\n{proc.stdout}"
        wait_for_background_seals(self.repo.path)
        assert proc.stderr == "", proc.stderr
        assert model.requests, "pi never called the scripted model"
        return proc.stdout

    def session_files(self) -> list[Path]:
        return sorted((self.agent_dir / "sessions").rglob("*.jsonl"))

    def session_id(self) -> str:
        [path] = self.session_files()
        return json.loads(path.read_text().splitlines()[0])["id"]

    def session_refs(self) -> list[str]:
        return git(self.repo.path, "for-each-ref", "--format=%(refname)", "refs/opentraces/").split()

    def steps(self, sid: str) -> list[dict]:
        """The sealed steps, checking first that the extension sealed them all."""
        assert self.session_refs() == [f"refs/opentraces/sessions/{sid}"]
        spool = self.repo.path / ".git" / "opentraces" / "spool"
        assert sorted(os.listdir(spool)) == [], "events were left in the spool after the session ended"
        log = self.repo.path / ".git" / "opentraces" / "log"
        assert not log.exists(), log.read_text()
        return self.repo.ot_json("trace", "show", sid)["steps"]


@pytest.fixture
def agent(pi_bin, repo, hermetic):
    a = Pi(pi_bin, repo, hermetic)
    init = a.git_ot("init")
    assert init.splitlines()[-1] == f"git-ot is set up in {repo.path}/.git/hooks"
    out = a.git_ot("install", "pi", "--scope", "project")
    extension = repo.path / ".pi" / "extensions" / "git-ot.ts"
    assert out.splitlines()[-1] == f"Pi runs git-ot from {extension}"
    # The committed file names no path of this machine: the extension
    # finds the user's git-ot on PATH.
    text = extension.read_text()
    assert sys.prefix not in text and str(repo.path) not in text and str(hermetic) not in text
    yield a


def shape(steps: list[dict]) -> list[tuple]:
    return [(s["n"], s["kind"], s.get("name") or s.get("text")) for s in steps]


def patches(steps: list[dict]) -> dict[int, list[tuple]]:
    """Per tool step that may write: (status, path, added, removed, hunks) per file."""
    return {s["n"]: [(f["status"], f["path"], f["added"], f["removed"], f["hunks"])
                     for f in s["patch"]["files"]]
            for s in steps if "patch" in s}


TEST_APP = ('from app import greet, farewell\n\n\ndef test_greet():\n    assert greet("a") == "hi a"\n'
            '\n\ndef test_farewell():\n    assert farewell("a") == "bye a"\n')
SCRIPT = [
    {"say": "Reading app.py first.", "tool": "read", "input": {"path": "app.py"}},
    {"say": "I'll add a farewell function.", "tool": "edit", "input": {"path": "app.py", "edits": [
        {"oldText": '    return "hi " + name\n',
         "newText": '    return "hi " + name\n\n\ndef farewell(name):\n    return "bye " + name\n'}]}},
    {"say": "Adding a test.", "tool": "write", "input": {"path": "test_app.py", "content": TEST_APP}},
    {"say": "Running the tests.", "tool": "bash", "input": {
        # -B: no __pycache__, so this step changes nothing.
        "command": "python3 -B -c 'import test_app; test_app.test_greet(); test_app.test_farewell(); print(\"ok\")'"}},
    {"text": "Added farewell() with a test; tests pass."},
    {"say": "Making greet polite.", "tool": "edit", "input": {"path": "app.py", "edits": [
        {"oldText": '"hi " + name', "newText": '"hello " + name'}]}},
    {"say": "Updating the test.", "tool": "edit", "input": {"path": "test_app.py", "edits": [
        {"oldText": '== "hi a"', "newText": '== "hello a"'}]}},
    {"text": "greet now says hello."},
]
PROMPTS = ("add a farewell function with a test", "make greet say hello instead of hi")


def run_two_prompts(agent) -> None:
    assert agent.run(PROMPTS[0], SCRIPT) == "Added farewell() with a test; tests pass.\n"
    assert agent.run(PROMPTS[1], SCRIPT, resume=True) == "greet now says hello.\n"


def commit_now(repo, monkeypatch, message: str) -> None:
    """Commit the agent's work as a person does after the session: at
    the time, so that the import sees it was made after the session's writes."""
    now = f"{int(time.time())} +0000"
    monkeypatch.setenv("GIT_COMMITTER_DATE", now)
    monkeypatch.setenv("GIT_AUTHOR_DATE", now)
    repo.commit(message)


def blame(repo, path: str) -> list[tuple]:
    """Per line of `path` at HEAD: (content, kind, session, step, harness, model, prompt)."""
    proc = repo.ot("blame", path, "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    return [(ln["content"], ln["attribution"]["kind"], ln["attribution"].get("session"),
             ln["attribution"].get("step"), ln["attribution"].get("harness"),
             ln["attribution"].get("model"), ln["attribution"].get("prompt"))
            for ln in json.loads(proc.stdout)["lines"]]


def expected_blame(sid: str) -> dict[str, list[tuple]]:
    def agent(step, prompt):
        return ("agent", sid, step, "pi", "claude-scripted", PROMPTS[prompt])

    return {
        "app.py": [
            # The first commit has no note: its lines are of unknown origin.
            ("def greet(name):", "unknown", None, None, None, None, None),
            ('    return "hello " + name', *agent(13, 1)),
            ("", *agent(5, 0)), ("", *agent(5, 0)),
            ("def farewell(name):", *agent(5, 0)), ('    return "bye " + name', *agent(5, 0)),
        ],
        "test_app.py": [
            *[(line, *agent(7, 0)) for line in TEST_APP.splitlines()[:4]],
            ('    assert greet("a") == "hello a"', *agent(15, 1)),
            *[(line, *agent(7, 0)) for line in TEST_APP.splitlines()[5:]],
        ],
    }


STEPS = [
    (1, "prompt", PROMPTS[0]),
    (2, "message", "Reading app.py first."), (3, "tool", "read"),
    (4, "message", "I'll add a farewell function."), (5, "tool", "edit"),
    (6, "message", "Adding a test."), (7, "tool", "write"),
    (8, "message", "Running the tests."), (9, "tool", "bash"),
    (10, "message", "Added farewell() with a test; tests pass."),
    (11, "prompt", PROMPTS[1]),
    (12, "message", "Making greet polite."), (13, "tool", "edit"),
    (14, "message", "Updating the test."), (15, "tool", "edit"),
    (16, "message", "greet now says hello."),
]
PATCHES = {
    5: [("M", "app.py", 4, 0, [[2, 0, 3, 4]])],
    7: [("A", "test_app.py", 9, 0, [[0, 0, 1, 9]])],
    13: [("M", "app.py", 1, 1, [[2, 1, 2, 1]])],
    15: [("M", "test_app.py", 1, 1, [[5, 1, 5, 1]])],
}


def test_a_bash_command_that_only_reads_takes_no_snapshot(agent, repo):
    """The extension leaves a bash call whose command only reads
    (git_ot/capture/readonly.py) in the inbox, as it does a read: no git-ot
    process while the agent waits, no snapshot, no window."""
    script = [{"say": "Looking.", "tool": "bash", "input": {"command": "cat app.py"}},
              {"say": "And writing.", "tool": "bash", "input": {"command": "cat app.py > copy.py"}},
              {"text": "Done."}]
    assert agent.run("look at app.py", script) == "Done.\n"
    steps = agent.steps(agent.session_id())
    tools = [s for s in steps if s["kind"] == "tool"]
    assert [(s["input"]["command"], s["writes"], "snapshot_before" in s, "snapshot_after" in s) for s in tools] == [
        ("cat app.py", False, False, False), ("cat app.py > copy.py", True, True, True)]
    assert tools[0]["output"] == {"content": [{"type": "text", "text": 'def greet(name):\n    return "hi " + name\n'}]}
    assert patches(steps) == {tools[1]["n"]: [("A", "copy.py", 2, 0, [[0, 0, 1, 2]])]}
    # An event left in the inbox has an id made of its arrival time (store/inbox.py,
    # Entry.event_id); one git-ot's hook spooled, a random one.
    assert [_from_inbox(s) for s in tools] == [True, False]


def _from_inbox(step: dict) -> bool:
    low = 2 ** 44 - 1
    return abs((int(step["events"][0], 16) & low) - (round(step["t"] * 1e9) & low)) < 10_000


def test_two_prompts_captured_live_then_blamed(agent, repo, monkeypatch):
    run_two_prompts(agent)
    sid = agent.session_id()
    steps = agent.steps(sid)
    assert shape(steps) == STEPS
    tools = [s for s in steps if s["kind"] == "tool"]
    assert all(s["status"] == "ok" for s in tools)
    assert [s["input"] for s in tools] == [entry["input"] for entry in SCRIPT if "tool" in entry]
    assert len({s["tool_use_id"] for s in tools}) == 6
    assert {s["model"] for s in steps if s["kind"] == "message"} == {"claude-scripted"}
    assert steps[2]["output"] == {"content": [{"type": "text", "text": 'def greet(name):\n    return "hi " + name\n'}]}
    assert steps[8]["output"] == {"content": [{"type": "text", "text": "ok\n"}]}
    # The bash step ran with snapshots on both sides and changed nothing.
    assert patches(steps) == {**PATCHES, 9: []}
    # The extension read the write and edit calls' files before and after,
    # in Pi's own process: their states hold that file alone.
    snaps = read_records(repo, sid)["trail"]["snapshots"]
    assert {n: (snaps[f"{n}-before"].get("partial"), snaps[f"{n}-after"].get("partial"))
            for n in (5, 7, 9, 13, 15)} == {5: (True, True), 7: (True, True), 9: (None, None),
                                           13: (True, True), 15: (True, True)}
    assert repo.git("ls-tree", "-r", "--name-only", snaps["7-after"]["tree"]) == "test_app.py\n"
    assert repo.git("ls-tree", "-r", snaps["7-before"]["tree"]) == ""
    manifest = repo.ot_json("trace", "list")["sessions"][0]
    assert (manifest["prompts"], manifest["tools"], manifest["files"]) == (2, 6, 2)
    assert (manifest["harness"], manifest["harness_version"]) == ("pi", "0.73.1")
    assert manifest["end"] is not None
    commit_now(repo, monkeypatch, "farewell")
    assert {path: blame(repo, path) for path in ("app.py", "test_app.py")} == expected_blame(sid)
    # The session file, imported over the live capture, merges into it:
    # every step it has was captured live.
    proc = repo.ot("import", "pi", "--json", env={**os.environ, "PI_CODING_AGENT_DIR": str(agent.agent_dir)})
    assert proc.returncode == 0, proc.stderr.decode()
    [imported] = json.loads(proc.stdout)["sessions"]
    assert (imported["session"], imported["merged_into_live"]) == (sid, True)
    merged = repo.ot_json("trace", "show", sid)["steps"]
    assert shape(merged) == STEPS
    assert [len(s["events"]) for s in merged] == [2 if s["kind"] != "tool" else 4 for s in merged]
    assert {path: blame(repo, path) for path in ("app.py", "test_app.py")} == expected_blame(sid)


def test_without_git_ot_then_imported_in_a_fresh_clone_elsewhere(pi_bin, repo, hermetic, tmp_path,
                                                                 monkeypatch):
    """A teammate without git-ot runs Pi in a clone that has the committed
    extension: Pi says nothing of it and nothing is recorded. The session
    file imported in another clone, at another path with another HOME,
    gives the blame live capture gives."""
    installer = Pi(pi_bin, repo, hermetic)
    installer.git_ot("install", "pi")
    repo.commit("capture Pi sessions with git-ot")
    agent = Pi(pi_bin, repo, hermetic, git_ot=False)
    run_two_prompts(agent)
    assert agent.session_refs() == [] and not (repo.path / ".git" / "opentraces").exists()
    commit_now(repo, monkeypatch, "farewell")
    farewell = repo.git("rev-parse", "HEAD").strip()
    sid = agent.session_id()

    other_home = tmp_path / "other-home"
    other_home.mkdir()
    clone = Repo(tmp_path / "elsewhere" / "clone")
    git(tmp_path, "clone", "-q", str(repo.path), str(clone.path))
    # The file goes where Pi would keep it had the session run in the clone.
    folder = other_home / ".pi" / "agent" / "sessions" / ("--" + str(clone.path)[1:].replace("/", "-") + "--")
    folder.mkdir(parents=True)
    [session_file] = agent.session_files()
    shutil.copy(session_file, folder / session_file.name)
    env = {**_env(True), "HOME": str(other_home)}
    for args in (["init"], ["import", "pi"]):
        proc = subprocess.run(["git", "ot", *args], cwd=clone.path, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        f"{sid}: 19 lines: 16 as steps, 3 kept raw, 0 skipped",
        f"1 file, {session_file.stat().st_size} bytes, 1 session",
        f"anchored 1 commit: {farewell[:12]}",
    ]
    steps = clone.ot_json("trace", "show", sid)["steps"]
    assert shape(steps) == STEPS
    # Without snapshots, the patches are rebuilt from the session file,
    # from the contents read, written and edited (the bash step's are
    # unknown: it has none); after the shell command, what the session knew
    # of a file is used because the edit's own diff agrees with it.
    assert patches(steps) == PATCHES
    assert {path: blame(clone, path) for path in ("app.py", "test_app.py")} == expected_blame(sid)


def test_parallel_tool_calls_in_one_reply(agent, repo):
    """Pi 0.73.1 prepares the tool calls of one reply one after the other
    (each tool_call handler in turn), then runs them side by side. The
    extension reads each write's own file before and after it, so each
    step's patch holds its own file alone, whatever ran beside it (a
    snapshot of the working tree after one could hold the other's change)."""
    script = [
        {"say": "Creating two modules at once.", "tools": [
            {"tool": "write", "input": {"path": "a.py", "content": "A = 1\n"}},
            {"tool": "write", "input": {"path": "b.py", "content": "B = 2\nC = 3\n"}}]},
        {"say": "Reading both back.", "tools": [
            {"tool": "read", "input": {"path": "a.py"}},
            {"tool": "read", "input": {"path": "b.py"}}]},
        {"text": "Created a.py and b.py."},
    ]
    assert agent.run("create two modules", script) == "Created a.py and b.py.\n"
    steps = agent.steps(agent.session_id())
    assert shape(steps) == [
        (1, "prompt", "create two modules"), (2, "message", "Creating two modules at once."),
        (3, "tool", "write"), (4, "tool", "write"), (5, "message", "Reading both back."),
        (6, "tool", "read"), (7, "tool", "read"), (8, "message", "Created a.py and b.py."),
    ]
    # The tool calls keep the order of the reply; the reads take no snapshots.
    assert [s["input"]["path"] for s in steps if s["kind"] == "tool"] == ["a.py", "b.py", "a.py", "b.py"]
    assert patches(steps) == {3: [("A", "a.py", 1, 0, [[0, 0, 1, 1]])],
                              4: [("A", "b.py", 2, 0, [[0, 0, 1, 2]])]}


def test_a_file_too_large_to_read_in_pi_is_snapshotted_around_the_call(agent, repo):
    """Over 1 MiB the extension leaves a write to git-ot's snapshots, as bash."""
    big = "".join(f"line {i:06d}\n" for i in range(90000))  # 1.08 MB
    script = [
        {"say": "Writing the table.", "tool": "write", "input": {"path": "table.txt", "content": big}},
        {"say": "And a note.", "tool": "write", "input": {"path": "note.txt", "content": "n\n"}},
        {"text": "Wrote both."},
    ]
    assert agent.run("write the table", script) == "Wrote both.\n"
    sid = agent.session_id()
    steps = agent.steps(sid)
    assert patches(steps) == {3: [("A", "table.txt", 90000, 0, [[0, 0, 1, 90000]])],
                              5: [("A", "note.txt", 1, 0, [[0, 0, 1, 1]])]}
    snaps = read_records(repo, sid)["trail"]["snapshots"]
    assert [snaps[f"3-{at}"].get("partial") for at in ("before", "after")] == [None, None]
    assert [snaps[f"5-{at}"].get("partial") for at in ("before", "after")] == [True, True]


def test_user_scope_runs_this_interpreter_whatever_the_path(pi_bin, repo, hermetic):
    """The user file names the interpreter git-ot is installed in, so Pi
    captures sessions even with no git-ot on its PATH."""
    agent = Pi(pi_bin, repo, hermetic, git_ot=False)
    env = {**_env(True), "PI_CODING_AGENT_DIR": str(agent.agent_dir)}
    for args in (["init"], ["install", "pi", "--scope", "user"]):
        proc = subprocess.run(["git", "ot", *args], cwd=repo.path, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == f"Pi runs git-ot from {agent.agent_dir}/extensions/git-ot.ts"
    assert not (repo.path / ".pi").exists()
    assert agent.run("say hello", [{"text": "Hello."}]) == "Hello.\n"
    assert shape(agent.steps(agent.session_id())) == [(1, "prompt", "say hello"), (2, "message", "Hello.")]


def test_a_compaction(agent, repo):
    """Pi's compaction (here by an extension's command: `pi -p` does not run
    Pi's own /compact) is a compaction step; the session file's compaction
    entry merges into it."""
    assert agent.run("say hello", [{"text": "Hello."}]) == "Hello.\n"
    squash = str(ROOT / "tests" / "support" / "pi_squash.ts")
    agent.run("/squash", [], resume=True, extra=("-e", squash))
    sid = agent.session_id()
    steps = agent.steps(sid)
    assert shape(steps) == [(1, "prompt", "say hello"), (2, "message", "Hello."), (3, "compaction", None)]
    assert (steps[2]["phase"], steps[2]["trigger"]) == ("post", None)
    [entry] = [json.loads(line) for line in agent.session_files()[0].read_text().splitlines()
               if json.loads(line)["type"] == "compaction"]
    assert entry["summary"] == "Scripted session"
    proc = repo.ot("import", "pi", str(agent.session_files()[0]), "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    assert shape(repo.ot_json("trace", "show", sid)["steps"]) == shape(steps)
