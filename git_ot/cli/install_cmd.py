"""`git ot install <harness>`: wire capture into a coding agent's own hooks."""

from __future__ import annotations

import click

from ..capture import registry
from .main import json_option
from .output import emit, emit_json


@click.command()
@click.argument("harness", type=click.Choice(registry.names()))
@click.option("--scope", type=click.Choice(registry.scopes()), default="project", show_default=True,
              help="The settings file to write: for claude-code the repository's "
                   ".claude/settings.json (project), its .claude/settings.local.json (local) or "
                   "~/.claude/settings.json (user); for pi the extension .pi/extensions/git-ot.ts "
                   "(project) or ~/.pi/agent/extensions/git-ot.ts (user).")
@json_option
def install(harness, scope, as_json):
    """Wire git-ot into a coding agent's hooks (idempotent).

    For claude-code, adds a 'git ot hook claude-code' command hook for every
    event that carries evidence to Claude Code's settings, beside any hooks
    already there; 'git ot uninstall claude-code' removes exactly those.
    For pi, writes the extension Pi loads, which hands each event to
    'git ot hook pi'; 'git ot uninstall pi' removes that file.
    """
    chosen = registry.get(harness, "install", "install into")
    result = chosen.install(scope)
    if as_json:
        emit_json(result)
        return
    for event, action in result["events"].items():
        emit(f"{event}: {action}")
    emit(f"{chosen.title} runs git-ot from {result['settings']}")
