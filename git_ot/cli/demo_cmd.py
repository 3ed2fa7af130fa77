"""`git ot demo [DIRECTORY]`: a recorded Claude Code session, replayed and read back."""

from __future__ import annotations

import shlex

import click

from .. import demo as demo_domain
from .main import json_option
from . import output
from .output import emit, emit_json


@click.command()
@click.argument("directory", required=False, type=click.Path())
@json_option
def demo(directory, as_json):
    """Replay a recorded Claude Code session in a new repository and read it back.

    No agent needed: the session ships with git-ot. DIRECTORY (new or
    empty; default: a new directory under the system's temporary
    directory) gets a repository set up with 'git ot init'; every hook
    payload goes through 'git ot hook claude-code', a commit follows each
    turn, and the output of 'git ot trace show', 'git ot blame' and
    'git ot track' is printed.
    """
    # On a terminal the commands' output is shown as they print it there.
    terminal = {"columns": output.width(), "color": output.terminal.color()} if output.human() else None
    result = demo_domain.run(directory, as_json=as_json, terminal=terminal)
    if as_json:
        emit_json(_summary(result))
        return
    output.page()
    emit(f"Replayed Claude Code {result['harness_version']} session {result['session']}")
    emit(f"in a new repository, {result['directory']}, with a commit after each turn:")
    for report in result["reports"]:
        emit()
        emit("$ " + " ".join(shlex.quote(a) for a in report["args"]))
        emit(report["output"].rstrip("\n"))
    emit()
    where = shlex.quote(result["directory"])
    emit(f"The repository stays in {where}; try: cd {where} && git ot blame commit HEAD")


def _summary(result: dict) -> dict:
    # Every report is a `git ot` command here: args[2] is its name.
    blame = {r["args"][3]: r["output"] for r in result["reports"] if r["args"][2] == "blame"}
    by_name = {r["args"][2]: r["output"] for r in result["reports"] if r["args"][2] != "blame"}
    return {
        "directory": result["directory"],
        "session": result["session"],
        "harness": result["harness"],
        "harness_version": result["harness_version"],
        "commits": result["commits"],
        "trace": by_name["trace"],
        "blame": blame,
        "track": by_name["track"],
    }
