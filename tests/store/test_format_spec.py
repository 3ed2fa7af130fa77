"""The storage format, checked against its specification in refs/.

Every recorded Claude Code scenario is replayed into a fresh repository, and
every session commit is read back straight from git objects (`git cat-file`,
`git ls-tree`) and decoded here with zstandard and cbor2 directly, not with
git-ot's own decoder, then validated against the JSON Schemas in
refs/schemas/ and against the rules of refs/README.md that a schema cannot
express (blob references, snapshot entries, the commit chain, pointer blobs).
The reader and its checks are in tests/support/spec.py.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re

import jsonschema
import pytest

from git_ot.demo.replay import replay as replay_payloads
from git_ot.store import records
from support.repo import RECORDED, recorded_payloads, replay
from support.spec import (INLINE_LIMIT, POINTER_HEADER, README, SCHEMA_FILES, as_stored, cat_blob, decode_cbor_zst, git_bytes,
                          jsonable, load_schema, ls_tree, object_type, read_session, session_refs, spool_dir,
                          validate, validator)

SCENARIOS = ["linear-edit", "bash-writes", "parallel-tools", "commit-mid-turn"]
# The recorded Bash commands that only read (git_ot/capture/readonly.py):
# their steps have no snapshot.
READ_ONLY_COMMANDS = {"cat settings.py app.py"}


# -- the recorded scenarios ---------------------------------------------------------

EXPECTED = {
    "linear-edit": {
        "kinds": ["prompt", "tool", "tool", "tool", "message", "prompt", "tool", "tool", "message"],
        "tools": ["Edit", "Write", "Bash", "Edit", "Edit"],
        "lifecycle": ["SessionStart", "Stop", "SessionEnd", "SessionStart", "Stop", "SessionEnd"],
        "commits": 4,
        "events": 18,
        "patches": {
            2: [{"status": "M", "path": "app.py", "hunks": [[2, 0, 3, 4]], "added": 4, "removed": 0}],
            3: [{"status": "A", "path": "test_app.py", "hunks": [[0, 0, 1, 9]], "added": 9, "removed": 0}],
            4: [],
            7: [{"status": "M", "path": "app.py", "hunks": [[2, 1, 2, 1]], "added": 1, "removed": 1}],
            8: [{"status": "M", "path": "test_app.py", "hunks": [[5, 1, 5, 1]], "added": 1, "removed": 1}],
        },
        "roles": ["user", "assistant", "tool", "assistant", "tool", "assistant", "tool", "assistant",
                  "user", "assistant", "tool", "assistant", "tool", "assistant"],
    },
    "bash-writes": {
        # The replay does not run shell commands: the snapshots do not change.
        "kinds": ["prompt", "tool", "tool", "message"],
        "tools": ["Bash", "Bash"],
        "lifecycle": ["SessionStart", "Stop", "SessionEnd"],
        "commits": 2,
        "events": 8,
        "patches": {2: []},  # step 3, `cat`, only reads: no snapshot, no patch
        "roles": ["user", "assistant", "tool", "assistant", "tool", "assistant"],
    },
    "parallel-tools": {
        "kinds": ["prompt", "tool", "tool", "tool", "message"],
        "tools": ["Write", "Write", "Read"],
        "lifecycle": ["SessionStart", "Stop", "SessionEnd"],
        "commits": 2,
        "events": 10,
        "patches": {
            2: [{"status": "A", "path": "a.py", "hunks": [[0, 0, 1, 1]], "added": 1, "removed": 0}],
            3: [{"status": "A", "path": "b.py", "hunks": [[0, 0, 1, 1]], "added": 1, "removed": 0}],
        },
        "roles": ["user", "assistant", "tool", "assistant", "tool", "assistant", "tool", "assistant"],
    },
    "commit-mid-turn": {
        "kinds": ["prompt", "tool", "tool", "tool", "message"],
        "tools": ["Edit", "Bash", "Write"],
        "lifecycle": ["SessionStart", "Stop", "SessionEnd"],
        "commits": 2,
        "events": 10,
        "patches": {
            2: [{"status": "M", "path": "app.py", "hunks": [[2, 1, 2, 1]], "added": 1, "removed": 1}],
            3: [],
            4: [{"status": "A", "path": "NOTES.md", "hunks": [[0, 0, 1, 1]], "added": 1, "removed": 0}],
        },
        "roles": ["user", "assistant", "tool", "assistant", "tool", "assistant", "tool", "assistant"],
    },
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_recorded_scenario_matches_the_spec(repo, scenario):
    head = repo.git("rev-parse", "HEAD").strip()
    sid = replay(repo, scenario)
    payloads = recorded_payloads(scenario)
    exp = EXPECTED[scenario]

    assert session_refs(repo.path) == ["refs/opentraces/sessions/" + sid]
    entries = read_session(repo.path, sid)
    assert len(entries) == exp["commits"]
    tip = entries[-1]["records"]
    manifest, trace, trail, ctx = tip["manifest"], tip["trace"], tip["trail"], tip["ctx"]

    # trace
    steps = trace["steps"]
    assert [s["kind"] for s in steps] == exp["kinds"]
    assert [s["name"] for s in steps if s["kind"] == "tool"] == exp["tools"]
    assert [e["event"] for e in trace["lifecycle"]] == exp["lifecycle"]
    prompts = [p for p in payloads if p["hook_event_name"] == "UserPromptSubmit"]
    assert [s["text"] for s in steps if s["kind"] == "prompt"] == [p["prompt"] for p in prompts]
    assert [s["prompt_id"] for s in steps if s["kind"] == "prompt"] == [p["prompt_id"] for p in prompts]
    stops = [p["last_assistant_message"] for p in payloads if p["hook_event_name"] == "Stop"]
    assert [s["text"] for s in steps if s["kind"] == "message"] == stops
    pre = [p for p in payloads if p["hook_event_name"] == "PreToolUse"]
    post = [p for p in payloads if p["hook_event_name"] == "PostToolUse"]
    tools = [s for s in steps if s["kind"] == "tool"]
    assert [s["tool_use_id"] for s in tools] == [p["tool_use_id"] for p in pre]
    assert [s["input"] for s in tools] == [as_stored(repo, p["tool_input"]) for p in pre]
    assert [s["output"] for s in tools] == [as_stored(repo, p["tool_response"]) for p in post]
    for s in tools:
        assert s["status"] == "ok" and len(s["events"]) == 2 and s["t"] <= s["t_end"]
        read_only = s["name"] == "Read" or s["input"].get("command") in READ_ONLY_COMMANDS
        assert s["writes"] is not read_only
        assert ("snapshot_before" in s) is not read_only and ("snapshot_after" in s) is not read_only
    assert trace["info"]["harness"] == "claude-code"
    assert trace["info"]["transcript_path"] == as_stored(repo, payloads[0]["transcript_path"])
    assert trace["info"]["cwd"] == str(repo.path)

    # trail
    got = {p["step"]: p["files"] for p in trail["patches"]}
    assert got == exp["patches"]
    assert [p["step"] for p in trail["patches"]] == sorted(exp["patches"])
    assert trail["anchors"] == []
    assert set(trail["snapshots"]) == {f"{n}-{at}" for n in exp["patches"] for at in ("before", "after")}

    # ctx
    assert [m["role"] for m in ctx["messages"]] == exp["roles"]
    assert [v["to"] for v in ctx["views"]] == list(range(1, len(exp["roles"]) + 1))
    assert all(v["from"] == 1 for v in ctx["views"])

    # manifest
    assert manifest["harness"] == {"name": "claude-code", "version": None}
    assert manifest["models"] == []
    assert manifest["base"] == {"commit": head, "branch": "main"}
    assert manifest["counts"]["events"] == exp["events"] == len(payloads)
    assert manifest["start"] is not None and manifest["end"] is not None
    assert manifest["start"] <= manifest["end"]
    assert manifest["writer"].startswith("git-ot ")

    # Everything sealed: the spool holds no events any more.
    assert not [n for n in os.listdir(spool_dir(repo)) if n.endswith((".jsonl", ".sealing"))]
    repo.fsck()


def _replay_running_shell(repo, scenario: str, extra=None) -> str:
    """Replay a scenario and also run each Bash command inside its tool window."""
    bash = 0

    def after(d):
        nonlocal bash
        if d["hook_event_name"] == "PreToolUse" and d["tool_name"] == "Bash":
            bash += 1
            if extra:
                extra(bash)

    return replay(repo, scenario, run_shell=True, after=after)


def test_shell_writes_renames_and_non_utf8_paths(repo):
    """bash-writes with its command run; its window also renames and adds a
    non-UTF-8 name (the second command, `cat`, only reads: no window)."""
    raw_name = b"caf\xe9.txt"

    def extra(n):
        if n == 1:
            (repo.path / "README.md").rename(repo.path / "README.txt")
            with open(os.path.join(os.fsencode(repo.path), raw_name), "wb") as fh:
                fh.write(b"x\n")

    sid = _replay_running_shell(repo, "bash-writes", extra)
    tip = read_session(repo.path, sid)[-1]["records"]
    patches = {p["step"]: {f["path"]: f for f in p["files"]} for p in tip["trail"]["patches"]}
    assert patches == {2: {
        "README.txt": {"status": "R", "path": "README.txt", "old_path": "README.md", "hunks": [],
                       "added": 0, "removed": 0},
        "app.py": {"status": "M", "path": "app.py", "hunks": [[2, 1, 2, 1]], "added": 1, "removed": 1},
        "caf\\xe9.txt": {"status": "A", "path": "caf\\xe9.txt", "path_raw": raw_name,
                         "hunks": [[0, 0, 1, 1]], "added": 1, "removed": 0},
        "pkg/__init__.py": {"status": "A", "path": "pkg/__init__.py", "hunks": [[0, 0, 1, 1]],
                            "added": 1, "removed": 0},
        "settings.py": {"status": "A", "path": "settings.py", "hunks": [[0, 0, 1, 2]],
                        "added": 2, "removed": 0},
    }}
    # path_raw is a CBOR byte string, validated as base64 text.
    assert jsonable(patches[2]["caf\\xe9.txt"])["path_raw"] == base64.b64encode(raw_name).decode()
    snap = ls_tree(repo.path, tip["trail"]["snapshots"]["2-after"]["tree"])
    assert raw_name in snap and b"README.txt" in snap and b"README.md" not in snap
    assert tip["manifest"]["files"] == sorted(
        ["README.txt", "app.py", "caf\\xe9.txt", "pkg/__init__.py", "settings.py"])


def test_commit_mid_turn_with_the_commit_made(repo):
    """The agent's own `git commit` inside a tool window leaves the format intact."""
    start = repo.git("rev-parse", "HEAD").strip()
    sid = _replay_running_shell(repo, "commit-mid-turn")
    committed = repo.git("rev-parse", "HEAD").strip()
    assert committed != start
    tip = read_session(repo.path, sid)[-1]["records"]
    patches = {p["step"]: p["files"] for p in tip["trail"]["patches"]}
    assert patches[3] == []  # a commit changes no file in the working tree
    assert [f["path"] for f in patches[2]] == ["app.py"]
    assert [f["path"] for f in patches[4]] == ["NOTES.md"]
    assert tip["manifest"]["base"]["branch"] == "main"
    assert object_type(repo.path, tip["manifest"]["base"]["commit"]) == "commit"


def test_large_file_pointer_and_blob_references(repo, monkeypatch):
    """Over GIT_OT_MAX_FILE_SIZE a file is a pointer blob; long strings go to blobs/."""
    monkeypatch.setenv("GIT_OT_MAX_FILE_SIZE", "1000")
    big = "".join(f"line {i:04d} of a large generated file\n" for i in range(200))
    assert len(big) > 2 * INLINE_LIMIT
    at_limit = "y" * 999 + "\n"  # exactly 1000 bytes: not over the limit
    payloads = recorded_payloads("parallel-tools")
    sid = payloads[0]["session_id"]
    pre = [p for p in payloads if p["hook_event_name"] == "PreToolUse"]
    post = [p for p in payloads if p["hook_event_name"] == "PostToolUse"]
    by_name = {"PreToolUse": pre, "PostToolUse": post}
    contents = {0: ("big.txt", big), 1: ("limit.txt", at_limit)}
    seen = {"PreToolUse": 0, "PostToolUse": 0}
    for d in payloads:
        ev = d["hook_event_name"]
        if ev in by_name:
            i = seen[ev]
            seen[ev] += 1
            if i in contents:
                name, text = contents[i]
                path = str(repo.path / name)
                d = {**d, "tool_input": {"file_path": path, "content": text}}
                if ev == "PostToolUse":
                    d["tool_response"] = {"type": "create", "filePath": path, "content": text,
                                          "structuredPatch": [], "originalFile": None}
            repo.hook(ev, d)
            if ev == "PreToolUse" and i in contents:
                repo.write(contents[i][0], contents[i][1])
        else:
            repo.hook(ev, d)

    entries = read_session(repo.path, sid)
    tip = entries[-1]
    trail = tip["records"]["trail"]
    trace = tip["records"]["trace"]

    # The pointer blob, exactly.
    snap = ls_tree(repo.path, trail["snapshots"]["2-after"]["tree"])
    mode, typ, oid = snap[b"big.txt"]
    assert (mode, typ) == ("100644", "blob")
    data = big.encode()
    assert cat_blob(repo.path, oid) == (
        b"git-ot large file v1\n"
        + b"size %d\n" % len(data)
        + b"sha256 " + hashlib.sha256(data).hexdigest().encode() + b"\n")
    assert cat_blob(repo.path, oid).startswith(POINTER_HEADER)
    # A file of exactly the limit keeps its content.
    snap3 = ls_tree(repo.path, trail["snapshots"]["3-after"]["tree"])
    assert cat_blob(repo.path, snap3[b"limit.txt"][2]) == at_limit.encode()
    assert cat_blob(repo.path, snap3[b"big.txt"][2]).startswith(POINTER_HEADER)
    assert b"big.txt" not in ls_tree(repo.path, trail["snapshots"]["2-before"]["tree"])

    # The long Write content became blob references, in input and output.
    step2 = trace["steps"][1]
    for ref in (step2["input"]["content"], step2["output"]["content"]):
        assert ref == {"$blob": hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest(),
                       "size": len(data)}
        assert ref["$blob"] in tip["blobs"]
        assert cat_blob(repo.path, ref["$blob"]) == data
    assert step2["input"]["file_path"] == str(repo.path / "big.txt")
    assert trace["steps"][2]["input"]["content"] == at_limit
    assert list(tip["blobs"]) == [step2["input"]["content"]["$blob"]]
    top = ls_tree(repo.path, tip["commit"])
    prefix = ls_tree(repo.path, top[b"blobs"][2])
    assert set(prefix) == {step2["input"]["content"]["$blob"][:2].encode()}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_spool_event_lines_before_sealing(repo, scenario):
    """Events appended without a turn end stay in the spool, one valid line each."""
    payloads = recorded_payloads(scenario)
    sid = payloads[0]["session_id"]
    unsealed = [d for d in payloads if d["hook_event_name"] not in ("Stop", "SessionEnd")]
    replay_payloads(str(repo.path), unsealed)

    assert session_refs(repo.path) == [], "nothing is sealed before a turn ends"
    journal = spool_dir(repo) / f"{sid}.jsonl"
    raw = journal.read_bytes()
    assert raw.endswith(b"\n")
    lines = raw.split(b"\n")[:-1]
    assert len(lines) == len(unsealed)
    events = []
    for line in lines:
        assert b"\n" not in line and line == line.strip()
        ev = json.loads(line.decode("utf-8"))
        assert line.decode() == json.dumps(ev, ensure_ascii=False, separators=(",", ":")), \
            "compact JSON, one object a line"
        validate("spool-event", ev)
        events.append(ev)

    kinds = {"SessionStart": "session_start", "UserPromptSubmit": "prompt",
             "PreToolUse": "tool_start", "PostToolUse": "tool_end"}
    assert [e["kind"] for e in events] == [kinds[d["hook_event_name"]] for d in unsealed]
    assert [e["event"] for e in events] == [d["hook_event_name"] for d in unsealed]
    assert all(e["session"] == sid and e["source"] == "claude-code" for e in events)
    assert len({e["id"] for e in events}) == len(events)
    assert [e["t"] for e in events] == sorted(e["t"] for e in events)
    for e, d in zip(events, unsealed):
        assert e["data"]["cwd"] == str(repo.path)
        if e["kind"] in ("tool_start", "tool_end"):
            writes = d["tool_name"] != "Read" and d["tool_input"].get("command") not in READ_ONLY_COMMANDS
            assert e.get("writes", False) is writes
            assert ("snapshot" in e) is writes
            if writes:
                assert object_type(repo.path, e["snapshot"]) == "tree"
            assert e["data"]["name"] == d["tool_name"]
            assert e["data"]["input"] == d["tool_input"]
        else:
            assert "writes" not in e and "snapshot" not in e
        if e["kind"] == "tool_end":
            assert e["data"]["error"] is False and e["data"]["output"] == d["tool_response"]
        if e["kind"] == "prompt":
            assert e["data"]["text"] == d["prompt"]

    # A turn end seals every spooled event into the ref and empties the spool.
    stop = next(d for d in payloads if d["hook_event_name"] == "Stop")
    repo.hook("Stop", stop)
    assert not journal.exists()
    tip = read_session(repo.path, sid)[-1]["records"]["trace"]
    folded = {e for s in tip["steps"] for e in s["events"]} | {e["id"] for e in tip["lifecycle"]}
    assert {e["id"] for e in events} <= folded


# -- the specification itself ----------------------------------------------------------

def test_schemas_are_valid_draft_2020_12():
    for name in SCHEMA_FILES:
        schema = load_schema(name)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        jsonschema.Draft202012Validator.check_schema(schema)


def test_readme_names_every_record_file():
    text = README.read_text(encoding="utf-8")
    for filename in records.FILENAMES.values():
        assert f"`{filename}`" in text, filename
    for schema_file in SCHEMA_FILES.values():
        assert f"schemas/{schema_file}" in text, schema_file
    for ref in ("refs/opentraces/sessions/<session-id>", "refs/notes/opentraces",
                "refs/opentraces/<namespace>/<name>"):
        assert ref in text


def test_schema_versions_match_the_code():
    assert set(records.FILENAMES) <= set(records.VERSIONS)
    for kind in records.FILENAMES:
        version = records.VERSIONS[kind]
        schema = load_schema(kind)
        assert schema["properties"]["v"] == {"const": version}, kind
        assert schema["properties"]["schema"] == {"const": records.SCHEMA_PREFIX + kind}, kind
        assert {"schema", "v"} <= set(schema["required"])
    for name in ("spool-event", "note-line"):
        assert load_schema(name)["properties"]["v"] == {"const": 1}


def test_schemas_reject_what_the_spec_forbids():
    """Strict where the format is exact; open where readers ignore unknown fields."""
    manifest_ok = {
        "schema": "git-ot/manifest", "v": 1, "session": "abc-1",
        "harness": {"name": "claude-code", "version": None}, "models": [],
        "base": {"commit": None, "branch": None}, "start": None, "end": None,
        "counts": {"steps": 0, "prompts": 0, "tools": 0, "events": 0, "files": 0, "commits": 0},
        "files": [], "writer": "git-ot 0.1.0", "future_field": {"x": 1},
    }
    validate("manifest", manifest_ok)
    bad = [{**manifest_ok, "v": 2}, {**manifest_ok, "schema": "git-ot/trace"},
           {**manifest_ok, "session": "a..b"}, {**manifest_ok, "session": "x.lock"},
           {**manifest_ok, "start": "2026-01-01 10:00:00"},
           {k: v for k, v in manifest_ok.items() if k != "counts"}]
    for instance in bad:
        assert not validator("manifest").is_valid(instance)

    step = {"n": 1, "kind": "tool", "t": 1.0, "events": ["a", "b"], "name": "Edit",
            "tool_use_id": "t1", "status": "ok", "writes": True, "input": {}, "output": None,
            "t_end": 2.0}
    trace = {"schema": "git-ot/trace", "v": 1, "session": "s", "steps": [step],
             "lifecycle": [], "info": {}}
    validate("trace", trace)
    for broken in ({**step, "kind": "thought"}, {**step, "status": "done"},
                   {k: v for k, v in step.items() if k != "output"},
                   {**step, "status": "running"},
                   {"n": 1, "kind": "prompt", "t": 1.0, "events": ["a"], "text": "x" * 2049},
                   {"n": 1, "kind": "prompt", "t": 1.0, "events": ["a"],
                    "text": {"$blob": "0" * 40, "size": 5, "extra": 1}}):
        assert not validator("trace").is_valid({**trace, "steps": [broken]})
    assert validator("trace").is_valid({**trace, "steps": [
        {"n": 1, "kind": "prompt", "t": 1.0, "events": ["a"], "text": {"$blob": "0" * 40, "size": 4096}}]})
    assert not validator("trace").is_valid({**trace, "lifecycle": [{"id": "x", "event": "Stop", "t": 1.0}]})


def test_imported_partial_snapshots_match_the_spec(repo):
    """An imported transcript's Edit and Write steps get partial snapshots
    (section 10): read straight from git and checked by check_commit."""

    path = RECORDED / "linear-edit" / "transcript.jsonl"
    proc = repo.cli("import", "claude-code", str(path), "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    sid = json.loads(proc.stdout)["sessions"][0]["session"]
    [entry] = read_session(repo.path, sid)
    trail, steps = entry["records"]["trail"], entry["records"]["trace"]["steps"]
    partial = sorted(s["step"] for s in trail["snapshots"].values() if s.get("partial"))
    assert partial == [3, 3, 5, 5, 11, 11, 13, 13]
    assert [steps[n - 1]["name"] for n in partial[::2]] == ["Edit", "Write", "Edit", "Edit"]
    # The one-file tree of a created file's before side is the empty tree.
    assert ls_tree(repo.path, trail["snapshots"]["5-before"]["tree"]) == {}
    assert list(ls_tree(repo.path, trail["snapshots"]["5-after"]["tree"])) == [b"test_app.py"]
    snap = dict(trail["snapshots"]["3-before"])
    defs = load_schema("trail")["$defs"]
    one = jsonschema.Draft202012Validator({"$defs": defs, "$ref": "#/$defs/snapshot"})
    assert one.is_valid(snap) and not one.is_valid({**snap, "partial": False})
    event = {"v": 1, "id": "tr-0123456789abcdef", "t": 1.0, "source": "claude-code", "event": "user",
             "session": "s", "kind": "tool_end", "data": {"error": False}, "writes": True,
             "partial": {"before": "0" * 40, "after": "1" * 40}}
    validate("spool-event", event)
    for broken in ({k: v for k, v in event.items() if k != "writes"},
                   {**event, "partial": {"before": "0" * 40}},
                   {**event, "partial": {"before": "0" * 40, "after": "1" * 40, "path": "x"}}):
        assert not validator("spool-event").is_valid(broken)


def test_spool_event_line_of_a_spilled_output(repo):
    """Section 12, Spilled strings: a tool output's long strings are files
    beside the journal, named by their SHA-256, the line holding null."""
    limit = 262_144
    text, listed = "x" * (limit + 1) + "\u00e9\n", "y\n" * (limit // 2 + 1)
    short = "z" * limit  # not longer than the limit: kept in the line
    call = {"session_id": "sp", "tool_name": "Bash", "tool_use_id": "t1", "tool_input": {"command": "cat"}}
    repo.hook("PreToolUse", call)
    repo.hook("PostToolUse", {**call, "tool_response": {"stdout": text, "stderr": short,
                                                        "content": [{"type": "text", "text": listed}]}})
    [start, end] = [json.loads(line) for line in (spool_dir(repo) / "sp.jsonl").read_bytes().splitlines()]
    validate("spool-event", start)
    validate("spool-event", end)
    assert "spilled" not in start
    expected = []
    for at, value in ((["data", "output", "stdout"], text), (["data", "output", "content", 0, "text"], listed)):
        data = value.encode("utf-8")
        sha = hashlib.sha256(data).hexdigest()
        assert (spool_dir(repo) / f"sp.{sha}.out").read_bytes() == data
        expected.append({"at": at, "sha256": sha, "size": len(data)})
    assert end["spilled"] == expected
    assert end["data"]["output"] == {"stdout": None, "stderr": short, "content": [{"type": "text", "text": None}]}
    for broken in ({**end, "kind": "tool_start"}, {**end, "spilled": []},
                   {**end, "spilled": [{**expected[0], "sha256": "0" * 40}]},
                   {**end, "spilled": [{**expected[0], "at": ["data", "input", "command"]}]},
                   {**end, "spilled": [{**expected[0], "size": limit}]}):
        assert not validator("spool-event").is_valid(broken)
    # Sealed, the step's output is what the payload held, the files gone.
    step = repo.cli_json("trace", "show", "sp:1")["step"]
    assert step["output"] == {"stdout": text, "stderr": short, "content": [{"type": "text", "text": listed}]}
    assert os.listdir(spool_dir(repo)) == []


def _readme_section(title_prefix: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## " + title_prefix)
    end = text.find("\n## ", start + 1)
    return text[start:] if end < 0 else text[start:end]


def test_readme_note_line_examples_validate():
    section = _readme_section("11. Notes")
    blocks = re.findall(r"```jsonl\n(.*?)```", section, re.S)
    assert blocks, "the notes section has example note lines"
    lines = [line for block in blocks for line in block.splitlines() if line]
    assert len(lines) >= 2
    for block in blocks:
        block_lines = [line for line in block.splitlines() if line]
        assert block_lines == sorted(block_lines, key=str.encode), "a note's lines are sorted bytewise"
        assert len(set(block_lines)) == len(block_lines)
    order = [p for p in load_schema("note-line")["properties"]]
    for line in lines:
        note = json.loads(line)
        validate("note-line", note)
        # Canonical: compact, fields in the specified order, UTF-8 unescaped.
        assert line == json.dumps(note, ensure_ascii=False, separators=(",", ":"))
        keys = list(note)
        assert keys == [k for k in order if k in note]
        if "hunk" in note:
            assert note["hunk"].split(".")[0] == str(note["step"])
        assert note["lines"][0] <= note["lines"][1]
        if "path_raw" in note:
            raw = base64.b64decode(note["path_raw"], validate=True)
            assert note["path"] == raw.decode("utf-8", "backslashreplace")
    # The schema refuses what the spec forbids.
    note = json.loads(lines[0])
    for broken in ({**note, "lines": [3]}, {**note, "lines": [0, 2]}, {**note, "hunk": "2"},
                   {**note, "v": 2}, {k: v for k, v in note.items() if k != "model"},
                   {**note, "unattributed": "ambiguous"}):
        assert not validator("note-line").is_valid(broken)
    # The other kind of line: a range no single step can be named for.
    loose = next(json.loads(line) for line in lines if "unattributed" in json.loads(line))
    for broken in ({**loose, "step": 2}, {k: v for k, v in loose.items() if k != "unattributed"},
                   {**loose, "candidates": ["s-left"]}):
        assert not validator("note-line").is_valid(broken)


def test_readme_pointer_blob_format_matches_the_code():
    """The pointer bytes the README spells out are the ones snapshot.py writes."""
    from git_ot.store import snapshot

    section = _readme_section("10. Snapshots")
    block = re.search(r"```\n(git-ot large file v1.*?)```", section, re.S).group(1)
    assert block == "git-ot large file v1\\n\nsize <size>\\n\nsha256 <sha256>\\n\n"
    assert snapshot.POINTER_HEADER == POINTER_HEADER
    assert str(snapshot.DEFAULT_MAX_FILE_SIZE) in section


def test_a_record_larger_than_one_block_is_several_raw_blocks():
    from git_ot.store import records
    record = records.envelope("ctx", {"messages": [{"id": i, "step": i, "role": "user"}
                                                   for i in range(1, 20001)], "views": []})
    data = records.encode("ctx", record)
    assert len(data) > 3 * 128 * 1024
    assert decode_cbor_zst(data) == record
    assert records.decode("ctx", data, "a test") == record


# -- generic records: namespaces and entities (section 15) ----------------------------

def test_readme_namespace_table_is_the_codes():
    """Section 15's table of namespaces is records.VERSIONS, row for row, and
    the namespace rule is the same in the README, the schema and refs.py."""
    from git_ot.store import refs

    section = _readme_section("15. ")
    table = re.search(r"\| namespace \| version \| records \|\n\|[-|]+\|\n((?:\|.*\|\n)+)", section).group(1)
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in table.splitlines()]
    assert {r[0].strip("`"): int(r[1]) for r in rows} == records.VERSIONS
    rule = refs.RECORD_NAMESPACE_PATTERN
    # The code checks that rule (without `re`): the same answer on names at its edges.
    names = ["a", "a" * 64, "a" * 65, "0a", "-a", "a-", "a_b", "A", "ab9-x", "", "a\n", "é", "sessions", "x" * 63]
    for name in names:
        try:
            refs.entity_prefix(name)
            ok = True
        except ValueError:
            ok = False
        assert ok is (re.fullmatch(rule[1:-1], name) is not None and name not in refs.NOT_ENTITY_NAMESPACES), name
    assert f"(`{rule}`)" in section
    assert load_schema("record")["properties"]["schema"]["pattern"] == "^git-ot/" + rule[1:]
    for namespace in records.VERSIONS:
        assert re.match(rule, namespace) and namespace not in refs.NOT_ENTITY_NAMESPACES
    for reserved in refs.NOT_ENTITY_NAMESPACES:
        assert f"`{reserved}`" in section
    assert records.ENTITY_SUFFIX == ".cbor.zst" and "<key>.cbor.zst" in section


def test_entity_records_match_the_spec(empty_repo, monkeypatch):
    """An entity written through the store, read back with git alone: the ref,
    the commit chain, the tree of `<key>.cbor.zst` blobs and each record."""
    from git_ot.store import entities
    from git_ot.store.repository import Store

    monkeypatch.setitem(records.VERSIONS, "example", 1)  # a namespace of no feature's own
    cwd = empty_repo.path
    git_bytes(cwd, "config", "core.logAllRefUpdates", "always")
    store = Store.open(str(cwd))
    first = entities.write(store, "example", "e-1", None, {"a": {"n": 1}, "b": {"n": 2, "t": "é"}},
                           "write e-1\n\ntwo records")
    second = entities.write(store, "example", "e-1", first, {"a": None, "c": {"n": 3}}, "write e-1 again")

    ref = "refs/opentraces/example/e-1"
    assert git_bytes(cwd, "for-each-ref", "--format=%(refname) %(objectname)", "refs/opentraces/").decode() \
        == f"{ref} {second}\n"
    assert git_bytes(cwd, "rev-list", "--parents", ref).decode().split("\n")[:2] == [f"{second} {first}", first]
    assert git_bytes(cwd, "log", "-g", "--format=%gs", ref).decode().splitlines() == [
        "git-ot: write e-1 again", "git-ot: write e-1"]
    for commit in (first, second):
        who = git_bytes(cwd, "log", "-1", "--format=%an <%ae> %at%n%cn <%ce> %ct", commit).decode()
        assert who.splitlines() == ["C O Mitter <committer@example.com> 1700000000"] * 2
    assert git_bytes(cwd, "config", "--get-all", "fetch.hideRefs").decode().split() == ["refs/opentraces"]

    for commit, keys in ((first, ["a", "b"]), (second, ["b", "c"])):
        top = ls_tree(cwd, commit)
        assert sorted(top) == [f"{k}.cbor.zst".encode() for k in keys]
        for name, (mode, typ, oid) in top.items():
            assert (mode, typ) == ("100644", "blob")
            record = decode_cbor_zst(cat_blob(cwd, oid))
            validate("record", jsonable(record))
            assert list(record)[:2] == ["schema", "v"], "the envelope comes first"
            assert (record["schema"], record["v"]) == ("git-ot/example", 1)
    assert decode_cbor_zst(cat_blob(cwd, ls_tree(cwd, second)[b"b.cbor.zst"][2]))["t"] == "é"
