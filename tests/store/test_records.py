"""Generic records: an entity's round trip through git, and the reader's refusals.

The entity store (git_ot/store/entities.py) keeps records of one namespace
under refs/opentraces/<namespace>/<name>, in the one record format of
git_ot/store/records.py (refs/README.md section 15). No namespace of an
entity is registered yet, so these tests register one, `example`.
"""

from __future__ import annotations

import hashlib
import subprocess

import cbor2
import pytest

from support.repo import git
from git_ot.errors import ConcurrentUpdate, CorruptRecord, InvalidName, UnknownNamespace, UnsupportedVersion
from git_ot.store import entities, records
from git_ot.store.repository import Store

NS = "example"
REF = "refs/opentraces/example/e-1"


@pytest.fixture
def store(empty_repo, monkeypatch):
    monkeypatch.setitem(records.VERSIONS, NS, 1)
    return Store.open(str(empty_repo.path))


def test_records_round_trip_through_an_entity_ref(store):
    first = entities.write(store, NS, "e-1", None, {"b": {"score": 2}, "a": {"score": 4, "by": "ä"}},
                           "rate e-1\n\ntwo ratings")
    entity = entities.read(store, NS, "e-1")
    assert entity.tip == first and (entity.namespace, entity.name) == (NS, "e-1")
    assert entity.keys() == ["a", "b"]
    assert entity.records() == {"a": {"schema": "git-ot/example", "v": 1, "score": 4, "by": "ä"},
                                "b": {"schema": "git-ot/example", "v": 1, "score": 2}}

    second = entities.write(store, NS, "e-1", first, {"b": None, "c": {"score": 5}}, "rate e-1 again")
    entity = entities.read(store, NS, "e-1")
    assert entity.tip == second and entity.keys() == ["a", "c"]
    assert entity.record("b") is None and entity.record("c")["score"] == 5
    assert entities.read(store, NS, "e-1", tip=first).keys() == ["a", "b"]
    assert git(store.location.worktree, "rev-parse", f"{second}^").strip() == first
    assert entities.names(store, NS) == ["e-1"]
    assert entities.read(store, NS, "e-2") is None


def test_a_write_from_a_stale_tip_moves_nothing(store):
    first = entities.write(store, NS, "e-1", None, {"a": {"x": 1}}, "one")
    second = entities.write(store, NS, "e-1", first, {"a": {"x": 2}}, "two")
    with pytest.raises(ConcurrentUpdate):
        entities.write(store, NS, "e-1", first, {"a": {"x": 3}}, "three")
    with pytest.raises(ConcurrentUpdate):
        entities.write(store, NS, "e-1", None, {"a": {"x": 3}}, "again")
    assert store.ref_target(REF) == second


def test_names_and_bodies_are_checked_before_anything_is_written(store):
    with pytest.raises(InvalidName) as bad:
        entities.write(store, NS, "e/1", None, {"a": {}}, "x")
    assert (bad.value.message, bad.value.hint) == (
        "invalid entity name 'e/1'", "entity names are 1-128 letters, digits, '.', '_' or '-'")
    with pytest.raises(InvalidName, match="invalid record key '..'"):
        entities.write(store, NS, "e-1", None, {"..": {}}, "x")
    with pytest.raises(ValueError, match="envelope"):
        entities.write(store, NS, "e-1", None, {"a": {"v": 2}}, "x")
    with pytest.raises(ValueError):
        entities.write(store, "trace", "e-1", None, {"a": {}}, "x")  # a session record's namespace
    assert store.ref_target(REF) is None


def test_an_unknown_namespace_is_refused(store, monkeypatch):
    entities.write(store, NS, "e-1", None, {"a": {}}, "x")
    monkeypatch.delitem(records.VERSIONS, NS)  # as a git-ot that never knew it
    for call in (lambda: entities.read(store, NS, "e-1"), lambda: entities.names(store, NS),
                 lambda: entities.write(store, NS, "e-1", None, {"a": {}}, "x")):
        with pytest.raises(UnknownNamespace) as refused:
            call()
        assert refused.value.message == "unknown record namespace 'example'"
        assert refused.value.hint == ("upgrade git-ot to read it; this version reads "
                                      "'manifest', 'trace', 'trail', 'ctx', 'datasets', 'capsule', 'ratings'")


def test_a_newer_version_is_refused(store, monkeypatch):
    monkeypatch.setitem(records.VERSIONS, NS, 2)  # written by a newer git-ot
    entities.write(store, NS, "e-1", None, {"a": {"x": 1}}, "x")
    monkeypatch.setitem(records.VERSIONS, NS, 1)
    entity = entities.read(store, NS, "e-1")
    assert entity.keys() == ["a"]
    with pytest.raises(UnsupportedVersion) as refused:
        entity.record("a")
    assert refused.value.message == (f"a.cbor.zst in '{REF}' has schema version 2; "
                                     "this git-ot reads up to version 1")
    assert refused.value.hint == "upgrade git-ot to read it"


def _replace_record(store, key: str, data: bytes) -> None:
    """Point the entity at a commit whose record `key` holds `data`, with real git."""
    cwd = store.location.worktree
    blob = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=cwd, input=data,
                          capture_output=True, check=True).stdout.decode().strip()
    tree = git(cwd, "mktree", input=f"100644 blob {blob}\t{key}.cbor.zst\n").strip()
    commit = git(cwd, "commit-tree", tree, "-p", REF, "-m", "damage").strip()
    git(cwd, "update-ref", REF, commit)


@pytest.mark.parametrize("data,reason", [
    (b"not a zstandard frame", "corrupt record a.cbor.zst in 'refs/opentraces/example/e-1': "),
    (records.encode("trace", records.envelope("trace", {"session": "s"})),
     "corrupt record a.cbor.zst in 'refs/opentraces/example/e-1': not a git-ot/example record"),
    (records.raw_frame(cbor2.dumps({"schema": "git-ot/example", "v": 0})),
     "corrupt record a.cbor.zst in 'refs/opentraces/example/e-1': bad schema version 0"),
])
def test_a_corrupt_record_is_an_error_not_a_guess(store, data, reason):
    entities.write(store, NS, "e-1", None, {"a": {"x": 1}}, "x")
    _replace_record(store, "a", data)
    with pytest.raises(CorruptRecord) as corrupt:
        entities.read(store, NS, "e-1").record("a")
    assert corrupt.value.message.startswith(reason)
    assert "\n" not in corrupt.value.message


# The bytes of session records, pinned: the generic format changed none of them.
SESSION_RECORDS = {
    "trace": ({"session": "s-1", "steps": [{"n": 1, "kind": "prompt", "t": 1.5, "events": ["e1"],
                                            "text": "héllo"}], "lifecycle": [], "info": {}},
              "8457563c1af67878530be323631f03f424ad977a5c4549abf294a98fd7353d1e"),
    "ctx": ({"messages": [{"id": i, "step": i, "role": "user"} for i in range(1, 20001)], "views": []},
            "3a9a4be2719e6217edabd475e77c96660454949b896d6c8278dd5af9550aaed6"),
    "manifest": ({"session": "s-1", "harness": {"name": "claude-code", "version": None}, "files": ["ä.py"]},
                 "38e0679b2a53974b95388839a4dda0a33f0aa73a673f73891e895a5da522593a"),
    "trail": ({"snapshots": {}, "patches": [], "anchors": []},
              "1378c3e500a585d530b9e639614d288e666047bfcfa3b9613cbd85a5ed5d805b"),
}


@pytest.mark.parametrize("kind", sorted(SESSION_RECORDS))
def test_session_records_keep_their_bytes(kind):
    body, digest = SESSION_RECORDS[kind]
    data = records.encode(kind, records.envelope(kind, body))
    assert hashlib.sha256(data).hexdigest() == digest
    assert records.decode(kind, data, "a test") == records.envelope(kind, body)
