"""`git ot install pi` / `git ot uninstall pi`: the extension file Pi loads."""

from __future__ import annotations

import json
import os
import sys
from importlib import resources

import pytest

from support import hookcommands

EVENTS = ["session_start", "message_end", "tool_call", "tool_result", "agent_end", "session_compact",
          "session_tree", "model_select", "session_shutdown"]
TEMPLATE = resources.files("git_ot.capture.pi").joinpath("git-ot.ts").read_text(encoding="utf-8")


def run(repo, *args, env=None):
    proc = repo.cli(*args, env=env)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode()


def test_project_scope_writes_the_template_unchanged(repo, hermetic):
    out = run(repo, "install", "pi")
    path = repo.path / ".pi" / "extensions" / "git-ot.ts"
    assert out.splitlines() == [f"{e}: installed" for e in EVENTS] + [f"Pi runs git-ot from {path}"]
    text = path.read_text()
    # The committed file names no path of any machine.
    assert text == TEMPLATE
    assert "const RUNNER: string[] | null = null;" in text
    assert sys.prefix not in text and str(repo.path) not in text and str(hermetic) not in text
    assert os.listdir(repo.path / ".pi") == ["extensions"]
    assert os.listdir(repo.path / ".pi" / "extensions") == ["git-ot.ts"]
    again = run(repo, "install", "pi")
    assert again.splitlines()[:-1] == [f"{e}: unchanged" for e in EVENTS]
    assert path.read_text() == TEMPLATE


def test_user_scope_names_this_interpreter(repo, hermetic, tmp_path):
    default = hermetic / ".pi" / "agent" / "extensions" / "git-ot.ts"
    result = json.loads(run(repo, "install", "pi", "--scope", "user", "--json"))
    assert result == {"harness": "pi", "scope": "user", "settings": str(default),
                      "command": f"{hookcommands.PYTHON} hook pi <event>",
                      "events": {e: "installed" for e in EVENTS}}
    runner = json.dumps([sys.executable, "-P", "-c", "import sys;from git_ot.__main__ import main;sys.exit(main())"])
    assert default.read_text() == TEMPLATE.replace("const RUNNER: string[] | null = null;",
                                                   f"const RUNNER: string[] | null = {runner};")
    assert not (repo.path / ".pi").exists()
    # $PI_CODING_AGENT_DIR moves Pi's agent folder, and git-ot's extension with it.
    env = {**os.environ, "PI_CODING_AGENT_DIR": str(tmp_path / "agent")}
    out = run(repo, "install", "pi", "--scope", "user", env=env)
    assert out.splitlines()[-1] == f"Pi runs git-ot from {tmp_path}/agent/extensions/git-ot.ts"
    run(repo, "uninstall", "pi", "--scope", "user", env=env)
    assert os.listdir(tmp_path / "agent" / "extensions") == []  # the user's folder stays
    assert default.exists()


def test_an_older_file_is_updated(repo):
    path = repo.path / ".pi" / "extensions" / "git-ot.ts"
    run(repo, "install", "pi")
    path.write_text(TEMPLATE.replace('"model_select", ', ""))
    status = json.loads(run(repo, "status", "--json"))
    [pi] = [h for h in status["harnesses"] if h["harness"] == "pi"]
    assert pi["scopes"][0]["events"] == [e for e in EVENTS if e != "model_select"]
    assert pi["scopes"][0]["missing"] == ["model_select"]
    assert run(repo, "install", "pi").splitlines()[0] == "session_start: updated"
    assert path.read_text() == TEMPLATE


def test_uninstall_removes_exactly_the_file(repo):
    extensions = repo.path / ".pi" / "extensions"
    run(repo, "install", "pi")
    (extensions / "mine.ts").write_text("export default function () {}\n")
    out = run(repo, "uninstall", "pi")
    assert out.splitlines() == [f"{e}: removed" for e in EVENTS] + [f"{extensions}/git-ot.ts: deleted"]
    assert os.listdir(extensions) == ["mine.ts"]
    (extensions / "mine.ts").unlink()
    run(repo, "install", "pi")
    run(repo, "uninstall", "pi")
    # The folders install made, left empty, go too.
    assert not (repo.path / ".pi").exists()
    again = run(repo, "uninstall", "pi")
    assert again.splitlines() == [f"{e}: absent" for e in EVENTS] + [f"{extensions}/git-ot.ts: absent"]


def test_a_file_that_is_not_ours_is_never_touched(repo):
    path = repo.path / ".pi" / "extensions" / "git-ot.ts"
    path.parent.mkdir(parents=True)
    path.write_text("// someone else's\n")
    for command in ("install", "uninstall"):
        proc = repo.cli(command, "pi")
        assert proc.returncode == 1
        assert proc.stderr.decode().splitlines() == [
            f"error: '{path}' is not git-ot's extension",
            "hint: move it aside (Pi would load both), then run the command again"]
        assert path.read_text() == "// someone else's\n"


def test_status_names_the_extension(repo):
    def pi_scopes():
        status = json.loads(run(repo, "status", "--json"))
        [pi] = [h for h in status["harnesses"] if h["harness"] == "pi"]
        return [(s["scope"], s["wired"], s["settings"]) for s in pi["scopes"]]

    assert pi_scopes() == [("project", False, None), ("user", False, None)]
    run(repo, "install", "pi")
    assert pi_scopes() == [("project", True, str(repo.path / ".pi" / "extensions" / "git-ot.ts")),
                           ("user", False, None)]
    human = run(repo, "status")
    lines = human.splitlines()
    assert lines[lines.index("harnesses") + 6:lines.index("harnesses") + 8] == [
        f"  pi           project  9 of 9 events, in {repo.path}/.pi/extensions/git-ot.ts",
        "  pi           user     not wired"]
    # One harness wired is enough: Claude Code not being so is no problem.
    assert not any(line.startswith("problem: no harness") for line in lines)


@pytest.mark.parametrize("scope", ["local"])
def test_a_scope_pi_does_not_have(repo, scope):
    proc = repo.cli("install", "pi", "--scope", scope)
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines() == ["error: unknown scope 'local' for Pi",
                                                 "hint: use one of: project, user"]
    assert not (repo.path / ".pi").exists()
