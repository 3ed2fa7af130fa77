"""Large tool outputs: spilled beside the journal by the hook, gated and
streamed into a blob by the seal, never lost, never stored unredacted."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest

from git_ot.domain.gate import seal as gate_seal
from git_ot.store.spool import SPILL_LIMIT
from support.repo import git

SID = "spill-1"
# Made up here, in the shapes the gate's rules know (tests/gate/test_gate.py).
TOKEN = "gh" + "p_" + "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF3hJ5"
KEY = ("-----BEGIN RSA PRIVATE KEY-----\n"
       + "\n".join("MIIEowIBAAKCAQEA" + f"{i:02d}" * 24 for i in range(6))
       + "\n-----END RSA PRIVATE KEY-----")


def build_log(size: int) -> str:
    """About `size` characters of build-log lines, some not ASCII."""
    lines, total, i = [], 0, 0
    while total < size:
        line = f"[{i:06d}] compiling src/module_{i % 97}.c -> build/obj_{i}.o ... ok \u2713\n"
        lines.append(line)
        total += len(line)
        i += 1
    return "".join(lines)


def _spool(repo):
    return repo.path / ".git/opentraces/spool"


def _tool(repo, sid: str, n: int, stdout: str, env=None):
    payload = {"session_id": sid, "tool_name": "Bash", "tool_use_id": f"{sid}-{n}",
               "tool_input": {"command": f"make part{n}"}}
    repo.hook("PreToolUse", payload)
    end = {**payload, "tool_response": {"stdout": stdout, "stderr": "", "interrupted": False},
           "cwd": str(repo.path), "hook_event_name": "PostToolUse"}
    return subprocess.run([sys.executable, "-m", "git_ot", "hook", "claude-code", "PostToolUse"],
                          cwd=repo.path, input=json.dumps(end).encode(), capture_output=True, env=env)


def _outputs(repo, sid: str) -> list:
    steps = repo.cli_json("trace", "show", sid)["steps"]
    return [repo.cli_json("trace", "show", f"{sid}:{s['n']}")["step"]["output"]["stdout"]
            for s in steps if s["kind"] == "tool" and s["status"] != "running"]


@pytest.fixture
def small_windows(monkeypatch):
    """Windows of a few kilobytes, so an output of some hundred kilobytes
    (sealed in this process, by a reading command) is gated in many."""
    monkeypatch.setattr(gate_seal, "WINDOW", 4096)
    monkeypatch.setattr(gate_seal, "OVERLAP", 1024)


def test_a_large_output_is_spilled_beside_its_line_and_sealed_whole(repo, small_windows):
    repo.hook("UserPromptSubmit", {"session_id": SID, "prompt": "build it"})
    out = build_log(SPILL_LIMIT + 50_000) + "lone \udc80 byte\n"
    assert _tool(repo, SID, 1, out).returncode == 0
    data = out.encode("utf-8", "surrogatepass")
    sha = hashlib.sha256(data).hexdigest()
    spilled = _spool(repo) / f"{SID}.{sha}.out"
    assert spilled.read_bytes() == data
    line = json.loads((_spool(repo) / f"{SID}.jsonl").read_text().splitlines()[-1])
    assert line["spilled"] == [{"at": ["data", "output", "stdout"], "sha256": sha, "size": len(data)}]
    assert line["data"]["output"] == {"stdout": None, "stderr": "", "interrupted": False}
    # A reading command seals it: the output is the step's, in a blob, as
    # it would have been from the line (the stray byte written as \xNN).
    assert _outputs(repo, SID) == [out.replace("\udc80", "\\x80")]
    assert sorted(os.listdir(_spool(repo))) == []
    repo.fsck()


def test_the_same_output_twice_is_one_spilled_file_and_two_steps(repo):
    out = build_log(SPILL_LIMIT + 10)
    assert _tool(repo, SID, 1, out).returncode == 0
    assert _tool(repo, SID, 2, out).returncode == 0
    assert len([n for n in os.listdir(_spool(repo)) if n.endswith(".out")]) == 1
    assert _outputs(repo, SID) == [out, out]
    assert os.listdir(_spool(repo)) == []


def test_a_secret_in_a_spilled_output_is_redacted_in_every_window(repo, small_windows):
    log = build_log(SPILL_LIMIT + 20_000)
    # Secrets at the start, across window cuts, and at the very end.
    cut = 4096 - 1024 - 10
    out = (TOKEN + "\n" + log[:cut] + KEY + "\n" + log[cut:] + f"push with {TOKEN} done\n" + KEY)
    assert _tool(repo, SID, 1, out).returncode == 0
    [stored] = _outputs(repo, SID)
    # Each secret replaced where it was, a private key's line breaks kept,
    # the rest as it was.
    assert stored == out.replace(TOKEN, "[REDACTED:github-token]").replace(
        KEY, "[REDACTED:private-key]" + "\n" * KEY.count("\n"))
    objects = _all_objects(repo)
    assert b"PRIVATE KEY" not in objects and TOKEN.encode() not in objects
    repo.fsck()


def _all_objects(repo) -> bytes:
    """Every object of the repository's session refs, as git prints them."""
    objs = git(repo.path, "rev-list", "--objects", "--glob=refs/opentraces/*").split()
    names = [o for o in objs if len(o) == 40]
    batch = subprocess.run(["git", "cat-file", "--batch"], cwd=repo.path, capture_output=True,
                           input=("\n".join(names) + "\n").encode(), check=True)
    return batch.stdout


def test_block_holds_back_a_session_whose_spilled_output_holds_a_secret(repo, small_windows):
    repo.git("config", "ot.security.action", "block")
    out = build_log(SPILL_LIMIT + 20_000) + f"token {TOKEN}\n"
    assert _tool(repo, SID, 1, out).returncode == 0
    assert repo.cli_json("trace", "list") == {"sessions": []}
    marker = repo.path / ".git/opentraces/gate/blocked" / SID
    assert marker.read_text() == "github-token in the session's records\n"
    # Nothing was written to a ref; the event and its spilled file wait,
    # and a scan finds the secret in it.
    assert git(repo.path, "for-each-ref", "refs/opentraces/sessions/").strip() == ""
    [scan] = repo.cli_json("scan")["sessions"]
    assert [(x["kind"], x["status"]) for x in scan["findings"]] == [("github-token", "pending")]
    assert any(n.endswith(".out") for n in os.listdir(_spool(repo)))
    repo.git("config", "ot.security.action", "redact")
    assert _outputs(repo, SID) == [out.replace(TOKEN, "[REDACTED:github-token]")]
    assert os.listdir(_spool(repo)) == []


@pytest.mark.parametrize("point", ["after-take", "after-ref-move"])
def test_a_seal_killed_with_a_spilled_output_loses_and_doubles_nothing(repo, point):
    out = build_log(SPILL_LIMIT + 1000)
    assert _tool(repo, SID, 1, out).returncode == 0
    seal = subprocess.run([sys.executable, "-m", "git_ot", "hook", "seal", SID], cwd=repo.path,
                          capture_output=True, env={**os.environ, "GIT_OT_TEST_KILL_AT": point})
    assert seal.returncode == -9
    assert _outputs(repo, SID) == [out]
    assert os.listdir(_spool(repo)) == []
    repo.fsck()


def test_a_hook_killed_while_spilling_leaves_nothing_a_line_names(repo):
    repo.hook("UserPromptSubmit", {"session_id": SID, "prompt": "build it"})
    out = build_log(SPILL_LIMIT + 1000)
    killed = _tool(repo, SID, 1, out, env={**os.environ, "GIT_OT_TEST_KILL_AT": "after-spill"})
    assert killed.returncode == -9
    # Spilled, not yet appended: the event never reached the spool.
    assert any(n.endswith(".out") for n in os.listdir(_spool(repo)))
    assert "spilled" not in (_spool(repo) / f"{SID}.jsonl").read_text()
    assert _tool(repo, SID, 2, out + "again\n").returncode == 0
    steps = repo.cli_json("trace", "show", SID)["steps"]
    assert [(s["kind"], s.get("status")) for s in steps] == [("prompt", None), ("tool", "running"),
                                                            ("tool", "ok")]
    assert _outputs(repo, SID) == [out + "again\n"]
    # The file no line named went with the session's others.
    assert os.listdir(_spool(repo)) == []
    repo.fsck()


def test_a_damaged_spilled_file_is_said_and_the_rest_is_kept(repo):
    repo.hook("UserPromptSubmit", {"session_id": SID, "prompt": "build it"})
    assert _tool(repo, SID, 1, build_log(SPILL_LIMIT + 1000)).returncode == 0
    [spilled] = [n for n in os.listdir(_spool(repo)) if n.endswith(".out")]
    with open(_spool(repo) / spilled, "r+b") as fh:
        fh.truncate(1000)  # a crash of the machine before the page cache reached the disk
    proc = repo.cli("trace", "list")
    assert proc.returncode == 0
    assert f"warning: spilled file '{_spool(repo) / spilled}' is not".encode() in proc.stderr
    steps = repo.cli_json("trace", "show", SID)["steps"]
    assert [s["kind"] for s in steps] == ["prompt", "tool"]
    assert _outputs(repo, SID)[0].startswith("[git-ot: spilled output lost: spilled file '")
    repo.fsck()
