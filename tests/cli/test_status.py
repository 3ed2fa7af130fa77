"""`git ot status`: is git-ot set up here, what is wrong, and how to fix it;
read only, in any repository, set up or not."""

from __future__ import annotations

import hashlib
import json
import os

from support.repo import Repo, git, run_ot

HOOKS = ["post-commit", "post-rewrite", "post-merge", "post-applypatch"]
EVENTS = ["SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "PostToolUseFailure",
          "Stop", "SubagentStart", "SubagentStop", "PreCompact", "PostCompact", "SessionEnd"]


def status(repo, *args):
    proc = repo.cli("status", *args)
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr.decode()
    return json.loads(proc.stdout) if "--json" in args else proc.stdout.decode().splitlines()


def unwired(scope):
    return {"scope": scope, "wired": False, "settings": None, "events": [], "missing": [],
            "error": None, "hint": None}


def report(repo, hooks, project=None, sealed=0, pending=0, problems=(), set_up=True):
    return {
        "set_up": set_up,
        "hooks": {"hooks_dir": str(repo.path / ".git/hooks"), "hooks": hooks},
        "harnesses": [{"harness": "claude-code", "title": "Claude Code",
                       "scopes": [project or unwired("project"), unwired("local"), unwired("user")]},
                      {"harness": "codex", "title": "Codex", "scopes": [unwired("user"), unwired("project")]},
                      {"harness": "pi", "title": "Pi", "scopes": [unwired("project"), unwired("user")]}],
        "sessions": {"sealed": sealed, "pending": pending, "blocked": []},
        "telemetry": {"receiver": None, "held": 0, "held_records": 0, "held_since": None,
                      "held_max_age": 7 * 86400, "held_max_age_error": None},
        "watcher": None,
        "sharing": {"remote": None, "url": None, "plain_git": False, "require_approval": True,
                    "not_approved": sealed},
        "problems": list(problems),
    }


def tree_digest(path) -> dict:
    """Every file under `path` with its content's hash and mtime."""
    out = {}
    for root, dirs, files in os.walk(path):
        for name in files:
            p = os.path.join(root, name)
            with open(p, "rb") as fh:
                out[p] = (hashlib.sha1(fh.read()).hexdigest(), os.stat(p).st_mtime_ns)
        for name in dirs:
            out[os.path.join(root, name)] = "dir"
    return out


NOT_SET_UP = [
    {"problem": "git hooks not installed: post-commit, post-rewrite, post-merge, post-applypatch",
     "hint": "run 'git ot init'"},
    {"problem": "no harness runs git-ot: Claude Code (project, local, user), Codex (user, project), "
                "Pi (project, user)",
     "hint": "run 'git ot install claude-code' or run 'git ot install codex' or run 'git ot install pi'"},
]


def test_fresh_repository_says_it_is_not_set_up(repo):
    hooks_dir = repo.path / ".git/hooks"
    assert status(repo) == [
        "git-ot is not set up in this repository",
        "",
        f"git hooks in {hooks_dir}",
        "  post-commit      missing",
        "  post-rewrite     missing",
        "  post-merge       missing",
        "  post-applypatch  missing",
        "",
        "harnesses",
        "  claude-code  project  not wired",
        "  claude-code  local    not wired",
        "  claude-code  user     not wired",
        "  codex        user     not wired",
        "  codex        project  not wired",
        "  pi           project  not wired",
        "  pi           user     not wired",
        "",
        "sessions",
        "  sealed        0",
        "  pending seal  0",
        "  held back     0",
        "",
        "telemetry",
        "  receiver      not running",
        "  held          0 session(s) not known here",
        "",
        "watcher",
        "  working tree  not running",
        "",
        "sharing",
        "  remote        none",
        "  not approved  0",
        "",
        "problem: git hooks not installed: post-commit, post-rewrite, post-merge, post-applypatch",
        "hint: run 'git ot init'",
        "problem: no harness runs git-ot: Claude Code (project, local, user), Codex (user, project), "
        "Pi (project, user)",
        "hint: run 'git ot install claude-code' or run 'git ot install codex' or run 'git ot install pi'",
    ]
    missing = {h: {"state": "missing", "chained": None} for h in HOOKS}
    assert status(repo, "--json") == report(repo, missing, problems=NOT_SET_UP, set_up=False)


def test_set_up_repository_has_no_problems(repo):
    repo.cli_json("init")
    repo.cli_json("install", "claude-code")
    settings = str(repo.path / ".claude/settings.json")
    installed = {h: {"state": "installed", "chained": None} for h in HOOKS}
    project = {"scope": "project", "wired": True, "settings": settings, "events": EVENTS,
               "missing": [], "error": None, "hint": None}
    assert status(repo, "--json") == report(repo, installed, project)
    lines = status(repo)
    assert lines[:15] == [
        f"git hooks in {repo.path / '.git/hooks'}",
        "  post-commit      installed",
        "  post-rewrite     installed",
        "  post-merge       installed",
        "  post-applypatch  installed",
        "",
        "harnesses",
        f"  claude-code  project  11 of 11 events, in {settings}",
        "  claude-code  local    not wired",
        "  claude-code  user     not wired",
        "  codex        user     not wired",
        "  codex        project  not wired",
        "  pi           project  not wired",
        "  pi           user     not wired",
        "",
    ]
    assert lines[-1] == "no problems found"


def test_pending_and_sealed_sessions(repo):
    repo.cli_json("init")
    repo.cli_json("install", "claude-code")
    repo.hook("UserPromptSubmit", {"session_id": "s-done", "prompt": "one"})
    repo.hook("Stop", {"session_id": "s-done"})
    assert status(repo, "--json")["sharing"]["not_approved"] == 1
    repo.cli_json("approve", "s-done")
    repo.hook("UserPromptSubmit", {"session_id": "s-open", "prompt": "two"})
    result = status(repo, "--json")
    assert result["sessions"] == {"sealed": 1, "pending": 1, "blocked": []}
    assert result["sharing"]["not_approved"] == 0
    assert result["problems"] == []
    lines = status(repo)
    at = lines.index("sessions")
    assert lines[at:at + 4] == ["sessions", "  sealed        1", "  pending seal  1", "  held back     0"]
    # Status sealed nothing: the open session is still in the spool only.
    assert git(repo.path, "for-each-ref", "--format=%(refname)", "refs/opentraces/") == \
        "refs/opentraces/sessions/s-done\n"


def test_blocked_session_is_a_problem(repo):
    repo.hook("UserPromptSubmit", {"session_id": "s-held", "prompt": "p"})
    marker = repo.path / ".git/opentraces/gate/blocked/s-held"
    marker.parent.mkdir(parents=True)
    marker.write_text("aws-key in step 1\n")
    result = status(repo, "--json")
    assert result["sessions"]["blocked"] == [{"session": "s-held", "reason": "aws-key in step 1"}]
    assert result["problems"][-1] == {
        "problem": "the security gate holds back session 's-held': aws-key in step 1",
        "hint": "'git ot scan s-held' shows the findings; 'git ot forget s-held' drops it"}


def test_chained_and_foreign_hooks(repo):
    hooks_dir = repo.path / ".git/hooks"
    (hooks_dir / "post-commit").write_text("#!/bin/sh\nexit 0\n")
    (hooks_dir / "post-commit").chmod(0o755)
    result = status(repo, "--json")
    assert result["hooks"]["hooks"]["post-commit"] == {"state": "not ours", "chained": None}
    assert result["problems"][:2] == [
        {"problem": "git hooks not installed: post-rewrite, post-merge, post-applypatch",
         "hint": "run 'git ot init'"},
        {"problem": "git hooks not git-ot's: post-commit",
         "hint": "run 'git ot init' (it keeps each as <hook>.pre-git-ot and runs it first)"},
    ]
    repo.cli_json("init")
    result = status(repo, "--json")
    assert result["hooks"]["hooks"]["post-commit"] == {"state": "installed",
                                                       "chained": "post-commit.pre-git-ot"}
    assert "  post-commit      installed, runs post-commit.pre-git-ot first" in status(repo)
    assert result["problems"] == NOT_SET_UP[1:]


def test_hooks_path_and_partial_wiring(repo):
    repo.git("config", "core.hooksPath", ".githooks")
    repo.cli_json("init")
    repo.cli_json("install", "claude-code", "--scope", "local")
    path = repo.path / ".claude/settings.local.json"
    doc = json.loads(path.read_text())
    del doc["hooks"]["PreCompact"]
    path.write_text(json.dumps(doc, indent=2) + "\n")
    result = status(repo, "--json")
    assert result["hooks"]["hooks_dir"] == str(repo.path / ".githooks")
    assert all(h["state"] == "installed" for h in result["hooks"]["hooks"].values())
    local = result["harnesses"][0]["scopes"][1]
    assert local["wired"] and local["missing"] == ["PreCompact"]
    assert result["problems"] == [
        {"problem": "Claude Code's local settings do not run git-ot for: PreCompact",
         "hint": "run 'git ot install claude-code --scope local'"}]
    assert "  claude-code  local    10 of 11 events, in " + str(path) in status(repo)


def test_unreadable_settings_and_unknown_remote(repo):
    repo.write(".claude/settings.json", "{not json")
    repo.git("config", "ot.remote", "nowhere")
    problems = status(repo, "--json")["problems"]
    assert problems[1]["problem"].startswith("cannot read Claude Code's project settings: '")
    assert problems[1]["hint"] == "fix the file (or move it aside), then run the command again"
    assert problems[-1] == {"problem": "the sharing remote 'nowhere' is not a git remote",
                            "hint": "add it with 'git ot remote set nowhere <url>'"}


def test_status_writes_nothing(repo):
    before = tree_digest(repo.path)
    status(repo)
    status(repo, "--json")
    assert not (repo.path / ".git/opentraces").exists()
    assert tree_digest(repo.path) == before
    # Set up, with a session spooled: still nothing written, nothing sealed.
    repo.cli_json("init")
    repo.hook("UserPromptSubmit", {"session_id": "s-open", "prompt": "p"})
    before = tree_digest(repo.path)
    status(repo)
    status(repo, "--json")
    assert tree_digest(repo.path) == before


def test_bare_repository_and_outside_one(tmp_path, repo):
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo.path), str(bare))
    result = Repo(bare).cli_json("status")
    assert result["hooks"]["hooks_dir"] == str(bare / "hooks")
    outside = tmp_path / "outside"
    outside.mkdir()
    proc = run_ot(outside, "status")
    assert proc.returncode == 1 and proc.stdout == b""
    assert proc.stderr.decode().splitlines() == [
        "error: not a git repository (or any of the parent directories)",
        "hint: run git-ot inside a git repository, or 'git init' one first"]
