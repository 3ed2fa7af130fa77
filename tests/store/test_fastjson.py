"""The hook path's JSON (store/fastjson.py) is the json package's, value for
value and byte for byte, errors included."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from git_ot.store import fastjson
from support.repo import FIXTURES

# Text with what JSON escapes: quotes, backslashes, controls, non-ASCII, astral and lone surrogates.
TEXT = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF, blacklist_categories=()))
SCALARS = st.none() | st.booleans() | st.integers(min_value=-(10 ** 30), max_value=10 ** 30) \
    | st.floats(allow_nan=True, allow_infinity=True) | TEXT
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=5)
                      | st.dictionaries(TEXT, inner, max_size=5), max_leaves=30)


def _same(a, b) -> bool:
    """Equal, NaN included, and of the same types all the way down."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    return a == b


@given(VALUES)
def test_dumps_and_loads_are_json_s(value):
    for ascii in (True, False):
        text = json.dumps(value, ensure_ascii=ascii, separators=(",", ":"))
        assert fastjson.dumps(value, ascii=ascii) == text
        assert _same(fastjson.loads(text), json.loads(text))
    pretty = json.dumps(value, indent=1)  # whitespace between the tokens
    assert _same(fastjson.loads(" \n" + pretty + "\r\n\t"), json.loads(pretty))


def test_every_fixture_line_reads_as_json_reads_it():
    lines = 0
    for path in sorted(FIXTURES.rglob("*.jsonl")):
        for line in path.read_text(encoding="utf-8", errors="surrogateescape").splitlines():
            try:
                expected = json.loads(line)
            except ValueError:
                continue
            assert _same(fastjson.loads(line), expected), (path, line[:80])
            assert fastjson.dumps(expected) == json.dumps(expected, ensure_ascii=False, separators=(",", ":"))
            lines += 1
    assert lines > 1000


def test_default_stands_for_what_json_cannot_write():
    value = {"a": [1, "x"], "b": b"bytes", "c": frozenset()}
    assert fastjson.dumps(value, ascii=True, default=str) == \
        json.dumps(value, ensure_ascii=True, separators=(",", ":"), default=str)
    with pytest.raises(TypeError) as ours:
        fastjson.dumps({"b": b"bytes"})
    with pytest.raises(TypeError) as theirs:
        json.dumps({"b": b"bytes"})
    assert str(ours.value) == str(theirs.value)


BAD = ["", " ", "[1,", "{} x", "\ufeff{}", "nul", '{"a":1,}', '{"type": "assistant", "vers', '"\\x"']


@pytest.mark.parametrize("text", BAD + ["[" * 100000])
def test_bad_text_fails_as_json_fails(text):
    with pytest.raises(BaseException) as theirs:
        json.loads(text)
    with pytest.raises(BaseException) as ours:
        fastjson.loads(text)
    assert (type(ours.value), str(ours.value)) == (type(theirs.value), str(theirs.value))


@pytest.mark.parametrize("text", BAD)
def test_bad_text_fails_as_json_fails_where_json_was_never_imported(text):
    """As on the hook path: `_json` finds json's error class only once json
    is loaded (else its error is a SystemError)."""
    import subprocess
    import sys

    code = ("import sys\nfrom git_ot.store import fastjson\n"
            "print('json' in sys.modules)\n"
            "try:\n"
            "    fastjson.loads(sys.argv[1])\n"
            "except Exception as exc:\n"
            "    print(type(exc).__name__, exc)\n")
    proc = subprocess.run([sys.executable, "-c", code, text], capture_output=True, text=True, check=True)
    with pytest.raises(ValueError) as theirs:
        json.loads(text)
    assert proc.stdout.splitlines() == ["False", f"{type(theirs.value).__name__} {theirs.value}"]
