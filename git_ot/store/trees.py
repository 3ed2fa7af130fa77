"""Snapshot trees: the blobs one adds to history, and a copy with blobs replaced.

The security gate reads every blob a snapshot adds (`added_blobs`) and,
when one holds a secret, stores the snapshot as a copy of its tree with a
redacted blob in its place (`rewrite_tree`), modes and every other entry
kept.
"""

from __future__ import annotations

import pygit2

from .git import run as run_git
from .repository import Store


def added_blobs(store: Store, tree_oid: str, base_oid: str | None,
                memo: dict | None = None) -> list[tuple[bytes, str]]:
    """(path, blob id) of every blob in the tree that the base tree does not
    hold at the same path: what a snapshot adds to the repository's history.

    `memo`, kept by the caller across calls, spares walking again a pair of
    subtrees walked before (consecutive snapshots share most of theirs).
    """
    repo = store.repo
    out: list[tuple[bytes, str]] = []
    if memo is None:
        memo = {}

    def walk(tree, base, prefix: bytes):
        key = (str(tree.id), str(base.id) if base is not None else None)
        if key in memo:
            out.extend((prefix + p, o) for p, o in memo[key])
            return
        start = len(out)
        base_entries = {e.raw_name: e for e in base} if base is not None else {}
        for e in tree:
            b = base_entries.get(e.raw_name)
            if b is not None and b.id == e.id:
                continue
            if e.type_str == "tree":
                walk(e, b if b is not None and b.type_str == "tree" else None, prefix + e.raw_name + b"/")
            elif e.type_str == "blob":
                out.append((prefix + e.raw_name, str(e.id)))
        memo[key] = [(p[len(prefix):], o) for p, o in out[start:]]

    base = None
    if base_oid:
        try:
            base = repo[base_oid]
            base = base.peel(pygit2.Tree)
        except (KeyError, ValueError, pygit2.GitError):
            base = None
    walk(store.get(tree_oid, "snapshot"), base, b"")
    return out


def rewrite_tree(store: Store, tree_oid: str, changes: dict[bytes, str]) -> str:
    """The tree with the blobs at the given paths replaced (modes kept)."""
    repo = store.repo

    def rewrite(tree, changes: dict[bytes, str]) -> str:
        nested: dict[bytes, dict[bytes, str]] = {}
        direct: dict[bytes, str] = {}
        for path, oid in changes.items():
            head, sep, rest = path.partition(b"/")
            if sep:
                nested.setdefault(head, {})[rest] = oid
            else:
                direct[head] = oid
        entries = {e.raw_name: e for e in tree}
        new: dict[bytes, tuple[str, int]] = {}
        for name, sub in nested.items():
            new[name] = (rewrite(entries[name], sub), entries[name].filemode)
        for name, oid in direct.items():
            new[name] = (oid, entries[name].filemode)
        try:
            builder = repo.TreeBuilder(tree)
            for name, (oid, mode) in new.items():
                builder.insert(name.decode("utf-8"), pygit2.Oid(hex=oid), mode)
            return str(builder.write())
        except UnicodeDecodeError:
            # A name that is not UTF-8, which TreeBuilder cannot take: git can.
            lines = []
            for name, e in entries.items():
                oid, mode = new.get(name, (str(e.id), e.filemode))
                kind = "tree" if mode == pygit2.GIT_FILEMODE_TREE else \
                    "commit" if mode == pygit2.GIT_FILEMODE_COMMIT else "blob"
                lines.append(b"%06o %s %s\t%s\0" % (mode, kind.encode(), oid.encode(), name))
            loc = store.location
            return run_git(["--git-dir", loc.git_dir, "mktree", "-z"], input=b"".join(lines)).decode().strip()

    return rewrite(store.get(tree_oid, "snapshot"), changes)


def path_fields(raw: bytes, prefix: str = "") -> dict:
    """A tree path as record fields: `path` as text, and `path_raw`, the exact
    bytes, when they are not UTF-8 (refs/README.md)."""
    out = {prefix + "path": raw.decode("utf-8", "backslashreplace")}
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        out[prefix + "path_raw"] = raw
    return out
