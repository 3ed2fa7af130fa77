"""Rebuilding a file's contents from what a harness recorded of an edit.

A harness's transcript says what a write tool did in its own terms: string
replacements (Claude Code's Edit and MultiEdit, each applied to the text
the one before left; Pi's edit, all matched in the original text), a jsdiff
structuredPatch (Claude Code), a patch in the harness's own syntax. Whatever the harness,
the importer needs the file's contents before and after, or failing that
the hunks; these helpers are shared by every harness's transcript reader.
"""

from __future__ import annotations

import os
from typing import Callable


def replace_strings(text: str, edits) -> str | None:
    if not isinstance(edits, list) or not edits:
        return None
    for e in edits:
        if not isinstance(e, dict):
            return None
        old, new = e.get("old_string"), e.get("new_string")
        if not isinstance(old, str) or not isinstance(new, str):
            return None
        if old == "":
            if text != "":
                return None
            text = new
            continue
        if old not in text:
            return None
        text = text.replace(old, new) if e.get("replace_all") else text.replace(old, new, 1)
    return text


def replace_unique(text: str, edits) -> str | None:
    """`text` with each `{oldText, newText}` replaced, every oldText matched
    exactly once in the original `text` and no two overlapping (Pi's edit
    tool); None when they do not apply so."""
    if not isinstance(edits, list) or not edits:
        return None
    spans = []
    for e in edits:
        old = e.get("oldText") if isinstance(e, dict) else None
        new = e.get("newText") if isinstance(e, dict) else None
        if not isinstance(old, str) or not isinstance(new, str) or not old:
            return None
        at = text.find(old)
        if at < 0 or text.find(old, at + 1) >= 0:
            return None
        spans.append((at, at + len(old), new))
    spans.sort()
    out, pos = [], 0
    for start, end, new in spans:
        if start < pos:
            return None
        out += [text[pos:start], new]
        pos = end
    out.append(text[pos:])
    return "".join(out)


def split_lines(text: str) -> list[str]:
    """Lines with their line feeds (only "\\n" ends a line, as in a diff)."""
    parts = text.split("\n")
    out = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        out.append(parts[-1])
    return out


def apply_structured_patch(before: str, hunks) -> str | None:
    """`before` with a jsdiff structuredPatch applied; None when it does not apply."""
    if not isinstance(hunks, list):
        return None
    src = split_lines(before)
    out: list[str] = []
    pos = 0
    try:
        for h in hunks:
            start = h["oldStart"] - 1 if h["oldLines"] else h["oldStart"]
            if start < pos:
                return None
            out.extend(src[pos:start])
            pos = start
            last = None
            for line in h["lines"]:
                tag, body = line[:1], line[1:]
                if tag == " ":
                    if pos >= len(src) or src[pos].rstrip("\n") != body:
                        return None
                    out.append(src[pos])
                    pos += 1
                elif tag == "-":
                    if pos >= len(src) or src[pos].rstrip("\n") != body:
                        return None
                    pos += 1
                elif tag == "+":
                    out.append(body + "\n")
                elif tag == "\\":  # "\ No newline at end of file" for the line before
                    if last == "+" or (last == " " and out and not out[-1].endswith("\n")):
                        out[-1] = out[-1].rstrip("\n")
                    continue
                else:
                    return None
                last = tag
    except (KeyError, TypeError, IndexError):
        return None
    out.extend(src[pos:])
    return "".join(out)


def hunks_from_structured_patch(path: str, hunks) -> list[dict] | None:
    """Zero-context hunks from a structuredPatch, when the contents are unknown."""
    if not isinstance(hunks, list) or not hunks:
        return None
    out, added, removed = [], 0, 0
    try:
        for h in hunks:
            old, new = h["oldStart"], h["newStart"]
            run = None
            for line in list(h["lines"]) + [" "]:
                tag = line[:1]
                if tag in ("-", "+"):
                    if run is None:
                        run = [old, 0, new, 0]
                    if tag == "-":
                        run[1] += 1
                        old += 1
                        removed += 1
                    else:
                        run[3] += 1
                        new += 1
                        added += 1
                    continue
                if tag == "\\":
                    continue
                if run is not None:
                    # A side with no lines names the line before the change.
                    if run[1] == 0:
                        run[0] -= 1
                    if run[3] == 0:
                        run[2] -= 1
                    out.append(run)
                    run = None
                old += 1
                new += 1
    except (KeyError, TypeError):
        return None
    return [{"file": path, "status": "M", "hunks": out, "added": added, "removed": removed}]


def relpath_mapper(worktree: str, cwd: str | None) -> Callable[[str], str | None]:
    """Maps absolute paths of a session to paths in this repository.

    A path inside this working tree maps to its place in it. A session run in
    another checkout of the project (another machine, another clone) has
    paths under its own `cwd`, the project's root there; they map by their
    tail below it. When that `cwd` ends in a folder this checkout also has,
    under a folder named like this checkout's, the tail starts there.
    """
    root = os.path.normpath(worktree)
    other = None
    if cwd and os.path.isabs(cwd):
        c = os.path.normpath(cwd)
        if c != root and not c.startswith(root + os.sep):
            parts = c.strip(os.sep).split(os.sep)
            prefix = ""
            for k in range(len(parts) - 1, 0, -1):
                if parts[-k - 1] == os.path.basename(root) and os.path.isdir(os.path.join(root, *parts[-k:])):
                    prefix = "/".join(parts[-k:])
                    break
            other = (c, prefix)

    def mapper(path: str) -> str | None:
        if not isinstance(path, str) or not os.path.isabs(path):
            return None
        p = os.path.normpath(path)
        if p.startswith(root + os.sep):
            return p[len(root) + 1:].replace(os.sep, "/")
        if other and p.startswith(other[0] + os.sep):
            tail = p[len(other[0]) + 1:].replace(os.sep, "/")
            return f"{other[1]}/{tail}" if other[1] else tail
        return None

    return mapper
