"""A plain `git push` of the bucket's remote carries the approved sessions.

With `git ot remote set origin --plain-git` and `git ot init`'s pre-push
hook, `git push origin` starts `git ot push origin` in the background; the
code's push neither waits for it nor fails with it. Real git, a real
`git daemon` (the `server` fixture of tests/share/conftest.py), no mocks. The hook creates
`push.lock` before it returns and the background push removes it when done,
so a test waits for the lock to go.
"""

from __future__ import annotations

import os
import re
import subprocess
import time

from support.repo import Repo, git
from support.share import add_note_line, main_commit, make_clone, note_line, notes, ok, record_session, sessions

HEADER = re.compile(r"^--- \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d git ot push origin$")


def state(repo, name: str):
    return repo.path / ".git" / "opentraces" / name


def set_up(tmp_path, server, plain_git: bool = True):
    """A clone with git-ot's hooks, s1 approved and s2 not, and a note for s1."""
    repo = make_clone(server.url, tmp_path / "a")
    ok(repo.ot("init"))
    ok(repo.ot("remote", "set", "origin", "--plain-git" if plain_git else "--no-plain-git"))
    record_session(repo, "s1", "one")
    record_session(repo, "s2", "two")
    ok(repo.ot("approve", "s1"))
    add_note_line(repo, main_commit(repo.path), note_line("s1"))
    repo.write("app.py", "print('hello')\n")
    repo.commit("code")
    return repo


def plain_push(repo, *args) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "push", "-q", *args], cwd=repo.path, capture_output=True, text=True)


def wait_for_background_push(repo) -> list[str]:
    """The lines of push.log once the background push removed its lock."""
    deadline = time.monotonic() + 60
    while state(repo, "push.lock").exists():
        assert time.monotonic() < deadline, "the background push did not finish"
        time.sleep(0.05)
    return state(repo, "push.log").read_text().splitlines()


def push_main(repo, server) -> list[str]:
    """A plain `git push origin main`: it succeeds silently and the code
    lands; the lines the background push then logged, after its header."""
    proc = plain_push(repo, "origin", "main")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    assert server.git("rev-parse", "refs/heads/main") == repo.git("rev-parse", "refs/heads/main")
    log = wait_for_background_push(repo)
    assert HEADER.match(log[0]), log
    return log[1:]


def test_a_plain_push_carries_the_approved_sessions_and_the_notes(tmp_path, server):
    a = set_up(tmp_path, server)
    assert a.ot("remote", "show").stdout.decode().splitlines() == [
        f"origin\t{server.url}", "plain git fetch/push: yes", "approval required: yes"]
    assert push_main(a, server) == [
        "pushed 1 session to origin; notes pushed",
        "error: 1 session is not approved for sharing: s2",
        "hint: review with 'git ot trace show SESSION', then 'git ot approve SESSION...' "
        "(or 'git ot approve --all')",
    ]
    assert sessions(server.path) == {"s1": sessions(a.path)["s1"]}
    assert notes(server.path) == notes(a.path)
    assert notes(server.path)[a.git("rev-parse", "main~1").strip()] == [note_line("s1")]
    assert sorted(p.name for p in state(a, "").iterdir() if p.name.startswith("push.")) == ["push.log"]
    assert not state(a, "log").exists()

    # The next plain push runs again, with its own header, and finds nothing new.
    ok(a.ot("approve", "s2"))
    proc = plain_push(a, "origin", "main")
    assert (proc.returncode, proc.stderr) == (0, "")
    log = wait_for_background_push(a)
    assert HEADER.match(log[4]), log
    assert log[5:] == ["pushed 1 session to origin; notes up to date"]
    assert sessions(server.path) == sessions(a.path)


def test_without_plain_git_or_to_another_remote_a_plain_push_starts_nothing(tmp_path, server):
    a = set_up(tmp_path, server, plain_git=False)
    assert a.ot("remote", "show").stdout.decode().splitlines()[1] == "plain git fetch/push: no"
    proc = plain_push(a, "origin", "main")
    assert (proc.returncode, proc.stderr) == (0, "")
    # The hook takes the lock before it returns: no lock and no log, nothing started.
    assert not state(a, "push.lock").exists() and not state(a, "push.log").exists()

    ok(a.ot("remote", "set", "origin", "--plain-git"))
    other = tmp_path / "other.git"
    git(tmp_path, "init", "-q", "--bare", str(other))
    a.git("remote", "add", "other", str(other))
    proc = plain_push(a, "other", "main")
    assert (proc.returncode, proc.stderr) == (0, "")
    proc = plain_push(a, str(other), "main")  # by URL, not by name: not the bucket's remote either
    assert (proc.returncode, proc.stderr) == (0, "")
    assert not state(a, "push.lock").exists() and not state(a, "push.log").exists()
    assert server.git("for-each-ref", "--format=%(refname)").splitlines() == ["refs/heads/main"]
    assert git(other, "for-each-ref", "--format=%(refname)").splitlines() == ["refs/heads/main"]
    assert not state(a, "log").exists()


def test_a_failing_bucket_push_never_fails_the_code_push(tmp_path, server):
    server.git("config", "receive.hideRefs", "refs/opentraces")  # refuses every session ref
    a = set_up(tmp_path, server)
    assert push_main(a, server) == [
        "error: 'origin' rejected 'refs/opentraces/sessions/s1': deny updating a hidden ref",
        "hint: the remote refuses git-ot's refs; ask its administrator",
    ]
    assert sessions(server.path) == {}


def test_one_bucket_push_at_a_time_and_a_dead_ones_lock_is_taken_over(tmp_path, server):
    a = set_up(tmp_path, server)
    lock = state(a, "push.lock")
    # A live process holds the lock (this one): no second push starts.
    lock.write_text(f"{os.getpid()}\n")
    proc = plain_push(a, "origin", "main")
    assert (proc.returncode, proc.stderr) == (0, "")
    assert lock.read_text() == f"{os.getpid()}\n"
    assert not state(a, "push.log").exists()
    assert sessions(server.path) == {}
    # Its process is gone: the lock is stale and taken over.
    dead = subprocess.Popen(["true"])
    dead.wait()
    lock.write_text(f"{dead.pid}\n")
    proc = plain_push(a, "origin", "main")
    assert (proc.returncode, proc.stderr) == (0, "")
    log = wait_for_background_push(a)
    assert HEADER.match(log[0]) and log[1] == "pushed 1 session to origin; notes pushed", log
    assert sessions(server.path) == {"s1": sessions(a.path)["s1"]}


def test_a_refusing_pre_push_hook_still_refuses_and_is_restored(tmp_path, server):
    a = make_clone(server.url, tmp_path / "a")
    hooks = a.path / ".git" / "hooks"
    seen = tmp_path / "seen.txt"
    user_hook = f"#!/bin/sh\necho \"args $*\" > '{seen}'\ncat >> '{seen}'\necho refused >&2\nexit 1\n"
    (hooks / "pre-push").write_text(user_hook)
    (hooks / "pre-push").chmod(0o750)
    # git ot init leaves pre-push alone; --plain-git installs git-ot's, chaining the user's.
    assert "pre-push" not in a.cli_json("init")["hooks"]
    assert (hooks / "pre-push").read_text() == user_hook
    ok(a.ot("remote", "set", "origin", "--plain-git"))
    assert (hooks / "pre-push.pre-git-ot").read_text() == user_hook
    assert a.cli_json("init")["hooks"]["pre-push"] == "unchanged"
    record_session(a, "s1", "one")
    ok(a.ot("approve", "s1"))
    old = main_commit(a.path)
    a.write("app.py", "print('hello')\n")
    new = a.commit("code")

    proc = plain_push(a, "origin", "main")
    assert (proc.returncode, proc.stderr) == (1, "refused\nerror: failed to push some refs to "
                                                 f"'{server.url}'\n")
    assert seen.read_text() == f"args origin {server.url}\nrefs/heads/main {new} refs/heads/main {old}\n"
    assert server.git("rev-parse", "refs/heads/main").strip() == old
    # A push the user's hook refused carries no sessions either.
    assert not state(a, "push.lock").exists() and not state(a, "push.log").exists()

    assert a.cli_json("uninstall")["hooks"]["pre-push"] == "restored"
    assert (hooks / "pre-push").read_text() == user_hook
    assert (hooks / "pre-push").stat().st_mode & 0o777 == 0o750
    assert not (hooks / "pre-push.pre-git-ot").exists()
    assert plain_push(a, "origin", "main").returncode == 1
    assert sessions(server.path) == {}


def test_only_a_repository_whose_plain_pushes_carry_the_bucket_has_the_hook(tmp_path, server):
    a = make_clone(server.url, tmp_path / "a")
    hook = a.path / ".git" / "hooks" / "pre-push"
    ok(a.ot("init"))
    ok(a.ot("remote", "set", "origin"))
    assert not hook.exists()  # every other push runs no hook of git-ot's
    ok(a.ot("remote", "set", "origin", "--plain-git"))
    assert "git-ot-hook-marker" in hook.read_text()
    ok(a.ot("remote", "set", "origin", "--no-plain-git"))
    assert not hook.exists()
    ok(a.ot("remote", "set", "origin", "--plain-git"))
    other = tmp_path / "other.git"
    git(tmp_path, "init", "-q", "--bare", str(other))
    ok(a.ot("remote", "set", "other", str(other)))  # the bucket moves to a remote without refspecs
    assert not hook.exists()


def test_the_hook_does_nothing_where_git_ot_is_not_set_up_or_the_repository_is_bare(tmp_path, server):
    a = make_clone(server.url, tmp_path / "a")
    ok(a.ot("remote", "set", "origin", "--plain-git"))  # configured, but never initialised
    assert ok(a.ot("hook", "git", "pre-push", "origin", server.url)).stdout == b""
    assert not (a.path / ".git" / "opentraces").exists()

    bare = Repo(tmp_path / "bare.git")
    git(tmp_path, "clone", "-q", "--bare", server.url, str(bare.path))
    ok(bare.ot("remote", "set", "origin", "--plain-git"))
    (bare.path / "opentraces").mkdir()
    assert ok(bare.ot("hook", "git", "pre-push", "origin", server.url)).stdout == b""
    assert list((bare.path / "opentraces").iterdir()) == []
