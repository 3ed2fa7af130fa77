"""The survival state of a hunk: the rules, as functions of plain data.

`git ot track` (track.py) gathers the evidence of each hunk from the notes
and from git (lineage.py); the state is decided here, from that evidence
alone.

States, for a hunk with landed lines (checked in this order):

- `reverted`: no line alive, and a commit that removed some of them
  reverts a commit that landed it;
- `lost`: no line alive, otherwise;
- `repaired`: lines alive, given by blame to a landing commit that
  re-introduced lines an earlier landing commit (its ancestor) had taken,
  so they had been removed in between and were brought back;
- `alive_on_path`: every landed line alive, in place, on its path, unchanged;
- `moved`: at least half alive, some of them in another file (the file was
  renamed, or lines moved out of it) or moved within the file;
- `alive_transformed`: at least half alive, in place, some of them edited
  since in shape only (re-indented, wrapped, reformatted: lineage.py) or
  some lost;
- `partially_preserved`: fewer than half alive.

A hunk with no landing commit on the target's history:

- `unknown`: the repository is shallow, or objects are missing, and a
  commit that holds the hunk (named by a note or by the trail's anchors)
  is missing or beyond what the history reaches: whether the target
  contains it cannot be told;
- `unlanded`: some commit holds it, but not one the target contains (a
  branch not merged, work reset away, an older `--at`): the commits are the
  evidence; or no commit ever held it and the working tree no longer does;
- `pending`: no commit holds it and the working tree has lines of it not
  committed yet (attributed to it as `git ot blame` attributes uncommitted
  lines, from the snapshots).
"""

from __future__ import annotations

from typing import NamedTuple

STATES = ("alive_on_path", "alive_transformed", "moved", "partially_preserved", "reverted",
          "repaired", "lost", "unknown", "pending", "unlanded")


class Evidence(NamedTuple):
    """What is known of one hunk at the target."""

    landed: int = 0  # its lines landed on the target's history, once per text (0: none landed)
    alive: int = 0  # of those, the lines the target still holds, in place or moved
    moved: bool = False  # some alive line is in another file, or moved within its file
    reverted: bool = False  # a commit that removed some of them reverts a commit that landed it
    repaired: bool = False  # alive lines come from a landing commit that brought back lines an ancestor landed
    held_elsewhere: bool = False  # commits off the target's history hold it, or are missing
    shaky_history: bool = False  # shallow, or the target's history could not be listed
    pending: int = 0  # its lines in the working tree, not committed yet
    transformed: bool = False  # some alive line was reformatted since (white space, wrapping)


def classify(evidence: Evidence) -> str:
    """The hunk's state, one of STATES."""
    e = evidence
    if not e.landed:
        if e.held_elsewhere:
            # In a shallow or damaged history, a commit not found on the
            # target's history may still be in it, beyond what is here.
            return "unknown" if e.shaky_history else "unlanded"
        return "pending" if e.pending else "unlanded"
    if e.alive == 0:
        return "reverted" if e.reverted else "lost"
    if e.repaired:
        return "repaired"
    if e.alive >= e.landed and not e.moved and not e.transformed:
        return "alive_on_path"
    if 2 * e.alive >= e.landed:
        return "moved" if e.moved else "alive_transformed"
    return "partially_preserved"


def landed_lines(landings: list[list[bytes]], written: int) -> int:
    """How many lines of a hunk landed: the texts of its lines in each landing
    commit counted once per distinct text (a line brought back later, the
    revert of a revert, or carried by two copies, counts once), never more
    than the hunk wrote."""
    counts: dict[bytes, int] = {}
    for texts in landings:
        local: dict[bytes, int] = {}
        for t in texts:
            local[t] = local.get(t, 0) + 1
        for t, c in local.items():
            counts[t] = max(counts.get(t, 0), c)
    return min(written, sum(counts.values()))


def alive_lines(places: list[tuple[str, int]], landed: int) -> int:
    """How many landed lines are alive: the distinct (path, line) places of
    the target they are found at, never more than landed (two landed copies
    of a line blame gives to one place count once)."""
    return min(len(set(places)), landed)
