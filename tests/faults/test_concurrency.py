"""Contention: eight sessions at once beside the user's commits, and
commits at the same moment in four linked worktrees."""

from __future__ import annotations

import threading

import pytest

from support import faults

SESSIONS = 8


@pytest.mark.parametrize("harness", faults.harnesses(), ids=lambda h: h.name)
def test_eight_concurrent_sessions_and_a_commit_loop(repo, harness, monkeypatch):
    monkeypatch.delenv("GIT_COMMITTER_DATE", raising=False)
    repo.cli_json("init")
    base = repo.git("rev-parse", "HEAD").strip()
    spooled = faults.Spooled(repo.path)
    scenario = harness.scenarios[-1]
    runs = [harness.payloads(scenario, session=f"c{i}-{scenario}", sub=f"w{i}") for i in range(SESSIONS)]
    errors: list = []
    done = threading.Event()

    def session(payloads):
        try:
            for _ in range(2 if faults.LONG else 1):
                faults.replay(harness, repo.path, payloads, spooled)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    def commits():
        try:
            n = 0
            while not done.is_set() and n < (40 if faults.LONG else 12):
                faults.user_commit(repo.path, f"the user's commit {n}")
                n += 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=session, args=(p,)) for p in runs]
    loop = threading.Thread(target=commits)
    for t in threads + [loop]:
        t.start()
    for t in threads:
        t.join(faults.PROCESS_LIMIT * 4)
    done.set()
    loop.join(faults.PROCESS_LIMIT)
    assert not errors, errors[0]
    faults.check(repo, spooled, base)
    # Snapshots of concurrent hooks wait their turn: none failed.
    from support.trail import read_records

    for i in range(SESSIONS):
        for step in read_records(repo, f"c{i}-{scenario}")["trace"]["steps"]:
            if step["kind"] == "tool" and step["writes"]:
                assert "snapshot_failed" not in step, (i, step["n"], step["snapshot_failed"])
                assert step.get("snapshot_before") and step.get("snapshot_after"), (i, step["n"])


@pytest.mark.parametrize("harness", faults.harnesses(), ids=lambda h: h.name)
def test_commits_at_the_same_moment_in_four_linked_worktrees(repo, harness, monkeypatch, tmp_path):
    monkeypatch.delenv("GIT_COMMITTER_DATE", raising=False)
    repo.cli_json("init")
    scenario = harness.scenarios[-1]
    trees = []
    for i in range(4):
        path = tmp_path / f"wt{i}"
        repo.git("worktree", "add", "-q", "-b", f"wt{i}", str(path))
        trees.append(path)
    spooled = faults.Spooled(repo.path)
    rounds = 6 if faults.LONG else 2
    commits: list[list[str]] = [[] for _ in trees]
    errors: list = []
    barrier = threading.Barrier(len(trees))

    def worker(i: int, path):
        try:
            for r in range(rounds):
                payloads = harness.payloads(scenario, session=f"wt{i}-r{r}-{scenario}", sub=f"r{r}")
                faults.replay(harness, path, payloads, spooled)
                barrier.wait(faults.PROCESS_LIMIT)  # every worktree commits at once
                faults.user_commit(path, f"worktree {i} round {r}")
                commits[i].append(faults.git(path, "rev-parse", "HEAD").stdout.strip())
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(i, p)) for i, p in enumerate(trees)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(faults.PROCESS_LIMIT * 4)
    assert not errors, errors[0]
    faults.settle(repo.path)
    # No note lost: every commit has one, naming the session that wrote it.
    for i, shas in enumerate(commits):
        for r, sha in enumerate(shas):
            proc = faults.git(repo.path, "notes", "--ref=opentraces", "show", sha, check=False)
            assert proc.returncode == 0, f"worktree {i} round {r}: commit {sha[:12]} has no note"
            assert f'"session":"wt{i}-r{r}-{scenario}"' in proc.stdout, proc.stdout
    repo.fsck()
