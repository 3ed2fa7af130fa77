"""`git ot install claude-code` / `git ot uninstall claude-code`: merge, repeat, restore exactly.

The commands run inside the test process (support/cli.py), but for the
real program's runs: one in a repository, and the user scope, which writes
under the HOME of a process of its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from support import hookcommands
from support.repo import Repo, git, run_ot
from git_ot.capture.claude_code import settings as claude_settings

EVENTS = ["SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "PostToolUseFailure",
          "Stop", "SubagentStart", "SubagentStop", "PreCompact", "PostCompact", "SessionEnd"]
TOOL_EVENTS = {"PreToolUse", "PostToolUse", "PostToolUseFailure"}


# Events that need no live look: their payloads go to the inbox, with no
# Python started (a session's start with HEAD beside it); a turn's and a
# session's end start the drain.
INBOX_EVENTS = {"SessionStart", "UserPromptSubmit", "Stop", "SubagentStart", "SubagentStop", "PreCompact",
                "PostCompact", "SessionEnd"}


def ours(event: str, scope: str = "project") -> str:
    """The command of one scope: the committed file's works on any machine,
    the local and user files name this interpreter."""
    if event in INBOX_EVENTS:
        return hookcommands.inbox("claude-code", event, scope, drain=event in ("Stop", "SessionEnd"),
                                  head=event == "SessionStart")
    return hookcommands.runner("claude-code", event, scope)


def our_group(event: str, scope: str = "project") -> dict:
    group = {"matcher": claude_settings.TOOL_MATCHER} if event in TOOL_EVENTS else {}
    group["hooks"] = [{"type": "command", "command": ours(event, scope)}]
    return group


# A settings file as Claude Code writes it (JSON.stringify(..., null, 2)),
# with hooks of the user's own, one of them on an event git-ot uses.
USERS = {
    "permissions": {"allow": ["Bash(npm run test:*)"], "deny": []},
    "env": {"FOO": "b\u00e4r"},
    "hooks": {
        "PostToolUse": [{"matcher": "Edit|Write",
                         "hooks": [{"type": "command", "command": "prettier --write \"$FILE\""}]}],
        "Notification": [{"hooks": [{"type": "command", "command": "notify-send claude"}]}],
    },
    "model": "opus",
}


def test_install_into_a_fresh_repository_and_uninstall_leaves_nothing(repo):
    result = repo.cli_json("install", "claude-code")
    path = repo.path / ".claude" / "settings.json"
    assert result == {"harness": "claude-code", "scope": "project", "settings": str(path),
                      "command": ours("<Event>"), "events": {e: "installed" for e in EVENTS}}
    text = path.read_text()
    assert json.loads(text) == {"hooks": {e: [our_group(e)] for e in EVENTS}}
    assert text == json.dumps({"hooks": {e: [our_group(e)] for e in EVENTS}}, indent=2) + "\n"
    again = repo.cli_json("install", "claude-code")
    assert again["events"] == {e: "unchanged" for e in EVENTS}
    assert path.read_text() == text
    proc = repo.ot("install", "claude-code")
    assert proc.stdout.decode().splitlines() == [f"{e}: unchanged" for e in EVENTS] + [
        f"Claude Code runs git-ot from {path}"]
    removed = repo.cli_json("uninstall", "claude-code")
    assert removed == {"harness": "claude-code", "scope": "project", "settings": str(path),
                       "events": {e: "removed" for e in EVENTS}, "file": "deleted"}
    assert not (repo.path / ".claude").exists()
    assert repo.git("status", "--porcelain") == ""


@pytest.mark.parametrize("indent", [2, 4, "\t"], ids=["two-spaces", "four-spaces", "tab"])
def test_existing_settings_are_merged_and_restored_byte_for_byte(repo, indent):
    path = repo.path / ".claude" / "settings.json"
    path.parent.mkdir()
    original = (json.dumps(USERS, indent=indent, ensure_ascii=False) + "\n").encode()
    path.write_bytes(original)
    (repo.path / ".claude" / "commands").mkdir()
    result = repo.cli_json("install", "claude-code")
    assert result["events"] == {e: "installed" for e in EVENTS}
    merged = json.loads(path.read_text())
    # The user's hooks stay first on their event; every other key is kept.
    assert merged["hooks"]["PostToolUse"] == USERS["hooks"]["PostToolUse"] + [our_group("PostToolUse")]
    assert merged["hooks"]["Notification"] == USERS["hooks"]["Notification"]
    assert {k: v for k, v in merged.items() if k != "hooks"} == {k: v for k, v in USERS.items() if k != "hooks"}
    assert list(merged) == list(USERS)
    assert path.read_text().startswith("{\n" + (" " * indent if isinstance(indent, int) else indent)
                                       + '"permissions"')
    assert repo.cli_json("install", "claude-code")["events"] == {e: "unchanged" for e in EVENTS}
    removed = repo.cli_json("uninstall", "claude-code")
    assert removed["file"] == "updated"
    assert removed["events"] == {e: "removed" for e in EVENTS}
    assert path.read_bytes() == original
    assert sorted(os.listdir(repo.path / ".claude")) == ["commands", "settings.json"]


def test_a_one_line_settings_file_is_restored_byte_for_byte(repo):
    path = repo.path / ".claude" / "settings.json"
    path.parent.mkdir()
    original = b'{"model":"opus","hooks":{"Stop":[{"hooks":[{"type":"command","command":"say done"}]}]}}'
    path.write_bytes(original)
    repo.cli_json("install", "claude-code")
    assert json.loads(path.read_text())["hooks"]["Stop"][1] == our_group("Stop")
    repo.cli_json("uninstall", "claude-code")
    assert path.read_bytes() == original


def test_an_entry_of_another_interpreter_is_updated_and_duplicates_dropped(repo):
    path = repo.path / ".claude" / "settings.json"
    path.parent.mkdir()
    old = "/old/venv/bin/python -m git_ot hook claude-code Stop"
    path.write_text(json.dumps({"hooks": {
        "Stop": [{"hooks": [{"type": "command", "command": old, "timeout": 30}]},
                 {"hooks": [{"type": "command", "command": "git-ot hook claude-code Stop"},
                            {"type": "command", "command": "say done"}]}],
    }}, indent=2) + "\n")
    result = repo.cli_json("install", "claude-code")
    assert result["events"]["Stop"] == "updated"
    assert result["events"]["SessionEnd"] == "installed"
    stop = json.loads(path.read_text())["hooks"]["Stop"]
    assert stop == [{"hooks": [{"type": "command", "command": ours("Stop"), "timeout": 30}]},
                    {"hooks": [{"type": "command", "command": "say done"}]}]
    repo.cli_json("uninstall", "claude-code")
    assert json.loads(path.read_text()) == {"hooks": {"Stop": [
        {"hooks": [{"type": "command", "command": "say done"}]}]}}


@pytest.mark.parametrize("content,message", [
    ('{"hooks": {', "is not valid JSON: Expecting property name enclosed in double quotes at line 1 column 12"),
    ("[1, 2]", "does not hold a JSON object"),
])
def test_a_settings_file_that_is_not_a_json_object_is_refused(repo, content, message):
    path = repo.path / ".claude" / "settings.json"
    path.parent.mkdir()
    path.write_text(content)
    for args in (["install", "claude-code"], ["uninstall", "claude-code"]):
        proc = repo.cli(*args)
        assert proc.returncode == 1
        assert proc.stderr.decode().splitlines() == [
            f"error: '{path}' {message}",
            "hint: fix the file (or move it aside), then run the command again",
        ]
        assert path.read_text() == content


def test_hooks_that_are_not_an_object_are_refused(repo):
    path = repo.path / ".claude" / "settings.json"
    path.parent.mkdir()
    path.write_text('{"hooks": []}\n')
    proc = repo.cli("install", "claude-code")
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines()[0] == f"error: 'hooks' in '{path}' is not a JSON object"
    assert path.read_text() == '{"hooks": []}\n'


def test_user_scope_honours_claude_config_dir_and_needs_no_repository(tmp_path, hermetic, monkeypatch):
    outside = tmp_path / "nowhere"
    outside.mkdir()
    proc = run_ot(outside, "install", "claude-code", "--scope", "user", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["settings"] == str(hermetic / ".claude" / "settings.json")
    assert json.loads((hermetic / ".claude" / "settings.json").read_text())["hooks"]["Stop"] == \
        [our_group("Stop", "user")]
    assert json.loads(run_ot(outside, "uninstall", "claude-code", "--scope", "user", "--json").stdout)["file"] \
        == "deleted"
    assert (hermetic / ".claude").is_dir()  # the user's Claude directory itself stays
    config = tmp_path / "claude-config"
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(config))
    proc = run_ot(outside, "install", "claude-code", "--scope", "user", "--json")
    assert json.loads(proc.stdout)["settings"] == str(config / "settings.json")
    assert (config / "settings.json").is_file()


def test_local_scope_writes_settings_local_json(repo):
    (repo.path / ".claude").mkdir()
    (repo.path / ".claude" / "settings.json").write_text('{"model": "opus"}\n')
    result = repo.cli_json("install", "claude-code", "--scope", "local")
    assert result["settings"] == str(repo.path / ".claude" / "settings.local.json")
    assert result["command"] == ours("<Event>", "local")
    local = json.loads((repo.path / ".claude" / "settings.local.json").read_text())
    assert local == {"hooks": {e: [our_group(e, "local")] for e in EVENTS}}
    assert (repo.path / ".claude" / "settings.json").read_text() == '{"model": "opus"}\n'
    assert repo.cli_json("uninstall", "claude-code", "--scope", "local")["file"] == "deleted"
    assert os.listdir(repo.path / ".claude") == ["settings.json"]


def test_a_symlinked_settings_file_stays_a_symlink(repo, tmp_path):
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    (dotfiles / "settings.json").write_text('{\n  "model": "opus"\n}\n')
    (repo.path / ".claude").mkdir()
    link = repo.path / ".claude" / "settings.json"
    link.symlink_to(dotfiles / "settings.json")
    repo.cli_json("install", "claude-code")
    assert link.is_symlink()
    assert "git-ot hook claude-code" in (dotfiles / "settings.json").read_text()
    repo.cli_json("uninstall", "claude-code")
    assert link.is_symlink() and (dotfiles / "settings.json").read_text() == '{\n  "model": "opus"\n}\n'


def test_harness_uninstall_and_git_hook_uninstall_are_separate(repo):
    repo.cli_json("init")
    repo.cli_json("install", "claude-code")
    assert repo.cli_json("uninstall", "claude-code")["file"] == "deleted"
    assert sorted(n for n in os.listdir(repo.path / ".git" / "hooks") if not n.endswith(".sample")) == \
        ["post-applypatch", "post-commit", "post-merge", "post-rewrite"]
    repo.cli_json("install", "claude-code")
    repo.cli_json("uninstall")
    assert (repo.path / ".claude" / "settings.json").is_file()
    assert repo.cli_json("uninstall", "claude-code")["events"] == {e: "removed" for e in EVENTS}
    assert repo.cli_json("uninstall", "claude-code") == {
        "harness": "claude-code", "scope": "project", "settings": str(repo.path / ".claude" / "settings.json"),
        "events": {e: "absent" for e in EVENTS}, "file": "absent"}


def test_scope_without_a_harness_is_a_usage_error(repo):
    proc = repo.cli("uninstall", "--scope", "user")
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines() == [
        "error: --scope needs a HARNESS, as in 'git ot uninstall claude-code --scope user'",
        "hint: see 'git ot uninstall --help'",
    ]


def test_project_scope_refuses_a_bare_repository(tmp_path):
    bare = tmp_path / "bare.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    proc = Repo(bare).cli("install", "claude-code")
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines() == [
        "error: 'git ot install claude-code --scope project' needs a working tree and this repository is bare",
        "hint: run it in a clone with a working tree",
    ]


def test_the_local_command_runs_without_git_ot_on_path(repo):
    """Claude Code runs the command through a shell with its own PATH; in a
    local (or user) install the interpreter is named by absolute path, so
    only git must be found."""
    repo.cli_json("install", "claude-code", "--scope", "local")
    settings = json.loads((repo.path / ".claude" / "settings.local.json").read_text())
    command = settings["hooks"]["UserPromptSubmit"][0]["hooks"][0]["command"]
    git_dir = os.path.dirname(subprocess.run(["sh", "-c", "command -v git"], capture_output=True,
                                             text=True).stdout.strip())
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = git_dir
    payload = {"session_id": "s-path", "cwd": str(repo.path), "hook_event_name": "UserPromptSubmit",
               "prompt": "hello"}
    proc = subprocess.run(["/bin/sh", "-c", command], cwd=repo.path, env=env,
                          input=json.dumps(payload).encode(), capture_output=True)
    assert proc.returncode == 0 and proc.stdout == b"" and proc.stderr == b""
    assert [s["text"] for s in repo.cli_json("trace", "show", "s-path")["steps"]] == ["hello"]


def test_is_ours_recognises_every_form_of_the_command():
    assert claude_settings.is_ours({"type": "command", "command": ours("Stop")})
    assert claude_settings.is_ours({"type": "command", "command": ours("Stop", "local")})
    assert claude_settings.is_ours({"command": "git-ot hook claude-code Stop"})
    assert claude_settings.is_ours({"command": "git ot hook claude-code"})
    assert not claude_settings.is_ours({"command": "git ot hook git post-commit"})
    assert not claude_settings.is_ours({"type": "http", "url": "http://127.0.0.1/git-ot hook claude-code"})
    assert not claude_settings.is_ours("git-ot hook claude-code")


def test_a_project_file_of_the_old_absolute_form_is_updated_and_uninstalled(repo):
    """An older git-ot wrote this interpreter's path into the committed file:
    installing again rewrites every entry to the portable command, keeping
    the user's keys, and uninstall recognises either form."""
    path = repo.path / ".claude" / "settings.json"
    path.parent.mkdir()
    old = {"hooks": {e: [our_group(e, "local")] for e in EVENTS}}
    old["hooks"]["Stop"][0]["hooks"][0]["timeout"] = 30
    path.write_text(json.dumps(old, indent=2) + "\n")
    result = repo.cli_json("install", "claude-code")
    assert result["events"] == {e: "updated" for e in EVENTS}
    new = {"hooks": {e: [our_group(e)] for e in EVENTS}}
    new["hooks"]["Stop"][0]["hooks"][0]["timeout"] = 30
    assert path.read_text() == json.dumps(new, indent=2) + "\n"
    assert repo.cli_json("install", "claude-code")["events"] == {e: "unchanged" for e in EVENTS}
    mixed = {"hooks": {e: [our_group(e, "local" if i % 2 else "project")] for i, e in enumerate(EVENTS)}}
    path.write_text(json.dumps(mixed, indent=2) + "\n")
    assert repo.cli_json("uninstall", "claude-code")["events"] == {e: "removed" for e in EVENTS}
    assert not path.exists()


def _git_only_path() -> str:
    """A PATH with git and the shell's tools, and no git-ot."""
    dirs = []
    for tool in ("git", "sh"):
        found = subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True, text=True).stdout.strip()
        dirs.append(os.path.dirname(found))
    assert not any(os.path.exists(os.path.join(d, "git-ot")) for d in dirs)
    return os.pathsep.join(dict.fromkeys(dirs))


def test_the_committed_command_works_in_a_clone_elsewhere(repo, tmp_path):
    """A teammate clones the repository at another path: the committed hook
    runs their git-ot from PATH, and without one it does nothing at all."""
    repo.cli_json("install", "claude-code")
    repo.git("add", ".claude/settings.json")
    repo.commit("Capture Claude Code sessions")
    clone = tmp_path / "elsewhere" / "clone"
    git(tmp_path, "clone", "-q", str(repo.path), str(clone))
    settings = json.loads((clone / ".claude" / "settings.json").read_text())
    command = settings["hooks"]["UserPromptSubmit"][0]["hooks"][0]["command"]
    assert command == ours("UserPromptSubmit") and str(repo.path) not in command
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    payload = {"session_id": "s-clone", "cwd": str(clone), "hook_event_name": "UserPromptSubmit",
               "prompt": "hello from the clone"}

    def run(path: str):
        return subprocess.run(["/bin/sh", "-c", command], cwd=clone, env={**env, "PATH": path},
                              input=json.dumps(payload).encode(), capture_output=True)

    # No git-ot on this machine: exit 0, not a word, nothing written.
    without = _git_only_path()
    proc = run(without)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"", b"")
    assert not (clone / ".git" / "opentraces").exists()
    assert git(clone, "status", "--porcelain") == ""
    assert git(clone, "for-each-ref", "refs/opentraces") == ""
    # git-ot installed (the venv's console script first on PATH): recorded.
    bin_dir = os.path.dirname(sys.executable)
    assert os.access(os.path.join(bin_dir, "git-ot"), os.X_OK)
    proc = run(bin_dir + os.pathsep + without)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"", b"")
    show = json.loads(run_ot(clone, "trace", "show", "s-clone", "--json").stdout)
    assert [s["text"] for s in show["steps"]] == ["hello from the clone"]
