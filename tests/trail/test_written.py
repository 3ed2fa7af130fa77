"""The cache of what agent windows wrote into each path (domain/trail/written.py)."""

from __future__ import annotations

from git_ot.domain.trail.written import Written, introduced, line_hash


def test_only_new_windows_are_read_and_a_gone_one_rebuilds_the_path(tmp_path):
    states = {"s:1": (b"a = 1\nkeep\n", b"keep\n"),
              "s:2": (b"a = 1\nb = 2\nb = 2\nkeep\n", b"a = 1\nkeep\n"),  # b = 2 twice: not once
              "s:3": (b"a = 1\nc = 3\n", b"a = 1\nkeep\n"),
              "big:1": None}  # too large to hold: read, and nothing to add
    reads = []

    def read(key):
        reads.append(key)
        return states[key]

    def lines(windows):
        return Written(str(tmp_path)).lines("app.py", {k: k for k in windows}, read)

    assert lines(["s:1", "s:2", "big:1"]) == {line_hash(b"a = 1")}
    assert sorted(reads) == ["big:1", "s:1", "s:2"]
    reads.clear()
    assert lines(["s:1", "s:2", "big:1"]) == {line_hash(b"a = 1")}  # kept across runs
    assert reads == []
    assert lines(["s:1", "s:2", "big:1", "s:3"]) == {line_hash(b"a = 1"), line_hash(b"c = 3")}
    assert reads == ["s:3"]
    reads.clear()
    # s:1 went (a forgotten session): the path is read again from its windows.
    assert lines(["s:2", "s:3"]) == {line_hash(b"c = 3")}
    assert sorted(reads) == ["s:2", "s:3"]
    # The file holds hashes only, never the repository's text.
    assert b"c = 3" not in (tmp_path / "written.json").read_bytes()
    (tmp_path / "written.json").write_text("not json")
    reads.clear()
    assert lines(["s:3"]) == {line_hash(b"c = 3")} and reads == ["s:3"]


def test_introduced_lines_are_those_after_holds_once_and_before_not_at_all():
    assert introduced(b"x\ny\ny\nz", b"z\n") == {line_hash(b"x")}
    assert introduced(b"", b"x\n") == set()
