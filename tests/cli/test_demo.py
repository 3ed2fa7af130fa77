"""`git ot demo`: the packaged recorded session, replayed in a scratch repository.

Each test runs `git ot demo` as its own process, as a user would, and reads
the scratch repository back with real git and git-ot.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from support.repo import RECORDED, git, recorded_payloads, run_ot

ROOT = Path(__file__).resolve().parents[2]
PACKAGED = ROOT / "git_ot" / "demo" / "linear-edit"
SID = "265a3953-3ae5-4217-ac1f-2e0725711a3c"
PROMPT_1 = "add a farewell function with a test"
PROMPT_2 = "make greet say hello instead of hi"
MODEL = "claude-opus-5-5"  # in the recorded transcript's replies
# The commits are the same on every run: fixed content, identity and dates.
BASE = "5a86a47219f48670871f1fde1fcf832b1ec1183b"
TURN_1 = "e58908e1e44d119a339de1d7374679c835827009"
TURN_2 = "089159cd883d14768edf8d8602af492ed666cf3f"


def demo(cwd, *args, env=None):
    proc = run_ot(cwd, "demo", *args, env=env)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def ot_out(cwd, *args) -> str:
    proc = run_ot(cwd, *args)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode()


def agent(step: int, prompt: str, prompt_step: int) -> dict:
    return {"kind": "agent", "session": SID, "step": step, "hunk": f"{step}.1.1",
            "harness": "claude-code", "model": MODEL, "prompt": prompt, "prompt_step": prompt_step}


def sections(out: str) -> dict[str, str]:
    """The demo's output by heading: the text under each `$ command` line."""
    parts = re.split(r"^\$ (.+)\n", out, flags=re.M)
    return {cmd: body for cmd, body in zip(parts[1::2], parts[2::2])}


def state_of(repo) -> dict:
    """Everything of a repository the demo must leave alone."""
    hooks = sorted(os.listdir(repo.path / ".git" / "hooks"))
    return {"refs": repo.git("for-each-ref"), "status": repo.git("status", "--porcelain"),
            "config": (repo.path / ".git" / "config").read_bytes(), "hooks": hooks,
            "state": (repo.path / ".git" / "opentraces").exists()}


def test_demo_replays_commits_and_prints_what_git_ot_says(repo, tmp_path, hermetic):
    # A user's global config that the demo must neither read nor change: a
    # global hooks directory would otherwise receive the scratch repo's hooks.
    gitconfig = hermetic / ".gitconfig"
    gitconfig.write_text(gitconfig.read_text() + "[user]\n\tname = Someone Else\n"
                         f"[core]\n\thooksPath = {hermetic / 'global-hooks'}\n")
    config_before = gitconfig.read_bytes()
    before = state_of(repo)
    target = tmp_path / "scratch"
    target.mkdir()  # an existing empty directory is fine

    status, out, err = demo(repo.path, str(target))
    assert (status, err) == (0, "")

    # The commits: the files the session started from, then one per turn,
    # dated when the turn ended in the recording.
    payloads = recorded_payloads("linear-edit")
    received = [json.loads(line)["_received_at"]
                for line in (RECORDED / "linear-edit" / "hooks.jsonl").read_text().splitlines()]
    stops = [int(t) for p, t in zip(payloads, received) if p["hook_event_name"] == "Stop"]
    assert git(target, "log", "--format=%H %an <%ae> %ad %cn <%ce> %cd %s", "--date=raw").splitlines() == [
        f"{TURN_2} Dev <dev@example.com> {stops[1]} +0000 Dev <dev@example.com> {stops[1]} +0000 "
        "greet now says hello.",
        f"{TURN_1} Dev <dev@example.com> {stops[0]} +0000 Dev <dev@example.com> {stops[0]} +0000 "
        "Added farewell() with a test; tests pass.",
        f"{BASE} Dev <dev@example.com> {int(received[0]) - 60} +0000 "
        f"Dev <dev@example.com> {int(received[0]) - 60} +0000 Start the app",
    ]
    assert git(target, "rev-parse", "--abbrev-ref", "HEAD") == "main\n"
    assert git(target, "status", "--porcelain") == ""
    assert git(target, "for-each-ref", "--format=%(refname)", "refs/opentraces/") == \
        f"refs/opentraces/sessions/{SID}\n"
    # git ot init's hooks, in the scratch repository's own hooks directory.
    assert "git-ot-hook-marker" in (target / ".git" / "hooks" / "post-commit").read_text()
    assert not (hermetic / "global-hooks").exists()
    assert gitconfig.read_bytes() == config_before
    assert git(target, "notes", "--ref=opentraces", "list").count("\n") == 3

    # Every line the session wrote, attributed to its step and prompt.
    blame = {path: [(ln["commit"], ln["content"], ln["attribution"])
                    for ln in json.loads(ot_out(target, "blame", path, "--json"))["lines"]]
             for path in ("app.py", "test_app.py")}
    assert blame["app.py"] == [
        (BASE, "def greet(name):", {"kind": "human"}),
        (TURN_2, '    return "hello " + name', agent(7, PROMPT_2, 6)),
        (TURN_1, "", agent(2, PROMPT_1, 1)),
        (TURN_1, "", agent(2, PROMPT_1, 1)),
        (TURN_1, "def farewell(name):", agent(2, PROMPT_1, 1)),
        (TURN_1, '    return "bye " + name', agent(2, PROMPT_1, 1)),
    ]
    assert blame["test_app.py"] == [
        (TURN_1, "from app import greet, farewell", agent(3, PROMPT_1, 1)),
        (TURN_1, "", agent(3, PROMPT_1, 1)),
        (TURN_1, "", agent(3, PROMPT_1, 1)),
        (TURN_1, "def test_greet():", agent(3, PROMPT_1, 1)),
        (TURN_2, '    assert greet("a") == "hello a"', agent(8, PROMPT_2, 6)),
        (TURN_1, "", agent(3, PROMPT_1, 1)),
        (TURN_1, "", agent(3, PROMPT_1, 1)),
        (TURN_1, "def test_farewell():", agent(3, PROMPT_1, 1)),
        (TURN_1, '    assert farewell("a") == "bye a"', agent(3, PROMPT_1, 1)),
    ]

    # What it printed: a heading per command, and under it exactly what the
    # command prints when run in the scratch repository.
    head, _, _ = out.partition("$ ")
    assert head == (f"Replayed Claude Code 2.1.328 session {SID}\n"
                    f"in a new repository, {target}, with a commit after each turn:\n\n")
    found = sections(out)
    commands = ["git log --oneline", "git ot trace show 265a3953", "git ot blame app.py",
                "git ot blame test_app.py", "git ot track"]
    assert list(found) == commands
    assert found["git log --oneline"] == (f"{TURN_2[:7]} greet now says hello.\n"
                                         f"{TURN_1[:7]} Added farewell() with a test; tests pass.\n"
                                         f"{BASE[:7]} Start the app\n\n")
    # The session starts when the recording's first event arrived: after
    # the base commit and before the commits of its turns.
    start = datetime.datetime.fromtimestamp(received[0], datetime.timezone.utc)
    start = start.isoformat().replace("+00:00", "Z")
    assert start == "2026-11-24T18:40:37.671208Z"
    trace = found["git ot trace show 265a3953"]
    assert trace == "\n".join([
        f"session {SID}",
        f"harness claude-code  model {MODEL}  start {start}  steps 9  files 2",
        f"    1  prompt     {PROMPT_1}",
        "    2  tool       Edit ok  app.py +4 -0",
        "    3  tool       Write ok  test_app.py +9 -0",
        "    4  tool       Bash ok  python3 -c 'import test_app; test_app.test_greet(); test_app.test_farewell(); print(\"ok\")'",
        "    5  message    Added farewell() with a test; tests pass.",
        f"    6  prompt     {PROMPT_2}",
        "    7  tool       Edit ok  app.py +1 -1",
        "    8  tool       Edit ok  test_app.py +1 -1",
        "    9  message    greet now says hello.",
        "", ""])
    last = commands[-1]
    for command in commands[1:]:
        real = ot_out(target, *command.split()[2:])
        tail = f"\nThe repository stays in {target}; try: cd {target} && git ot blame commit HEAD\n"
        assert found[command] == real + (tail if command == last else "\n"), command
    # The blame sections show every line with its step and prompt.
    assert f"265a3953:7 claude-code/{MODEL} {PROMPT_2}      return \"hello \" + name\n" \
        in found["git ot blame app.py"]
    # Every hunk landed; one line of the Write was changed by the second
    # turn's step 8, of the same session. Each row names its step, as
    # trace show and blame do.
    assert found["git ot track"].splitlines()[:11] == [
        f"at HEAD ({TURN_2[:8]})",
        "",
        f"session {SID}  claude-code  model {MODEL}  start {start}",
        "  STEP  PATH         STATE              WRITTEN  LANDED  ALIVE  EVIDENCE",
        "     2  app.py       alive_on_path            4       4      4  app.py:3-6",
        "     3  test_app.py  alive_transformed        9       9      8  test_app.py:1-4,6-9; "
        f"removed by step 8 of this session ({TURN_2[:8]})",
        "     7  app.py       alive_on_path            1       1      1  app.py:2",
        "     8  test_app.py  alive_on_path            1       1      1  test_app.py:5",
        "  written 15, landed 15 (100%), alive 14 (93%), pending 0",
        "",
        "total: 1 session, 4 hunks: written 15, landed 15 (100%), alive 14 (93%), pending 0",
    ]

    # The repository the demo was started from is as it was.
    assert state_of(repo) == before


def test_json_summary(tmp_path):
    target = tmp_path / "scratch"
    status, out, err = demo(tmp_path, str(target), "--json")
    assert (status, err) == (0, "")
    summary = json.loads(out)
    assert list(summary) == ["directory", "session", "harness", "harness_version", "commits",
                             "trace", "blame", "track"]
    assert summary["directory"] == str(target)
    assert (summary["session"], summary["harness"], summary["harness_version"]) == \
        (SID, "claude-code", "2.1.328")
    assert summary["commits"] == [
        {"commit": BASE, "subject": "Start the app"},
        {"commit": TURN_1, "subject": "Added farewell() with a test; tests pass."},
        {"commit": TURN_2, "subject": "greet now says hello."},
    ]
    assert summary["trace"] == json.loads(ot_out(target, "trace", "show", "265a3953", "--json"))
    # The version the demo prints is the one the session's manifest holds,
    # read from the transcript as in a live session, with the model.
    assert (summary["trace"]["session"]["harness_version"], summary["trace"]["session"]["models"]) == \
        ("2.1.328", [MODEL])
    assert [s["kind"] for s in summary["trace"]["steps"]] == \
        ["prompt", "tool", "tool", "tool", "message", "prompt", "tool", "tool", "message"]
    assert list(summary["blame"]) == ["app.py", "test_app.py"]
    for path, result in summary["blame"].items():
        assert result == json.loads(ot_out(target, "blame", path, "--json"))
    assert [ln["attribution"].get("step") for ln in summary["blame"]["app.py"]["lines"]] == \
        [None, 7, 2, 2, 2, 2]
    assert summary["track"] == json.loads(ot_out(target, "track", "--json"))
    [session] = summary["track"]["sessions"]
    assert session["session"] == SID
    assert [(h["hunk"], h["path"], h["state"], h["lines"]) for h in session["hunks"]] == [
        ("2.1.1", "app.py", "alive_on_path", {"written": 4, "landed": 4, "alive": 4, "pending": 0}),
        ("3.1.1", "test_app.py", "alive_transformed", {"written": 9, "landed": 9, "alive": 8, "pending": 0}),
        ("7.1.1", "app.py", "alive_on_path", {"written": 1, "landed": 1, "alive": 1, "pending": 0}),
        ("8.1.1", "test_app.py", "alive_on_path", {"written": 1, "landed": 1, "alive": 1, "pending": 0}),
    ]
    # The line the Write lost was replaced by the same session's step 8.
    assert [h["removed"] for h in session["hunks"]] == \
        [[], [{"commit": TURN_2, "lines": 1, "reverts": None, "steps": [8]}], [], []]


def test_default_directory_is_a_new_one_under_the_temp_dir(tmp_path):
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp)}
    status, out, err = demo(tmp_path, env=env)
    assert (status, err) == (0, "")
    [made] = os.listdir(temp)
    assert made.startswith("git-ot-demo-")
    where = temp / made
    assert out.splitlines()[-1] == f"The repository stays in {where}; try: cd {where} && git ot blame commit HEAD"
    assert git(where, "rev-parse", "HEAD").strip() == TURN_2


def test_refuses_a_directory_that_is_not_empty(tmp_path):
    target = tmp_path / "busy"
    target.mkdir()
    (target / "keep.txt").write_text("mine\n")
    status, out, err = demo(tmp_path, "busy")
    assert (status, out) == (1, "")
    assert err == ("error: directory 'busy' is not empty\n"
                   f"hint: name a new or empty directory, or none for a new one under {tempfile.gettempdir()}\n")
    assert os.listdir(target) == ["keep.txt"]

    (tmp_path / "file").write_text("x\n")
    status, out, err = demo(tmp_path, "file")
    assert (status, out) == (1, "")
    assert err.splitlines()[0] == "error: 'file' exists and is not a directory"
    assert err.splitlines()[1].startswith("hint: ") and len(err.splitlines()) == 2
    assert (tmp_path / "file").read_text() == "x\n"


def test_the_packaged_session_is_the_recorded_one():
    """The package ships the recording unchanged, and the files it started from."""
    for name in ("hooks.jsonl", "transcript.jsonl"):
        assert (PACKAGED / name).read_bytes() == (RECORDED / "linear-edit" / name).read_bytes(), name
    assert (PACKAGED / "LICENSE").read_bytes() == (ROOT / "LICENSE").read_bytes()
    base = json.loads((PACKAGED / "base.json").read_text())
    # The blob the recording's final diff starts from (`index c5051b9..`).
    blob = git(ROOT, "hash-object", "--stdin", input=base["files"]["app.py"]).strip()
    assert blob.startswith("c5051b9")
    assert "index c5051b9.." in (RECORDED / "linear-edit" / "worktree.diff").read_text()


def test_the_packaged_session_ships_in_a_regular_build(tmp_path):
    """A regular build (setuptools' build_py, what a wheel holds) carries the
    session: the package list and package data in pyproject.toml name it."""
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for name in ("git_ot", "githooks"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    out = tmp_path / "lib"
    proc = subprocess.run([sys.executable, "-c", "import setuptools; setuptools.setup()",
                           "-q", "build_py", "--build-lib", str(out)],
                          cwd=src, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert sorted(os.listdir(out / "git_ot" / "demo" / "linear-edit")) == \
        ["LICENSE", "PROVENANCE.md", "base.json", "hooks.jsonl", "transcript.jsonl"]
    env = {**os.environ, "PYTHONPATH": str(out)}
    proc = subprocess.run([sys.executable, "-c", "import git_ot.demo as d; print(d.__file__); "
                           "print(len(d.payloads()), d.payloads()[0]['session_id'])"],
                          cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"{out / 'git_ot' / 'demo' / '__init__.py'}\n18 {SID}\n"
