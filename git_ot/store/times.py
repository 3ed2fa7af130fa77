"""Times as the format writes them: ISO 8601 in UTC, with a `Z`.

Manifests (`start`, `end`) and harness transcripts carry such text; this is
the one place that writes and reads it.
"""

from __future__ import annotations

import datetime


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
