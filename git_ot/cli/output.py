"""Printing: exact JSON for machines, plain aligned text for people."""

from __future__ import annotations

import base64
import json
import sys


def _default(value):
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def emit_json(value) -> None:
    text = json.dumps(value, indent=2, ensure_ascii=False, default=_default) + "\n"
    _write(text)


def emit(text: str = "") -> None:
    _write(text + "\n")


def _write(text: str) -> None:
    sys.stdout.buffer.write(text.encode("utf-8", "surrogateescape"))
    sys.stdout.flush()


def table(rows: list[list[str]], header: list[str], right: set[int] = frozenset()) -> str:
    widths = [len(h) for h in header]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(cells):
        out = [c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(cells)]
        return "  ".join(out).rstrip()

    return "\n".join([line(header)] + [line(r) for r in rows])


def one_line(text, width: int = 72) -> str:
    if isinstance(text, dict):
        return f"<{text.get('size', '?')} bytes>"
    text = " ".join(str(text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"
