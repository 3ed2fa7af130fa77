"""store/packs.py: objects kept for one pack are git's objects, and git reads the pack."""

from __future__ import annotations

import subprocess

import pytest

from git_ot.errors import CorruptRecord, GitCommandError, MissingObject
from git_ot.store.gitdir import locate
from git_ot.store.packs import PackBuffer
from git_ot.store.repository import Store
from git_ot.store.snapshot import pointer_for
from support.repo import git

LIMIT = 4096
FILES = [("app.py", b"print('hi')\n"), ("src/pkg/deep/mod.py", b"x = 1\n" * 500), ("docs/\u00e9.md", "\u00fc\n".encode()),
         ("big.bin", b"\0\1" * 5000), ("empty.txt", b"")]


def cat(repo, spec: str) -> bytes:
    return subprocess.run(["git", "cat-file", "blob", spec], cwd=repo.path, check=True, capture_output=True).stdout


def test_trees_are_those_write_file_tree_makes_and_git_reads_the_pack(repo):
    store = Store(locate(str(repo.path)))
    pack = PackBuffer(store)
    ours = [pack.file_tree(path, data, LIMIT) for path, data in FILES]
    empty = pack.file_tree("gone.py", None, LIMIT)
    # 5 blobs; trees: 1 + 4 + 2 + 1 + 1, and the empty tree.
    assert pack.flush() == 5 + 9 + 1
    packs = sorted(p.name for p in (repo.path / ".git/objects/pack").iterdir())
    assert [p.rsplit(".", 1)[1] for p in packs] == ["idx", "pack"]
    git(repo.path, "verify-pack", str(repo.path / ".git/objects/pack" / packs[0]))
    for (path, data), tree in zip(FILES, ours):
        assert cat(repo, f"{tree}:{path}") == (data if len(data) <= LIMIT else pointer_for(data))
        assert store.read_blob(f"{store.repo.revparse_single(tree + ':' + path).id}", "test") == cat(
            repo, f"{tree}:{path}")  # this process's store reads the new pack at once
    # Written loose by pygit2, the same trees have the same ids.
    for (path, data), tree in zip(FILES, ours):
        assert store.write_file_tree(path, data, LIMIT) == tree
    assert store.write_file_tree("gone.py", None, LIMIT) == empty
    # Kept again, what the repository holds is not written again.
    again = PackBuffer(store)
    for path, data in FILES:
        again.file_tree(path, data, LIMIT)
    assert again.flush() == 0
    assert sorted(p.name for p in (repo.path / ".git/objects/pack").iterdir()) == packs


def test_a_tree_kept_for_the_pack_is_the_tree_git_writes_and_few_objects_go_loose(repo):
    store = Store(locate(str(repo.path)))
    pack = PackBuffer(store)
    blob = bytes.fromhex(pack.blob(b"x\n"))
    sub = pack.tree({b"f": (b"100644", blob)})
    # git's order: a tree's name compared as if it ended in "/" ("a" after "a.b", before "a0").
    entries = {b"a": (b"40000", sub), b"a.b": (b"100644", blob), b"a0": (b"100644", blob),
               b"\xc3\xa9": (b"100644", blob)}
    root = pack.tree(entries)
    assert pack.flush(loose_below=100) == 3
    assert not (repo.path / ".git/objects/pack").exists() or not any((repo.path / ".git/objects/pack").iterdir())
    listing = subprocess.run(["git", "ls-tree", root.hex()], cwd=repo.path, check=True,
                             capture_output=True).stdout.decode()
    assert [line.split("\t")[1] for line in listing.splitlines()] == ["a.b", "a", "a0", '"\\303\\251"']
    git(repo.path, "fsck", "--strict", "--no-dangling")
    # pygit2's TreeBuilder writes the same tree.
    builder = store.repo.TreeBuilder()
    for name, (mode, oid) in entries.items():
        builder.insert(name.decode(), store.repo[oid.hex()].id, int(mode, 8))
    assert builder.write().raw == root


def test_a_store_that_listed_what_it_holds_writes_the_same_objects_and_learns_its_own(repo, monkeypatch):
    """An import lists the repository's objects once (`held`) instead of
    asking libgit2 for each; the packs it writes hold what the asking would
    have written, no more, and what it wrote counts as held after."""
    from git_ot.store import packs

    store = Store(locate(str(repo.path)))
    committed = cat(repo, "HEAD:app.py")  # a blob the repository holds, loose
    store.held_objects = packs.held(store)
    assert bytes.fromhex(git(repo.path, "rev-parse", "HEAD:app.py").strip()) in store.held_objects
    assert len(store.held_objects) == len(git(repo.path, "cat-file", "--batch-all-objects",
                                              "--batch-check=%(objectname)").split())
    pack = PackBuffer(store)
    pack.blob(committed)
    new = pack.blob(b"new\n")
    assert pack.flush(loose_below=100) == 1  # the committed blob is not written again
    assert bytes.fromhex(new) in store.held_objects
    again = PackBuffer(store)
    again.blob(b"new\n")
    assert again.flush() == 0
    # A repository past the bound is not listed: libgit2 is asked instead;
    # so it is when git cannot list it.
    monkeypatch.setattr(packs, "HELD_MAX", 1)
    assert packs.held(store) is None
    monkeypatch.setattr(packs, "HELD_MAX", 10**6)

    def fails(args, **kwargs):
        raise GitCommandError(f"git {args[0]} failed")

    monkeypatch.setattr(packs, "run_git", fails)
    assert packs.held(store) is None


def test_read_blob_reads_a_blob_and_refuses_what_is_not_one(repo):
    store = Store(locate(str(repo.path)))
    blob = git(repo.path, "rev-parse", "HEAD:app.py").strip()
    assert store.read_blob(blob, "test") == cat(repo, "HEAD:app.py")
    assert store.read_blob(store.repo[blob].id, "test") == cat(repo, "HEAD:app.py")  # an Oid too
    with pytest.raises(CorruptRecord, match="is not a blob"):
        store.read_blob(git(repo.path, "rev-parse", "HEAD^{tree}").strip(), "test")
    for missing in ("0" * 40, "not an id"):
        with pytest.raises(MissingObject, match="of test is missing"):
            store.read_blob(missing, "test")
