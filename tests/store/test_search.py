"""The query index's reader of git's ref files, against libgit2's view of
the same refs: packed, loose, a loose one overriding its packed copy, one
deleted after packing, and a lock file being written."""

from __future__ import annotations

import pygit2

from git_ot.store import search
from git_ot.store.refs import SESSIONS_PREFIX


def libgit2_tips(path) -> dict[str, str]:
    repo = pygit2.Repository(str(path))
    return {r[len(SESSIONS_PREFIX):]: str(repo.references[r].target)
            for r in repo.references if r.startswith(SESSIONS_PREFIX)}


def test_tips_from_files_are_libgit2s(repo):
    common = repo.path / ".git"
    assert search.session_tips_from_files(str(common), SESSIONS_PREFIX) == {}
    one = repo.git("rev-parse", "HEAD").strip()
    repo.write("b.txt", "b\n")
    two = repo.commit("second")
    for sid in ("packed-a", "packed-b", "gone"):
        repo.git("update-ref", f"{SESSIONS_PREFIX}{sid}", one)
    repo.git("pack-refs", "--all")
    repo.git("update-ref", f"{SESSIONS_PREFIX}packed-b", two)  # loose, over its packed copy
    repo.git("update-ref", f"{SESSIONS_PREFIX}loose", two)
    repo.git("update-ref", "-d", f"{SESSIONS_PREFIX}gone")
    repo.git("update-ref", "refs/heads/other", one)  # not a session
    (common / "refs" / "opentraces" / "sessions" / "being-written.lock").write_text(two + "\n")
    got = search.session_tips_from_files(str(common), SESSIONS_PREFIX)
    assert got == libgit2_tips(repo.path) == {"packed-a": one, "packed-b": two, "loose": two}
    (common / "refs" / "opentraces" / "sessions" / "being-written.lock").unlink()


def test_what_is_not_plain_files_is_left_to_libgit2(repo):
    common = repo.path / ".git"
    folder = common / "refs" / "opentraces" / "sessions"
    folder.mkdir(parents=True)
    (folder / "symbolic").write_text("ref: refs/heads/main\n")
    assert search.session_tips_from_files(str(common), SESSIONS_PREFIX) is None
    (folder / "symbolic").unlink()
    (common / "reftable").mkdir()
    assert search.session_tips_from_files(str(common), SESSIONS_PREFIX) is None
    (common / "reftable").rmdir()
