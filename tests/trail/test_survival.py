"""The survival rules of `git ot track` (domain/trail/survival.py), one row per rule.

The evidence is plain data: what track.py gathers from the notes and from
git. The end-to-end cases, with real commits, rebases and reverts, are in
test_track.py.
"""

from __future__ import annotations

import pytest

from git_ot.domain.trail.survival import STATES, Evidence, alive_lines, classify, landed_lines

CLASSIFY = [
    # -- no landing commit on the target's history
    ("no commit ever held it, nothing in the working tree", Evidence(), "unlanded"),
    ("no commit ever held it, lines in the working tree", Evidence(pending=3), "pending"),
    ("a commit off the target's history holds it", Evidence(held_elsewhere=True), "unlanded"),
    ("held elsewhere in a shallow or damaged history", Evidence(held_elsewhere=True, shaky_history=True),
     "unknown"),
    ("held elsewhere: the commits are the evidence, not the working tree",
     Evidence(held_elsewhere=True, pending=2), "unlanded"),
    ("held elsewhere, shaky history, pending lines", Evidence(held_elsewhere=True, shaky_history=True, pending=2),
     "unknown"),
    ("a shaky history alone, held nowhere", Evidence(shaky_history=True), "unlanded"),
    ("a shaky history alone, lines in the working tree", Evidence(shaky_history=True, pending=1), "pending"),
    # -- landed, nothing alive
    ("landed, every line removed by a revert", Evidence(landed=4, reverted=True), "reverted"),
    ("landed, every line removed, no revert", Evidence(landed=4), "lost"),
    ("nothing alive: repaired needs alive lines", Evidence(landed=4, repaired=True), "lost"),
    ("nothing alive, reverted, the repair flag aside", Evidence(landed=4, reverted=True, repaired=True),
     "reverted"),
    ("landed, pending lines do not count once landed", Evidence(landed=2, pending=2), "lost"),
    # -- landed, some alive
    ("brought back by a later landing commit", Evidence(landed=4, alive=4, repaired=True), "repaired"),
    ("repaired before moved", Evidence(landed=4, alive=1, moved=True, repaired=True), "repaired"),
    ("every line alive in place", Evidence(landed=4, alive=4), "alive_on_path"),
    ("every line alive, some moved", Evidence(landed=4, alive=4, moved=True), "moved"),
    ("half alive in place", Evidence(landed=4, alive=2), "alive_transformed"),
    ("more than half alive in place", Evidence(landed=4, alive=3), "alive_transformed"),
    ("half alive, some moved", Evidence(landed=4, alive=2, moved=True), "moved"),
    ("fewer than half alive", Evidence(landed=5, alive=2), "partially_preserved"),
    ("fewer than half alive, moved", Evidence(landed=5, alive=2, moved=True), "partially_preserved"),
    ("fewer than half alive, the rest reverted: some alive is not reverted",
     Evidence(landed=5, alive=1, reverted=True), "partially_preserved"),
    ("one line landed, alive", Evidence(landed=1, alive=1), "alive_on_path"),
    ("every line alive in place, some reformatted", Evidence(landed=4, alive=4, transformed=True),
     "alive_transformed"),
    ("every line alive, reformatted and moved", Evidence(landed=4, alive=4, moved=True, transformed=True),
     "moved"),
    ("fewer than half alive, reformatted", Evidence(landed=5, alive=2, transformed=True),
     "partially_preserved"),
    ("nothing alive, reformatted flag aside", Evidence(landed=4, transformed=True), "lost"),
    ("held elsewhere too: the landing decides", Evidence(landed=2, alive=2, held_elsewhere=True,
                                                         shaky_history=True), "alive_on_path"),
]


@pytest.mark.parametrize("evidence, state", [(e, s) for _, e, s in CLASSIFY],
                         ids=[name for name, _, _ in CLASSIFY])
def test_classify(evidence, state):
    assert classify(evidence) == state


def test_every_state_has_a_rule():
    assert sorted({s for _, _, s in CLASSIFY}) == sorted(STATES)


LANDED = [
    ("one landing, distinct lines", [[b"a", b"b", b"c"]], 3, 3),
    ("never more than the hunk wrote", [[b"a", b"b", b"c"]], 2, 2),
    ("a line brought back by a second landing counts once", [[b"a", b"b"], [b"b"]], 5, 2),
    ("two copies of the same lines count once", [[b"a", b"b"], [b"a", b"b"]], 5, 2),
    ("a text twice in one landing counts twice", [[b"}", b"}"]], 5, 2),
    ("the most of a text any landing holds", [[b"}"], [b"}", b"}", b"x"]], 5, 3),
    ("nothing landed", [], 3, 0),
]


@pytest.mark.parametrize("landings, written, landed", [(l, w, n) for _, l, w, n in LANDED],
                         ids=[name for name, _, _, _ in LANDED])
def test_landed_lines(landings, written, landed):
    assert landed_lines(landings, written) == landed


ALIVE = [
    ("distinct places", [("a.py", 1), ("a.py", 2)], 3, 2),
    ("two landed copies blamed to one place count once", [("a.py", 1), ("a.py", 1)], 3, 1),
    ("never more than landed", [("a.py", 1), ("b.py", 1), ("c.py", 1)], 2, 2),
    ("none", [], 3, 0),
]


@pytest.mark.parametrize("places, landed, alive", [(p, n, a) for _, p, n, a in ALIVE],
                         ids=[name for name, _, _, _ in ALIVE])
def test_alive_lines(places, landed, alive):
    assert alive_lines(places, landed) == alive
