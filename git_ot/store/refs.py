"""Every ref name git-ot reads or writes is built here and nowhere else."""

from __future__ import annotations

from ..errors import AmbiguousSession, InvalidName, InvalidRemote, InvalidSessionId, UnknownSession

NAMESPACE = "refs/opentraces/"
SESSIONS_PREFIX = NAMESPACE + "sessions/"
NOTES_REF = "refs/notes/opentraces"
# A capsule's one ref in its bundle, and where an opened capsule keeps the
# commit it was sealed as (refs/README.md, section 18).
CAPSULE_HEAD = "refs/heads/capsule"
CAPSULE_SEALED = "refs/capsule/sealed"

# Harness session ids are UUIDs or similar; anything else must still be a
# single, safe ref-name component and a safe file name in the spool.
_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_WORD = _ALNUM | frozenset("._-")
_LOWER = frozenset("abcdefghijklmnopqrstuvwxyz")


def _spelt(name: str, first: frozenset, rest: frozenset, longest: int) -> bool:
    """Whether `name` is one of `first`, then at most `longest - 1` of `rest`
    (a regular expression `^[first][rest]{0,longest-1}$` would say the same
    but for a trailing line feed; `re` is a tenth of a hook's imports)."""
    return 0 < len(name) <= longest and name[0] in first and rest.issuperset(name)


def _is_component(name) -> bool:
    """Whether `name` can be one component of a ref name and a file name."""
    return (isinstance(name, str) and _spelt(name, _ALNUM, _WORD, 128) and ".." not in name
            and not name.endswith(".lock") and not name.endswith("."))


def is_session_id(name) -> bool:
    """Whether `name` can be a session id (validate_session_id's test, without raising)."""
    return _is_component(name)


def validate_session_id(session_id: str) -> str:
    """Return the id unchanged, or raise if it cannot name a ref and a file."""
    if not _is_component(session_id):
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


# -- entities: generic records (refs/README.md section 15) --------------------
#
# refs/opentraces/<namespace>/<name>   one entity's commit chain
#
# A namespace is a record namespace of store/records.py; the names already
# used for other refs under refs/opentraces/ are never one.

# The rule for record namespaces, as refs/README.md and the record schema
# write it; `_spelt` checks it (tests/store/test_format_spec.py holds them together).
RECORD_NAMESPACE_PATTERN = r"^[a-z][a-z0-9-]{0,63}$"
_NAMESPACE_CHARS = _LOWER | frozenset("0123456789-")
NOT_ENTITY_NAMESPACES = ("sessions", "remotes")


def entity_prefix(namespace: str) -> str:
    """Where the entities of one namespace live."""
    if not _spelt(namespace, _LOWER, _NAMESPACE_CHARS, 64) or namespace in NOT_ENTITY_NAMESPACES:
        raise ValueError(f"{namespace!r} cannot be an entity namespace")
    return NAMESPACE + namespace + "/"


def entity_ref(namespace: str, name: str) -> str:
    """The ref that holds one entity's commit chain."""
    return entity_prefix(namespace) + validate_name(name, "entity name")


def entity_name_from_ref(namespace: str, ref: str) -> str | None:
    """The entity a ref names in `namespace`, or None when it names none."""
    prefix = entity_prefix(namespace)
    if ref.startswith(prefix) and _is_component(ref[len(prefix):]):
        return ref[len(prefix):]
    return None


def validate_name(name: str, what: str) -> str:
    """Return `name` unchanged, or raise if it cannot be one component of a
    ref name and a tree entry (an entity's name, a record's key)."""
    if not _is_component(name):
        raise InvalidName(f"invalid {what} {name!r}",
                          hint=f"{what}s are 1-128 letters, digits, '.', '_' or '-'")
    return name


# -- sharing: what `git ot fetch` brings in before it is merged ----------------
#
# refs/opentraces/remotes/<remote>/sessions/<id>   a remote's session tips
# refs/opentraces/remotes/<remote>/notes           a remote's notes ref
#
# refs/opentraces/remotes/<remote>/entities/<namespace>/<name>   a remote's entity tips
#
# Only refs/opentraces/sessions/*, refs/notes/opentraces and the entities of
# the namespaces domain/entity_share.py shares are ever pushed.

REMOTES_PREFIX = NAMESPACE + "remotes/"
# Remote names are what `git remote add` accepts, minus what could escape
# the one path component they get here.


def validate_remote_name(remote: str) -> str:
    """Return the name unchanged, or raise if it cannot name a ref component."""
    if (not isinstance(remote, str) or not _spelt(remote, _ALNUM, _WORD, 100) or ".." in remote
            or remote.endswith(".lock") or remote.endswith(".")):
        raise InvalidRemote(
            f"invalid remote name {remote!r}",
            hint="a remote name for git-ot is 1-100 letters, digits, '.', '_' or '-'",
        )
    return remote


def remote_sessions_prefix(remote: str) -> str:
    """Where one remote's session tips are kept until they are merged."""
    return REMOTES_PREFIX + validate_remote_name(remote) + "/sessions/"


def remote_session_ref(remote: str, session_id: str) -> str:
    return remote_sessions_prefix(remote) + validate_session_id(session_id)


def remote_notes_ref(remote: str) -> str:
    """Where one remote's notes ref is kept until it is merged."""
    return REMOTES_PREFIX + validate_remote_name(remote) + "/notes"


def fetch_refspecs(remote: str) -> list[str]:
    """The refspecs that bring a remote's bucket into its own namespace.

    The notes source is a glob so that a remote without notes yet is not an
    error (an exact source ref that does not exist fails the whole fetch);
    the only ref it matches in practice is refs/notes/opentraces itself.
    """
    return [
        f"+{SESSIONS_PREFIX}*:{remote_sessions_prefix(remote)}*",
        f"+{NOTES_REF}*:{remote_notes_ref(remote)}*",
    ]


def session_fetch_refspec(remote: str, session_id: str) -> str:
    return f"+{session_ref(session_id)}:{remote_session_ref(remote, session_id)}"


def notes_fetch_refspec(remote: str) -> str:
    return f"+{NOTES_REF}:{remote_notes_ref(remote)}"


def session_push_refspec(tip: str, session_id: str) -> str:
    """Push one session tip; never forced (no leading '+')."""
    return f"{tip}:{session_ref(session_id)}"


def notes_push_refspec(tip: str) -> str:
    return f"{tip}:{NOTES_REF}"


def remote_entities_prefix(remote: str) -> str:
    """Where one remote's entity tips are kept until they are merged:
    `refs/opentraces/remotes/<remote>/entities/<namespace>/<name>`."""
    return REMOTES_PREFIX + validate_remote_name(remote) + "/entities/"


def remote_entity_ref(remote: str, namespace: str, name: str) -> str:
    entity_prefix(namespace)  # a namespace that can hold entities
    return remote_entities_prefix(remote) + namespace + "/" + validate_name(name, "entity name")


def entity_fetch_refspec(remote: str, namespace: str, name: str) -> str:
    return f"+{entity_ref(namespace, name)}:{remote_entity_ref(remote, namespace, name)}"


def entity_push_refspec(tip: str, namespace: str, name: str) -> str:
    """Push one entity tip; never forced (no leading '+')."""
    return f"{tip}:{entity_ref(namespace, name)}"


def delete_refspec(ref: str) -> str:
    """Delete a ref on the remote (`git ot forget --remote` only)."""
    return f":{ref}"


def notes_merge_scratch_ref(token: str) -> str:
    """A short-lived ref under refs/notes/ for `git notes merge` to work on.

    `git notes merge` only merges into refs under refs/notes/; the name does
    not start with "opentraces" so no fetch refspec ever matches it.
    """
    return f"refs/notes/git-ot-merge-{token}"


def match_session(spec: str, ids) -> str:
    """The one session id in `ids` that is `spec` or starts with it."""
    if spec in ids:
        return spec
    matches = sorted(s for s in ids if s.startswith(spec))
    if not matches:
        raise UnknownSession(f"no session matches '{spec}'",
                             hint="'git ot trace list' shows the sessions of this repository")
    if len(matches) > 1:
        raise AmbiguousSession(spec, matches)
    return matches[0]


def abbreviate(ids, minimum: int = 8) -> dict[str, str]:
    """Each id's shortest prefix of at least `minimum` characters that no
    other id in `ids` starts with, as git abbreviates object names.

    Time-ordered ids (Codex's and Pi's UUIDv7s) share their first eight
    characters when they start in the same minute, so a fixed width would
    let two sessions look alike. A prefix never ends on a '-'.
    """
    ordered = sorted(set(ids))
    out: dict[str, str] = {}
    for i, sid in enumerate(ordered):
        # In sorted order the longest prefix shared with any other id is
        # shared with a neighbour.
        shared = 0
        for other in ordered[max(i - 1, 0):i] + ordered[i + 1:i + 2]:
            n = 0
            while n < min(len(sid), len(other)) and sid[n] == other[n]:
                n += 1
            shared = max(shared, n)
        length = max(minimum, shared + 1)
        while length < len(sid) and sid[length - 1] == "-":
            length += 1
        out[sid] = sid[:length]
    return out
