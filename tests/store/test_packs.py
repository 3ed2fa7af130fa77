"""store/packs.py: objects kept for one pack are git's objects, and git reads the pack."""

from __future__ import annotations

import subprocess

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
