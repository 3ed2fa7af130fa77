"""`git ot dataset`: the workflow run over real sessions, its failures, review and publish.

Sessions are made through the real hook processes (support/trail.py); the
workflow runs as a real subprocess; publishing pushes with real git to a
local bare repository, which the tests clone and read back.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import yaml

from support import datasets as published
from support.repo import git
from support.trail import one_turn, set_up

BASE = 'def greet(name):\n    return "hi " + name\n'
FAREWELL = 'def farewell(name):\n    return "bye " + name\n'
# An AWS access key id the gate's patterns detect (tests/gate/test_gate.py).
SECRET = "AKIA" + "QWERTYUIOPASDF23"


def two_sessions(repo) -> tuple[str, str]:
    """One session whose work lands, one whose work is reverted."""
    set_up(repo, True)
    one_turn(repo, "s-lands", "app.py", BASE + "\n\n" + FAREWELL, "add a farewell")
    repo.git("commit", "-q", "-am", "farewell")
    one_turn(repo, "s-reverted", "util.py", "def shout(s):\n    return s.upper() + '!'\n", "add shout")
    repo.git("add", "util.py")
    repo.git("commit", "-q", "-m", "shout")
    repo.git("revert", "--no-edit", "HEAD")
    return "s-lands", "s-reverted"


def inbox(repo, name: str = "sessions") -> list[dict]:
    return repo.cli_json("dataset", "review", name)["rows"]


def entity_log(repo, name: str = "sessions") -> list[str]:
    return repo.git("log", "--format=%s", f"refs/opentraces/datasets/{name}", check=False).splitlines()


def workflow(repo, name: str, script: str, schema: dict | None = None) -> None:
    """Replace the scaffolded build_rows.py (and schema) of `name`."""
    assert repo.cli("dataset", "new", name).returncode == 0
    (repo.path / "datasets" / name / "build_rows.py").write_text(script)
    if schema is not None:
        (repo.path / "datasets" / name / "row.schema.json").write_text(json.dumps(schema))


def err(proc) -> list[str]:
    return proc.stderr.decode().splitlines()


def test_the_example_workflow_labels_rows_with_survival_and_runs_again_idempotently(repo):
    lands, reverted = two_sessions(repo)
    proc = repo.cli("dataset", "new", "sessions")
    assert proc.stdout.decode() == ("created datasets/sessions/ "
                                    "(SKILL.md, row.schema.json, build_rows.py)\n")
    out = repo.cli_json("dataset", "run", "sessions")
    assert (out["sessions"], out["rows"], out["new"], out["known"], out["blocked"]) == (2, 2, 2, 0, [])
    rows = {r["sessions"][0]: repo.cli_json("dataset", "review", "sessions", r["id"]) for r in inbox(repo)}
    assert rows[lands]["row"] == {"session": lands, "prompt": "add a farewell", "files": ["app.py"],
                                  "survival": "alive_on_path"}
    assert rows[reverted]["row"] == {"session": reverted, "prompt": "add shout", "files": ["util.py"],
                                     "survival": "reverted"}
    assert {r["status"] for r in rows.values()} == {"inbox"}
    assert rows[lands]["run"] == out["run"] and rows[lands]["findings"] == []

    again = repo.cli("dataset", "run", "sessions")
    assert re.fullmatch(r"run \d{8}T\d{6}Z-[0-9a-f]{6}: 2 sessions, 2 rows: 0 new in the inbox, "
                        r"2 already stored\n", again.stdout.decode())
    assert len(entity_log(repo)) == 1  # the second run wrote nothing
    later = repo.cli_json("dataset", "run", "sessions", "--since", "2099-01-01")
    assert (later["sessions"], later["rows"], later["new"]) == (0, 0, 0)


def test_a_workflow_that_is_not_there_or_not_whole_is_named(repo):
    set_up(repo, True)
    assert err(repo.cli("dataset", "new", "Bad/Name")) == [
        "error: invalid dataset name 'Bad/Name'",
        "hint: a dataset name is 1-64 lowercase letters, digits, '.', '_' or '-'"]
    assert err(repo.cli("dataset", "run", "missing")) == [
        "error: no dataset workflow 'datasets/missing'",
        "hint: 'git ot dataset new missing' scaffolds one"]
    repo.cli("dataset", "new", "half")
    (repo.path / "datasets" / "half" / "row.schema.json").write_text('{"type": "nothing"}')
    assert err(repo.cli("dataset", "run", "half"))[0].startswith(
        "error: 'datasets/half/row.schema.json' is not a JSON Schema: ")
    (repo.path / "datasets" / "half" / "build_rows.py").unlink()
    assert err(repo.cli("dataset", "run", "half"))[0] == "error: 'datasets/half' has no build_rows.py"
    assert err(repo.cli("dataset", "new", "half")) == [
        "error: 'datasets/half' already exists",
        "hint: edit its files, or 'git ot dataset run half'"]
    assert err(repo.cli("dataset", "review", "half")) == [
        "error: dataset 'half' has no rows", "hint: 'git ot dataset run half' makes them"]


def test_git_ot_push_does_not_push_a_datasets_rows(repo, tmp_path):
    lands, reverted = two_sessions(repo)
    repo.cli("dataset", "new", "sessions")
    repo.cli_json("dataset", "run", "sessions")
    bare = tmp_path / "share.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    repo.git("remote", "add", "share", str(bare))
    assert repo.cli("remote", "set", "share").returncode == 0
    assert repo.cli("approve", "--all").returncode == 0
    proc = repo.cli("push")
    assert proc.returncode == 0, proc.stderr.decode()
    pushed = git(bare, "for-each-ref", "--format=%(refname)").split()
    assert f"refs/opentraces/sessions/{lands}" in pushed
    assert [r for r in pushed if "datasets" in r] == []


def test_the_packet_names_each_patch_its_state_and_commits(repo):
    lands, reverted = two_sessions(repo)
    repo.cli("dataset", "new", "sessions")
    packet = repo.path.parent / "packet.json"
    repo.cli("dataset", "run", "sessions", lands, "--keep-packet", str(packet))
    p = json.loads(packet.read_text())
    assert (p["schema"], p["v"], p["dataset"]) == ("git-ot/dataset-packet", 1, "sessions")
    [s] = p["sessions"]
    assert (s["id"], s["harness"], s["prompts"]) == (lands, "claude-code", ["add a farewell"])
    assert [(st["n"], st["kind"], st["tool"]) for st in s["steps"]] == [(1, "prompt", None), (2, "tool", "Edit")]
    farewell = repo.git("rev-parse", "HEAD~2").strip()
    assert s["patches"] == [{"step": 2, "path": "app.py", "status": "M", "state": "alive_on_path",
                             "commits": [farewell],
                             "hunks": [{"id": "2.1.1", "range": [2, 0, 3, 4], "state": "alive_on_path",
                                        "lines": {"written": 4, "landed": 4, "alive": 4, "pending": 0}}]}]
    assert s["commits"] == [{"commit": farewell, "time": 1700000000, "subject": "farewell"}]
    import jsonschema
    from support.repo import ROOT

    schema = json.loads((ROOT / "refs" / "schemas" / "dataset-packet.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(p)


def test_a_row_the_schema_refuses_fails_the_run_naming_the_field_and_stores_nothing(repo):
    two_sessions(repo)
    repo.cli("dataset", "new", "sessions")
    assert repo.cli_json("dataset", "run", "sessions")["new"] == 2
    before = repo.git("rev-parse", "refs/opentraces/datasets/sessions").strip()
    workflow(repo, "bad", "import json, os\n"
             "with open(os.environ['OT_DATASET_OUTPUT'], 'w') as f:\n"
             "    f.write(json.dumps({'session': 'a', 'prompt': 'p', 'files': [], 'survival': 'alive_on_path'}) + '\\n')\n"
             "    f.write(json.dumps({'session': 'b', 'prompt': 'p', 'files': [], 'survival': 'landed'}) + '\\n')\n"
             "    f.write(json.dumps({'session': 'c', 'files': [3], 'survival': 'none'}) + '\\n')\n")
    proc = repo.cli("dataset", "run", "bad")
    assert proc.returncode == 1
    assert err(proc) == [
        "error: 2 rows of 'datasets/bad/build_rows.py' do not fit row.schema.json; nothing was stored",
        "row 2: field 'survival': 'landed' is not one of ['alive_on_path', 'alive_transformed', 'moved', "
        "'partially_preserved', 'reverted', 'repaired', 'lost', 'unknown', 'pending', 'unlanded', 'mixed', 'none']",
        "row 3: field 'prompt': 'prompt' is a required property",
        "hint: fix build_rows.py or row.schema.json in datasets/bad/",
    ]
    assert repo.git("for-each-ref", "--format=%(refname)", "refs/opentraces/datasets/").split() == \
        ["refs/opentraces/datasets/sessions"]
    assert repo.git("rev-parse", "refs/opentraces/datasets/sessions").strip() == before


def test_a_workflow_that_crashes_hangs_or_writes_non_json_fails_with_one_line(repo):
    two_sessions(repo)
    workflow(repo, "crash", "import json, os\n"
             "open(os.environ['OT_DATASET_OUTPUT'], 'w').write('{\"session\": \"x\"}\\n')\n"
             "raise SystemExit('cannot read the packet')\n")
    proc = repo.cli("dataset", "run", "crash")
    assert proc.returncode == 1
    assert err(proc)[0] == ("error: 'datasets/crash/build_rows.py' exited with status 1: "
                            "cannot read the packet; nothing was stored")

    workflow(repo, "hang", "import json, os, time\n"
             "open(os.environ['OT_DATASET_OUTPUT'], 'w').write('{}\\n')\n"
             "time.sleep(600)\n")
    proc = repo.cli("dataset", "run", "hang", "--timeout", "1")
    assert proc.returncode == 1
    assert err(proc) == ["error: 'datasets/hang/build_rows.py' did not finish within 1 s and was stopped; "
                         "nothing was stored",
                         "hint: make it faster, or give it longer with --timeout SECONDS"]

    workflow(repo, "garbled", "import os\n"
             "open(os.environ['OT_DATASET_OUTPUT'], 'w').write('{\"session\": \"x\"}\\nnot json\\n')\n")
    proc = repo.cli("dataset", "run", "garbled")
    assert proc.returncode == 1
    assert err(proc)[0] == ("error: 'datasets/garbled/build_rows.py' wrote a line that is not JSON "
                            "(line 2: Expecting value: line 1 column 1 (char 0)); nothing was stored")
    assert repo.git("for-each-ref", "refs/opentraces/datasets/") == ""


SECRET_WORKFLOW = ("import json, os\n"
                   "with open(os.environ['OT_DATASET_OUTPUT'], 'w') as f:\n"
                   "    f.write(json.dumps({'session': 's', 'prompt': 'key " + SECRET + " here', "
                   "'files': [], 'survival': 'none'}) + '\\n')\n")


def test_the_gate_redacts_a_row_and_keeps_its_findings_or_blocks_it_by_policy(repo):
    two_sessions(repo)
    workflow(repo, "leaky", SECRET_WORKFLOW)
    out = repo.cli_json("dataset", "run", "leaky")
    assert (out["new"], out["redacted"]) == (1, 1)
    [row] = inbox(repo, "leaky")
    got = repo.cli_json("dataset", "review", "leaky", row["id"][:8])
    assert got["row"]["prompt"] == "key [REDACTED:aws-access-key] here"
    assert got["findings"] == [{"field": "prompt", "kind": "aws-access-key", "detector": "pattern"}]
    assert SECRET.encode() not in _all_objects(repo.path)

    repo.git("config", "ot.security.action", "block")
    workflow(repo, "blocked", SECRET_WORKFLOW)
    proc = repo.cli("dataset", "run", "blocked")
    assert proc.stdout.decode().splitlines()[1:] == [
        "row 1 held back by the security gate: aws-access-key in prompt"]
    assert repo.git("for-each-ref", "refs/opentraces/datasets/blocked") == ""


def test_publish_is_held_back_by_the_egress_gate_under_the_policy_in_force(repo, tmp_path):
    two_sessions(repo)
    repo.git("config", "ot.security.allow", "^AKIA")
    workflow(repo, "leaky", SECRET_WORKFLOW)
    repo.cli_json("dataset", "run", "leaky")
    assert repo.cli("dataset", "approve", "leaky", "--all").returncode == 0
    repo.git("config", "--unset-all", "ot.security.allow")
    bare = tmp_path / "hub.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    proc = repo.cli("dataset", "publish", "leaky", "--to", str(bare))
    assert proc.returncode == 1
    [row] = inbox(repo, "leaky")
    assert err(proc)[0] == (f"error: the security gate holds back row {row['id'][:12]} of dataset 'leaky': "
                            "aws-access-key in field 'prompt'; nothing was published")
    assert git(bare, "for-each-ref") == ""


@pytest.fixture(params=["parquet", "jsonl"])
def data_format(request, monkeypatch):
    """Publish as a machine with pyarrow does (Parquet), and as one without
    it (JSON Lines): pyarrow is hidden from the imports of the second."""
    if request.param == "jsonl":
        monkeypatch.setitem(sys.modules, "pyarrow", None)
        monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    return request.param


def test_review_approve_reject_and_publish_twice(repo, tmp_path, data_format):
    lands, reverted = two_sessions(repo)
    repo.cli("dataset", "new", "sessions")
    repo.cli_json("dataset", "run", "sessions")
    ids = {r["sessions"][0]: r["id"] for r in inbox(repo)}
    proc = repo.cli("dataset", "approve", "sessions", ids[lands][:6])
    assert proc.stdout.decode() == "approved 1 row\n"
    proc = repo.cli("dataset", "reject", "sessions", ids[reverted])
    assert proc.stdout.decode() == "rejected 1 row\n"
    proc = repo.cli("dataset", "review", "sessions")
    lines = proc.stdout.decode().splitlines()
    assert lines[0] == "dataset sessions: 0 in the inbox, 1 approved, 1 rejected"
    assert [r["status"] for r in repo.cli_json("dataset", "review", "sessions", "--status", "approved")["rows"]] \
        == ["approved"]
    proc = repo.cli("dataset", "approve", "sessions", "zzzz")
    assert err(proc) == ["error: dataset 'sessions' has no row 'zzzz'",
                         "hint: 'git ot dataset review sessions' lists them (at least 4 digits of an id)"]

    bare = tmp_path / "hub.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    repo.git("remote", "add", "hub", str(bare))
    first = repo.cli_json("dataset", "publish", "sessions", "--to", "hub")
    assert (first["rows"], first["file"]) == (1, published.data_file(tmp_path))
    assert first["file"] == f"data/train-00000-of-00001.{data_format}"
    again = repo.cli("dataset", "publish", "sessions", "--to", "hub")
    assert again.stdout.decode() == "hub already holds the 1 approved rows of dataset sessions; nothing to push\n"
    # A rejected row approved later goes out in a new commit on top.
    repo.cli("dataset", "approve", "sessions", ids[reverted])
    second = repo.cli_json("dataset", "publish", "sessions", "--to", "hub", "--split", "test")
    log = git(bare, "log", "--format=%H %P", "main").splitlines()
    assert [line.split()[0] for line in log] == [second["commit"], first["commit"]]
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(bare), str(clone))
    meta = yaml.safe_load((clone / "README.md").read_text().split("---\n")[1])
    assert meta["configs"] == [{"config_name": "default", "data_files": [
        {"split": "test", "path": "data/test-*"}, {"split": "train", "path": "data/train-*"}]}]
    assert sorted(r["session"] for r in published.rows(clone, "test")) == [lands, reverted]
    assert [r["session"] for r in published.rows(clone, "train")] == [lands]


def _all_objects(path) -> bytes:
    """Every object of the repository, decompressed, one after another."""
    return subprocess.run(["git", "cat-file", "--batch-all-objects", "--batch"], cwd=path,
                          capture_output=True, check=True).stdout


def test_forgetting_a_session_takes_its_rows_out_of_every_dataset_history_included(repo):
    lands, reverted = two_sessions(repo)
    repo.cli("dataset", "new", "sessions")
    repo.cli_json("dataset", "run", "sessions")
    ids = {r["sessions"][0]: r["id"] for r in inbox(repo)}
    repo.cli("dataset", "reject", "sessions", ids[reverted])  # a second commit on the chain
    assert len(entity_log(repo)) == 2
    proc = repo.cli("forget", reverted)
    assert proc.returncode == 0, proc.stderr
    assert [r["id"] for r in inbox(repo)] == [ids[lands]]
    # One commit without history, and no object of the row left anywhere.
    assert entity_log(repo) == ["forget the rows of 1 session(s)"]
    assert b"add shout" not in _all_objects(repo.path)
    assert ids[reverted].encode() not in _all_objects(repo.path)
    assert b"add a farewell" in _all_objects(repo.path)
