"""Rewrites: notes follow their lines through amend and interactive rebase.

The post-rewrite hook maps each old commit's attribution onto the new
commit: a line keeps it while its text is unchanged; a line the rewrite
changed is attributed afresh (the human's, unless an agent step wrote the new
text). Rebases are driven with GIT_SEQUENCE_EDITOR, as a user's editor would.
Tests that take `hooks` run twice, the second time without git-ot's git
hooks (a rebase on another machine): blame then recomputes the notes, and
must answer the same.
"""

from __future__ import annotations

import os

from support.trail import (HUMAN, NOT_ANCHORED, Agent, one_turn, agent_line, blame, check_against_schemas, head,  # noqa: F401
                           note, set_up)


def _env(**extra):
    return {**os.environ, "GIT_EDITOR": "true", **extra}


def _history(repo, hooks=True):
    """Three commits: agent work in a.py, human work in b.py, agent work in c.py."""
    set_up(repo, hooks)
    a = one_turn(repo, "s-rw", "a.py", "a1\na2\n", "write a")
    repo.git("add", "a.py")
    repo.git("commit", "-q", "-m", "A")
    repo.write("b.py", "b1\n")
    repo.git("add", "b.py")
    repo.git("commit", "-q", "-m", "B")
    a.prompt("write c")
    a.write("c.py", "c1\nc2\nc3\n")
    a.stop()
    repo.git("add", "c.py")
    repo.git("commit", "-q", "-m", "C")
    wrote_a = agent_line("s-rw", 2, "2.1.1", "write a", 1)
    wrote_c = agent_line("s-rw", 4, "4.1.1", "write c", 3)
    return wrote_a, wrote_c


def _rebase(repo, script: str, onto: str = "HEAD~3"):
    return repo.git("rebase", "-q", "-i", onto, env=_env(GIT_SEQUENCE_EDITOR=script))


def test_amend_without_touching_the_agents_lines(repo, hooks):
    wrote_a, wrote_c = _history(repo, hooks)
    old = head(repo)
    repo.write("c.py", "c1\nc2\nc3\n")
    repo.write("b.py", "b1\nb2\n")
    repo.git("commit", "-q", "-a", "--amend", "-m", "C and b2")
    new = head(repo)
    assert new != old
    assert blame(repo, "c.py") == [("c1", wrote_c), ("c2", wrote_c), ("c3", wrote_c)]
    assert blame(repo, "b.py") == [("b1", HUMAN), ("b2", HUMAN)]
    if hooks:
        assert note(repo, new) == note(repo, old)  # the same lines, at the same places
        assert note(repo, old) is not None  # the old commit keeps its note


def test_amend_changing_an_agents_line(repo, hooks):
    wrote_a, wrote_c = _history(repo, hooks)
    repo.write("c.py", "c1\nC2 by hand\nc3\n")
    repo.git("commit", "-q", "-a", "--amend", "--no-edit")
    assert blame(repo, "c.py") == [("c1", wrote_c), ("C2 by hand", HUMAN), ("c3", wrote_c)]
    if hooks:
        assert [n["lines"] for n in note(repo)] == [[1, 1], [3, 3]]


def test_amend_by_the_agent_keeps_its_new_text(repo, hooks):
    wrote_a, wrote_c = _history(repo, hooks)
    one_turn(repo, "s-amend", "c.py", "c1\nc2 fixed\nc3\n", "fix c2")
    repo.git("commit", "-q", "-a", "--amend", "--no-edit")
    assert blame(repo, "c.py") == [("c1", wrote_c), ("c2 fixed", agent_line("s-amend", 2, "2.1.1", "fix c2", 1)),
                                   ("c3", wrote_c)]


def test_rebase_reorder(repo, hooks):
    wrote_a, wrote_c = _history(repo, hooks)
    # pick A, pick C, pick B: swap the last two lines of the todo list.
    _rebase(repo, "sed -i -e '2{h;d}' -e '3G'")
    assert repo.git("log", "--format=%s", "-3").split() == ["B", "C", "A"]
    assert blame(repo, "a.py") == [("a1", wrote_a), ("a2", wrote_a)]
    assert blame(repo, "c.py") == [("c1", wrote_c), ("c2", wrote_c), ("c3", wrote_c)]
    assert blame(repo, "b.py") == [("b1", HUMAN)]
    if not hooks:
        return
    # The session's trail keeps the commits that took its work; the copies
    # are found by their notes.
    c_new = repo.git("rev-parse", "HEAD~1").strip()
    anchors = _trail_anchors(repo, "s-rw")
    assert [(a["path"], a["lines"], a["via"]) for a in anchors] == [("a.py", [1, 2], "commit"),
                                                                    ("c.py", [1, 3], "commit")]
    assert c_new not in {a["commit"] for a in anchors}
    check_against_schemas(repo, "s-rw", revs=["HEAD", "HEAD~1", "HEAD~2"])


def test_rebase_squash_and_fixup(repo, hooks):
    wrote_a, wrote_c = _history(repo, hooks)
    _rebase(repo, "sed -i -e '2s/^pick/squash/' -e '3s/^pick/fixup/'")
    assert repo.git("rev-list", "--count", "HEAD").strip() == "2"
    assert blame(repo, "a.py") == [("a1", wrote_a), ("a2", wrote_a)]
    assert blame(repo, "b.py") == [("b1", HUMAN)]
    assert blame(repo, "c.py") == [("c1", wrote_c), ("c2", wrote_c), ("c3", wrote_c)]
    if hooks:
        assert sorted((n["path"], n["step"]) for n in note(repo)) == [("a.py", 2), ("c.py", 4)]


def test_rebase_drop(repo, hooks):
    wrote_a, wrote_c = _history(repo, hooks)
    _rebase(repo, "sed -i -e '2s/^pick/drop/'")
    assert repo.git("log", "--format=%s", "-2").split() == ["C", "A"]
    assert not (repo.path / "b.py").exists()
    assert blame(repo, "c.py") == [("c1", wrote_c), ("c2", wrote_c), ("c3", wrote_c)]


def test_rebase_edit_and_split(repo, hooks):
    """Stop at C, undo it, commit it back in two pieces, continue."""
    set_up(repo, hooks)
    a = Agent(repo, "s-split")
    a.prompt("write two files")
    a.write("x.py", "x1\n")
    a.write("y.py", "y1\ny2\n")
    a.stop()
    repo.git("add", "x.py", "y.py")
    repo.git("commit", "-q", "-m", "X and Y")
    repo.write("z.py", "z\n")
    repo.commit("Z")
    _rebase(repo, "sed -i -e '1s/^pick/edit/'", onto="HEAD~2")
    repo.git("reset", "-q", "HEAD^")
    repo.git("add", "x.py")
    repo.git("commit", "-q", "-m", "X")
    repo.git("add", "y.py")
    repo.git("commit", "-q", "-m", "Y")
    repo.git("rebase", "--continue", env=_env())
    assert repo.git("log", "--format=%s", "-3").split() == ["Z", "Y", "X"]
    assert blame(repo, "x.py") == [("x1", agent_line("s-split", 2, "2.1.1", "write two files", 1))]
    y = agent_line("s-split", 3, "3.1.1", "write two files", 1)
    assert blame(repo, "y.py") == [("y1", y), ("y2", y)]
    assert blame(repo, "z.py") == [("z", HUMAN)]


def test_rebase_of_commits_that_were_never_anchored(repo):
    one_turn(repo, "s-before", "a.py", "a1\n", "write a")
    repo.git("add", "a.py")
    repo.git("commit", "-q", "-m", "A")  # no hooks yet: no note
    repo.write("b.py", "b1\n")
    repo.commit("B")
    repo.cli_json("init")
    _rebase(repo, "sed -i -e '1{h;d}' -e '2G'", onto="HEAD~2")
    assert repo.git("log", "--format=%s", "-2").split() == ["A", "B"]
    # Still unknown: a rewrite does not make up what was never recorded.
    assert blame(repo, "a.py") == [("a1", NOT_ANCHORED)]
    assert note(repo) is None


def _trail_anchors(repo, session):
    from support.trail import read_records

    return read_records(repo, session)["trail"]["anchors"]


def test_pull_rebase_carries_the_notes(repo, tmp_path, hooks):
    """`git pull --rebase` runs the rebase machinery: post-rewrite maps the notes."""
    from support.repo import git

    server = tmp_path / "server.git"
    git(tmp_path, "init", "-q", "--bare", str(server))
    repo.git("push", "-q", str(server), "main")
    repo.git("remote", "add", "origin", str(server))
    repo.git("fetch", "-q", "origin")
    repo.git("branch", "-q", "--set-upstream-to=origin/main")
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(server), str(other))
    (other / "upstream.txt").write_text("upstream\n")
    git(other, "add", "upstream.txt")
    git(other, "commit", "-q", "-m", "upstream")
    git(other, "push", "-q", "origin", "main")
    set_up(repo, hooks)
    one_turn(repo, "s-pull", "a.py", "a1\n", "write a")
    repo.git("add", "a.py")
    repo.git("commit", "-q", "-m", "A")
    before = head(repo)
    repo.git("pull", "-q", "--rebase", env=_env())
    assert head(repo) != before and repo.git("log", "--format=%s", "-2").split() == ["A", "upstream"]
    assert blame(repo, "a.py") == [("a1", agent_line("s-pull", 2, "2.1.1", "write a", 1))]


def test_a_cherry_pick_carries_the_agents_lines(repo, hooks):
    """git cherry-pick leaves CHERRY_PICK_HEAD for post-commit: the source's note maps onto the copy."""
    set_up(repo, hooks)
    repo.git("checkout", "-q", "-b", "side")
    one_turn(repo, "s-pick", "a.py", "a1\n", "write a")
    repo.git("add", "a.py")
    repo.git("commit", "-q", "-m", "A")
    repo.git("checkout", "-q", "main")
    repo.write("b.py", "b1\n")
    repo.commit("B")
    repo.git("cherry-pick", "side")
    assert repo.git("log", "--format=%s", "-2").split() == ["A", "B"]
    if hooks:
        assert note(repo) == note(repo, "side")
    else:
        assert note(repo) is None
    assert blame(repo, "a.py") == [("a1", agent_line("s-pick", 2, "2.1.1", "write a", 1))]
