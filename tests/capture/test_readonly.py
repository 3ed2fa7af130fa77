"""Shell calls that only read: no snapshot, no window, and for Codex no
Python started (git_ot/capture/readonly.py)."""

from __future__ import annotations

import json
import os
import random
import subprocess
from pathlib import Path

import pytest

import git_ot

from git_ot.capture.codex.config import command_for
from git_ot.capture.readonly import SH, reads_only
from support import hookcommands
from support.trail import read_records

SID = "01a24356-cad1-7870-916c-0a418c1d6cb8"

TABLE = [
    ("cat README.md", True),
    ("cat", True),
    ("ls", True),
    ("ls -la src", True),
    ("pwd", True),
    ("head -n 50 app.py", True),
    ("tail -n 5 log.txt", True),
    ("wc -l app.py", True),
    ("nl app.py", True),
    ("grep -rn 'def greet' .", True),
    ("rg -n greet", True),
    ("rg -n 'hello world' src", True),
    ("sed -n '1,200p' src/main.rs", True),
    ("sed -n '5p' app.py", True),
    # Anything the shell could read as more than one program, or a write.
    ("cat app.py > copy.py", False),
    ("cat app.py; rm app.py", False),
    ("cat app.py && rm app.py", False),
    ("cat app.py | tee copy.py", False),
    ("cat $(rm app.py)", False),
    ("cat `rm app.py`", False),
    ("cat app.py\nrm app.py", False),
    ("cat\tapp.py", False),
    ('cat "app.py"', False),
    ("cat *.py", False),
    ("cat a?.py", False),
    ("cat é.py", False),
    (" cat app.py", False),
    ("catapp.py", False),
    ("'rm' app.py", False),
    ("echo hi", False),
    ("git status", False),
    ("find . -name '*.py'", False),
    ("sort -o out.txt in.txt", False),
    # ripgrep runs the programs these name, quoted or not.
    ("rg --pre=./x greet", False),
    ("rg '--pre'=./x greet", False),
    ("rg --hostname-bin=./x greet", False),
    # sed: `-n`, an address and `p`, files, and no option after them.
    ("sed -n '1,20p' app.py -i", False),
    ("sed -n '1,20p' app.py '-i'", False),
    ("sed -n '1,20p' app.py ''-i", False),
    ("sed -n '1w out' app.py", False),
    ("sed -n '1,5p'", False),
    ("sed -i 's/a/b/' app.py", False),
    ("sed '1,5p' app.py", False),
    ("sed -n 'p' app.py", False),
    ("cat " + "a" * 996, True),
    ("cat " + "a" * 997, False),
    ("", False),
    (None, False),
    (["cat", "app.py"], False),
]


@pytest.mark.parametrize("command, expected", TABLE)
def test_which_commands_only_read(command, expected):
    assert reads_only(command) is expected


# Pieces the generated commands are made of: every rule's edge.
PIECES = ["cat", "ls", "rg", "sed", "wc", "pwd", "catx", " ", " ", " ", "-n", "-i", "'", "''", "-", "'-",
          "--pre", "--pr", "--hostname-bin", "1", "1,20", ",", "p", "p'", "p' ", "sed -n '", "app.py", "w",
          "x", ".", "/", "=", ":", "+", "@", "%", "*", "?", ";", ">", "|", "&", "$", "(", "`", '"', "\\",
          "\t", "é", "~", "#", "a" * 300]


def _generated(n: int) -> list[str]:
    rnd = random.Random(20261205)
    out = []
    for _ in range(n):
        text = "".join(rnd.choice(PIECES) for _ in range(rnd.randint(1, 8)))
        if rnd.random() < 0.5:
            text = rnd.choice(["cat ", "rg ", "sed -n '", "ls", "sed -n '1,2p' "]) + text
        out.append(text)
    return out


@pytest.mark.parametrize("shell", ["dash", "bash"])
def test_the_sh_rules_are_the_python_rules(shell):
    """SH calls read-only exactly the commands reads_only does (a command it
    admitted that Python did not would be a step with no snapshot that may
    have written: a blind window)."""
    commands = [c for c, _ in TABLE if isinstance(c, str) and "\n" not in c] + _generated(3000)
    script = "while IFS= read -r x; do if true " + SH + "; then echo 1; else echo 0; fi; done"
    proc = subprocess.run([shell, "-c", script], input="".join(c + "\n" for c in commands).encode(),
                          capture_output=True, check=True)
    said = proc.stdout.decode().split()
    assert len(said) == len(commands)
    disagree = [c for c, s in zip(commands, said) if (s == "1") != reads_only(c)]
    assert disagree == []
    # The generated commands reach both answers (a generator that only made
    # writes would check nothing).
    assert 100 < said.count("1") < len(said) - 100


def test_pi_extension_rules_are_the_python_rules():
    """The extension's readsOnly (pi/git-ot.ts, plain JavaScript between its
    markers) calls read-only exactly the commands reads_only does."""
    source = (Path(git_ot.__file__).parent / "capture" / "pi" / "git-ot.ts").read_text()
    body = source.split("// readsOnly: begin\n", 1)[1].split("// readsOnly: end\n", 1)[0]
    commands = [c for c, _ in TABLE] + _generated(3000) + ["cat a\nrm b", "cat 😀"]
    script = body + ("\nlet data = ''; process.stdin.on('data', d => data += d); process.stdin.on('end', () => "
                     "process.stdout.write(JSON.stringify(JSON.parse(data).map(readsOnly))));")
    proc = subprocess.run(["node", "-e", script], input=json.dumps(commands).encode(), capture_output=True,
                          check=True)
    said = json.loads(proc.stdout)
    assert len(said) == len(commands)
    assert [c for c, s in zip(commands, said) if s != reads_only(c)] == []
    assert 100 < said.count(True) < len(said) - 100


def _inbox(repo):
    return repo.path / ".git" / "opentraces" / "inbox"


def _codex(repo, event: str, tool_input, raw: str | None = None, call: str = "call_1") -> bool:
    """Codex's hook command for the event on a shell call's payload (compact
    JSON, as Codex writes it, or `raw`); whether it handed the payload to git-ot."""
    mark = repo.path.parent / f"ran-{event}"
    command = command_for(event, "user").replace(hookcommands.runner("codex", event, "user"),
                                                 f"cat >'{mark}'")
    payload = {"session_id": SID, "turn_id": "t1", "cwd": str(repo.path), "hook_event_name": event,
               "model": "gpt-5.5", "tool_name": "Bash", "tool_input": tool_input, "tool_use_id": call}
    if event == "PostToolUse":
        payload["tool_response"] = "def greet(name):\n"
    raw = raw if raw is not None else json.dumps(payload, separators=(",", ":"))
    proc = subprocess.run(["/bin/sh", "-c", command], cwd=repo.path, input=raw.encode(), capture_output=True)
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr
    ran = mark.exists()
    if ran:
        assert mark.read_text() == raw
        mark.unlink()
    return ran


def _entries(repo) -> list[str]:
    return sorted(n.split(".", 2)[2] for n in os.listdir(_inbox(repo)) if n[0].isdigit())


def test_a_codex_shell_call_that_reads_goes_to_the_inbox_and_opens_no_window(repo):
    repo.ot("init")
    call = {"command": "sed -n '1,20p' app.py"}
    assert not _codex(repo, "PreToolUse", call)
    (repo.path / "app.py").write_text("# by hand\n" + (repo.path / "app.py").read_text())  # not the call's doing
    assert not _codex(repo, "PostToolUse", call)
    assert _entries(repo) == ["codex.PostToolUse.json", "codex.PreToolUse.json"]
    repo.cli_json("trace", "list")
    assert [n for n in os.listdir(_inbox(repo)) if not n.startswith(".")] == []
    records = read_records(repo, SID)
    [step] = records["trace"]["steps"]
    assert (step["kind"], step["name"], step["writes"], step.get("snapshot_before"), step.get("snapshot_after")) \
        == ("tool", "Bash", False, None, None)
    assert step["output"] == "def greet(name):\n"
    assert records["trail"].get("snapshots", {}) == {}
    repo.git("commit", "-q", "-am", "a comment")
    blame = repo.cli_json("blame", "app.py")["lines"]
    assert (blame[0]["content"], blame[0]["attribution"]["kind"]) == ("# by hand", "human")


@pytest.mark.parametrize("why, tool_input, raw", [
    ("a write", {"command": "printf 'X = 1' > x.py"}, None),
    ("a command JSON escapes", {"command": 'cat "app.py"'}, None),
    ("the command not first in its input", {"workdir": ".", "command": "cat app.py"}, None),
    ("a command as a list", {"command": ["cat", "app.py"]}, None),
    ("two commands", None, '{"session_id":"%s","hook_event_name":"PreToolUse","cwd":"CWD","tool_name":"Bash",'
                           '"tool_input":{"command":"cat app.py","command":"rm app.py"},"tool_use_id":"c"}' % SID),
    ("two tools", None, '{"session_id":"%s","hook_event_name":"PreToolUse","cwd":"CWD","tool_name":"Bash",'
                        '"tool_input":{"command":"cat app.py"},"tool_name":"apply_patch","tool_use_id":"c"}' % SID),
    ("JSON with spaces", None, '{"session_id": "%s", "hook_event_name": "PreToolUse", "tool_name": "Bash", '
                               '"tool_input": {"command": "cat app.py"}, "tool_use_id": "c"}' % SID),
])
def test_what_sh_cannot_be_sure_only_reads_goes_to_git_ot(repo, why, tool_input, raw):
    repo.ot("init")
    raw = raw.replace("CWD", str(repo.path)) if raw else None
    assert _codex(repo, "PreToolUse", tool_input, raw), why
    assert _entries(repo) == []


def test_git_ot_takes_no_snapshot_around_a_claude_code_bash_call_that_reads(repo):
    repo.ot("init")
    for command, writes in (("cat app.py", False), ("cat app.py > copy.py", True)):
        call = {"session_id": "s-read", "tool_name": "Bash", "tool_use_id": command,
                "tool_input": {"command": command, "description": "look"}}
        repo.hook("PreToolUse", call)
        repo.hook("PostToolUse", {**call, "tool_response": {"stdout": "", "stderr": ""}})
    repo.hook("Stop", {"session_id": "s-read"})
    repo.cli_json("trace", "list")
    steps = read_records(repo, "s-read")["trace"]["steps"]
    assert [(s["tool_use_id"], s["writes"], bool(s.get("snapshot_before")), bool(s.get("snapshot_after")))
            for s in steps] == [("cat app.py", False, False, False), ("cat app.py > copy.py", True, True, True)]
