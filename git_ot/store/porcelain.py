"""git's machine-readable output, parsed: `git blame --porcelain` and
`git log -p`/`git diff-tree -p` patches.

The readers of the trail (`git ot blame`, `git ot track`) and the anchoring
of reverts ask git these questions and read its answers here, so each
format has one parser. Paths come back as git names them, C-quoted when they
hold unusual bytes (core.quotePath), and are unquoted here.
"""

from __future__ import annotations

import re

_HUNK = re.compile(rb"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_ESCAPES = {"n": 10, "t": 9, '"': 34, "\\": 92, "a": 7, "b": 8, "f": 12, "r": 13, "v": 11}


def unquote(name: str) -> str:
    """A path as git prints it: C-quoted when it holds unusual bytes."""
    if not (len(name) >= 2 and name[0] == '"' and name[-1] == '"'):
        return name
    body, out, i = name[1:-1], bytearray(), 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
                continue
            if nxt.isdigit():
                out.append(int(body[i + 1:i + 4], 8))
                i += 4
                continue
        out += c.encode("utf-8", "surrogateescape")
        i += 1
    return out.decode("utf-8", "backslashreplace")


class BlameParser:
    """Reads git blame --porcelain output as it arrives.

    `lines` gets one {"commit", "orig_line", "line", "path", "content"} per
    line of the file (and "raw", its header lines as git printed them, with
    `keep_raw`); `commits` each commit's headers (author, author-time,
    author-tz, summary, filename, boundary).
    """

    def __init__(self, keep_raw: bool = False):
        self.keep_raw = keep_raw
        self.commits: dict[str, dict] = {}
        self.lines: list[dict] = []
        self._rest = b""
        self._info: dict | None = None
        self._current: dict | None = None
        self._header: list[bytes] = []

    def feed(self, data: bytes) -> None:
        data = self._rest + data
        cut = data.rfind(b"\n")
        if cut < 0:
            self._rest = data
            return
        self._rest = data[cut + 1:]
        commits, out, keep_raw = self.commits, self.lines, self.keep_raw
        info, current, header = self._info, self._current, self._header
        for raw in data[:cut].split(b"\n"):
            if raw[:1] == b"\t":
                if current is not None:
                    current["content"] = raw[1:].decode("utf-8", "surrogateescape")
                    current["path"] = info.get("filename")
                    if keep_raw:
                        current["raw"] = header
                        header = []
                    out.append(current)
                    current = None
                continue
            if not raw:
                continue
            if keep_raw:
                header.append(raw)
            if current is None:
                sha, orig, final = raw.split(b" ", 3)[:3]
                sha = sha.decode("ascii", "replace")
                current = {"commit": sha, "orig_line": int(orig), "line": int(final)}
                info = commits.get(sha)
                if info is None:
                    info = commits[sha] = {}
                continue
            key, _, value = raw.partition(b" ")
            if key == b"filename":
                info["filename"] = unquote(value.decode("utf-8", "surrogateescape"))
            elif key == b"boundary":
                info["boundary"] = True
            elif key in (b"author", b"author-time", b"author-tz", b"summary"):
                info[key.decode()] = value.decode("utf-8", "surrogateescape")
        self._info, self._current, self._header = info, current, header

    def close(self) -> tuple[list[dict], dict]:
        if self._rest:
            self.feed(b"\n")
        return self.lines, self.commits


def parse_blame(data: bytes, keep_raw: bool = False) -> tuple[list[dict], dict]:
    """git blame --porcelain output: the lines, and each commit's headers (see BlameParser)."""
    parser = BlameParser(keep_raw)
    parser.feed(data)
    return parser.close()


def file_diffs(body: bytes):
    """(path, hunks, file gone) per file of a `git log -p -U0 --no-prefix` commit;
    a hunk is (old_start, old_lines, new_start, new_lines, added texts, removed texts)."""
    path = None
    gone = False
    hunks: list = []
    for raw in body.split(b"\n"):
        if raw.startswith(b"diff --git "):
            if path is not None:
                yield path, hunks, gone
            path, gone, hunks = None, False, []
        elif raw.startswith(b"--- "):
            name = raw[4:]
            if name != b"/dev/null":
                path = unquote(name.decode("utf-8", "surrogateescape"))
        elif raw.startswith(b"+++ "):
            if raw[4:] == b"/dev/null":
                gone = True
            elif path is None:  # a new file
                path = unquote(raw[4:].decode("utf-8", "surrogateescape"))
        elif raw.startswith(b"@@"):
            m = _HUNK.match(raw)
            if m:
                a, b, c, d = m.groups()
                hunks.append((int(a), 1 if b is None else int(b), int(c), 1 if d is None else int(d), [], []))
        elif hunks and raw[:1] == b"+":
            hunks[-1][4].append(raw[1:])
        elif hunks and raw[:1] == b"-":
            hunks[-1][5].append(raw[1:])
    if path is not None:
        yield path, hunks, gone
