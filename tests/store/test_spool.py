"""The spool: concurrent hook processes and crashes lose and double nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from git_ot.store.spool import Spool
from support.repo import git, replay
from support.seals import wait_for_background_seals


def _hook_cmd(repo, event, payload, env=None):
    payload = {**payload, "cwd": str(repo.path), "hook_event_name": event}
    return subprocess.run([sys.executable, "-m", "git_ot", "hook", "claude-code", event],
                          cwd=repo.path, input=json.dumps(payload).encode(),
                          capture_output=True, env=env)


def _prompts(repo, sid):
    steps = repo.cli_json("trace", "show", sid)["steps"]
    return [s["text"] for s in steps if s["kind"] == "prompt"]


def test_concurrent_hooks_for_one_and_several_sessions(repo):
    """Real processes append and seal at once; every event lands exactly once."""
    jobs = []
    for sid in ("sess-a", "sess-b", "sess-c"):
        for i in range(12):
            jobs.append((sid, "UserPromptSubmit", {"session_id": sid, "prompt": f"{sid} #{i}"}))
            if i % 4 == 3:  # seals racing with appends to the same session
                jobs.append((sid, "Stop", {"session_id": sid}))
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda j: _hook_cmd(repo, j[1], j[2]), jobs))
    assert all(r.returncode == 0 for r in results)
    assert not (repo.path / ".git/opentraces/log").exists()
    for sid in ("sess-a", "sess-b", "sess-c"):
        assert sorted(_prompts(repo, sid)) == sorted(f"{sid} #{i}" for i in range(12))
    # Once every session is sealed (the seals the Stop hooks started in the
    # background done too), not even its lock files are left.
    wait_for_background_seals(repo.path)
    assert os.listdir(repo.path / ".git/opentraces/spool") == []
    repo.fsck()


def _killed_stop(repo, sid: str, point: str, message: str | None = None) -> None:
    """The turn's end, killed at `point`: at after-append the Stop hook dies
    right after spooling its event, before it starts the seal; at a point
    inside the seal, the seal the hook starts in the background dies there
    (run here in the foreground, with the crash point the hook itself does
    not hand on)."""
    payload = {"session_id": sid, **({"last_assistant_message": message} if message else {})}
    env = {**os.environ, "GIT_OT_TEST_KILL_AT": "after-append"}
    assert _hook_cmd(repo, "Stop", payload, env=env).returncode == -9
    if point != "after-append":
        seal = subprocess.run([sys.executable, "-m", "git_ot", "hook", "seal", sid], cwd=repo.path,
                              capture_output=True, env={**os.environ, "GIT_OT_TEST_KILL_AT": point})
        assert seal.returncode == -9  # the process really died there


@pytest.mark.parametrize("point", ["after-append", "after-take", "after-ref-move"])
def test_sigkill_at_any_point_loses_nothing(repo, point):
    sid = "crashy"
    repo.hook("UserPromptSubmit", {"session_id": sid, "prompt": "first"})
    _killed_stop(repo, sid, point, "done one")
    # The next hook of any session repairs what the crash left.
    repo.hook("UserPromptSubmit", {"session_id": sid, "prompt": "second"})
    repo.hook("Stop", {"session_id": sid})
    steps = repo.cli_json("trace", "show", sid)["steps"]
    assert [(s["kind"], s["text"]) for s in steps] == [
        ("prompt", "first"), ("message", "done one"), ("prompt", "second")]
    repo.fsck()


def test_interrupted_seal_is_repaired_by_a_later_command(repo):
    sid = "crash2"
    repo.hook("UserPromptSubmit", {"session_id": sid, "prompt": "only"})
    _killed_stop(repo, sid, "after-take")
    assert git(repo.path, "for-each-ref", "refs/opentraces/") == ""
    assert [n for n in os.listdir(repo.path / ".git/opentraces/spool") if n.endswith(".sealing")] \
        == ["crash2.1.sealing"]
    assert _prompts(repo, sid) == ["only"]
    assert os.listdir(repo.path / ".git/opentraces/spool") == []


def test_a_damaged_spool_line_is_kept_not_dropped(repo):
    sid = "damaged"
    repo.hook("UserPromptSubmit", {"session_id": sid, "prompt": "before"})
    with open(repo.path / ".git/opentraces/spool" / f"{sid}.jsonl", "ab") as fh:
        fh.write(b'{"v":1,"id":"cut-sh')  # a write cut short
        fh.write(b"\n")
    repo.hook("UserPromptSubmit", {"session_id": sid, "prompt": "after"})
    repo.hook("Stop", {"session_id": sid})
    tip = f"refs/opentraces/sessions/{sid}"
    assert _prompts(repo, sid) == ["before", "after"]
    from git_ot.domain.opening import open_store

    trace = open_store(str(repo.path)).session(sid).record("trace")
    corrupt = [e for e in trace["lifecycle"] if e["event"] == "corrupt"]
    assert [c["data"]["line"] for c in corrupt] == ['{"v":1,"id":"cut-sh\n']
    assert git(repo.path, "rev-list", "--count", tip).strip() == "1"


def test_hook_never_fails_the_harness(repo, tmp_path):
    cases = [
        (["hook", "claude-code", "PostToolUse"], b"{not json"),
        (["hook", "claude-code", "PostToolUse"], b'{"hook_event_name": "PostToolUse"}'),
        (["hook", "claude-code", "Stop"], b'{"session_id": "../../etc", "hook_event_name": "Stop"}'),
        (["hook", "nosuch-harness", "X"], b"{}"),
        (["hook"], b""),
    ]
    for args, payload in cases:
        proc = subprocess.run([sys.executable, "-m", "git_ot", *args], cwd=repo.path,
                              input=payload, capture_output=True)
        assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"", b"")
    log = (repo.path / ".git/opentraces/log").read_text()
    assert log.count("--- ") == 5
    assert "invalid session id '../../etc'" in log
    assert git(repo.path, "for-each-ref", "refs/opentraces/") == ""
    # Outside any repository the hook still exits 0 and logs to the temp dir.
    outside = tmp_path / "nowhere"
    outside.mkdir()
    proc = subprocess.run([sys.executable, "-m", "git_ot", "hook", "claude-code", "Stop"],
                          cwd=outside, input=b'{"session_id": "s", "cwd": "%s"}' % str(outside).encode(),
                          capture_output=True)
    assert (proc.returncode, proc.stderr) == (0, b"")


def test_text_that_is_not_valid_unicode_is_kept(repo):
    """A cut surrogate pair (as JavaScript emits) and raw non-UTF-8 bytes on stdin."""
    sid = "s-text"
    proc = subprocess.run(
        [sys.executable, "-m", "git_ot", "hook", "claude-code", "UserPromptSubmit"], cwd=repo.path,
        input=b'{"session_id": "s-text", "hook_event_name": "UserPromptSubmit", "prompt": "half \\ud83d"}',
        capture_output=True)
    assert proc.returncode == 0
    proc = subprocess.run(
        [sys.executable, "-m", "git_ot", "hook", "claude-code", "UserPromptSubmit"], cwd=repo.path,
        input=b'{"session_id": "s-text", "hook_event_name": "UserPromptSubmit", "prompt": "caf\xe9"}',
        capture_output=True)
    assert proc.returncode == 0
    repo.hook("Stop", {"session_id": sid})
    assert _prompts(repo, sid) == ["half \\ud83d", "caf\\xe9"]
    assert not (repo.path / ".git/opentraces/log").exists()


def test_a_journal_left_by_a_dead_harness_is_sealed_by_the_next_hook(repo):
    repo.hook("UserPromptSubmit", {"session_id": "died", "prompt": "never finished"})
    journal = repo.path / ".git/opentraces/spool/died.jsonl"
    old = journal.stat().st_mtime - 3600
    os.utime(journal, (old, old))
    repo.hook("UserPromptSubmit", {"session_id": "alive", "prompt": "new session"})
    assert git(repo.path, "for-each-ref", "--format=%(refname)", "refs/opentraces/") == \
        "refs/opentraces/sessions/died\n"


def test_dollar_keys_in_harness_data_are_not_taken_for_references(repo):
    data = {"$blob": "not a reference", "size": 3, "$$x": 1}
    repo.hook("PreToolUse", {"session_id": "s-dollar", "tool_name": "mcp__db__query",
                             "tool_use_id": "q1", "tool_input": data})
    repo.hook("PostToolUse", {"session_id": "s-dollar", "tool_name": "mcp__db__query",
                              "tool_use_id": "q1", "tool_input": data, "tool_response": "x" * 5000})
    repo.hook("Stop", {"session_id": "s-dollar"})
    step = repo.cli_json("trace", "show", "s-dollar:1")["step"]
    assert step["input"] == data
    assert step["output"] == "x" * 5000


def test_a_sealed_session_leaves_no_lock_file(repo):
    sid = replay(repo, "linear-edit")
    spool = repo.path / ".git/opentraces/spool"
    assert [n for n in os.listdir(spool) if n.startswith(sid)] == []


def test_appends_racing_seals_that_delete_the_locks_lose_nothing(tmp_path):
    """Appenders waiting on a lock file a seal deletes lock the new one."""
    spool = Spool(str(tmp_path))
    writers, each = 4, 150
    stop = threading.Event()
    taken: list[dict] = []

    def seal_once():
        with spool.sealing("s") as batch:
            taken.extend(batch.take())
            batch.retire()

    def sealer():
        while not stop.is_set():
            seal_once()

    def writer(w):
        for i in range(each):
            spool.append("s", {"id": f"{w}-{i}"})

    seal_thread = threading.Thread(target=sealer)
    seal_thread.start()
    with ThreadPoolExecutor(max_workers=writers) as pool:
        list(pool.map(writer, range(writers)))
    stop.set()
    seal_thread.join()
    seal_once()
    ids = [e["id"] for e in taken]
    assert sorted(ids) == sorted(f"{w}-{i}" for w in range(writers) for i in range(each))
    assert os.listdir(spool.dir) == []


def test_a_lock_deleted_by_its_holder_is_taken_again_by_its_waiter(tmp_path):
    """The waiter of a lock file its holder deletes ends up holding a file
    the path still names, never the deleted one."""
    from git_ot.store.spool import _flock

    path = str(tmp_path / "s.lock")
    held, inside = threading.Event(), []

    def waiter():
        held.wait()
        with _flock(path):
            inside.append(os.path.exists(path))

    t = threading.Thread(target=waiter)
    t.start()
    with _flock(path):
        held.set()
        time.sleep(0.3)  # the waiter has opened the file and waits on its lock
        os.unlink(path)
    t.join()
    assert inside == [True]


def test_events_appended_together_land_whole_and_in_order_beside_single_appends(repo, tmp_path):
    """`append_many` (the OTLP receiver's write) from several threads, with
    single appends between: every line whole, each batch's lines together
    and in order."""
    spool = Spool(str(tmp_path / "state"))

    def batch(k):
        spool.append_many("s", [{"id": f"{k:08x}{i:08x}", "k": k, "i": i, "pad": "x" * 5000}
                                for i in range(50)])
        spool.append("s", {"id": f"single{k:010x}", "k": k})

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(batch, range(40)))
    events = spool.peek("s")
    assert len(events) == 40 * 51 and not any("corrupt" in e for e in events)
    runs: dict[int, list[int]] = {}
    for position, event in enumerate(events):
        if "i" in event:
            runs.setdefault(event["k"], []).append(position)
    for k, positions in runs.items():
        assert positions == list(range(positions[0], positions[0] + 50)), k
        assert [events[p]["i"] for p in positions] == list(range(50))


def test_a_small_batch_is_parsed_once_and_a_large_one_at_each_pass(tmp_path):
    """take(lazy=True, keep_below=n): a batch of fewer than n bytes comes back
    as a list (a seal's passes do not parse it again); a larger one as the
    lazy iterable, whose events are new objects at each pass."""
    spool = Spool(str(tmp_path / "state"))
    events = [{"id": f"e{i}", "kind": "prompt", "data": {"text": f"prompt {i}"}} for i in range(3)]
    spool.add_batch("sess-k", events)
    size = sum(os.path.getsize(tmp_path / "state" / "spool" / n)
               for n in os.listdir(tmp_path / "state" / "spool") if n.endswith(".sealing"))
    with spool.sealing("sess-k") as batch:
        kept = batch.take(lazy=True, keep_below=size + 1)
        assert kept == events and isinstance(kept, list)
    with spool.sealing("sess-k") as batch:
        lazy = batch.take(lazy=True, keep_below=size)
        assert not isinstance(lazy, list)
        first, second = list(lazy), list(lazy)
        assert first == second == events and first[0] is not second[0]


def test_a_held_event_is_known_valid_text_only_when_its_line_escapes_no_surrogate(tmp_path):
    """A lone surrogate reaches a parsed line only through a \\ud... escape:
    an event whose line has none is known to be valid text (the fold does not
    check it again); one with a surrogate, lone or of a pair, is not known."""
    spool = Spool(str(tmp_path / "state"))
    events = [{"id": "plain", "kind": "prompt", "data": {"text": "café, naïve \\ud800 as text"}},
              {"id": "lone", "kind": "prompt", "data": {"text": "bad \udc80 byte"}},
              {"id": "pair", "kind": "prompt", "data": {"text": "an emoji \U0001F600"}},
              {"id": "key", "kind": "prompt", "data": {"\ud800": "in a key"}}]
    spool.add_batch("sess-v", events)
    with spool.sealing("sess-v") as batch:
        held = batch.take(lazy=True, keep_below=1 << 20)
        assert held == events
        assert [batch.plain_text(e) for e in held] == [False, False, False, False]
    spool.add_batch("sess-w", events[:1] + [{"id": "ascii", "kind": "prompt", "data": {"text": "plain"}}])
    with spool.sealing("sess-w") as batch:
        held = batch.take(lazy=True, keep_below=1 << 20)
        assert [batch.plain_text(e) for e in held] == [False, True]
        lazy = batch.take(lazy=True)
        assert [batch.plain_text(e) for e in lazy] == [False, False]  # not held: not known
