"""Notes for commits that have none, recomputed from the sessions and the history.

Notes are an index, not the truth (DESIGN, principle 4): a commit made where
git-ot's hooks did not run (the hooks not installed, a squash or rebase merge
done on a server, a rebase on another machine, history fetched from
elsewhere) has no note, and its note can be recomputed. The recomputation is
the hooks' own anchoring (anchor.py: `Anchorer.anchor_new`), with two
differences only: the walk through the working tree's history starts from
the commit's content at the instant the commit was made (not from the
working tree now), and the commit's sources are recognised from what the
commit itself says (a `cherry-pick -x` trailer, a revert's or a squash's
message) and from patch ids, since no CHERRY_PICK_HEAD or reflog is left to
read. So a recomputed note says what the hooks would have written.

A commit made before the first write window git-ot knows of is not
recomputed: nothing tells whether an agent git-ot never saw wrote its lines,
and it stays unknown ("not-anchored").

Who calls it: `git ot blame` when a line's commit has no note,
`git ot track`, `git ot anchor [REV-RANGE]`, which writes the notes, and
`git ot import`, which anchors the sessions it imported (their Edit and
Write steps have partial snapshots, windows.py, so the walk has states).
"""

from __future__ import annotations

from collections.abc import Callable

import pygit2

from ...errors import UnknownRevision
from ...store import notes as notes_store
from ...store.git import process as git_process
from ...store.repository import Store
from .. import parallel
from .anchor import Anchorer
from .attribution import HUMAN


class Recomputer:
    """Recomputed notes of commits, with caches for many commits of one history.

    `note_lines(commit)` is the API for readers (blame, track): the note the
    hooks would have written for `commit`, as the list of decoded note lines
    `Notes.read_lines` gives (an empty list: anchored, nothing an agent
    wrote), or None when it cannot be recomputed (made before the first known
    write window, or nothing is known of its lines). It never writes; it
    does not look at an existing note (callers read that first).
    """

    def __init__(self, store: Store, anchorer: Anchorer | None = None):
        self.store = store
        self.anchorer = anchorer or Anchorer(store)
        self._lines: dict[str, list[dict] | None] = {}

    def item(self, commit_id: str) -> dict | None:
        """The anchored item (Anchorer.anchor's result) for `commit_id`, or None."""
        return self.anchorer.recomputed(commit_id)

    def note_lines(self, commit_id: str) -> list[dict] | None:
        if commit_id not in self._lines:
            item = self.item(commit_id)
            if item is None:
                self._lines[commit_id] = None
            else:
                data, _ = self.anchorer.note_and_anchors(item)
                self._lines[commit_id] = notes_store.decode(data)
        return self._lines[commit_id]


def recompute(store: Store, commit_id: str) -> list[dict] | None:
    """The note the hooks would have written for one commit (see Recomputer.note_lines)."""
    return Recomputer(store).note_lines(commit_id)


def _commits(store: Store, rev_range: str | None, anchorer: Anchorer, sessions=None) -> list[str]:
    """The commits to look at, oldest first."""
    repo = store.repo
    if rev_range is None:
        # HEAD's commits made since the first known write window (of `sessions`).
        if repo.head_is_unborn:
            return []
        earliest = (anchorer.index.earliest() if sessions is None
                    else anchorer.index.first_window(sessions))
        if earliest is None:
            return []
        out = []
        for commit in repo.walk(repo.head.target, pygit2.enums.SortMode.TIME):
            if commit.commit_time + 1 < earliest:
                break
            out.append(str(commit.id))
        return list(reversed(out))
    if rev_range.startswith("-") or not rev_range.strip():
        raise UnknownRevision(f"bad revision range '{rev_range}'",
                              hint="name commits as 'git log' does: REV, A..B or A...B")
    root = store.location.worktree or store.location.git_dir
    proc = git_process(["rev-list", "--reverse", rev_range, "--"], cwd=root)
    if proc.returncode != 0:
        raise UnknownRevision(f"bad revision range '{rev_range}'",
                              hint="name commits as 'git log' does: REV, A..B or A...B")
    return proc.stdout.decode("ascii", "replace").split()


def _names(item: dict, sessions) -> bool:
    """Whether an anchored item's lines name one of `sessions`."""
    for statuses in item["statuses"].values():
        for status in statuses.values():
            if status[0] == "agent" and status[1] in sessions:
                return True
            if status[0] == "unattributed" and any(c.rsplit(":", 1)[0] in sessions for c in status[2]):
                return True
    return False


def _deepened(anchorer: Anchorer, sha: str, sessions) -> dict | None:
    """For a commit that has a note: the lines its note leaves the human's
    that the recomputation gives to a step of one of `sessions` (just
    imported: the hooks that wrote the note did not know them), as an item
    that adds note lines; None when there are none. Nothing else changes."""
    item = anchorer.recomputed(sha)
    if item is None or not _names(item, sessions):
        return None
    _, before = anchorer.statuses_of(sha)
    up: dict[str, dict] = {}
    for path, statuses in item["statuses"].items():
        for n, status in statuses.items():
            if status[0] == "agent" and status[1] in sessions and before.get(path, {}).get(n) == HUMAN:
                up.setdefault(path, {})[n] = status
    return {**item, "statuses": up, "extend": True} if up else None


# Commits below which a range is examined by one process.
PARALLEL_MIN = 64


def _examine(anchorer: Anchorer, sha: str, sessions) -> tuple[str, object]:
    """One commit: ("noted", an item adding lines or None), ("unknown", sha),
    or ("recomputed", its item, or None when it is not to be written)."""
    if anchorer.notes.blob_id(sha) is not None and not anchorer.notes.damaged(sha):
        return "noted", (_deepened(anchorer, sha, sessions) if sessions is not None else None)
    item = anchorer.recomputed(sha)
    if item is None:
        return "unknown", sha
    return "recomputed", item if sessions is None or _names(item, sessions) else None


def _examined(anchorer: Anchorer, commits: list[str], sessions, jobs: int, progress):
    """`_examine` of each commit, in order; by `jobs` processes, each with
    an Anchorer of its own, given runs of consecutive commits (the states
    its walks read serve the next commits, which touch the same files)."""
    if jobs == 1 or len(commits) < PARALLEL_MIN:
        for done, sha in enumerate(commits):
            if progress is not None:
                progress(done, len(commits))
            yield _examine(anchorer, sha, sessions)
        return
    anchorer.index.save()  # what every process reads first, brought up to date once
    size = max(1, len(commits) // (4 * jobs))
    runs = [commits[i:i + size] for i in range(0, len(commits), size)]
    location, now = anchorer.store.location, anchorer.now
    mine: list[Anchorer] = []  # each process's own, made by its first run, kept for its next

    def work(k: int) -> list:
        if not mine:
            mine.append(Anchorer(Store(location), now=now))
        return [_examine(mine[0], sha, sessions) for sha in runs[k]]

    results: dict[int, list] = {}
    done = 0
    for k, got in parallel.run(work, len(runs), jobs):
        results[k] = got
        done += len(got)
        if progress is not None:
            progress(done, len(commits))
    for k in range(len(runs)):
        yield from results[k]


def anchor_range(store: Store, rev_range: str | None = None, dry_run: bool = False,
                 sessions=None, progress: Callable[[int, int], None] | None = None, jobs: int = 1) -> dict:
    """Write the recomputed notes of the commits of a range that have none.

    The default range is HEAD's commits made since the first known write
    window. An existing note is never replaced, unless it is damaged
    (not valid JSON Lines: notes.DamagedNote), which is written again. With `dry_run`, nothing is
    written. With `sessions` (what `git ot import` just imported), the
    default range starts at the first write window of those sessions, and
    only the commits whose recomputed note names one of them (an agent range
    or a candidate) are anchored; the others are left as they were; a commit
    whose note exists (its hooks did not know the imported sessions) gets
    lines added for what its note left the human's and the recomputation
    gives to an imported step, and keeps every line it had. Returns
    {"range", "examined", "noted", "anchored": [{"commit", "agent",
    "unattributed", "human", "sessions", "source"}], "unknown": [...],
    "written", "dry_run"}. `progress(done, total)` is told how many
    commits of the range are examined. The commits are examined by `jobs`
    processes at once (parallel.py), each a run of consecutive commits;
    the notes are written here, in one commit of the notes ref.
    """
    anchorer = Anchorer(store)
    commits = _commits(store, rev_range, anchorer, sessions)
    noted = 0
    items = []
    unknown = []
    for outcome, item in _examined(anchorer, commits, sessions, jobs, progress):
        if outcome == "noted":
            noted += 1
        if outcome == "unknown":
            unknown.append(item)
        elif item is not None:
            items.append(item)
    if progress is not None:
        progress(len(commits), len(commits))
    rows = []
    for item in items:
        counts = {"agent": 0, "unattributed": 0, "human": 0}
        sessions = set()
        for statuses in item["statuses"].values():
            for status in statuses.values():
                kind = status[0]
                counts[kind] += 1
                if kind == "agent":
                    sessions.add(status[1])
        source = None
        if item["reverts"]:
            source = {"kind": "revert", "commits": item["reverts"]}
        elif item["olds"]:
            source = {"kind": "copy", "commits": item["olds"]}
        rows.append({"commit": item["commit"], **counts, "sessions": sorted(sessions), "source": source})
    written = False
    if items and not dry_run:
        anchorer.write(items, f"anchor (recomputed): {len(items)} commit{'s' if len(items) != 1 else ''}")
        written = True
    return {"range": rev_range, "examined": len(commits), "noted": noted, "anchored": rows,
            "unknown": unknown, "written": written, "dry_run": dry_run}
