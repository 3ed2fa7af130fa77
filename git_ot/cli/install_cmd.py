"""`git ot install <harness>`: wire capture into a coding agent's own hooks."""

from __future__ import annotations

import click

from ..capture import registry
from .main import json_option
from .output import emit, emit_json


@click.command()
@click.argument("harness", type=click.Choice(registry.names()))
@click.option("--scope", type=click.Choice(registry.scopes()),
              help="The settings file to write: for claude-code the repository's "
                   ".claude/settings.json (project, the default), its .claude/settings.local.json "
                   "(local) or ~/.claude/settings.json (user); for codex $CODEX_HOME/hooks.json "
                   "(user, the default) or the repository's .codex/hooks.json (project); for pi the "
                   "extension .pi/extensions/git-ot.ts (project, the default) or "
                   "~/.pi/agent/extensions/git-ot.ts (user).")
@json_option
def install(harness, scope, as_json):
    """Wire git-ot into a coding agent's hooks (idempotent).

    For claude-code and codex, adds a 'git ot hook HARNESS' command hook
    for every event that carries evidence to the harness's settings (Claude
    Code's settings.json, Codex's hooks.json), beside any hooks already
    there; 'git ot uninstall HARNESS' removes exactly those. For codex,
    Codex's trust in exactly those hooks is then recorded through 'codex
    app-server', as Codex's own hook review records it. For pi, writes the
    extension Pi loads, which hands each event to 'git ot hook pi';
    'git ot uninstall pi' removes that file.
    """
    chosen = registry.get(harness, "install", "install into")
    result = chosen.install(scope or chosen.scopes[0])
    if as_json:
        emit_json(result)
        return
    trust = result.get("trust") or {}
    trusted = trust.get("events", {})
    for event, action in result["events"].items():
        emit(f"{event}: {action}" + (f", {trusted[event]}" if event in trusted else ""))
    if "error" in trust:
        emit(f"warning: Codex's trust in these hooks is not recorded ({trust['error']}); "
             f"Codex skips them until '{trust['command']}' records it")
    emit(f"{chosen.title} runs git-ot from {result['settings']}")
