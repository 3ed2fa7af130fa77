"""Session storage in git objects, through pygit2.

One session is one ref, `refs/opentraces/sessions/<id>`, pointing at a chain
of commits; each seal appends a commit whose tree is the whole session:

    manifest.json  trace.cbor.zst  trail.cbor.zst  ctx.cbor.zst
    blobs/<oid[:2]>/<oid[2:]>     payloads, content-addressed
    snapshots/<name>              worktree trees at step boundaries

Trees are written with TreeBuilder and the commit with
create_commit(None, ...); the ref moves inside a reference transaction with
a compare-and-swap against the tip the writer started from.
"""

from __future__ import annotations

import io
import os
import re
import time
from dataclasses import dataclass, field

import pygit2

from ..errors import ConcurrentUpdate, CorruptRecord, LockBusy, MissingObject, NotARepository
from . import locks, records, refs
from .gitdir import Location, locate

BLOB_MODE = pygit2.GIT_FILEMODE_BLOB
TREE_MODE = pygit2.GIT_FILEMODE_TREE
# What `hide_bucket_from_fetch` writes: `fetch.hideRefs = refs/opentraces`.
FETCH_HIDE_KEY = "fetch.hideRefs"
FETCH_HIDDEN = refs.NAMESPACE.rstrip("/")
_TREE = b"40000"  # a tree entry's mode as a tree object spells it


# How long a ref update waits for a lock file another process holds (seconds,
# backing off from a few milliseconds): git holds one for a moment only.
REF_LOCK_WAIT = 10.0
# Tests shorten the wait, in the spirit of git's GIT_TEST_* variables.
_WAIT_OVERRIDE = "GIT_OT_TEST_LOCK_WAIT"
# libgit2 says the first when it finds the lock file in place, the second
# when the file appears between that look and its own exclusive create.
_LOCK_FAILURE = re.compile(r"failed to (?:lock file '(?P<path>.+?)' for writing"
                           r"|create locked file '(?P<created>.+?)': File exists)")


def ref_lock_wait() -> float:
    """REF_LOCK_WAIT, or the wait a test set."""
    wait = os.environ.get(_WAIT_OVERRIDE)
    return float(wait) if wait else REF_LOCK_WAIT


def _retry_locked(update) -> None:
    """Run a ref update, again while git's lock file of a ref is in the way.

    Linked worktrees, sessions and the user's own git share the refs: a
    writer that meets a lock file waits for it with backoff, removes it if
    it is provably stale (store/locks.py), and gives up with LockBusy after
    REF_LOCK_WAIT seconds, so that its caller can keep the work for later.
    """
    deadline = None
    delay = 0.004
    while True:
        try:
            update()
            return
        except pygit2.GitError as exc:
            m = _LOCK_FAILURE.search(str(exc))
            if m is None:
                raise
            lock = m.group("path") or m.group("created")
            if locks.clear_stale(lock):
                continue
            now = time.monotonic()
            if deadline is None:
                wait = os.environ.get(_WAIT_OVERRIDE)
                deadline = now + (float(wait) if wait else REF_LOCK_WAIT)
            if now >= deadline:
                raise LockBusy(f"'{lock}' is held by another process",
                               hint="if no git command runs, remove that file") from exc
            # Jitter: writers that met the same lock do not all come back at once.
            time.sleep(delay * (0.5 + int.from_bytes(os.urandom(1), "big") / 255))
            delay = min(delay * 2, 0.25)


@dataclass
class SessionTree:
    """What one commit of a session holds, read lazily."""

    session_id: str
    tip: str
    tree: pygit2.Tree
    store: "Store"
    _cache: dict = field(default_factory=dict)

    def record(self, kind: str) -> dict:
        if kind not in self._cache:
            name = records.FILENAMES[kind]
            where = f"session {self.session_id}"
            try:
                entry = self.tree[name]
            except KeyError:
                raise CorruptRecord(f"session {self.session_id} has no {name}",
                                    hint="the session ref does not point at a git-ot session") from None
            data = self.store.read_blob(entry.id, where)
            self._cache[kind] = records.decode(kind, data, where)
        return self._cache[kind]

    def snapshots(self) -> dict[str, str]:
        try:
            sub = self.tree["snapshots"]
        except KeyError:
            return {}
        return {e.name: str(e.id) for e in self.store.get(sub.id, f"session {self.session_id}")}


def _missing(oid, where: str) -> MissingObject:
    return MissingObject(
        f"object {oid} of {where} is missing",
        hint="fetch the session again from a remote that has it, or run 'git fsck'",
    )


class Store:
    """The git objects and refs of one repository, as git-ot sees them."""

    def __init__(self, location: Location):
        self.location = location
        # The objects the repository is known to hold, for a process that
        # writes many packs (store/packs.py, `held`); None: ask libgit2.
        self.held_objects: set[bytes] | None = None
        try:
            self.repo = pygit2.Repository(location.git_dir)
        except pygit2.GitError as exc:
            raise NotARepository(f"cannot open repository '{location.git_dir}': {exc}") from exc

    @classmethod
    def open(cls, path: str | None = None) -> "Store":
        return cls(locate(path))

    # -- objects ---------------------------------------------------------

    def get(self, oid, where: str):
        try:
            return self.repo[oid]
        except (KeyError, ValueError):
            raise _missing(oid, where) from None

    def blob_data(self, oid) -> bytes | None:
        """A blob's bytes, in one read of the object database (a pygit2
        Blob's `data` reads the object again); None when `oid` is missing
        or not a blob."""
        try:
            kind, data = self.repo.odb.read(oid)
        except (KeyError, ValueError):
            return None
        return data if kind == pygit2.enums.ObjectType.BLOB else None

    def read_blob(self, oid, where: str) -> bytes:
        data = self.blob_data(oid)
        if data is None:
            self.get(oid, where)  # missing: says so
            raise CorruptRecord(f"object {oid} of {where} is not a blob")
        return data

    def write_blob(self, data: bytes) -> str:
        return str(self.repo.create_blob(data))

    def write_blob_stream(self, chunks) -> tuple[str, int]:
        """Write a blob from an iterable of byte strings, never holding it
        whole (libgit2 writes it to a temporary file, then into the object
        database, compressing as it reads); its id and size. An exception
        from `chunks` is raised once libgit2 is done: the object written of
        what came before, if any, is one no ref holds."""
        reader = _ChunkReader(chunks)
        oid = self.repo.create_blob_fromiobase(reader)
        if reader.error is not None:
            raise reader.error
        return str(oid), reader.size

    def write_file_tree(self, path: str, data: bytes | None, max_file_size: int) -> str:
        """A tree holding one file, `path` with content `data` (a partial snapshot,
        refs/README.md section 10); the empty tree when `data` is None."""
        from .snapshot import pointer_for

        parts = path.split("/")
        if data is not None:
            if len(data) > max_file_size:
                data = pointer_for(data)
            oid, mode = self.repo.create_blob(data), pygit2.enums.FileMode.BLOB
            for name in reversed(parts):
                builder = self.repo.TreeBuilder()
                builder.insert(name, oid, mode)
                oid, mode = builder.write(), pygit2.enums.FileMode.TREE
        else:
            oid = self.repo.TreeBuilder().write()
        return str(oid)

    def file_at(self, commit: str, path: str) -> bytes | None:
        """The contents of `path` in `commit`, or None when either is missing
        (or `path` is not a file there)."""
        try:
            obj = self.repo.revparse_single(commit).peel(pygit2.Commit).tree[path]
        except (KeyError, ValueError, pygit2.GitError):
            return None
        return obj.data if obj.type == pygit2.enums.ObjectType.BLOB else None

    # -- sessions --------------------------------------------------------

    def session_ids(self) -> list[str]:
        out = []
        for name in self.repo.references.iterator(pygit2.enums.ReferenceFilter.ALL):
            sid = refs.session_id_from_ref(name.name if hasattr(name, "name") else name)
            if sid:
                out.append(sid)
        return sorted(out)

    def session_tips(self) -> dict[str, str]:
        """Every session id and the commit its ref points at, in one pass over the refs."""
        out = {}
        for ref in self.repo.references.iterator(pygit2.enums.ReferenceFilter.ALL):
            sid = refs.session_id_from_ref(ref.name)
            if sid:
                out[sid] = str(ref.resolve().target)
        return out

    def tip(self, session_id: str) -> str | None:
        ref = self.repo.references.get(refs.session_ref(session_id))
        if ref is None:
            return None
        return str(ref.resolve().target)

    def session(self, session_id: str, tip: str | None = None) -> SessionTree | None:
        tip = tip or self.tip(session_id)
        if tip is None:
            return None
        tree = self.tree_at(tip, refs.session_ref(session_id), f"session {session_id}",
                            hint="fetch the session again from a remote that has it")
        return SessionTree(session_id, tip, tree, self)

    def tree_at(self, tip: str, ref_name: str, where: str, hint: str) -> pygit2.Tree:
        """The tree of the commit `tip` a ref points at; CorruptRecord when it
        is no commit, MissingObject (with `hint`) when its tree is missing."""
        commit = self.get(tip, where)
        if not isinstance(commit, pygit2.Commit):
            raise CorruptRecord(f"{ref_name} does not point at a commit")
        try:
            return commit.tree
        except (KeyError, pygit2.GitError):
            raise MissingObject(f"the tree of {where} at {tip[:12]} is missing", hint=hint) from None

    def write_session(self, session_id: str, expected_tip: str | None,
                      record_map: dict[str, dict], new_blobs: list[str],
                      snapshots: dict[str, str], message: str, pack=None,
                      loose_below: int = 0) -> str:
        """Append a commit to the session's chain and move its ref (CAS).

        With `pack` (a store/packs.py PackBuffer that holds the new blobs),
        the records and trees are kept there too and written with them, as
        one pack or, when they are fewer than `loose_below`, loose, before
        the commit."""
        base = self.session(session_id, expected_tip) if expected_tip else None
        if pack is not None:
            tree = self._build_tree_packed(pack, base, record_map, new_blobs, snapshots)
            pack.flush(loose_below=loose_below)
        else:
            tree = self._build_tree(base, record_map, new_blobs, snapshots)
        sig = self.signature()
        parents = [pygit2.Oid(hex=expected_tip)] if expected_tip else []
        commit = self.repo.create_commit(None, sig, sig, message, tree, parents)
        self._move_ref(refs.session_ref(session_id), expected_tip, str(commit),
                       f"git-ot: {message.splitlines()[0]}")
        return str(commit)

    def write_merge(self, session_id: str, expected_tip: str, base: SessionTree,
                    record_map: dict[str, dict], new_blobs: list[str],
                    snapshots: dict[str, str], parents: list[str], message: str) -> str:
        """Join diverged tips of a session in one merge commit and move its ref (CAS).

        The tree is `base`'s with the records replaced and entries added.
        Author, committer and date depend only on the parents (git-ot's
        identity, the latest parent's commit time), so two clones that merge
        the same tips write the same commit and do not diverge again.
        """
        tree = self._build_tree(base, record_map, new_blobs, snapshots)
        when = max(self.get(p, f"session {session_id}").commit_time for p in parents)
        sig = pygit2.Signature("git-ot", "git-ot@localhost", when, 0)
        commit = self.repo.create_commit(None, sig, sig, message, tree,
                                         [pygit2.Oid(hex=p) for p in parents])
        self._move_ref(refs.session_ref(session_id), expected_tip, str(commit),
                       f"git-ot: {message.splitlines()[0]}")
        return str(commit)

    def _build_tree(self, base: SessionTree | None, record_map: dict[str, dict],
                    new_blobs: list[str], snapshots: dict[str, str]):
        repo = self.repo
        root = repo.TreeBuilder(base.tree) if base else repo.TreeBuilder()
        for kind, record in record_map.items():
            root.insert(records.FILENAMES[kind],
                        repo.create_blob(records.encode(kind, record)), BLOB_MODE)
        if new_blobs:
            root.insert("blobs", self._add_blobs(base, new_blobs), TREE_MODE)
        if snapshots:
            snap = self._subtree_builder(base, "snapshots")
            for name, oid in snapshots.items():
                snap.insert(name, pygit2.Oid(hex=oid), TREE_MODE)
            root.insert("snapshots", snap.write(), TREE_MODE)
        return root.write()

    def _build_tree_packed(self, pack, base: SessionTree | None, record_map: dict[str, dict],
                           new_blobs: list[str], snapshots: dict[str, str]) -> pygit2.Oid:
        """`_build_tree`, the objects kept in `pack` (the caller flushes it)."""
        root = _entries(base.tree if base else None)
        for kind, record in record_map.items():
            root[records.FILENAMES[kind].encode()] = (b"100644", bytes.fromhex(pack.blob(records.encode(kind, record))))
        if new_blobs:
            blobs = _entries(self._subtree(base, "blobs"))
            by_prefix: dict[str, list[str]] = {}
            for oid in new_blobs:
                by_prefix.setdefault(oid[:2], []).append(oid)
            for prefix, group in sorted(by_prefix.items()):
                existing = blobs.get(prefix.encode())
                sub = _entries(self.repo[pygit2.Oid(raw=existing[1])]) if existing else {}
                for oid in group:
                    sub[oid[2:].encode()] = (b"100644", bytes.fromhex(oid))
                blobs[prefix.encode()] = (_TREE, pack.tree(sub))
            root[b"blobs"] = (_TREE, pack.tree(blobs))
        if snapshots:
            snap = _entries(self._subtree(base, "snapshots"))
            for name, oid in snapshots.items():
                snap[name.encode()] = (_TREE, bytes.fromhex(oid))
            root[b"snapshots"] = (_TREE, pack.tree(snap))
        return pygit2.Oid(raw=pack.tree(root))

    def _subtree(self, base: SessionTree | None, name: str):
        if base is not None:
            try:
                return self.get(base.tree[name].id, "session tree")
            except KeyError:
                pass
        return None

    def _subtree_builder(self, base: SessionTree | None, name: str):
        if base is not None:
            try:
                return self.repo.TreeBuilder(self.get(base.tree[name].id, "session tree"))
            except KeyError:
                pass
        return self.repo.TreeBuilder()

    def _add_blobs(self, base: SessionTree | None, oids: list[str]):
        blobs = self._subtree_builder(base, "blobs")
        by_prefix: dict[str, list[str]] = {}
        for oid in oids:
            by_prefix.setdefault(oid[:2], []).append(oid)
        for prefix, group in sorted(by_prefix.items()):
            existing = blobs.get(prefix)
            sub = self.repo.TreeBuilder(self.repo[existing.id]) if existing else self.repo.TreeBuilder()
            for oid in group:
                sub.insert(oid[2:], pygit2.Oid(hex=oid), BLOB_MODE)
            blobs.insert(prefix, sub.write(), TREE_MODE)
        return blobs.write()

    def _move_ref(self, name: str, expected: str | None, new: str, message: str) -> None:
        if expected is None and name.startswith(refs.NAMESPACE):
            self.hide_bucket_from_fetch()
        _retry_locked(lambda: self._move_ref_once(name, expected, new, message))

    def _move_ref_once(self, name: str, expected: str | None, new: str, message: str) -> None:
        repo = self.repo
        with repo.transaction() as txn:
            txn.lock_ref(name)
            current = repo.references.get(name)
            current_oid = str(current.target) if current is not None else None
            if current_oid != expected:
                raise ConcurrentUpdate(
                    f"'{name}' moved during the update (expected {expected}, found {current_oid})",
                    hint="run the command again",
                )
            txn.set_target(name, pygit2.Oid(hex=new), message=message)

    def move_ref(self, name: str, expected: str | None, new: str, message: str) -> None:
        """Point `name` at `new` if it still points at `expected` (None: absent)."""
        self._move_ref(name, expected, new, message)

    def create_refs(self, targets: dict[str, str], message: str) -> None:
        """Create many refs in one transaction; none is created if any exists."""
        repo = self.repo
        if any(name.startswith(refs.NAMESPACE) for name in targets):
            self.hide_bucket_from_fetch()

        def create() -> None:
            with repo.transaction() as txn:
                for name in targets:
                    txn.lock_ref(name)
                for name, new in targets.items():
                    if repo.references.get(name) is not None:
                        raise ConcurrentUpdate(f"'{name}' appeared during the update",
                                               hint="run the command again")
                    txn.set_target(name, pygit2.Oid(hex=new), message=message)

        _retry_locked(create)

    def hide_bucket_from_fetch(self) -> None:
        """Leave the bucket's refs out of the connectivity check of the user's
        own `git fetch` (`fetch.hideRefs`, git 2.41 and later).

        That check walks `--not --all`: every ref of the repository, so
        thousands of session refs would slow down every fetch of code. The
        sessions share no history with the code, so the check loses nothing
        it needs. Older git ignores the key. Set once, in the repository's
        own config, when the first bucket ref is created; failing to set it
        (a locked config) costs speed only, so it never fails the caller.
        """
        config = self.repo.config
        try:
            if any(v.rstrip("/") == FETCH_HIDDEN for v in config.get_multivar(FETCH_HIDE_KEY)):
                return
            config.set_multivar(FETCH_HIDE_KEY, "^" + re.escape(FETCH_HIDDEN) + "/*$", FETCH_HIDDEN)
        except (pygit2.GitError, OSError, ValueError):
            pass

    def set_refs(self, targets: dict[str, str | None], message: str) -> None:
        """Point refs at ids (None deletes), unconditionally: for short-lived
        refs only git-ot's own process uses (a notes merge's scratch ref)."""
        repo = self.repo
        with repo.transaction() as txn:
            for name in targets:
                txn.lock_ref(name)
            for name, new in targets.items():
                if new is None:
                    if repo.references.get(name) is not None:
                        txn.remove(name)
                else:
                    txn.set_target(name, pygit2.Oid(hex=new), message=message)

    def refs_under(self, prefix: str) -> dict[str, str]:
        """Every direct ref whose name starts with `prefix`, with its target id."""
        out = {}
        for ref in self.repo.references.iterator():
            if ref.name.startswith(prefix) and ref.type == pygit2.enums.ReferenceType.DIRECT:
                out[ref.name] = str(ref.target)
        return out

    def ref_target(self, name: str) -> str | None:
        ref = self.repo.references.get(name)
        return str(ref.resolve().target) if ref is not None else None

    def has_object(self, oid: str) -> bool:
        return pygit2.Oid(hex=oid) in self.repo

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """Whether `descendant` contains `ancestor` in its history (or is it)."""
        if ancestor == descendant:
            return True
        return self.repo.descendant_of(pygit2.Oid(hex=descendant), pygit2.Oid(hex=ancestor))

    def delete_ref(self, name: str) -> None:
        ref = self.repo.references.get(name)
        if ref is not None:
            ref.delete()

    def signature(self) -> pygit2.Signature:
        name = os.environ.get("GIT_COMMITTER_NAME")
        email = os.environ.get("GIT_COMMITTER_EMAIL")
        config = self.repo.config
        if not name:
            name = config["user.name"] if "user.name" in config else "git-ot"
        if not email:
            email = config["user.email"] if "user.email" in config else "git-ot@localhost"
        when = _env_time()
        if when is not None:
            return pygit2.Signature(name, email, when[0], when[1])
        return pygit2.Signature(name, email, int(time.time()), 0)


def _env_time():
    """Honour GIT_COMMITTER_DATE in its raw '<epoch> <tz>' form, as tests pin it."""
    raw = os.environ.get("GIT_COMMITTER_DATE", "")
    parts = raw.lstrip("@").split()
    if len(parts) == 2 and parts[0].isdigit() and len(parts[1]) == 5:
        sign = -1 if parts[1][0] == "-" else 1
        offset = sign * (int(parts[1][1:3]) * 60 + int(parts[1][3:5]))
        return int(parts[0]), offset
    return None


def _entries(tree) -> dict[bytes, tuple[bytes, bytes]]:
    """A tree's entries (name -> (mode, binary id)), as store/packs.py writes trees; {} for None."""
    if tree is None:
        return {}
    return {e.raw_name: (b"%o" % e.filemode, e.id.raw) for e in tree}


class _ChunkReader(io.RawIOBase):
    """A readable file of the bytes an iterable yields, for libgit2's blob
    stream; an exception of the iterable ends it (kept in `error`), so that
    libgit2 closes its stream and leaves no temporary file behind."""

    def __init__(self, chunks):
        self._chunks = iter(chunks)
        self._buf = memoryview(b"")
        self.size = 0
        self.error: BaseException | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while not self._buf:
            if self.error is not None:
                return 0
            try:
                self._buf = memoryview(next(self._chunks))
            except StopIteration:
                return 0
            except BaseException as exc:  # raised by write_blob_stream
                self.error = exc
                return 0
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        self.size += n
        return n
