"""`git ot install codex` / `git ot uninstall codex`: merge, repeat, restore exactly.

The commands run inside the test process (support/cli.py) with no `codex`
on PATH, so the trust they would record is reported as not recorded (the
end-to-end tests, tests/e2e/test_codex.py, record it with the real CLI).
"""

from __future__ import annotations

import json
import os
import sys

import pytest

from git_ot.capture.codex import HARNESS

EVENTS = ["SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop", "Interrupt",
          "SubagentStart", "SubagentStop", "PreCompact", "PostCompact", "SessionEnd"]
NO_CODEX = {"error": "'codex' is not on PATH", "command": "git ot install codex --scope user"}


def ours(event: str, scope: str = "user") -> str:
    if scope == "project":
        return (f"if command -v git-ot >/dev/null 2>&1; then exec git-ot hook codex {event}; fi; "
                f'd=$(git --exec-path 2>/dev/null) && [ -x "$d/git-ot" ] && '
                f'exec "$d/git-ot" hook codex {event}; exit 0')
    return f"{sys.executable} -m git_ot hook codex {event}"


def our_group(event: str, scope: str = "user") -> dict:
    return {"hooks": [{"type": "command", "command": ours(event, scope)}]}


# A hooks.json with hooks of the user's own, one on an event git-ot uses.
USERS = {
    "hooks": {
        "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "audit-shell",
                                                      "timeout": 5}]}],
        "PreModelRequest": [{"hooks": [{"type": "command", "command": "count-requests"}]}],
    },
}


@pytest.fixture
def codex_home(tmp_path, monkeypatch):
    home = tmp_path / "codex-home"
    monkeypatch.setenv("CODEX_HOME", str(home))
    # No codex on PATH: the trust cannot be recorded here.
    path = [d for d in os.environ.get("PATH", "").split(os.pathsep)
            if d and not os.path.exists(os.path.join(d, "codex"))]
    monkeypatch.setenv("PATH", os.pathsep.join(path))
    return home


def test_install_for_the_user_and_uninstall_leaves_nothing(repo, codex_home):
    path = codex_home / "hooks.json"
    result = repo.cli_json("install", "codex")
    assert result == {"harness": "codex", "scope": "user", "settings": str(path), "command": ours("<Event>"),
                      "events": {e: "installed" for e in EVENTS}, "trust": NO_CODEX}
    text = path.read_text()
    assert text == json.dumps({"hooks": {e: [our_group(e)] for e in EVENTS}}, indent=2) + "\n"
    assert repo.cli_json("install", "codex", "--scope", "user")["events"] == {e: "unchanged" for e in EVENTS}
    assert path.read_text() == text
    proc = repo.cli("install", "codex")
    assert proc.returncode == 0
    assert proc.stdout.decode().splitlines() == [f"{e}: unchanged" for e in EVENTS] + [
        "warning: Codex's trust in these hooks is not recorded ('codex' is not on PATH); "
        "Codex skips them until 'git ot install codex --scope user' records it",
        f"Codex runs git-ot from {path}"]
    # Installed, but Codex skips hooks it has no trust recorded for.
    assert HARNESS.installed("user", str(repo.path)) == {"settings": str(path), "events": [], "missing": EVENTS}
    status = repo.cli_json("status")
    assert status["harnesses"][1]["scopes"][0]["events"] == []
    assert {"problem": "Codex's user settings do not run git-ot for: " + ", ".join(EVENTS),
            "hint": "run 'git ot install codex --scope user'"} in status["problems"]
    # Trust recorded, as codex app-server writes it, for all but Stop.
    snake = {"SessionStart": "session_start", "UserPromptSubmit": "user_prompt_submit",
             "PreToolUse": "pre_tool_use", "PostToolUse": "post_tool_use", "Interrupt": "interrupt",
             "SubagentStart": "subagent_start", "SubagentStop": "subagent_stop",
             "PreCompact": "pre_compact", "PostCompact": "post_compact", "SessionEnd": "session_end"}
    (codex_home / "config.toml").write_text("".join(
        f'[hooks.state."{path}:{key}:0:0"]\ntrusted_hash = "sha256:{i:064x}"\n\n'
        for i, key in enumerate(snake.values())))
    assert HARNESS.installed("user", str(repo.path)) == {
        "settings": str(path), "events": [e for e in EVENTS if e != "Stop"], "missing": ["Stop"]}
    (codex_home / "config.toml").write_text("[hooks\n")  # unreadable: trust is not judged
    assert HARNESS.installed("user", str(repo.path))["events"] == EVENTS
    removed = repo.cli_json("uninstall", "codex")
    assert removed == {"harness": "codex", "scope": "user", "settings": str(path),
                       "events": {e: "removed" for e in EVENTS}, "file": "deleted"}
    assert not path.exists() and codex_home.is_dir()
    assert HARNESS.installed("user", str(repo.path)) is None
    assert repo.git("status", "--porcelain") == ""


@pytest.mark.parametrize("indent", [2, 4])
def test_existing_hooks_are_merged_and_restored_byte_for_byte(repo, codex_home, indent):
    path = codex_home / "hooks.json"
    codex_home.mkdir()
    original = (json.dumps(USERS, indent=indent) + "\n").encode()
    path.write_bytes(original)
    repo.cli_json("install", "codex")
    merged = json.loads(path.read_text())
    assert merged["hooks"]["PreToolUse"] == USERS["hooks"]["PreToolUse"] + [our_group("PreToolUse")]
    assert merged["hooks"]["PreModelRequest"] == USERS["hooks"]["PreModelRequest"]
    assert list(merged["hooks"]) == ["PreToolUse", "PreModelRequest"] + [e for e in EVENTS if e != "PreToolUse"]
    removed = repo.cli_json("uninstall", "codex")
    assert removed["file"] == "updated"
    assert path.read_bytes() == original


def test_a_moved_interpreter_is_updated_and_duplicates_dropped(repo, codex_home):
    path = codex_home / "hooks.json"
    codex_home.mkdir()
    old = "/old/venv/bin/python -m git_ot hook codex Stop"
    path.write_text(json.dumps({"hooks": {"Stop": [{"hooks": [{"type": "command", "command": old}]},
                                                   {"hooks": [{"type": "command", "command": old}]}]}}))
    result = repo.cli_json("install", "codex")
    assert result["events"]["Stop"] == "updated"
    assert json.loads(path.read_text())["hooks"]["Stop"] == [our_group("Stop")]


def test_the_project_file_names_no_path_of_this_machine(repo, codex_home):
    path = repo.path / ".codex" / "hooks.json"
    result = repo.cli_json("install", "codex", "--scope", "project")
    assert (result["settings"], result["command"]) == (str(path), ours("<Event>", "project"))
    assert result["trust"] == {**NO_CODEX, "command": "git ot install codex --scope project"}
    assert json.loads(path.read_text()) == {"hooks": {e: [our_group(e, "project")] for e in EVENTS}}
    assert sys.prefix not in path.read_text()
    assert not (codex_home / "hooks.json").exists()
    assert repo.cli_json("uninstall", "codex", "--scope", "project")["file"] == "deleted"
    assert not (repo.path / ".codex").exists()


def test_scopes_codex_does_not_have(repo, codex_home):
    proc = repo.cli("install", "codex", "--scope", "local")
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines() == ["error: unknown scope 'local' for codex",
                                                 "hint: use one of: user, project"]


def test_a_hooks_file_codex_could_not_read_is_left_alone(repo, codex_home):
    codex_home.mkdir()
    (codex_home / "hooks.json").write_text('{"hooks": [')
    proc = repo.cli("install", "codex")
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines()[0].startswith(f"error: '{codex_home}/hooks.json' is not valid JSON")
    (codex_home / "hooks.json").write_text('{"hooks": {"Stop": {}}}')
    proc = repo.cli("install", "codex")
    assert proc.stderr.decode().splitlines() == [
        f"error: 'hooks.Stop' in '{codex_home}/hooks.json' is not a list",
        "hint: fix it by hand (Codex expects a list of hook groups), then run again"]
    assert (codex_home / "hooks.json").read_text() == '{"hooks": {"Stop": {}}}'
