"""Anchoring: the note that says which agent step wrote each line a commit introduced.

The git hooks call in here (git_ot/capture/hook.py):

- post-commit: a commit made with `git commit` is anchored from the working
  attribution (attribution.py): each line the commit introduced is matched
  against the states the snapshots recorded. Commits that the sequencer
  makes (rebase picks, cherry-pick, revert) are left to post-rewrite, or,
  for cherry-pick and revert, not anchored by this version; an amend is left
  to the post-rewrite that follows it.
- post-merge: a merge commit `git merge` made is anchored the same way
  (only lines that match no parent can be new).
- post-rewrite: each new commit takes the attribution of the lines of the
  old commits it was made from (a line keeps its attribution only while its
  text is unchanged); lines the rewrite itself changed are anchored from the
  working attribution, as a commit's are.

A commit's "introduced" lines are those `git blame` gives to it: the lines
that the diff from every parent adds (with git's indent heuristic, as blame
uses). The note holds one line per range of them an agent step wrote, and
one per range that could not be tied to exactly one step; every other
introduced line is the human's. A commit anchored with no agent work still
gets a note, an empty one: it records that git-ot looked (refs/README.md,
section 11).
"""

from __future__ import annotations

import base64
import os
import time

import pygit2

from ...store import notes as notes_store
from ...store.repository import Store
from ...store.spool import Spool
from . import lines as L
from .attribution import HUMAN, Attribution, agent, unattributed
from .record import append_anchors
from .windows import WindowIndex

TEXT_MODES = (pygit2.GIT_FILEMODE_BLOB, pygit2.GIT_FILEMODE_BLOB_EXECUTABLE)


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

    def __init__(self, store: Store, now: float | None = None):
        self.store = store
        self.repo = store.repo
        self.now = time.time() if now is None else now
        self.notes = notes_store.Notes(store)
        self._attribution: Attribution | None = None
        self._changes: dict[str, dict[str, Change]] = {}
        self._blobs: dict = {}
        # Events still in the spool after the hook's seal (a seal the security
        # gate blocked, or one that failed): windows git-ot cannot see yet.
        self.unsealed = bool(Spool(store.location.state_dir).pending_sessions())

    @property
    def attribution(self) -> Attribution:
        if self._attribution is None:
            self._attribution = Attribution(self.store, WindowIndex(self.store).load(), self.now)
        return self._attribution

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
            out[delta.new_file.raw_path] = (delta.new_file.id, old)
        return out

    def _blob(self, oid) -> bytes:
        data = self._blobs.get(oid)
        if data is None:
            data = self._blobs[oid] = self.repo.get(oid).data
        return data

    # -- what an old commit's note says about its lines ---------------------

    def statuses_of(self, commit_id: str) -> tuple[bool, dict[str, dict[int, tuple]]]:
        """(anchored, {path: {introduced line: status}}) read back from a commit's note."""
        note = self.notes.read_lines(commit_id)
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

    def anchor(self, commit_id: str, olds: list[str] = (), via: str = "commit") -> dict:
        """The statuses of every line `commit_id` introduced, per path.

        With `olds` (a rewrite), a line that is unchanged from a line an old
        commit introduced keeps that line's status (a later old wins over an
        earlier one, as its text is the later one); the others are attributed
        from the working tree's history.
        """
        changes = self.changes(commit_id)
        mapped: dict[str, dict[int, tuple]] = {}
        any_anchored = not olds
        for old in olds:
            if old not in self.repo:
                continue
            anchored, old_statuses = self.statuses_of(old)
            any_anchored |= anchored
            old_changes = self.changes(old)
            for path, change in changes.items():
                source = path if path in old_changes else None
                if source is None:
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
                    got = self.attribution.attribute(path, change.data, rest)
                    if self.unsealed:
                        # An unsealed session's windows may hold these lines:
                        # not seen is not the same as the human's.
                        got = {i: (unattributed("unknown") if st == HUMAN else st) for i, st in got.items()}
                    statuses.update(got)
            result[path] = statuses
        # Rewriting commits git-ot never anchored writes no note, unless the
        # working tree's history shows agent work among the changed lines.
        evidence = any(s[0] == "agent" or (s[0] == "unattributed" and s[1] != "unknown")
                       for st in result.values() for s in st.values())
        worth = any_anchored or evidence
        return {"commit": commit_id, "via": via, "olds": list(olds), "statuses": result,
                "write": worth}

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

    def write(self, anchored: list[dict], message: str, trails: bool = True) -> dict:
        """Write the notes of several anchored commits (one notes commit) and,
        with `trails`, their anchors in the sessions' trails."""
        notes: dict[str, bytes] = {}
        by_session: dict[str, list[dict]] = {}
        for item in anchored:
            if not item["write"]:
                continue
            data, anchors = self.note_and_anchors(item)
            notes[item["commit"]] = data
            for sid, recs in anchors.items():
                by_session.setdefault(sid, []).extend(recs)
        if notes:
            self.notes.write(notes, message)
        if not trails:
            by_session = {}
        for sid, recs in sorted(by_session.items()):
            old = self.store.tip(sid)
            if old is None:
                continue  # the session is not in this repository (a note from elsewhere)
            new = append_anchors(self.store, sid, recs)
            if new is not None and self._attribution is not None:
                self._attribution.index.retip(sid, old, new)
        if self._attribution is not None:
            self._attribution.index.save()
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


# -- what git just did ---------------------------------------------------------

def reflog_action(git_dir: str) -> str | None:
    """The message of HEAD's newest reflog entry ("commit: ...", "rebase (pick): ...")."""
    path = os.path.join(git_dir, "logs", "HEAD")
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 8192))
            tail = fh.read()
    except OSError:
        return None
    last = tail.rstrip(b"\n").rsplit(b"\n", 1)[-1]
    _, _, message = last.partition(b"\t")
    return message.decode("utf-8", "replace")


def rebase_original(store: Store) -> str | None:
    """The commit an interactive rebase stopped at (edit, or a pick that conflicted), if any."""
    done = os.path.join(store.location.git_dir, "rebase-merge", "done")
    try:
        with open(done, encoding="utf-8", errors="replace") as fh:
            rows = [r.split() for r in fh.read().splitlines() if r.strip() and not r.startswith("#")]
    except OSError:
        return None
    if not rows:
        return None
    for word in rows[-1][1:3]:
        if len(word) >= 7 and all(c in "0123456789abcdef" for c in word.lower()):
            try:
                return str(store.repo.revparse_single(word).peel(pygit2.Commit).id)
            except (KeyError, ValueError, pygit2.GitError):
                return None
    return None


def _head(store: Store) -> pygit2.Commit | None:
    try:
        return store.repo.head.peel(pygit2.Commit)
    except (pygit2.GitError, KeyError):
        return None


def post_commit(store: Store) -> dict | None:
    """Anchor the commit `git commit` just made."""
    head = _head(store)
    if head is None:
        return None
    action = reflog_action(store.location.git_dir)
    rebasing = os.path.isdir(os.path.join(store.location.git_dir, "rebase-merge"))
    if action is None:
        action = "commit" if not rebasing else ""
    if not action.startswith("commit") or action.startswith("commit (amend)"):
        # Rebase picks and squashes come back through post-rewrite, as does
        # an amend; cherry-pick and revert are not anchored by this version.
        return None
    olds = []
    if rebasing:
        original = rebase_original(store)  # splitting a commit at an edit stop
        if original and original != str(head.id):
            olds = [original]
    anchorer = Anchorer(store)
    via = "merge" if len(head.parents) > 1 else "commit"
    item = anchorer.anchor(str(head.id), olds, via)
    if olds:
        item["write"] = True
    return anchorer.write([item], f"anchor {str(head.id)[:12]}")


def post_merge(store: Store) -> dict | None:
    """Anchor the merge commit `git merge` just made (a fast-forward makes none)."""
    head = _head(store)
    if head is None or len(head.parents) < 2:
        return None
    anchorer = Anchorer(store)
    if anchorer.notes.blob_id(str(head.id)) is not None:
        return None
    item = anchorer.anchor(str(head.id), (), "merge")
    return anchorer.write([item], f"anchor {str(head.id)[:12]}")


def post_rewrite(store: Store, kind: str, text: str) -> dict | None:
    """Carry notes through an amend or a rebase: git's list of "<old> <new>" lines."""
    pairs: dict[str, list[str]] = {}
    for row in text.splitlines():
        words = row.split()
        if len(words) >= 2 and words[0] != words[1]:
            pairs.setdefault(words[1], [])
            if words[0] not in pairs[words[1]]:
                pairs[words[1]].append(words[0])
    if not pairs:
        return None
    anchorer = Anchorer(store)
    items = []
    for new, olds in pairs.items():
        if new in store.repo:
            items.append(anchorer.anchor(new, olds, "amend" if kind == "amend" else "rebase"))
    # The sessions' trails keep the commits that took their work when it was
    # taken; a rewrite moves the notes only. Touching every session a rebase
    # crosses would cost a ref update per session, and its chain a commit per
    # rebase; the rewritten copies are found by their notes.
    return anchorer.write(items, f"rewrite ({kind}): {len(items)} commit{'s' if len(items) != 1 else ''}",
                          trails=False)


def on_git_event(store: Store, event: str, args: list[str], stdin: str) -> dict | None:
    """What a git hook anchors: post-commit, post-merge or post-rewrite."""
    if event == "post-commit":
        return post_commit(store)
    if event == "post-merge":
        return post_merge(store)
    if event == "post-rewrite":
        return post_rewrite(store, args[0] if args else "rewrite", stdin)
    return None
