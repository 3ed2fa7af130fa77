"""`git ot export agent-trace [RANGE]`: what git-ot knows of commits, in another tool's format."""

from __future__ import annotations

import json

import click

from ..domain import agent_trace
from ..domain.opening import open_store
from .output import emit


@click.group()
def export():
    """Write what git-ot knows of commits in another tool's format.

    'git ot export agent-trace [RANGE]' writes Agent Trace records.
    """


@export.command("agent-trace")
@click.argument("revs", nargs=-1, metavar="[RANGE]")
def export_agent_trace(revs):
    """Write the Agent Trace record of each commit in RANGE, one JSON object a line.

    RANGE names commits as 'git log' does ('main~10..main', 'v1.0..',
    'HEAD ^origin/main'); without one, every commit of HEAD, newest first.
    Each record is what 'git ot blame commit REV --format agent-trace'
    prints for that commit: its lines by contributor (ai, human, unknown),
    the sessions and models behind them, and a hash of each range.
    """
    store = open_store(seal=True)
    for record in agent_trace.export(store, list(revs)):
        emit(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
