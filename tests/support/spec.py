"""The storage format read straight from git objects, and checked against refs/.

Records are read with `git cat-file` and `git ls-tree` and decoded with
zstandard and cbor2 directly, not with git-ot's own decoder, then validated
against the JSON Schemas in refs/schemas/ and against the rules of
refs/README.md that a schema cannot express. tests/store/test_format_spec.py
checks every recorded scenario with these; the import tests read what an
import stored with them too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import re
import subprocess
from pathlib import Path

import cbor2
import jsonschema
import pytest
import zstandard

from git_ot.store import records

ROOT = Path(__file__).resolve().parents[2]
SPEC_DIR = ROOT / "refs"
README = SPEC_DIR / "README.md"
SCHEMA_DIR = SPEC_DIR / "schemas"
SCHEMA_FILES = {
    "manifest": "manifest.schema.json",
    "trace": "trace.schema.json",
    "trail": "trail.schema.json",
    "ctx": "ctx.schema.json",
    "spool-event": "spool-event.schema.json",
    "note-line": "note-line.schema.json",
    "record": "record.schema.json",
    "capsule": "capsule.schema.json",
    "datasets": "datasets.schema.json",
    "dataset-packet": "dataset-packet.schema.json",
    "ratings": "ratings.schema.json",
    "skill-score": "skill-score.schema.json",
    "trace-query": "trace-query.schema.json",
    "trace-map": "trace-map.schema.json",
}
RECORD_FILES = {"manifest.json": "manifest", "trace.cbor.zst": "trace",
                "trail.cbor.zst": "trail", "ctx.cbor.zst": "ctx"}
TOP_LEVEL = set(RECORD_FILES) | {"blobs", "snapshots"}
OID = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
SNAPSHOT_NAME = re.compile(r"^([1-9][0-9]*)-(before|after)$")
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
INLINE_LIMIT = 2048
POINTER_HEADER = b"git-ot large file v1\n"


# -- reading git objects without git-ot ----------------------------------------

def git_bytes(cwd, *args, input: bytes | None = None) -> bytes:
    proc = subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True)
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr.decode(errors='replace')}")
    return proc.stdout


def ls_tree(cwd, treeish: str) -> dict[bytes, tuple[str, str, str]]:
    """name -> (mode, type, oid) for one tree level, names as raw bytes."""
    out = {}
    for item in git_bytes(cwd, "ls-tree", "-z", treeish).split(b"\0"):
        if not item:
            continue
        meta, name = item.split(b"\t", 1)
        mode, kind, oid = meta.decode().split()
        out[name] = (mode, kind, oid)
    return out


def ls_tree_paths(cwd, treeish: str) -> list[str]:
    """Every file path of a tree, recursively, as text."""
    return [p.decode() for p in git_bytes(cwd, "ls-tree", "-r", "-z", "--name-only", treeish).split(b"\0") if p]


def cat_blob(cwd, oid: str) -> bytes:
    return git_bytes(cwd, "cat-file", "blob", oid)


def object_type(cwd, oid: str) -> str:
    return git_bytes(cwd, "cat-file", "-t", oid).decode().strip()


def decode_manifest(data: bytes) -> dict:
    assert data.endswith(b"\n"), "manifest.json ends with a newline"
    return json.loads(data.decode("utf-8"))


def raw_blocks(data: bytes) -> bytes:
    """The content of a zstandard frame whose blocks are all raw (RFC 8878,
    3.1.1), read by hand; the test fails on any other block type."""
    fhd = data[4]
    fcs_flag, single, checksum, dict_flag = fhd >> 6, (fhd >> 5) & 1, (fhd >> 2) & 1, fhd & 3
    assert not dict_flag and not checksum, "no dictionary id, no checksum"
    pos = 5 + (0 if single else 1) + ((1 if single else 0), 2, 4, 8)[fcs_flag]
    out = []
    while True:
        header = int.from_bytes(data[pos:pos + 3], "little")
        last, block_type, size = header & 1, (header >> 1) & 3, header >> 3
        assert block_type == 0, "a raw block"
        assert size <= 128 * 1024, "a block holds at most 128 KiB"
        out.append(data[pos + 3:pos + 3 + size])
        pos += 3 + size
        if last:
            break
    assert pos == len(data), "nothing after the last block"
    return b"".join(out)


def decode_cbor_zst(data: bytes) -> dict:
    """One zstandard frame holding one CBOR data item, nothing after either."""
    assert data[:4] == ZSTD_MAGIC, "a zstandard frame"
    params = zstandard.get_frame_parameters(data)
    dobj = zstandard.ZstdDecompressor().decompressobj()
    raw = dobj.decompress(data)
    assert dobj.eof and dobj.unused_data == b"", "exactly one zstandard frame"
    assert params.content_size == len(raw), "the frame header records the content size"
    assert raw_blocks(data) == raw, "git-ot writes the CBOR in raw blocks, for git to compress and delta"
    fp = io.BytesIO(raw)
    item = cbor2.CBORDecoder(fp).decode()
    assert fp.tell() == len(raw), "exactly one CBOR data item"
    assert isinstance(item, dict)
    check_plain_cbor(item)
    return item


def check_plain_cbor(value, key=None, where="$") -> None:
    """Only the CBOR data model of refs/README.md: no tags, bytes only in path_raw."""
    if isinstance(value, dict):
        for k, v in value.items():
            assert isinstance(k, str), f"{where}: map key {k!r} is not text"
            check_plain_cbor(v, k, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            check_plain_cbor(v, key, f"{where}[{i}]")
    elif isinstance(value, bytes):
        assert key == "path_raw", f"{where}: byte string outside path_raw"
    else:
        assert value is None or isinstance(value, (str, bool, int, float)), \
            f"{where}: unexpected CBOR value {type(value).__name__}"


def jsonable(value):
    """Bytes become base64 text, as the schemas declare them."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


# -- schemas ---------------------------------------------------------------------

_VALIDATORS: dict[str, jsonschema.Draft202012Validator] = {}


def load_schema(name: str) -> dict:
    return json.loads((SCHEMA_DIR / SCHEMA_FILES[name]).read_text(encoding="utf-8"))


def validator(name: str) -> jsonschema.Draft202012Validator:
    if name not in _VALIDATORS:
        schema = load_schema(name)
        jsonschema.Draft202012Validator.check_schema(schema)
        _VALIDATORS[name] = jsonschema.Draft202012Validator(schema)
    return _VALIDATORS[name]


def validate(name: str, instance) -> None:
    errors = sorted(validator(name).iter_errors(instance), key=lambda e: list(e.absolute_path))
    assert not errors, f"{name}: " + "; ".join(
        f"{'/'.join(map(str, e.absolute_path)) or '$'}: {e.message}" for e in errors[:5])


# -- one session commit, read and checked -----------------------------------------

def blob_refs(value, out: list | None = None) -> list[dict]:
    out = [] if out is None else out
    if isinstance(value, dict):
        if set(value) == {"$blob", "size"}:
            out.append(value)
        else:
            for v in value.values():
                blob_refs(v, out)
    elif isinstance(value, list):
        for v in value:
            blob_refs(v, out)
    return out


def long_strings(value) -> list[str]:
    if isinstance(value, str):
        return [value] if len(value) > INLINE_LIMIT else []
    if isinstance(value, dict):
        return [s for v in value.values() for s in long_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in long_strings(v)]
    return []


def read_commit(cwd, commit: str) -> dict:
    """Read one session commit's tree and records, checking the tree layout."""
    top = ls_tree(cwd, commit)
    names = {n.decode() for n in top}
    assert names <= TOP_LEVEL, f"unexpected entries {names - TOP_LEVEL}"
    recs = {}
    for fname, kind in RECORD_FILES.items():
        mode, typ, oid = top[fname.encode()]
        assert (mode, typ) == ("100644", "blob"), fname
        data = cat_blob(cwd, oid)
        recs[kind] = decode_manifest(data) if kind == "manifest" else decode_cbor_zst(data)

    blobs: dict[str, int] = {}
    if b"blobs" in top:
        assert top[b"blobs"][:2] == ("040000", "tree")
        for prefix, (mode, typ, sub) in ls_tree(cwd, top[b"blobs"][2]).items():
            assert re.fullmatch(rb"[0-9a-f]{2}", prefix) and (mode, typ) == ("040000", "tree")
            for rest, (bmode, btyp, boid) in ls_tree(cwd, sub).items():
                assert (bmode, btyp) == ("100644", "blob")
                assert (prefix + rest).decode() == boid, "blobs/<oid[:2]>/<oid[2:]> names its own id"
                assert OID.match(boid)
                blobs[boid] = int(git_bytes(cwd, "cat-file", "-s", boid))

    snapshots: dict[str, str] = {}
    if b"snapshots" in top:
        assert top[b"snapshots"][:2] == ("040000", "tree")
        for name, (mode, typ, oid) in ls_tree(cwd, top[b"snapshots"][2]).items():
            assert SNAPSHOT_NAME.match(name.decode()), name
            assert (mode, typ) == ("040000", "tree"), "a snapshot is a tree entry, not a gitlink"
            snapshots[name.decode()] = oid
    return {"commit": commit, "records": recs, "blobs": blobs, "snapshots": snapshots}


def check_commit(cwd, session_id: str, entry: dict) -> None:
    """Schema validation plus the cross-record rules of refs/README.md."""
    recs, blobs, snaps = entry["records"], entry["blobs"], entry["snapshots"]
    for kind, rec in recs.items():
        validate(kind, jsonable(rec))
        validate("record", jsonable(rec))
        assert rec["schema"] == records.SCHEMA_PREFIX + kind
        assert list(rec)[:2] == ["schema", "v"], "the envelope comes first"
    manifest, trace, trail, ctx = recs["manifest"], recs["trace"], recs["trail"], recs["ctx"]
    assert manifest["session"] == trace["session"] == session_id

    # Blob references: every one names a blob entry of this tree, of its size,
    # holding UTF-8 text longer than the inline limit; and every blob entry is used.
    refs_found = blob_refs([trace, trail, ctx])
    for ref in refs_found:
        assert ref["$blob"] in blobs, f"blob reference {ref['blob']} has no entry under blobs/"
        assert blobs[ref["$blob"]] == ref["size"]
        text = cat_blob(cwd, ref["$blob"]).decode("utf-8")
        assert len(text) > INLINE_LIMIT
    assert {r["$blob"] for r in refs_found} == set(blobs), "every blob entry is referenced"
    for step in trace["steps"]:
        assert not long_strings({k: step.get(k) for k in ("text", "input", "output")}), \
            f"step {step['n']} keeps a string over {INLINE_LIMIT} characters inline"
    for item in trace["lifecycle"]:
        assert not long_strings(item.get("data")), "lifecycle data keeps a long string inline"
    telemetry = [t for s in trace["steps"] for t in s.get("telemetry", [])] + trace.get("telemetry", [])
    for item in telemetry:
        assert not long_strings(item.get("data")), "telemetry data keeps a long string inline"

    # Steps are numbered from 1 in order; parents point backwards.
    steps = trace["steps"]
    assert [s["n"] for s in steps] == list(range(1, len(steps) + 1))
    for s in steps:
        if "parent" in s:
            assert s["parent"] < s["n"] and steps[s["parent"] - 1]["kind"] == "subagent"

    # Event ids are unique across steps and lifecycle (a turn-end message step
    # shares its id with the lifecycle's stop entry).
    step_ids = [e for s in steps for e in s["events"]]
    life_ids = [e["id"] for e in trace["lifecycle"]]
    assert len(step_ids) == len(set(step_ids)) and len(life_ids) == len(set(life_ids))
    # Telemetry entries (section 7): each id once, on one step or waiting;
    # a step telemetry made (Sessions without hooks) shares its id with the
    # record it was made from, joined to that step.
    tel_ids = [t["id"] for t in telemetry]
    assert len(tel_ids) == len(set(tel_ids)) and not set(tel_ids) & set(life_ids)
    for s in steps:
        for eid in set(s["events"]) & set(tel_ids):
            made_from = [t for t in s.get("telemetry", ()) if t["id"] == eid]
            assert made_from and made_from[0]["event"].endswith((".user_prompt", ".tool_result")), eid
    for s in steps:
        if s["kind"] == "message" and s["events"][0] in life_ids:
            stop = next(e for e in trace["lifecycle"] if e["id"] == s["events"][0])
            assert stop["kind"] == "stop" and "message" not in stop.get("data", {})

    # Snapshots: every name in the trail and in the steps is an entry under
    # snapshots/ pointing at the same tree, and every entry is in the trail.
    assert set(trail["snapshots"]) == set(snaps)
    for name, snap in trail["snapshots"].items():
        n, at = SNAPSHOT_NAME.match(name).groups()
        assert (snap["step"], snap["at"]) == (int(n), at)
        assert snaps[name] == snap["tree"]
        assert object_type(cwd, snap["tree"]) == "tree"
        assert steps[snap["step"] - 1]["kind"] == "tool"
        assert steps[snap["step"] - 1][f"snapshot_{at}"] == name
    for s in steps:
        for at in ("before", "after"):
            name = s.get(f"snapshot_{at}")
            if name is not None:
                assert name == f"{s['n']}-{at}" and name in snaps

    # Partial snapshots (an imported step's): both sides of one step, each a
    # tree holding exactly the path of the step's transcript patch (section 10).
    partial = {s["step"] for s in trail["snapshots"].values() if s.get("partial")}
    by_step = {p["step"]: p for p in trail["patches"]}
    for n in partial:
        assert {trail["snapshots"][f"{n}-{at}"].get("partial") for at in ("before", "after")} == {True}
        patch = by_step[n]
        assert patch.get("source") == "transcript" and len(patch["files"]) == 1
        f = patch["files"][0]
        assert f["status"] in ("A", "M")
        before = ls_tree_paths(cwd, trail["snapshots"][f"{n}-before"]["tree"])
        after = ls_tree_paths(cwd, trail["snapshots"][f"{n}-after"]["tree"])
        assert after == [f["path"]] and before == ([] if f["status"] == "A" else [f["path"]])
        assert steps[n - 1]["snapshot_before"] == f"{n}-before"
        assert trail["snapshots"][f"{n}-before"]["t"] == steps[n - 1]["t"]
        assert trail["snapshots"][f"{n}-after"]["t"] >= steps[n - 1]["t"]

    # Patches: one per completed tool step with both (whole) snapshots,
    # naming them, and those an imported transcript gave steps without both
    # snapshots or with partial ones.
    assert len({p["step"] for p in trail["patches"]}) == len(trail["patches"])
    for patch in trail["patches"]:
        step = steps[patch["step"] - 1]
        assert step["kind"] == "tool" and step["status"] in ("ok", "error")
        if patch.get("source") == "transcript":
            assert not ("snapshot_before" in step and "snapshot_after" in step) or step["n"] in partial
            assert "before" not in patch and "after" not in patch
        else:
            assert (patch["before"], patch["after"]) == (step["snapshot_before"], step["snapshot_after"])
        for f in patch["files"]:
            if "path_raw" in f:
                assert f["path"] == f["path_raw"].decode("utf-8", "backslashreplace")
                with pytest.raises(UnicodeDecodeError):
                    f["path_raw"].decode("utf-8")
            if f["status"] not in ("R", "C"):
                assert "old_path" not in f
    with_both = [s["n"] for s in steps if s["kind"] == "tool" and s["status"] != "running"
                 and "snapshot_before" in s and "snapshot_after" in s and s["n"] not in partial]
    assert sorted(p["step"] for p in trail["patches"] if p.get("source") is None) == with_both

    # ctx: message ids count from 1; steps exist; views stay in range.
    msgs = ctx["messages"]
    assert [m["id"] for m in msgs] == list(range(1, len(msgs) + 1))
    for m in msgs:
        assert 1 <= m["step"] <= len(steps)
        expected_role = {"prompt": {"user"}, "message": {"assistant"},
                         "tool": {"assistant", "tool"}}.get(steps[m["step"] - 1]["kind"])
        assert expected_role is None or m["role"] in expected_role
        assert m["source"] in ("hooks", "transcript", "telemetry")
        if "summary" in m:  # a compaction's summary, kept in a lifecycle entry
            assert m["role"] == "user" and m["summary"] in {e["id"] for e in trace["lifecycle"]}
    for v in ctx["views"]:
        assert 1 <= v["step"] <= len(steps)
        assert v["from"] <= v["to"] + 1 and v["to"] <= len(msgs)

    # The manifest is derived from the records.
    files = sorted({f["path"] for p in trail["patches"] for f in p["files"]})
    assert manifest["files"] == files
    assert manifest["counts"] == {
        "steps": len(steps),
        "prompts": sum(s["kind"] == "prompt" for s in steps),
        "tools": sum(s["kind"] == "tool" for s in steps),
        "events": len(set(step_ids) | set(life_ids) | set(tel_ids)),
        "files": len(files),
        "commits": len({a["commit"] for a in trail["anchors"]}),
    }
    assert manifest["harness"]["name"] == trace["info"].get("harness", "unknown")
    ended = any(e.get("kind") == "session_end" for e in trace["lifecycle"])
    assert (manifest["end"] is not None) == ended


def read_session(cwd, session_id: str) -> list[dict]:
    """Every commit of a session's chain, oldest first, each read and checked."""
    ref = "refs/opentraces/sessions/" + session_id
    assert object_type(cwd, ref) == "commit"
    lines = git_bytes(cwd, "rev-list", "--parents", ref).decode().split("\n")
    chain = [line.split() for line in lines if line]
    # Newest first: each commit's only parent is the next one; the root has none.
    for i, row in enumerate(chain):
        expected = [chain[i + 1][0]] if i + 1 < len(chain) else []
        assert row[1:] == expected, "a session chain is linear"
    entries = []
    for row in reversed(chain):
        entry = read_commit(cwd, row[0])
        check_commit(cwd, session_id, entry)
        entries.append(entry)
    # Each seal appends: records, blobs and snapshots of a parent survive in its child.
    for older, newer in zip(entries, entries[1:]):
        o, n = older["records"], newer["records"]
        assert set(older["blobs"]) <= set(newer["blobs"])
        assert older["snapshots"].items() <= newer["snapshots"].items()
        for a, b in zip(o["trace"]["steps"], n["trace"]["steps"]):
            if a.get("status") != "running":
                # Merging an import into a step (or the reverse) appends event
                # ids and adds the model and usage it lacked; joining telemetry
                # appends entries and adds what they tell; nothing else changes.
                assert b["events"][:len(a["events"])] == a["events"]
                assert b.get("telemetry", [])[:len(a.get("telemetry", []))] == a.get("telemetry", [])
                merged = ("events", "model", "usage", "telemetry", "api", "decision", "duration_ms")
                assert {k: v for k, v in a.items() if k not in merged} == \
                    {k: v for k, v in b.items() if k not in merged}
                assert all(b[k] == a[k] for k in ("model", "usage", "api", "decision", "duration_ms") if k in a)
        assert len(o["trace"]["steps"]) <= len(n["trace"]["steps"])
        assert n["trace"]["lifecycle"][:len(o["trace"]["lifecycle"])] == o["trace"]["lifecycle"]
        assert n["trail"]["patches"][:len(o["trail"]["patches"])] == o["trail"]["patches"]
        assert n["ctx"]["messages"][:len(o["ctx"]["messages"])] == o["ctx"]["messages"]
        assert n["manifest"]["base"] == o["manifest"]["base"]
    return entries


def as_stored(repo, value):
    """A harness value as the security gate stores it: another user's home
    directory in a path becomes a [USER:<hex>] token (refs/README.md, section 13),
    the first 8 hex digits of HMAC-SHA256("USER" NUL <name>) keyed by the salt."""
    salt = (repo.path / ".git" / "opentraces" / "salt").read_bytes().strip()
    token = "[USER:" + hmac.new(salt, b"USER\0dev", hashlib.sha256).hexdigest()[:8] + "]"
    text = json.dumps(value).replace("/home/dev/", f"/home/{token}/").replace("/-home-dev-", f"/-home-{token}-")
    return json.loads(text)


def session_refs(cwd) -> list[str]:
    out = git_bytes(cwd, "for-each-ref", "--format=%(refname)", "refs/opentraces/").decode()
    return [line for line in out.splitlines() if line]


def spool_dir(repo) -> Path:
    return repo.path / ".git" / "opentraces" / "spool"
