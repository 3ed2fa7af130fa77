"""Lines any writer would write (trail/trivial.py): the definition, as a
table, and how such lines settle among their neighbours."""

from __future__ import annotations

import pytest

from git_ot.domain.trail.attribution import HUMAN, agent, unattributed
from git_ot.domain.trail.trivial import settle, trivial

UNKNOWN = unattributed("unknown")


@pytest.mark.parametrize("line, expected", [
    ("", True),
    ("    ", True),
    ("}", True),
    ("\t}", True),
    ("});", True),
    ("]", True),
    ("),", True),
    ("//", True),
    ('"""', True),
    ("return nil", True),
    ("\treturn nil, err", True),
    ("if err != nil {", True),
    ("} else {", True),
    ("else:", True),
    ("try:", True),
    ("pass", True),
    ("return 0;", True),
    ("return true", True),
    ("import (", True),
    ("default:", True),
    (b"\t\treturn err\n", True),
    # Significant: a name of the program's own, or long enough to be someone's.
    ("return x", False),
    ("x := 1", False),
    ("defer f.Close()", False),
    ("return fmt.Errorf(\"open: %w\", err)", False),
    ("if cfg == nil {", False),
    ("package main", False),
    ("def greet(name):", False),
    ("# the cache is warm here", False),
    ("return None if not self or this else True", False),  # common words, but long
])
def test_trivial(line, expected):
    assert trivial(line) is expected


A1 = agent("s-a", 3, "3.1.1")
A2 = agent("s-a", 4, "4.1.1")
B1 = agent("s-b", 7, "7.1.1")
AMBIG = unattributed("ambiguous", ["s-a:3", "s-b:7"])


@pytest.mark.parametrize("lines, statuses, expected", [
    # A brace closing the session's own function stays the session's,
    # from either side, across other trivial lines.
    (["func a() error {", "\tdoA()", "\treturn nil", "}"],
     {0: A1, 1: A1, 2: A1, 3: A1}, {0: A1, 1: A1, 2: A1, 3: A1}),
    (["\tdoA()", "", "}"], {0: A2, 1: A1, 2: A1}, {0: A2, 1: A1, 2: A1}),
    # The significant lines are the human's: so are the trivial ones.
    (["func b() error {", "\tdoB()", "\treturn nil", "}"],
     {0: HUMAN, 1: HUMAN, 2: A1, 3: A1}, {0: HUMAN, 1: HUMAN, 2: HUMAN, 3: HUMAN}),
    # Trivial lines alone: no session named.
    (["}", "", "return nil"], {0: A1, 1: A1, 2: A1}, {0: UNKNOWN, 1: UNKNOWN, 2: UNKNOWN}),
    # Neighbours that disagree, or another session's: unknown.
    (["\tdoB()", "}", "\tdoA()"], {0: HUMAN, 1: A1, 2: A1}, {0: HUMAN, 1: A1, 2: A1}),
    (["\tdoB()", "}", "\tdoC()"], {0: HUMAN, 1: A1, 2: B1}, {0: HUMAN, 1: UNKNOWN, 2: B1}),
    (["\tdoB()", "}"], {0: B1, 1: A1}, {0: B1, 1: UNKNOWN}),
    (["\tdoB()", "}"], {0: AMBIG, 1: A1}, {0: AMBIG, 1: UNKNOWN}),
    # Only the run of introduced lines counts: line 1 is not the commit's.
    (["\tdoA()", "\tdoX()", "}"], {0: A1, 2: A1}, {0: A1, 2: UNKNOWN}),
    # Statuses other than an agent's are left as they are.
    (["}", "\tdoA()"], {0: HUMAN, 1: A1}, {0: HUMAN, 1: A1}),
    (["}", ""], {0: UNKNOWN, 1: HUMAN}, {0: UNKNOWN, 1: HUMAN}),
])
def test_settle(lines, statuses, expected):
    data = [ln.encode() for ln in lines]
    assert settle(data, statuses, HUMAN, UNKNOWN) == expected
    # Settling twice changes nothing more.
    assert settle(data, expected, HUMAN, UNKNOWN) == expected
