"""`git ot import claude-code`: sessions built from Claude Code's transcript files.

Every import goes through the same fold and seal as live capture, so every
session here is also read back straight from git objects and checked
against the format specification (tests/support/spec.py, read_session).
The imports run inside the test process (support/cli.py), but for the one
of the human output, a run of the real program.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from support.repo import FIXTURES, RECORDED, Repo, git, recorded_payloads, replay
from git_ot.capture.claude_code.transcript import SKIP_REASONS, file_edits
from git_ot.capture.edits import apply_structured_patch
from support.spec import as_stored, read_session

SCENARIOS = ["linear-edit", "bash-writes", "parallel-tools", "commit-mid-turn"]
SPOTTER = FIXTURES / "claude-code" / "spotter"
# The large session's main file, apart from spotter/ so that folder keeps
# its subagents/ folder on its own (as test_spotter_sessions imports it).
SPOTTER_LARGE = FIXTURES / "claude-code" / "spotter-large"
LARGE = "4d5611e5-241a-462a-8d15-5122611a9569"
LINEAR = "265a3953-3ae5-4217-ac1f-2e0725711a3c"
MODEL = "claude-opus-5-5"

EXPECTED_KINDS = {
    "linear-edit": ["prompt", "message", "tool", "message", "tool", "message", "tool", "message",
                    "prompt", "message", "tool", "message", "tool", "message"],
    "bash-writes": ["prompt", "message", "tool", "message", "tool", "message"],
    "parallel-tools": ["prompt", "message", "tool", "tool", "message", "tool", "message"],
    "commit-mid-turn": ["prompt", "message", "tool", "message", "tool", "message", "tool", "message"],
}


def transcript(scenario: str) -> Path:
    return RECORDED / scenario / "transcript.jsonl"


def lines_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def line_count(path: Path) -> int:
    data = path.read_bytes()
    return data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)


def do_import(repo, *args) -> dict:
    proc = repo.cli("import", "claude-code", *map(str, args), "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stderr == b""
    return json.loads(proc.stdout)


def tip_records(repo, sid: str) -> dict:
    return read_session(repo.path, sid)[-1]["records"]


def expand(repo, value):
    """A stored value with its blob references read back and "$$" keys unescaped."""
    if isinstance(value, dict):
        if "$blob" in value:
            return repo.git("cat-file", "blob", value["$blob"])
        return {(k[1:] if k.startswith("$$") else k): expand(repo, v) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(repo, v) for v in value]
    return value


def tool_uses(path: Path) -> dict[str, dict]:
    """tool_use_id -> the tool_use block, from a transcript."""
    out = {}
    for d in lines_of(path):
        if d.get("type") == "assistant":
            for b in d["message"]["content"]:
                if b.get("type") == "tool_use":
                    out[b["id"]] = b
    return out


def tool_results(path: Path) -> dict[str, object]:
    out = {}
    for d in lines_of(path):
        if d.get("type") == "user" and isinstance(d["message"]["content"], list):
            for b in d["message"]["content"]:
                if b.get("type") == "tool_result":
                    out[b["tool_use_id"]] = d["toolUseResult"]
    return out


def assistant_texts(path: Path) -> list[str]:
    return [b["text"] for d in lines_of(path) if d.get("type") == "assistant"
            for b in d["message"]["content"] if b.get("type") == "text"]


# -- the recorded scenarios --------------------------------------------------------------

@pytest.mark.parametrize("scenario", SCENARIOS)
def test_import_of_a_recorded_transcript(repo, tmp_path, scenario):
    path = transcript(scenario)
    sid = lines_of(path)[0]["sessionId"]
    out = do_import(repo, path)
    assert out["files"] == 1 and out["bytes"] == path.stat().st_size
    [s] = out["sessions"]
    assert s["session"] == sid and s["merged_into_live"] is False and s["changed"] is True
    assert s["lines"] == line_count(path)
    assert s["steps"] + s["kept_raw"] + sum(s["skipped"].values()) == s["lines"]

    tip = tip_records(repo, sid)
    trace, trail, manifest = tip["trace"], tip["trail"], tip["manifest"]
    steps = trace["steps"]
    assert [st["kind"] for st in steps] == EXPECTED_KINDS[scenario]

    # Prompts exactly as the transcript (and the hooks) have them.
    hooks = recorded_payloads(scenario)
    prompts = [p for p in hooks if p["hook_event_name"] == "UserPromptSubmit"]
    assert [(st["text"], st["prompt_id"]) for st in steps if st["kind"] == "prompt"] == \
        [(p["prompt"], p["prompt_id"]) for p in prompts]
    assert [st["text"] for st in steps if st["kind"] == "message"] == assistant_texts(path)

    # Tools: names, inputs as the transcript's tool_use blocks, outputs as the
    # structured results a PostToolUse hook reports.
    uses, results = tool_uses(path), tool_results(path)
    branches = {b["tool_use_id"]: line.get("gitBranch")
                for line in map(json.loads, Path(path).read_text().splitlines())
                for b in ((line.get("message") or {}).get("content") or [])
                if isinstance(b, dict) and b.get("type") == "tool_result"}
    tools = [st for st in steps if st["kind"] == "tool"]
    assert [st["tool_use_id"] for st in tools] == list(uses)
    assert [st["name"] for st in tools] == [u["name"] for u in uses.values()]
    # (as the security gate stores them: /home/dev/ is a user token)
    assert [st["input"] for st in tools] == [as_stored(repo, u["input"]) for u in uses.values()]
    assert [st["output"] for st in tools] == [as_stored(repo, results[t]) for t in uses]
    assert [st["output"] for st in tools] == [as_stored(repo, p["tool_response"]) for p in hooks
                                             if p["hook_event_name"] == "PostToolUse"]
    for st in tools:
        assert st["status"] == "ok" and st["model"] == MODEL and len(st["events"]) == 2
        # A Read, and a Bash command that only reads (`cat settings.py app.py`), cannot write.
        assert st["writes"] is (st["name"] != "Read" and st["input"].get("command") != "cat settings.py app.py")
        assert all(e.startswith("tr-") for e in st["events"])
        # Edit and Write have partial snapshots (their file alone), the others none.
        # They name the branch the result's line names (`gitBranch`).
        partial = st["name"] in ("Edit", "Write")
        assert ("snapshot_before" in st, "snapshot_after" in st) == (partial, partial)
        if partial:
            assert branches[st["tool_use_id"]] == "main"
            assert trail["snapshots"][st["snapshot_before"]] == {
                "tree": trail["snapshots"][st["snapshot_before"]]["tree"], "step": st["n"], "at": "before",
                "t": st["t"], "partial": True, "branch": "main"}
            assert trail["snapshots"][st["snapshot_after"]] == {
                "tree": trail["snapshots"][st["snapshot_after"]]["tree"], "step": st["n"], "at": "after",
                "t": st["t_end"], "partial": True, "branch": "main"}

    assert trace["info"]["model"] == MODEL and trace["info"]["harness_version"] == "2.1.328"
    assert trace["info"]["cwd"] == as_stored(repo, f"/home/dev/src/{scenario}")
    assert manifest["models"] == [MODEL]
    assert manifest["harness"] == {"name": "claude-code", "version": "2.1.328"}

    # Every line that made no step is kept whole, in file order.
    raw = [e for e in trace["lifecycle"] if e["kind"] == "raw"]
    assert len(raw) == s["kept_raw"]
    kept = [d for d in lines_of(path) if d["type"] not in ("user", "assistant")]
    assert [e["data"]["line"]["type"] for e in raw] == [d["type"] for d in kept]
    assert [expand(repo, e["data"]["line"]) for e in raw] == as_stored(repo, kept)

    # The patch of every Edit and Write equals what live capture computed
    # from its snapshots for the same tool call.
    live = tmp_path / "live"
    live.mkdir()
    git(live, "init", "-q")
    live_repo = Repo(live)
    live_repo.write("app.py", 'def greet(name):\n    return "hi " + name\n')
    live_repo.write("README.md", "readme\n")
    live_repo.commit("initial")
    replay(live_repo, scenario)
    live_tip = tip_records(live_repo, sid)
    live_patch = {live_tip["trace"]["steps"][p["step"] - 1]["tool_use_id"]: p["files"]
                  for p in live_tip["trail"]["patches"]}
    imported = {steps[p["step"] - 1]["tool_use_id"]: p for p in trail["patches"]}
    edits = [t for t, u in uses.items() if u["name"] in ("Edit", "Write")]
    assert sorted(imported) == sorted(edits)
    for tid, patch in imported.items():
        assert patch["source"] == "transcript" and "before" not in patch
        assert patch["files"] == live_patch[tid]
    # Each partial snapshot holds the step's file exactly as live capture's
    # whole snapshot of the same tool call does.
    live_steps = {st["tool_use_id"]: st for st in live_tip["trace"]["steps"] if st["kind"] == "tool"}
    for st in tools:
        if "snapshot_before" not in st:
            continue
        [f] = imported[st["tool_use_id"]]["files"]
        live_st = live_steps[st["tool_use_id"]]
        for at in ("before", "after"):
            mine = trail["snapshots"][st[f"snapshot_{at}"]]["tree"]
            theirs = live_tip["trail"]["snapshots"][live_st[f"snapshot_{at}"]]["tree"]
            assert repo.git("ls-tree", "-r", "--name-only", mine).split() == \
                ([] if at == "before" and f["status"] == "A" else [f["path"]])
            assert repo.git("cat-file", "-p", f"{mine}:{f['path']}", check=False) == \
                live_repo.git("cat-file", "-p", f"{theirs}:{f['path']}", check=False)
    assert manifest["files"] == sorted({f["path"] for files in live_patch.values() for f in files})
    live_repo.fsck()


def test_linear_edit_patches_exactly(repo):
    out = do_import(repo, transcript("linear-edit"))
    trail = tip_records(repo, out["sessions"][0]["session"])["trail"]
    assert trail["patches"] == [
        {"step": 3, "source": "transcript",
         "files": [{"status": "M", "path": "app.py", "hunks": [[2, 0, 3, 4]], "added": 4, "removed": 0}]},
        {"step": 5, "source": "transcript",
         "files": [{"status": "A", "path": "test_app.py", "hunks": [[0, 0, 1, 9]], "added": 9, "removed": 0}]},
        {"step": 11, "source": "transcript",
         "files": [{"status": "M", "path": "app.py", "hunks": [[2, 1, 2, 1]], "added": 1, "removed": 1}]},
        {"step": 13, "source": "transcript",
         "files": [{"status": "M", "path": "test_app.py", "hunks": [[5, 1, 5, 1]], "added": 1, "removed": 1}]},
    ]
    assert sorted(trail["snapshots"]) == sorted(f"{n}-{at}" for n in (3, 5, 11, 13) for at in ("before", "after"))
    assert all(s["partial"] is True for s in trail["snapshots"].values())
    assert repo.git("cat-file", "-p", trail["snapshots"]["11-after"]["tree"] + ":app.py") == \
        repo.git("cat-file", "-p", trail["snapshots"]["3-after"]["tree"] + ":app.py").replace('"hi "', '"hello "')


# -- every line accounted for -------------------------------------------------------------

def _all_transcripts() -> list[Path]:
    found = [transcript(s) for s in SCENARIOS]
    found += sorted(SPOTTER.rglob("*.jsonl"))
    found += sorted(SPOTTER_LARGE.glob("*.jsonl"))
    return found


@pytest.mark.parametrize("path", _all_transcripts(), ids=lambda p: p.parent.name + "/" + p.name)
def test_every_line_is_a_step_a_kept_record_or_a_documented_skip(repo, path):
    out = do_import(repo, path)
    assert sum(s["lines"] for s in out["sessions"]) == line_count(path)
    for s in out["sessions"]:
        assert s["steps"] + s["kept_raw"] + sum(s["skipped"].values()) == s["lines"]
        assert set(s["skipped"]) <= set(SKIP_REASONS)
        entries = read_session(repo.path, s["session"])
        trace = entries[-1]["records"]["trace"]
        assert len([e for e in trace["lifecycle"] if e["kind"] == "raw"]) >= s["kept_raw"]
        assert trace["steps"], "a transcript with steps makes steps"
    # Each documented skip is in the manual.
    page = (Path(__file__).resolve().parents[2] / "man" / "man1" / "git-ot-import.1").read_text()
    for reason in SKIP_REASONS:
        assert reason.replace("-", "\\-") in page


def test_spotter_sessions(repo):
    out = do_import(repo, SPOTTER)
    rows = {s["session"]: s for s in out["sessions"]}
    assert sorted(rows) == sorted([LARGE, "491e126e-1e71-469c-ade2-fcc8af567c74",
                                   "55604662-cf2a-4331-851a-ec234028f8ca",
                                   "d6e0bada-1959-4eec-a9d2-0bfade768d8f"])
    assert out["files"] == 5

    # The subagents/ folder alone: each agent is a subagent step with its steps under it.
    trace = tip_records(repo, LARGE)["trace"]
    agents = [s for s in trace["steps"] if s["kind"] == "subagent"]
    assert [a["agent_id"] for a in agents] == ["a2898e3", "acompact-e1f845"]
    under = {a["n"]: [s for s in trace["steps"] if s.get("parent") == a["n"]] for a in agents}
    assert all(under.values()) and all(s.get("parent") for s in trace["steps"] if s["kind"] != "subagent")
    assert under[agents[0]["n"]][0]["kind"] == "prompt"
    assert under[agents[0]["n"]][0]["text"].startswith("Very thorough exploration.")
    assert {s["model"] for s in under[agents[0]["n"]] if "model" in s} == {"claude-sonnet-4-5-20250929"}

    # A subagent relayed through agent_progress lines, its type from the Task call.
    sub = tip_records(repo, "491e126e-1e71-469c-ade2-fcc8af567c74")["trace"]
    [agent] = [s for s in sub["steps"] if s["kind"] == "subagent"]
    task = next(s for s in sub["steps"] if s["kind"] == "tool" and s["name"] == "Task")
    assert agent["agent_type"] == task["input"]["subagent_type"]
    assert any(s.get("parent") == agent["n"] and s["kind"] == "tool" for s in sub["steps"])
    models = tip_records(repo, "491e126e-1e71-469c-ade2-fcc8af567c74")["manifest"]["models"]
    assert models == ["claude-opus-4-6", "claude-haiku-4-5-20251001"]

    # A rejected tool call is an error step; the interruption marker is kept raw.
    short = tip_records(repo, "55604662-cf2a-4331-851a-ec234028f8ca")["trace"]
    assert [(s["name"], s["status"], s["output"]) for s in short["steps"] if s["kind"] == "tool"] == \
        [("Bash", "error", "User rejected tool use"), ("Glob", "error", "User rejected tool use")]
    raw_user = [e["data"]["line"]["message"]["content"] for e in short["lifecycle"]
                if e["kind"] == "raw" and e["event"] == "user"]
    assert raw_user == [[{"type": "text", "text": "[Request interrupted by user for tool use]"}]]
    assert [s["thinking"] for s in short["steps"] if s.get("thinking")] == [True]


def test_large_session_with_compaction_and_its_subagents(repo):
    out = do_import(repo, SPOTTER_LARGE / f"{LARGE}.jsonl", SPOTTER / LARGE)
    [s] = out["sessions"]
    # Each subagent message is both in its file and relayed in the parent's file.
    assert s["skipped"]["duplicate"] == 67
    tip = tip_records(repo, LARGE)
    steps = tip["trace"]["steps"]
    [compaction] = [st for st in steps if st["kind"] == "compaction"]
    assert (compaction["trigger"], compaction["phase"]) == ("auto", "post")
    views = [v for v in tip["ctx"]["views"] if v["step"] == compaction["n"]]
    assert views[0]["to"] == views[0]["from"] - 1, "nothing in view after the compaction"
    assert views[-1]["to"] == views[-1]["from"], "but its summary"
    # Paths of another checkout (/home/USER/projects/...) map by their tail.
    assert "lib/spotter/services/transcript_renderer.ex" in tip["manifest"]["files"]
    assert all(not f.startswith("/") for f in tip["manifest"]["files"])


# -- merging with live capture ---------------------------------------------------------------

def test_import_after_live_capture_merges_into_it(repo):
    sid = replay(repo, "linear-edit")
    before = tip_records(repo, sid)
    out = do_import(repo, transcript("linear-edit"))
    [s] = out["sessions"]
    assert s["session"] == sid and s["merged_into_live"] is True and s["changed"] is True
    assert [r.split("/")[-1] for r in repo.git("for-each-ref", "--format=%(refname)",
                                               "refs/opentraces/").split()] == [sid]
    after = tip_records(repo, sid)
    steps = after["trace"]["steps"]
    live_steps = before["trace"]["steps"]
    # The live steps are still steps 1-9, each now also holding its imported events.
    for old, new in zip(live_steps, steps):
        assert new["n"] == old["n"] and new["kind"] == old["kind"]
        assert new["events"][:len(old["events"])] == old["events"]
        assert len(new["events"]) == 2 * len(old["events"])
        assert all(e.startswith("tr-") for e in new["events"][len(old["events"]):])
    # No tool, prompt or closing message twice; the model's other words are new steps.
    assert len([st for st in steps if st["kind"] == "tool"]) == 5
    assert len({st["tool_use_id"] for st in steps if st["kind"] == "tool"}) == 5
    assert len([st for st in steps if st["kind"] == "prompt"]) == 2
    assert [st["text"] for st in steps[len(live_steps):]] == [
        "I'll add a farewell function.", "Adding a test.", "Running the tests.",
        "Making greet polite.", "Updating the test."]
    assert all(st["kind"] == "message" for st in steps[len(live_steps):])
    # The live snapshots' patches stay; the model is now known.
    assert after["trail"]["patches"] == before["trail"]["patches"]
    assert after["manifest"]["models"] == [MODEL] and before["manifest"]["models"] == []
    assert all(st["model"] == MODEL for st in steps if st["kind"] == "tool")
    assert after["manifest"]["harness"]["version"] == "2.1.328"

    # Importing again changes nothing.
    tip = repo.git("rev-parse", f"refs/opentraces/sessions/{sid}").strip()
    again = do_import(repo, transcript("linear-edit"))
    assert again["sessions"][0]["changed"] is False
    assert repo.git("rev-parse", f"refs/opentraces/sessions/{sid}").strip() == tip


def test_live_capture_after_import_merges_into_it(repo):
    out = do_import(repo, transcript("linear-edit"))
    sid = out["sessions"][0]["session"]
    imported = tip_records(repo, sid)["trace"]["steps"]
    replay(repo, "linear-edit")
    steps = tip_records(repo, sid)["trace"]["steps"]
    assert [(st["n"], st["kind"]) for st in steps] == [(st["n"], st["kind"]) for st in imported]
    assert all(len(st["events"]) == 2 * len([e for e in st["events"] if e.startswith("tr-")])
               for st in steps if st["kind"] in ("tool", "prompt") or st["text"] in
               ("Added farewell() with a test; tests pass.", "greet now says hello."))


def test_importing_twice_is_a_no_op(repo):
    path = transcript("parallel-tools")
    first = do_import(repo, path)
    sid = first["sessions"][0]["session"]
    tip = repo.git("rev-parse", f"refs/opentraces/sessions/{sid}").strip()
    second = do_import(repo, path)
    assert second["sessions"][0]["changed"] is False
    assert {k: v for k, v in second["sessions"][0].items() if k != "changed"} == \
        {k: v for k, v in first["sessions"][0].items() if k != "changed"}
    assert repo.git("rev-parse", f"refs/opentraces/sessions/{sid}").strip() == tip
    assert repo.git("rev-list", "--count", f"refs/opentraces/sessions/{sid}").strip() == "1"
    assert not [n for n in os.listdir(repo.path / ".git" / "opentraces" / "spool")
                if n.endswith((".jsonl", ".sealing", ".tmp"))]


def test_a_session_resumed_in_another_file_or_appended_is_one_session(repo, tmp_path):
    whole = transcript("linear-edit").read_bytes().splitlines(keepends=True)
    cut = next(i for i, line in enumerate(whole) if b"make greet say hello" in line)
    first, second = tmp_path / "a" / "first.jsonl", tmp_path / "b" / "second.jsonl"
    first.parent.mkdir()
    second.parent.mkdir()
    first.write_bytes(b"".join(whole[:cut]))
    second.write_bytes(b"".join(whole[cut:]))
    # Two -p invocations, two files, imported together.
    out = do_import(repo, second, first)
    [s] = out["sessions"]
    steps = tip_records(repo, LINEAR)["trace"]["steps"]
    assert [st["kind"] for st in steps] == EXPECTED_KINDS["linear-edit"]
    assert s["lines"] == len(whole)

    # The same file, imported, then appended to and imported again.
    repo.git("update-ref", "-d", f"refs/opentraces/sessions/{LINEAR}")
    grow = tmp_path / "c" / f"{LINEAR}.jsonl"
    grow.parent.mkdir()
    grow.write_bytes(b"".join(whole[:cut]))
    do_import(repo, grow)
    assert len(tip_records(repo, LINEAR)["trace"]["steps"]) == EXPECTED_KINDS["linear-edit"].index("prompt", 1)
    grow.write_bytes(b"".join(whole))
    do_import(repo, grow)
    again = tip_records(repo, LINEAR)["trace"]["steps"]
    assert [(st["kind"], st.get("text"), st.get("tool_use_id")) for st in again] == \
        [(st["kind"], st.get("text"), st.get("tool_use_id")) for st in steps]


def test_a_session_from_another_checkout_maps_onto_this_repository(repo, tmp_path):
    text = transcript("linear-edit").read_text()
    moved = tmp_path / "moved.jsonl"
    moved.write_text(text.replace("/home/dev/src/linear-edit", "/mnt/laptop/work/linear-edit"))
    out = do_import(repo, moved)
    tip = tip_records(repo, out["sessions"][0]["session"])
    assert tip["trace"]["info"]["cwd"] == "/mnt/laptop/work/linear-edit"
    assert [(p["step"], [f["path"] for f in p["files"]]) for p in tip["trail"]["patches"]] == \
        [(3, ["app.py"]), (5, ["test_app.py"]), (11, ["app.py"]), (13, ["test_app.py"])]
    assert tip["manifest"]["files"] == ["app.py", "test_app.py"]


def test_a_session_run_in_a_subfolder_of_another_checkout(repo, tmp_path):
    (repo.path / "pkg").mkdir()
    text = transcript("linear-edit").read_text()
    moved = tmp_path / "moved.jsonl"
    # The other checkout is also named "repo"; the session ran in its pkg/.
    moved.write_text(text.replace("/home/dev/src/linear-edit", "/elsewhere/repo/pkg"))
    out = do_import(repo, moved)
    tip = tip_records(repo, out["sessions"][0]["session"])
    assert tip["manifest"]["files"] == ["pkg/app.py", "pkg/test_app.py"]


def test_edits_outside_the_repository_change_nothing_in_it(repo, tmp_path):
    text = transcript("parallel-tools").read_text()
    moved = tmp_path / "moved.jsonl"
    # cwd stays the other checkout's; the Writes go to a folder outside it.
    moved.write_text(text.replace("/home/dev/src/parallel-tools/a.py", "/tmp/scratch/a.py"))
    out = do_import(repo, moved)
    patches = tip_records(repo, out["sessions"][0]["session"])["trail"]["patches"]
    assert [(p["step"], [f["path"] for f in p["files"]]) for p in patches] == [(3, []), (4, ["b.py"])]


# -- line types --------------------------------------------------------------------------------

def test_unknown_line_types_are_kept_whole(repo, tmp_path):
    path = transcript("bash-writes")
    sid = lines_of(path)[0]["sessionId"]
    future = {"type": "hologram-state", "sessionId": sid, "uuid": "0b9f3a8e-0000-4000-8000-000000000001",
              "timestamp": "2026-11-24T18:50:00.000Z", "payload": {"$ref": "x", "n": [1, 2, 3]}}
    boundary = {"type": "system", "subtype": "compact_boundary", "sessionId": sid,
                "uuid": "0b9f3a8e-0000-4000-8000-000000000002", "timestamp": "2026-11-24T18:50:01.000Z",
                "compactMetadata": {"trigger": "manual", "preTokens": 1234}, "content": "Conversation compacted"}
    summary = {"type": "user", "sessionId": sid, "uuid": "0b9f3a8e-0000-4000-8000-000000000003",
               "timestamp": "2026-11-24T18:50:02.000Z", "isCompactSummary": True,
               "message": {"role": "user", "content": "This session is being continued..."}}
    body = path.read_text() + "\n".join(json.dumps(d) for d in (future, boundary, summary)) + "\n"
    body += '{"type": "assistant", "message": {"content": [{"type": "te\n'  # cut short
    extended = tmp_path / "extended.jsonl"
    extended.write_text(body)
    out = do_import(repo, extended)
    [s] = out["sessions"]
    assert s["lines"] == line_count(path) + 4
    assert s["kept_raw"] == 28 + 3 and s["steps"] == 8 + 1
    tip = tip_records(repo, sid)
    life = {e["event"]: e for e in tip["trace"]["lifecycle"] if e["kind"] == "raw"}
    assert life["hologram-state"]["data"]["line"] == {**future, "payload": {"$$ref": "x", "n": [1, 2, 3]}}
    assert life["user"]["data"]["line"] == summary
    assert life["unparsed"]["data"]["text"] == '{"type": "assistant", "message": {"content": [{"type": "te'
    steps = tip["trace"]["steps"]
    assert (steps[-1]["kind"], steps[-1]["trigger"], steps[-1]["phase"]) == ("compaction", "manual", "post")
    # After the compaction the model sees its summary alone.
    views = tip["ctx"]["views"]
    assert views[-2]["step"] == steps[-1]["n"] and views[-2]["to"] == views[-2]["from"] - 1
    assert views[-1]["step"] == steps[-1]["n"] and views[-1]["to"] == views[-1]["from"]
    message = tip["ctx"]["messages"][views[-1]["from"] - 1]
    assert (message["role"], message["source"]) == ("user", "transcript")
    assert message["summary"] == life["user"]["id"]


def test_structured_results_without_the_files_contents():
    """Older transcripts: the hunks come from structuredPatch alone."""
    result = {"filePath": "/r/app.py", "oldString": "b", "newString": "B\nC",
              "structuredPatch": [{"oldStart": 1, "oldLines": 3, "newStart": 1, "newLines": 4,
                                   "lines": [" a", "-b", "+B", "+C", " c"]}]}
    assert file_edits("Edit", {}, result) == [
        {"file": "/r/app.py", "status": "M", "hunks": [[2, 1, 2, 2]], "added": 2, "removed": 1}]
    # With the contents, a patch Claude Code applied with normalised quotes
    # still gives the file after.
    before = "a\nsay(\u201chi\u201d)\nc"
    hunks = [{"oldStart": 1, "oldLines": 3, "newStart": 1, "newLines": 3,
              "lines": [" a", "-say(\u201chi\u201d)", "+say(\u201cho\u201d)", " c", "\\ No newline at end of file"]}]
    assert apply_structured_patch(before, hunks) == "a\nsay(\u201cho\u201d)\nc"
    edits = file_edits("Edit", {}, {"filePath": "/r/x", "oldString": 'say("hi")', "newString": 'say("ho")',
                                    "originalFile": before, "structuredPatch": hunks})
    assert edits == [{"file": "/r/x", "before": before, "after": "a\nsay(\u201cho\u201d)\nc"}]


# -- the default folder and errors -----------------------------------------------------------------

def test_default_folder_honours_claude_config_dir(repo, tmp_path, monkeypatch, hermetic):
    slug = re.sub(r"[^A-Za-z0-9]", "-", str(repo.path))
    for base, env in ((hermetic / ".claude", {}), (tmp_path / "cfg", {"CLAUDE_CONFIG_DIR": str(tmp_path / "cfg")})):
        folder = base / "projects" / slug
        folder.mkdir(parents=True)
        shutil.copy(transcript("bash-writes"), folder / "ccb0e11c-0fc0-4092-9003-508fc775c0f5.jsonl")
        proc = repo.cli("import", "claude-code", "--json", env={**os.environ, **env})
        assert proc.returncode == 0, proc.stderr.decode()
        assert json.loads(proc.stdout)["files"] == 1
        repo.git("update-ref", "-d", "refs/opentraces/sessions/ccb0e11c-0fc0-4092-9003-508fc775c0f5")
        shutil.rmtree(folder)


def test_human_output(repo):
    proc = repo.ot("import", "claude-code", str(transcript("linear-edit")))
    assert proc.returncode == 0
    assert proc.stdout.decode() == (
        f"{LINEAR}: 59 lines: 19 as steps, 40 kept raw, 0 skipped\n"
        "1 file, 176076 bytes, 1 session\n")
    again = repo.ot("import", "claude-code", str(transcript("linear-edit")))
    assert again.stdout.decode().splitlines()[0].endswith("; nothing new")


@pytest.mark.parametrize("args,message,hint", [
    (["cursor"], "error: cannot import transcripts of 'cursor'",
     "hint: 'git ot import' supports: claude-code, codex, pi"),
    (["claude-code", "nope.jsonl"], "error: cannot read '{repo}/nope.jsonl': No such file or directory",
     "hint: check the path and its permissions"),
    (["claude-code", "notes.jsonl"], "error: '{repo}/notes.jsonl' is not a Claude Code transcript", "hint: "),
    (["claude-code", "empty"], "error: no transcript (*.jsonl) files in 'empty'", "hint: "),
    (["claude-code"], "error: no Claude Code transcripts for this repository in "
                      "'{home}/.claude/projects/{slug}'", "hint: name the transcript files"),
])
def test_errors(repo, hermetic, args, message, hint):
    (repo.path / "notes.jsonl").write_text('{"note": 1}\nplain text\n')
    (repo.path / "empty").mkdir()
    proc = repo.cli("import", *args)
    assert proc.returncode == 1 and proc.stdout == b""
    err = proc.stderr.decode().splitlines()
    slug = re.sub(r"[^A-Za-z0-9]", "-", str(repo.path))
    assert err[0] == message.format(repo=repo.path, home=hermetic, slug=slug)
    assert err[1].startswith(hint) and len(err) == 2
    assert not repo.git("for-each-ref", "refs/opentraces/")


def test_a_prompt_without_a_prompt_id_merges_by_text_and_time(repo, tmp_path):
    """Older Claude Code sends no prompt id: the same text within a minute is the same prompt,
    compared as the security gate stores it (the home path below becomes a token)."""
    import datetime

    sid = "5e55c0de-0000-4000-8000-000000000001"
    prompt, answer = "fix the bug in /home/dev/src/app/app.py", "Fixed /home/dev/src/app/app.py."
    repo.hook("UserPromptSubmit", {"session_id": sid, "prompt": prompt})
    repo.hook("Stop", {"session_id": sid, "last_assistant_message": answer})
    now = datetime.datetime.now(datetime.timezone.utc)

    def at(seconds):
        return (now + datetime.timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")

    common = {"sessionId": sid, "cwd": str(repo.path), "version": "2.1.38", "isSidechain": False}
    lines = [
        {**common, "type": "user", "uuid": "u-1", "timestamp": at(0),
         "message": {"role": "user", "content": prompt}},
        {**common, "type": "assistant", "uuid": "a-1", "timestamp": at(1),
         "message": {"id": "msg_1", "model": "claude-opus-4-6", "role": "assistant",
                     "content": [{"type": "text", "text": answer}]}},
        # The same words ten minutes later are another prompt.
        {**common, "type": "user", "uuid": "u-2", "timestamp": at(600),
         "message": {"role": "user", "content": prompt}},
    ]
    path = tmp_path / f"{sid}.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in lines))
    [s] = do_import(repo, path)["sessions"]
    assert s["merged_into_live"] is True
    steps = tip_records(repo, sid)["trace"]["steps"]
    assert [(st["kind"], len(st["events"])) for st in steps] == [("prompt", 2), ("message", 2), ("prompt", 1)]
    assert steps[0]["text"] == steps[2]["text"] == as_stored(repo, prompt) != prompt
    assert steps[1]["model"] == "claude-opus-4-6"


def test_an_import_batch_is_valid_spool_lines_and_survives_a_crash(repo):
    """The import enters its events as one spool batch; one left by a crash is sealed later."""
    from git_ot.capture.claude_code import transcript as claude_transcript
    from git_ot.store.spool import Spool
    from support.spec import validate

    path = transcript("linear-edit")
    lines = claude_transcript.read_transcript(str(path), path.read_bytes())
    [(sid, ordered)] = claude_transcript.by_session([lines]).items()
    events, acct = claude_transcript.convert(sid, ordered)
    spool_dir = repo.path / ".git" / "opentraces" / "spool"
    Spool(str(spool_dir.parent)).add_batch(sid, events)
    assert sorted(os.listdir(spool_dir)) == [f"{sid}.1.sealing", f"{sid}.seal.lock"]
    batch = (spool_dir / f"{sid}.1.sealing").read_text().splitlines()
    assert len(batch) == len(events)
    for line in batch:
        event = json.loads(line)
        if "edits" in event["data"]:  # the import turns these into a patch before spooling
            event["data"]["patch"] = []
            del event["data"]["edits"]
        validate("spool-event", event)
    assert acct.lines == line_count(path)
    [row] = repo.cli_json("trace", "list")["sessions"]  # seals what waits in the spool
    assert row["session"] == sid and row["steps"] == len(EXPECTED_KINDS["linear-edit"])
    assert not [n for n in os.listdir(spool_dir) if n.endswith((".jsonl", ".sealing"))]


def test_sessions_sealed_in_batches_are_those_sealed_together(repo, tmp_path, monkeypatch):
    """Partial snapshots go into one pack per batch of sessions (domain/importing.py);
    a batch per session gives the same sessions as one batch for all."""
    from git_ot.domain import importing

    together = do_import(repo, SPOTTER)
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(repo.path), str(other))
    other_repo = Repo(other)
    for ref in other_repo.git("for-each-ref", "--format=%(refname)", "refs/opentraces/").split():
        other_repo.git("update-ref", "-d", ref)  # the clone brings none, but be sure
    # The same salt, so the same tokens (gate/transform.py).
    (other / ".git" / "opentraces").mkdir(exist_ok=True)
    shutil.copy(repo.path / ".git" / "opentraces" / "salt", other / ".git" / "opentraces" / "salt")
    monkeypatch.setattr(importing, "PACK_BATCH", 1)
    apart = do_import(other_repo, SPOTTER)
    assert apart == together
    assert len(together["sessions"]) == 4
    for s in together["sessions"]:
        assert tip_records(other_repo, s["session"]) == tip_records(repo, s["session"])
    packs = sorted(p.name for p in (other / ".git" / "objects" / "pack").glob("pack-*.idx"))
    assert len(packs) >= 2  # one per session that had partial snapshots, beside the clone's own
    other_repo.fsck()


def _clone_with_salt(repo, tmp_path, name: str) -> Repo:
    """A clone of `repo` with no session and the same salt (the same tokens, gate/transform.py)."""
    other = tmp_path / name
    git(tmp_path, "clone", "-q", str(repo.path), str(other))
    (other / ".git" / "opentraces").mkdir(exist_ok=True)
    shutil.copy(repo.path / ".git" / "opentraces" / "salt", other / ".git" / "opentraces" / "salt")
    return Repo(other)


def test_sessions_sealed_by_two_processes_are_those_sealed_by_one(repo, tmp_path, monkeypatch):
    """`--jobs 2` seals the sessions in two processes: the same sessions, step
    for step, as one process, and the same answer, in the same order."""
    from git_ot.domain import importing, parallel

    alone = do_import(repo, SPOTTER, transcript("linear-edit"), "--jobs", "1")
    assert len(alone["sessions"]) == 5
    monkeypatch.setattr(importing, "PARALLEL_MIN", 0)  # the fixtures are small
    forked = []
    real_run = parallel.run
    monkeypatch.setattr(parallel, "run", lambda work, count, jobs: forked.append(jobs) or real_run(work, count, jobs))
    other = _clone_with_salt(repo, tmp_path, "other")
    together = do_import(other, SPOTTER, transcript("linear-edit"), "--jobs", "2")
    assert forked == [2]
    assert together == alone
    for s in alone["sessions"]:
        assert tip_records(other, s["session"]) == tip_records(repo, s["session"])
    other.fsck()


def test_a_session_a_process_cannot_seal_stops_the_import_as_alone(repo, tmp_path, monkeypatch):
    """A session the gate holds back in one of the processes: the same one
    line and hint as when one process seals every session."""
    from gate.test_gate import Fakes
    from git_ot.domain import importing

    sid = "5e55c0de-0000-4000-8000-00000000b10c"
    secret = Fakes(1).all()["github-token"]
    line = {"sessionId": sid, "cwd": str(repo.path), "version": "2.1.38", "isSidechain": False,
            "type": "user", "uuid": "u-1", "timestamp": "2026-02-06T09:24:31.091Z",
            "message": {"role": "user", "content": f"log in with {secret}"}}
    leak = tmp_path / "leak"
    leak.mkdir()
    (leak / f"{sid}.jsonl").write_text(json.dumps(line) + "\n")
    shutil.copytree(SPOTTER, leak / "spotter")
    monkeypatch.setattr(importing, "PARALLEL_MIN", 0)
    outcomes = []
    for jobs in ("1", "2"):
        other = _clone_with_salt(repo, tmp_path, f"j{jobs}") if jobs != "1" else repo
        other.git("config", "ot.security.action", "block")
        proc = other.cli("import", "claude-code", str(leak), "--jobs", jobs)
        outcomes.append((proc.returncode, proc.stdout, proc.stderr.decode().replace(str(other.path), "REPO")))
    assert outcomes[0] == outcomes[1]
    code, out, err = outcomes[0]
    assert code == 1 and out == b""
    assert err.splitlines()[0] == (f"error: the security gate holds back session '{sid}': "
                                   "github-token in the session's records")


@pytest.mark.parametrize("jobs", ["0", "-1"])
def test_a_bad_number_of_jobs(repo, jobs):
    proc = repo.cli("import", "claude-code", str(transcript("linear-edit")), "--jobs", jobs)
    assert proc.returncode == 1 and proc.stdout == b""
    assert proc.stderr.decode().splitlines() == [f"error: bad number of jobs '{jobs}'",
                                                 "hint: give --jobs a number of at least 1"]
    assert not repo.git("for-each-ref", "refs/opentraces/")


def test_a_process_that_dies_stops_the_run_with_one_line():
    """A process of the pool killed (out of memory, say): the run stops with
    a message, instead of waiting for a result that will not come."""
    import signal

    from git_ot.domain import parallel
    from git_ot.errors import ProcessDied

    def work(k):
        if k == 2:
            os.kill(os.getpid(), signal.SIGKILL)
        return k * 10

    with pytest.raises(ProcessDied) as died:
        list(parallel.run(work, 6, 2))
    assert (died.value.message, died.value.hint) == (
        "a process of this command died before it finished its work",
        "run it again (with --jobs 1 to use one process)")
    assert sorted(parallel.run(lambda k: k * 10, 4, 2)) == [(0, 0), (1, 10), (2, 20), (3, 30)]
