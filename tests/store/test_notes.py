"""The notes store: canonical JSON Lines, git's fan-out, one notes commit per batch."""

from __future__ import annotations

import hashlib

from git_ot.store import notes
from git_ot.store.repository import Store


def _commits(repo, n):
    out = []
    for i in range(n):
        repo.write(f"f{i}.txt", f"{i}\n")
        out.append(repo.commit(f"c{i}"))
    return out


def test_lines_are_canonical_sorted_and_unique():
    a = {"v": 1, "model": None, "harness": "claude-code", "lines": [3, 4], "path": "caf\u00e9.py",
         "hunk": "2.1.1", "step": 2, "session": "s"}
    b = {"v": 1, "path": "x.py", "lines": [1, 1], "unattributed": "ambiguous", "candidates": ["s:2", "t:3"]}
    data = notes.encode([b, a, a])
    assert data == (
        '{"v":1,"path":"x.py","lines":[1,1],"unattributed":"ambiguous","candidates":["s:2","t:3"]}\n'
        '{"v":1,"session":"s","step":2,"hunk":"2.1.1","path":"caf\u00e9.py","lines":[3,4],'
        '"harness":"claude-code","model":null}\n').encode()
    assert notes.decode(data + b"not json\n[1]\n") == [b, a]
    assert notes.encode([]) == b""


def test_write_read_and_remove_in_one_notes_commit(repo):
    c1, c2 = _commits(repo, 2)
    store = Store.open(str(repo.path))
    n = notes.Notes(store)
    tip = n.write({c1: b'{"v":1}\n', c2: b""}, "two notes")
    assert repo.git("rev-parse", "refs/notes/opentraces").strip() == tip
    assert repo.git("notes", "--ref=opentraces", "show", c1) == '{"v":1}\n'
    assert repo.git("notes", "--ref=opentraces", "list", c2).strip()  # an empty note exists
    assert n.read(c2) == b"" and n.read_lines(c2) == []
    assert n.write({c1: b'{"v":1}\n'}, "same again") is None  # nothing changed: no commit
    n.write({c1: None}, "remove")
    assert n.read(c1) is None and sorted(n.annotated()) == [c2]
    assert repo.git("log", "--format=%s", "refs/notes/opentraces") == "remove\ntwo notes\n"
    reflog = repo.git("reflog", "show", "--format=%gs", "refs/notes/opentraces")
    assert reflog.splitlines()[0] == "git-ot: remove"


def test_notes_git_fanned_out_are_read_and_kept(repo):
    """git moves notes under `ab/cdef...` directories once there are many."""
    c1, c2, c3 = _commits(repo, 3)
    blob = repo.git("hash-object", "-w", "--stdin", input="fanned\n").strip()
    inner = repo.git("mktree", input=f"100644 blob {blob}\t{c1[2:]}\n").strip()
    root = repo.git("mktree", input=f"040000 tree {inner}\t{c1[:2]}\n").strip()
    commit = repo.git("commit-tree", root, "-m", "notes by git").strip()
    repo.git("update-ref", "refs/notes/opentraces", commit)
    store = Store.open(str(repo.path))
    n = notes.Notes(store)
    assert n.read(c1) == b"fanned\n"
    n.write({c2: b"flat\n", c1: b"replaced\n"}, "more")
    assert repo.git("notes", "--ref=opentraces", "show", c1) == "replaced\n"
    assert repo.git("notes", "--ref=opentraces", "show", c2) == "flat\n"
    # The fanned-out note was replaced where it was, not duplicated at the top.
    top = repo.git("ls-tree", "refs/notes/opentraces")
    assert c1 not in top and f"\t{c1[:2]}\n" in top
    assert sorted(n.annotated()) == sorted([c1, c2])
    assert n.read(c3) is None


def test_many_notes_are_fanned_out_as_git_does(repo):
    store = Store.open(str(repo.path))
    head = repo.git("rev-parse", "HEAD").strip()
    # Notes for 300 made-up commit ids (notes may annotate any object id).
    ids = [f"{i:040x}" for i in range(1, 300)] + [head]
    notes.Notes(store).write({c: f"{c[-4:]}\n".encode() for c in ids}, "many")
    top = repo.git("ls-tree", "refs/notes/opentraces").splitlines()
    assert top and all(line.split()[1] == "tree" and len(line.split("\t")[1]) == 2 for line in top)
    assert repo.git("notes", "--ref=opentraces", "show", head) == f"{head[-4:]}\n"
    n = notes.Notes(store)
    assert n.read(ids[5]) == f"{ids[5][-4:]}\n".encode()
    n.write({head: b"again\n"}, "one more")
    assert repo.git("notes", "--ref=opentraces", "show", head) == "again\n"
    assert len(n.annotated()) == 300


def test_the_notes_two_trees_hold_differently_whatever_their_fan_out(repo):
    store = Store.open(str(repo.path))
    r = store.repo
    ids = [hashlib.sha1(str(i).encode()).hexdigest() for i in range(300)]
    blobs = {c: r.create_blob(f'{{"v":1,"n":{i}}}\n'.encode()) for i, c in enumerate(ids)}
    fanned = notes.overlay(r, None, blobs)  # more than 256 notes: fanned out as git does
    assert {len(e.name) for e in r[fanned]} == {2}
    flat = r.TreeBuilder()
    for c, b in blobs.items():
        flat.insert(c, b, notes.BLOB_MODE)
    flat = flat.write()
    assert notes.differing(r, r[fanned], r[flat]) == {}
    assert notes.differing(r, r[fanned], r[fanned]) == {}

    changed = r.create_blob(b'{"v":1,"n":"changed"}\n')
    extra = "f" * 40
    other = notes.overlay(r, r[fanned], {ids[5]: changed, extra: changed})
    assert notes.differing(r, r[other], r[flat]) == {ids[5]: (changed, blobs[ids[5]]),
                                                     extra: (changed, None)}
    assert notes.differing(r, None, r[flat]) == {c: (None, b) for c, b in blobs.items()}
    assert notes.overlay(r, r[fanned], {ids[0]: blobs[ids[0]]}) is None  # nothing changes


def test_the_sessions_a_note_line_names_and_the_union_of_notes():
    assert notes.sessions_named(b'{"v":1,"session":"s1","step":2}') == {"s1"}
    assert notes.sessions_named(
        b'{"v":1,"path":"a","lines":[1,1],"unattributed":"ambiguous","candidates":["s1:2","s-2:3"]}') \
        == {"s1", "s-2"}
    assert notes.sessions_named(b'{"v":1,"path":"a","lines":[1,1],"unattributed":"unknown"}') == set()
    assert notes.sessions_named(b"not json") is None
    assert notes.sessions_named(b"[1]") is None
    assert notes.union(b"b\na\n", b"a\nc\n", b"") == b"a\nb\nc\n"
