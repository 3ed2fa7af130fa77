"""Encoding and decoding of the records stored in a session tree.

`trace`, `trail` and `ctx` are CBOR maps compressed with zstandard; the
manifest is plain JSON so `git show <ref>:manifest.json` reads by hand. Each
record names its schema and version (`"schema"`, `"v"`); a reader refuses a
version it does not know instead of guessing (refs/README.md).
"""

from __future__ import annotations

import json

import cbor2
import zstandard

from ..errors import CorruptRecord, UnsupportedVersion

# The schema version this code writes and the newest it can read, per record.
VERSIONS = {
    "manifest": 1,
    "trace": 1,
    "trail": 1,
    "ctx": 1,
}
FILENAMES = {
    "manifest": "manifest.json",
    "trace": "trace.cbor.zst",
    "trail": "trail.cbor.zst",
    "ctx": "ctx.cbor.zst",
}
SCHEMA_PREFIX = "git-ot/"
_ZSTD_LEVEL = 10


def envelope(kind: str, body: dict) -> dict:
    """The record `body` with its schema name and version first."""
    return {"schema": SCHEMA_PREFIX + kind, "v": VERSIONS[kind], **body}


def encode(kind: str, record: dict) -> bytes:
    """Serialise a record (already enveloped) to the bytes stored in git."""
    if kind == "manifest":
        return (json.dumps(record, indent=2, sort_keys=False, ensure_ascii=False) + "\n").encode()
    raw = cbor2.dumps(record, canonical=False)
    return zstandard.ZstdCompressor(level=_ZSTD_LEVEL).compress(raw)


def decode(kind: str, data: bytes, where: str) -> dict:
    """Parse stored bytes into a record, checking its schema and version.

    `where` names the record for messages, e.g. "session 1a2b3c: trace".
    """
    try:
        if kind == "manifest":
            record = json.loads(data.decode("utf-8"))
        else:
            raw = zstandard.ZstdDecompressor().decompress(data)
            record = cbor2.loads(raw)
    except (ValueError, zstandard.ZstdError, cbor2.CBORDecodeError, UnicodeDecodeError, EOFError) as exc:
        raise CorruptRecord(
            f"corrupt record {FILENAMES[kind]} in {where}: {_short(exc)}",
            hint="'git fsck' checks the objects; fetch the session again from a remote that has it",
        ) from exc
    if not isinstance(record, dict) or record.get("schema") != SCHEMA_PREFIX + kind:
        raise CorruptRecord(
            f"corrupt record {FILENAMES[kind]} in {where}: not a {SCHEMA_PREFIX + kind} record",
        )
    version = record.get("v")
    if not isinstance(version, int) or version < 1:
        raise CorruptRecord(f"corrupt record {FILENAMES[kind]} in {where}: bad schema version {version!r}")
    if version > VERSIONS[kind]:
        raise UnsupportedVersion(
            f"{FILENAMES[kind]} in {where} has schema version {version}; "
            f"this git-ot reads up to version {VERSIONS[kind]}",
            hint="upgrade git-ot to read it",
        )
    return record


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
