"""`git ot skill`: its rules as tables, and its runs, labels and statuses on
sessions recorded through the real hook processes (support/trail.py) with
real git; the Claude Code CLI itself is driven in tests/e2e/test_skills.py.
"""

from __future__ import annotations

import re

import pytest

from git_ot.domain import skills
from git_ot.domain.skills import score as rules
from git_ot.store.repository import Store
from support.spec import validate
from support.trail import Agent, set_up

SKILL = "---\nname: tidy\ndescription: Tidy a file.\n---\nTidy it.\n"


# -- the rules ---------------------------------------------------------------------------

@pytest.mark.parametrize("state, landed, alive, value", [
    ("alive_on_path", 4, 4, 1.0), ("moved", 4, 3, 1.0), ("repaired", 2, 2, 1.0),
    ("alive_transformed", 4, 4, 0.5), ("partially_preserved", 4, 1, 0.25),
    ("reverted", 4, 0, 0.0), ("lost", 4, 0, 0.0), ("unlanded", 0, 0, 0.0),
    ("pending", 0, 0, None), ("unknown", 0, 0, None),
])
def test_hunk_values(state, landed, alive, value):
    assert rules.hunk_value(state, landed, alive) == value


def test_a_run_label_weighs_its_hunks_by_the_lines_they_wrote():
    assert rules.run_label([{"state": "alive_on_path", "written": 3},
                            {"state": "reverted", "written": 1}]) == 0.75
    assert rules.run_label([{"state": "alive_on_path", "written": 3},
                            {"state": "pending", "written": 1}]) is None
    assert rules.run_label([]) is None


@pytest.mark.parametrize("versions, min_runs, status", [
    ([[], []], 3, "blocked_unlabelled"),
    ([[1.0, 0.0], [1.0]], 3, "blocked_insufficient_labels"),
    ([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]], 3, "blocked_no_variation"),
    ([[0.0, 0.0, 0.0], [1.0, 1.0]], 3, "ok"),  # the second version gets no mean
    ([[0.0, 1.0, 1.0], [1.0, 1.0, 1.0]], 3, "ok"),
])
def test_statuses(versions, min_runs, status):
    assert rules.status(versions, min_runs) == status


@pytest.mark.parametrize("old, new, expected", [
    ([0.0, 0.0, 1.0], [1.0, 1.0, 1.0], (0.6667, 0.3333, "keep", None)),
    ([1.0, 1.0, 1.0], [0.0, 0.0, 1.0], (-0.6667, 0.3333, "revert", None)),
    ([0.0, 1.0, 1.0], [1.0, 0.0, 1.0], (0.0, 0.4714, "inconclusive", "within_noise")),
    ([0.0, 0.5, 1.0], [0.5, 0.5, 1.0], (0.1667, 0.3333, "inconclusive", "within_noise")),
    # Equal to the noise (0.8333 - 0.5 against sqrt(0.25/3 + 0.0833/3)): within it.
    ([0.0, 0.5, 1.0], [0.5, 1.0, 1.0], (0.3333, 0.3333, "inconclusive", "within_noise")),
    ([0.0, 1.0], [1.0, 1.0, 1.0], (None, None, "inconclusive", "too_few_labels")),
])
def test_verdicts(old, new, expected):
    got = rules.compare(old, new, 3)
    assert (got["delta"], got["noise"], got["verdict"], got["reason"]) == expected


# -- runs and labels on recorded sessions ------------------------------------------------

def skill_run(repo, sid: str, path: str, text: str, how: str = "tool", skill: str = "tidy") -> Agent:
    """A turn that invokes `skill` (its Skill tool, or as a slash command) and
    then writes `path`."""
    a = Agent(repo, sid)
    if how == "tool":
        a.prompt("tidy it")
        payload = {"session_id": sid, "tool_name": "Skill", "tool_use_id": f"{sid}-skill",
                   "tool_input": {"skill": skill}}
        a.start(payload)
        a.end(payload)
    else:
        a.prompt(f"/{skill} now")
    a.write(path, text)
    return a


@pytest.fixture
def skilled(repo):
    set_up(repo, hooks=True)
    repo.write(".claude/skills/tidy/SKILL.md", SKILL)
    repo.commit("the tidy skill")
    return repo


def test_no_score_until_enough_runs_are_labelled_and_their_labels_vary(skilled):
    repo = skilled
    for i in (1, 2):
        skill_run(repo, f"s{i}", f"t{i}.txt", "one\ntwo\n").stop()
        repo.commit(f"tidy {i}")
    got = repo.cli_json("skill", "score", "tidy")
    assert got["status"] == "blocked_insufficient_labels"
    assert [(v["runs"], v["labelled"], v["mean"], v["at_or_over_threshold"]) for v in got["versions"]] \
        == [(2, 2, None, None)]
    assert [r["label"] for r in got["runs"]] == [None, None]
    assert repo.cli("skill", "score", "tidy").stdout.decode().splitlines()[-1] == \
        "no score: no version has 3 labelled runs (2 labelled in all)"

    skill_run(repo, "s3", "t3.txt", "three\n", how="command").stop()
    repo.commit("tidy 3")
    got = repo.cli_json("skill", "score", "tidy")
    assert (got["status"], got["comparison"], [r["how"] for r in got["runs"]]) == (
        "blocked_no_variation", None, ["tool", "tool", "command"])
    assert repo.cli("skill", "score", "tidy").stdout.decode().splitlines()[-1] == \
        "no score: all 3 labels are the same: they tell the versions nothing apart"

    version = repo.git("rev-parse", "HEAD:.claude/skills/tidy").strip()
    head, row = repo.cli("skill", "list").stdout.decode().splitlines()
    assert head == "SKILL  RUNS  SESSIONS  VERSIONS  LATEST        LAST RUN"
    assert re.fullmatch(rf"tidy      3         3         1  {version[:12]}  2\d{{3}}-[-0-9T:.]+Z", row), row
    assert repo.cli("skill", "rate", "s3", "0.2", "--note", "slow").stdout.decode() == "rated session s3: 0.2\n"
    # A rating gives the labels their variation: one version, a score, nothing to compare.
    got = repo.cli_json("skill", "score", "tidy")
    validate("skill-score", got)
    assert (got["status"], got["versions"][0]["mean"], got["versions"][0]["at_or_over_threshold"],
            got["comparison"]) == ("ok", 0.7333, 2, None)
    assert repo.cli_json("skill", "score", "tidy", "--threshold", "0.1")["versions"][0]["at_or_over_threshold"] == 3
    assert repo.cli("skill", "score", "tidy").stdout.decode().splitlines()[-1] == \
        "one version: nothing to compare"


def test_a_runs_work_ends_with_its_turn(skilled):
    """The turn after the skill's, in the same session, is not the skill's work."""
    repo = skilled
    a = skill_run(repo, "s1", "kept.txt", "kept\n")
    a.stop()
    a.prompt("now something else")
    a.write("other.txt", "other\n")
    a.stop()
    repo.commit("both")
    store = Store.open(str(repo.path))
    [run] = skills.all_runs(store)
    assert (run.session, run.step, run.skill, run.how, run.steps) == ("s1", 2, "tidy", "tool", [3])
    assert run.version == repo.git("rev-parse", "HEAD:.claude/skills/tidy").strip()
    assert run.blob == repo.git("rev-parse", "HEAD:.claude/skills/tidy/SKILL.md").strip()
    repo.git("rm", "-q", "other.txt")
    repo.git("commit", "-q", "-m", "drop the other work")
    assert skills.labels(store, [run]) == {("s1", 2): (1.0, "trail")}
    repo.git("rm", "-q", "kept.txt")
    repo.git("commit", "-q", "-m", "drop the skill's work too")
    assert skills.labels(store, [run]) == {("s1", 2): (0.0, "trail")}


def test_built_in_commands_and_skills_elsewhere_are_not_runs(skilled):
    repo = skilled
    a = Agent(repo, "s1")
    a.prompt("/clear")
    a.write("x.txt", "x\n")
    a.stop()
    assert repo.cli_json("skill", "list") == {"skills": []}
    assert repo.cli("skill", "list").stdout.decode() == "no skill runs\n"
    # The Skill tool with a skill this repository does not hold: a run with no version.
    skill_run(repo, "s2", "y.txt", "y\n", skill="global-one").stop()
    listed = repo.cli_json("skill", "list")["skills"]
    assert [(s["skill"], s["runs"], s["versions"], s["latest_version"]) for s in listed] == [
        ("global-one", 1, 0, None)]
    got = repo.cli_json("skill", "score", "global-one")
    assert (got["status"], got["versions"], got["unversioned"]) == ("blocked_unlabelled", [], 1)


# -- bad input ----------------------------------------------------------------------------

def _error(proc, *lines):
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == b""
    assert proc.stderr.decode().splitlines() == list(lines)


def test_bad_input_is_one_clear_line(skilled):
    repo = skilled
    skill_run(repo, "s1", "t.txt", "t\n").stop()
    _error(repo.cli("skill", "score", "nosuch"),
           "error: no session ran skill 'nosuch'",
           "hint: 'git ot skill list' lists the skills the sessions ran")
    for value in ("1.5", "2", "nan"):
        _error(repo.cli("skill", "rate", "s1", value),
               f"error: score '{float(value)}' is not between 0 and 1",
               "hint: a score is a number from 0 (useless) to 1 (kept as it was)")
    _error(repo.cli("skill", "rate", "--", "s1", "-0.1"),  # a negative number after '--', as for git
           "error: score '-0.1' is not between 0 and 1",
               "hint: a score is a number from 0 (useless) to 1 (kept as it was)")
    _error(repo.cli("skill", "rate", "s1", "good"),
           "error: score 'good' is not a number",
           "hint: a score is a number from 0 (useless) to 1 (kept as it was)")
    _error(repo.cli("skill", "rate", "nosuch", "0.5"),
           "error: no session matches 'nosuch'",
           "hint: 'git ot trace list' shows the sessions of this repository")
    assert repo.git("for-each-ref", "refs/opentraces/ratings/") == ""
