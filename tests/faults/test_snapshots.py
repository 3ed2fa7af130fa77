"""Snapshots under faults: a lock a killed hook left, a snapshot that fails.

A snapshot that cannot be taken must never turn the agent's lines into the
person's: the step records its failure, and the lines its tool may have
written read `unknown` (refs/README.md, sections 6 and 11).
"""

from __future__ import annotations

import pytest

from support.trail import HUMAN, Agent, blame, read_records, set_up

BASE = 'def greet(name):\n    return "hi " + name\n'
FAREWELL = '\n\ndef farewell(name):\n    return "bye " + name\n'


@pytest.fixture(params=["hooks", "no-hooks"])
def hooks(request, monkeypatch):
    """With git-ot's git hooks (notes written at commit), and without them
    (blame recomputes the notes); commits take real times."""
    monkeypatch.delenv("GIT_COMMITTER_DATE", raising=False)
    return request.param == "hooks"


def test_a_lock_left_on_the_private_index_does_not_stop_snapshots(repo, hooks):
    set_up(repo, hooks)
    a = Agent(repo, "s-lock")
    a.prompt("add a farewell function")
    a.tool("Read", "app.py")
    a.write("README.md", "readme\nmore\n")  # the private index exists from here
    # A hook killed while git wrote the private index leaves git's lock file.
    (repo.path / ".git/opentraces/snapshot.index.lock").write_bytes(b"")
    a.write("app.py", BASE + FAREWELL)
    a.stop()
    steps = read_records(repo, "s-lock")["trace"]["steps"]
    edit = steps[-1]
    assert (edit["name"], edit.get("snapshot_before"), edit.get("snapshot_after")) == \
        ("Edit", f"{edit['n']}-before", f"{edit['n']}-after")
    assert "snapshot_failed" not in edit
    repo.git("commit", "-q", "-am", "farewell")
    kinds = [attr["kind"] for _, attr in blame(repo, "app.py")]
    assert kinds[2:] == ["agent"] * 4


def test_a_failed_snapshot_is_recorded_and_its_lines_are_unknown(repo, hooks):
    set_up(repo, hooks)
    a = Agent(repo, "s-blind")
    a.prompt("add a farewell function")
    a.write("README.md", "readme\nmore\n")
    repo.git("commit", "-q", "-am", "readme")
    # The private index cannot be written: every snapshot fails from here.
    index = repo.path / ".git/opentraces/snapshot.index"
    index.unlink()
    index.mkdir()
    a.write("app.py", BASE + FAREWELL)
    a.stop()
    edit = read_records(repo, "s-blind")["trace"]["steps"][-1]
    assert edit["name"] == "Edit" and "snapshot_before" not in edit and "snapshot_after" not in edit
    assert sorted(edit["snapshot_failed"]) == ["after", "before"]
    repo.write("notes.txt", "typed by the person\n")
    repo.git("add", "notes.txt")
    repo.git("commit", "-q", "-am", "farewell")
    lines = blame(repo, "app.py")
    # The tool's lines: never the person's.
    blind = {"kind": "unknown", "reason": "unknown", "candidates": [f"s-blind:{edit['n']}"]}
    assert [attr for _, attr in lines[2:]] == [blind] * 4
    # A file the tool named none of (an Edit writes one file) stays the person's.
    assert blame(repo, "notes.txt") == [("typed by the person", HUMAN)]
