"""Every agent write window of every session, indexed by path.

A write window is a tool step that may write, from its before snapshot to
its after snapshot (or, while it still runs, to now). Anchoring needs the
windows that touched the paths a commit changed; reading the trail of every
session for that at each commit would cost time in the number of sessions,
so the windows are kept in a local, derived index,
`<common-dir>/opentraces/windows.json`: per session, the tip it was read
at and its windows (times, snapshot trees, and per path the file's position
in the step's patch and the added side of its hunks). A session whose ref
moved is read again; deleting the file only costs one read of every
session.

An imported step has partial snapshots (trees holding only the file of its
patch, refs/README.md section 10): its window is indexed under that path
alone, which it declares, so it gives states of that path and claims no
other. Its place is the root of the checkout it wrote in, as its input's
path names the file there, and its timeline that place on the branch the
transcript says it was on (Claude Code's `gitBranch`): the states of one
timeline are one sequence, and a file changed in another checkout, or in
this one on another branch, in between is no change to it. (A commit made
elsewhere from a branch's work, a rebase or a squash, is compared with that
branch's states, not with whatever the checkout held at the commit's time.)
An imported step of this worktree is of its timeline, with live capture;
where it names its branch (so does a step filled from the transcript), it
is also of that branch's (branch_timeline), which attribution walks when
a path's steps are on two branches or more.

A live tool step that may write but lacks a snapshot (the hook failed to
take it, or the tool's start was never seen) is a blind window: what it
wrote cannot be told, so a line that changed while it was open is
`unknown`, never the human's. It gives the states it has, the before-state
by proxy when its own is missing (the session's newest snapshot before it,
else the tree of the commit the session started from), and claims every
path but those its input rules out.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import pygit2

from ...store import state
from ...store.files import replace_file
from ...store.repository import Store
from ..fold import IMPORTED_ID_PREFIX
from ..paths import untoken

INDEX_VERSION = 7
# Tools that write exactly the file their input names (Claude Code's own
# file tools): such a window is no candidate for a change to any other path.
DECLARED_PATH_TOOLS = {"Edit": "file_path", "Write": "file_path", "MultiEdit": "file_path",
                       "NotebookEdit": "notebook_path"}
# A tool still running after this long is taken for dead (its harness
# died before reporting its end); it no longer claims what changes.
RUNNING_LIMIT = 3600.0


@dataclass(frozen=True)
class Window:
    """One tool step's write window, as anchoring sees it."""

    session: str
    step: int
    t0: float
    t1: float | None  # None while the tool runs
    before: str
    after: str | None
    files: dict  # path -> [position in the patch's files (from 1), [[new_start, new_lines], ...], old_path]
    declared: str | None  # the only path the tool writes, when its input names it
    redacted: frozenset = frozenset()  # (side, path): the security gate stored that file redacted
    partial: bool = False  # its snapshots hold only the files of its patch (an imported step)
    place: str | None = None  # the checkout an imported step wrote in (None: this worktree)
    blind: bool = False  # a snapshot failed: it may have written anything, no one can tell what
    branch: str | None = None  # the branch that checkout was on, when the transcript says

    @property
    def key(self) -> str:
        return f"{self.session}:{self.step}"

    @property
    def timeline(self) -> tuple | None:
        """The states this window's are one sequence with: another
        checkout's on one branch (None: this worktree's)."""
        return None if self.place is None else (self.place, self.branch or "")

    @property
    def branch_timeline(self) -> tuple | None:
        """For a step of this worktree with partial snapshots (imported, or
        filled from the transcript as the session went) that names its
        branch, the states of this worktree on that branch, ("", branch): a
        second sequence it is one of (None: it has none)."""
        return ("", self.branch) if self.place is None and self.partial and self.branch else None

    def touches(self, path: str) -> bool:
        return path in self.files or any(f[2] == path for f in self.files.values())


def _rel(path, cwd: str | None, worktree: str | None) -> str | None:
    if not isinstance(path, str) or not path:
        return None
    path, cwd = untoken(path), untoken(cwd)
    if cwd and not os.path.isabs(cwd) and (path == cwd or path.startswith(cwd.rstrip("/") + "/")):
        # Both still hold a token (a user name): the session ran in this worktree.
        path, cwd = path[len(cwd.rstrip("/")):].lstrip("/") or ".", worktree
    if not os.path.isabs(path):
        base = cwd or worktree
        if not base:
            return None
        path = os.path.join(base, path)
    if not worktree:
        return None
    rel = os.path.relpath(os.path.normpath(path), worktree)
    if rel.startswith(".." + os.sep) or rel == ".." or os.path.isabs(rel):
        return None
    return rel.replace(os.sep, "/")


def read_session(store: Store, session_id: str, tip: str) -> dict:
    """The index entry of one session: its windows, harness, model and cwd."""
    tree = store.session(session_id, tip)
    trace, trail, manifest = tree.record("trace"), tree.record("trail"), tree.record("manifest")
    info = trace.get("info", {})
    cwd = info.get("cwd")
    worktree = store.location.worktree
    snaps = trail.get("snapshots", {})
    redacted: dict[str, list] = {}
    for mark in trail.get("redacted", []):
        if isinstance(mark, dict) and isinstance(mark.get("path"), str):
            redacted.setdefault(mark.get("snapshot"), []).append(mark["path"])
    patches = {p["step"]: p for p in trail.get("patches", [])}
    models = manifest.get("models") or []
    entry = {
        "tip": tip,
        "harness": (manifest.get("harness") or {}).get("name") or "unknown",
        "model": models[0] if len(models) == 1 else None,
        "cwd": cwd,
        "windows": [],
        "running": [],
        "blind": [],
    }
    ends = [e.get("t") for e in trace.get("lifecycle", [])
            if e.get("kind") in ("stop", "session_end") and e.get("t") is not None]
    starts = [e.get("t") for e in trace.get("lifecycle", []) if e.get("kind") == "session_start"]
    starts += [s.get("t") for s in trace.get("steps", [])[:1]]
    for step in trace.get("steps", []):
        if step.get("kind") != "tool" or not step.get("writes"):
            continue
        before = snaps.get(step.get("snapshot_before") or "")
        after = snaps.get(step.get("snapshot_after") or "")
        if _is_blind(step, before, after, ends):
            entry["blind"].append(_blind(store, step, before, after, snaps, manifest, ends, cwd, worktree,
                                         starts))
            continue
        if before is None:
            continue
        partial = bool(before.get("partial") or (after or {}).get("partial"))
        declared = place = branch = None
        field = DECLARED_PATH_TOOLS.get(step.get("name"))
        if partial:
            # Imported: the states hold the patch's file alone, at the path
            # the import mapped into this repository (the transcript's may
            # name another checkout's).
            patch = patches.get(step["n"])
            if after is None or patch is None or len(patch.get("files", ())) != 1:
                continue
            declared = patch["files"][0]["path"]
            place = _place(step.get("input"), field, declared)
            if place is not None and _same_worktree(untoken(place), worktree):
                place = None  # this worktree: one timeline with live capture
            branch = after.get("branch") if isinstance(after.get("branch"), str) else None
        elif field and isinstance(step.get("input"), dict):
            declared = _rel(step["input"].get(field), cwd, worktree)
        if after is None:
            # Still running, unless the turn or the session ended after it began.
            if step.get("status") == "running" and not any(t >= (before.get("t") or 0) for t in ends):
                entry["running"].append([step["n"], before.get("t"), before["tree"], declared,
                                         [["before", p] for p in redacted.get(step.get("snapshot_before"), [])]])
            continue
        patch = patches.get(step["n"])
        if patch is None or not patch.get("files"):
            continue
        files = {}
        for pos, f in enumerate(patch["files"], 1):
            if "path_raw" in f:
                continue  # not UTF-8: not followed by this version
            files[f["path"]] = [pos, [[h[2], h[3]] for h in f.get("hunks", [])], f.get("old_path")]
        if files:
            marks = [["before", p] for p in redacted.get(step.get("snapshot_before"), [])]
            marks += [["after", p] for p in redacted.get(step.get("snapshot_after"), [])]
            entry["windows"].append([step["n"], before.get("t"), after.get("t"),
                                     before["tree"], after["tree"], files, declared, marks, partial, place,
                                     branch])
    return entry


def _is_blind(step: dict, before: dict | None, after: dict | None, ends: list) -> bool:
    """Whether a write step is a blind window (see the module's doc)."""
    if step.get("snapshot_failed"):
        return True
    if (before or {}).get("partial") or (after or {}).get("partial"):
        return False
    # A call read from the transcript as the session went (`filled`) was
    # captured live: without states it is a window no one's lines come from.
    live = step.get("filled") or any(not str(e).startswith(IMPORTED_ID_PREFIX) for e in step.get("events", ()))
    if not live or (before is not None and after is not None):
        return False
    if before is None:
        return True  # its start was never seen, or sealed before failures were recorded
    # No after-state: still running, unless its end was lost (a killed hook)
    # and the turn or the session ended after it began.
    t0 = step.get("t") or before.get("t") or 0.0
    return step.get("status") != "running" or any(t >= t0 for t in ends)


def _blind(store: Store, step: dict, before, after, snaps: dict, manifest: dict, ends: list,
           cwd, worktree, starts: list) -> list:
    """[step, t0, t1 (None: still open), before tree, after tree, declared]."""
    t0 = step.get("t") or (before or {}).get("t") or 0.0
    t1 = step.get("t_end") or (after or {}).get("t")
    if t1 is None and step.get("status") != "running":
        t1 = t0
    elif t1 is None:
        t1 = min((t for t in ends if t >= t0), default=None)  # the turn ended: so did the tool
    before_tree = before["tree"] if before else None
    if before_tree is None:
        # Its start is unknown: the window opens at the newest state known
        # before it, a snapshot of an earlier step, or the session's start.
        older = [s for s in snaps.values() if not s.get("partial") and s.get("step", 0) < step["n"]]
        if older:
            proxy = max(older, key=lambda s: (s.get("t") or 0.0, s.get("step", 0)))
            before_tree = proxy["tree"]
            t0 = min(t0, proxy.get("t") or t0)
        else:
            t0 = min([t0] + [t for t in starts if t is not None])
            base = (manifest.get("base") or {}).get("commit")
            try:
                before_tree = str(store.repo[base].peel(pygit2.Tree).id) if base else None
            except Exception:  # the base is not in this clone
                before_tree = None
    declared = None
    field = DECLARED_PATH_TOOLS.get(step.get("name"))
    if field and isinstance(step.get("input"), dict):
        declared = _rel(step["input"].get(field), cwd, worktree)
    return [step["n"], t0, t1, before_tree, after["tree"] if after else None, declared]


class WindowIndex:
    """The windows of every session of a repository, kept up to date."""

    def __init__(self, store: Store):
        self.store = store
        self.path = state.windows_index(store.location.state_dir)
        self.sessions: dict[str, dict] = {}
        self._by_path: dict[str, list[Window]] | None = None
        self._by_timeline: dict | None = None  # timeline -> the paths its windows touched
        self._running: list[Window] = []
        self._blind: list[Window] = []
        self._earliest: tuple | None = None
        self.dirty = False

    def load(self) -> "WindowIndex":
        """Read the index and bring it up to date with the session refs."""
        try:
            with open(self.path, encoding="utf-8") as fh:
                data = json.load(fh)
            if data.get("v") == INDEX_VERSION:
                self.sessions = data.get("sessions", {})
        except (OSError, ValueError):
            self.sessions = {}
        tips = self.store.session_tips()
        changed = False
        for sid in list(self.sessions):
            if sid not in tips:
                del self.sessions[sid]
                changed = True
        for sid, tip in tips.items():
            entry = self.sessions.get(sid)
            if entry is None or entry.get("tip") != tip:
                try:
                    self.sessions[sid] = read_session(self.store, sid, tip)
                except Exception:  # a session that cannot be read claims nothing
                    self.sessions.pop(sid, None)
                    continue
                changed = True
        self.dirty |= changed
        return self

    def retip(self, session_id: str, old: str | None, new: str) -> None:
        """A session's ref moved from `old` to `new` without new windows (an anchor)."""
        entry = self.sessions.get(session_id)
        if entry is not None and entry.get("tip") == old:
            entry["tip"] = new
            self.dirty = True

    def save(self) -> None:
        """Write the index back if it changed (atomically: a reader sees the old or the new)."""
        if self.dirty:
            self._save()
            self.dirty = False

    def _save(self) -> None:
        # One dumps (Python's C encoder), one write: json.dump would write
        # the file in thousands of small pieces.
        text = json.dumps({"v": INDEX_VERSION, "sessions": self.sessions},
                          ensure_ascii=False, separators=(",", ":"))
        try:
            replace_file(self.path, text.encode("utf-8"))
        except OSError:
            pass  # derived: rebuilt from the sessions next time

    def _build(self) -> None:
        worktree = self.store.location.worktree
        by_path: dict[str, list[Window]] = {}
        running: list[Window] = []
        blind: list[Window] = []
        here: dict = {}  # cwd -> whether it lies in this worktree (sessions share a few)
        for sid, entry in self.sessions.items():
            cwd = entry.get("cwd")
            if cwd not in here:
                here[cwd] = _same_worktree(cwd, worktree)
            for step, t0, t1, before, after, files, declared, marks, partial, place, branch \
                    in entry["windows"]:
                if not here[cwd] and not partial:
                    # A session in another linked worktree wrote other files;
                    # an imported step's paths were mapped into this one.
                    continue
                w = Window(sid, step, t0 or 0.0, t1 or 0.0, before, after, files, declared,
                           frozenset((side, p) for side, p in marks), partial, place, branch=branch)
                touched = set(files) | {f[2] for f in files.values() if f[2]}
                for path in touched:
                    by_path.setdefault(path, []).append(w)
            for step, t0, before, declared, marks in (entry.get("running", []) if here[cwd] else ()):
                running.append(Window(sid, step, t0 or 0.0, None, before, None, {}, declared,
                                      frozenset((side, p) for side, p in marks)))
            for step, t0, t1, before, after, declared in (entry.get("blind", []) if here[cwd] else ()):
                blind.append(Window(sid, step, t0 or 0.0, t1, before, after, {}, declared, blind=True))
        self._by_path = by_path
        self._by_timeline = None
        self._running = running
        self._blind = blind
        self._earliest = None

    def windows(self, path: str) -> list[Window]:
        """The closed windows whose patch touched `path` (as path, or renamed from it)."""
        if self._by_path is None:
            self._build()
        return self._by_path.get(path, [])

    def running(self, now: float) -> list[Window]:
        """The windows of tools still running now."""
        if self._by_path is None:
            self._build()
        return [w for w in self._running if w.t0 >= now - RUNNING_LIMIT]

    def blind(self, now: float) -> list[Window]:
        """The blind windows (a snapshot failed), those still open within RUNNING_LIMIT."""
        if self._by_path is None:
            self._build()
        return [w for w in self._blind if w.t1 is not None or w.t0 >= now - RUNNING_LIMIT]

    def session_info(self, session_id: str) -> dict:
        entry = self.sessions.get(session_id) or {}
        return {"harness": entry.get("harness") or "unknown", "model": entry.get("model")}

    def earliest(self) -> float | None:
        """When the first known write window of this worktree opened (None: there is none).

        A commit made before it cannot be told apart by the windows: nothing
        says whether an agent git-ot never saw wrote its lines.
        """
        if self._by_path is None:
            self._build()
        if self._earliest is None:
            starts = [w.t0 for ws in self._by_path.values() for w in ws] + [w.t0 for w in self._running]
            starts += [w.t0 for w in self._blind]
            self._earliest = (min(starts) if starts else None,)
        return self._earliest[0]

    def first_window(self, session_ids) -> float | None:
        """When the first write window of these sessions opened (None: they have none)."""
        starts = [w[1] or 0.0 for sid in session_ids for kind in ("windows", "blind")
                  for w in self.sessions.get(sid, {}).get(kind, [])]
        return min(starts) if starts else None

    def paths(self) -> list[str]:
        """Every path a closed window touched."""
        if self._by_path is None:
            self._build()
        return list(self._by_path)

    def paths_of(self, timeline: tuple | None) -> list[str]:
        """Every path a closed window of `timeline` touched (see Window.timeline)."""
        if self._by_path is None:
            self._build()
        if self._by_timeline is None:
            by_timeline: dict = {}
            for path, ws in self._by_path.items():
                for p in {w.timeline for w in ws} | {w.branch_timeline for w in ws if w.branch_timeline}:
                    by_timeline.setdefault(p, []).append(path)
            self._by_timeline = by_timeline
        return self._by_timeline.get(timeline, [])

    def any_windows(self) -> bool:
        if self._by_path is None:
            self._build()
        return bool(self._by_path or self._running or self._blind)


def _place(tool_input, field: str | None, path: str) -> str | None:
    """The root of the checkout an imported step wrote `path` in: its input's
    file path less `path` (None when the input does not end so)."""
    full = tool_input.get(field) if isinstance(tool_input, dict) and field else None
    if not isinstance(full, str):
        return None
    full = full.replace("\\", "/")
    if full.endswith("/" + path):
        return full[:-len(path) - 1]
    return None


def _same_worktree(cwd: str | None, worktree: str | None) -> bool:
    if not cwd or not worktree:
        return True
    try:
        cwd, worktree = os.path.realpath(cwd), os.path.realpath(worktree)
    except OSError:
        return True
    return cwd == worktree or cwd.startswith(worktree.rstrip(os.sep) + os.sep)


