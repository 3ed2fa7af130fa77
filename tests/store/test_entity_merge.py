"""Merging two tips of an entity (store/entities.py `merge`, refs/README.md
section 14, Entities): record by record against the merge base, the same
commit from the same tips whichever side merges."""

from __future__ import annotations

from git_ot.domain.skills import ratings
from git_ot.store import entities
from git_ot.store.repository import Store


def _rating(score: float, by: str = "A <a@example.com>") -> dict:
    return {"score": score, "note": None, "by": by, "t": "2023-11-14T22:13:20Z"}


def _body(sid: str, *scores: float) -> dict:
    return {"session": sid, "ratings": [_rating(s) for s in scores]}


def _state(store: Store, tip: str) -> dict:
    entity = entities.read(store, "ratings", "skills", tip)
    return {k: [r["score"] for r in v["ratings"]] for k, v in entity.records().items()}


def test_three_way_merge_of_ratings(empty_repo):
    store = Store.open(str(empty_repo.path))
    base = entities.write(store, "ratings", "skills", None,
                          {"s1": _body("s1", 0.1), "s2": _body("s2", 0.2), "s3": _body("s3", 0.3)}, "base")
    # One side re-rates s1 and removes s3; the other rates s2 again and adds s4.
    ours = entities.write(store, "ratings", "skills", base, {"s1": _body("s1", 0.5), "s3": None}, "ours")
    theirs = entities.write_commit(store, "ratings", "skills", base,
                                   {"s2": _body("s2", 0.9), "s4": _body("s4", 0.4)}, "theirs")
    merged = entities.merge(store, "ratings", "skills", ours, theirs, ratings.combine, "merge")
    assert _state(store, merged) == {"s1": [0.5], "s2": [0.9], "s4": [0.4]}
    assert [str(p) for p in store.repo[merged].parent_ids] == sorted((ours, theirs))

    # Both changed s1 differently: both ratings kept, oldest first; and the
    # same commit whichever side merges.
    again_ours = entities.write(store, "ratings", "skills", merged, {"s1": _body("s1", 0.6)}, "ours 2")
    again_theirs = entities.write_commit(store, "ratings", "skills", merged, {"s1": _body("s1", 0.7)}, "theirs 2")
    one = entities.merge(store, "ratings", "skills", again_ours, again_theirs, ratings.combine, "m")
    store.set_refs({"refs/opentraces/ratings/skills": again_theirs}, "test")
    other = entities.merge(store, "ratings", "skills", again_theirs, again_ours, ratings.combine, "m")
    assert one == other
    assert _state(store, one)["s1"] == [0.6, 0.7]
    # Dropped keys (a forgotten session's) are left out.
    store.set_refs({"refs/opentraces/ratings/skills": again_ours}, "test")
    dropped = entities.merge(store, "ratings", "skills", again_ours, again_theirs, ratings.combine, "m",
                             drop=lambda key: key == "s4")
    assert sorted(_state(store, dropped)) == ["s1", "s2"]
