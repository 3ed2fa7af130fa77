"""Ratings of skill runs travel with `git ot push` and `git ot fetch`, and merge like notes.

Ratings are the one record namespace shared (refs/README.md sections 14
to 16); other entities under refs/opentraces/ stay in their clone.
"""

from __future__ import annotations

import json

from support.repo import git
from support.share import fsck, make_clone, ok, ot_json, record_session
from support.spec import cat_blob, decode_cbor_zst, jsonable, ls_tree, validate

RATINGS = "refs/opentraces/ratings/skills"


def _ratings(path) -> dict[str, list[tuple]]:
    """Every rated session's ratings (score, note), read with git alone and checked against the schema."""
    tip = git(path, "rev-parse", "--verify", "-q", RATINGS, check=False).strip()
    if not tip:
        return {}
    out = {}
    for name, (mode, typ, oid) in ls_tree(path, tip).items():
        record = decode_cbor_zst(cat_blob(path, oid))
        validate("ratings", jsonable(record))
        assert name.decode() == record["session"] + ".cbor.zst"
        out[record["session"]] = [(r["score"], r["note"]) for r in record["ratings"]]
    return out


def _tip(path, ref=RATINGS) -> str:
    return git(path, "rev-parse", "--verify", "-q", ref, check=False).strip()


def test_ratings_are_pushed_fetched_and_merged_when_two_clones_rated(tmp_path, server):
    a = make_clone(server.url, tmp_path / "a")
    for sid in ("s1", "s2"):
        record_session(a, sid, f"prompt {sid}")
    ok(a.ot("approve", "--all"))
    assert ot_json(a.path, "skill", "rate", "s1", "0.4", "--note", "too long")["score"] == 0.4
    pushed = ot_json(a.path, "push")
    assert (pushed["pushed"], pushed["entities"]) == (
        ["s1", "s2"], {"pushed": ["ratings/skills"], "merged": [], "held_back": []})
    assert _tip(server.path) == _tip(a.path)

    b = make_clone(server.url, tmp_path / "b")
    fetched = ot_json(b.path, "fetch")
    assert fetched["entities"] == {"new": ["ratings/skills"], "updated": [], "merged": []}
    assert _ratings(b.path) == {"s1": [(0.4, "too long")]}

    # Both clones rate s2, and A re-rates s1: the merge keeps every rating.
    ok(a.ot("skill", "rate", "s2", "0.1"))
    ok(a.ot("skill", "rate", "s1", "0.6"))
    ok(b.ot("skill", "rate", "s2", "0.9", "--note", "fine"))
    assert ot_json(a.path, "push")["entities"]["pushed"] == ["ratings/skills"]
    out = ot_json(b.path, "push")
    assert out["entities"] == {"pushed": ["ratings/skills"], "merged": ["ratings/skills"], "held_back": []}
    assert ot_json(a.path, "fetch")["entities"] == {"new": [], "updated": ["ratings/skills"], "merged": []}
    expected = {"s1": [(0.6, None)], "s2": [(0.1, None), (0.9, "fine")]}
    assert _ratings(a.path) == _ratings(b.path) == _ratings(server.path) == expected
    assert _tip(a.path) == _tip(b.path) == _tip(server.path)
    merge = git(a.path, "log", "-1", "--format=%P%n%an <%ae>%n%s", RATINGS).splitlines()
    assert len(merge[0].split()) == 2 and merge[1] == "git-ot <git-ot@localhost>"
    assert merge[2].startswith("merge ratings/skills: ")
    # Nothing left staged once merged.
    assert git(a.path, "for-each-ref", "refs/opentraces/remotes/") == ""
    for path in (a.path, b.path, server.path):
        fsck(path)


def test_ratings_naming_a_session_the_remote_lacks_stay_here(tmp_path, server):
    a = make_clone(server.url, tmp_path / "a")
    record_session(a, "s1", "one")
    record_session(a, "s2", "two")
    ok(a.ot("approve", "s1"))
    ok(a.ot("skill", "rate", "s2", "1"))
    proc = a.cli("push", "--json")  # exits 1: s2 is not approved
    out = json.loads(proc.stdout)
    assert (proc.returncode, out["pushed"], out["unapproved"], out["entities"]) == (
        1, ["s1"], ["s2"], {"pushed": [], "merged": [], "held_back": ["ratings/skills"]})
    assert _tip(server.path) == ""
    human = a.cli("push")
    assert human.stdout.decode().splitlines()[-1] == (
        "kept back ratings/skills: they name sessions the remote does not hold; push those sessions first")
    ok(a.ot("approve", "s2"))
    assert ot_json(a.path, "push")["entities"]["pushed"] == ["ratings/skills"]
    assert _ratings(server.path) == {"s2": [(1.0, None)]}


def test_entities_of_other_namespaces_are_never_pushed(tmp_path, server):
    a = make_clone(server.url, tmp_path / "a")
    record_session(a, "s1", "one")
    ok(a.ot("approve", "--all"))
    ok(a.ot("skill", "rate", "s1", "0.5"))
    # A dataset's rows (another engineer's namespace) are an entity too; not shared.
    git(a.path, "update-ref", "refs/opentraces/datasets/rows", _tip(a.path))
    ok(a.ot("push"))
    listed = git(server.path, "for-each-ref", "--format=%(refname)", "refs/opentraces/").split()
    assert listed == [RATINGS, "refs/opentraces/sessions/s1"]


def _history_keys(path) -> set[str]:
    """The sessions rated in any commit of the ratings' chain."""
    out = set()
    for commit in git(path, "rev-list", RATINGS).split():
        out |= {name.decode()[:-len(".cbor.zst")] for name in ls_tree(path, commit)}
    return out


def test_forgetting_a_rated_session_takes_its_rating_out_history_and_all(tmp_path, server):
    a = make_clone(server.url, tmp_path / "a")
    record_session(a, "s1", "one")
    record_session(a, "s2", "two")
    ok(a.ot("approve", "s1"))
    ok(a.ot("skill", "rate", "s2", "0.7"))  # s2 is never shared, and is then forgotten
    ok(a.ot("skill", "rate", "s1", "0.3"))
    # Its rating's commit would go with the history: the ratings stay here.
    out = a.cli("push", "--json")
    assert json.loads(out.stdout)["entities"]["held_back"] == ["ratings/skills"]
    ok(a.ot("forget", "s2"))
    assert _ratings(a.path) == {"s1": [(0.3, None)]}
    assert _history_keys(a.path) == {"s1"}
    assert git(a.path, "cat-file", "-t", _tip(a.path) + "^", check=False) == ""  # no history left
    assert ot_json(a.path, "push")["entities"]["pushed"] == ["ratings/skills"]
    assert _history_keys(server.path) == {"s1"}


def test_a_forgotten_sessions_rating_on_the_remote_is_not_fetched_back(tmp_path, server):
    a = make_clone(server.url, tmp_path / "a")
    record_session(a, "s1", "one")
    record_session(a, "s2", "two")
    ok(a.ot("approve", "--all"))
    ok(a.ot("skill", "rate", "s1", "0.3"))
    ok(a.ot("skill", "rate", "s2", "0.7"))
    ok(a.ot("push"))
    b = make_clone(server.url, tmp_path / "b")
    ok(b.ot("fetch"))
    ok(b.ot("forget", "s2"))
    assert _ratings(b.path) == {"s1": [(0.3, None)]}
    ok(a.ot("skill", "rate", "s1", "0.4"))
    ok(a.ot("push"))
    assert ot_json(b.path, "fetch")["entities"] == {"new": [], "updated": [], "merged": ["ratings/skills"]}
    # B's rewrite shares no history with A's chain: both of s1's ratings are
    # kept, as two notes' lines are, and s2's stays out.
    assert _ratings(b.path) == {"s1": [(0.3, None), (0.4, None)]}
    # B pushes the merge; A's fetch takes it, s2's rating gone from its tip too.
    assert ot_json(b.path, "push")["entities"]["pushed"] == ["ratings/skills"]
    ok(a.ot("fetch"))
    assert _ratings(a.path) == _ratings(server.path) == {"s1": [(0.3, None), (0.4, None)]}
    for path in (a.path, b.path):
        fsck(path)
