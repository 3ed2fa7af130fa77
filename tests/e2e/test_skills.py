"""The skill verifier against the real Claude Code CLI.

Claude Code invokes a project skill through its Skill tool (the scripted
model asks for it; Claude Code loads .claude/skills/NAME/SKILL.md), or the
user through a slash command; the runs' work is committed, reverted or left
pending with real git, and `git ot skill` scores the versions.
"""

from __future__ import annotations

import json

import pytest

from e2e.test_claude_code import agent, claude_bin  # noqa: F401  (the fixtures that drive Claude Code)
from e2e.test_pi import Pi, pi_bin  # noqa: F401  (and Pi)
from support.repo import git
from support.spec import validate

pytestmark = pytest.mark.e2e

SKILL_V1 = "---\nname: notes\ndescription: Write a short note file.\n---\nWrite notes/N.txt with two lines.\n"
SKILL_V2 = SKILL_V1 + "Keep every line under 20 characters.\n"
DRAFT = "---\nname: draft\ndescription: Draft a file.\n---\nWrite drafts/N.txt.\n"


def _run_skill(claude, repo, skill: str, path: str, prompt: str, with_tool: bool = True) -> str:
    """One session: the skill is invoked, then a file written; its session id."""
    script = [{"say": "Writing.", "tool": "Write", "input": {
        "file_path": str(repo.path / path), "content": f"first line of {path}\nsecond line\n"}},
        {"text": "done"}]
    if with_tool:
        script.insert(0, {"say": f"Using {skill}.", "tool": "Skill", "input": {"skill": skill}})
    return claude.run(prompt, script)["session_id"]


def _commit(repo, path: str, message: str) -> str:
    repo.git("add", path)
    repo.git("commit", "-q", "-m", message)
    return repo.git("rev-parse", "HEAD").strip()


def _version(repo, skill: str) -> str:
    return repo.git("rev-parse", f"HEAD:.claude/skills/{skill}").strip()


def _blob(repo, skill: str) -> str:
    return repo.git("rev-parse", f"HEAD:.claude/skills/{skill}/SKILL.md").strip()


def test_a_changed_skill_scores_better_when_its_work_lands(agent, repo):  # noqa: F811
    repo.write(".claude/skills/notes/SKILL.md", SKILL_V1)
    repo.write(".claude/skills/draft/SKILL.md", DRAFT)
    _commit(repo, ".claude/skills", "skills")
    v1, v1_blob = _version(repo, "notes"), _blob(repo, "notes")

    # Version 1: three runs, each committed; two of them reverted.
    old = []
    for i in (1, 2, 3):
        sid = _run_skill(agent, repo, "notes", f"notes/{i}.txt", f"write note {i}")
        old.append((sid, _commit(repo, f"notes/{i}.txt", f"note {i}")))
    repo.git("revert", "--no-edit", old[0][1])
    repo.git("revert", "--no-edit", old[1][1])

    repo.write(".claude/skills/notes/SKILL.md", SKILL_V2)
    _commit(repo, ".claude/skills/notes/SKILL.md", "notes: shorter lines")
    v2, v2_blob = _version(repo, "notes"), _blob(repo, "notes")
    assert v2 != v1

    # Version 2: three runs that land and stay.
    new = []
    for i in (4, 5, 6):
        sid = _run_skill(agent, repo, "notes", f"notes/{i}.txt", f"write note {i}")
        _commit(repo, f"notes/{i}.txt", f"note {i}")
        new.append(sid)

    # Another skill, twice (once as a slash command): work never committed.
    drafts = [_run_skill(agent, repo, "draft", "drafts/1.txt", "draft one"),
              _run_skill(agent, repo, "draft", "drafts/2.txt", "/draft two", with_tool=False)]

    listed = repo.ot_json("skill", "list")["skills"]
    assert [(s["skill"], s["runs"], s["sessions"], s["versions"], s["latest_version"])
            for s in listed] == [("draft", 2, 2, 1, _version(repo, "draft")), ("notes", 6, 6, 2, v2)]

    score = repo.ot_json("skill", "score", "notes")
    validate("skill-score", score)
    assert score["status"] == "ok"
    assert [(v["version"], v["skill_md"], v["runs"], v["labelled"], v["mean"], v["at_or_over_threshold"],
             v["from_trail"], v["from_ratings"]) for v in score["versions"]] == [
        (v1, v1_blob, 3, 3, 0.3333, 1, 3, 0),
        (v2, v2_blob, 3, 3, 1.0, 3, 3, 0),
    ]
    assert score["comparison"] == {"from": v1, "to": v2, "delta": 0.6667, "noise": 0.3333,
                                   "verdict": "keep", "reason": None}
    assert [(r["session"], r["how"], r["version"], r["label"], r["source"]) for r in score["runs"]] == [
        (old[0][0], "tool", v1, 0.0, "trail"), (old[1][0], "tool", v1, 0.0, "trail"),
        (old[2][0], "tool", v1, 1.0, "trail"),
        *[(sid, "tool", v2, 1.0, "trail") for sid in new]]
    human = repo.ot("skill", "score", "notes").stdout.decode()
    assert human.splitlines()[-1] == (f"verdict: keep: delta +0.67 from {v1[:12]} to {v2[:12]}, "
                                      "noise 0.33")

    # The other skill's work is pending: no label, so no score at all.
    draft = repo.ot_json("skill", "score", "draft")
    validate("skill-score", draft)
    assert draft["status"] == "blocked_unlabelled"
    assert [(v["runs"], v["labelled"], v["mean"], v["at_or_over_threshold"]) for v in draft["versions"]] \
        == [(2, 0, None, None)]
    assert draft["comparison"] is None
    assert [(r["session"], r["how"], r["label"], r["labelled"]) for r in draft["runs"]] == [
        (drafts[0], "tool", None, False), (drafts[1], "command", None, False)]
    assert repo.ot("skill", "score", "draft").stdout.decode().splitlines()[-1] == (
        "no score: no run has a label yet (work pending, or no patch); "
        "rate runs with 'git ot skill rate'")

    # An edit of SKILL.md that only adds words is a new version for the
    # runs to come; the runs made keep theirs, and no score changes.
    repo.write(".claude/skills/notes/SKILL.md", SKILL_V2 + "Be brief.\n")
    _commit(repo, ".claude/skills/notes/SKILL.md", "notes: wording")
    assert repo.ot_json("skill", "score", "notes") == score
    assert repo.ot_json("skill", "list")["skills"] == listed

    # A rating overrides the trail's label of its session's runs.
    rated = repo.ot_json("skill", "rate", old[0][0][:8], "0.5", "--note", "reverted for another reason")
    assert (rated["session"], rated["score"], rated["note"]) == (old[0][0], 0.5, "reverted for another reason")
    again = repo.ot_json("skill", "score", "notes")
    assert [(v["labelled"], v["mean"], v["at_or_over_threshold"], v["from_trail"], v["from_ratings"])
            for v in again["versions"]] == [(3, 0.5, 1, 2, 1), (3, 1.0, 3, 3, 0)]
    assert (again["comparison"]["delta"], again["comparison"]["noise"], again["comparison"]["verdict"]) \
        == (0.5, 0.2887, "keep")
    assert again["runs"][0]["source"] == "rating" and again["runs"][0]["label"] == 0.5
    ref = "refs/opentraces/ratings/skills"
    assert git(repo.path, "for-each-ref", "--format=%(refname)", ref).split() == [ref]
    assert json.loads(json.dumps(again["versions"][1])) == score["versions"][1]

    # The drafts are thrown away: their work never landed, a 0 each, and two
    # labels are still too few to score.
    for n in (1, 2):
        (repo.path / "drafts" / f"{n}.txt").unlink()
    draft = repo.ot_json("skill", "score", "draft")
    assert (draft["status"], [(v["runs"], v["labelled"], v["mean"]) for v in draft["versions"]]) == (
        "blocked_insufficient_labels", [(2, 2, None)])


# -- Pi -------------------------------------------------------------------------------------

PI_SKILL = "---\nname: tidy\ndescription: Tidy a file.\n---\nWrite tidy/N.txt.\n"


def test_pi_skill_runs_from_its_skill_command_and_its_read_of_skill_md(pi_bin, repo, hermetic):  # noqa: F811
    """Pi expands `/skill:NAME` into the prompt, and its model loads a skill by
    reading SKILL.md: both are runs, versioned by .pi/skills/NAME/."""
    pi = Pi(pi_bin, repo, hermetic)
    pi.git_ot("init")
    pi.git_ot("install", "pi", "--scope", "project")
    repo.write(".pi/skills/tidy/SKILL.md", PI_SKILL)
    _commit(repo, ".pi/skills", "the tidy skill")
    version = repo.git("rev-parse", "HEAD:.pi/skills/tidy").strip()

    def write(n: int) -> dict:
        return {"say": "Writing.", "tool": "write", "input": {"path": f"tidy/{n}.txt", "content": f"tidy {n}\n"}}

    # One session of two prompts: the script is one flat list (tools/README.md).
    script = [write(1), {"text": "done"},
              {"say": "Loading the skill.", "tool": "read",
               "input": {"path": str(repo.path / ".pi/skills/tidy/SKILL.md")}},
              write(2), {"text": "done"}]
    pi.run("/skill:tidy the first", script)
    _commit(repo, "tidy/1.txt", "tidy 1")
    pi.run("tidy the second", script, resume=True)
    second = _commit(repo, "tidy/2.txt", "tidy 2")
    repo.git("revert", "--no-edit", second)

    [sid] = [s["session"] for s in repo.ot_json("trace", "list")["sessions"]]
    listed = repo.ot_json("skill", "list")["skills"]
    assert [(s["skill"], s["runs"], s["sessions"], s["versions"], s["latest_version"]) for s in listed] \
        == [("tidy", 2, 1, 1, version)]
    got = repo.ot_json("skill", "score", "tidy", "--min-runs", "2")
    assert (got["status"], got["versions"][0]["mean"], got["versions"][0]["labelled"]) == ("ok", 0.5, 2)
    assert [(r["session"], r["how"], r["version"], r["label"]) for r in got["runs"]] == [
        (sid, "command", version, 1.0), (sid, "read", version, 0.0)]
