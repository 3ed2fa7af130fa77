"""Worktree snapshots: a git tree of the working tree, taken on the hook path.

A snapshot holds every tracked and untracked file, never an ignored one and
never `.git`, and touches neither the user's index, HEAD nor branches. It is
built with git's own plumbing against a private index file per worktree
(`<git-dir>/opentraces/snapshot.index`): git's stat cache in that index makes
every snapshot after the first incremental, exactly as `git add -A` is on a
warm index. The private index starts as a copy of the user's index so even
the first snapshot reuses the stat information git already has.

One snapshot is at most three git processes, one when nothing changed:
`git status` lists what differs from the private index (it refreshes the
index's stat data in parallel threads and keeps git's untracked cache in the
private index, so the walk for untracked files only reads directories that
changed), `git update-index` adds what changed, `git write-tree` writes the
tree. The private index is git-ot's own, so `git status` may write it; the
user's index is never opened for writing. The tree written last is kept in
`<git-dir>/opentraces/snapshot.tree` while the private index holds exactly
it (the file goes before anything changes the index, and comes back after
the next `write-tree`): when nothing changed, that is the snapshot, and no
`write-tree` runs. It is used for TREE_KEPT seconds at most, within any
`git gc`'s grace for the loose objects it may name.

The private index is a split index (`core.splitIndex`): its bulk lives in a
shared index file that git writes next to the user's index, as
`<git-dir>/sharedindex.<hash>`, and each command writes only the small file
of changes, instead of rewriting the whole index three times per snapshot.
git-ot's commands never expire shared index files (git would expire any
unused for two weeks, the user's own included); git-ot deletes the shared
index files its private index stopped using itself, never one the user's
index uses. A private index git cannot read (its shared index expired by the
user's git, say) is replaced by a fresh copy of the user's index.

Files larger than the size limit are recorded by a small pointer blob
(size and SHA-256, see refs/README.md) instead of their content. Their index
entries are marked assume-unchanged, so git never hashes the large file
again; git-ot notices their changes itself, by the stat data it keeps for
each of them in `<git-dir>/opentraces/large-files.json`.

Snapshots of one worktree never collide: each is taken under a flock on
`<git-dir>/opentraces/snapshot.lock` (several sessions, or parallel tools of
one, wait their turn, for at most SNAPSHOT_WAIT seconds), and the lock's
descriptor is inherited by the git processes the snapshot runs, so it is
held until the last of them exits even if the hook is killed first. Holding
it, a lock file git left on the private index (a snapshot killed while git
wrote it) is provably stale, and is removed.
"""

from __future__ import annotations

import os
import stat
import time

from ..errors import GitCommandError
from . import locks
from . import state as state_paths
from .files import replace_file
from .git import environment, is_object_id
from .git import run as run_git
from .gitdir import Location

DEFAULT_MAX_FILE_SIZE = 10 * 1024 * 1024
# How long a snapshot waits for another one of the same worktree to finish
# (seconds): well within a harness's hook timeout; past it the snapshot
# fails and its step records so (a window whose lines are unknown).
SNAPSHOT_WAIT = 20.0
POINTER_HEADER = b"git-ot large file v1\n"
# How long the tree written last stands for an unchanged private index
# (seconds; see the module's doc).
TREE_KEPT = 3600.0

# Every git command that reads or writes the private index runs with these
# (git 2.31's GIT_CONFIG_COUNT, added to whatever the environment already
# holds), whatever the user's config says: the untracked cache and the split
# index on, and no expiry of shared index files (see the module's doc).
_INDEX_CONFIG = {
    "core.untrackedCache": "true",
    "core.splitIndex": "true",
    "splitIndex.sharedIndexExpire": "never",
}
# Every untracked file by name (as `ls-files --others`), no rename detection,
# and a submodule counts as changed only when its checked-out commit moved
# (as `ls-files --modified`): its own dirty files belong to the submodule.
_STATUS = ["status", "--porcelain", "-z", "--untracked-files=all", "--no-renames",
           "--ignore-submodules=dirty"]
# The untracked cache serves `--untracked-files=all` only when configured so.
_STATUS_CONFIG = {"status.showUntrackedFiles": "all"}


def configured_max_file_size() -> int:
    """The size limit above which a file is recorded by a pointer blob."""
    value = os.environ.get("GIT_OT_MAX_FILE_SIZE")
    return int(value) if value and value.isdigit() else DEFAULT_MAX_FILE_SIZE


def _with_config(env: dict, config: dict) -> dict:
    """`env` with `config` added to the configuration it gives git."""
    env = dict(env)
    count = env.get("GIT_CONFIG_COUNT", "")
    n = int(count) if count.isdigit() else 0
    for key, value in config.items():
        env[f"GIT_CONFIG_KEY_{n}"] = key
        env[f"GIT_CONFIG_VALUE_{n}"] = value
        n += 1
    env["GIT_CONFIG_COUNT"] = str(n)
    return env


def _env(index_file: str, location: Location) -> dict:
    env = environment()
    env["GIT_INDEX_FILE"] = index_file
    env["GIT_DIR"] = location.git_dir
    env["GIT_WORK_TREE"] = location.worktree
    # No optional locks: GIT_INDEX_FILE already keeps every command off the
    # user's index; this keeps them off any other lock too. `git status` is
    # the one exception, for the private index only (see _changed_paths).
    env["GIT_OPTIONAL_LOCKS"] = "0"
    return _with_config(env, _INDEX_CONFIG)


def _pointer(path: str, size: int) -> bytes:
    import hashlib  # only for large files: keep the hook path's imports light

    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return POINTER_HEADER + b"size %d\nsha256 %s\n" % (size, digest.hexdigest().encode())


def pointer_for(data: bytes) -> bytes:
    """The pointer blob recording `data`, a content over the size limit."""
    import hashlib  # only for large files: keep the hook path's imports light

    return POINTER_HEADER + b"size %d\nsha256 %s\n" % (len(data), hashlib.sha256(data).hexdigest().encode())


def _changed_paths(worktree: str, env: dict, fds: tuple = ()) -> dict[bytes, bytes]:
    """Paths whose working tree differs from the private index, untracked too.

    Each with its code in the second status column: modified, deleted,
    type-changed, intent-to-add, unmerged, and `?` for untracked; the first
    column (index against HEAD) does not matter to a snapshot. `git status`
    may write the private index: its refreshed stat data and untracked cache
    make the next call cheaper.
    """
    env = _with_config({**env, "GIT_OPTIONAL_LOCKS": "1"}, _STATUS_CONFIG)
    out = run_git(_STATUS, cwd=worktree, env=env, pass_fds=fds)
    paths: dict[bytes, bytes] = {}
    items = out.split(b"\0")
    i = 0
    while i < len(items):
        item = items[i]
        i += 1
        if len(item) < 4 or item[:1] == b"#":
            continue  # "#" starts a header line, which porcelain v1 never prints
        if item[:1] in (b"R", b"C"):
            i += 1  # a rename's source path follows (none with --no-renames)
        if item[1:2] != b" ":
            paths[item[3:]] = item[1:2]
    return paths


def _beyond_symlink(root: bytes, rel: bytes) -> bool:
    """Whether a leading directory of `rel` is a symlink (or not a directory)."""
    path = root
    for part in rel.split(b"/")[:-1]:
        path = os.path.join(path, part)
        try:
            if not stat.S_ISDIR(os.lstat(path).st_mode):
                return True
        except OSError:
            return False
    return False


class _LargeFileCache:
    """Stat data and pointer blob of every file recorded by a pointer.

    A large file is hashed once per change. Its index entry is marked
    assume-unchanged, so this cache is how its next change is noticed: every
    path in it is checked by lstat on each snapshot. Hence the order in
    take(): an entry is saved here before its index entry is marked, and
    dropped from here only after its index entry was replaced or removed.
    """

    def __init__(self, path: str):
        self.path = path
        self.entries: dict[str, list] = {}
        self.dirty = False
        if os.path.exists(path):
            import json

            try:
                with open(path, "r", encoding="utf-8") as fh:
                    self.entries = json.load(fh)
            except (OSError, ValueError):
                self.entries = {}

    def lookup(self, key: str, st: os.stat_result) -> str | None:
        hit = self.entries.get(key)
        if hit and hit[0] == st.st_size and hit[1] == st.st_mtime_ns and hit[2] == st.st_ino:
            return hit[3]
        return None

    def stale(self, worktree: bytes) -> list[bytes]:
        """Paths of recorded large files that changed or went away since."""
        out = []
        for key in self.entries:
            rel = key.encode("utf-8", "surrogateescape")
            try:
                st = os.lstat(os.path.join(worktree, rel))
            except OSError:
                out.append(rel)
                continue
            if self.lookup(key, st) is None:
                out.append(rel)
        return out

    def store(self, key: str, st: os.stat_result, oid: str) -> None:
        self.entries[key] = [st.st_size, st.st_mtime_ns, st.st_ino, oid]
        self.dirty = True

    def drop(self, key: str) -> None:
        if self.entries.pop(key, None) is not None:
            self.dirty = True

    def save(self) -> None:
        if self.dirty:
            import json

            replace_file(self.path, json.dumps(self.entries).encode("utf-8"))
            self.dirty = False


def _start_index(location: Location, index_file: str) -> None:
    """Copy the user's index, so the first snapshot reuses its stat data."""
    _forget_tree(os.path.dirname(index_file))
    user_index = os.path.join(location.git_dir, "index")
    if os.path.exists(user_index):
        # Not shutil: it (and the compression modules it imports) would
        # add a fifth to a hook's time.
        with open(user_index, "rb") as src:
            replace_file(index_file, src.read())
    elif os.path.exists(index_file):
        os.unlink(index_file)  # a new repository: git starts an empty index


def _shared_index_of(path: str, hash_len: int) -> str | None:
    """The shared index an index file links to (its `link` extension), if any.

    See git's gitformat-index(5): a header, the entries (padded to 8 bytes
    up to version 3, prefix-compressed in version 4), then the extensions.
    """
    with open(path, "rb") as fh:
        data = fh.read()
    if data[:4] != b"DIRC" or b"link" not in data:
        return None
    version = int.from_bytes(data[4:8], "big")
    count = int.from_bytes(data[8:12], "big")
    pos = 12
    fixed = 40 + hash_len  # stat data and object id, then 16 bits of flags
    for _ in range(count):
        flags = int.from_bytes(data[pos + fixed:pos + fixed + 2], "big")
        name = pos + fixed + 2 + (2 if version >= 3 and flags & 0x4000 else 0)
        if version == 4:
            p = name
            while data[p] & 0x80:  # the length of the prefix kept, a varint
                p += 1
            pos = data.index(b"\0", p + 1) + 1
        else:
            length = flags & 0xFFF
            if length == 0xFFF:
                length = data.index(b"\0", name) - name
            pos += (name - pos + length + 8) & ~7
    end = len(data) - hash_len
    while pos + 8 <= end:
        size = int.from_bytes(data[pos + 4:pos + 8], "big")
        if data[pos:pos + 4] == b"link":
            return data[pos + 8:pos + 8 + hash_len].hex()
        pos += 8 + size
    return None


def _prune_shared_indexes(location: Location, state: str, index_file: str,
                          hash_len: int) -> None:
    """Delete the shared index file the private index stopped using, if any.

    `<state>/snapshot.shared` names the shared index the private index used
    last; when that changes, the old one is deleted unless the user's index
    uses it. Best effort: a failure here never fails a snapshot.
    """
    record = os.path.join(state, "snapshot.shared")
    try:
        current = _shared_index_of(index_file, hash_len) or ""
        try:
            with open(record, "r", encoding="ascii") as fh:
                previous = fh.read().strip()
        except FileNotFoundError:
            previous = ""
        if current == previous:
            return
        user_index = os.path.join(location.git_dir, "index")
        if previous and (not os.path.exists(user_index)
                         or _shared_index_of(user_index, hash_len) != previous):
            try:
                os.unlink(os.path.join(location.git_dir, "sharedindex." + previous))
            except FileNotFoundError:
                pass
        with open(record + ".tmp", "w", encoding="ascii") as fh:
            fh.write(current + "\n")
        os.replace(record + ".tmp", record)
    except (OSError, ValueError, IndexError):
        pass


def take(location: Location, max_file_size: int = DEFAULT_MAX_FILE_SIZE,
         wait: float = SNAPSHOT_WAIT) -> str:
    """Write a tree of the working tree and return its id (hex).

    Raises LockBusy when another snapshot of the worktree held the lock for
    `wait` seconds."""
    worktree = location.require_worktree("snapshot")
    state = location.worktree_state_dir
    os.makedirs(state, exist_ok=True)
    with locks.hold(state_paths.snapshot_lock(state), wait, inheritable=True) as fd:
        index_file = state_paths.snapshot_index(state)
        try:
            # Only a snapshot holding this lock (or a git it started) writes
            # the private index: a lock file on it now was left by one killed.
            os.unlink(index_file + ".lock")
        except FileNotFoundError:
            pass
        return _take(location, worktree, state, index_file, max_file_size, (fd,))


def _take(location: Location, worktree: str, state: str, index_file: str,
          max_file_size: int, fds: tuple) -> str:
    if not os.path.exists(index_file):
        _start_index(location, index_file)
    env = _env(index_file, location)
    root = os.fsencode(worktree)

    def git(args: list[str], input: bytes | None = None) -> bytes:
        return run_git(args, cwd=worktree, env=env, input=input, pass_fds=fds)

    try:
        listed = _changed_paths(worktree, env, fds)
    except GitCommandError:
        # A private index git cannot read is only a cache: start it again.
        _start_index(location, index_file)
        listed = _changed_paths(worktree, env, fds)
    cache = _LargeFileCache(state_paths.large_files(state))
    # Files recorded by a pointer are assume-unchanged: status never lists them.
    was_large = set(cache.stale(root))
    paths = was_large.union(listed)
    if not paths:
        tree = _kept_tree(state)
        if tree is not None:
            return tree
    if paths:
        _forget_tree(state)  # the index changes: the tree kept is not its own any more
        force_remove: list[bytes] = []
        update: list[bytes] = []
        large: list[tuple[bytes, str]] = []
        for rel in sorted(paths):
            key = rel.decode("utf-8", "surrogateescape")
            full = os.path.join(root, rel)
            try:
                st = os.lstat(full)
            except OSError:
                st = None
            if st is None or listed.get(rel) == b"D":
                # Gone: update-index --remove drops it, except beyond a
                # symlink (a directory replaced by one), which it refuses.
                (force_remove if _beyond_symlink(root, rel) else update).append(rel)
                continue
            if stat.S_ISREG(st.st_mode) and st.st_size > max_file_size:
                oid = cache.lookup(key, st)
                if oid is None:
                    oid = run_git(["hash-object", "-w", "--stdin"], env=env, pass_fds=fds,
                                  input=_pointer(full, st.st_size)).decode().strip()
                    cache.store(key, st, oid)
                large.append((rel, oid))
                continue
            if rel in was_large:
                # Its entry is assume-unchanged, which update-index --add
                # leaves as it is: remove it first.
                force_remove.append(rel)
                if stat.S_ISDIR(st.st_mode):
                    continue  # status lists the files now inside it
            update.append(rel)
        if force_remove:
            git(["update-index", "-z", "--force-remove", "--stdin"],
                input=b"\0".join(force_remove) + b"\0")
        if update:
            # --replace: a path that turned from a directory into a file, or
            # back, replaces the entries in its way.
            git(["update-index", "-z", "--add", "--remove", "--replace", "--stdin"],
                input=b"\0".join(update) + b"\0")
        if large:
            info = b"".join(b"100644 %s\t%s\0" % (oid.encode(), rel) for rel, oid in large)
            git(["update-index", "-z", "--index-info"], input=info)
        for rel in was_large.difference(rel for rel, _ in large):
            cache.drop(rel.decode("utf-8", "surrogateescape"))
        cache.save()
        if large:
            git(["update-index", "-z", "--assume-unchanged", "--stdin"],
                input=b"".join(rel + b"\0" for rel, _ in large))
    tree = git(["write-tree"]).decode().strip()
    _prune_shared_indexes(location, state, index_file, len(tree) // 2)
    _keep_tree(state, tree)
    return tree


def _kept_tree(state: str) -> str | None:
    """The tree written from the private index as it is, when kept and
    younger than TREE_KEPT seconds (see the module's doc)."""
    path = state_paths.snapshot_tree(state)
    try:
        with open(path, "rb") as fh:
            tree = fh.read().decode("ascii").strip()
            age = time.time() - os.fstat(fh.fileno()).st_mtime
    except (OSError, UnicodeDecodeError):
        return None
    if not is_object_id(tree) or not 0 <= age < TREE_KEPT:
        return None
    return tree


def _keep_tree(state: str, tree: str) -> None:
    try:
        replace_file(state_paths.snapshot_tree(state), tree.encode("ascii") + b"\n")
    except OSError:
        pass  # the next snapshot writes its tree again


def _forget_tree(state: str) -> None:
    try:
        os.unlink(state_paths.snapshot_tree(state))
    except FileNotFoundError:
        pass
