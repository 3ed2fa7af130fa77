"""JSON for the hook path, without importing the json package.

`json` imports `re` (and with it `enum`, `functools`, `collections`):
about 5 ms of a hook process that lasts tens, paid for patterns only its
pure-Python fallbacks use. Its C accelerator, `_json`, does the work of
`json.loads` and `json.dumps` alone; this module calls it the way the json
package does, with the json package's defaults, so the results are the
same objects and the same bytes (tests/store/test_fastjson.py compares
them). An error, and a Python without `_json`, go to the json package
itself, so a failure reads exactly as json's.
"""

from __future__ import annotations

try:
    import _json
except ImportError:  # pragma: no cover - a Python built without it
    _json = None

_WHITESPACE = " \t\n\r"
_CONSTANTS = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}


class _Context:
    """What `_json.make_scanner` reads of a JSONDecoder: its defaults."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = _CONSTANTS.__getitem__


_scan = _json.make_scanner(_Context()) if _json is not None else None


def loads(text: str):
    """`json.loads(text)` for a str."""
    if _scan is None or not isinstance(text, str):
        import json

        return json.loads(text)
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        value, end = _scan(text, start)
    except RecursionError:
        raise  # nested too deep: as json says it
    except Exception:
        # StopIteration (no value), or what `_json` raises for bad text:
        # JSONDecodeError when the json package is loaded, else a
        # SystemError (it finds the error class in sys.modules alone).
        value, end = None, -1
    if end < 0 or (end != len(text) and text[end:].strip(_WHITESPACE)):
        import json

        return json.loads(text)  # raises json's own error, with its message
    return value


def _fail(value):
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def dumps(value, ascii: bool = False, default=None) -> str:
    """`json.dumps(value, ensure_ascii=ascii, separators=(",", ":"), default=default)`."""
    if _json is None:
        import json

        return json.dumps(value, ensure_ascii=ascii, separators=(",", ":"), default=default)
    encode = _json.encode_basestring_ascii if ascii else _json.encode_basestring
    if isinstance(value, str):
        return encode(value)
    encoder = _json.make_encoder({}, default or _fail, encode, None, ":", ",", False, False, True)
    return "".join(encoder(value, 0))
