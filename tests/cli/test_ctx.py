"""`git ot ctx show` and `git ot ctx resume` on an imported Claude Code session."""

from __future__ import annotations

import json
import os

from support.repo import RECORDED
from git_ot.store import records
from git_ot.store.repository import Store

SID = "ccb0e11c-0fc0-4092-9003-508fc775c0f5"
TRANSCRIPT = RECORDED / "bash-writes" / "transcript.jsonl"


def imported(repo):
    proc = repo.cli("import", "claude-code", str(TRANSCRIPT), "--json")
    assert proc.returncode == 0, proc.stderr.decode()


def test_show_lists_the_messages_in_view_with_their_source(repo, hermetic):
    imported(repo)
    proc = repo.cli("ctx", "show", f"{SID[:8]}:5")
    assert proc.returncode == 0, proc.stderr.decode()
    lines = proc.stdout.decode().splitlines()
    # The system prompt and tools, from the transcript's api-request-shape line.
    [shape] = [json.loads(line)["shape"] for line in TRANSCRIPT.read_text().splitlines()
               if json.loads(line)["type"] == "api-request-shape"]
    # (as stored: the security gate rewrote the home directory in it)
    stored = repo.cli_json("ctx", "show", f"{SID}:5")["request"]["system"]
    system = sum(len(b["text"].encode()) for b in stored)
    assert 7000 < system and len(stored) == len(shape["system"])
    assert lines[:4] == [f"session {SID} step 5", "7 messages, from transcript",
                         f"system prompt {system} bytes, {len(shape['tools'])} tools, from the api request: "
                         "Agent, Bash, Edit, ListAgents, Read, ReportFindings, Schedu\u2026",
                         "ID  STEP  ROLE         BYTES  PREVIEW"]
    assert lines[4] == " 1     1  user            88  create a settings module and a pkg package using the shell"
    assert lines[5] == " 2     2  assistant       65  Generating a config with the shell."
    assert [line.split()[2] for line in lines[4:]] == [
        "user", "assistant", "tool-call", "tool-result", "assistant", "tool-call", "tool-result"]
    data = repo.cli_json("ctx", "show", f"{SID}:6")
    assert [m["id"] for m in data["messages"]] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert data["messages"][-1]["message"] == {
        "role": "assistant", "content": [{"type": "text", "text": "Created settings.py and pkg/, changed the greeting."}]}
    assert data["messages"][2]["message"]["content"][0]["name"] == "Bash"
    assert {m["source"] for m in data["messages"]} == {"transcript"}
    assert data["request"]["source"] == "api-request"
    assert [t["name"] for t in data["request"]["tools"]] == [t["name"] for t in shape["tools"]]
    assert data["request"]["system"][0]["text"] == shape["system"][0]["text"]
    # Step 1 saw only its prompt.
    first = repo.cli_json("ctx", "show", f"{SID}:1")
    assert first["messages"] == data["messages"][:1]


def test_resume_writes_a_whole_transcript_under_claude_config_dir(repo, hermetic, tmp_path):
    imported(repo)
    config = tmp_path / "config"
    env = {**os.environ, "CLAUDE_CONFIG_DIR": str(config)}
    worktree = tmp_path / "at-step-6"
    proc = repo.cli("ctx", "resume", f"{SID}:6", "--worktree", str(worktree), "--json", env=env)
    assert proc.returncode == 0, proc.stderr.decode()
    out = json.loads(proc.stdout)
    cwd = os.path.realpath(worktree)
    assert out == {"harness": "claude-code", "session": out["session"], "cwd": cwd,
                   "command": f"claude --resume {out['session']}"}
    folder = config / "projects" / "".join(c if c.isalnum() else "-" for c in cwd)
    assert os.listdir(folder) == [out["session"] + ".jsonl"]
    lines = [json.loads(line) for line in (folder / (out["session"] + ".jsonl")).read_text().splitlines()]
    assert [ln["type"] for ln in lines] == ["user", "assistant", "assistant", "user", "assistant",
                                            "assistant", "user", "assistant"]
    assert {ln["sessionId"] for ln in lines} == {out["session"]}
    assert [ln["parentUuid"] for ln in lines] == [None] + [ln["uuid"] for ln in lines[:-1]]
    assert lines[0]["message"] == {"role": "user", "content": "create a settings module and a pkg package using the shell"}
    # The words and the tool call of one reply are one message, as Claude Code writes them.
    assert lines[1]["message"]["id"] == lines[2]["message"]["id"] != lines[4]["message"]["id"]
    assert lines[3]["message"]["content"][0]["tool_use_id"] == lines[2]["message"]["content"][0]["id"]
    # The worktree holds the session's starting commit (an import has no whole snapshot).
    assert (worktree / "app.py").read_text() == (repo.path / "app.py").read_text()
    assert repo.git("worktree", "list", "--porcelain").count("worktree ") == 2


def test_bad_input_says_what_is_missing_and_writes_nothing(repo, hermetic, tmp_path):
    imported(repo)
    config = tmp_path / "config"
    env = {**os.environ, "CLAUDE_CONFIG_DIR": str(config)}
    cases = {
        f"{SID}:7": [f"error: session {SID[:12]} has no step 7", "hint: its steps are 1 to 6"],
        f"{SID}:@2": [f"error: session {SID[:12]} has no prompt 2", "hint: it has 1 prompt"],
        f"{SID}:@1": [f"error: invalid prompt '@1' in '{SID}:@1'",
                      "hint: @N is the step just before the N-th prompt, N from 2"],
        f"{SID}": [f"error: no step in '{SID}'",
                   "hint: name one as SESSION:STEP, as 'git ot trace show SESSION' lists them"],
    }
    for spec, expected in cases.items():
        for cmd in ("show", "resume"):
            proc = repo.cli("ctx", cmd, spec, env=env)
            assert (proc.returncode, proc.stderr.decode().splitlines()) == (1, expected)
    # A session sealed without a message of the model's view.
    store = Store.open(str(repo.path))
    tree = store.session(SID)
    ctx = tree.record("ctx")
    assert ctx["messages"]
    stripped = records.envelope("ctx", {"messages": [], "views": []})
    store.write_session(SID, tree.tip, {"ctx": stripped}, [], {}, "strip ctx")
    for cmd in ("show", "resume"):
        proc = repo.cli("ctx", cmd, f"{SID}:3", env=env)
        assert proc.returncode == 1
        assert proc.stderr.decode().splitlines()[0] == f"error: session {SID[:12]} has no recorded context"
    assert not config.exists(), "nothing is written into the harness's store"
    assert repo.git("worktree", "list", "--porcelain").count("worktree ") == 1


def test_resume_into_codex_writes_a_rollout_that_names_itself(repo, hermetic, tmp_path):
    imported(repo)
    home = tmp_path / "codex-home"
    env = {**os.environ, "CODEX_HOME": str(home)}
    proc = repo.cli("ctx", "resume", f"{SID}:6", "--into", "codex", "--worktree", str(tmp_path / "wt"),
                    "--json", env=env)
    assert proc.returncode == 0, proc.stderr.decode()
    out = json.loads(proc.stdout)
    assert out["command"] == f"codex resume {out['session']}"
    [rollout] = list((home / "sessions").rglob("rollout-*.jsonl"))
    assert rollout.name.endswith(f"-{out['session']}.jsonl")
    lines = [json.loads(line) for line in rollout.read_text().splitlines()]
    assert lines[0]["type"] == "session_meta"
    assert (lines[0]["payload"]["id"], lines[0]["payload"]["cwd"]) == (out["session"], out["cwd"])
    assert [ln["payload"]["type"] for ln in lines[1:]] == [
        "message", "message", "function_call", "function_call_output", "message", "function_call",
        "function_call_output", "message"]
    call, result = lines[3]["payload"], lines[4]["payload"]
    assert call["name"] == "Bash" and result["call_id"] == call["call_id"]
    # Without a state database, Codex finds the thread by the file's name.
    assert not (home / "state_5.sqlite").exists()


def test_a_resume_that_cannot_write_leaves_no_worktree(repo, hermetic, tmp_path):
    imported(repo)
    config = tmp_path / "config"
    config.write_text("a file where the harness's folder should be\n")
    env = {**os.environ, "CLAUDE_CONFIG_DIR": str(config)}
    proc = repo.cli("ctx", "resume", f"{SID}:6", "--worktree", str(tmp_path / "wt"), env=env)
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines()[0] == \
        f"error: cannot write the claude-code session: Not a directory: '{config / 'projects'}'"
    assert not (tmp_path / "wt").exists()
    assert repo.git("worktree", "list", "--porcelain").count("worktree ") == 1
