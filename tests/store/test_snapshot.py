"""Snapshots: the working tree as a git tree, without touching the user's state."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time

from support.repo import git


def ls_tree(repo, tree):
    out = git(repo.path, "ls-tree", "-r", "-z", "--full-tree", tree)
    entries = {}
    for item in out.split("\0"):
        if item:
            meta, path = item.split("\t", 1)
            mode, kind, oid = meta.split()
            entries[path] = (mode, oid)
    return entries


def snap(repo, env=None) -> str:
    proc = repo.ot("snapshot", env=env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.decode().strip()


def user_state(repo):
    index = (repo.path / ".git/index").read_bytes()
    return (index, repo.git("rev-parse", "HEAD"), repo.git("status", "--porcelain=v1", "-uall"),
            repo.git("for-each-ref"))


def test_tracked_untracked_never_ignored_and_user_state_untouched(repo):
    repo.write(".gitignore", "build/\n*.log\n")
    repo.commit("ignore")
    repo.write("app.py", "changed\n")
    repo.write("new/dir/file.txt", "untracked\n")
    repo.write("build/out.bin", "ignored\n")
    repo.write("debug.log", "ignored\n")
    (repo.path / "README.md").unlink()
    repo.git("add", "app.py")  # staged and then changed again in the tree
    repo.write("app.py", "changed twice\n")
    before = user_state(repo)
    tree = snap(repo)
    assert user_state(repo) == before
    entries = ls_tree(repo, tree)
    assert sorted(entries) == [".gitignore", "app.py", "new/dir/file.txt"]
    assert git(repo.path, "cat-file", "blob", entries["app.py"][1]) == "changed twice\n"
    repo.fsck()


def test_incremental_snapshot_sees_every_change(repo):
    first = snap(repo)
    assert snap(repo) == first
    repo.write("app.py", "v2\n")
    second = snap(repo)
    assert second != first
    assert git(repo.path, "cat-file", "blob", ls_tree(repo, second)["app.py"][1]) == "v2\n"
    # Same size, same second: content must still be seen (racy-git safe).
    repo.write("app.py", "v3\n")
    third = snap(repo)
    assert git(repo.path, "cat-file", "blob", ls_tree(repo, third)["app.py"][1]) == "v3\n"
    (repo.path / "app.py").unlink()
    assert "app.py" not in ls_tree(repo, snap(repo))


def test_an_unchanged_working_tree_is_not_written_again(repo):
    """The tree written last stands for the private index while nothing
    changed: no `git write-tree` runs (store/snapshot.py, TREE_KEPT)."""
    first = snap(repo)
    kept = repo.path / ".git/opentraces/snapshot.tree"
    assert kept.read_text() == first + "\n"
    # Another tree named there comes back as it is: nothing wrote the tree again.
    other = repo.git("mktree", input="").strip()
    kept.write_text(other + "\n")
    assert snap(repo) == other
    # A change: the tree kept goes, and the new one is kept.
    repo.write("app.py", "v2\n")
    second = snap(repo)
    assert second not in (first, other)
    assert git(repo.path, "cat-file", "blob", ls_tree(repo, second)["app.py"][1]) == "v2\n"
    assert kept.read_text() == second + "\n"
    # Older than TREE_KEPT, or not a tree id: written again.
    kept.write_text(other + "\n")
    os.utime(kept, (time.time() - 3601, time.time() - 3601))
    assert snap(repo) == second
    kept.write_text("not a tree\n")
    assert snap(repo) == second
    # A private index started again (from the user's) is not the one the tree was written from.
    repo.commit("v2")
    kept.write_text(other + "\n")
    (repo.path / ".git/opentraces/snapshot.index").unlink()
    assert snap(repo) == second


def test_symlinks_executables_and_non_utf8_names(repo):
    os.symlink("app.py", repo.path / "link")
    script = repo.write("run.sh", "#!/bin/sh\n")
    script.chmod(0o755)
    weird = os.fsencode(str(repo.path)) + b"/caf\xe9.txt"
    with open(weird, "wb") as fh:
        fh.write(b"latin-1 name\n")
    raw = subprocess.run(["git", "ls-tree", "-r", "-z", snap(repo)], cwd=repo.path,
                         capture_output=True, check=True).stdout
    assert b"120000 blob" in raw and b"\tlink\0" in raw
    assert b"100755 blob" in raw and b"\trun.sh\0" in raw
    assert b"\tcaf\xe9.txt\0" in raw


def test_large_file_is_recorded_by_a_pointer(repo):
    data = os.urandom(4096)
    repo.path.joinpath("big.bin").write_bytes(data)
    env = {**os.environ, "GIT_OT_MAX_FILE_SIZE": "1024"}
    entries = ls_tree(repo, snap(repo, env=env))
    pointer = git(repo.path, "cat-file", "blob", entries["big.bin"][1])
    assert pointer == ("git-ot large file v1\n"
                       f"size 4096\nsha256 {hashlib.sha256(data).hexdigest()}\n")
    # The content itself never became an object.
    content_oid = git(repo.path, "hash-object", "big.bin").strip()
    proc = subprocess.run(["git", "cat-file", "-e", content_oid], cwd=repo.path)
    assert proc.returncode != 0


def test_hundred_megabyte_file(repo):
    with open(repo.path / "huge.dat", "wb") as fh:
        fh.truncate(100 * 1024 * 1024)
    entries = ls_tree(repo, snap(repo))
    pointer = git(repo.path, "cat-file", "blob", entries["huge.dat"][1])
    assert pointer.startswith("git-ot large file v1\nsize 104857600\nsha256 ")
    assert snap(repo) == snap(repo)  # cached by stat: stable and cheap


def test_empty_repository_and_submodule(empty_repo, repo, tmp_path):
    empty_repo.write("first.txt", "one\n")
    assert sorted(ls_tree(empty_repo, snap(empty_repo))) == ["first.txt"]
    sub = tmp_path / "subsrc"
    sub.mkdir()
    git(sub, "init", "-q")
    (sub / "s.txt").write_text("s\n")
    git(sub, "add", ".")
    git(sub, "commit", "-qm", "s")
    repo.git("-c", "protocol.file.allow=always", "submodule", "-q", "add", str(sub), "vendor/sub")
    repo.commit("submodule")
    entries = ls_tree(repo, snap(repo))
    assert entries["vendor/sub"][0] == "160000"
    assert entries["vendor/sub"][1] == git(sub, "rev-parse", "HEAD").strip()
    repo.fsck()


def test_linked_worktrees_have_their_own_snapshot_index(repo, tmp_path):
    wt = tmp_path / "wt"
    repo.git("worktree", "add", "-q", "-b", "side", str(wt))
    (wt / "only-in-wt.txt").write_text("wt\n")
    from support.repo import Repo

    in_wt = ls_tree(repo, snap(Repo(wt)))
    in_main = ls_tree(repo, snap(repo))
    assert "only-in-wt.txt" in in_wt and "only-in-wt.txt" not in in_main
    assert (repo.path / ".git/worktrees/wt/opentraces/snapshot.index").exists()


def test_directory_replaced_by_a_file_and_by_a_symlink(repo):
    repo.write("pkg/mod.py", "m\n")
    repo.write("other/x.py", "x\n")
    snap(repo)
    import shutil

    shutil.rmtree(repo.path / "pkg")
    repo.write("pkg", "now a file\n")
    shutil.rmtree(repo.path / "other")
    os.symlink("pkg", repo.path / "other")
    entries = ls_tree(repo, snap(repo))
    assert entries["pkg"][0] == "100644" and "pkg/mod.py" not in entries
    assert entries["other"][0] == "120000" and "other/x.py" not in entries


def test_a_damaged_private_index_is_rebuilt(repo):
    first = snap(repo)
    index = repo.path / ".git/opentraces/snapshot.index"
    index.write_bytes(index.read_bytes()[:20])
    assert snap(repo) == first


def test_the_users_split_index_is_left_alone(repo):
    repo.git("update-index", "--split-index")
    shared = sorted(p.name for p in (repo.path / ".git").glob("sharedindex.*"))
    before = user_state(repo)
    repo.write("new.txt", "n\n")
    assert "new.txt" in ls_tree(repo, snap(repo))
    repo.write("new2.txt", "n\n")
    assert "new2.txt" in ls_tree(repo, snap(repo))
    assert [p.name for p in (repo.path / ".git").glob("sharedindex.*") if p.name in shared] == shared
    assert user_state(repo)[0] == before[0]
    repo.git("status")  # the user's index still reads


def test_snapshots_taken_at_once_wait_for_each_other(repo):
    """Codex runs the hooks of parallel tool calls together: each snapshot
    must still be taken, not fail on the private index's lock."""
    for i in range(200):
        repo.write(f"many/f{i}.txt", f"{i}\n")
    procs = [subprocess.Popen([sys.executable, "-m", "git_ot", "snapshot"], cwd=repo.path, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for _ in range(6)]
    results = [(p.wait(), *p.communicate()) for p in procs]
    assert [(code, err) for code, _, err in results] == [(0, b"")] * 6
    assert len({out for _, out, _ in results}) == 1
    assert (repo.path / ".git/opentraces/snapshot.lock").exists()
