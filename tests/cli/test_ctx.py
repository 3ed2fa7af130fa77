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
    # Step 5 is the reply to the transcript's second model request: what
    # the model saw is that request's messages, then the reply so far.
    assert lines[:4] == [f"session {SID} step 5", "7 messages, from api-request+transcript",
                         f"system prompt {system} bytes, {len(shape['tools'])} tools, from the api request: "
                         "Agent, Bash, Edit, ListAgents, Read, ReportFindings, Schedu\u2026",
                         "ID  STEP  ROLE         BYTES  PREVIEW"]
    assert lines[4].startswith(" 1     1  user          1364  <system-reminder> As you answer")
    assert lines[5].startswith(" -     -  system        9908  # Environment You have been invoked")
    assert lines[6].startswith(" 2     2  tool-call      340  Generating a config with the shell. Bash {")
    assert [line.split()[2] for line in lines[4:]] == [
        "user", "system", "tool-call", "tool-result", "assistant", "tool-call", "tool-result"]
    data = repo.cli_json("ctx", "show", f"{SID}:6")
    assert data["api_request"]["step"] == 6 and data["source"] == "api-request+transcript"
    assert [(m["id"], m["step"], m["source"]) for m in data["messages"]] == [
        (1, 1, "api-request"), (None, None, "api-request"), (2, 2, "api-request"), (4, 3, "api-request"),
        (5, 4, "api-request"), (7, 5, "api-request"), (8, 6, "transcript")]
    # The request's own messages: the prompt beside the context the harness
    # added to it, its system turn, and each reply's words and call as one message.
    prompt = data["messages"][0]["message"]["content"]
    assert prompt[-1] == {"type": "text", "text": "create a settings module and a pkg package using the shell"}
    assert all(b["text"].startswith("<system-reminder>") for b in prompt[:-1]) and len(prompt) == 3
    assert data["messages"][1]["message"]["role"] == "system"
    assert [b["type"] for b in data["messages"][2]["message"]["content"]] == ["text", "tool_use"]
    assert data["messages"][2]["message"]["content"][1]["name"] == "Bash"
    assert data["messages"][-1]["message"] == {
        "role": "assistant", "content": [{"type": "text", "text": "Created settings.py and pkg/, changed the greeting."}]}
    assert data["request"]["source"] == "api-request"
    assert [t["name"] for t in data["request"]["tools"]] == [t["name"] for t in shape["tools"]]
    assert data["request"]["system"][0]["text"] == shape["system"][0]["text"]
    # Step 1, the prompt, came before any request: rebuilt from the transcript.
    first = repo.cli_json("ctx", "show", f"{SID}:1")
    assert first["source"] == "transcript" and "api_request" not in first
    assert [m["message"] for m in first["messages"]] == [
        {"role": "user", "content": [{"type": "text", "text": "create a settings module and a pkg package using the shell"}]}]


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
                   "command": f"claude --resume {out['session']}",
                   "not_carried": ["a system turn of the model request (the resumed harness sends its own)"]}
    folder = config / "projects" / "".join(c if c.isalnum() else "-" for c in cwd)
    assert os.listdir(folder) == [out["session"] + ".jsonl"]
    lines = [json.loads(line) for line in (folder / (out["session"] + ".jsonl")).read_text().splitlines()]
    assert [ln["type"] for ln in lines] == ["user", "assistant", "assistant", "user", "assistant",
                                            "assistant", "user", "assistant"]
    assert {ln["sessionId"] for ln in lines} == {out["session"]}
    assert [ln["parentUuid"] for ln in lines] == [None] + [ln["uuid"] for ln in lines[:-1]]
    assert lines[0]["message"]["content"][-1] == {
        "type": "text", "text": "create a settings module and a pkg package using the shell"}
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


LARGE = "4d5611e5-241a-462a-8d15-5122611a9569"


def test_thinking_is_carried_where_the_target_takes_it_and_said_where_not(repo, hermetic, tmp_path):
    fixtures = RECORDED.parent
    proc = repo.cli("import", "claude-code", str(fixtures / "spotter-large" / f"{LARGE}.jsonl"),
                    str(fixtures / "spotter" / LARGE), "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    signed = {}
    for line in (fixtures / "spotter-large" / f"{LARGE}.jsonl").read_text().splitlines():
        content = (json.loads(line).get("message") or {}).get("content")
        for b in content if isinstance(content, list) else []:
            if b.get("type") == "thinking":
                signed[b["thinking"]] = b["signature"]
    shown = repo.cli_json("ctx", "show", f"{LARGE}:200")
    thinking = [(m["step"], b) for m in shown["messages"] for b in m["message"]["content"]
                if b["type"] == "thinking"]
    assert [s for s, _ in thinking] == [166, 177]
    assert all(b["signature"] == signed[b["thinking"]] for _, b in thinking)
    # Into Claude Code: the thinking blocks, signed, as the model gave them.
    env = {**os.environ, "CLAUDE_CONFIG_DIR": str(tmp_path / "claude")}
    out = json.loads(repo.cli("ctx", "resume", f"{LARGE}:200", "--worktree", str(tmp_path / "cc"), "--json",
                              env=env).stdout)
    assert out["not_carried"] == []
    [written] = (tmp_path / "claude" / "projects").rglob(out["session"] + ".jsonl")
    blocks = [b for line in written.read_text().splitlines()
              for b in (json.loads(line)["message"]["content"] if json.loads(line)["type"] == "assistant" else [])]
    assert [b for b in blocks if b["type"] == "thinking"] == [b for _, b in thinking]
    # Into Pi: Pi's own thinking blocks, with their signatures.
    env = {**os.environ, "PI_CODING_AGENT_DIR": str(tmp_path / "pi")}
    out = json.loads(repo.cli("ctx", "resume", f"{LARGE}:200", "--into", "pi", "--worktree", str(tmp_path / "p"),
                              "--json", env=env).stdout)
    assert not [w for w in out["not_carried"] if "thinking" in w]
    [written] = (tmp_path / "pi" / "sessions").rglob(f"*_{out['session']}.jsonl")
    blocks = [b for line in written.read_text().splitlines()[1:]
              for b in json.loads(line)["message"]["content"] if json.loads(line)["message"]["role"] == "assistant"]
    assert [b for b in blocks if b["type"] == "thinking"] == [
        {"type": "thinking", "thinking": b["thinking"], "thinkingSignature": b["signature"]} for _, b in thinking]
    # Into Codex, which takes back only its own reasoning: said, in words and in --json.
    env = {**os.environ, "CODEX_HOME": str(tmp_path / "codex")}
    proc = repo.cli("ctx", "resume", f"{LARGE}:200", "--into", "codex", "--worktree", str(tmp_path / "c"), env=env)
    assert proc.returncode == 0, proc.stderr.decode()
    said = [line for line in proc.stdout.decode().splitlines() if line.startswith("not carried: a thinking")]
    assert said == [f"not carried: a thinking block of step {s} (Codex takes back only its own encrypted reasoning)"
                    for s in (166, 177)]
    out = json.loads(repo.cli("ctx", "resume", f"{LARGE}:200", "--into", "codex", "--worktree",
                              str(tmp_path / "c2"), "--json", env=env).stdout)
    assert [w for w in out["not_carried"] if "thinking" in w] == [s[len("not carried: "):] for s in said]


def test_a_pi_thinking_signature_goes_back_to_claude_code_signed(repo, hermetic, tmp_path):
    session = RECORDED.parents[1] / "pi" / "pi-mono-large-session-v1.jsonl"
    proc = repo.cli("import", "pi", str(session), "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    [signed] = [b for line in session.read_text().splitlines()
                for b in ((json.loads(line).get("message") or {}).get("content") or [])
                if isinstance(b, dict) and b.get("thinkingSignature")]
    [sid] = [r["session"] for r in repo.cli_json("trace", "list")["sessions"]]
    steps = repo.cli_json("trace", "show", sid)["steps"]
    [step] = [s for s in steps if s.get("thinking") and s["text"] == signed["thinking"]]
    assert step["signature"] == signed["thinkingSignature"]
    env = {**os.environ, "CLAUDE_CONFIG_DIR": str(tmp_path / "claude")}
    out = json.loads(repo.cli("ctx", "resume", f"{sid}:{step['n']}", "--into", "claude-code", "--worktree",
                              str(tmp_path / "wt"), "--json", env=env).stdout)
    assert not [w for w in out["not_carried"] if "thinking" in w and f"step {step['n']} " in w]
    [written] = (tmp_path / "claude" / "projects").rglob(out["session"] + ".jsonl")
    blocks = [b for line in written.read_text().splitlines() if json.loads(line)["type"] == "assistant"
              for b in json.loads(line)["message"]["content"]]
    assert {"type": "thinking", "thinking": signed["thinking"], "signature": signed["thinkingSignature"]} in blocks
