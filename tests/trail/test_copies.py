"""Copies of work: cherry-pick, revert, reset and a new commit, stash, squash merges, renames.

Each scenario runs twice (the `hooks` fixture): with git-ot's git hooks
installed, where post-commit and post-rewrite write the notes, and without
them, where `git ot blame` recomputes what they would have written. Both
must give the same exact `git ot blame --json` answers.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.trail import HUMAN, NOT_ANCHORED, Agent, one_turn, agent_line, blame, head, note, set_up  # noqa: F401

from git_ot.domain.trail import lines as L
from git_ot.domain.trail.copies import named_sources


def _env(**extra):
    return {**os.environ, "GIT_EDITOR": "true", **extra}


def _side_work(repo, hooks, session="s-pick"):
    """An agent writes a.py on branch `side` (committed); main moves on by hand."""
    set_up(repo, hooks)
    repo.git("checkout", "-q", "-b", "side")
    a = Agent(repo, session)
    a.prompt("write a")
    a.write("a.py", "a1\na2\n")
    a.stop()
    repo.git("add", "a.py")
    repo.git("commit", "-q", "-m", "A")
    repo.git("checkout", "-q", "main")
    repo.write("b.py", "b1\n")
    repo.commit("B")
    return agent_line(session, 2, "2.1.1", "write a", 1)


def test_cherry_pick_onto_a_diverged_branch(repo, hooks):
    wrote = _side_work(repo, hooks)
    repo.git("cherry-pick", "side")
    assert repo.git("log", "--format=%s", "-2").split() == ["A", "B"]
    assert blame(repo, "a.py") == [("a1", wrote), ("a2", wrote)]
    assert blame(repo, "b.py") == [("b1", HUMAN)]
    if hooks:
        assert note(repo) == note(repo, "side")  # the same lines at the same places


def test_cherry_pick_x_and_a_range(repo, hooks):
    wrote = _side_work(repo, hooks)
    repo.git("checkout", "-q", "side")
    one_turn(repo, "s-more", "c.py", "c1\n", "write c")
    repo.git("add", "c.py")
    repo.git("commit", "-q", "-m", "C")
    repo.git("checkout", "-q", "main")
    repo.git("cherry-pick", "-x", "main..side")
    assert "(cherry picked from commit" in repo.git("log", "-1", "--format=%B")
    assert blame(repo, "a.py") == [("a1", wrote), ("a2", wrote)]
    assert blame(repo, "c.py") == [("c1", agent_line("s-more", 2, "2.1.1", "write c", 1))]


def test_a_patch_applied_with_git_am(repo, hooks, tmp_path):
    wrote = _side_work(repo, hooks)
    patches = tmp_path / "patches"
    repo.git("format-patch", "-q", "-o", str(patches), "main..side")
    repo.git("am", "-q", *sorted(str(p) for p in patches.iterdir()))
    assert repo.git("log", "--format=%s", "-2").split() == ["A", "B"]
    assert blame(repo, "a.py") == [("a1", wrote), ("a2", wrote)]
    assert blame(repo, "b.py") == [("b1", HUMAN)]
    if hooks:
        assert note(repo) == note(repo, "side")  # git ran post-applypatch, not post-commit


def test_cherry_pick_no_commit_then_commit(repo, hooks):
    wrote = _side_work(repo, hooks)
    repo.git("cherry-pick", "-n", "side")
    repo.write("a.py", "a1\na2\na3 by hand\n")
    repo.git("add", "a.py")
    repo.git("commit", "-q", "-m", "A, and a3")
    assert blame(repo, "a.py") == [("a1", wrote), ("a2", wrote), ("a3 by hand", HUMAN)]


def test_cherry_pick_with_a_conflict_resolved_by_the_agent(repo, hooks):
    set_up(repo, hooks)
    a = one_turn(repo, "s-conflict", "a.py", "a1\n", "write a")
    repo.git("add", "a.py")
    repo.git("commit", "-q", "-m", "A")
    repo.git("checkout", "-q", "-b", "side")
    a.prompt("extend a")
    a.write("a.py", "a1\nside\n")
    a.stop()
    repo.git("commit", "-q", "-am", "side")
    repo.git("checkout", "-q", "main")
    repo.write("a.py", "a1\nmain\n")
    repo.git("commit", "-q", "-am", "main")
    proc = repo.git("cherry-pick", "side", check=False)
    assert "CONFLICT" in proc or (repo.path / ".git" / "CHERRY_PICK_HEAD").exists()
    a.prompt("resolve it")
    a.write("a.py", "a1\nmain\nside\n")
    a.stop()
    repo.git("add", "a.py")
    repo.git("-c", "core.editor=true", "cherry-pick", "--continue", env=_env())
    assert blame(repo, "a.py") == [
        ("a1", agent_line("s-conflict", 2, "2.1.1", "write a", 1)),
        ("main", HUMAN),
        # The side commit's line, unchanged: the step that wrote it there.
        ("side", agent_line("s-conflict", 4, "4.1.1", "extend a", 3)),
    ]


def _revert_history(repo, hooks):
    set_up(repo, hooks)
    a = one_turn(repo, "s-rev", "a.py", "a1\na2\n", "write a")
    repo.git("add", "a.py")
    repo.git("commit", "-q", "-m", "A")
    a.prompt("shout a2")
    a.write("a.py", "a1\nA2\n")
    a.stop()
    repo.git("commit", "-q", "-am", "shout")
    return (agent_line("s-rev", 2, "2.1.1", "write a", 1), agent_line("s-rev", 4, "4.1.1", "shout a2", 3))


def test_revert_brings_back_the_lines_of_the_parent(repo, hooks):
    wrote, shouted = _revert_history(repo, hooks)
    repo.git("revert", "--no-edit", "HEAD")
    assert blame(repo, "a.py") == [("a1", wrote), ("a2", wrote)]
    # And the revert of the revert brings the shouting step's line back.
    repo.git("revert", "--no-edit", "HEAD")
    assert blame(repo, "a.py") == [("a1", wrote), ("A2", shouted)]


def test_revert_no_commit_then_commit(repo, hooks):
    wrote, shouted = _revert_history(repo, hooks)
    repo.git("revert", "-n", "HEAD")
    repo.git("commit", "-q", "--no-edit", env=_env())
    assert blame(repo, "a.py") == [("a1", wrote), ("a2", wrote)]


def test_reset_soft_and_mixed_then_a_new_commit(repo, hooks):
    set_up(repo, hooks)
    a = Agent(repo, "s-reset")
    a.prompt("write a and b")
    a.write("a.py", "a1\n")
    repo.git("add", "a.py")
    repo.git("commit", "-q", "-m", "A")
    a.write("b.py", "b1\n")
    a.stop()
    repo.git("add", "b.py")
    repo.git("commit", "-q", "-m", "B")
    repo.git("reset", "-q", "--soft", "HEAD~2")
    repo.git("commit", "-q", "-m", "A and B")
    wrote_a = agent_line("s-reset", 2, "2.1.1", "write a and b", 1)
    wrote_b = agent_line("s-reset", 3, "3.1.1", "write a and b", 1)
    assert blame(repo, "a.py") == [("a1", wrote_a)]
    assert blame(repo, "b.py") == [("b1", wrote_b)]
    repo.git("reset", "-q", "--mixed", "HEAD~1")
    repo.write("b.py", "b1\nb2 by hand\n")
    repo.git("add", "a.py", "b.py")
    repo.git("commit", "-q", "-m", "again")
    assert blame(repo, "a.py") == [("a1", wrote_a)]
    assert blame(repo, "b.py") == [("b1", wrote_b), ("b2 by hand", HUMAN)]


def test_stash_pop_onto_a_different_base(repo, hooks):
    set_up(repo, hooks)
    one_turn(repo, "s-stash", "app.py", 'def greet(name):\n    return "hi " + name\n# farewell\n', "add a farewell")
    repo.git("stash", "-q")
    repo.git("checkout", "-q", "-b", "other")
    repo.write("app.py", '"""Greetings."""\ndef greet(name):\n    return "hi " + name\n')
    repo.git("commit", "-q", "-am", "docstring")
    repo.git("stash", "pop", "-q")
    repo.git("commit", "-q", "-am", "farewell")
    assert blame(repo, "app.py") == [
        ('"""Greetings."""', HUMAN),
        ("def greet(name):", NOT_ANCHORED),
        ('    return "hi " + name', NOT_ANCHORED),
        ("# farewell", agent_line("s-stash", 2, "2.1.1", "add a farewell", 1)),
    ]


def test_merge_squash(repo, hooks):
    wrote = _side_work(repo, hooks)
    repo.git("checkout", "-q", "side")
    one_turn(repo, "s-more", "a.py", "a1\na2\na3\n", "more a")
    repo.git("commit", "-q", "-am", "A3")
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--squash", "side")
    repo.git("commit", "-q", "--no-edit", env=_env())
    assert repo.git("rev-list", "--count", "--merges", "HEAD").strip() == "0"
    assert blame(repo, "a.py") == [("a1", wrote), ("a2", wrote),
                                   ("a3", agent_line("s-more", 2, "2.1.1", "more a", 1))]


def test_rename_with_edits_through_amend(repo, hooks):
    set_up(repo, hooks)
    one_turn(repo, "s-ren", "f.py", "f1\nf2\nf3\nf4\n", "write f")
    repo.git("add", "f.py")
    repo.git("commit", "-q", "-m", "F")
    repo.git("mv", "f.py", "g.py")
    repo.write("g.py", "f1\nf2 by hand\nf3\nf4\n")
    repo.git("commit", "-q", "-a", "--amend", "--no-edit")
    wrote = agent_line("s-ren", 2, "2.1.1", "write f", 1)
    assert blame(repo, "g.py") == [("f1", wrote), ("f2 by hand", HUMAN), ("f3", wrote), ("f4", wrote)]


def test_rename_with_edits_through_rebase(repo, hooks):
    set_up(repo, hooks)
    a = one_turn(repo, "s-ren", "f.py", "f1\nf2\nf3\nf4\n", "write f")
    repo.git("add", "f.py")
    repo.git("commit", "-q", "-m", "F")
    repo.write("b.py", "b1\n")
    repo.commit("B")
    repo.git("mv", "f.py", "g.py")
    a.prompt("change f3")
    a.write("g.py", "f1\nf2\nf3 changed\nf4\n")
    a.stop()
    repo.git("commit", "-q", "-am", "rename")
    # Reorder: the rename goes before B.
    repo.git("rebase", "-q", "-i", "HEAD~2", env=_env(GIT_SEQUENCE_EDITOR="sed -i -e '1{h;d}' -e '2G'"))
    assert repo.git("log", "--format=%s", "-3").split() == ["B", "rename", "F"]
    wrote = agent_line("s-ren", 2, "2.1.1", "write f", 1)
    assert blame(repo, "g.py") == [("f1", wrote), ("f2", wrote),
                                   ("f3 changed", agent_line("s-ren", 4, "4.1.1", "change f3", 3)),
                                   ("f4", wrote)]


def test_squash_merge_done_on_a_server(repo, tmp_path, hooks):
    """The pull request is squash-merged elsewhere (a server, another clone)
    and fetched: the commit has no note and this repository did not make
    it. The agent's lines are found through the session's windows; a line
    written where git-ot never looked stays unknown, not the human's."""
    from support.repo import git

    wrote = _side_work(repo, hooks)
    server = tmp_path / "server.git"
    git(tmp_path, "init", "-q", "--bare", str(server))
    repo.git("push", "-q", str(server), "main", "side")
    repo.git("remote", "add", "origin", str(server))
    repo.git("fetch", "-q", "origin")
    repo.git("branch", "-q", "--set-upstream-to=origin/main")
    elsewhere = tmp_path / "elsewhere"
    git(tmp_path, "clone", "-q", str(server), str(elsewhere))
    git(elsewhere, "merge", "-q", "--squash", "origin/side")
    (elsewhere / "a.py").write_text("a1\na2\nreviewed\n")
    git(elsewhere, "commit", "-q", "-am", "Squashed: write a (#1)")
    git(elsewhere, "push", "-q", "origin", "main")
    repo.git("pull", "-q", "--ff-only")
    squash = head(repo)
    assert note(repo, squash) is None
    assert blame(repo, "a.py") == [("a1", wrote), ("a2", wrote),
                                   ("reviewed", {"kind": "unknown", "reason": "unknown"})]
    # The same commit made here would have been the human's.
    repo.git("checkout", "-q", "-b", "here", "HEAD~1")
    repo.git("merge", "-q", "--squash", "side")
    repo.write("a.py", "a1\na2\nreviewed\n")
    repo.git("commit", "-q", "-am", "Squashed here")
    assert blame(repo, "a.py") == [("a1", wrote), ("a2", wrote), ("reviewed", HUMAN)]


# -- what a message names (domain/trail/copies.py), one row per rule -----------------

A, B, C = "a" * 40, "b" * 40, "c" * 40
NAMED = [
    ("a plain commit names nothing", "fix the parser\n", ([], [])),
    ("cherry-pick -x names its source", f"A\n\n(cherry picked from commit {A})\n", ([A], [])),
    ("picked twice: the last pick is the source",
     f"A\n\n(cherry picked from commit {A})\n(cherry picked from commit {B})\n", ([B], [])),
    ("a revert names the reverted commit", f'Revert "A"\n\nThis reverts commit {A}.\n', ([], [A])),
    ("a revert names it by its full id only", 'Revert "A"\n\nThis reverts commit abcdef1.\n', ([], [])),
    ("a revert of a revert: the first named", f"This reverts commit {A}.\nThis reverts commit {B}.\n",
     ([], [A])),
    ("a pick of a revert is a copy, not a revert",
     f"This reverts commit {A}.\n\n(cherry picked from commit {B})\n", ([B], [])),
    ("a squash names its commits, oldest first",
     f"Squashed commit of the following:\n\ncommit {C}\nAuthor: x\n\ncommit {B}\n", ([B, C], [])),
    ("the squash text only at the start", f"x\nSquashed commit of the following:\n\ncommit {C}\n", ([], [])),
]


@pytest.mark.parametrize("message, named", [(m, n) for _, m, n in NAMED], ids=[name for name, _, _ in NAMED])
def test_what_a_message_names(message, named):
    assert named_sources(message) == named


# -- the bound the search for a file renamed by hand relies on -----------------------

LINE = st.sampled_from([b"", b"}", b"  }", b"return nil", b"if err != nil {", b"x := 1", b"x := 2", b"\tx := 1"])


@settings(max_examples=300, deadline=None)
@given(st.lists(LINE, max_size=30), st.lists(LINE, max_size=30), st.booleans(), st.booleans())
def test_a_diff_pairs_no_more_lines_than_share_a_text(old, new, old_eol, new_eol):
    """attribution._renamed_from diffs a candidate only when the lines of the
    file whose text, stripped, the candidate holds (and either side's
    count) could reach the best score: the diff never pairs more lines."""
    a = b"\n".join(old) + (b"\n" if old and old_eol else b"")
    b = b"\n".join(new) + (b"\n" if new and new_eol else b"")
    same = sum(1 for j in L.align(a, b, L.STEP) if j is not None)
    assert same <= min(L.count(a), L.count(b))
    assert same <= sum(map(set(L.split(a)).__contains__, L.split(b)))
    assert same <= sum(map({ln.strip() for ln in L.split(a)}.__contains__, (ln.strip() for ln in L.split(b))))
