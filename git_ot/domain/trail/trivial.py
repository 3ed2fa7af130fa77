"""Lines any writer would write, and what they may say about who wrote them.

A closing brace, a blank line, `return nil`, `if err != nil {`, `else:`:
such a line is the same whoever writes it, so a write window that happens
to align with one (its diff placed the line in its hunk) is no evidence
that its step wrote the line the commit holds. A trivial line follows the
attribution of the significant lines around it; alone, it tells nothing.

`trivial(text)` is the one definition; `settle(lines, statuses)` applies
it to the statuses of the lines a commit introduced in one file. Both are
pure.
"""

from __future__ import annotations

import re

# Words that carry no authorship on their own: keywords, the literals and
# names every program repeats in its error handling and returns.
COMMON_WORDS = frozenset("""
    if else elif end fi then do done while for return break continue pass try
    except finally catch default switch case begin defer go yield await async
    nil null None none true false True False undefined self this err error ok
    import package from export public private protected static const let var
    def func function fn class struct type interface new
""".split())

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DIGITS = re.compile(r"[0-9]+")
# A line this long is never trivial, whatever its words.
MAX_TRIVIAL_LENGTH = 24


def trivial(text: bytes | str) -> bool:
    """Whether a line is one any writer would write: blank, punctuation only
    (a brace, a bracket, a comment marker), or at most MAX_TRIVIAL_LENGTH
    characters of COMMON_WORDS, numbers and punctuation (`return nil`,
    `if err != nil {`, `} else {`, `return 0;`).
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    s = text.strip()
    if not s:
        return True
    if len(s) > MAX_TRIVIAL_LENGTH:
        return False
    return all(w in COMMON_WORDS for w in _WORD.findall(_DIGITS.sub("", s)))


def settle(lines: list[bytes], statuses: dict[int, tuple], human: tuple,
           unknown: tuple) -> dict[int, tuple]:
    """The statuses of a commit's introduced lines of one file (0-based line
    -> status, `lines` the file's lines) with every trivial agent line
    settled by its neighbours.

    A trivial line an agent step is credited with keeps that credit when
    the nearest significant introduced line above or below it, in the same
    run of introduced lines, is the same session's; when the significant
    neighbours it has are all the human's, it is the human's; otherwise it
    is `unknown`. So a session is never credited with a commit's lines by
    trivial lines alone. Other statuses are left as they are.
    """
    out = dict(statuses)
    flags = {n: trivial(lines[n]) if n < len(lines) else True for n in statuses}
    for n, status in statuses.items():
        if not flags[n] or status[0] != "agent":
            continue
        near = [s for s in (_neighbour(n, -1, statuses, flags), _neighbour(n, 1, statuses, flags))
                if s is not None]
        if any(s[0] == "agent" and s[1] == status[1] for s in near):
            continue
        out[n] = human if near and all(s == human for s in near) else unknown
    return out


def _neighbour(n: int, direction: int, statuses: dict, flags: dict) -> tuple | None:
    """The status of the nearest significant line from `n` in `direction`
    within the run of introduced lines (None: there is none)."""
    k = n + direction
    while k in statuses:
        if not flags[k]:
            return statuses[k]
        k += direction
    return None
