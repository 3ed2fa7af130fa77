"""The watch journal: the working tree's changes as `git ot watch` saw them.

One file per worktree, `<gitdir>/opentraces/watch.jsonl` (store/state.py),
one JSON object a line (refs/README.md section 12): `t` when the snapshot
was taken, `tree` the snapshot, `previous` the tree of the line before,
`changed` the earliest and latest modification time of the files the burst
changed (when it changed files that still exist), and the paths (`paths`,
or only their `count` when there were many). The watcher appends; the seal
of a session that only telemetry captured reads it for the snapshots of its
tool calls, and the OTLP receiver for the sessions whose tool calls changed
this working tree.
"""

from __future__ import annotations

import json
import os

from . import state


# Telemetry's times are whole milliseconds (Claude Code's Date.now()), file
# times nanoseconds: a tool's window is widened by this much on each side
# (seconds) before the watcher's changes are compared with it.
TOLERANCE = 0.005


def path(worktree_state_dir: str) -> str:
    return state.watch_journal(worktree_state_dir)


def append(worktree_state_dir: str, record: dict) -> None:
    """Append one line (one write of the whole line to a file opened for appending)."""
    data = (json.dumps(record, separators=(",", ":")) + "\n").encode("utf-8")
    fd = os.open(path(worktree_state_dir), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        while data:
            n = os.write(fd, data)
            if n <= 0:
                raise OSError("short write to the watch journal")
            data = data[n:]
    finally:
        os.close(fd)


def read(worktree_state_dir: str) -> list[dict]:
    """Every whole line of the journal, oldest first (a torn or foreign line is skipped)."""
    try:
        with open(path(worktree_state_dir), "rb") as fh:
            lines = fh.read().splitlines()
    except FileNotFoundError:
        return []
    out = []
    for line in lines:
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and isinstance(rec.get("tree"), str) and isinstance(rec.get("t"), (int, float)):
            out.append(rec)
    return out


def changed_at(record: dict) -> tuple[float, float]:
    """When a line's changes were made: its files' modification times, else
    the time of the burst's first event and of its snapshot."""
    changed = record.get("changed")
    if isinstance(changed, list) and len(changed) == 2 and all(isinstance(x, (int, float)) for x in changed):
        return float(changed[0]), float(changed[1])
    return float(record.get("first", record["t"])), float(record["t"])


def state_at(records: list[dict], t: float) -> tuple[str | None, bool]:
    """The tree of the working tree at time `t`, and whether that is certain:
    not when a burst's changes were made both before and after `t`."""
    tree = None
    for rec in records:
        lo, hi = changed_at(rec)
        if rec.get("previous") is None and tree is None:
            if rec["t"] <= t:
                tree = rec["tree"]
            continue
        if hi <= t:
            tree = rec["tree"]
        elif lo <= t:
            return tree, False  # the burst straddles t
    return tree, True


def changes_within(records: list[dict], t0: float, t1: float) -> list[dict]:
    """The lines whose changes were all made between t0 and t1."""
    out = []
    for rec in records:
        if rec.get("previous") is None:
            continue
        lo, hi = changed_at(rec)
        if t0 <= lo and hi <= t1:
            out.append(rec)
    return out
