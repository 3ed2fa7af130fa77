"""Anchoring: the note that says which agent step wrote each line a commit introduced.

The engine the git hooks (githooks.py) and the recomputation of missing
notes (recompute.py) share: `Anchorer` computes the statuses of the lines
a commit introduced and writes its note and the anchors of the sessions'
trails.

A commit's "introduced" lines are those `git blame` gives to it: the lines
that the diff from every parent adds (with git's indent heuristic, as blame
uses). A line unchanged from a line of a commit it was made from (the old
commits of a rewrite, the source of a copy, the parent of a reverted
commit) keeps that line's status; the others are matched against the
states the snapshots recorded (attribution.py). The note holds one line
per range of them an agent step wrote, and one per range that could not be
tied to exactly one step; every other introduced line is the human's. A
commit anchored with no agent work still gets a note, an empty one: it
records that git-ot looked (refs/README.md, section 11).

A commit made anew has its sources recognised first (copies.py: what its
message names, then patch ids, only for the sequencer's commits and for
commits whose walk gave the human lines of files agent windows wrote, so an
ordinary commit never pays for it). A commit with no note is anchored the
same way after the fact (`Anchorer.recomputed`, used by recompute.py): the
walk starts from the commit's own content at the instant it was made, and
its sources are those its message and the patch ids name.
"""

from __future__ import annotations

import base64
import os
import time

import pygit2

from ...errors import ConcurrentUpdate, LockBusy, NotesPending
from ...store import notes as notes_store
from ...store.git import process as git_process
from ...store.porcelain import parse_blame
from ...store.repository import Store
from ...store.spool import Spool
from . import lines as L
from . import trivial
from .attribution import HUMAN, Attribution, Reads, agent, unattributed
from .copies import PatchIds, named_sources
from .session_anchors import append_anchors
from .windows import WindowIndex

TEXT_MODES = (pygit2.GIT_FILEMODE_BLOB, pygit2.GIT_FILEMODE_BLOB_EXECUTABLE)
# How deep the sources of sources are recomputed.
RECOMPUTE_DEPTH = 3


class Change:
    """One file a commit changed: its content and the lines it introduced."""

    __slots__ = ("path", "raw", "data", "introduced")

    def __init__(self, path: str, raw: bytes, data: bytes, introduced: set[int]):
        self.path, self.raw, self.data, self.introduced = path, raw, data, introduced

    def note_path(self) -> dict:
        out = {"path": self.path}
        if _not_utf8(self.raw):
            out["path_raw"] = base64.b64encode(self.raw).decode("ascii")
        return out


def _git_would_pair(old: bytes, new: bytes) -> bool:
    """Would git's rename detection (at its default 50%) pair these contents?

    git scores the bytes of the new file found unchanged in the old one
    against the larger of the two; libgit2's signature differs on small
    files, and `git blame` follows git's.
    """
    if not old or not new:
        return old == new
    kept = L.split(new)
    same = sum(len(kept[i]) + 1 for i, j in enumerate(L.align(old, new, L.STEP)) if j is not None and i < len(kept))
    return same * 2 >= max(len(old), len(new))


def _not_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
        return False
    except UnicodeDecodeError:
        return True


def _text_path(raw: bytes) -> str:
    return raw.decode("utf-8", "backslashreplace")


class Anchorer:
    """Computes and writes the notes of commits, for one run of a hook."""

    def __init__(self, store: Store, now: float | None = None, trail_wait: float | None = None):
        self.store = store
        # How long writing a session's anchors waits for its seal lock
        # (None: as long as it takes); past it they are kept for later
        # (session_anchors.append_anchors).
        self.trail_wait = trail_wait
        self.repo = store.repo
        self.now = time.time() if now is None else now
        self.notes = notes_store.Notes(store)
        self._index: WindowIndex | None = None
        self._attribution: Attribution | None = None
        self._at: dict[tuple, Attribution] = {}
        self._reads = Reads()  # what the walks read, shared by every instant's Attribution
        self._changes: dict[str, dict[str, Change]] = {}
        self._blobs: dict = {}
        self._patch_ids: PatchIds | None = None
        self._recomputed: dict[str, dict | None] = {}
        self._made_here: set[str] | None = None
        self._recomputing: list[str] = []
        # Events still in the spool after the hook's seal (a seal the security
        # gate blocked, or one that failed): windows git-ot cannot see yet.
        self.unsealed = bool(Spool(store.location.state_dir).pending_sessions())

    @property
    def index(self) -> WindowIndex:
        if self._index is None:
            self._index = WindowIndex(self.store).load()
        return self._index

    @property
    def attribution(self) -> Attribution:
        """The working attribution now (a hook: the walk starts from the working tree)."""
        if self._attribution is None:
            self._attribution = Attribution(self.store, self.index, self.now, reads=self._reads)
        return self._attribution

    def attribution_at(self, at: tuple[float, float | None]) -> Attribution:
        """The attribution as it stood at a past instant (a recomputation)."""
        got = self._at.get(at)
        if got is None:
            got = self._at[at] = Attribution(self.store, self.index, at[0], at[1], reads=self._reads)
        return got

    # -- what a commit introduced -----------------------------------------

    def changes(self, commit_id: str) -> dict[str, Change]:
        """The text files a commit changed, with the lines it introduced."""
        cached = self._changes.get(commit_id)
        if cached is not None:
            return cached
        commit = self.repo.get(pygit2.Oid(hex=commit_id))
        parents = commit.parents
        per_parent: list[dict[bytes, bytes | None]] = []
        if not parents:
            per_parent.append(self._delta_sources(commit.tree.diff_to_tree(swap=True)))
        for parent in parents:
            diff = self.repo.diff(parent.tree, commit.tree)
            diff.find_similar(flags=pygit2.enums.DiffFind.FIND_RENAMES)
            per_parent.append(self._delta_sources(diff))
        out: dict[str, Change] = {}
        # A line is new only if it is new against every parent (a merge).
        paths = set(per_parent[0])
        for sources in per_parent[1:]:
            paths &= set(sources)
        for raw in sorted(paths):
            data = self._blob(per_parent[0][raw][0])
            if L.is_binary(data):
                continue
            introduced = None
            for sources in per_parent:
                old = sources[raw][1]
                added = L.added(old, data, L.BLAME)
                introduced = added if introduced is None else introduced & added
            if introduced:
                out[_text_path(raw)] = Change(_text_path(raw), raw, data, introduced)
        self._changes[commit_id] = out
        return out

    def _delta_sources(self, diff) -> dict[bytes, tuple]:
        """new path -> (new blob id, the old content it was diffed against)."""
        out = {}
        for delta in diff.deltas:
            if delta.status_char() == "D" or delta.new_file.mode not in TEXT_MODES:
                continue
            old = self._blob(delta.old_file.id) if delta.old_file.mode in TEXT_MODES else b""
            if delta.status_char() in "RC" and not _git_would_pair(old, self._blob(delta.new_file.id)):
                old = b""  # libgit2 paired them, git (and so git blame) would not
            out[delta.new_file.raw_path] = (delta.new_file.id, old)
        return out

    def _blob(self, oid) -> bytes:
        data = self._blobs.get(oid)
        if data is None:
            data = self._blobs[oid] = self.store.blob_data(oid) or b""
        return data

    # -- what an old commit's note says about its lines ---------------------

    def statuses_of(self, commit_id: str) -> tuple[bool, dict[str, dict[int, tuple]]]:
        """(anchored, {path: {introduced line: status}}) read back from a commit's note."""
        note = self.notes.read_lines(commit_id)
        if isinstance(note, notes_store.DamagedNote):
            note = None  # nothing of it is trusted: what the hooks would write, else unknown
        if note is None:
            item = self.recomputed(commit_id)
            if item is not None:  # what the hooks would have written
                return True, item["statuses"]
        changes = self.changes(commit_id)
        out: dict[str, dict[int, tuple]] = {}
        default = HUMAN if note is not None else unattributed("unknown")
        for path, change in changes.items():
            out[path] = {i: default for i in change.introduced}
        seen: dict[str, dict[int, tuple]] = {}
        for line in note or []:
            path, span = line.get("path"), line.get("lines")
            if path not in out or not _valid_span(span):
                continue
            if "session" in line:
                status = agent(line["session"], line.get("step"), line.get("hunk"),
                               line.get("harness") or "unknown", line.get("model"))
            elif "unattributed" in line:
                status = unattributed(line["unattributed"], line.get("candidates") or ())
            else:
                continue
            claimed = seen.setdefault(path, {})
            for n in range(span[0] - 1, span[1]):
                if n not in out[path]:
                    continue
                if n in claimed and claimed[n][:3] != status[:3]:
                    # Merged notes of two clones that disagree: no single step.
                    status_n = unattributed("ambiguous", _keys(claimed[n]) + _keys(status))
                else:
                    status_n = status
                claimed[n] = out[path][n] = status_n
        return note is not None, out

    # -- anchoring one commit ----------------------------------------------

    def anchor(self, commit_id: str, olds: list[str] = (), via: str = "commit",
               reverts: list[str] = (), at: tuple[float, float | None] | None = None) -> dict:
        """The statuses of every line `commit_id` introduced, per path.

        With `olds` (a rewrite, or the source of a cherry-pick), a line that is
        unchanged from a line an old commit introduced keeps that line's
        status (a later old wins over an earlier one, as its text is the later
        one), following renames; with `reverts` (the commits a revert undid),
        a line the revert brought back has the status it had in the reverted
        commit's parent. The others are attributed from the working tree's
        history: as it is now (a hook), or, with `at` (an instant, and from
        when on it is uncertain), as it stood then, the walk starting from the
        commit's own content (a recomputation).
        """
        changes = self.changes(commit_id)
        mapped: dict[str, dict[int, tuple]] = {}
        any_anchored = not olds and not reverts
        for reverted in reverts:
            anchored, got = self._brought_back(reverted, changes)
            any_anchored |= anchored
            for path, statuses in got.items():
                mapped.setdefault(path, {}).update(statuses)
        for old in olds:
            if old not in self.repo:
                continue
            anchored, old_statuses = self.statuses_of(old)
            any_anchored |= anchored
            old_changes = self.changes(old)
            renames = None
            for path, change in changes.items():
                source = path
                if source not in old_changes:
                    if renames is None:
                        renames = self._renames(old, commit_id)
                    source = renames.get(path)
                    if source not in old_changes:
                        continue
                amap = L.align(old_changes[source].data, change.data, L.BLAME)
                got = mapped.setdefault(path, {})
                for i in change.introduced:
                    j = amap[i]
                    if j is not None and j in old_statuses[source]:
                        got[i] = old_statuses[source][j]
        result: dict[str, dict[int, tuple]] = {}
        for path, change in changes.items():
            statuses = dict(mapped.get(path, {}))
            rest = change.introduced - set(statuses)
            if rest:
                if _not_utf8(change.raw):
                    statuses.update({i: unattributed("unknown") for i in rest})
                else:
                    if at is None:
                        got = self.attribution.attribute(path, change.data, rest, gone=self._gone_now())
                    else:
                        got = self.attribution_at(at).attribute(path, change.data, rest, now=change.data,
                                                                gone=self._gone_in(commit_id))
                    if self.unsealed or (at is not None and not self.made_here(commit_id)):
                        # An unsealed session's windows may hold these lines;
                        # a commit made elsewhere (fetched: a squash merge on a
                        # server, another clone's work) may hold an agent's
                        # that git-ot never saw: not seen is not the human's.
                        got = {i: (unattributed("unknown") if st == HUMAN else st) for i, st in got.items()}
                    statuses.update(got)
            # A brace or a `return nil` a window aligned with is no evidence.
            result[path] = trivial.settle(L.split(change.data), statuses, HUMAN, unattributed("unknown"))
        # Rewriting commits git-ot never anchored writes no note, unless the
        # working tree's history shows agent work among the changed lines.
        evidence = any(s[0] == "agent" or (s[0] == "unattributed" and s[1] != "unknown")
                       for st in result.values() for s in st.values())
        # A revert that brought no line back took nothing from a commit
        # git-ot never anchored: every line it introduced is the walk's.
        nothing_borrowed = bool(reverts) and not olds and not any(mapped.values())
        worth = any_anchored or evidence or nothing_borrowed
        return {"commit": commit_id, "via": via, "olds": list(olds), "reverts": list(reverts),
                "statuses": result, "write": worth}

    def made_here(self, commit_id: str) -> bool:
        """Did this repository make the commit? Its reflogs say so: an entry
        of a commit, merge, rebase, cherry-pick, revert, am or pull that made
        it (a fast-forward, a fetch, a clone or a reset only moved to it)."""
        if self._made_here is None:
            self._made_here = made_here(self.store)
        return commit_id in self._made_here

    def _gone_now(self):
        root = self.store.location.worktree
        return lambda p: root is not None and not os.path.lexists(os.path.join(root, p))

    def _gone_in(self, commit_id: str):
        tree = self.repo[commit_id].tree

        def gone(p: str) -> bool:
            try:
                tree[p]
                return False
            except KeyError:
                return True
        return gone

    def _renames(self, old: str, new: str) -> dict[str, str]:
        """{path in `new`: its path in `old`} for the files renamed between the two."""
        diff = self.repo.diff(self.repo[old].tree, self.repo[new].tree)
        diff.find_similar(flags=pygit2.enums.DiffFind.FIND_RENAMES)
        return {_text_path(d.new_file.raw_path): _text_path(d.old_file.raw_path)
                for d in diff.deltas if d.status_char() == "R"}

    def _brought_back(self, reverted: str, changes: dict[str, Change]) -> tuple[bool, dict]:
        """(anchored, {path: {line: status}}) of the lines a revert of `reverted` brought back.

        Such a line is unchanged from a line of the reverted commit's parent;
        it has the status that line had there: `git blame` names the commit
        that introduced it, whose note (or recomputation) says who wrote it.
        """
        try:
            commit = self.repo[reverted]
        except (KeyError, ValueError):
            return False, {}
        if not isinstance(commit, pygit2.Commit) or len(commit.parents) != 1:
            return False, {}
        parent = commit.parents[0]
        out: dict[str, dict[int, tuple]] = {}
        anchored = False
        for path, change in changes.items():
            try:
                entry = parent.tree[path]
            except KeyError:
                continue
            if entry.filemode not in TEXT_MODES:
                continue
            amap = L.align(self._blob(entry.id), change.data, L.BLAME)
            back = {amap[i]: i for i in change.introduced if i < len(amap) and amap[i] is not None}
            if not back:
                continue
            for line, (origin, orig_path, orig_line) in self._blame(str(parent.id), path, back).items():
                known, statuses = self.statuses_of(origin)
                anchored |= known
                status = statuses.get(orig_path, {}).get(orig_line - 1)
                if status is None:
                    status = HUMAN if known else unattributed("unknown")
                out.setdefault(path, {})[back[line]] = status
        return anchored, out

    def _blame(self, rev: str, path: str, lines) -> dict[int, tuple[str, str, int]]:
        """{0-based line: (commit, its path there, its 1-based line there)} from `git blame`."""
        argv = ["blame", "--porcelain"]
        for first, last in L.ranges(n + 1 for n in lines):
            argv += ["-L", f"{first},{last}"]
        root = self.store.location.worktree or self.store.location.git_dir
        # The runner drops GIT_INDEX_FILE, which git sets for a commit's hooks.
        proc = git_process(argv + [rev, "--", path], cwd=root)
        if proc.returncode != 0:
            return {}
        found, _ = parse_blame(proc.stdout)
        return {ln["line"] - 1: (ln["commit"], ln["path"], ln["orig_line"]) for ln in found}

    # -- a new commit: where its lines came from -----------------------------

    def sources(self, commit: pygit2.Commit) -> tuple[list[str], list[str]]:
        """(olds, reverts) the commit's message names (copies.py), of this repository."""
        olds, reverts = named_sources(commit.message or "")
        own = str(commit.id)
        return ([c for c in olds if c != own and c in self.repo],
                [c for c in reverts if c != own and c in self.repo])

    def _suspicious(self, item: dict) -> bool:
        """Some line the walk gave the human sits in a file agent windows wrote:
        it may be agent work git brought back (a pick without -x, a revert
        whose message was rewritten) rather than typing."""
        return any(s == HUMAN and self.index.windows(path)
                   for path, st in item["statuses"].items() for s in st.values())

    def _by_patch_id(self, commit: pygit2.Commit) -> tuple[list[str], list[str]]:
        """(olds, reverts) found by patch id among the annotated commits."""
        if self._patch_ids is None:
            self._patch_ids = PatchIds(self.store, self.notes)
        return self._patch_ids.sources(commit)

    def anchor_new(self, commit_id: str, at: tuple[float, float | None] | None = None,
                   pick_head: str | None = None, dropped: list[str] = (),
                   sequencer: bool = False) -> dict:
        """Anchor a commit made anew (not by a rewrite git reports): its sources
        first (a cherry-pick's, a revert's, a squash's), then the walk.

        `pick_head` is git's CHERRY_PICK_HEAD; `dropped`, the commits a reset
        just took out of the branch that this commit replaces; `sequencer`,
        that git's cherry-pick or revert made the commit. The patch-id search
        runs only when no source is named and either the sequencer made the
        commit or the walk gave the human lines of files agent windows wrote.
        """
        commit = self.repo[commit_id]
        via = "merge" if len(commit.parents) > 1 else "commit"
        olds, reverts = self.sources(commit)
        if pick_head and pick_head in self.repo:
            olds, reverts = [pick_head], []
        if not olds and not reverts and dropped:
            olds = list(dropped)
        item = self.anchor(commit_id, olds, via, reverts, at)
        if not olds and not reverts and len(commit.parents) == 1 and (sequencer or self._suspicious(item)):
            olds, reverts = self._by_patch_id(commit)
            if olds or reverts:
                item = self.anchor(commit_id, olds, via, reverts, at)
        # The sessions' trails keep the commits that took the work when it was
        # taken: a copy is found by its note, as a rewritten commit is.
        item["trail"] = not olds and not reverts
        return item

    def recomputed(self, commit_id: str) -> dict | None:
        """What the hooks would have anchored for a commit that has no note, or
        None: made before the first known write window (nothing to tell by),
        or nothing known of its lines (a copy of commits git-ot never anchored).
        """
        if commit_id in self._recomputed:
            return self._recomputed[commit_id]
        if commit_id in self._recomputing or len(self._recomputing) >= RECOMPUTE_DEPTH:
            return None
        self._recomputing.append(commit_id)
        try:
            result = None
            commit = self.repo.get(pygit2.Oid(hex=commit_id)) if len(commit_id) == 40 else None
            earliest = self.index.earliest() if isinstance(commit, pygit2.Commit) else None
            if earliest is not None:
                at = commit_instant(self.store, commit)
                if at[0] >= earliest:
                    item = self.anchor_new(commit_id, at=at)
                    result = item if item["write"] else None
        finally:
            self._recomputing.pop()
        self._recomputed[commit_id] = result
        return result

    def note_and_anchors(self, anchored: dict) -> tuple[bytes, dict[str, list[dict]]]:
        """The note's bytes and, per session, the anchors for its trail."""
        commit = anchored["commit"]
        changes = self.changes(commit)
        out_lines: list[dict] = []
        anchors: dict[str, list[dict]] = {}
        for path, statuses in sorted(anchored["statuses"].items()):
            where = changes[path].note_path()
            run_start = prev = None
            run_status = None
            for n in sorted(statuses) + [None]:
                status = statuses.get(n) if n is not None else None
                if n is not None and status == run_status and prev == n - 1:
                    prev = n
                    continue
                if run_status is not None and run_status != HUMAN:
                    span = [run_start + 1, prev + 1]
                    if run_status[0] == "agent":
                        _, sid, step, hunk, harness, model = run_status
                        out_lines.append({"v": notes_store.NOTE_VERSION, "session": sid, "step": step,
                                          "hunk": hunk, **where, "lines": span,
                                          "harness": harness, "model": model})
                        rec = {"commit": commit, **where, "lines": span, "step": step, "hunk": hunk,
                               "via": anchored["via"]}
                        if "path_raw" in rec:
                            rec["path_raw"] = changes[path].raw
                        if anchored["olds"]:
                            rec["from"] = anchored["olds"]
                        anchors.setdefault(sid, []).append(rec)
                    else:
                        _, reason, cands = run_status
                        line = {"v": notes_store.NOTE_VERSION, **where, "lines": span,
                                "unattributed": reason}
                        if cands:
                            line["candidates"] = list(cands)
                        out_lines.append(line)
                run_start = prev = n
                run_status = status
        return notes_store.encode(out_lines), anchors

    def _write_notes(self, notes: dict[str, bytes], message: str) -> None:
        """Write notes, with those an earlier run could not write; keep them
        all for the next run if the notes ref cannot take them now."""
        state_dir = self.store.location.state_dir
        pending = notes_store.take_pending(state_dir)
        batch = dict(notes)
        for commit, data in pending.items():
            # Lines are only ever added to a note: merged as cat_sort_uniq does.
            old = batch[commit] if commit in batch else self.notes.read(commit)
            if old is not None and old != data:
                data = b"".join(sorted({line + b"\n" for line in (old + b"\n" + data).split(b"\n") if line}))
            batch[commit] = data
        if not batch:
            return
        try:
            self.notes.write(batch, message if notes else f"pending notes: {len(batch)}")
        except (LockBusy, ConcurrentUpdate, pygit2.GitError, OSError) as exc:
            notes_store.spool_pending(state_dir, batch)
            raise NotesPending(f"the notes of {len(batch)} commit{'s' if len(batch) != 1 else ''} "
                               f"wait for the next run: {exc}",
                               hint="run 'git ot anchor' when no other git command runs") from exc
        notes_store.drop_pending(state_dir, pending)

    def write(self, anchored: list[dict], message: str, trails: bool = True) -> dict:
        """Write the notes of several anchored commits (one notes commit) and,
        with `trails`, their anchors in the sessions' trails."""
        notes: dict[str, bytes] = {}
        by_session: dict[str, list[dict]] = {}
        for item in anchored:
            if not item["write"]:
                continue
            data, anchors = self.note_and_anchors(item)
            if item.get("extend"):
                # New lines added to a note that exists: its own lines kept as
                # they are, the whole sorted and unique, as cat_sort_uniq does.
                old = self.notes.read(item["commit"]) or b""
                data = b"".join(sorted({line + b"\n" for line in (old + data).split(b"\n") if line}))
            notes[item["commit"]] = data
            if not item.get("trail", True):
                continue
            for sid, recs in anchors.items():
                by_session.setdefault(sid, []).extend(recs)
        try:
            self._write_notes(notes, message)
            pending = None
        except NotesPending as exc:
            pending = exc  # kept for the next run; the trails still take their anchors
        if not trails:
            by_session = {}
        for sid, recs in sorted(by_session.items()):
            old = self.store.tip(sid)
            if old is None:
                continue  # the session is not in this repository (a note from elsewhere)
            new = append_anchors(self.store, sid, recs, wait=self.trail_wait)
            if new is not None and self._index is not None:
                self._index.retip(sid, old, new)
        if self._index is not None:
            self._index.save()
        if pending is not None:
            raise pending
        return {"notes": sorted(notes), "sessions": sorted(by_session)}


def _keys(status: tuple) -> list[str]:
    """The `<session>:<step>` candidates a status names."""
    if status[0] == "agent":
        return [f"{status[1]}:{status[2]}"]
    if status[0] == "unattributed":
        return list(status[2])
    return []


def _valid_span(span) -> bool:
    return (isinstance(span, list) and len(span) == 2 and all(isinstance(x, int) for x in span)
            and 1 <= span[0] <= span[1])


# -- when and where a commit was made -------------------------------------------

def commit_instant(store: Store, commit: pygit2.Commit) -> tuple[float, float | None]:
    """When a commit was made, as (instant, uncertain_from).

    A commit's time has whole seconds, window times do not. While the commit
    object is still loose and its file was written within that second (or
    the next: git writes the object right after it reads the clock), the
    file's time says when (git writes the object as it commits); then
    uncertain_from is None. Otherwise the commit may have been made at any
    point of its second: the instant is the second's end, and a state taken
    from its start on may be from after the commit.
    """
    second = float(commit.commit_time)
    sha = str(commit.id)
    try:
        mtime = os.stat(os.path.join(store.location.common_dir, "objects", sha[:2], sha[2:])).st_mtime
    except OSError:
        mtime = None
    if mtime is not None and second <= mtime < second + 2:
        # Written as it was committed: within its second, or just past it
        # when writing the object crossed into the next one.
        return mtime, None
    return second + 1, second


MAKING_ACTIONS = ("commit", "merge", "rebase", "cherry-pick", "revert", "am", "pull")


def made_here(store: Store) -> set[str]:
    """The commits this repository's reflogs record it making (see Anchorer.made_here)."""
    common, own = store.location.common_dir, store.location.git_dir
    files = [os.path.join(own, "logs", "HEAD"), os.path.join(common, "logs", "HEAD")]
    for base in (os.path.join(common, "logs", "refs", "heads"), os.path.join(common, "worktrees")):
        for dirpath, _, names in os.walk(base):
            files.extend(os.path.join(dirpath, n) for n in names
                         if base.endswith("heads") or (n == "HEAD" and dirpath.endswith("logs")))
    out: set[str] = set()
    for path in dict.fromkeys(files):
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        for row in data.split(b"\n"):
            head, _, message = row.partition(b"\t")
            words = head.split(b" ", 2)
            if len(words) < 2 or b"Fast-forward" in message:
                continue
            action = message.split(b":", 1)[0].split(b" ", 1)[0].decode("ascii", "replace")
            if action in MAKING_ACTIONS:
                out.add(words[1].decode("ascii", "replace"))
    return out
