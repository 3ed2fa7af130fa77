"""`git ot skill`: score each version of a skill by what became of its runs' work."""

from __future__ import annotations

import click

from ..domain import skills
from ..domain.opening import open_store
from ..domain.skills import score as rules
from ..errors import InvalidScore
from .main import json_option
from .output import emit, emit_json, table


@click.group()
def skill():
    """Score the versions of the project's skills by what became of their runs.

    A run is a step that invoked a skill (Claude Code's Skill tool, or a
    slash command naming a skill of .claude/skills/; Pi's /skill:NAME, or
    its read of a SKILL.md of .pi/skills/ or .agents/skills/); its version
    is the skill's folder in the snapshot at that step; its label is what
    became of its work (git ot track), or a rating ('git ot skill rate').
    """


@skill.command("list")
@json_option
def skill_list(as_json):
    """List the skills the sessions ran, with their runs and versions."""
    result = skills.list_skills(open_store(seal=True))
    if as_json:
        emit_json(result)
        return
    if not result["skills"]:
        emit("no skill runs")
        return
    rows = [[s["skill"], str(s["runs"]), str(s["sessions"]), str(s["versions"]),
             (s["latest_version"] or "-")[:12], s["last_run"] or "-"] for s in result["skills"]]
    emit(table(rows, ["SKILL", "RUNS", "SESSIONS", "VERSIONS", "LATEST", "LAST RUN"], right={1, 2, 3}))


@skill.command("score")
@click.argument("name")
@click.option("--threshold", type=click.FloatRange(0, 1), default=rules.DEFAULT_THRESHOLD,
              show_default=True, help="A run counts as good at or over this label.")
@click.option("--min-runs", type=click.IntRange(1), default=rules.DEFAULT_MIN_RUNS, show_default=True,
              help="The labelled runs a version needs before it gets a score.")
@click.option("--at", "at", metavar="REV", help="Judge the runs' work at REV (default: HEAD).")
@json_option
def skill_score(name, threshold, min_runs, at, as_json):
    """Score each version of skill NAME and say whether the last change helped.

    Per version, oldest first: runs, labelled runs, the mean label and the
    runs at or over the threshold; between the last two versions the
    difference and a verdict, keep, revert or inconclusive. When the labels
    cannot be trusted, a blocked_* status and no score.
    """
    result = skills.skill_score(open_store(seal=True), name, threshold, min_runs, at)
    if as_json:
        emit_json(result)
        return
    _print_score(result)


def _num(x) -> str:
    return "-" if x is None else f"{x:.2f}"


def _print_score(r: dict) -> None:
    emit(f"skill {r['skill']}: {r['status']}")
    rows = [[v["version"][:12], str(v["runs"]), str(v["labelled"]), _num(v["mean"]),
             "-" if v["at_or_over_threshold"] is None else str(v["at_or_over_threshold"])]
            for v in r["versions"]]
    emit(table(rows, ["VERSION", "RUNS", "LABELLED", "MEAN", f">={r['threshold']:g}"],
               right={1, 2, 3, 4}))
    if r["unversioned"]:
        emit(f"{r['unversioned']} run(s) of a SKILL.md outside the repository: not scored")
    c = r["comparison"]
    if r["status"] != "ok":
        emit(f"no score: {_blocked(r)}")
    elif c is None:
        emit("one version: nothing to compare")
    elif c["reason"] == "too_few_labels":
        emit(f"verdict: inconclusive: a version has fewer than {r['min_runs']} labelled runs")
    elif c["verdict"] == "inconclusive":
        emit(f"verdict: inconclusive: delta {c['delta']:+.2f} is within the noise ({c['noise']:.2f})")
    else:
        emit(f"verdict: {c['verdict']}: delta {c['delta']:+.2f} from {c['from'][:12]} to "
             f"{c['to'][:12]}, noise {c['noise']:.2f}")


def _blocked(r: dict) -> str:
    labelled = sum(v["labelled"] for v in r["versions"])
    if r["status"] == "blocked_unlabelled":
        return "no run has a label yet (work pending, or no patch); rate runs with 'git ot skill rate'"
    if r["status"] == "blocked_insufficient_labels":
        return f"no version has {r['min_runs']} labelled runs ({labelled} labelled in all)"
    return f"all {labelled} labels are the same: they tell the versions nothing apart"


@skill.command("rate")
@click.argument("session")
@click.argument("value", metavar="SCORE")
@click.option("--note", metavar="TEXT", help="Why: kept with the rating.")
@json_option
def skill_rate(session, value, note, as_json):
    """Rate the skill runs of SESSION from 0 to 1; it overrides their trail label.

    Ratings are stored in git (refs/opentraces/ratings/skills) and travel
    with 'git ot push' and 'git ot fetch'. SESSION may be a unique prefix.
    """
    try:
        number = float(value)
    except ValueError:
        raise InvalidScore(f"score '{value}' is not a number",
                           hint="a score is a number from 0 (useless) to 1 (kept as it was)") from None
    result = skills.rate(open_store(seal=True), session, number, note)
    if as_json:
        emit_json(result)
        return
    emit(f"rated session {result['session']}: {result['score']:g}")
