"""`git ot init` and `git ot uninstall`: set git-ot up in a repository, and take it out."""

from __future__ import annotations

import click

from ..capture import registry
from ..domain import install
from ..domain.opening import locate_repository
from .main import json_option
from .output import emit, emit_json


@click.command()
@json_option
def init(as_json):
    """Install git-ot's git hooks in this repository (idempotent).

    Existing hooks are kept and called first; core.hooksPath and linked
    worktrees are honoured.
    """
    result = install.init(locate_repository())
    if as_json:
        emit_json(result)
        return
    for hook, action in result["hooks"].items():
        emit(f"{hook}: {action}")
    emit(f"git-ot is set up in {result['hooks_dir']}")


@click.command()
@click.argument("harness", required=False, type=click.Choice(registry.names()))
@click.option("--scope", type=click.Choice(registry.scopes()),
              help="With HARNESS: the settings file to clean (default: the harness's default, "
                   "as for 'git ot install').")
@json_option
def uninstall(harness, scope, as_json):
    """Remove git-ot's git hooks, or its hooks from a harness's settings.

    Without HARNESS: the git hooks go and the hooks they chained are
    restored; spooled events are sealed first; sessions under
    refs/opentraces/ are kept. With HARNESS (claude-code, codex, pi): only
    what 'git ot install' added to that scope's settings file (for pi, its
    extension file) is removed.
    """
    if harness is None:
        if scope is not None:
            raise click.UsageError("--scope needs a HARNESS, as in 'git ot uninstall claude-code --scope user'")
        result = install.uninstall(locate_repository())
    else:
        chosen = registry.get(harness, "uninstall", "uninstall from")
        result = chosen.uninstall(scope or chosen.scopes[0])
    if as_json:
        emit_json(result)
        return
    if harness is not None:
        for event, action in result["events"].items():
            emit(f"{event}: {action}")
        emit(f"{result['settings']}: {result['file']}")
        return
    for sid in result["sealed"]:
        emit(f"sealed {sid}")
    for hook, action in result["hooks"].items():
        emit(f"{hook}: {action}")
