"""The inbox: hook payloads a harness left without starting git-ot.

Starting Python is most of what a hook call costs the agent, and most of a
session's events need no live look at the working tree: a prompt, a turn's
end, a subagent's stop only append. For those, the hook command git-ot
installs is a few lines of POSIX sh (capture/hookfile.py, `inbox_command`)
that write the payload, as the harness gave it, to a file here, named by
the time it arrived, and return; Pi's extension writes such files itself.
The next git-ot process that runs in the repository spools them, oldest
first, before anything else: the next hook call that snapshots, the
background process a turn's end starts (`git ot hook drain`, which then
seals), a git hook, or a command before it reads sessions. Until then an
event is as durable as a spooled one: a file in the state directory.

A file is `<common>/opentraces/inbox/<t>.<pid>.<source>.<event>.json`:
`<t>` the arrival time in nanoseconds since the Unix epoch (decimal),
`<pid>` the writer's process id, `<source>` the harness, `<event>` its
event name; the content is the payload's bytes. The hooks' sh lines write
it in place, with no `mv` to start: a payload is a JSON value, whole only
once written, so the drain leaves a file that is not one yet, unless it is
older than STALE_TMP seconds (its writer died: it is taken with what it
holds; capture/hook.py, `_being_written`). Pi's extension writes
`<name>.tmp` first and renames it; a `.tmp` file older than STALE_TMP
seconds was left by a writer that died, and is taken with what it holds too.
A session's start may have `<t>.<pid>.<source>.<event>.head` beside it,
written before it: the commit and branch HEAD was at (`Entry.head`). A
tool call's end may have `<t>.<pid>.<source>.<event>.files`: the files it
wrote, before and after, as blobs its hook wrote (`Entry.files`; Codex's
apply_patch, capture/codex/config.py). See refs/README.md, section 12.

This module knows names and files only; turning a payload into an event is
the capture layer's (capture/hook.py, `drain_inbox`), which a command
reaches through `drain` below once the command layer has set it.
"""

from __future__ import annotations

import os

from . import state
from .git import is_object_id

SUFFIX = ".json"
TMP = ".tmp"
HEAD = ".head"
FILES = ".files"
# A tool call's files before it, kept by its start's hook for its end's
# (`<tool_use_id>.<source>.before`, capture/codex/config.py), deleted when
# that end is spooled: one its end never took (the call never ended) is
# removed past BEFORE_KEPT seconds.
BEFORE = ".before"
STALE_TMP = 60.0
BEFORE_KEPT = 3600.0
_DIGITS = frozenset("0123456789")
_LOWER = frozenset("abcdefghijklmnopqrstuvwxyz")
_LETTERS = _LOWER | frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_SOURCE = _LOWER | _DIGITS | frozenset("-")
_EVENT = _LETTERS | _DIGITS | frozenset("_")
_TOOL_USE_ID = _LETTERS | _DIGITS | frozenset("_-")


def _parse_name(name: str) -> tuple | None:
    """(time, pid, source, event, unfinished) of an entry's name
    `<t>.<pid>.<source>.<event>.json[.tmp]`, or None (read without `re`,
    a tenth of a hook's imports)."""
    unfinished = name.endswith(SUFFIX + TMP)
    stem = name[:-len(SUFFIX + TMP)] if unfinished else name[:-len(SUFFIX)] if name.endswith(SUFFIX) else None
    parts = stem.split(".") if stem is not None else ()
    if len(parts) != 4:
        return None
    t, pid, source, event = parts
    if not (0 < len(t) <= 20 and _DIGITS.issuperset(t) and 0 < len(pid) <= 10 and _DIGITS.issuperset(pid)
            and 0 < len(source) <= 32 and source[0] in _LOWER and _SOURCE.issuperset(source)
            and 0 < len(event) <= 64 and event[0] in _LETTERS and _EVENT.issuperset(event)):
        return None
    return int(t), int(pid), source, event, unfinished

# Set by the command layer (git_ot/cli): spools what waits in the inbox of
# a repository. The domain, which cannot import capture, calls it through
# `drain` before a command seals.
_drainer = None


class Entry:
    __slots__ = ("name", "path", "t_ns", "pid", "source", "event")

    def __init__(self, name: str, path: str, t_ns: int, pid: int, source: str, event: str):
        self.name, self.path, self.t_ns, self.pid = name, path, t_ns, pid
        self.source, self.event = source, event

    @property
    def t(self) -> float:
        return self.t_ns / 1e9

    @property
    def head_path(self) -> str:
        return os.path.join(os.path.dirname(self.path), self.name[:self.name.index(SUFFIX)] + HEAD)

    def before_path(self, tool_use_id) -> str | None:
        """Where the start of the call `tool_use_id` kept its file
        (BEFORE), once its end's `.files` holds that line; None for an id
        that cannot name one."""
        if (not self.name.endswith(SUFFIX) or not isinstance(tool_use_id, str)
                or not 0 < len(tool_use_id) <= 200 or not _TOOL_USE_ID.issuperset(tool_use_id)):
            return None
        return os.path.join(os.path.dirname(self.path), f"{tool_use_id}.{self.source}{BEFORE}")

    @property
    def files_path(self) -> str:
        return os.path.join(os.path.dirname(self.path), self.name[:self.name.index(SUFFIX)] + FILES)

    def files(self) -> list[tuple[str, str | None, str]] | None:
        """The files a tool call's hook saw before and after it (`.files`:
        lines `before|after <blob id or -> <path>`, the path relative to
        the payload's `cwd`), or None without that file or with a line not
        of that shape."""
        try:
            with open(self.files_path, "rb") as fh:
                text = fh.read().decode("utf-8", "surrogateescape")
        except OSError:
            return None
        out = []
        for line in text.split("\n"):
            if not line:
                continue
            parts = line.split(" ", 2)
            if (len(parts) != 3 or parts[0] not in ("before", "after") or not parts[2]
                    or not (parts[1] == "-" or is_object_id(parts[1]))):
                return None
            out.append((parts[0], None if parts[1] == "-" else parts[1], parts[2]))
        return out

    def head(self) -> dict | None:
        """The commit and branch its writer saw HEAD at (`.head`: `git
        rev-parse -q --verify HEAD`, then `git symbolic-ref -q HEAD`, a line
        each, either empty), or None without that file."""
        try:
            with open(self.head_path, "rb") as fh:
                lines = fh.read().decode("utf-8", "replace").split("\n")
        except OSError:
            return None
        commit = lines[0].strip() if lines else ""
        ref = lines[1].strip() if len(lines) > 1 else ""
        if commit and not is_object_id(commit):
            return None
        return {"commit": commit or None,
                "branch": ref[len("refs/heads/"):] if ref.startswith("refs/heads/") else None}

    @property
    def event_id(self) -> str:
        """The spooled event's id: 16 hex digits from the name alone, so an
        entry spooled twice (a drain killed between its append and its
        unlink) is folded once."""
        return f"{(self.t_ns ^ (self.pid << 44)) & (2**64 - 1):016x}"


def directory(state_dir: str) -> str:
    return state.inbox(state_dir)


def entries(state_dir: str, now: float, before_ns: int | None = None) -> list[Entry]:
    """The entries waiting, oldest first (those that arrived before
    `before_ns`, when given). A listing when there are none."""
    folder = directory(state_dir)
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    out = []
    for name in names:
        if name.endswith((HEAD, FILES)):
            _drop_orphan(folder, name, names, now)
            continue
        if name.endswith(BEFORE):
            _drop_stale(os.path.join(folder, name), now, BEFORE_KEPT)
            continue
        if not name.endswith((SUFFIX, SUFFIX + TMP)):
            continue
        parsed = _parse_name(name)
        if parsed is None:
            continue
        t_ns, pid, source, event, unfinished = parsed
        path = os.path.join(folder, name)
        if unfinished:  # a writer's unfinished file: only once its writer is surely gone
            try:
                if now - os.stat(path).st_mtime < STALE_TMP:
                    continue
            except OSError:
                continue
        if before_ns is not None and t_ns >= before_ns:
            continue
        out.append(Entry(name, path, t_ns, pid, source, event))
    out.sort(key=lambda e: (e.t_ns, e.pid, e.name))
    return out


def _drop_orphan(folder: str, name: str, names: list[str], now: float) -> None:
    """Remove a `.head` or `.files` whose entry never came (its writer died
    before it renamed the entry into place, and left no `.tmp` either),
    once older than STALE_TMP. A drain removes them before the entry."""
    stem = name[:name.rindex(".")] + SUFFIX
    if stem in names or stem + TMP in names:
        return
    _drop_stale(os.path.join(folder, name), now, STALE_TMP)


def _drop_stale(path: str, now: float, age: float) -> None:
    try:
        if now - os.stat(path).st_mtime >= age:
            os.unlink(path)
    except OSError:
        pass


def set_drainer(fn) -> None:
    global _drainer
    _drainer = fn


def drain(location) -> None:
    """Spool what waits in the inbox, when the command layer set how."""
    if _drainer is not None and os.path.isdir(directory(location.state_dir)):
        _drainer(location)
