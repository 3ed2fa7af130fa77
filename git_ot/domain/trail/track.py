"""`git ot track`: did the agents' hunks land, and do they survive at a target?

A *hunk* is one hunk of a step's patch in a session's trail
(`patches[].files[].hunks`, named `<step>.<file>.<hunk>` as in the notes);
the lines it *wrote* are its added lines (`new_lines`). Hunks that add no
line (pure deletions, binary files, files over the size limit) write
nothing to follow and are not listed.

Every answer comes from the notes and from git's own line matching:

- *Landed*: a commit *C* that the target contains (`git rev-list TARGET`)
  and whose note names the hunk (a range line with its session and hunk id,
  at lines of *C*'s version of a path). A rewritten copy of *C* (amend,
  rebase) carries a note naming the same hunk, so the copy counts; the
  commits a rewrite left behind are not on the target's history and do not.
  The landed lines are counted once per distinct text: a line brought back
  later (the revert of a revert), or carried by two copies, counts once.
- *Alive*: a line of the target that `git blame TARGET -- path` gives to a
  landing commit *C*, at line *n* of path *p* in *C*, where *C*'s note names
  the hunk at *n* in *p* (git follows whole-file renames). A landed line
  blame does not find in place is looked for with `git blame -M -C`: in its
  own file when the commit that removed it added the same text there
  (moved within the file), and in the other files that commit changed
  where it added the same text (moved to another file). A `}` or a
  `return None` elsewhere in the file is never taken for a survivor.
- *Removed*: for a landed line not alive, the commit that removed it. One
  `git log --first-parent -p -U0` over the paths follows every line landed
  on the target's first-parent history through each commit's diff (git's
  diff, as blame uses it) to the commit whose diff removes it; lines landed
  off that history, or removed by a merge or with their whole file (which
  may be a rename), are left to `git blame --reverse C..TARGET`, whose last
  commit still holding the line is followed by the one that removed it
  (when that one is a merge, the same question is asked of the branch it
  merged, so the branch's own commit is named: a revert merged in is a
  revert).
  That commit *reverts* the landing commit when its message says "This
  reverts commit <sha>" of a commit whose note names the hunk, or when its
  patch is the landing commit's patch inverted (equal `git patch-id
  --stable`).

States, for a hunk with landed lines (checked in this order):

- `reverted`: no line alive, and a commit that removed some of them
  reverts a commit that landed it;
- `lost`: no line alive, otherwise;
- `repaired`: lines alive, given by blame to a landing commit that
  re-introduced lines an earlier landing commit (its ancestor) had taken,
  so they had been removed in between and were brought back;
- `alive_on_path`: every landed line alive, in place, on its path;
- `moved`: at least half alive, some of them in another file (the file was
  renamed, or lines moved out of it) or moved within the file;
- `alive_transformed`: at least half alive, in place;
- `partially_preserved`: fewer than half alive.

A hunk with no landing commit on the target's history:

- `unknown`: the repository is shallow, or objects are missing, and a
  commit that holds the hunk (named by a note or by the trail's anchors)
  is missing or beyond what the history reaches: whether the target
  contains it cannot be told;
- `unlanded`: some commit holds it, but not one the target contains (a
  branch not merged, work reset away, an older `--at`): the commits are the
  evidence; or no commit ever held it and the working tree no longer does;
- `pending`: no commit holds it and the working tree has lines of it not
  committed yet (attributed to it as `git ot blame` attributes uncommitted
  lines, from the snapshots).

Notes are read through one accessor, `_note_lines`, for every commit the
answer depends on: the commits with a note, the commits the trails' anchors
name, and every commit `git blame` gives a line of a followed file to.
"""

from __future__ import annotations

import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pygit2

from ...errors import UnknownRevision
from ...store import notes as notes_store
from ...store import refs, times
from ...store.refs import match_session
from ...store.porcelain import file_diffs, parse_blame
from ...store.repository import Store
from . import copies
from . import lines as L
from .attribution import Uncommitted, seal_running

STATES = ("alive_on_path", "alive_transformed", "moved", "partially_preserved", "reverted",
          "repaired", "lost", "unknown", "pending", "unlanded")
ZERO = "0" * 40
# The empty blob, in SHA-1 and SHA-256 repositories.
EMPTY_BLOBS = {"e69de29bb2d1d6434b8b29ae775ad8c2e48c5391",
               "473a0f4c3be8a93681a267e3b1e9a7dcda1185436fe141f7749120a303721813"}


# -- the one reader of notes ---------------------------------------------------

def _note_lines(store: Store, notes: notes_store.Notes, commit: str,
                recomputer=None) -> list[dict] | None:
    """The note of `commit` as objects; None when it has none and none can be
    recomputed.

    The only place this module reads a note. A commit made without git-ot's
    hooks has its note recomputed (recompute.py), as `git ot blame` does.
    """
    if notes.blob_id(commit) in EMPTY_BLOBS:
        return []  # anchored, no agent work: most notes, and nothing to read
    lines = notes.read_lines(commit)
    if lines is None and recomputer is not None:
        lines = recomputer.note_lines(commit)
    return lines


# -- running git ---------------------------------------------------------------

def _jobs() -> int:
    return max(2, min(8, os.cpu_count() or 2))


class _Git:
    """git processes in the repository, several at a time when asked."""

    def __init__(self, store: Store):
        self.cwd = store.location.worktree or store.location.git_dir

    def run(self, argv: list[str], input: bytes | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(["git", *argv], cwd=self.cwd, input=input, capture_output=True)

    def many(self, argvs: list[list[str]]) -> list[subprocess.CompletedProcess]:
        if len(argvs) <= 1:
            return [self.run(a) for a in argvs]
        with ThreadPoolExecutor(_jobs()) as pool:
            return list(pool.map(self.run, argvs))


# -- survival of landed lines at a target --------------------------------------

class Survival:
    """Which landed lines `git blame` still finds at a target, and what removed the others.

    `landings` are {commit: {path: [(first, last, key)]}}: ranges of lines in
    a commit's version of a path, each with a key (what the caller counts
    them by). `origin(commit)` may add landings as blame meets commits.
    """

    def __init__(self, store: Store, target: str, origin=None):
        self.store = store
        self.repo = store.repo
        self.target = target
        self.git = _Git(store)
        self.origin = origin  # commit -> {path: [(first, last, key)]} or None
        self.landings: dict[str, dict[str, list]] = {}
        # (commit, path, line) -> (target path, target line, moved)
        self.alive: dict[tuple, tuple] = {}
        # (commit, path, line) -> the commit that removed it (or None: not found)
        self.removed: dict[tuple, str | None] = {}
        self._children: dict[str, list[str]] | None = None
        self._order: dict[str, int] = {}
        self._target_tree = self.repo[target].peel(pygit2.Commit).tree
        self._renames: dict[str, dict] = {}
        self._plain: dict[str, list[tuple]] = {}  # path -> (commit, line, text) per line at the target
        self.missing_set: set = set()
        self._changed_cache: dict[str, list[str]] = {}
        self._fp: dict[str, int] | None = None
        self.reverts: dict[tuple, bool] = {}  # (remover, landing commit) -> it reverts it

    def add(self, commit: str, path: str, first: int, last: int, key) -> None:
        self.landings.setdefault(commit, {}).setdefault(path, []).append((first, last, key))

    def _key_at(self, commit: str, path: str, n: int):
        spans = self.landings.get(commit)
        if spans is None and self.origin is not None:
            spans = self.origin(commit) or {}
            for p, ranges in spans.items():
                for first, last, key in ranges:
                    self.add(commit, p, first, last, key)
            spans = self.landings.setdefault(commit, {})
        for first, last, key in (spans or {}).get(path, ()):
            if first <= n <= last:
                return key
        return None

    def _in_target(self, path: str) -> bool:
        try:
            entry = self._target_tree[path]
        except KeyError:
            return False
        return entry.type_str == "blob"

    def target_path(self, commit: str, path: str) -> str | None:
        """Where `path` of `commit` is in the target: itself, or the file it was renamed to."""
        if self._in_target(path):
            return path
        renames = self._renames.get(commit)
        if renames is None:
            renames = {}
            try:
                diff = self.repo.diff(self.repo[commit].peel(pygit2.Commit).tree, self._target_tree)
                diff.find_similar(flags=pygit2.enums.DiffFind.FIND_RENAMES)
                for delta in diff.deltas:
                    if delta.status_char() == "R":
                        renames[delta.old_file.path] = delta.new_file.path
            except (KeyError, ValueError, pygit2.GitError):
                pass
            self._renames[commit] = renames
        return renames.get(path)

    def _blame(self, paths: list[str]) -> None:
        """Blame `paths` at the target (as `git blame`, renames followed); record the landed lines."""
        todo = sorted(p for p in set(paths) if p not in self._plain and self._in_target(p))
        argvs = [["blame", "--porcelain", self.target, "--", p] for p in todo]
        for path, proc in zip(todo, self.git.many(argvs)):
            lines = parse_blame(proc.stdout)[0] if proc.returncode == 0 else []
            self._plain[path] = [(ln["commit"], ln["line"], ln["content"]) for ln in lines]
            self._record(path, lines, moved_only=False)

    def _blame_moves(self, wanted: dict[str, set]) -> None:
        """`git blame -M -C` of the lines of the target that may be moved landed lines.

        `wanted` gives, per target path, (commit, text) pairs: a commit that
        removed landed lines and one of their texts. Plain blame gives the
        moved copy to the commit that moved it, with the same text; only
        those lines (-L) are blamed again with moves and copies followed, so
        git decides, at a fraction of a whole file's cost.
        """
        self._blame(sorted(wanted))
        argvs, paths = [], []
        for path, pairs in sorted(wanted.items()):
            keys = {(c, t.decode("utf-8", "surrogateescape")) for c, t in pairs if t is not None}
            ns = [n for c, n, text in self._plain.get(path, ()) if (c, text) in keys]
            if not ns:
                continue
            argv = ["blame", "--porcelain", "-M", "-C"]
            for first, last in L.ranges(ns):
                argv += ["-L", f"{first},{last}"]
            argvs.append(argv + [self.target, "--", path])
            paths.append(path)
        for path, proc in zip(paths, self.git.many(argvs)):
            if proc.returncode == 0:
                self._record(path, parse_blame(proc.stdout)[0], moved_only=True)

    def _record(self, path: str, lines: list[dict], moved_only: bool) -> None:
        for ln in lines:
            commit = ln["commit"]
            if commit == ZERO:
                continue
            where = (commit, ln["path"], ln["orig_line"])
            if where in self.alive or (moved_only and where not in self.missing_set):
                continue
            if self._key_at(commit, ln["path"], ln["orig_line"]) is None:
                continue
            self.alive[where] = (path, ln["line"], moved_only or ln["path"] != path)

    def run(self, extra_paths=(), removals: bool = True) -> None:
        """Blame at the target; look for what is missing; find what removed the rest."""
        paths = set(extra_paths)
        for commit, by_path in list(self.landings.items()):
            for path in by_path:
                tp = self.target_path(commit, path)
                if tp is not None:
                    paths.add(tp)
        self._blame(sorted(paths))
        missing = self._missing()
        if not missing:
            return
        self.missing_set = set(missing)
        removers, within = self._removers(missing)
        # Where a removed line may live on: in its own file, when the commit
        # that removed it added the same text there (moved within the file),
        # and in the other files that commit changed where it added the same
        # text (moved to another file).
        texts = _Texts(self.repo)
        wanted: dict[str, set] = {}
        for (commit, path, n), remover in removers.items():
            if remover is not None and (commit, path) in within:
                tp = self.target_path(commit, path)
                if tp is not None:
                    wanted.setdefault(tp, set()).add((remover, texts.line(commit, path, n)))
        for path, pairs in self._moved_to(removers, texts).items():
            wanted.setdefault(path, set()).update(pairs)
        self._blame_moves(wanted)
        if removals:
            for where, remover in removers.items():
                if where not in self.alive:
                    self.removed[where] = remover

    def _missing(self) -> list[tuple]:
        out = []
        for commit, by_path in self.landings.items():
            for path, spans in by_path.items():
                for first, last, _ in spans:
                    for n in range(first, last + 1):
                        if (commit, path, n) not in self.alive:
                            out.append((commit, path, n))
        return out

    def _first_parents(self) -> dict[str, int]:
        """The target's first-parent history: commit -> its position, oldest first."""
        if self._fp is None:
            proc = self.git.run(["rev-list", "--first-parent", "--reverse", self.target])
            self._fp = {c: i for i, c in enumerate(proc.stdout.decode("ascii", "replace").split())}
        return self._fp

    def _removers(self, missing: list[tuple]) -> tuple[dict[tuple, str | None], set]:
        """For each missing line, the commit of the target's history that removed it;
        and the (commit, path) whose lines a remover may have moved within the file.

        One `git log --first-parent -p` over the paths follows every line that
        a commit of the first-parent history landed, through each commit's
        diff, to the commit whose diff removes it (git's own reverse blame,
        without a process per commit). Lines landed off that history, and
        lines it finds removed by a merge or with their whole file (which may
        be a rename), are left to `git blame --reverse`.
        """
        fp = self._first_parents()
        groups: dict[tuple, list[int]] = {}
        for commit, path, n in missing:
            groups.setdefault((commit, path), []).append(n)
        walked = {k: ns for k, ns in groups.items() if k[0] in fp}
        out: dict[tuple, str | None] = {}
        within: set = set()
        unsure: dict[tuple, list[int]] = {k: ns for k, ns in groups.items() if k[0] not in fp}
        if walked:
            got, re_added, merges_or_gone = self._walk(walked, fp)
            for (commit, path), ns in walked.items():
                for n in ns:
                    where = (commit, path, n)
                    remover = got.get(where)
                    if remover is not None and remover in merges_or_gone.get(path, ()):
                        unsure.setdefault((commit, path), []).append(n)
                        continue
                    out[where] = remover
                    if remover is not None and where in re_added:
                        within.add((commit, path))
        if unsure:
            out.update(self._reverse_blame(unsure))
            within.update(unsure)
        return out, within

    def _walk(self, groups: dict[tuple, list[int]], fp: dict[str, int]):
        starts = {c for c, _ in groups}
        first = min(starts, key=fp.__getitem__)
        paths = sorted({p for _, p in groups})
        argv = ["log", "--first-parent", "--reverse", "--diff-merges=first-parent", "-p", "-U0",
                "--no-renames", "--no-color", "--no-ext-diff", "--no-prefix", "--format=%x00%H %P",
                f"{first}..{self.target}", "--"] + paths
        proc = self.git.run(argv)
        # (commit, path) -> {n: current position}; lines of `first` from the start.
        tracked: dict[str, dict[tuple, int]] = {}
        pending: dict[str, list[tuple]] = {}
        for (commit, path), ns in groups.items():
            items = [((commit, path, n), n) for n in ns]
            if commit == first:
                tracked.setdefault(path, {}).update(items)
            else:
                pending.setdefault(commit, []).extend((path, item) for item in items)
        removed: dict[tuple, str] = {}
        re_added: set = set()
        odd: dict[str, set] = {}  # path -> commits that removed lines as a merge or with the file
        for record in proc.stdout.split(b"\0")[1:]:
            head, _, body = record.partition(b"\n")
            words = head.decode("ascii", "replace").split()
            if not words:
                continue
            commit, merge = words[0], len(words) > 2
            for path, hunks, gone in file_diffs(body):
                lines = tracked.get(path)
                if lines:
                    added_texts = {t for h in hunks for t in h[4]}
                    _apply(lines, hunks, commit, removed, re_added, added_texts)
                    if merge or gone:
                        odd.setdefault(path, set()).add(commit)
            for path, item in pending.pop(commit, ()):
                tracked.setdefault(path, {}).__setitem__(*item)
        return removed, re_added, odd

    def _reverse_blame(self, groups: dict[tuple, list[int]], tip: str | None = None,
                       depth: int = 0) -> dict[tuple, str | None]:
        """`git blame --reverse START..TIP`: the commit after the last one that had each line.

        When that commit is a merge, the lines were removed on a branch it
        merged: the branch's own commit that removed them is looked for the
        same way, up to that branch's tip (a revert merged in is found as
        the revert it is).
        """
        tip = tip or self.target
        argvs, keys = [], []
        for (commit, path), ns in sorted(groups.items()):
            argv = ["blame", "--porcelain", "--reverse", f"{commit}..{tip}"]
            for first, last in L.ranges(ns):
                argv += ["-L", f"{first},{last}"]
            argvs.append(argv + ["--", path])
            keys.append((commit, path))
        last_seen: dict[tuple, str] = {}
        for (commit, path), proc in zip(keys, self.git.many(argvs)):
            if proc.returncode != 0:
                continue
            lines, _ = parse_blame(proc.stdout)
            for ln in lines:
                # --reverse: the commit is the last one that still had the line,
                # and "line" its number in the starting commit.
                last_seen[(commit, path, ln["line"])] = ln["commit"]
        out: dict[tuple, str | None] = {}
        merged: dict[str, dict[tuple, list[int]]] = {}  # branch tip -> lines to follow there
        for (commit, path), ns in groups.items():
            for n in ns:
                last = last_seen.get((commit, path, n))
                child = None if last is None or last == tip else self._child(last, tip)
                out[(commit, path, n)] = child
                parents = self._parents(child) if child is not None and depth < 4 else []
                for other in parents[1:]:
                    if other != last and self._descends(other, commit):
                        merged.setdefault(other, {}).setdefault((commit, path), []).append(n)
        for branch, sub in sorted(merged.items()):
            for where, remover in self._reverse_blame(sub, branch, depth + 1).items():
                if remover is not None:
                    out[where] = remover
        return out

    def _parents(self, commit: str) -> list[str]:
        try:
            return [str(p) for p in self.repo[commit].peel(pygit2.Commit).parent_ids]
        except (KeyError, ValueError, pygit2.GitError):
            return []

    def _descends(self, commit: str, ancestor: str) -> bool:
        try:
            return commit == ancestor or self.repo.descendant_of(commit, ancestor)
        except (KeyError, ValueError, pygit2.GitError):
            return False

    def _child(self, commit: str, tip: str | None = None) -> str | None:
        """The commit after `commit` on the target's history (the oldest, if several),
        or on `tip`'s history."""
        if self._children is None:
            self._children = {}
            proc = self.git.run(["rev-list", "--parents", self.target])
            for i, row in enumerate(proc.stdout.decode("ascii", "replace").splitlines()):
                words = row.split()
                if not words:
                    continue
                self._order[words[0]] = i
                for parent in words[1:]:
                    self._children.setdefault(parent, []).append(words[0])
        kids = self._children.get(commit, [])
        if tip is not None and tip != self.target:
            kids = [k for k in kids if self._descends(tip, k)]
        if not kids:
            return None
        return max(kids, key=lambda k: self._order.get(k, -1))

    def _moved_to(self, removers: dict[tuple, str | None], texts: "_Texts") -> dict[str, set]:
        """Other files where a commit that removed landed lines added the same text.

        One `git diff-tree -p --stdin` for every remover that changed more
        than one file: {path: {(remover, text)}}.
        """
        by_remover: dict[str, set] = {}
        for (commit, path, n), remover in removers.items():
            if remover is not None:
                by_remover.setdefault(remover, set()).add(texts.line(commit, path, n))
        several = [r for r in sorted(by_remover) if len(self._changed(r)) > 1]
        if not several:
            return {}
        proc = self.git.run(["diff-tree", "-p", "-U0", "--no-renames", "--no-color", "--no-ext-diff",
                             "--no-prefix", "--format=%x00%H", "--stdin"],
                            input="".join(r + "\n" for r in several).encode())
        out: dict[str, set] = {}
        for record in proc.stdout.split(b"\0")[1:]:
            head, _, body = record.partition(b"\n")
            remover = head.decode("ascii", "replace").strip()
            gone = by_remover.get(remover, set())
            for path, hunks, _ in file_diffs(body):
                moved = {t for h in hunks for t in h[4] if t in gone}
                if moved and self._in_target(path):
                    out.setdefault(path, set()).update((remover, t) for t in moved)
        return out

    def _changed(self, commit: str) -> list[str]:
        """The paths `commit` changed, against its first parent."""
        cached = self._changed_cache.get(commit)
        if cached is not None:
            return cached
        self._changed_cache[commit] = out = self._changed_now(commit)
        return out

    def _changed_now(self, commit: str) -> list[str]:
        try:
            c = self.repo[commit].peel(pygit2.Commit)
            if not c.parents:
                return []
            diff = self.repo.diff(c.parents[0].tree, c.tree)
        except (KeyError, ValueError, pygit2.GitError):
            return []
        return sorted({d.new_file.path for d in diff.deltas if d.status_char() != "D"})


def _apply(lines: dict, hunks: list, commit: str, removed: dict, re_added: set, added_texts: set) -> None:
    """Move the tracked `lines` ({where: position}) through one file's diff."""
    for where, pos in list(lines.items()):
        shift = 0
        for a, b, c, d, _, minus in hunks:
            if b and a <= pos < a + b:
                del lines[where]
                removed[where] = commit
                if minus[pos - a] in added_texts:
                    re_added.add(where)  # the same text added back: a move within the file?
                break
            if (b and a + b - 1 < pos) or (not b and a < pos):
                shift += d - b
            else:
                break
        else:
            lines[where] = pos + shift
            continue
        if where in lines:
            lines[where] = pos + shift


def alive_counts(store: Store, commit: str, agent_ranges: dict) -> dict:
    """Agent lines of `commit` (its note's ranges, {path: [(first, last, note line)]})
    that HEAD still holds, in place or moved: {(path, hunk, session): count}."""
    head = str(store.repo.head.peel(pygit2.Commit).id)
    survival = Survival(store, head)
    for path, spans in agent_ranges.items():
        for first, last, line in spans:
            survival.add(commit, path, first, last, (path, line.get("hunk"), line.get("session")))
    survival.run(removals=False)
    out: dict = {}
    for (c, path, n) in survival.alive:
        key = survival._key_at(c, path, n)
        if c == commit and key is not None:
            out[key] = out.get(key, 0) + 1
    return out


# -- track ---------------------------------------------------------------------

class _Hunk:
    __slots__ = ("session", "hunk", "step", "path", "written", "landings", "elsewhere",
                 "missing", "state", "alive", "pending", "worktree", "removed", "restored_by",
                 "landed", "moved", "n_alive")

    def __init__(self, session: str, hunk: str, step: int, path: str, written: int):
        self.session, self.hunk, self.step, self.path, self.written = session, hunk, step, path, written
        self.landings: dict[tuple, list] = {}  # (commit, path) -> [first, last] ranges, on the target
        self.elsewhere: dict[tuple, list] = {}  # the same, on commits the target does not contain
        self.missing: set[str] = set()
        self.state = None
        self.alive: list = []
        self.pending = 0
        self.worktree: list = []
        self.removed: list = []
        self.restored_by = None
        self.landed = 0
        self.moved = False
        self.n_alive = 0


def _select(store: Store, specs, since: float | None) -> list[tuple[str, object, dict]]:
    ids = store.session_ids()
    chosen = [match_session(spec, ids) for spec in specs] if specs else ids
    out = []
    for sid in dict.fromkeys(chosen):
        tree = store.session(sid)
        if tree is None:
            continue
        manifest = tree.record("manifest")
        if since is not None:
            start = times.parse_iso(manifest.get("start"))
            if start is None or start < since:
                continue
        out.append((sid, tree, manifest))
    out.sort(key=lambda s: (s[2].get("start") or "", s[0]), reverse=True)
    return out


def _resolve(repo: pygit2.Repository, rev: str | None) -> str | None:
    if rev is None:
        if repo.head_is_unborn:
            return None
        rev = "HEAD"
    try:
        return str(repo.revparse_single(rev).peel(pygit2.Commit).id)
    except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
        raise UnknownRevision(f"unknown revision '{rev}'",
                              hint="name a commit, as for 'git log' (default: HEAD)") from None


def track(store: Store, sessions=(), since: str | None = None, at: str | None = None,
          now: float | None = None) -> dict:
    """The survival state of every hunk of the chosen sessions at `at` (default HEAD)."""
    now = time.time() if now is None else now
    since_t = times.parse_since(since, now) if since is not None else None
    repo = store.repo
    target = _resolve(repo, at)
    seal_running(store)  # a running session's last steps count too
    chosen = _select(store, sessions, since_t)
    notes = notes_store.Notes(store)
    from .recompute import Recomputer

    recomputer = Recomputer(store)

    hunks: dict[tuple, _Hunk] = {}
    per_session: dict[str, list[_Hunk]] = {}
    anchor_keys: dict[str, set] = {}  # commit -> the (session, hunk) its anchors name
    for sid, tree, _ in chosen:
        trail = tree.record("trail")
        rows = per_session.setdefault(sid, [])
        for patch in trail.get("patches", []):
            step = patch.get("step")
            for fi, f in enumerate(patch.get("files", []), 1):
                for hi, h in enumerate(f.get("hunks") or [], 1):
                    if len(h) == 4 and h[3] > 0:
                        hk = _Hunk(sid, f"{step}.{fi}.{hi}", step, f.get("path"), h[3])
                        hunks[(sid, hk.hunk)] = hk
                        rows.append(hk)
        for a in trail.get("anchors", []):
            if isinstance(a.get("commit"), str):
                anchor_keys.setdefault(a["commit"], set()).add((sid, f"{a.get('hunk')}"))

    # Every commit a note or an anchor names, read through the one accessor.
    try:
        with_lines, empty_notes = _annotated(repo)
    except (KeyError, ValueError, pygit2.GitError):
        with_lines, empty_notes = set(), set()
    cache: dict[str, dict | None] = {}

    def ranges_of(commit: str) -> dict | None:
        """{path: [(first, last, (session, hunk))]} of the hunks tracked, from the commit's note."""
        if commit not in cache:
            if commit in empty_notes:
                cache[commit] = {}  # an empty note: no agent line
                return cache[commit]
            try:
                lines = _note_lines(store, notes, commit, recomputer)
            except Exception:
                lines = None
            got: dict[str, list] = {}
            for line in lines or []:
                key = (line.get("session"), line.get("hunk"))
                span = line.get("lines")
                if key in hunks and isinstance(line.get("path"), str) and _span(span):
                    got.setdefault(line["path"], []).append((span[0], span[1], key))
            cache[commit] = got
        return cache[commit]

    candidates = with_lines | set(anchor_keys)
    shallow = bool(repo.is_shallow)
    reachable: set[str] = set()
    history_ok = True
    if target is not None:
        proc = _Git(store).run(["rev-list", target])
        history_ok = proc.returncode == 0
        reachable = set(proc.stdout.decode("ascii", "replace").split())
        # Commits made where git-ot's hooks did not run have no note: those
        # since the first write window git-ot knows of are recomputed.
        earliest = recomputer.anchorer.index.earliest()
        if earliest is not None and history_ok:
            proc = _Git(store).run(["rev-list", f"--since={int(earliest) - 1}", target])
            candidates |= {c for c in proc.stdout.decode("ascii", "replace").split()
                           if c not in with_lines and c not in empty_notes}

    survival = Survival(store, target, ranges_of) if target is not None else None
    for commit in sorted(candidates):
        present = commit in reachable or _has_commit(repo, commit)
        spans = ranges_of(commit) if present else {}
        if not present:
            # Named by a note or an anchor, and not here (shallow clone, lost objects).
            for key in anchor_keys.get(commit, set()) | _keys(store, notes, commit):
                if key in hunks:
                    hunks[key].missing.add(commit)
            continue
        for path, ranges in spans.items():
            for first, last, key in ranges:
                hk = hunks[key]
                if commit in reachable:
                    hk.landings.setdefault((commit, path), []).append([first, last])
                    survival.add(commit, path, first, last, key)
                else:
                    hk.elsewhere.setdefault((commit, path), []).append([first, last])

    if survival is not None:
        extra = {hk.path for hk in hunks.values() if hk.path}
        survival.run(extra_paths=extra)
        # Blame may have met landing commits no note listed (a recomputed note).
        for commit, by_path in survival.landings.items():
            for path, ranges in by_path.items():
                for first, last, key in ranges:
                    got = hunks[key].landings.setdefault((commit, path), [])
                    if [first, last] not in got:
                        got.append([first, last])
        _reverts(store, survival, hunks, ranges_of)

    _pending(store, [hk for hk in hunks.values() if not hk.landings and not hk.elsewhere])
    texts = _Texts(repo)
    for hk in hunks.values():
        _decide(hk, survival, texts, repo, shallow or not history_ok)

    out_sessions = []
    for sid, tree, manifest in chosen:
        rows = sorted(per_session.get(sid, []), key=lambda h: tuple(int(x) for x in h.hunk.split(".")))
        out_sessions.append({
            "session": sid,
            "harness": (manifest.get("harness") or {}).get("name"),
            "models": manifest.get("models", []),
            "start": manifest.get("start"),
            "lines": _sum_lines(rows),
            "states": _count_states(rows),
            "hunks": [_hunk_json(h) for h in rows],
        })
    every = [h for rows in per_session.values() for h in rows]
    return {
        "target": {"rev": at or "HEAD", "commit": target},
        "since": times.iso(since_t) if since_t is not None else None,
        "sessions": out_sessions,
        "total": {"sessions": len(out_sessions), "hunks": len(every), "lines": _sum_lines(every),
                  "states": _count_states(every)},
    }


def _annotated(repo: pygit2.Repository) -> tuple[set[str], set[str]]:
    """The commits whose note has lines, and those whose note is empty, from
    one walk of the notes tree.

    Most notes are empty (anchored, no agent work): knowing them up front
    spares a look-up per commit of the history.
    """
    ref = repo.references.get(refs.NOTES_REF)
    out: set[str] = set()
    empty: set[str] = set()
    if ref is None:
        return out, empty

    def walk(tree, prefix: str) -> None:
        for e in tree:
            if e.filemode == pygit2.GIT_FILEMODE_TREE:
                walk(repo[e.id], prefix + e.name)
            else:
                (empty if str(e.id) in EMPTY_BLOBS else out).add(prefix + e.name)

    walk(ref.peel(pygit2.Commit).tree, "")
    return out, empty


def _keys(store: Store, notes, commit: str) -> set:
    """The (session, hunk) pairs a commit's note names."""
    try:
        lines = _note_lines(store, notes, commit)
    except Exception:
        lines = None
    return {(line.get("session"), line.get("hunk")) for line in lines or [] if "session" in line}


def _has_commit(repo: pygit2.Repository, commit: str) -> bool:
    try:
        obj = repo.get(commit)
    except (ValueError, pygit2.GitError):
        return False
    return obj is not None and obj.type_str == "commit"


def _span(span) -> bool:
    return (isinstance(span, list) and len(span) == 2 and all(isinstance(x, int) for x in span)
            and 1 <= span[0] <= span[1])


class _Texts:
    """The text of lines of a commit's version of a path (cached per blob)."""

    def __init__(self, repo):
        self.repo = repo
        self._cache: dict = {}

    def line(self, commit: str, path: str, n: int) -> bytes | None:
        text = self.lines(commit, path)
        return text[n - 1] if 0 < n <= len(text) else None

    def lines(self, commit: str, path: str) -> list[bytes]:
        key = (commit, path)
        if key not in self._cache:
            try:
                blob = self.repo[commit].peel(pygit2.Commit).tree[path]
                self._cache[key] = L.split(self.repo[blob.id].data)
            except (KeyError, ValueError, pygit2.GitError):
                self._cache[key] = []
        return self._cache[key]


def _reverts(store: Store, survival: Survival, hunks: dict, ranges_of) -> None:
    """Which removing commits revert a commit that landed the hunk they removed from."""
    pairs: set[tuple[str, str]] = set()
    for (commit, _, _), remover in survival.removed.items():
        if remover is not None:
            pairs.add((remover, commit))
    survival.reverts = copies.reverts(store.repo, pairs,
                                      lambda named, landing: _same_hunks(ranges_of(named), ranges_of(landing)))


def _same_hunks(a: dict | None, b: dict | None) -> bool:
    keys_a = {k for spans in (a or {}).values() for _, _, k in spans}
    keys_b = {k for spans in (b or {}).values() for _, _, k in spans}
    return bool(keys_a & keys_b)


def _pending(store: Store, hunks: list[_Hunk]) -> None:
    """Lines of never-committed hunks that the working tree holds, not committed yet."""
    root = store.location.worktree
    if not hunks or root is None:
        return
    repo = store.repo
    head_tree = None if repo.head_is_unborn else repo.head.peel(pygit2.Commit).tree
    uncommitted = Uncommitted(store)
    by_path: dict[str, list[_Hunk]] = {}
    for hk in hunks:
        if hk.path:
            by_path.setdefault(hk.path, []).append(hk)
    for path, group in sorted(by_path.items()):
        data = uncommitted.content(path)
        if not data:
            continue
        committed = b""
        if head_tree is not None:
            try:
                committed = repo[head_tree[path].id].data
            except (KeyError, AttributeError):
                committed = b""
        wanted = L.added(committed, data, L.BLAME)
        if not wanted:
            continue
        got = uncommitted.attribute(path, data, wanted)
        mine = {(hk.session, hk.hunk): hk for hk in group}
        found: dict[tuple, list[int]] = {}
        for i, status in got.items():
            if status[0] == "agent" and (status[1], status[3]) in mine:
                found.setdefault((status[1], status[3]), []).append(i + 1)
        for key, ns in found.items():
            hk = mine[key]
            hk.pending = len(ns)
            hk.worktree = [{"path": path, "lines": [list(r) for r in L.ranges(ns)]}]
    uncommitted.save()


def _decide(hk: _Hunk, survival: Survival | None, texts: _Texts, repo, shaky_history: bool) -> None:
    if not hk.landings:
        if hk.elsewhere or hk.missing:
            # In a shallow or damaged history, a commit not found on the
            # target's history may still be in it, beyond what is here.
            hk.state = "unknown" if shaky_history else "unlanded"
        else:
            hk.state = "pending" if hk.pending else "unlanded"
        return
    # Landed lines: once per distinct text (a multiset over the landing commits).
    counts: dict[bytes, int] = {}
    for (commit, path), spans in hk.landings.items():
        local: dict[bytes, int] = {}
        text = texts.lines(commit, path)
        for first, last in spans:
            for n in range(first, last + 1):
                t = text[n - 1] if n - 1 < len(text) else b"\0%d" % n
                local[t] = local.get(t, 0) + 1
        for t, c in local.items():
            counts[t] = max(counts.get(t, 0), c)
    hk.landed = min(hk.written, sum(counts.values()))
    alive: list[tuple] = []
    removed: dict[str, int] = {}
    origins: set[str] = set()
    for (commit, path), spans in hk.landings.items():
        for first, last in spans:
            for n in range(first, last + 1):
                where = (commit, path, n)
                got = survival.alive.get(where)
                if got is not None:
                    alive.append(got)
                    origins.add(commit)
                elif where in survival.removed:
                    remover = survival.removed[where]
                    removed[remover] = removed.get(remover, 0) + 1
    n_alive = hk.n_alive = min(len({(p, ln) for p, ln, _ in alive}), hk.landed)
    hk.moved = any(m for _, _, m in alive)
    by_path: dict[tuple, list[int]] = {}
    for path, line, moved in alive:
        by_path.setdefault((path, moved), []).append(line)
    hk.alive = [{"path": p, "lines": [list(r) for r in L.ranges(ns)], "moved": m}
                for (p, m), ns in sorted(by_path.items())]
    reverts = survival.reverts
    landing_commits = {c for c, _ in hk.landings}
    hk.removed = []
    for remover, count in sorted(removed.items(), key=lambda kv: (kv[0] is None, kv[0] or "")):
        reverted = sorted(c for c in landing_commits if reverts.get((remover, c)))
        hk.removed.append({"commit": remover, "lines": count,
                           "reverts": reverted[0] if reverted else None})
    restored = _restorer(hk, origins, texts, repo)
    if n_alive == 0:
        hk.state = "reverted" if any(r["reverts"] for r in hk.removed) else "lost"
    elif restored is not None:
        hk.state, hk.restored_by = "repaired", restored
    elif n_alive >= hk.landed and not hk.moved:
        hk.state = "alive_on_path"
    elif 2 * n_alive >= hk.landed:
        hk.state = "moved" if hk.moved else "alive_transformed"
    else:
        hk.state = "partially_preserved"


def _restorer(hk: _Hunk, origins: set[str], texts: _Texts, repo) -> str | None:
    """A landing commit that alive lines come from and that re-introduced lines an
    ancestor landing commit had taken (so they were removed in between)."""
    commits = {c for c, _ in hk.landings}
    for r in sorted(origins):
        mine = _hunk_texts(hk, r, texts)
        for c in sorted(commits - {r}):
            if mine & _hunk_texts(hk, c, texts):
                try:
                    if repo.descendant_of(r, c):
                        return r
                except (KeyError, ValueError, pygit2.GitError):
                    continue
    return None


def _hunk_texts(hk: _Hunk, commit: str, texts: _Texts) -> set[bytes]:
    out = set()
    for (c, path), spans in hk.landings.items():
        if c != commit:
            continue
        text = texts.lines(c, path)
        for first, last in spans:
            out.update(text[first - 1:last])
    return out


def _hunk_json(hk: _Hunk) -> dict:
    return {
        "hunk": hk.hunk,
        "step": hk.step,
        "path": hk.path,
        "state": hk.state,
        "lines": {"written": hk.written, "landed": hk.landed, "alive": hk.n_alive,
                  "pending": hk.pending},
        "commits": [{"commit": c, "path": p, "lines": sorted(s)} for (c, p), s in sorted(hk.landings.items())],
        "alive": hk.alive,
        "removed": hk.removed,
        "restored_by": hk.restored_by,
        "elsewhere": [{"commit": c, "path": p, "lines": sorted(s)} for (c, p), s in sorted(hk.elsewhere.items())],
        "missing": sorted(hk.missing),
        "worktree": hk.worktree,
    }


def _sum_lines(rows: list[_Hunk]) -> dict:
    return {"written": sum(h.written for h in rows), "landed": sum(h.landed for h in rows),
            "alive": sum(h.n_alive for h in rows), "pending": sum(h.pending for h in rows)}


def _count_states(rows: list[_Hunk]) -> dict:
    return {s: sum(1 for h in rows if h.state == s) for s in STATES}
