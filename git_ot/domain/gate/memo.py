"""Lines the gate found nothing in: each is scanned once, not every time it recurs.

A session's records repeat themselves line by line. A file an agent edits
ten times is whole in ten tool results, and again in the snapshots' blobs;
in real transcripts (entireio/cli's) three characters in five are in a line
seen before. What the gate looks for is within one line: no rule of the
detectors (but one) and no count of the judge (but one) matches across a
line break, and what decides whether a match counts is in its line (the
character next to it at either end is a line break, or the text's end,
which every rule takes alike). So a text's findings are its lines'
findings, and a line in which nothing was found is clean wherever it
recurs.

`CleanLines` keeps such lines. A text is first scanned by its new lines
alone (each once, in any order), joined by line breaks: when they hold
nothing, the text holds nothing, and they are kept; when they hold anything
at all, the caller scans the whole text as before, so every finding, count
and place is exactly what a scan of the whole text gives
(tests/gate/test_memo.py compares the two). What would break the rule
above is never kept, and a text whose new lines hold it is scanned whole:

- a private key's armour (`-----BEGIN ... PRIVATE KEY-----`), whose rule
  takes the lines after it: the armour is a finding by itself;
- U+0130, whose presence changes how a whole text is lowered
  (detectors.lowered);
- a random-looking run (what the entropy test tries): whether it counts
  depends on the lines around it (detectors._base64_block);
- for the judge, `account` in any case: `account_id:` and its twelve digits
  may be on two lines. The judge counts occurrences, so when new lines
  hold residue they are counted again as often as the text holds them.

The lines are kept for the process, under a bound on their size: a long
import shares them between its sessions, and a command forgets them when it
ends.
"""

from __future__ import annotations

# Characters of kept lines past which a memo starts again empty.
LIMIT = 1 << 24


class CleanLines:
    """A set of lines found clean, bounded by LIMIT characters."""

    __slots__ = ("_lines", "_chars")

    def __init__(self):
        self._lines: set[str] = set()
        self._chars = 0

    def new(self, text: str) -> set[str]:
        """The lines of `text` not kept, each once, in no order: what the gate
        finds in a line is the line's own, wherever it stands."""
        return set(text.split("\n")).difference(self._lines)

    def clear(self) -> None:
        self._lines.clear()
        self._chars = 0

    def keep(self, lines: set[str]) -> None:
        size = sum(map(len, lines))
        if self._chars + size > LIMIT:
            self.clear()
        self._lines.update(lines)
        self._chars += size


_MEMOS: dict = {}


def clean_lines(key) -> CleanLines:
    """The process's memo for `key` (what decides a line's findings: the
    detectors' rules in force, or the judge)."""
    memo = _MEMOS.get(key)
    if memo is None:
        memo = _MEMOS[key] = CleanLines()
    return memo


def forget() -> None:
    """Every memo emptied (for tests and benchmarks that start as a new process would)."""
    for lines in _MEMOS.values():
        lines.clear()
