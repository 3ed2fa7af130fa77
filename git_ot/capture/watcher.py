"""`git ot watch`: the working tree's changes, each recorded as a snapshot.

A capture source that needs no harness: the operating system's file events
(watchfiles: inotify, FSEvents, kqueue) say that something under the
working tree changed; the watcher then takes a snapshot through the same
machinery as the hooks (store/snapshot.py: a tree of every tracked and
untracked file, never an ignored one, never `.git`) and, when the tree
differs from the last one it recorded, appends one line to the worktree's
watch journal (`<gitdir>/opentraces/watch.jsonl`, refs/README.md section
12): when, which tree, which paths.

Bursts are coalesced. File events are gathered until the tree has been
quiet for QUIET_MS, and while git itself holds the worktree's index lock
(`git checkout`, `git reset`, `git stash` write files under it) the
watcher keeps gathering until git lets go: a checkout of thousands of
files is one snapshot. Memory stays bounded: past MAX_PATHS changed paths
in one burst the watcher keeps only their count (the snapshot still holds
every file, as git status finds them).

What git ignores is decided by git: the paths of a burst go through `git
check-ignore --stdin` once, and a burst of nothing but ignored paths takes
no snapshot (a build writing into an ignored folder costs one git process,
not a tree). `.git` is left out before that, by name.

SIGTERM, SIGINT or SIGHUP stop it: the burst under way is flushed (one
last snapshot, recorded if the tree changed) and it exits 0. A watched
folder that is deleted is simply a change; a working tree that is deleted
stops the watcher, after the same flush, with an error.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time

from ..errors import WatcherError
from ..store import runfile, snapshot, state, watchlog
from ..store.git import environment, process

QUIET_MS = 200  # a burst ends after this long without a change
MAX_BURST_MS = 60_000  # ... or after this long, whatever happens
LOCK_POLL_MS = 250  # how often a burst held open by git's index lock looks again
MAX_PATHS = 10_000  # changed paths kept per burst; past that, only their count
RECORDED_PATHS = 200  # paths written into one journal line; past that, only their count


class _Burst:
    """The paths changed since the last snapshot, bounded."""

    def __init__(self):
        self.paths: set[str] = set()
        self.count = 0
        self.overflow = False
        self.first: float | None = None

    def add(self, rel: str, now: float) -> None:
        if self.first is None:
            self.first = now
        if self.overflow:
            self.count += 1
            return
        if rel not in self.paths:
            self.count += 1
            self.paths.add(rel)
            if len(self.paths) > MAX_PATHS:
                self.paths.clear()
                self.overflow = True

    def __bool__(self) -> bool:
        return self.first is not None


def _in_git_dir(rel: str) -> bool:
    return rel == ".git" or rel.startswith(".git/") or "/.git/" in rel or rel.endswith("/.git")


def not_ignored(worktree: str, paths: list[str]) -> list[str]:
    """`paths` (relative to the working tree) that git does not ignore,
    by git's own rules (`git check-ignore`; tracked files never are)."""
    if not paths:
        return []
    proc = process(["check-ignore", "--stdin", "-z"], cwd=worktree,
                   input="\0".join(paths).encode("utf-8", "surrogateescape") + b"\0",
                   env=environment())
    if proc.returncode not in (0, 1):  # 1: none is ignored
        return list(paths)
    ignored = {p.decode("utf-8", "surrogateescape") for p in proc.stdout.split(b"\0") if p}
    return [p for p in paths if p not in ignored]


class Watcher:
    """Snapshots of one working tree, recorded in its watch journal."""

    def __init__(self, location, max_file_size: int | None = None):
        self.location = location
        self.worktree = os.path.realpath(location.require_worktree("watch"))
        self.state_dir = location.worktree_state_dir
        self.journal = state.watch_journal(self.state_dir)
        self.max_file_size = max_file_size or snapshot.configured_max_file_size()
        self.last_tree = self._last_recorded()
        self.counts = {"bursts": 0, "snapshots": 0, "recorded": 0, "ignored": 0}

    def _last_recorded(self) -> str | None:
        try:
            with open(self.journal, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                fh.seek(max(0, fh.tell() - 65536))
                lines = fh.read().splitlines()
        except FileNotFoundError:
            return None
        for line in reversed(lines):
            try:
                return json.loads(line)["tree"]
            except (ValueError, KeyError, TypeError):
                continue
        return None

    def relative(self, path: str) -> str | None:
        rel = os.path.relpath(path, self.worktree)
        if rel.startswith("..") or rel == "." or _in_git_dir(rel.replace(os.sep, "/")):
            return None
        return rel.replace(os.sep, "/")

    def git_busy(self) -> bool:
        """Whether git holds this worktree's index lock (a checkout under way)."""
        return os.path.exists(os.path.join(self.location.git_dir, "index.lock"))

    def flush(self, burst: _Burst, final: bool = False) -> dict | None:
        """Snapshot after a burst; the journal line written, or None."""
        if not burst and not final:
            return None
        self.counts["bursts"] += bool(burst)
        paths = sorted(burst.paths)
        if burst and not burst.overflow:
            paths = not_ignored(self.worktree, paths)
            if not paths and not final:
                self.counts["ignored"] += 1
                return None
        if not os.path.isdir(self.worktree):
            return None
        tree = snapshot.take(self.location, self.max_file_size)
        self.counts["snapshots"] += 1
        if tree == self.last_tree:
            return None
        now = time.time()
        record = {"v": 1, "t": now, "first": burst.first if burst.first is not None else now,
                  "tree": tree, "previous": self.last_tree}
        changed = _mtimes(self.worktree, paths if not burst.overflow else [])
        if changed is not None:
            record["changed"] = changed
        if burst.overflow or len(paths) > RECORDED_PATHS:
            record["count"] = burst.count
        else:
            record["paths"] = paths
        watchlog.append(self.state_dir, record)
        self.last_tree = tree
        self.counts["recorded"] += 1
        return record


def _mtimes(worktree: str, paths: list[str]) -> list[float] | None:
    """The earliest and latest modification time of the paths that exist."""
    times = []
    for rel in paths:
        try:
            times.append(os.lstat(os.path.join(worktree, rel)).st_mtime_ns / 1e9)
        except OSError:
            continue
    return [min(times), max(times)] if times else None


def running(location) -> dict | None:
    """The watcher running for this working tree, from its state file, or None."""
    from ..domain.status import watcher as watcher_info

    return watcher_info(location.worktree_state_dir)


def watch(location, ready=None, stop: threading.Event | None = None, on_record=None) -> dict:
    """Watch until SIGTERM, SIGINT, SIGHUP or `stop`; flush; return counts.

    `ready(info)` is called once the watcher listens for file events, after
    a first snapshot (so changes made before it are not taken for later
    ones); `on_record(record)` with each journal line written.
    """
    from watchfiles._rust_notify import RustNotify

    watcher = Watcher(location)
    other = running(location)
    if other is not None and other.get("pid") != os.getpid():
        raise WatcherError(f"a watcher already runs for this working tree (pid {other['pid']})",
                           hint=f"stop it first ('kill {other['pid']}'), or use that one")
    os.makedirs(watcher.state_dir, exist_ok=True)
    stop = stop or threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    info = {"pid": os.getpid(), "worktree": watcher.worktree, "started": time.time()}
    runfile.write(state.watcher(watcher.state_dir), info)

    def record(burst, final=False):
        line = watcher.flush(burst, final)
        if line is not None and on_record is not None:
            on_record(line)

    gone = False
    try:
        # Listening before the first snapshot: a change made from here on
        # is seen, whether it lands before that snapshot or after.
        notify = RustNotify([watcher.worktree], False, False, 300, True, True)
        with notify:
            record(_Burst(), final=True)  # the tree as it is when watching starts
            if ready is not None:
                ready(info)
            burst = _Burst()
            held_since = None
            while True:
                # No timeout while idle; a burst held open by git looks again soon.
                raw = notify.watch(MAX_BURST_MS, QUIET_MS, LOCK_POLL_MS if burst else 0, stop)
                if raw in ("stop", "signal"):
                    break
                now = time.time()
                if raw != "timeout":
                    for _, path in raw:
                        rel = watcher.relative(path)
                        if rel is not None:
                            burst.add(rel, now)
                if not os.path.isdir(watcher.worktree):
                    gone = True
                    break
                if not burst:
                    continue
                if watcher.git_busy():
                    held_since = held_since or now
                    if now - held_since < MAX_BURST_MS / 1000:
                        continue  # git is still writing: keep gathering
                held_since = None
                record(burst)
                burst = _Burst()
            if not gone and os.path.isdir(watcher.worktree):
                record(burst, final=True)  # stopped: what changed since the last burst
            else:
                gone = True
    except FileNotFoundError:
        gone = True
    finally:
        runfile.remove(state.watcher(watcher.state_dir))
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if gone:
        raise WatcherError(f"the working tree '{watcher.worktree}' was deleted; stopped watching",
                           hint="start 'git ot watch' again in a working tree")
    return {**info, **watcher.counts, "tree": watcher.last_tree}

