"""Every ref name git-ot reads or writes is built here and nowhere else."""

from __future__ import annotations

import re

from ..errors import InvalidSessionId

NAMESPACE = "refs/opentraces/"
SESSIONS_PREFIX = NAMESPACE + "sessions/"
NOTES_REF = "refs/notes/opentraces"

# Harness session ids are UUIDs or similar; anything else must still be a
# single, safe ref-name component and a safe file name in the spool.
_SESSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def validate_session_id(session_id: str) -> str:
    """Return the id unchanged, or raise if it cannot name a ref and a file."""
    if (
        not isinstance(session_id, str)
        or not _SESSION_ID.match(session_id)
        or ".." in session_id
        or session_id.endswith(".lock")
        or session_id.endswith(".")
    ):
        raise InvalidSessionId(
            f"invalid session id {session_id!r}",
            hint="a session id is 1-128 letters, digits, '.', '_' or '-'",
        )
    return session_id


def session_ref(session_id: str) -> str:
    """The ref that holds one session's commit chain."""
    return SESSIONS_PREFIX + validate_session_id(session_id)


def session_id_from_ref(ref: str) -> str | None:
    """The session id a ref names, or None when it is not a session ref."""
    if ref.startswith(SESSIONS_PREFIX):
        return ref[len(SESSIONS_PREFIX):]
    return None
