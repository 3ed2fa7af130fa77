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
@click.option("--otel", is_flag=True,
              help="Also make the harness export OpenTelemetry to 'git ot otel serve' on this machine.")
@json_option
def install(harness, scope, otel, as_json):
    """Wire git-ot into a coding agent's hooks (idempotent).

    For claude-code and codex, adds a 'git ot hook HARNESS' command hook
    for every event that carries evidence to the harness's settings (Claude
    Code's settings.json, Codex's hooks.json), beside any hooks already
    there; 'git ot uninstall HARNESS' removes exactly those. For codex,
    Codex's trust in exactly those hooks is then recorded through 'codex
    app-server', as Codex's own hook review records it. For pi, writes the
    extension Pi loads, which hands each event to 'git ot hook pi';
    'git ot uninstall pi' removes that file.
    With --otel (claude-code), also adds to the settings' env block the
    variables that make Claude Code export its telemetry to the receiver's
    default endpoint (http://127.0.0.1:4318); a variable already set to
    another value is kept. With --otel (codex), also appends to the
    user's config.toml an [otel] table exporting over gRPC to the
    receiver's default port (127.0.0.1:4317).
    """
    chosen = registry.get(harness, "install", "install into")
    scope = scope or chosen.scopes[0]
    install_otel = otel_method(chosen, "install_otel", "install")
    # The telemetry settings first: when they are refused, nothing was written.
    telemetry = install_otel(scope) if install_otel is not None else None
    result = chosen.install(scope)
    if telemetry is not None:
        for key in ("env", "otel"):
            if key in telemetry:
                result[key] = telemetry[key]
        if telemetry["settings"] != result["settings"]:
            result["otel_settings"] = telemetry["settings"]
    if as_json:
        emit_json(result)
        return
    trust = result.get("trust") or {}
    trusted = trust.get("events", {})
    for event, action in result["events"].items():
        emit(f"{event}: {action}" + (f", {trusted[event]}" if event in trusted else ""))
    for key, action in result.get("env", {}).items():
        emit(f"env {key}: {action}" + (" (set to another value: left as it is)" if action == "kept" else ""))
    for key, action in result.get("otel", {}).items():
        emit(f"{key}: {action}")
    if "error" in trust:
        emit(f"warning: Codex's trust in these hooks is not recorded ({trust['error']}); "
             f"Codex skips them until '{trust['command']}' records it")
    emit(f"{chosen.title} runs git-ot from {result['settings']}")
    if "otel_settings" in result:
        emit(f"{chosen.title} exports telemetry as {result['otel_settings']} says")


def otel_method(harness, name: str, command: str):
    """The harness's `install_otel`/`uninstall_otel`, when `--otel` was given
    (None otherwise); UnsupportedHarness when it has none yet."""
    import click as _click

    if not _click.get_current_context().params.get("otel"):
        return None
    method = getattr(harness, name, None)
    if method is None:
        from ..errors import UnsupportedHarness

        raise UnsupportedHarness(f"cannot {command} telemetry export for '{harness.name}' yet",
                                 hint=f"run 'git ot {command} {harness.name}' without --otel")
    return method
