"""Encoding and decoding of git-ot's records: one format for every kind.

A record belongs to a namespace: `manifest`, `trace`, `trail` and `ctx` are
the records of a session tree; every other namespace is a kind of entity,
whose records live under its own ref (store/entities.py). `VERSIONS` is the
one table of namespaces and their format versions. Every record is a map
that starts with its envelope, `"schema": "git-ot/<namespace>"` and `"v"`,
and is a CBOR map in a zstandard frame, except the manifest, plain JSON so
`git show <ref>:manifest.json` reads by hand. One reader, `decode`, refuses
a namespace or a version it does not know instead of guessing
(refs/README.md, sections 4 and 15).

The frame is written with raw blocks: the CBOR bytes as they are, not
compressed by zstandard. Git compresses every object itself, and it can
delta one object against another only when their bytes are alike: a seal
appends to the records, so each seal's record is the previous one plus a
tail, a delta of a few bytes, where a compressed record differs from the
previous one in every byte and costs its whole size again at every seal.
Sessions of one harness also share much of their records (the harness's
tool schemas, kept transcript lines), which git's deltas find only in
uncompressed bytes.
"""

from __future__ import annotations

import json
import struct

import cbor2
import zstandard

from ..errors import CorruptRecord, UnknownNamespace, UnsupportedVersion

# Every record namespace, with the format version this code writes and the
# newest it can read. A new kind of record is one more line here, and its
# section and schema in refs/.
VERSIONS = {
    "manifest": 1,
    "trace": 1,
    "trail": 1,
    "ctx": 1,
    "datasets": 1,
    "capsule": 1,
    "ratings": 1,
}
# The records of a session tree, by file name; a namespace not here is an
# entity's, each record of it a file `<key>.cbor.zst` (ENTITY_SUFFIX).
FILENAMES = {
    "manifest": "manifest.json",
    "trace": "trace.cbor.zst",
    "trail": "trail.cbor.zst",
    "ctx": "ctx.cbor.zst",
}
SCHEMA_PREFIX = "git-ot/"
ENTITY_SUFFIX = ".cbor.zst"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_RAW_BLOCK = 128 * 1024  # the largest block a zstandard frame may hold


def envelope(kind: str, body: dict) -> dict:
    """The record `body` with its schema name and version first."""
    return {"schema": SCHEMA_PREFIX + kind, "v": VERSIONS[kind], **body}


def check_namespace(namespace: str, where: str | None = None) -> str:
    """Return `namespace` when this git-ot reads its records; refuse it otherwise."""
    if namespace not in VERSIONS:
        known = ", ".join(f"'{n}'" for n in VERSIONS)
        raise UnknownNamespace(
            f"unknown record namespace '{namespace}'" + (f" in {where}" if where else ""),
            hint=f"upgrade git-ot to read it; this version reads {known}",
        )
    return namespace


def encode(kind: str, record: dict) -> bytes:
    """Serialise a record (already enveloped) to the bytes stored in git."""
    if kind == "manifest":
        return (json.dumps(record, indent=2, sort_keys=False, ensure_ascii=False) + "\n").encode()
    return raw_frame(cbor2.dumps(record, canonical=False))


def raw_frame(data: bytes) -> bytes:
    """`data` as one zstandard frame (RFC 8878) of raw blocks.

    The header records the content size; no dictionary id and no checksum
    (git checks every object's bytes by its id). Up to 128 KiB it is a
    single-segment frame; above, its window is 128 KiB, all a decoder needs
    for blocks that refer to nothing before them. Each block is at most
    128 KiB and the last one is marked last; empty data is one empty block."""
    n = len(data)
    if n < 256:
        header = bytes((0x20, n))  # single segment, content size in 1 byte
    elif n < 65536 + 256:
        header = b"\x60" + struct.pack("<H", n - 256)  # 2 bytes, offset by 256
    elif n <= _RAW_BLOCK:
        header = b"\xa0" + struct.pack("<I", n)
    elif n < 1 << 32:
        header = b"\x80\x38" + struct.pack("<I", n)  # window 2^(10+7) bytes
    else:
        header = b"\xc0\x38" + struct.pack("<Q", n)
    out = [_ZSTD_MAGIC, header]
    view = memoryview(data)
    pos = 0
    while True:
        chunk = view[pos:pos + _RAW_BLOCK]
        pos += len(chunk)
        last = pos >= n
        out.append(struct.pack("<I", (len(chunk) << 3) | int(last))[:3])  # block type 0: raw
        out.append(chunk)
        if last:
            return b"".join(out)


def decode(kind: str, data: bytes, where: str, name: str | None = None) -> dict:
    """Parse stored bytes into a record of namespace `kind`, checking its
    namespace, envelope and version.

    `where` names what holds the record for messages, e.g. "session 1a2b3c";
    `name` the record itself (default: its file name in a session tree).
    """
    check_namespace(kind, where)
    name = name or FILENAMES.get(kind) or f"{kind} record"
    try:
        if kind == "manifest":
            record = json.loads(data.decode("utf-8"))
        else:
            raw = zstandard.ZstdDecompressor().decompress(data)
            record = cbor2.loads(raw)
    except (ValueError, zstandard.ZstdError, cbor2.CBORDecodeError, UnicodeDecodeError, EOFError) as exc:
        raise CorruptRecord(f"corrupt record {name} in {where}: {_short(exc)}",
                            hint=_corrupt_hint(kind)) from exc
    if not isinstance(record, dict) or record.get("schema") != SCHEMA_PREFIX + kind:
        raise CorruptRecord(
            f"corrupt record {name} in {where}: not a {SCHEMA_PREFIX + kind} record",
        )
    version = record.get("v")
    if not isinstance(version, int) or version < 1:
        raise CorruptRecord(f"corrupt record {name} in {where}: bad schema version {version!r}")
    if version > VERSIONS[kind]:
        raise UnsupportedVersion(
            f"{name} in {where} has schema version {version}; "
            f"this git-ot reads up to version {VERSIONS[kind]}",
            hint="upgrade git-ot to read it",
        )
    problem = shape_problem(kind, record)
    if problem:
        raise CorruptRecord(f"corrupt record {name} in {where}: {problem}", hint=_corrupt_hint(kind))
    return record


def _corrupt_hint(kind: str) -> str:
    return "'git fsck' checks the objects" + (
        "; fetch the session again from a remote that has it" if kind in FILENAMES else "")


# The fields every reader of a session's records relies on, with their
# types (refs/schemas/*.schema.json); a list's items must be maps where
# ITEM_MAPS says so. A record of the wrong shape (valid CBOR, wrong types)
# is as corrupt as one that does not decode.
SHAPES = {
    "manifest": {"session": str, "harness": dict},
    "trace": {"info": dict, "steps": list, "lifecycle": list},
    "trail": {"snapshots": dict, "patches": list, "anchors": list},
    "ctx": {"messages": list, "views": list},
}
# Fields typed when present (readers give them a default when absent).
OPTIONAL = {
    "manifest": {"models": list, "base": dict, "counts": dict, "files": list},
}
ITEM_MAPS = {("trace", "steps"), ("trace", "lifecycle"), ("trail", "patches"),
             ("trail", "anchors")}
_COUNTS = ("steps", "prompts", "tools", "files", "commits")


def shape_problem(kind: str, record: dict) -> str | None:
    """What is wrong with the shape of a session record, or None.

    Checks the fields readers index without looking (their types, and that
    the items of the step, patch and anchor lists are maps), not every
    field: a reader still ignores what it does not know."""
    for key, typ in SHAPES.get(kind, {}).items():
        value = record.get(key)
        if not isinstance(value, typ):
            return f"'{key}' is {_type_name(value)}, not {_type_name(typ())}"
        if (kind, key) in ITEM_MAPS and not all(isinstance(item, dict) for item in value):
            return f"'{key}' holds an item that is not a map"
    for key, typ in OPTIONAL.get(kind, {}).items():
        if key in record and not isinstance(record[key], typ):
            return f"'{key}' is {_type_name(record[key])}, not {_type_name(typ())}"
    if kind == "manifest":
        if not isinstance(record["harness"].get("name"), str):
            return "'harness.name' is not text"
        for key in _COUNTS:
            if "counts" in record and not isinstance(record["counts"].get(key), int):
                return f"'counts.{key}' is not an integer"
    if kind == "trace":
        for step in record["steps"]:
            if not isinstance(step.get("n"), int) or not isinstance(step.get("kind"), str):
                return "a step without its number or kind"
    if kind == "trail":
        for patch in record["patches"]:
            if not isinstance(patch.get("files"), list) or not all(isinstance(f, dict) for f in patch["files"]):
                return "a patch whose 'files' is not a list of maps"
    return None


def _type_name(value) -> str:
    return {dict: "a map", list: "a list", str: "text", int: "an integer",
            type(None): "missing"}.get(type(value), type(value).__name__)


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
