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
@click.option("--otel", is_flag=True,
              help="With HARNESS: remove only the telemetry export settings 'install --otel' added.")
@json_option
def uninstall(harness, scope, otel, as_json):
    """Remove git-ot's git hooks, or its hooks from a harness's settings.

    Without HARNESS: the git hooks go and the hooks they chained are
    restored; spooled events are sealed first; sessions under
    refs/opentraces/ are kept. With HARNESS (claude-code, codex, pi): only
    what 'git ot install' added to that scope's settings file (for pi, its
    extension file) is removed: for claude-code the hooks, and the
    telemetry settings of 'install --otel' that still have git-ot's values;
    for codex the hooks, and the [otel] table 'install --otel' appended to
    config.toml; with --otel, only those telemetry settings.
    """
    if harness is None:
        if scope is not None or otel:
            flag = "--scope" if scope is not None else "--otel"
            raise click.UsageError(f"{flag} needs a HARNESS, as in 'git ot uninstall claude-code {flag}"
                                   + (" user'" if flag == "--scope" else "'"))
        result = install.uninstall(locate_repository())
    else:
        from .install_cmd import otel_method

        chosen = registry.get(harness, "uninstall", "uninstall from")
        uninstall_otel = otel_method(chosen, "uninstall_otel", "uninstall")
        if uninstall_otel is not None:
            result = uninstall_otel(scope or chosen.scopes[0])
        else:
            result = chosen.uninstall(scope or chosen.scopes[0])
    if as_json:
        emit_json(result)
        return
    if harness is not None:
        for event, action in result.get("events", {}).items():
            emit(f"{event}: {action}")
        for key, action in result.get("env", {}).items():
            emit(f"env {key}: {action}")
        for key, action in result.get("otel", {}).items():
            emit(f"{key}: {action}")
        emit(f"{result['settings']}: {result['file']}")
        return
    for sid in result["sealed"]:
        emit(f"sealed {sid}")
    for hook, action in result["hooks"].items():
        emit(f"{hook}: {action}")
