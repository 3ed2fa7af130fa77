"""The inbox: events that need no look at the working tree cost the agent no Python.

Each hook command here is the one `git ot install claude-code --scope local`
writes, run through `/bin/sh -c` with the payload on stdin, as Claude Code
runs it (git_ot/demo/replay.py, `hook`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from git_ot.capture import registry
from git_ot.demo.replay import hook
from support.seals import wait_for_background_seals
from support.trail import read_records

SID = "0b0e7c1e-3c1a-4c55-9d7a-000000000001"


def _payload(repo, event: str, **fields) -> dict:
    return {"session_id": SID, "transcript_path": str(repo.path / "none.jsonl"), "cwd": str(repo.path),
            "hook_event_name": event, **fields}


def _inbox(repo):
    return repo.path / ".git" / "opentraces" / "inbox"


def _journal(repo) -> list[dict]:
    path = repo.path / ".git" / "opentraces" / "spool" / f"{SID}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def _files(repo) -> list[str]:
    return sorted(n for n in os.listdir(_inbox(repo)) if not n.startswith("."))


def test_a_prompt_is_left_in_the_inbox_and_spooled_first_by_the_next_hook(repo):
    repo.ot("init")
    head = repo.git("rev-parse", "HEAD").strip()
    hook(str(repo.path), "SessionStart", _payload(repo, "SessionStart", source="startup"))
    # The session's start waits there too, with the commit and branch HEAD
    # was at as it started, beside it.
    start_json, start_head = sorted(_files(repo), key=lambda n: n.endswith(".head"))
    assert start_head == start_json[:-len(".json")] + ".head"
    assert (_inbox(repo) / start_head).read_text() == f"{head}\nrefs/heads/main\n"
    repo.git("checkout", "-q", "-b", "later")  # HEAD moves before anything spools it
    before = time.time_ns()
    prompt = _payload(repo, "UserPromptSubmit", prompt="add a farewell")
    hook(str(repo.path), "UserPromptSubmit", prompt)
    after = time.time_ns()
    # No Python ran: the payload waits in the inbox, byte for byte.
    [name] = [n for n in _files(repo) if n not in (start_json, start_head)]
    t, pid, source, event, ext = name.split(".")
    assert (source, event, ext) == ("claude-code", "UserPromptSubmit", "json") and pid.isdigit()
    assert before <= int(t) <= after
    assert (_inbox(repo) / name).read_bytes() == json.dumps(prompt).encode()
    assert _journal(repo) == []

    edit = {"tool_name": "Edit", "tool_use_id": "toolu_1",
            "tool_input": {"file_path": str(repo.path / "app.py"), "old_string": "hi", "new_string": "hello"}}
    hook(str(repo.path), "PreToolUse", _payload(repo, "PreToolUse", **edit))
    assert _files(repo) == []
    events = _journal(repo)
    assert [e["kind"] for e in events] == ["session_start", "prompt", "tool_start"]
    assert events[0]["data"]["head"] == {"commit": head, "branch": "main"}  # as it was at the start
    spooled = events[1]
    assert spooled["t"] == int(t) / 1e9
    assert spooled["id"] == f"{(int(t) ^ (int(pid) << 44)) & (2**64 - 1):016x}"
    assert spooled["data"]["text"] == "add a farewell"
    assert events[0]["t"] < spooled["t"] < events[2]["t"]


def test_a_turns_end_is_spooled_and_sealed_in_the_background(repo):
    repo.ot("init")
    hook(str(repo.path), "SessionStart", _payload(repo, "SessionStart", source="startup"))
    hook(str(repo.path), "UserPromptSubmit", _payload(repo, "UserPromptSubmit", prompt="look"))
    hook(str(repo.path), "Stop", _payload(repo, "Stop", last_assistant_message="Looked."))
    wait_for_background_seals(repo.path)
    assert _files(repo) == [] and _journal(repo) == []
    assert repo.git("rev-parse", "-q", "--verify", f"refs/opentraces/sessions/{SID}").strip()
    shown = repo.ot_json("trace", "show", SID)
    assert [(s["kind"], s.get("text")) for s in shown["steps"]] == [("prompt", "look"), ("message", "Looked.")]


def test_a_command_spools_the_inbox_before_it_reads(repo):
    repo.ot("init")
    hook(str(repo.path), "SessionStart", _payload(repo, "SessionStart", source="startup"))
    hook(str(repo.path), "UserPromptSubmit", _payload(repo, "UserPromptSubmit", prompt="first"))
    hook(str(repo.path), "UserPromptSubmit", _payload(repo, "UserPromptSubmit", prompt="second"))
    assert len(_files(repo)) == 4  # the start (with its .head) and the two prompts
    shown = repo.ot_json("trace", "show", SID)
    assert [s.get("text") for s in shown["steps"]] == ["first", "second"]
    assert _files(repo) == []


def test_an_entry_spooled_twice_is_folded_once(repo):
    """A drain killed between its append and the file's removal spools the
    file again next time, under the same id."""
    repo.ot("init")
    hook(str(repo.path), "SessionStart", _payload(repo, "SessionStart", source="startup"))
    hook(str(repo.path), "UserPromptSubmit", _payload(repo, "UserPromptSubmit", prompt="once"))
    killed = subprocess.run(
        [sys.executable, "-m", "git_ot", "trace", "list"], cwd=repo.path, capture_output=True,
        env={**os.environ, "GIT_OT_TEST_KILL_AT": "after-inbox-append"})
    assert killed.returncode == -9
    # Killed after spooling the start, before removing its file.
    assert len(_files(repo)) == 3 and [e["kind"] for e in _journal(repo)] == ["session_start"]
    shown = repo.ot_json("trace", "show", SID)
    assert [s.get("text") for s in shown["steps"]] == ["once"]
    assert [e["event"] for e in read_records(repo, SID)["trace"]["lifecycle"]] == ["SessionStart"]
    assert _files(repo) == []


def test_a_payload_naming_no_session_is_set_aside_and_the_rest_spooled(repo):
    repo.ot("init")
    hook(str(repo.path), "SessionStart", _payload(repo, "SessionStart", source="startup"))
    command = registry.find("claude-code").hook_command("UserPromptSubmit", "local")
    proc = subprocess.run(["/bin/sh", "-c", command], cwd=repo.path, input=b"not json at all",
                          capture_output=True)
    assert proc.returncode == 0 and proc.stdout == b"" and proc.stderr == b""
    [bad] = [n for n in _files(repo) if ".UserPromptSubmit." in n]
    hook(str(repo.path), "UserPromptSubmit", _payload(repo, "UserPromptSubmit", prompt="kept"))
    shown = repo.ot_json("trace", "show", SID)
    assert [s.get("text") for s in shown["steps"]] == ["kept"]
    # Not a JSON value: it could be a payload still being written, until
    # it is older than any writer takes.
    assert _files(repo) == [bad]
    old = time.time() - 120
    os.utime(_inbox(repo) / bad, (old, old))
    repo.ot_json("trace", "show", SID)
    assert _files(repo) == []
    damaged = repo.path / ".git" / "opentraces" / "spool-damaged" / f"inbox-{bad}"
    assert damaged.read_bytes() == b"not json at all"
    log = (repo.path / ".git" / "opentraces" / "log").read_text()
    assert f"hook inbox {bad}" in log and "hook payload names no session" in log


def test_without_an_inbox_or_with_a_given_time_the_hook_runs_git_ot(repo):
    # No `git ot init` yet: no state, no inbox; the hook runs git-ot, which
    # spools the event and makes the inbox for the next ones.
    hook(str(repo.path), "UserPromptSubmit", _payload(repo, "UserPromptSubmit", prompt="early"))
    assert [e["data"]["text"] for e in _journal(repo)] == ["early"]
    assert _files(repo) == []
    # A replay that dates its events (GIT_OT_EVENT_TIME) is spooled at once, at that time.
    hook(str(repo.path), "UserPromptSubmit", _payload(repo, "UserPromptSubmit", prompt="dated"),
         env={**os.environ, "GIT_OT_EVENT_TIME": "1700000123.5"})
    assert [(e["data"]["text"], e["t"]) for e in _journal(repo)][1] == ("dated", 1700000123.5)
    assert _files(repo) == []
    hook(str(repo.path), "UserPromptSubmit", _payload(repo, "UserPromptSubmit", prompt="late"))
    assert len(_files(repo)) == 1


def test_an_unfinished_file_is_taken_only_once_its_writer_is_surely_gone(repo):
    repo.ot("init")
    hook(str(repo.path), "SessionStart", _payload(repo, "SessionStart", source="startup"))
    t = time.time_ns()
    fresh = _inbox(repo) / f"{t}.4242.claude-code.UserPromptSubmit.json.tmp"
    fresh.write_text(json.dumps(_payload(repo, "UserPromptSubmit", prompt="being written")))
    stale = _inbox(repo) / f"{t - 1}.4243.claude-code.UserPromptSubmit.json.tmp"
    stale.write_text(json.dumps(_payload(repo, "UserPromptSubmit", prompt="left by a dead writer")))
    old = time.time() - 120
    os.utime(stale, (old, old))
    shown = repo.ot_json("trace", "show", SID)
    assert [s.get("text") for s in shown["steps"]] == ["left by a dead writer"]
    assert _files(repo) == [fresh.name]


def test_an_entry_its_hook_is_still_writing_is_taken_once_whole_or_once_surely_abandoned(repo):
    """The sh hooks write a payload in place: a file that is not yet a whole
    JSON value is being written, unless it is older than a writer takes."""
    repo.ot("init")
    hook(str(repo.path), "SessionStart", _payload(repo, "SessionStart", source="startup"))
    t = time.time_ns()
    whole = json.dumps(_payload(repo, "UserPromptSubmit", prompt="being written"))
    writing = _inbox(repo) / f"{t}.4242.claude-code.UserPromptSubmit.json"
    writing.write_text(whole[:len(whole) // 2])  # the session's id in it already
    cut = json.dumps(_payload(repo, "UserPromptSubmit", prompt="left by a dead writer"))
    dead = _inbox(repo) / f"{t - 1}.4243.claude-code.UserPromptSubmit.json"
    dead.write_text(cut[:-2])
    old = time.time() - 120
    os.utime(dead, (old, old))
    shown = repo.ot_json("trace", "show", SID)
    # The abandoned one is kept as it was left: a raw event of its session.
    [raw] = [e for e in read_records(repo, SID)["trace"]["lifecycle"] if e["kind"] == "raw"]
    assert raw["data"]["text"] == cut[:-2]
    assert [s.get("text") for s in shown["steps"]] == []
    assert _files(repo) == [writing.name]
    writing.write_text(whole)  # its hook is done
    shown = repo.ot_json("trace", "show", SID)
    assert [s.get("text") for s in shown["steps"]] == ["being written"]
    assert _files(repo) == []


def test_bash_names_an_entry_by_its_clock_and_sh_asks_date(repo, tmp_path):
    """Codex runs its hooks with bash, whose EPOCHREALTIME gives the arrival
    time with no process started; a shell without it runs `date`. Here
    neither shell finds a `date`: bash still leaves the payload in the
    inbox, sh hands it to git-ot."""
    repo.ot("init")
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in ("cat", "git"):
        os.symlink(subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True, text=True,
                                  check=True).stdout.strip(), tools / tool)
    command = registry.find("claude-code").hook_command("UserPromptSubmit", "local")
    env = {**os.environ, "PATH": str(tools)}
    for shell, prompt in (("/bin/bash", "by bash"), ("/bin/sh", "by sh")):
        raw = json.dumps(_payload(repo, "UserPromptSubmit", prompt=prompt)).encode()
        before = time.time_ns()
        proc = subprocess.run([shell, "-c", command], cwd=repo.path, input=raw, env=env, capture_output=True)
        after = time.time_ns()
        assert proc.returncode == 0 and proc.stderr == b"", proc.stderr
        if shell == "/bin/bash":
            [name] = _files(repo)
            t = int(name.split(".")[0])
            assert before // 1000 * 1000 <= t <= after and t % 1000 == 0  # microseconds, in nanoseconds
            assert (_inbox(repo) / name).read_bytes() == raw
        else:
            assert _files(repo) == []  # git-ot ran: it spooled bash's entry first, then its own event
    assert [e["data"]["text"] for e in _journal(repo)] == ["by bash", "by sh"]


def test_a_sessions_start_reads_head_as_git_does_in_every_state(repo):
    """The start's sh reads HEAD and the branch's file itself where it can;
    a packed branch, a detached HEAD and a branch not born yet need git.
    Each `.head` is what `git rev-parse -q --verify HEAD` and `git
    symbolic-ref -q HEAD` say at that moment."""
    repo.ot("init")

    def start() -> str:
        hook(str(repo.path), "SessionStart", _payload(repo, "SessionStart", source="startup"))
        [name] = [n for n in _files(repo) if n.endswith(".head")]
        text = (_inbox(repo) / name).read_text()
        for n in _files(repo):
            os.unlink(_inbox(repo) / n)
        return text

    head = repo.git("rev-parse", "HEAD").strip()
    assert start() == f"{head}\nrefs/heads/main\n"  # a loose branch: no git run
    repo.git("pack-refs", "--all")
    assert not (repo.path / ".git" / "refs" / "heads" / "main").exists()
    assert start() == f"{head}\nrefs/heads/main\n"
    repo.git("checkout", "-q", "--detach")
    assert start() == f"{head}\n\n"
    repo.git("checkout", "-q", "--orphan", "fresh")
    assert start() == "\nrefs/heads/fresh\n"
    # A branch file that is not a commit id (written by hand, say): git's answer.
    repo.git("checkout", "-q", "main")
    (repo.path / ".git" / "refs" / "heads" / "main").write_text("ref: refs/heads/elsewhere\n")
    assert start() == "\nrefs/heads/main\n"
    repo.git("update-ref", "--no-deref", "refs/heads/main", head)


def test_a_linked_worktree_leaves_its_events_in_the_repositorys_inbox(repo, tmp_path):
    """Its `.git` is a file: the command asks git for the common directory."""
    repo.ot("init")
    linked = tmp_path / "linked"
    repo.git("worktree", "add", "-q", str(linked))
    payload = {**_payload(repo, "UserPromptSubmit", prompt="from the linked one"), "cwd": str(linked)}
    hook(str(linked), "SessionStart", {**_payload(repo, "SessionStart", source="startup"), "cwd": str(linked)})
    hook(str(linked), "UserPromptSubmit", payload)
    [start_head] = [n for n in _files(repo) if n.endswith(".head")]
    [name] = [n for n in _files(repo) if ".UserPromptSubmit." in n]
    assert name.endswith(".claude-code.UserPromptSubmit.json")
    # The linked worktree's own HEAD: its branch.
    assert (_inbox(repo) / start_head).read_text() == \
        f"{repo.git('rev-parse', 'HEAD').strip()}\nrefs/heads/linked\n"
    shown = repo.ot_json("trace", "show", SID)
    assert [s.get("text") for s in shown["steps"]] == ["from the linked one"]


def test_status_counts_a_session_whose_events_wait_in_the_inbox(repo):
    repo.ot("init")
    hook(str(repo.path), "SessionStart", _payload(repo, "SessionStart", source="startup"))
    repo.ot("trace", "list")  # sealed: nothing spooled
    hook(str(repo.path), "UserPromptSubmit", _payload(repo, "UserPromptSubmit", prompt="later"))
    assert len(_files(repo)) == 1
    status = repo.ot_json("status")
    assert (status["sessions"]["sealed"], status["sessions"]["pending"]) == (1, 1)
    assert _files(repo) == []


def test_forget_takes_a_sessions_events_waiting_in_the_inbox_with_it(repo):
    repo.ot("init")
    hook(str(repo.path), "SessionStart", _payload(repo, "SessionStart", source="startup"))
    repo.ot("trace", "list")
    hook(str(repo.path), "UserPromptSubmit", _payload(repo, "UserPromptSubmit", prompt="secret plans"))
    assert len(_files(repo)) == 1
    proc = repo.ot("forget", SID)
    assert proc.returncode == 0, proc.stderr
    assert _files(repo) == [] and _journal(repo) == []
    assert repo.ot_json("trace", "list")["sessions"] == []


def test_an_entry_the_spool_cannot_take_stays_and_the_hooks_own_event_is_recorded(repo):
    repo.ot("init")
    other = "0b0e7c1e-3c1a-4c55-9d7a-000000000002"
    hook(str(repo.path), "UserPromptSubmit", {**_payload(repo, "UserPromptSubmit", prompt="stuck"),
                                              "session_id": other})
    [stuck] = _files(repo)
    # Its journal cannot be appended to (a directory stands where it goes).
    (repo.path / ".git" / "opentraces" / "spool" / f"{other}.jsonl").mkdir(parents=True)
    bash = {"tool_name": "Bash", "tool_use_id": "toolu_b", "tool_input": {"command": "true"}}
    hook(str(repo.path), "PreToolUse", _payload(repo, "PreToolUse", **bash))
    assert [e["kind"] for e in _journal(repo)] == ["tool_start"]
    assert _files(repo) == [stuck]
    assert "hook inbox" in (repo.path / ".git" / "opentraces" / "log").read_text()
