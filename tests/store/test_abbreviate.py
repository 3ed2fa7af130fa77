"""Short session ids stay unique, as git's abbreviated object names do."""

from __future__ import annotations

import pytest

from git_ot.errors import AmbiguousSession
from git_ot.store.refs import abbreviate, match_session

# Three UUIDv7 ids of sessions started within the same minute, and one
# Claude Code (UUIDv4) id.
V7_A = "019ae4c2-7d10-7a3e-9f10-3c2b1a0e9d8c"
V7_B = "019ae4c2-7d10-7b44-8e21-aa10b2c3d4e5"
V7_C = "019ae4c2-9a01-70c1-b2d3-e4f5a6b7c8d9"
V4 = "5f2b9c1e-8a7d-4e6f-9b0a-1c2d3e4f5a6b"


@pytest.mark.parametrize("ids, expected", [
    ([V4], {V4: "5f2b9c1e"}),
    ([V7_A, V4], {V7_A: "019ae4c2", V4: "5f2b9c1e"}),
    # Same minute: eight characters would name all three alike.
    ([V7_A, V7_B, V7_C, V4], {
        V7_A: "019ae4c2-7d10-7a",
        V7_B: "019ae4c2-7d10-7b",
        V7_C: "019ae4c2-9",
        V4: "5f2b9c1e",
    }),
    # A prefix never ends on the dash: one more character instead.
    (["abcdefgh-1", "abcdefgh-2", "abcdefgX"], {
        "abcdefgh-1": "abcdefgh-1", "abcdefgh-2": "abcdefgh-2", "abcdefgX": "abcdefgX"}),
    # An id shorter than the minimum is shown whole; one that is the
    # prefix of another is shown whole too.
    (["abc", "abcdefghij"], {"abc": "abc", "abcdefghij": "abcdefgh"}),
    ([], {}),
])
def test_abbreviations_are_the_shortest_unique_prefixes(ids, expected):
    assert abbreviate(ids) == expected


def test_every_abbreviation_resolves_back_to_its_session():
    ids = [V7_A, V7_B, V7_C, V4]
    for sid, short in abbreviate(ids).items():
        assert match_session(short, ids) == sid


def test_a_shared_prefix_is_ambiguous_and_names_the_candidates():
    with pytest.raises(AmbiguousSession) as err:
        match_session("019ae4c2", [V7_A, V7_B, V7_C, V4])
    assert str(err.value) == "session prefix '019ae4c2' is ambiguous"
    assert err.value.hint == f"candidates: {V7_A}, {V7_B}, {V7_C}"
