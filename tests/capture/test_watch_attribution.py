"""Which telemetry the watcher vouches for, and the write windows of a
session no hook captured: from the real telemetry Claude Code 2.1.328
exported (tests/fixtures/claude-code/recorded-2.1.328/bash-writes) and a
watch journal written as the watcher writes it.

In that session one Bash call (toolu_9e10...) ran for 87 ms and ended at
1795545644.567 (its `claude_code.tool_result` record); a second one
(`cat`, toolu_de6a...) ran for 8 ms and ended at 1795545644.902.
"""

from __future__ import annotations

import glob
import json
from pathlib import Path

import pytest

from git_ot.capture.otel import receiver
from git_ot.capture.otel.decode import decode
from git_ot.domain.fold import Folder, Payloads, new_records
from git_ot.store import watchlog
from git_ot.store.gitdir import locate
from git_ot.store.spool import Spool

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "claude-code" / "recorded-2.1.328"
SID = "ccb0e11c-0fc0-4092-9003-508fc775c0f5"
BASH_END = 1795545644.567  # the first Bash call ran from BASH_END - 0.087
CAT_END = 1795545644.902  # the second from CAT_END - 0.008
TREES = {name: name[0] * 40 for name in ("a-start", "b-settings", "c-person", "d-later")}


def telemetry() -> list[dict]:
    out = []
    for path in sorted(glob.glob(str(RECORDED / "bash-writes" / "otlp-*.json"))):
        signal = path.rsplit("-", 1)[1][: -len(".json")]
        out += decode(signal, Path(path).read_bytes(), "application/json", 0.0).events
    return out


def journal(*changes) -> list[dict]:
    """Watch journal lines: the first snapshot, then one per (tree, lo, hi)."""
    lines = [{"v": 1, "t": 1795545600.0, "first": 1795545600.0, "tree": TREES["a-start"], "previous": None,
              "paths": []}]
    for tree, lo, hi in changes:
        lines.append({"v": 1, "t": hi + 0.2, "first": hi + 0.2, "tree": TREES[tree],
                      "previous": lines[-1]["tree"], "changed": [lo, hi], "paths": ["x"]})
    return lines


def fold_hookless(lines: list[dict]) -> dict:
    recs = new_records(SID)
    folder = Folder(recs, Payloads(lambda data: "0" * 40), watched=lambda: lines)
    for event in telemetry():
        folder.apply({**event, "capture": "telemetry"})
    folder.settle()
    return recs


def windows(recs) -> list[tuple]:
    return [(s["n"], s["kind"], s.get("name"), s.get("snapshot_before"), s.get("snapshot_after"))
            for s in recs["trace"]["steps"]]


def test_a_change_inside_one_tool_run_gives_that_tool_its_window():
    # settings.py written 30 ms into the first Bash call; the person's edit
    # comes after both calls.
    recs = fold_hookless(journal(("b-settings", BASH_END - 0.05, BASH_END - 0.05),
                                 ("c-person", CAT_END + 1, CAT_END + 1)))
    assert recs["trace"]["info"]["capture"] == "telemetry"
    assert windows(recs) == [
        (1, "prompt", None, None, None),
        (2, "tool", "Bash", "2-before", "2-after"),
        (3, "tool", "Bash", "3-before", "3-after"),
    ]
    snaps = {k: v["tree"] for k, v in recs["trail"]["snapshots"].items()}
    # The first call's window holds the change; the second's holds none;
    # the person's change lies outside both.
    assert snaps == {"2-before": TREES["a-start"], "2-after": TREES["b-settings"],
                     "3-before": TREES["b-settings"], "3-after": TREES["b-settings"]}
    prompt, first = recs["trace"]["steps"][0], recs["trace"]["steps"][1]
    assert prompt["text"] == "create a settings module and a pkg package using the shell"
    assert (first["t"], first["t_end"]) == (pytest.approx(BASH_END - 0.087), pytest.approx(BASH_END))
    assert (first["status"], first["duration_ms"]) == ("ok", 87)
    assert first["input"]["command"].startswith("printf 'PORT = 8080")


def test_a_burst_that_spans_a_tool_start_leaves_the_tool_without_a_window():
    # One burst of changes made from before the first call began until
    # inside it: who made what cannot be told apart.
    recs = fold_hookless(journal(("b-settings", BASH_END - 0.5, BASH_END - 0.05)))
    assert windows(recs)[1] == (2, "tool", "Bash", None, None)
    assert windows(recs)[2] == (3, "tool", "Bash", "3-before", "3-after")


def test_without_the_capture_mark_telemetry_makes_no_step():
    recs = new_records(SID)
    folder = Folder(recs, Payloads(lambda data: "0" * 40), watched=lambda: journal())
    for event in telemetry():
        folder.apply(event)
    folder.settle()
    assert recs["trace"]["steps"] == [] and "capture" not in recs["trace"]["info"]


def test_the_watcher_vouches_only_for_a_session_whose_tool_ran_as_this_tree_changed(repo):
    location = locate(str(repo.path))
    sink = receiver.Sink(location)
    events = telemetry()
    # Held: the repository knows no such session, and no watcher ran.
    lines = [(json.dumps(e, separators=(",", ":")) + "\n").encode() for e in events]
    sink.accept(type("D", (), {"events": events, "lines": lines, "unowned": 0, "items": len(events)})())
    assert sink.held_sessions() == [SID]
    state = location.worktree_state_dir
    (repo.path / ".git" / "opentraces").mkdir(exist_ok=True)
    # A change outside every tool call's run vouches for nothing.
    for line in journal(("c-person", BASH_END + 5, BASH_END + 5)):
        watchlog.append(state, line)
    sink.claim_all()
    assert sink.held_sessions() == [SID]
    # A change made while the first Bash call ran does: the session's
    # records move to the spool, marked.
    watchlog.append(state, {"v": 1, "t": BASH_END + 6, "first": BASH_END + 6, "tree": TREES["b-settings"],
                            "previous": TREES["c-person"], "changed": [BASH_END - 0.05, BASH_END - 0.05]})
    sink.claim_all()
    assert sink.held_sessions() == []
    spooled = Spool(location.state_dir).peek(SID)
    assert len(spooled) == len(events)
    assert {e.get("capture") for e in spooled} == {"telemetry"}
