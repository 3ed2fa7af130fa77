"""`git ot trace list` and `trace show` over sessions captured through the hook path.

The hooks are real processes; the trace commands run inside the test
process (support/cli.py), which prints and exits as the program does.
"""

from __future__ import annotations

import json

from support.repo import git, replay

LINEAR = "265a3953-3ae5-4217-ac1f-2e0725711a3c"


def test_list_after_replay_of_a_real_session(repo):
    sid = replay(repo, "linear-edit")
    assert sid == LINEAR
    out = repo.cli_json("trace", "list")
    [row] = out["sessions"]
    head = repo.git("rev-parse", "HEAD").strip()
    tip = repo.git("rev-parse", f"refs/opentraces/sessions/{LINEAR}").strip()
    assert {k: v for k, v in row.items() if k not in ("start", "end")} == {
        "session": LINEAR,
        "harness": "claude-code",
        "harness_version": None,
        "models": [],
        "steps": 9,
        "prompts": 2,
        "tools": 5,
        "files": 2,
        "commits": 0,
        "base": head,
        "branch": "main",
        "slug": None,
        "started_by": "startup",
        "continues": None,
        "tip": tip,
    }
    assert row["start"].endswith("Z") and row["end"].endswith("Z")
    repo.fsck()


def test_show_lists_steps_in_order_with_their_patches(repo):
    replay(repo, "linear-edit")
    out = repo.cli_json("trace", "show", "265a")
    steps = out["steps"]
    assert [(s["n"], s["kind"], s.get("name")) for s in steps] == [
        (1, "prompt", None), (2, "tool", "Edit"), (3, "tool", "Write"), (4, "tool", "Bash"),
        (5, "message", None), (6, "prompt", None), (7, "tool", "Edit"), (8, "tool", "Edit"),
        (9, "message", None),
    ]
    assert steps[0]["text"] == "add a farewell function with a test"
    assert steps[4]["text"] == "Added farewell() with a test; tests pass."
    patches = {s["n"]: [(f["status"], f["path"], f["added"], f["removed"]) for f in s["patch"]["files"]]
               for s in steps if "patch" in s}
    assert patches == {
        2: [("M", "app.py", 4, 0)],
        3: [("A", "test_app.py", 9, 0)],
        4: [],
        7: [("M", "app.py", 1, 1)],
        8: [("M", "test_app.py", 1, 1)],
    }
    assert all(s["status"] == "ok" for s in steps if s["kind"] == "tool")


def test_show_human_output(repo):
    replay(repo, "linear-edit")
    proc = repo.cli("trace", "show", LINEAR[:8])
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.decode().splitlines()
    assert lines[0] == f"session {LINEAR}"
    assert lines[2:] == [
        "    1  prompt     add a farewell function with a test",
        "    2  tool       Edit ok  app.py +4 -0",
        "    3  tool       Write ok  test_app.py +9 -0",
        "    4  tool       Bash ok  python3 -c 'import test_app; test_app.test_greet(); test_app.test_farewell(); print(\"ok\")'",
        "    5  message    Added farewell() with a test; tests pass.",
        "    6  prompt     make greet say hello instead of hi",
        "    7  tool       Edit ok  app.py +1 -1",
        "    8  tool       Edit ok  test_app.py +1 -1",
        "    9  message    greet now says hello.",
    ]


def test_show_one_step_in_full(repo):
    replay(repo, "linear-edit")
    out = repo.cli_json("trace", "show", f"{LINEAR}:4")
    step = out["step"]
    assert step["name"] == "Bash"
    assert step["input"]["command"].startswith("python3 -c 'import test_app")
    assert step["output"]["stdout"] == "ok"


def test_step_patch_is_exactly_that_steps_change(repo):
    """Each step's snapshots differ by exactly the file that step wrote."""
    replay(repo, "linear-edit")
    ref = f"refs/opentraces/sessions/{LINEAR}"
    diff = repo.git("diff", "--name-status", f"{ref}:snapshots/7-before", f"{ref}:snapshots/7-after")
    assert diff == "M\tapp.py\n"
    text = repo.git("show", f"{ref}:snapshots/8-after/test_app.py")
    assert text == (repo.path / "test_app.py").read_text()


def test_unique_and_ambiguous_prefixes(repo):
    for sid in ("abc111", "abc222", "def333"):
        repo.hook("UserPromptSubmit", {"session_id": sid, "prompt": f"p {sid}"})
        repo.hook("Stop", {"session_id": sid})
    assert repo.cli_json("trace", "show", "def")["session"]["session"] == "def333"
    proc = repo.cli("trace", "show", "abc")
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines() == [
        "error: session prefix 'abc' is ambiguous",
        "hint: candidates: abc111, abc222",
    ]
    proc = repo.cli("trace", "show", "zzz")
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines() == [
        "error: no session matches 'zzz'",
        "hint: 'git ot trace list' shows the sessions of this repository",
    ]


def test_unknown_step(repo):
    repo.hook("UserPromptSubmit", {"session_id": "s1", "prompt": "hello"})
    repo.hook("Stop", {"session_id": "s1"})
    proc = repo.cli("trace", "show", "s1:7")
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines() == [
        "error: session s1 has no step 7",
        "hint: its steps are 1 to 1",
    ]
    proc = repo.cli("trace", "show", "s1:x")
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines()[0] == "error: invalid step 'x' in 's1:x'"


def test_list_is_empty_in_a_new_repository(empty_repo):
    assert empty_repo.cli_json("trace", "list") == {"sessions": []}
    proc = empty_repo.cli("trace", "list")
    assert proc.stdout.decode() == "no sessions\n"


def test_list_seals_live_spools_first(repo):
    """A session still running (no Stop yet) is listed, not hidden in the spool."""
    repo.hook("UserPromptSubmit", {"session_id": "live1", "prompt": "still going"})
    assert git(repo.path, "for-each-ref", "refs/opentraces/") == ""
    [row] = repo.cli_json("trace", "list")["sessions"]
    assert (row["session"], row["steps"], row["end"]) == ("live1", 1, None)


def test_sessions_travel_with_push_and_fetch(repo, tmp_path):
    replay(repo, "linear-edit")
    repo.hook("UserPromptSubmit", {"session_id": "other-session", "prompt": "second"})
    repo.hook("SessionEnd", {"session_id": "other-session", "reason": "exit"})
    before = repo.cli_json("trace", "list")
    bare = tmp_path / "server.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    repo.git("push", "-q", str(bare), "main", "refs/opentraces/*:refs/opentraces/*")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(bare), str(clone))
    git(clone, "fetch", "-q", "origin", "refs/opentraces/*:refs/opentraces/*")
    from support.repo import Repo

    other = Repo(clone)
    assert other.cli_json("trace", "list") == before
    assert other.cli_json("trace", "show", "265a") == repo.cli_json("trace", "show", "265a")
    other.fsck()
    git(bare, "fsck", "--strict", "--no-dangling")


def test_gc_prune_keeps_everything_a_session_reaches(repo):
    replay(repo, "linear-edit")
    before = repo.cli_json("trace", "show", "265a")
    repo.git("gc", "-q", "--prune=now")
    assert repo.cli_json("trace", "show", "265a") == before
    for name in ("2-before", "8-after"):
        repo.git("ls-tree", "-r", f"refs/opentraces/sessions/{LINEAR}:snapshots/{name}")
    repo.fsck()


def test_capture_in_a_repository_with_no_commits(empty_repo):
    empty_repo.cli_json("init")
    empty_repo.hook("PreToolUse", {"session_id": "s-new", "tool_name": "Write", "tool_use_id": "w1",
                                   "tool_input": {"file_path": "x.txt", "content": "x\n"}})
    empty_repo.write("x.txt", "x\n")
    empty_repo.hook("PostToolUse", {"session_id": "s-new", "tool_name": "Write", "tool_use_id": "w1",
                                    "tool_input": {"file_path": "x.txt", "content": "x\n"},
                                    "tool_response": {"type": "create"}})
    empty_repo.hook("Stop", {"session_id": "s-new"})
    [row] = empty_repo.cli_json("trace", "list")["sessions"]
    assert (row["session"], row["base"], row["branch"], row["files"]) == ("s-new", None, "main", 1)


def test_base_is_the_commit_the_session_started_from(repo):
    """The agent commits mid-turn; the session's base stays where it started."""
    start = repo.git("rev-parse", "HEAD").strip()
    repo.hook("SessionStart", {"session_id": "s-base", "source": "startup"})
    repo.hook("UserPromptSubmit", {"session_id": "s-base", "prompt": "commit something"})
    repo.write("made.txt", "m\n")
    repo.commit("agent commit")
    repo.hook("Stop", {"session_id": "s-base"})
    [row] = repo.cli_json("trace", "list")["sessions"]
    assert (row["base"], row["branch"]) == (start, "main")


def test_a_file_over_the_size_limit_is_a_large_change_without_lines(repo):
    import os

    env = {**os.environ, "GIT_OT_MAX_FILE_SIZE": "100"}
    pre = {"session_id": "s-large", "tool_name": "Bash", "tool_use_id": "b1",
           "tool_input": {"command": "make data"}, "cwd": str(repo.path)}
    repo.ot("hook", "claude-code", "PreToolUse",
            input=json.dumps({**pre, "hook_event_name": "PreToolUse"}), env=env)
    repo.write("data.csv", "row\n" * 100)
    repo.ot("hook", "claude-code", "PostToolUse",
            input=json.dumps({**pre, "hook_event_name": "PostToolUse", "tool_response": {}}), env=env)
    repo.hook("Stop", {"session_id": "s-large"})
    [step] = repo.cli_json("trace", "show", "s-large")["steps"]
    assert step["patch"]["files"] == [
        {"status": "A", "path": "data.csv", "large": True, "hunks": [], "added": 0, "removed": 0}]
