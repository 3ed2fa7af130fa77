"""`git ot watch`: the real watcher process, on a real working tree.

Each test starts `git-ot watch --json` as a service manager would, changes
files the way a person or git does, waits until the watch journal shows the
change (a bounded wait, never a timed assertion), stops the watcher with
SIGTERM and checks the journal's snapshots: what each tree holds, and how
many snapshots a burst made.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

from git_ot.capture.watcher import MAX_PATHS, RECORDED_PATHS, _Burst

WAIT = 60.0  # the longest wait for the watcher to record a change


class WatchProcess:
    def __init__(self, repo):
        self.repo = repo
        self.journal = repo.path / ".git" / "opentraces" / "watch.jsonl"
        self.proc = subprocess.Popen([sys.executable, "-m", "git_ot", "watch", "--json"], cwd=repo.path,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line, self.proc.stderr.read()
        self.info = json.loads(line)["watching"]

    def records(self) -> list[dict]:
        try:
            return [json.loads(line) for line in self.journal.read_text().splitlines()]
        except FileNotFoundError:
            return []

    def wait_for(self, predicate) -> list[dict]:
        """The journal once `predicate(records)` holds."""
        deadline = time.monotonic() + WAIT
        while True:
            records = self.records()
            if predicate(records):
                return records
            assert self.proc.poll() is None, self.proc.stderr.read()
            assert time.monotonic() < deadline, f"the watcher did not record it: {records}"
            time.sleep(0.05)

    def stop(self) -> dict:
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=60)
        assert self.proc.returncode == 0, err
        assert err == ""
        return json.loads(out)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def files(repo, tree: str) -> list[str]:
    return repo.git("ls-tree", "-r", "--name-only", tree).splitlines()


def content(repo, tree: str, path: str) -> str:
    return repo.git("cat-file", "-p", f"{tree}:{path}")


def test_records_each_change_with_its_content_and_leaves_ignored_files_out(repo):
    repo.write(".gitignore", "build/\n")
    repo.commit("ignore build")
    watcher = WatchProcess(repo)
    try:
        start = watcher.records()
        assert len(start) == 1 and start[0]["previous"] is None
        assert files(repo, start[0]["tree"]) == [".gitignore", "README.md", "app.py"]
        repo.write("build/out.o", "binary\n")
        repo.write("notes.txt", "first\n")
        records = watcher.wait_for(lambda r: len(r) == 2)
        assert records[1]["previous"] == start[0]["tree"]
        assert records[1]["paths"] == ["notes.txt"]
        assert files(repo, records[1]["tree"]) == [".gitignore", "README.md", "app.py", "notes.txt"]
        assert content(repo, records[1]["tree"], "notes.txt") == "first\n"
        assert records[1]["first"] <= records[1]["t"]
        repo.write("notes.txt", "second\n")
        records = watcher.wait_for(lambda r: len(r) == 3)
        assert content(repo, records[2]["tree"], "notes.txt") == "second\n"
    finally:
        result = watcher.stop()
    assert result["recorded"] == 3
    assert len(watcher.records()) == 3
    assert not (repo.path / ".git/opentraces/watch.json").exists()


def test_survives_the_deletion_of_a_watched_directory(repo):
    for i in range(20):
        repo.write(f"pkg/sub/m{i}.py", f"x = {i}\n")
    repo.commit("a package")
    watcher = WatchProcess(repo)
    try:
        subprocess.run(["rm", "-rf", str(repo.path / "pkg")], check=True)
        records = watcher.wait_for(lambda r: len(r) == 2)
        assert files(repo, records[1]["tree"]) == ["README.md", "app.py"]
        # Still watching: a folder made again where the deleted one was.
        repo.write("pkg/sub/new.py", "y = 1\n")
        records = watcher.wait_for(lambda r: len(r) == 3)
        assert files(repo, records[2]["tree"]) == ["README.md", "app.py", "pkg/sub/new.py"]
    finally:
        watcher.stop()
    assert len(watcher.records()) == 3


def test_a_checkout_of_thousands_of_files_is_one_snapshot(repo):
    repo.git("checkout", "-q", "-b", "big")
    for i in range(3000):
        repo.write(f"gen/d{i % 30}/f{i}.txt", f"file {i}\n")
    repo.commit("three thousand files")
    big = repo.git("rev-parse", "big^{tree}").strip()
    repo.git("checkout", "-q", "main")
    watcher = WatchProcess(repo)
    try:
        repo.git("checkout", "-q", "big")
        records = watcher.wait_for(lambda r: r[-1]["tree"] == big)
    finally:
        result = watcher.stop()
    assert len(records) == 2
    # Too many paths to list: only how many changed as the watcher saw them
    # (files in a folder made during the burst may go unseen one by one;
    # the tree holds them all).
    assert records[1]["count"] > RECORDED_PATHS and "paths" not in records[1]
    assert watcher.records() == records
    assert result["recorded"] == 2


def test_sigterm_records_the_change_under_way_and_exits_0(repo):
    watcher = WatchProcess(repo)
    repo.write("late.txt", "written just before the stop\n")
    result = watcher.stop()
    records = watcher.records()
    assert records[-1]["tree"] == result["tree"]
    assert content(repo, result["tree"], "late.txt") == "written just before the stop\n"


def test_status_names_the_running_watcher_and_a_second_one_is_refused(repo):
    watcher = WatchProcess(repo)
    try:
        assert repo.cli_json("status")["watcher"]["pid"] == watcher.info["pid"]
        assert "  working tree  running (pid %d)" % watcher.info["pid"] in repo.cli("status").stdout.decode()
        second = repo.ot("watch")
        assert second.returncode == 1
        assert second.stderr.decode().splitlines() == [
            f"error: a watcher already runs for this working tree (pid {watcher.info['pid']})",
            f"hint: stop it first ('kill {watcher.info['pid']}'), or use that one",
        ]
    finally:
        watcher.stop()
    assert repo.cli_json("status")["watcher"] is None


def test_a_burst_keeps_at_most_max_paths_and_then_only_counts():
    burst = _Burst()
    for i in range(MAX_PATHS + 500):
        burst.add(f"f{i}", 1.0)
    burst.add("f0", 2.0)
    assert burst.overflow and burst.paths == set()
    assert burst.count == MAX_PATHS + 501
    assert burst.first == 1.0


def test_a_deleted_working_tree_stops_the_watcher_with_one_error(tmp_path):
    from support.repo import Repo, git

    path = tmp_path / "doomed"
    path.mkdir()
    git(path, "init", "-q")
    doomed = Repo(path)
    doomed.write("a.txt", "a\n")
    doomed.commit("a")
    watcher = WatchProcess(doomed)
    subprocess.run(["rm", "-rf", str(path)], check=True)
    out, err = watcher.proc.communicate(timeout=60)
    assert watcher.proc.returncode == 1
    assert err.splitlines() == [
        f"error: the working tree '{watcher.info['worktree']}' was deleted; stopped watching",
        "hint: start 'git ot watch' again in a working tree",
    ]
