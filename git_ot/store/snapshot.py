"""Worktree snapshots: a git tree of the working tree, taken on the hook path.

A snapshot holds every tracked and untracked file, never an ignored one and
never `.git`, and touches neither the user's index, HEAD nor branches. It is
built with git's own plumbing against a private index file per worktree
(`<git-dir>/opentraces/snapshot.index`): git's stat cache in that index makes
every snapshot after the first incremental, exactly as `git add -A` is on a
warm index. The private index starts as a copy of the user's index so even
the first snapshot reuses the stat information git already has.

Files larger than the size limit are recorded by a small pointer blob
(size and SHA-256, see refs/README.md) instead of their content.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat

from .gitdir import Location, run_git

DEFAULT_MAX_FILE_SIZE = 10 * 1024 * 1024
POINTER_HEADER = b"git-ot large file v1\n"


def configured_max_file_size() -> int:
    """The size limit above which a file is recorded by a pointer blob."""
    value = os.environ.get("GIT_OT_MAX_FILE_SIZE")
    return int(value) if value and value.isdigit() else DEFAULT_MAX_FILE_SIZE


def _env(index_file: str, location: Location) -> dict:
    env = dict(os.environ)
    env["GIT_INDEX_FILE"] = index_file
    env["GIT_DIR"] = location.git_dir
    env["GIT_WORK_TREE"] = location.worktree
    # Never write the user's index or take its lock: status refreshes are
    # optional locks in git's terms.
    env["GIT_OPTIONAL_LOCKS"] = "0"
    return env


def _pointer(path: str, size: int) -> bytes:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return POINTER_HEADER + b"size %d\nsha256 %s\n" % (size, digest.hexdigest().encode())


class _LargeFileCache:
    """Stat cache for pointer blobs, so a large file is hashed once."""

    def __init__(self, path: str):
        self.path = path
        self.entries: dict[str, list] = {}
        self.dirty = False
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

    def store(self, key: str, st: os.stat_result, oid: str) -> None:
        self.entries[key] = [st.st_size, st.st_mtime_ns, st.st_ino, oid]
        self.dirty = True

    def save(self) -> None:
        if self.dirty:
            tmp = self.path + ".tmp"
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(self.entries, fh)
            os.replace(tmp, self.path)


def take(location: Location, max_file_size: int = DEFAULT_MAX_FILE_SIZE) -> str:
    """Write a tree of the working tree and return its id (hex)."""
    worktree = location.require_worktree("snapshot")
    state = location.worktree_state_dir
    os.makedirs(state, exist_ok=True)
    index_file = os.path.join(state, "snapshot.index")
    if not os.path.exists(index_file):
        user_index = os.path.join(location.git_dir, "index")
        if os.path.exists(user_index):
            shutil.copyfile(user_index, index_file + ".tmp")
            os.replace(index_file + ".tmp", index_file)
    env = _env(index_file, location)

    # Everything that differs from the private index: modified, deleted and
    # untracked (not ignored) paths, NUL-separated so any byte is fine.
    listed = run_git(
        ["ls-files", "-z", "--modified", "--deleted", "--others",
         "--exclude-standard", "--deduplicate"],
        cwd=worktree, env=env,
    )
    paths = sorted({p for p in listed.split(b"\0") if p})
    if paths:
        normal: list[bytes] = []
        large: list[tuple[bytes, str]] = []
        cache = None
        for rel in paths:
            full = os.path.join(os.fsencode(worktree), rel)
            try:
                st = os.lstat(full)
            except OSError:
                normal.append(rel)  # deleted: update-index --remove drops it
                continue
            if stat.S_ISREG(st.st_mode) and st.st_size > max_file_size:
                if cache is None:
                    cache = _LargeFileCache(os.path.join(state, "large-files.json"))
                key = rel.decode("utf-8", "surrogateescape")
                oid = cache.lookup(key, st)
                if oid is None:
                    oid = run_git(["hash-object", "-w", "--stdin"], env=env,
                                  input=_pointer(full, st.st_size)).decode().strip()
                    cache.store(key, st, oid)
                large.append((rel, oid))
            else:
                normal.append(rel)
        if normal:
            run_git(["update-index", "-z", "--add", "--remove", "--stdin"],
                    cwd=worktree, env=env, input=b"\0".join(normal) + b"\0")
        if large:
            info = b"".join(b"100644 %s\t%s\0" % (oid.encode(), rel) for rel, oid in large)
            run_git(["update-index", "-z", "--index-info"], cwd=worktree, env=env, input=info)
        if cache is not None:
            cache.save()
    return run_git(["write-tree"], cwd=worktree, env=env).decode().strip()
