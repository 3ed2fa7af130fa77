"""Sharing the bucket through a real git server: `git ot remote`, `approve`, `push`, `fetch`.

The server is a bare repository served by `git daemon` on loopback (started
here, on a free port) or reached by its path. Every scenario ends with the
exact union of sessions and note lines in every clone that fetched last, and
`git fsck --strict` clean on the server and on every clone.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading

import pytest

from support.repo import Repo, git
from support.share import (add_note_line, fsck, main_commit, make_clone, note_line, notes, ok, ot_json,
                           record_session, sessions)

NOTES = "refs/notes/opentraces"


# -- configuration -------------------------------------------------------------------------

def test_remote_is_none_until_set_and_set_leaves_refspecs_alone(tmp_path, server):
    repo = make_clone(server.url, tmp_path / "a", set_remote=False)
    assert ot_json(repo.path, "remote") == {"remote": None, "url": None, "plain_git": False,
                                            "require_approval": True}
    assert repo.ot("remote").stdout.decode() == \
        "no remote set; choose one with 'git ot remote set NAME URL'\n"
    info = ot_json(repo.path, "remote", "set", "origin")
    assert info == {"remote": "origin", "url": server.url, "plain_git": False,
                    "require_approval": True}
    assert repo.git("config", "--get-all", "remote.origin.fetch").splitlines() == \
        ["+refs/heads/*:refs/remotes/origin/*"]
    assert repo.git("config", "--get-all", "remote.origin.push", check=False) == ""
    proc = ok(repo.ot("remote", "show"))
    assert proc.stdout.decode().splitlines() == [
        f"origin\t{server.url}", "plain git fetch/push: no", "approval required: yes"]


def test_remote_set_adds_a_separate_private_remote(tmp_path, server):
    repo = make_clone(server.url, tmp_path / "a", set_remote=False)
    private = tmp_path / "private.git"
    git(tmp_path, "init", "-q", "--bare", str(private))
    info = ot_json(repo.path, "remote", "set", "traces", str(private))
    assert (info["remote"], info["url"]) == ("traces", str(private))
    assert repo.git("config", "remote.traces.url").strip() == str(private)
    record_session(repo, "s1", "hello")
    ok(repo.ot("approve", "s1"))
    assert ot_json(repo.path, "push")["pushed"] == ["s1"]
    assert sessions(private) == sessions(repo.path)
    assert sessions(server.path) == {}  # origin never saw the bucket
    fsck(private)
    fsck(repo.path)


def test_a_fresh_clone_fetches_and_pushes_with_the_remote_it_came_from(tmp_path, server):
    a = make_clone(server.url, tmp_path / "a", set_remote=False)
    record_session(a, "s1", "hello")
    ok(a.ot("approve", "s1"))
    said = "using remote 'origin', the remote of branch 'main'; 'git ot remote set NAME' chooses another\n"
    proc = ok(a.ot("push"))
    assert (proc.stdout.decode(), proc.stderr.decode()) == ("pushed 1 session to origin; notes up to date\n", said)
    assert sessions(server.path) == sessions(a.path)
    b = make_clone(server.url, tmp_path / "b", set_remote=False)
    proc = ok(b.ot("fetch"))
    assert (proc.stdout.decode(), proc.stderr.decode()) == (
        "fetched from origin: 1 new, 0 updated, 0 merged, 0 unchanged session(s); notes none\n", said)
    proc = ok(b.ot("fetch", "--json"))
    assert (json.loads(proc.stdout)["remote"], proc.stderr.decode()) == ("origin", said)
    assert sessions(b.path) == sessions(a.path)
    # Nothing is configured by it: `git ot remote` still shows none set.
    assert ot_json(b.path, "remote")["remote"] is None
    # Named or set, the remote is used without a word.
    assert ok(b.ot("fetch", "origin")).stderr.decode() == ""
    ok(b.ot("remote", "set", "origin"))
    assert ok(b.ot("fetch")).stderr.decode() == ""
    fsck(a.path)
    fsck(b.path)


def test_without_origin_the_branch_remote_or_the_only_remote_is_used(tmp_path, server):
    a = make_clone(server.url, tmp_path / "a", set_remote=False)
    a.git("remote", "rename", "origin", "upstream")
    proc = ok(a.ot("fetch"))
    assert proc.stderr.decode() == ("using remote 'upstream', the remote of branch 'main'; "
                                    "'git ot remote set NAME' chooses another\n")
    a.git("checkout", "-q", "-b", "topic")  # no upstream: the only remote there is
    proc = ok(a.ot("fetch"))
    assert proc.stderr.decode() == ("using remote 'upstream', the only remote; "
                                    "'git ot remote set NAME' chooses another\n")
    a.git("remote", "add", "mirror", str(server.path))  # two, neither origin nor the branch's
    proc = a.ot("fetch")
    assert (proc.returncode, proc.stdout.decode(), proc.stderr.decode().splitlines()) == (1, "", [
        "error: no remote is set for sharing sessions",
        "hint: choose one with 'git ot remote set NAME URL'"])
    a.git("remote", "add", "origin", str(server.path))  # origin, when several and no branch remote
    proc = ok(a.ot("fetch"))
    assert proc.stderr.decode() == ("using remote 'origin', the remote this clone came from; "
                                    "'git ot remote set NAME' chooses another\n")


def test_remote_errors(tmp_path, server):
    repo = make_clone(server.url, tmp_path / "a", set_remote=False)
    repo.git("remote", "remove", "origin")
    proc = repo.ot("push")
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines() == [
        "error: no remote is set for sharing sessions",
        "hint: choose one with 'git ot remote set NAME URL'",
    ]
    repo.git("remote", "add", "origin", server.url)
    proc = repo.ot("fetch", "nowhere")
    assert proc.stderr.decode().splitlines() == [
        "error: no such remote 'nowhere'",
        "hint: add it with 'git ot remote set nowhere <url>'",
    ]
    proc = repo.ot("remote", "set", "nowhere")
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines() == [
        "error: no such remote 'nowhere'",
        "hint: give its URL: 'git ot remote set nowhere <url>'",
    ]
    proc = repo.ot("remote", "set", "origin", "/elsewhere.git")
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines() == [
        f"error: remote 'origin' already has the URL '{server.url}'",
        "hint: leave out the URL to use it as it is, or change it with "
        "'git remote set-url origin /elsewhere.git'",
    ]
    proc = repo.ot("remote", "set", "a/b", "/x.git")
    assert proc.stderr.decode().splitlines()[0] == "error: invalid remote name 'a/b'"


def test_plain_git_fetch_brings_the_bucket_into_the_remotes_own_namespace(tmp_path, server):
    a = make_clone(server.url, tmp_path / "a")
    record_session(a, "s1", "hello")
    add_note_line(a, main_commit(a.path), note_line("s1"))
    ok(a.ot("approve", "--all"))
    ok(a.ot("push"))

    b = make_clone(server.url, tmp_path / "b", set_remote=False)
    b.git("fetch", "-q", "origin")  # default refspecs: no bucket
    assert b.git("for-each-ref", "refs/opentraces/", NOTES) == ""
    assert ot_json(b.path, "remote", "set", "origin", "--plain-git")["plain_git"] is True
    assert b.git("config", "--get-all", "remote.origin.fetch").splitlines() == [
        "+refs/heads/*:refs/remotes/origin/*",
        "+refs/opentraces/sessions/*:refs/opentraces/remotes/origin/sessions/*",
        "+refs/notes/opentraces*:refs/opentraces/remotes/origin/notes*",
    ]
    b.git("fetch", "-q", "origin")
    assert b.git("for-each-ref", "--format=%(refname)", "refs/opentraces/", NOTES).splitlines() == [
        "refs/opentraces/remotes/origin/notes",
        "refs/opentraces/remotes/origin/sessions/s1",
    ]
    assert ot_json(b.path, "trace", "list") == {"sessions": []}  # not merged yet
    result = ot_json(b.path, "fetch")
    assert (result["new"], result["notes"]) == (["s1"], "created")
    assert sessions(b.path) == sessions(a.path)
    assert notes(b.path) == notes(a.path)
    # Taking the refspecs out again leaves only the remote's own.
    assert ot_json(b.path, "remote", "set", "origin", "--no-plain-git")["plain_git"] is False
    assert b.git("config", "--get-all", "remote.origin.fetch").splitlines() == \
        ["+refs/heads/*:refs/remotes/origin/*"]
    fsck(a.path)
    fsck(b.path)


def test_the_code_push_never_carries_or_waits_for_the_bucket(tmp_path, server):
    # Without --plain-git a push runs nothing of git-ot's (test_prepush.py has --plain-git).
    a = make_clone(server.url, tmp_path / "a")
    ok(a.ot("init"))
    ok(a.ot("remote", "set", "origin"))
    record_session(a, "s1", "hello")
    ok(a.ot("approve", "s1"))
    assert not (a.path / ".git" / "hooks" / "pre-push").exists()
    add_note_line(a, main_commit(a.path), note_line("s1"))
    a.write("app.py", "print('hello')\n")
    a.commit("code")
    a.git("push", "-q", "origin", "main")
    assert server.git("for-each-ref", "--format=%(refname)").splitlines() == ["refs/heads/main"]
    a.git("push", "-q")  # the upstream push of the branch, nothing else
    assert server.git("for-each-ref", "--format=%(refname)").splitlines() == ["refs/heads/main"]


# -- approvals ---------------------------------------------------------------------------------

def test_nothing_leaves_until_approved(tmp_path, server):
    a = make_clone(server.url, tmp_path / "a")
    record_session(a, "s1", "one")
    record_session(a, "s2", "two")
    proc = a.ot("push")
    assert proc.returncode == 1
    assert proc.stdout.decode() == "pushed 0 sessions to origin; notes up to date\n"
    assert proc.stderr.decode().splitlines() == [
        "error: 2 sessions are not approved for sharing: s1, s2",
        "hint: review with 'git ot trace show SESSION', then 'git ot approve SESSION...' "
        "(or 'git ot approve --all')",
    ]
    assert sessions(server.path) == {}

    # Named sessions that are not approved: an error before anything moves.
    proc = a.ot("push", "origin", "s2")
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines()[0] == \
        "error: 1 session is not approved for sharing: s2"
    assert sessions(server.path) == {}

    assert ot_json(a.path, "approve", "s1") == {"approved": ["s1"], "already": []}
    proc = a.ot("push")
    assert proc.returncode == 1  # s2 still waits
    assert proc.stdout.decode() == "pushed 1 session to origin; notes up to date\n"
    assert "1 session is not approved for sharing: s2" in proc.stderr.decode()
    assert set(sessions(server.path)) == {"s1"}

    # --all approves what exists now, not what is recorded later.
    assert ot_json(a.path, "approve", "--all") == {"approved": ["s2"], "already": ["s1"]}
    record_session(a, "s3", "three")
    proc = a.ot("push", "--json")
    assert proc.returncode == 1
    out = json.loads(proc.stdout)
    assert (out["pushed"], out["unapproved"]) == (["s2"], ["s3"])
    assert set(sessions(server.path)) == {"s1", "s2"}
    # Approval is local state, never a ref.
    assert (a.path / ".git" / "opentraces" / "approved").read_text() == "s1\ns2\n"
    assert server.git("for-each-ref", "--format=%(refname)", "refs/opentraces/").splitlines() == [
        "refs/opentraces/sessions/s1", "refs/opentraces/sessions/s2"]
    fsck(a.path)


def test_notes_that_name_unshared_sessions_stay_here(tmp_path, server):
    a = make_clone(server.url, tmp_path / "a")
    record_session(a, "s1", "shared")
    record_session(a, "s2", "private")
    ok(a.ot("approve", "s1"))
    commits = []
    for i in range(4):
        a.write(f"f{i}.py", f"x = {i}\n")
        commits.append(a.commit(f"commit {i}"))
    only_s1, mixed, candidates, empty = commits
    add_note_line(a, only_s1, note_line("s1"))
    add_note_line(a, mixed, note_line("s1"))
    add_note_line(a, mixed, note_line("s2", first=2))
    add_note_line(a, candidates, '{"v":1,"path":"f2.py","lines":[1,1],"unattributed":"ambiguous",'
                                 '"candidates":["s1:1","s2:1"]}')
    a.git("notes", "--ref=opentraces", "add", "--allow-empty", "-m", "", empty)
    mine = notes(a.path)
    a.git("push", "-q", "origin", "main")

    proc = a.ot("push")
    assert proc.returncode == 1  # s2 waits for approval
    held = sorted([mixed, candidates])
    assert proc.stdout.decode() == (
        "pushed 1 session to origin; notes pushed\n"
        f"kept back the notes of 2 commits that name sessions not shared: "
        f"{held[0][:12]}, {held[1][:12]}\n")
    # A note goes whole or not at all: cut down, it would give s2's line to the human.
    assert notes(server.path) == {only_s1: [note_line("s1")], empty: []}
    history = server.git("log", "-p", "--format=", NOTES)
    assert '"s2' not in history and "s2:1" not in history
    assert notes(a.path) == mine  # nothing changes here

    again = json.loads(a.ot("push", "--json").stdout)
    assert (again["pushed"], again["notes"], again["notes_held_back"]) == ([], "up to date", held)

    # Once s2 is approved and pushed, its notes follow.
    ok(a.ot("approve", "s2"))
    out = ot_json(a.path, "push")
    assert (out["pushed"], out["notes"], out["notes_held_back"]) == (["s2"], "pushed", [])
    assert notes(server.path) == notes(a.path) == mine
    b = make_clone(server.url, tmp_path / "b")
    ot_json(b.path, "fetch")
    assert notes(b.path) == mine
    for path in (a.path, b.path, server.path):
        fsck(path)


def test_a_forgotten_session_stays_forgotten_and_can_be_deleted_on_the_remote(tmp_path, server):
    a = make_clone(server.url, tmp_path / "a")
    record_session(a, "keep", "stays")
    record_session(a, "gone", "to be forgotten")
    c = main_commit(a.path)
    add_note_line(a, c, note_line("keep"))
    add_note_line(a, c, note_line("gone", first=2))
    ok(a.ot("approve", "--all"))
    ok(a.ot("push"))
    b = make_clone(server.url, tmp_path / "b")
    assert ot_json(b.path, "fetch")["new"] == ["gone", "keep"]

    # Forgotten here only: the remote still has it, and says how to delete it there.
    out = ok(a.ot("forget", "gone")).stdout.decode().splitlines()
    assert out[-2:] == ["remote 'origin' may still hold it; to delete it there:",
                        "  git ot forget --remote origin gone"]
    assert (a.path / ".git" / "opentraces" / "forgotten").read_text() == "gone\n"
    assert (a.path / ".git" / "opentraces" / "approved").read_text() == "keep\n"
    # No fetch brings it back: not the session, not its note lines.
    first = ot_json(a.path, "fetch")
    assert (first["new"], first["forgotten"], first["notes"]) == ([], ["gone"], "merged")
    assert set(sessions(a.path)) == {"keep"}
    assert notes(a.path) == {c: [note_line("keep")]}
    assert '"gone"' not in a.git("log", "-p", "--format=", NOTES)
    assert ot_json(a.path, "fetch")["notes"] == "up to date"  # the same remote tip: nothing new
    assert ot_json(a.path, "push")["pushed"] == []
    assert set(sessions(server.path)) == {"gone", "keep"}

    # Deleted on the remote too: its ref, and its lines in the notes and their history.
    out = ok(a.ot("forget", "--remote", "origin", "gone")).stdout.decode().splitlines()
    assert out[-2:] == ["deleted refs/opentraces/sessions/gone on origin",
                        "rewrote refs/notes/opentraces on origin without its history: removed 1 note line"]
    assert set(sessions(server.path)) == {"keep"}
    assert notes(server.path) == {c: [note_line("keep")]}
    assert '"gone"' not in server.git("log", "-p", "--format=", NOTES)
    fsck(server.path)

    # A clone that fetched it before keeps its copy, but does not push its note back unasked.
    b_fetch = ot_json(b.path, "fetch")
    assert (b_fetch["notes"], set(sessions(b.path))) == ("merged", {"gone", "keep"})
    b_push = json.loads(b.ot("push", "--json").stdout)
    assert (b_push["pushed"], b_push["notes_held_back"]) == ([], [c])
    assert notes(server.path) == {c: [note_line("keep")]}
    for path in (a.path, b.path):
        fsck(path)

    proc = a.ot("forget", "--remote", "nowhere", "keep")
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines()[0] == "error: no such remote 'nowhere'"
    assert set(sessions(a.path)) == {"keep"}  # nothing happened

    # A remote that cannot be reached: forgotten here, and said so, then the error.
    a.git("remote", "add", "gone", str(tmp_path / "no-such.git"))
    proc = a.ot("forget", "--remote", "gone", "keep")
    assert proc.returncode == 1
    assert proc.stdout.decode().splitlines()[0] == "forgot keep (refs/opentraces/sessions/keep)"
    assert proc.stderr.decode().splitlines() == [
        "error: 'git ls-remote' of 'gone' failed: Could not read from remote repository.",
        "hint: forgotten here; to delete on 'gone' too, run 'git ot forget --remote gone keep' again"]
    assert sessions(a.path) == {}


def test_a_forgotten_session_recorded_again_is_shared_again(tmp_path, server):
    a = make_clone(server.url, tmp_path / "a")
    a.git("config", "ot.requireApproval", "false")
    record_session(a, "s", "first")
    ok(a.ot("push"))
    ok(a.ot("forget", "s"))
    record_session(a, "s", "again")  # the same id, recorded anew: a session like any other
    out = ot_json(a.path, "push")
    assert (out["merged"], out["pushed"]) == (["s"], ["s"])
    assert sessions(server.path) == sessions(a.path)
    # Both copies' prompts, in the order of the merge's primary (the greater tip id here).
    assert sorted(s.get("text") for s in ot_json(a.path, "trace", "show", "s")["steps"]) == ["again", "first"]


def test_approval_can_be_turned_off_for_a_private_remote(tmp_path, server):
    a = make_clone(server.url, tmp_path / "a")
    a.git("config", "ot.requireApproval", "false")
    record_session(a, "s1", "one")
    assert ot_json(a.path, "push")["pushed"] == ["s1"]


def test_the_security_gate_holds_back_what_it_would_not_let_out(tmp_path, server):
    a = make_clone(server.url, tmp_path / "a")
    a.git("config", "ot.requireApproval", "false")
    record_session(a, "clean", "nothing to see")
    # Sealed under a policy that looked only for JWTs, the key went in as it was.
    a.git("config", "ot.security.detectors", "jwt")
    record_session(a, "leaky", "use the key AKIAIOSFODNN7EXAMPLQ for the upload")
    a.git("config", "--unset", "ot.security.detectors")
    proc = a.ot("push", "--json")
    assert proc.returncode == 1
    out = json.loads(proc.stdout)
    assert out["pushed"] == ["clean"]
    assert [b["session"] for b in out["blocked"]] == ["leaky"]
    err = proc.stderr.decode().splitlines()
    assert err[0].startswith("error: the security gate holds back session 'leaky': ")
    assert "aws-access-key" in err[0]
    assert err[1].startswith("hint: 'git ot scan leaky' shows the findings")
    assert set(sessions(server.path)) == {"clean"}


def test_approve_errors(tmp_path, server):
    a = make_clone(server.url, tmp_path / "a")
    proc = a.ot("approve")
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines() == [
        "error: name the sessions to approve, or give --all",
        "hint: see 'git ot approve --help'",
    ]
    proc = a.ot("approve", "nope")
    assert proc.stderr.decode().splitlines()[0] == "error: no session matches 'nope'"


# -- two clones -------------------------------------------------------------------------------

@pytest.mark.parametrize("first", ["a", "b"])
def test_two_clones_annotate_the_same_commit_and_end_with_the_union(tmp_path, server, first):
    a = make_clone(server.url, tmp_path / "a")
    b = make_clone(server.url, tmp_path / "b")
    c = main_commit(a.path)
    record_session(a, "sa1", "a one")
    record_session(a, "sa2", "a two")
    record_session(b, "sb1", "b one")
    # The same line in both clones (here one that names no session) is kept once.
    shared = '{"v":1,"path":"app.py","lines":[9,9],"unattributed":"ambiguous"}'
    for line in (note_line("sa1"), note_line("sa2", first=2), shared):
        add_note_line(a, c, line)
    for line in (note_line("sb1", first=5), shared):
        add_note_line(b, c, line)
    for r in (a, b):
        ok(r.ot("approve", "--all"))
    order = [a, b] if first == "a" else [b, a]
    first_push = ot_json(order[0].path, "push")
    second_push = ot_json(order[1].path, "push")
    # The second push took the first one's notes in, merged them line-wise,
    # and pushed the merge: a fast-forward for the remote.
    assert first_push["notes"] == second_push["notes"] == "pushed"
    for r in (a, b):
        ot_json(r.path, "fetch")

    want_sessions = {"sa1", "sa2", "sb1"}
    want_notes = {c: sorted([note_line("sa1"), note_line("sa2", first=2), note_line("sb1", first=5),
                             shared])}
    for path in (a.path, b.path, server.path):
        assert set(sessions(path)) == want_sessions
        assert notes(path) == want_notes
        fsck(path)
    assert sessions(a.path) == sessions(b.path) == sessions(server.path)
    assert ot_json(a.path, "trace", "list") == ot_json(b.path, "trace", "list")
    # Only the bucket's own refs travel, and no scratch or staged ref stays behind.
    assert server.git("for-each-ref", "--format=%(refname)").splitlines() == [
        "refs/heads/main", NOTES] + [f"refs/opentraces/sessions/{s}" for s in sorted(want_sessions)]
    for r in (a, b):
        assert r.git("for-each-ref", "--format=%(refname)", "refs/notes/", "refs/opentraces/remotes/") \
            == NOTES + "\n"


def test_fetch_and_push_move_only_what_is_missing(tmp_path, server):
    a = make_clone(server.url, tmp_path / "a")
    a.git("config", "ot.requireApproval", "false")
    for i in range(3):
        record_session(a, f"s{i}", f"prompt {i}")
    assert ot_json(a.path, "push")["pushed"] == ["s0", "s1", "s2"]
    again = ot_json(a.path, "push")
    assert (again["pushed"], again["notes"], again["rounds"]) == ([], "up to date", 1)
    assert a.git("for-each-ref", "refs/opentraces/remotes/") == ""  # nothing staged
    record_session(a, "s3", "new")
    assert ot_json(a.path, "push")["pushed"] == ["s3"]

    b = make_clone(server.url, tmp_path / "b")
    first = ot_json(b.path, "fetch")
    assert (first["new"], first["unchanged"]) == (["s0", "s1", "s2", "s3"], 0)
    second = ot_json(b.path, "fetch")
    assert (second["new"], second["updated"], second["unchanged"]) == ([], [], 4)
    # A session sealed again on one side fast-forwards on the other.
    a.hook("UserPromptSubmit", {"session_id": "s1", "prompt": "more"})
    a.hook("Stop", {"session_id": "s1"})
    assert ot_json(a.path, "push")["pushed"] == ["s1"]
    third = ot_json(b.path, "fetch")
    assert (third["updated"], third["merged"]) == (["s1"], [])
    assert sessions(b.path) == sessions(a.path) == sessions(server.path)


def test_a_clone_that_holds_sessions_leaves_them_out_of_its_fetch_check(tmp_path, server):
    a = make_clone(server.url, tmp_path / "a")
    assert git(a.path, "config", "--get-all", "fetch.hideRefs", check=False) == ""
    record_session(a, "s1", "one")  # the first session ref sets it, once
    record_session(a, "s2", "two")
    assert a.git("config", "--get-all", "fetch.hideRefs") == "refs/opentraces\n"
    ok(a.ot("approve", "--all"))
    ok(a.ot("push"))
    b = make_clone(server.url, tmp_path / "b")
    b.git("config", "--add", "fetch.hideRefs", "refs/keep-around")
    assert ot_json(b.path, "fetch")["new"] == ["s1", "s2"]
    assert b.git("config", "--get-all", "fetch.hideRefs").splitlines() == [
        "refs/keep-around", "refs/opentraces"]
    b.git("fetch", "-q", "origin")
    fsck(b.path)


def test_many_new_sessions_are_packed_and_graphed_after_a_fetch(tmp_path, server):
    """After fetching many sessions the refs are packed and the commits graphed,
    as `git gc` would, so git's own commands stay fast."""
    a = make_clone(server.url, tmp_path / "a")
    a.git("config", "ot.requireApproval", "false")
    record_session(a, "s000", "the first")
    tip = sessions(a.path)["s000"]
    a.git("update-ref", "--stdin", input="".join(
        f"create refs/opentraces/sessions/s{i:03d} {tip}\n" for i in range(1, 120)))
    assert len(ot_json(a.path, "push")["pushed"]) == 120
    b = make_clone(server.url, tmp_path / "b")
    assert len(ot_json(b.path, "fetch")["new"]) == 120
    assert sessions(b.path) == sessions(a.path)
    assert not (b.path / ".git" / "refs" / "opentraces").exists() or \
        not any((b.path / ".git" / "refs" / "opentraces").rglob("s*"))
    packed = (b.path / ".git" / "packed-refs").read_text()
    assert packed.count(" refs/opentraces/sessions/") == 120
    assert (b.path / ".git" / "objects" / "info" / "commit-graphs" / "commit-graph-chain").is_file()
    assert len(ot_json(b.path, "trace", "list")["sessions"]) == 120
    fsck(b.path)


# -- diverged sessions ------------------------------------------------------------------------------

def test_a_diverged_session_is_merged_not_overwritten(tmp_path, server):
    a = make_clone(server.url, tmp_path / "a")
    b = make_clone(server.url, tmp_path / "b")
    for r in (a, b):
        r.git("config", "ot.requireApproval", "false")
    record_session(a, "s", "from a")
    ok(a.ot("push"))
    ok(b.ot("fetch"))
    # Both continue the same session without seeing each other: a with a
    # long prompt (a payload blob) and a Write (snapshots, a patch), b with
    # more events, which makes b's copy the primary.
    long_prompt = "a continues " + "x" * 3000
    a.hook("UserPromptSubmit", {"session_id": "s", "prompt": long_prompt})
    tool = {"session_id": "s", "tool_name": "Write", "tool_use_id": "w1",
            "tool_input": {"file_path": str(a.path / "new.txt"), "content": "new\n"}}
    a.hook("PreToolUse", tool)
    a.write("new.txt", "new\n")
    a.hook("PostToolUse", {**tool, "tool_response": {"type": "create"}})
    a.hook("Stop", {"session_id": "s"})
    for prompt in ("b continues", "b again", "b once more"):
        record_session(b, "s", prompt)
    tip_a, tip_b = sessions(a.path)["s"], sessions(b.path)["s"]
    ok(a.ot("push"))
    out = ot_json(b.path, "push")
    assert (out["pushed"], out["merged"]) == (["s"], ["s"])
    ok(a.ot("fetch"))

    merge = sessions(server.path)["s"]
    assert sessions(a.path)["s"] == sessions(b.path)["s"] == merge
    # b's copy is the primary (first parent); both tips stay reachable.
    assert server.git("rev-list", "--parents", "-n", "1", merge).split()[1:] == [tip_b, tip_a]
    assert server.git("log", "-1", "--format=%an <%ae> %ad%n%B", "--date=raw", merge) == (
        f"git-ot <git-ot@localhost> 1700000000 +0000\n"
        f"merge s: 2 steps from {tip_a[:12]}\n\nSteps: 6\n\n")
    steps = ot_json(a.path, "trace", "show", "s")["steps"]
    assert [(s["n"], s["kind"], s.get("merged_from")) for s in steps] == [
        (1, "prompt", None),
        (2, "prompt", None),
        (3, "prompt", None),
        (4, "prompt", None),
        (5, "prompt", {"commit": tip_a, "n": 2}),
        (6, "tool", {"commit": tip_a, "n": 3}),
    ]
    assert [s["text"] for s in steps[:4]] == ["from a", "b continues", "b again", "b once more"]
    # The appended steps bring their payload, snapshots and patch along.
    assert ot_json(a.path, "trace", "show", "s:5")["step"]["text"] == long_prompt
    tool_step = steps[5]
    assert (tool_step["snapshot_before"], tool_step["snapshot_after"]) == ("6-before", "6-after")
    assert [(f["status"], f["path"]) for f in tool_step["patch"]["files"]] == [("A", "new.txt")]
    assert a.git("show", f"{merge}:snapshots/6-after/new.txt") == "new\n"
    assert ot_json(a.path, "trace", "list")["sessions"][0]["steps"] == 6
    for path in (a.path, b.path, server.path):
        fsck(path)


def test_two_clones_merging_the_same_tips_write_the_same_commit(tmp_path):
    """The merge depends only on the two tips, so clones that merge on their own agree."""
    from git_ot.domain import share
    from git_ot.store.repository import Store

    x = Repo(tmp_path / "x")
    x.path.mkdir()
    x.git("init", "-q")
    x.write("f.txt", "f\n")
    x.commit("base")
    record_session(x, "s", "common")
    base = sessions(x.path)["s"]
    record_session(x, "s", "left")
    left = sessions(x.path)["s"]
    x.git("update-ref", "refs/opentraces/sessions/s", base)
    record_session(x, "s", "right")
    right = sessions(x.path)["s"]
    y = Repo(tmp_path / "y")
    shutil.copytree(x.path, y.path)

    merges = []
    for repo, ours, theirs in ((x, left, right), (y, right, left)):
        repo.git("update-ref", "refs/opentraces/sessions/s", ours)
        state = share.RemoteState(sessions={"s": theirs}, notes=None)
        result = share.integrate(Store.open(str(repo.path)), state)
        assert result["merged"] == ["s"]
        merges.append(sessions(repo.path)["s"])
    assert merges[0] == merges[1]
    texts = [s.get("text") for s in ot_json(x.path, "trace", "show", "s")["steps"]]
    # As many events on each side: the greater tip id is the primary.
    assert texts == (["common", "right", "left"] if right > left else ["common", "left", "right"])
    assert git(x.path, "rev-list", "--parents", "-n", "1", merges[0]).split()[1:] == \
        sorted([left, right], reverse=True)
    fsck(x.path)
    fsck(y.path)


# -- many clones at once ------------------------------------------------------------------------------

def test_ten_clones_push_concurrently_and_nothing_is_lost(tmp_path, server):
    clones = [make_clone(server.url, tmp_path / f"c{i}") for i in range(10)]
    c = main_commit(clones[0].path)
    for i, r in enumerate(clones):
        r.git("config", "ot.requireApproval", "false")
        record_session(r, f"s{i}", f"clone {i}")
        add_note_line(r, c, note_line(f"s{i}", first=i + 1))
    procs = [subprocess.Popen([sys.executable, "-m", "git_ot", "push", "--json"], cwd=r.path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for r in clones]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()
        results.append(json.loads(out))
    assert sorted(s for r in results for s in r["pushed"]) == [f"s{i}" for i in range(10)]
    assert all(r["rounds"] <= 20 for r in results)

    want_notes = {c: sorted(note_line(f"s{i}", first=i + 1) for i in range(10))}
    assert notes(server.path) == want_notes
    assert set(sessions(server.path)) == {f"s{i}" for i in range(10)}
    for r in clones[:3]:
        ot_json(r.path, "fetch")
        assert sessions(r.path) == sessions(server.path)
        assert notes(r.path) == want_notes
        fsck(r.path)


# -- a clone that never ran git ot init ------------------------------------------------------------

def test_a_fresh_clone_without_init_fetches_and_reads(tmp_path, server):
    from support.repo import replay

    a = make_clone(server.url, tmp_path / "a")
    ok(a.ot("init"))
    sid = replay(a, "linear-edit")
    record_session(a, "other", "second")
    c = a.commit("agent work")
    from support.trail import Agent

    agent = Agent(a, "s-shared")
    agent.prompt("add a farewell")
    agent.write("farewell.py", "def farewell():\n    return 'bye'\n")
    agent.stop()
    a.git("add", "farewell.py")
    a.commit("farewell")
    add_note_line(a, c, note_line(sid, path="app.py", first=3))
    a.git("push", "-q", "origin", "main")
    ok(a.ot("approve", "--all"))
    ok(a.ot("push"))

    fresh = tmp_path / "fresh"
    git(tmp_path, "clone", "-q", str(server.path), str(fresh))  # by path, not through the daemon
    assert not (fresh / ".git" / "opentraces").exists()
    out = ot_json(fresh, "fetch", "origin")
    assert (sorted(out["new"]), out["notes"]) == (sorted([sid, "other", "s-shared"]), "created")
    assert ot_json(fresh, "trace", "list") == ot_json(a.path, "trace", "list")
    assert ot_json(fresh, "trace", "show", sid) == ot_json(a.path, "trace", "show", sid)
    # The anchoring hook may have annotated the commit too; every line travels.
    assert notes(fresh) == notes(a.path)
    assert note_line(sid, path="app.py", first=3) in notes(fresh)[c]
    # blame and track answer in the fresh clone as in the original.
    for path in ("app.py", "farewell.py"):
        assert ot_json(fresh, "blame", path) == ot_json(a.path, "blame", path)
    assert [(line["content"], line["attribution"]["session"], line["attribution"]["prompt"])
            for line in ot_json(fresh, "blame", "farewell.py")["lines"]] == [
        ("def farewell():", "s-shared", "add a farewell"), ("    return 'bye'", "s-shared", "add a farewell")]
    assert ot_json(fresh, "track") == ot_json(a.path, "track")
    assert ot_json(fresh, "track", "s-shared")["total"]["states"]["alive_on_path"] == 1
    assert ot_json(fresh, "track") == ot_json(a.path, "track")
    assert ot_json(fresh, "track")["total"]["lines"]["landed"] > 0
    # Staged under the remote's namespace, merged, and the staged copies dropped.
    assert git(fresh, "for-each-ref", "refs/opentraces/remotes/") == ""
    fsck(fresh)
    fsck(a.path)


def test_fetch_from_a_remote_without_a_bucket(tmp_path, server):
    a = make_clone(server.url, tmp_path / "a")
    out = ot_json(a.path, "fetch")
    assert out == {"remote": "origin", "new": [], "updated": [], "merged": [], "unchanged": 0,
                   "notes": "none", "forgotten": [], "entities": {"new": [], "updated": [], "merged": []}}


# -- interrupted pushes ---------------------------------------------------------------------------------

class StallingProxy:
    """A TCP proxy to the daemon that stops forwarding after `stall_after` bytes
    from the client, so a push can be killed half-way through its pack."""

    def __init__(self, port: int, stall_after: int):
        self.port = port
        self.stall_after = stall_after
        self.stalled = threading.Event()
        self.release = threading.Event()
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.listen_port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.port))
            self.sockets += [client, upstream]
            sent = [0]
            threading.Thread(target=self._pump, args=(client, upstream, sent, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, sent, False), daemon=True).start()

    def _pump(self, src, dst, sent, upward):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if upward and not self.release.is_set() and sent[0] + len(data) > self.stall_after:
                    self.stalled.set()
                    self.release.wait()
                    break  # the client is gone: cut the server off mid-pack
                dst.sendall(data)
                if upward:
                    sent[0] += len(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.release.set()
        self.listener.close()
        for s in self.sockets:
            try:
                s.close()
            except OSError:
                pass


def test_a_push_killed_half_way_leaves_the_server_consistent(tmp_path, server):
    a = make_clone(server.url, tmp_path / "a")
    a.git("config", "ot.requireApproval", "false")
    record_session(a, "small", "before")
    ok(a.ot("push"))
    # A session whose snapshot holds 3 MB that does not compress.
    a.hook("PreToolUse", {"session_id": "big", "tool_name": "Write", "tool_use_id": "w1",
                          "tool_input": {"file_path": "blob.bin"}})
    (a.path / "blob.bin").write_bytes(os.urandom(3 << 20))
    a.hook("PostToolUse", {"session_id": "big", "tool_name": "Write", "tool_use_id": "w1",
                           "tool_input": {"file_path": "blob.bin"}, "tool_response": {}})
    a.hook("Stop", {"session_id": "big"})
    add_note_line(a, main_commit(a.path), note_line("big"))
    before = server.git("for-each-ref")

    proxy = StallingProxy(server.daemon.port, stall_after=256 << 10)
    a.git("remote", "add", "slow", server.daemon.url("server.git", proxy.listen_port))
    proc = subprocess.Popen([sys.executable, "-m", "git_ot", "push", "slow"], cwd=a.path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        assert proxy.stalled.wait(60), "the push never got half-way"
        os.killpg(proc.pid, signal.SIGKILL)  # git-ot and the git push it runs
        proc.wait(timeout=10)
    finally:
        proxy.close()
    # No ref moved and nothing is corrupt. (git may leave the dropped push's
    # quarantine, objects/tmp_objdir-incoming-*, behind: outside the object
    # database, nothing refers to it.)
    assert server.git("for-each-ref") == before
    fsck(server.path)
    fsck(a.path)

    out = ot_json(a.path, "push")
    assert (out["pushed"], out["notes"]) == (["big"], "pushed")
    fresh = make_clone(server.url, tmp_path / "fresh")
    ok(fresh.ot("fetch"))
    assert sessions(fresh.path) == sessions(a.path)
    assert notes(fresh.path) == notes(a.path)
    assert fresh.git("cat-file", "-s", "refs/opentraces/sessions/big:snapshots/1-after/blob.bin") \
        == f"{3 << 20}\n"
    fsck(fresh.path)


def test_a_push_killed_before_it_records_the_result_is_completed_next_time(tmp_path, server):
    a = make_clone(server.url, tmp_path / "a")
    a.git("config", "ot.requireApproval", "false")
    record_session(a, "s1", "one")
    add_note_line(a, main_commit(a.path), note_line("s1"))
    env = {**os.environ, "GIT_OT_TEST_KILL_AT": "push-after-send"}
    proc = a.ot("push", env=env)
    assert proc.returncode == -signal.SIGKILL
    # The remote took it all before the process died.
    assert set(sessions(server.path)) == {"s1"}
    fsck(server.path)
    out = ot_json(a.path, "push")
    assert (out["pushed"], out["notes"]) == ([], "up to date")  # nothing sent twice
    record_session(a, "s2", "two")
    assert ot_json(a.path, "push")["pushed"] == ["s2"]
    fsck(a.path)
