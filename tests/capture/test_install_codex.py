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
from support import hookcommands

EVENTS = ["SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop", "Interrupt",
          "SubagentStart", "SubagentStop", "PreCompact", "PostCompact", "SessionEnd"]
NO_CODEX = {"error": "'codex' is not on PATH", "command": "git ot install codex --scope user"}


def ours(event: str, scope: str = "user") -> str:
    if event in ("SessionStart", "UserPromptSubmit", "Stop", "Interrupt", "SubagentStart", "SubagentStop",
                 "PreCompact", "PostCompact", "SessionEnd"):
        return hookcommands.inbox("codex", event, scope, drain=event in ("Stop", "Interrupt", "SessionEnd"),
                                  head=event == "SessionStart")
    if event in ("PreToolUse", "PostToolUse"):
        return hookcommands.patch("codex", event, scope)
    return hookcommands.runner("codex", event, scope)


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


# -- install codex --otel ------------------------------------------------------

OTEL = ("# Added by 'git ot install codex --otel'; 'git ot uninstall codex --otel' removes it.\n"
        "[otel]\n"
        'exporter = { otlp-grpc = { endpoint = "http://127.0.0.1:4317" } }\n'
        'trace_exporter = { otlp-grpc = { endpoint = "http://127.0.0.1:4317" } }\n'
        'metrics_exporter = { otlp-grpc = { endpoint = "http://127.0.0.1:4317" } }\n')
OTEL_KEYS = ["otel.exporter", "otel.trace_exporter", "otel.metrics_exporter"]
USERS_CONFIG = 'model = "gpt-5.5"  # mine\n\n[features]\nplugins = false\n'


def test_install_otel_appends_the_otel_table_and_uninstall_takes_out_exactly_it(repo, codex_home):
    import tomllib

    config = codex_home / "config.toml"
    codex_home.mkdir()
    config.write_text(USERS_CONFIG)
    result = repo.cli_json("install", "codex", "--otel")
    assert result["otel"] == {key: "installed" for key in OTEL_KEYS}
    assert result["otel_settings"] == str(config)
    assert config.read_text() == USERS_CONFIG + "\n" + OTEL
    assert tomllib.loads(config.read_text())["otel"] == {
        key: {"otlp-grpc": {"endpoint": "http://127.0.0.1:4317"}}
        for key in ("exporter", "trace_exporter", "metrics_exporter")}
    assert repo.cli_json("install", "codex", "--otel")["otel"] == {key: "unchanged" for key in OTEL_KEYS}
    assert config.read_text() == USERS_CONFIG + "\n" + OTEL

    # --otel alone takes out only the [otel] table; the hooks stay.
    removed = repo.cli_json("uninstall", "codex", "--otel")
    assert removed == {"harness": "codex", "scope": "user", "settings": str(config),
                       "otel": {key: "removed" for key in OTEL_KEYS}, "file": "updated"}
    assert config.read_text() == USERS_CONFIG
    assert (codex_home / "hooks.json").exists()
    assert repo.cli_json("uninstall", "codex", "--otel")["otel"] == {key: "absent" for key in OTEL_KEYS}

    # A plain uninstall takes it out with the hooks.
    repo.cli_json("install", "codex", "--otel")
    result = repo.cli_json("uninstall", "codex")
    assert result["otel"] == {key: "removed" for key in OTEL_KEYS}
    assert config.read_text() == USERS_CONFIG
    assert not (codex_home / "hooks.json").exists()


def test_install_otel_into_no_config_and_back_leaves_no_file(repo, codex_home):
    config = codex_home / "config.toml"
    repo.cli_json("install", "codex", "--otel")
    assert config.read_text() == OTEL
    assert repo.cli_json("uninstall", "codex", "--otel")["file"] == "deleted"
    assert not config.exists()


def test_an_otel_table_of_the_users_own_is_never_changed(repo, codex_home):
    config = codex_home / "config.toml"
    codex_home.mkdir()
    theirs = USERS_CONFIG + '[otel]\nexporter = { otlp-http = { endpoint = "https://collector/v1/logs" } }\n'
    config.write_text(theirs)
    proc = repo.cli("install", "codex", "--otel")
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines() == [
        f"error: '{config}' has an [otel] table of its own",
        "hint: remove it, or point its exporters at 'git ot otel serve' by hand"]
    assert config.read_text() == theirs
    assert repo.cli_json("uninstall", "codex", "--otel")["otel"] == {key: "kept" for key in OTEL_KEYS}
    assert config.read_text() == theirs


def test_install_otel_needs_the_user_scope_and_valid_toml(repo, codex_home):
    proc = repo.cli("uninstall", "codex", "--otel", "--scope", "project")
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines() == [
        "error: Codex reads its telemetry settings from the user's config.toml, not from the project scope",
        "hint: run it with --scope user (the default)"]
    codex_home.mkdir()
    (codex_home / "config.toml").write_text("model = \n")
    proc = repo.cli("install", "codex", "--otel")
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines()[0].startswith(f"error: '{codex_home}/config.toml' is not valid TOML")
    assert (codex_home / "config.toml").read_text() == "model = \n"


def test_a_refused_otel_install_writes_nothing(repo, codex_home):
    proc = repo.cli("install", "codex", "--otel", "--scope", "project")
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines()[0] == (
        "error: Codex reads its telemetry settings from the user's config.toml, not from the project scope")
    assert not (repo.path / ".codex").exists()
    assert not codex_home.exists()
