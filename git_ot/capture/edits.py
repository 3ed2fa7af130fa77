"""Rebuilding a file's contents from what a harness recorded of an edit.

A harness's transcript says what a write tool did in its own terms: string
replacements (Claude Code's Edit and MultiEdit, each applied to the text
the one before left; Pi's edit, all matched in the original text), a jsdiff
structuredPatch (Claude Code), a patch in the harness's own syntax. Whatever the harness,
the importer needs the file's contents before and after, or failing that
the hunks; these helpers are shared by every harness's transcript reader.
"""

from __future__ import annotations


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


# -- apply_patch ---------------------------------------------------------------
#
# The patch syntax of Codex's apply_patch tool (and of other harnesses that
# took it up): an envelope of file operations, each an Add (every line
# "+"), a Delete, or an Update made of chunks that name the lines they
# replace by their text, never by line numbers:
#
#     *** Begin Patch
#     *** Update File: src/app.py
#     *** Move to: src/main.py        (optional)
#     @@ def greet(name):             (optional: a line to find first)
#      context
#     -removed
#     +added
#     *** End of File                 (optional: the chunk ends the file)
#     *** End Patch

_BEGIN, _END = "*** Begin Patch", "*** End Patch"
_ADD, _DELETE, _UPDATE, _MOVE = "*** Add File: ", "*** Delete File: ", "*** Update File: ", "*** Move to: "
_EOF = "*** End of File"


def parse_apply_patch(text) -> list[dict] | None:
    """The file operations of an apply_patch text, or None when it is not one.

    Each is `{"op": "add", "path", "content"}`, `{"op": "delete", "path"}` or
    `{"op": "update", "path", "move_to", "chunks"}`, a chunk being
    `{"context", "old", "new", "eof"}` (old and new: lists of lines without
    their line feeds). Paths are as written in the patch.
    """
    if not isinstance(text, str):
        return None
    lines = text.strip().split("\n")
    if len(lines) < 2 or lines[0].strip() != _BEGIN or lines[-1].strip() != _END:
        return None
    ops: list[dict] = []
    op = chunk = None
    for line in lines[1:-1]:
        if line.startswith((_ADD, _DELETE, _UPDATE)):
            kind = "add" if line.startswith(_ADD) else "delete" if line.startswith(_DELETE) else "update"
            path = line.split(": ", 1)[1].strip()
            if not path:
                return None
            op = {"op": kind, "path": path}
            if kind == "add":
                op["content"] = []
            elif kind == "update":
                op.update(move_to=None, chunks=[])
            ops.append(op)
            chunk = None
        elif op is None:
            if line.strip():
                return None
        elif op["op"] == "add":
            if not line.startswith("+"):
                return None
            op["content"].append(line[1:])
        elif op["op"] == "delete":
            if line.strip():
                return None
        elif line.startswith(_MOVE) and not op["chunks"] and chunk is None:
            op["move_to"] = line[len(_MOVE):].strip() or None
        elif line.strip() == _EOF:
            if chunk is None:
                return None
            chunk["eof"] = True
        elif line.startswith("@@"):
            context = line[2:].strip()
            chunk = {"context": context or None, "old": [], "new": [], "eof": False}
            op["chunks"].append(chunk)
        else:
            if chunk is None or chunk["eof"]:
                # Codex lets the first chunk of a file go without its "@@".
                if op["chunks"]:
                    return None
                chunk = {"context": None, "old": [], "new": [], "eof": False}
                op["chunks"].append(chunk)
            tag, body = (line[:1], line[1:]) if line else (" ", "")
            if tag == " ":
                chunk["old"].append(body)
                chunk["new"].append(body)
            elif tag == "-":
                chunk["old"].append(body)
            elif tag == "+":
                chunk["new"].append(body)
            else:
                return None
    for o in ops:
        if o["op"] == "add":
            o["content"] = "".join(f"{ln}\n" for ln in o["content"])
        elif o["op"] == "update" and not o["chunks"] and not o["move_to"]:
            return None
    return ops or None


def _seek(lines: list[str], pattern: list[str], start: int, eof: bool) -> int | None:
    """Where `pattern` occurs in `lines` from `start`, matching as apply_patch
    does: exactly, then ignoring trailing, then surrounding whitespace."""
    if not pattern:
        return start
    last = len(lines) - len(pattern)
    for norm in (lambda s: s, str.rstrip, str.strip):
        want = [norm(p) for p in pattern]
        if eof and last >= start and [norm(x) for x in lines[last:]] == want:
            return last
        for i in range(start, last + 1):
            if [norm(x) for x in lines[i:i + len(pattern)]] == want:
                return i
    return None


def apply_update(before: str, chunks) -> str | None:
    """`before` with an apply_patch Update's chunks applied, as Codex applies
    them (the result ends with a line feed); None when a chunk does not apply."""
    lines = before.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    pos = 0
    replacements = []
    try:
        for c in chunks:
            if c.get("context") is not None:
                at = _seek(lines, [c["context"]], pos, False)
                if at is None:
                    return None
                pos = at + 1
            old, new = list(c["old"]), list(c["new"])
            if not old:
                replacements.append((len(lines), 0, new))
                continue
            at = _seek(lines, old, pos, c.get("eof", False))
            if at is None and old[-1] == "":
                # A blank last line of the chunk may stand for the file's end.
                old = old[:-1]
                new = new[:-1] if new and new[-1] == "" else new
                at = _seek(lines, old, pos, c.get("eof", False))
            if at is None:
                return None
            replacements.append((at, len(old), new))
            pos = at + len(old)
    except (KeyError, TypeError):
        return None
    for at, length, new in sorted(replacements, key=lambda r: r[0], reverse=True):
        lines[at:at + length] = new
    return "".join(f"{ln}\n" for ln in lines)


def apply_file_op(before: str | None, op: dict) -> str | None:
    """A file's contents after one apply_patch operation (None: deleted, or
    the operation does not apply to `before`)."""
    if op.get("op") == "add":
        return op.get("content")
    if op.get("op") == "update" and before is not None:
        return apply_update(before, op.get("chunks") or [])
    return None
