"""Line diffs between two versions of a file, as git computes them.

Every diff here is libgit2's (the xdiff git itself uses), with no context
lines. Two flavours, on purpose:

- `STEP`: libgit2's defaults, exactly what a seal uses for a step's patch
  (git_ot/domain/sealing.py), so a line a step wrote falls inside one of the
  hunks its patch records;
- `BLAME`: with git's indent heuristic, which `git blame` applies, so the
  lines a commit "introduced" here are the lines `git blame` gives to it.
"""

from __future__ import annotations

import pygit2

STEP = 0
BLAME = int(pygit2.enums.DiffOption.INDENT_HEURISTIC)


def count(data: bytes) -> int:
    """The number of lines, as git counts them (a last line needs no newline)."""
    if not data:
        return 0
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


def split(data: bytes) -> list[bytes]:
    """The lines, without their line feeds."""
    if not data:
        return []
    parts = data.split(b"\n")
    if data.endswith(b"\n"):
        parts.pop()
    return parts


def is_binary(data: bytes) -> bool:
    # git's own test: a NUL byte in the first 8000 bytes.
    return b"\0" in data[:8000]


def hunks(old: bytes, new: bytes, flags: int = STEP) -> list[tuple[int, int, int, int]]:
    """(old_start, old_lines, new_start, new_lines) per hunk, 0 context lines."""
    if old == new:
        return []
    patch = pygit2.Patch.create_from(old, new, context_lines=0, flag=flags)
    return [(h.old_start, h.old_lines, h.new_start, h.new_lines) for h in patch.hunks]


def align(old: bytes, new: bytes, flags: int = STEP) -> list[int | None]:
    """For each line of `new` (0-based), the 0-based line of `old` it is
    unchanged from, or None for a line the diff adds."""
    n_new = count(new)
    if old == new:
        return list(range(n_new))
    out: list[int | None] = [None] * n_new
    o = n = 1  # the next 1-based line of each side not yet placed
    for old_start, old_lines, new_start, new_lines in hunks(old, new, flags):
        # A hunk that adds or removes nothing on one side names the line
        # after which it sits (as in a unified diff header).
        o_h = old_start if old_lines else old_start + 1
        n_h = new_start if new_lines else new_start + 1
        for k in range(n_h - n):
            out[n - 1 + k] = o - 1 + k
        o, n = o_h + old_lines, n_h + new_lines
    for k in range(n_new - n + 1):
        out[n - 1 + k] = o - 1 + k
    return out


def unindented(data: bytes) -> bytes:
    """The content with every line's leading and trailing white space set
    aside (as many lines, in the same order): two versions that differ only
    in indentation are the same once unindented."""
    parts = split(data)
    return b"\n".join([p.strip() for p in parts]) + b"\n" if parts else b""


def added(old: bytes, new: bytes, flags: int = BLAME) -> set[int]:
    """The 0-based lines of `new` that the diff from `old` adds."""
    return {i for i, j in enumerate(align(old, new, flags)) if j is None}


def ranges(numbers) -> list[tuple[int, int]]:
    """Sorted 1-based line numbers as inclusive [first, last] runs."""
    out: list[list[int]] = []
    for n in sorted(numbers):
        if out and out[-1][1] == n - 1:
            out[-1][1] = n
        else:
            out.append([n, n])
    return [(a, b) for a, b in out]
