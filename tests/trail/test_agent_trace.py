"""Agent Trace export: `git ot blame commit REV --format agent-trace` and
`git ot export agent-trace [RANGE]`, checked against the specification's own
JSON Schema (tests/fixtures/agent-trace/, version 0.1.0)."""

from __future__ import annotations

import datetime
import hashlib
import json
import uuid
from pathlib import Path

import jsonschema

from git_ot import __version__
from support.trail import MODEL, head, one_turn

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "agent-trace"
                     / "trace-record.schema.json").read_text())
BASE = 'def greet(name):\n    return "hi " + name\n'
FAREWELL = 'def farewell(name):\n    return "bye " + name\n'


def valid(record: dict) -> dict:
    jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(record)
    uuid.UUID(record["id"])
    datetime.datetime.fromisoformat(record["timestamp"])
    return record


def sha256(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _setup(repo) -> str:
    """The agent adds two lines, the human one more; one commit."""
    repo.cli_json("init")
    a = one_turn(repo, "265a3953-3ae5-4217-ac1f-2e0725711a3c", "app.py", BASE + FAREWELL, "add a farewell")
    repo.write("app.py", (repo.path / "app.py").read_text() + "# end\n")
    repo.git("commit", "-q", "-am", "farewell")
    return a.session


def test_blame_commit_as_an_agent_trace_record(repo):
    sid = _setup(repo)
    commit = head(repo)
    proc = repo.ot("blame", "commit", "HEAD", "--format", "agent-trace")
    assert proc.returncode == 0, proc.stderr
    record = valid(json.loads(proc.stdout))
    when = repo.git("show", "-s", "--format=%cI", commit).strip().replace("Z", "+00:00")
    assert record == {
        "version": "0.1.0",
        "id": str(uuid.uuid5(uuid.uuid5(uuid.NAMESPACE_URL, "git-ot/agent-trace"), commit)),
        "timestamp": when,
        "vcs": {"type": "git", "revision": commit},
        "tool": {"name": "git-ot", "version": __version__},
        "files": [{"path": "app.py", "conversations": [
            {"url": f"urn:git-ot:session:{sid}",
             "contributor": {"type": "ai", "model_id": f"anthropic/{MODEL}"},
             "ranges": [{"start_line": 3, "end_line": 4, "content_hash": sha256(FAREWELL)}]},
            {"contributor": {"type": "human"},
             "ranges": [{"start_line": 5, "end_line": 5, "content_hash": sha256("# end\n")}]},
        ]}],
        "metadata": {"dev.git-ot": {"anchored": True, "lines": {
            "introduced": 3, "agent": 2, "moved": 0, "unknown": 0, "human": 1, "alive_at_head": 2}}},
    }
    # The same commit gives the same record, byte for byte.
    assert repo.ot("blame", "commit", commit, "--format", "agent-trace").stdout == proc.stdout
    # blame commit's own JSON carries the runs the record is made of.
    assert repo.cli_json("blame", "commit", "HEAD")["files"] == [{"path": "app.py", "runs": [
        {"lines": [3, 4], "kind": "agent", "session": sid, "step": 2, "harness": "claude-code",
         "model": MODEL},
        {"lines": [5, 5], "kind": "human"}]}]


def test_a_commit_git_ot_never_anchored_is_of_unknown_origin(repo):
    proc = repo.ot("blame", "commit", "HEAD", "--format", "agent-trace")
    record = valid(json.loads(proc.stdout))
    text = (repo.path / "app.py").read_text()
    assert [f["path"] for f in record["files"]] == sorted(f["path"] for f in record["files"])
    app = next(f for f in record["files"] if f["path"] == "app.py")
    assert app["conversations"] == [{"contributor": {"type": "unknown"}, "ranges": [
        {"start_line": 1, "end_line": text.count("\n"), "content_hash": sha256(text)}]}]
    assert record["metadata"]["dev.git-ot"]["anchored"] is False


def test_export_writes_one_record_a_line_for_a_range(repo):
    _setup(repo)
    first = repo.git("rev-list", "--max-parents=0", "HEAD").strip()
    repo.write("notes.txt", "by hand\n")
    repo.git("add", "notes.txt")
    repo.git("commit", "-q", "-m", "notes")
    commits = repo.git("rev-list", "HEAD").split()
    proc = repo.ot("export", "agent-trace")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.decode().splitlines()
    records = [valid(json.loads(line)) for line in lines]
    assert [r["vcs"]["revision"] for r in records] == commits
    for commit, line in zip(commits, lines):
        one = repo.ot("blame", "commit", commit, "--format", "agent-trace").stdout
        assert json.loads(line) == json.loads(one)
    assert [r["vcs"]["revision"] for r in map(json.loads, repo.ot(
        "export", "agent-trace", f"{first}..HEAD").stdout.decode().splitlines())] == commits[:-1]
    assert repo.ot("export", "agent-trace", "HEAD~1..HEAD~1").stdout == b""


def test_errors(repo):
    proc = repo.ot("export", "agent-trace", "nope..HEAD")
    assert (proc.returncode, proc.stdout, proc.stderr.decode().splitlines()) == (1, b"", [
        "error: unknown revision 'nope'", "hint: name commits as for 'git log', e.g. 'main~10..main'"])
    proc = repo.ot("blame", "--format", "agent-trace", "app.py")
    assert (proc.returncode, proc.stdout, proc.stderr.decode().splitlines()) == (1, b"", [
        "error: --format applies to 'git ot blame commit REV' only", "hint: see 'git ot blame --help'"])
    proc = repo.ot("blame", "commit", "HEAD", "--format", "agent-trace", "--json")
    assert (proc.returncode, proc.stdout, proc.stderr.decode().splitlines()) == (1, b"", [
        "error: --json and --format agent-trace cannot be used together", "hint: see 'git ot blame --help'"])


def test_lines_a_note_leaves_unattributed_and_two_clones_disagree_on_are_unknown(repo):
    sid = _setup(repo)
    commit = head(repo)
    lines = repo.git("notes", "--ref=opentraces", "show", commit).splitlines()
    # Another clone's note said line 5 was ambiguous, and gave line 4 to another session.
    extra = [json.dumps({"v": 1, "path": "app.py", "lines": [5, 5], "unattributed": "ambiguous",
                         "candidates": ["s-left:2", "s-right:2"]}, separators=(",", ":")),
             json.dumps({"v": 1, "session": "s-other", "step": 3, "hunk": "3.1.1", "path": "app.py",
                         "lines": [4, 4], "harness": "codex", "model": "gpt-5"}, separators=(",", ":"))]
    repo.git("notes", "--ref=opentraces", "add", "-f", "-m", "\n".join(sorted(lines + extra)), commit)
    assert repo.cli_json("blame", "commit", commit)["files"] == [{"path": "app.py", "runs": [
        {"lines": [3, 3], "kind": "agent", "session": sid, "step": 2, "harness": "claude-code", "model": MODEL},
        {"lines": [4, 5], "kind": "unknown", "reason": "ambiguous"}]}]  # one run: the same attribution
    record = valid(json.loads(repo.ot("blame", "commit", commit, "--format", "agent-trace").stdout))
    assert record["files"][0]["conversations"] == [
        {"url": f"urn:git-ot:session:{sid}", "contributor": {"type": "ai", "model_id": f"anthropic/{MODEL}"},
         "ranges": [{"start_line": 3, "end_line": 3, "content_hash": sha256("def farewell(name):\n")}]},
        {"contributor": {"type": "unknown"}, "ranges": [
            {"start_line": 4, "end_line": 5, "content_hash": sha256('    return "bye " + name\n# end\n')}]},
    ]


def test_model_ids_are_provider_first():
    from git_ot.domain.agent_trace import model_id

    assert model_id("claude-opus-4-5", "claude-code") == "anthropic/claude-opus-4-5"
    assert model_id("gpt-5-codex", "codex") == "openai/gpt-5-codex"
    assert model_id("claude-sonnet-4", "pi") == "anthropic/claude-sonnet-4"
    assert model_id("google/gemini-2.5-pro", "pi") == "google/gemini-2.5-pro"
    assert model_id("some-model", "pi") == "some-model"
    assert model_id(None, "claude-code") is None
    assert model_id("m" * 300, None) == "m" * 250
