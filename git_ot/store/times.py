"""Times as the format writes them: ISO 8601 in UTC, with a `Z`.

Manifests (`start`, `end`) and harness transcripts carry such text; this is
the one place that writes and reads it, and reads the times a user gives
(`git ot track --since`) and ages it is configured with.
"""

from __future__ import annotations

import datetime
import re

from ..errors import BadDate

_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def iso(t: float) -> str:
    """Seconds since the epoch as ISO 8601 UTC: `2026-11-25T10:00:00.123456Z`."""
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).isoformat().replace("+00:00", "Z")


def parse_iso(value) -> float | None:
    """Seconds since the epoch of an ISO 8601 text; None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def parse_age(text: str, option: str) -> float:
    """A length of time in seconds: `7d`, `2w`, `24h`, `30m`."""
    m = re.fullmatch(r"(\d+)\s*([mhdw])", text.strip())
    if not m:
        raise BadDate(f"invalid {option} '{text}'", hint="give an age such as '7d', '2w', '24h' or '30m'")
    return float(int(m.group(1)) * _UNITS[m.group(2)])


def parse_since(text: str, now: float, option: str = "--since") -> float:
    """A point in time: `7d`, `2w`, `24h`, `30m` before `now`, or an ISO 8601 date or time."""
    value = text.strip()
    m = re.fullmatch(r"(\d+)\s*([mhdw])", value)
    if m:
        return now - int(m.group(1)) * _UNITS[m.group(2)]
    try:
        when = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadDate(f"invalid {option} '{text}'",
                      hint="give an age such as '7d', '2w', '24h' or '30m', or a date such as "
                           "'2024-05-01' or '2024-05-01T12:00:00Z'") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.timestamp()
