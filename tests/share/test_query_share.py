"""`git ot trace query` in clones: the index is never pushed, a fresh clone
builds its own after `git ot fetch`, and sessions fetched and merged into a
clone that has an index are found at its next query."""

from __future__ import annotations

from support.repo import RECORDED, git
from support.share import make_clone, ok, ot_json, record_session

LINEAR = "265a3953-3ae5-4217-ac1f-2e0725711a3c"


def hits(path, text) -> list[tuple]:
    return [(s["session"], [(m["step"], m["field"]) for m in s["steps"]])
            for s in ot_json(path, "trace", "query", text)["sessions"]]


def test_a_fresh_clone_builds_its_index_after_fetch(tmp_path, server):
    a = make_clone(server.url, tmp_path / "a")
    ok(a.ot("import", "claude-code", str(RECORDED / "linear-edit" / "transcript.jsonl")))
    assert hits(a.path, "instead") == [(LINEAR, [(9, "prompt")])]
    ok(a.ot("approve", "--all"))
    ok(a.ot("push"))
    # Only the session refs and the notes travel, never the index.
    assert "query" not in git(server.path, "for-each-ref")
    assert not (server.path / "opentraces").exists()

    fresh = tmp_path / "fresh"
    git(tmp_path, "clone", "-q", str(server.path), str(fresh))
    assert hits(fresh, "instead") == []  # nothing fetched yet: an empty index
    fetched = ot_json(fresh, "fetch", "origin")
    assert fetched["new"] == [LINEAR]
    assert hits(fresh, "instead") == [(LINEAR, [(9, "prompt")])]

    # A session recorded in another clone, pushed, then fetched and merged
    # into the first: found there at the next query.
    b = make_clone(server.url, tmp_path / "b")
    record_session(b, "s-other", "rename the quokka module")
    ok(b.ot("approve", "--all"))
    ok(b.ot("push"))
    assert hits(a.path, "quokka") == []
    ok(a.ot("fetch"))
    assert hits(a.path, "quokka") == [("s-other", [(1, "prompt")])]
