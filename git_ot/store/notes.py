"""The anchor index: JSON-Lines notes on `refs/notes/opentraces`.

A note is what `git notes --ref=opentraces show <commit>` prints: one JSON
object a line, written canonically (refs/README.md, section 11) so that two
clones that annotate the same commit write identical bytes and
`git notes merge -s cat_sort_uniq` merges their notes line by line.

The notes tree is laid out as git lays it out: a blob per annotated commit,
named by the commit's id, possibly under fan-out directories (`ab/cdef...`)
that git creates once there are many notes. This module reads any fan-out,
keeps the one it finds when it replaces a note, and writes every batch of
notes as one notes commit whose ref moves by compare-and-swap inside a
reference transaction, so a crash never leaves the ref half moved.

`git ot forget` rewrites a notes ref without a session's lines
(`rewrite_without`), and without its history, which would keep them.

The notes ref is shared by every linked worktree and clone-local writer:
a write that loses the compare-and-swap is applied again on the new tip
(with backoff), one that meets git's lock file waits for it or clears it
when provably stale (store/repository.py). Notes that still cannot be
written are never dropped: they wait in `<common>/opentraces/notes-pending/`
and the next writer of notes writes them first (`spool_pending`,
`take_pending`).
"""

from __future__ import annotations

import json
import os
import time

import pygit2

from ..errors import ConcurrentUpdate, GitOtError
from . import purge, refs
from . import state as state_paths
from .files import replace_file
from .git import is_object_id

BLOB_MODE = pygit2.GIT_FILEMODE_BLOB
TREE_MODE = pygit2.GIT_FILEMODE_TREE
NOTE_VERSION = 1
# A tree level holding more notes than this is fanned out (`ab/cdef...`), so
# that each new note rewrites small trees, not one that grows with history
# (git fans out its notes trees for the same reason).
FANOUT_AT = 256

# The order of the fields of a note line (refs/README.md, section 11); a
# field this code does not know is written after these, in the order given.
RANGE_FIELDS = ("v", "session", "step", "hunk", "path", "path_raw", "lines", "harness", "model")
UNATTRIBUTED_FIELDS = ("v", "path", "path_raw", "lines", "unattributed", "candidates")


def encode_line(fields: dict) -> bytes:
    """One note line in canonical form: fixed field order, compact, UTF-8."""
    order = RANGE_FIELDS if "session" in fields else UNATTRIBUTED_FIELDS
    ordered = {k: fields[k] for k in order if k in fields}
    ordered.update((k, v) for k, v in fields.items() if k not in ordered)
    return json.dumps(ordered, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def encode(lines: list[dict]) -> bytes:
    """A whole note: its lines sorted bytewise and unique, as cat_sort_uniq leaves them."""
    return b"".join(sorted({encode_line(line) for line in lines}))


def decode(data: bytes) -> list[dict]:
    """The note's lines as objects; lines that are not JSON objects are ignored."""
    out = []
    for raw in data.split(b"\n"):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw.decode("utf-8", "surrogateescape"))
        except (ValueError, RecursionError):
            continue
        if isinstance(value, dict):
            out.append(value)
    return out


class DamagedNote(list):
    """The lines of a note that is not valid JSON Lines (refs/README.md,
    section 11): those that read, and `problem`, what is wrong. Readers
    must not take what it leaves out for the person's work: its lines are
    `unknown`, and `git ot anchor` rewrites it."""

    def __init__(self, lines: list[dict], problem: str):
        super().__init__(lines)
        self.problem = problem


def problem(data: bytes) -> str | None:
    """What makes a note not valid JSON Lines, or None: a line that is not
    UTF-8, not a JSON object, or has no `path` and `lines` [first, last]."""
    for n, raw in enumerate(data.split(b"\n"), 1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw.decode("utf-8"))
        except (ValueError, RecursionError):
            return f"line {n} is not JSON"
        if not isinstance(value, dict):
            return f"line {n} is not a JSON object"
        span = value.get("lines")
        if not (isinstance(span, list) and len(span) == 2 and all(type(x) is int for x in span)
                and isinstance(value.get("path"), str)):
            return f"line {n} has no path and line range"
    return None


def sessions_named(line: bytes) -> set[str] | None:
    """The sessions a note line names: its `session`, and the session of each
    of its `candidates` (`<session>:<step>`); None when the line is not a
    JSON object (nothing can be said of what it holds)."""
    try:
        value = json.loads(line)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    named = set()
    if isinstance(value.get("session"), str):
        named.add(value["session"])
    candidates = value.get("candidates")
    for candidate in candidates if isinstance(candidates, list) else ():
        if isinstance(candidate, str):
            named.add(candidate.rpartition(":")[0] or candidate)
    return named


def of_sessions(session_ids: set[str]):
    """A predicate: whether a note line is a range line of one of these
    sessions (what `git ot forget` takes out of the notes)."""
    encoded = [sid.encode() for sid in session_ids]

    def test(line: bytes) -> bool:
        if not any(sid in line for sid in encoded):
            return False  # most lines: no JSON to parse
        try:
            value = json.loads(line)
        except ValueError:
            return False
        return isinstance(value, dict) and value.get("session") in session_ids
    return test


def union(*notes: bytes) -> bytes:
    """The union of notes' lines, sorted bytewise and unique: what
    `git notes merge -s cat_sort_uniq` makes of them."""
    return b"".join(sorted({line + b"\n" for data in notes for line in data.split(b"\n") if line}))


def differing(repo: pygit2.Repository, ours, theirs) -> dict[str, tuple]:
    """The notes two notes trees hold differently: commit -> (our blob id,
    their blob id), None where a side has no note.

    Subtrees with the same id are skipped unread, so two versions of a
    large notes tree cost what differs between them; the trees may be fanned
    out differently.
    """
    ours_flat: dict[str, pygit2.Oid] = {}
    theirs_flat: dict[str, pygit2.Oid] = {}

    def flatten(entry, name: str, out: dict) -> None:
        if entry.filemode != TREE_MODE:
            out[name] = entry.id
            return
        for e in repo[entry.id]:
            flatten(e, name + e.name, out)

    def walk(a, b, prefix: str) -> None:
        mine = {e.name: e for e in a} if a is not None else {}
        yours = {e.name: e for e in b} if b is not None else {}
        for name in mine.keys() | yours.keys():
            x, y = mine.get(name), yours.get(name)
            if x is not None and y is not None:
                if x.id == y.id:
                    continue
                if x.filemode == TREE_MODE and y.filemode == TREE_MODE:
                    walk(repo[x.id], repo[y.id], prefix + name)
                    continue
            if x is not None:
                flatten(x, prefix + name, ours_flat)
            if y is not None:
                flatten(y, prefix + name, theirs_flat)

    walk(ours, theirs, "")
    return {c: (ours_flat.get(c), theirs_flat.get(c)) for c in ours_flat.keys() | theirs_flat.keys()
            if ours_flat.get(c) != theirs_flat.get(c)}


def overlay(repo: pygit2.Repository, base, notes: dict[str, pygit2.Oid | None]):
    """The notes tree `base` (a tree, or None) with these notes set (None:
    removed), keeping its fan-out; None when that changes nothing."""
    builder = _Fanout(repo, base)
    changed = False
    for commit, blob in notes.items():
        changed |= builder.remove(commit) if blob is None else builder.put(commit, blob)
    return builder.write() if changed else None


def rewrite_without(store, ref: str, drop, message: str) -> int | None:
    """Rewrite a notes ref without the lines `drop` selects, and without
    history, when its history holds one; the number of lines taken out of
    its current notes, or None when nothing holds one (the ref is left).

    `git ot forget` does this to the notes here and to a remote's copy.
    """
    tip = store.ref_target(ref)
    if tip is None or not any(drop(line) for blob in purge.history_blobs(store.location, tip)
                              for line in blob.splitlines()):
        return None
    removed, _ = _rewrite(store.repo, ref, drop, store.signature(), message)
    return removed


def would_drop(store, ref: str, drop) -> int | None:
    """What `rewrite_without` would do, changing nothing: the number of lines
    it would take out of the current notes, or None when it would leave the ref."""
    tip = store.ref_target(ref)
    if tip is None or not any(drop(line) for blob in purge.history_blobs(store.location, tip)
                              for line in blob.splitlines()):
        return None

    def count(tree) -> int:
        n = 0
        for e in tree:
            if e.type_str == "tree":
                n += count(store.repo[e.id])
            elif e.type_str == "blob":
                n += sum(1 for line in store.repo[e.id].data.splitlines(keepends=True) if drop(line))
        return n
    return count(store.repo[tip].peel(pygit2.Tree))


def _rewrite(repo: pygit2.Repository, ref: str, drop, signature, message: str) -> tuple[int, str | None]:
    """The notes ref without the note lines `drop` selects, as one new commit.

    The new commit has no parent: the notes' history would keep the dropped
    lines reachable. A ref left without notes is deleted. Returns the number
    of lines dropped and the old tip (None when nothing changed).
    """
    current = repo.references.get(ref)
    if current is None:
        return 0, None
    old_tip = str(current.resolve().target)
    removed = 0

    def rewrite(tree):
        nonlocal removed
        builder = repo.TreeBuilder()
        for e in tree:
            if e.type_str == "tree":
                sub = rewrite(e)
                if sub is not None:
                    builder.insert(e.name, sub, pygit2.GIT_FILEMODE_TREE)
            elif e.type_str == "blob":
                lines = e.data.splitlines(keepends=True)
                keep = [line for line in lines if not drop(line)]
                removed += len(lines) - len(keep)
                if keep:
                    oid = e.id if len(keep) == len(lines) else repo.create_blob(b"".join(keep))
                    builder.insert(e.name, oid, e.filemode)
        return builder.write() if len(builder) else None

    tree = rewrite(repo[old_tip].peel(pygit2.Tree))
    with repo.transaction() as txn:
        txn.lock_ref(ref)
        now = repo.references.get(ref)
        if now is None or str(now.target) != old_tip:
            raise ConcurrentUpdate(f"'{ref}' moved during the update", hint="run the command again")
        if tree is None:
            txn.remove(ref)
        else:
            commit = repo.create_commit(None, signature, signature, message, tree, [])
            txn.set_target(ref, commit, message=f"git-ot: {message}")
    return removed, old_tip


class Notes:
    """Read and write the notes of one notes ref (default refs/notes/opentraces)."""

    def __init__(self, store, ref: str = refs.NOTES_REF):
        self.store = store
        self.repo: pygit2.Repository = store.repo
        self.ref = ref
        self._root = None  # (tip, tree) the reads below are served from
        self._subtrees: dict = {}

    # -- reading ---------------------------------------------------------

    def tip(self) -> str | None:
        ref = self.repo.references.get(self.ref)
        return None if ref is None else str(ref.resolve().target)

    def _tree(self):
        if self._root is None:
            tip = self.tip()
            tree = self.store.get(tip, "the notes ref").tree if tip else None
            self._root = (tip, tree)
        return self._root[1]

    def preload(self) -> None:
        """Read the notes ref and its root tree now (say, while a git process works)."""
        self._tree()

    def refresh(self) -> None:
        """Forget what was read, so the next read sees the ref as it is now."""
        self._root = None
        self._subtrees = {}

    def _children(self, tree) -> dict:
        key = tree.id
        kids = self._subtrees.get(key)
        if kids is None:
            kids = {e.name: e for e in tree}
            self._subtrees[key] = kids
        return kids

    def blob_id(self, commit: str) -> str | None:
        """The id of the note blob of `commit`, at whatever fan-out it sits."""
        tree = self._tree()
        rest = commit
        while tree is not None and rest:
            kids = self._children(tree)
            entry = kids.get(rest)
            if entry is not None and entry.filemode != TREE_MODE:
                return str(entry.id)
            sub = kids.get(rest[:2])
            if sub is None or sub.filemode != TREE_MODE:
                return None
            tree = self.repo[sub.id]
            rest = rest[2:]
        return None

    def read(self, commit: str) -> bytes | None:
        """The note of `commit`, or None when it has none."""
        oid = self.blob_id(commit)
        return None if oid is None else self.store.read_blob(oid, f"the note of {commit[:12]}")

    def read_lines(self, commit: str) -> list[dict] | None:
        """The note's lines, None when there is no note, a DamagedNote when
        the note is not valid JSON Lines (or its blob cannot be read)."""
        oid = self.blob_id(commit)
        if oid is None:
            return None
        try:
            data = self.store.read_blob(oid, f"the note of {commit[:12]}")
        except GitOtError as exc:  # a note at a missing object, or at a tree
            return DamagedNote([], exc.message)
        wrong = problem(data)
        return decode(data) if wrong is None else DamagedNote(decode(data), wrong)

    def damaged(self, commit: str) -> bool:
        """Whether the commit's note is damaged (read_lines gives a DamagedNote)."""
        return isinstance(self.read_lines(commit), DamagedNote)

    def annotated(self) -> list[str]:
        """Every commit that has a note (walks the whole notes tree)."""
        out: list[str] = []

        def walk(tree, prefix):
            for e in tree:
                if e.filemode == TREE_MODE:
                    walk(self.repo[e.id], prefix + e.name)
                else:
                    out.append(prefix + e.name)

        tree = self._tree()
        if tree is not None:
            walk(tree, "")
        return out

    # -- writing ---------------------------------------------------------

    def write(self, notes: dict[str, bytes | None], message: str, attempts: int = 20) -> str | None:
        """Set (bytes) or remove (None) the notes of several commits in one notes commit.

        Returns the new tip, or None when nothing changed. The ref moves only
        if nobody moved it meanwhile; otherwise the batch is applied again on
        the new tip (notes of other commits written meanwhile are kept).
        """
        for attempt in range(attempts):
            self.refresh()
            tip = self.tip()
            base = self._tree()
            changed = False
            tree_builder = _Fanout(self.repo, base)
            for commit, data in notes.items():
                if data is None:
                    changed |= tree_builder.remove(commit)
                else:
                    changed |= tree_builder.put(commit, self.repo.create_blob(data))
            if not changed:
                return None
            tree = tree_builder.write()
            sig = self.store.signature()
            parents = [pygit2.Oid(hex=tip)] if tip else []
            commit_id = self.repo.create_commit(None, sig, sig, message + "\n", tree, parents)
            try:
                self.store.move_ref(self.ref, tip, str(commit_id), f"git-ot: {message}")
            except ConcurrentUpdate:
                if attempt == attempts - 1:
                    raise
                # Other worktrees commit now too: come back at another moment.
                time.sleep(min(0.2, 0.002 * 2 ** attempt) * (0.5 + os.urandom(1)[0] / 255))
                continue
            self.refresh()
            return str(commit_id)
        return None


def spool_pending(state_dir: str, notes: dict[str, bytes | None]) -> None:
    """Keep notes that could not be written for the next writer of notes."""
    directory = state_paths.notes_pending(state_dir)
    for commit, data in notes.items():
        if data is not None:
            replace_file(os.path.join(directory, commit), data, durable=True)


def take_pending(state_dir: str) -> dict[str, bytes]:
    """The notes waiting to be written, by commit (see spool_pending)."""
    directory = state_paths.notes_pending(state_dir)
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return {}
    out = {}
    for name in names:
        if not is_object_id(name):
            continue  # a temporary file being written
        try:
            with open(os.path.join(directory, name), "rb") as fh:
                out[name] = fh.read()
        except FileNotFoundError:
            continue  # written by another process meanwhile
    return out


def drop_pending(state_dir: str, notes: dict[str, bytes]) -> None:
    """Forget pending notes once written (each only if it did not change since)."""
    directory = state_paths.notes_pending(state_dir)
    for commit, data in notes.items():
        path = os.path.join(directory, commit)
        try:
            with open(path, "rb") as fh:
                if fh.read() != data:
                    continue
            os.unlink(path)
        except FileNotFoundError:
            continue


class _Fanout:
    """Edits a notes tree in memory, keeping the fan-out it already has."""

    def __init__(self, repo: pygit2.Repository, tree):
        self.repo = repo
        self.entries: dict[str, tuple] = {}  # name -> ("blob", oid) | ("tree", _Fanout)
        self.dirty = False
        if tree is not None:
            for e in tree:
                if e.filemode == TREE_MODE:
                    self.entries[e.name] = ("tree", e.id)
                else:
                    self.entries[e.name] = ("blob", e.id, e.filemode)

    def _sub(self, name: str) -> "_Fanout | None":
        entry = self.entries.get(name)
        if entry is None or entry[0] != "tree":
            return None
        if not isinstance(entry[1], _Fanout):
            entry = ("tree", _Fanout(self.repo, self.repo[entry[1]]))
            self.entries[name] = entry
        return entry[1]

    def put(self, rest: str, blob) -> bool:
        current = self.entries.get(rest)
        if current is not None and current[0] == "blob":
            if current[1] == blob:
                return False
            self.entries[rest] = ("blob", blob, BLOB_MODE)
            self.dirty = True
            return True
        sub = self._sub(rest[:2])
        if sub is not None:
            changed = sub.put(rest[2:], blob)
            self.dirty |= changed
            return changed
        self.entries[rest] = ("blob", blob, BLOB_MODE)
        self.dirty = True
        return True

    def remove(self, rest: str) -> bool:
        current = self.entries.get(rest)
        if current is not None and current[0] == "blob":
            del self.entries[rest]
            self.dirty = True
            return True
        sub = self._sub(rest[:2])
        if sub is not None and sub.remove(rest[2:]):
            if not sub.entries:
                del self.entries[rest[:2]]
            self.dirty = True
            return True
        return False

    def write(self):
        blobs = [name for name, e in self.entries.items() if e[0] == "blob" and len(name) > 2]
        if len(blobs) > FANOUT_AT:
            for name in blobs:
                entry = self.entries.pop(name)
                sub = self._sub(name[:2])
                if sub is None:
                    if name[:2] in self.entries:  # a blob named like a directory: leave it be
                        self.entries[name] = entry
                        continue
                    sub = _Fanout(self.repo, None)
                    self.entries[name[:2]] = ("tree", sub)
                sub.entries[name[2:]] = entry
        builder = self.repo.TreeBuilder()
        for name, entry in self.entries.items():
            if entry[0] == "blob":
                builder.insert(name, entry[1], entry[2])
            elif isinstance(entry[1], _Fanout):
                builder.insert(name, entry[1].write(), TREE_MODE)
            else:
                builder.insert(name, entry[1], TREE_MODE)
        return builder.write()
