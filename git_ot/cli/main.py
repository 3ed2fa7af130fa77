"""The click commands. Each parses, makes one domain call, and formats."""

from __future__ import annotations

import click

from .. import __version__
from ..capture import claude_settings
from ..domain import install, sessions
from ..domain.opening import locate_repository, open_store, take_snapshot
from .output import emit, emit_json, one_line, table

json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print the result as JSON (a stable schema, see refs/README.md).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="git-ot", message="%(prog)s %(version)s")
def cli():
    """Keep the evidence of coding-agent sessions inside the git repository.

    Sessions are stored as git objects under refs/opentraces/ and travel with
    the repository. See 'git help ot' for the full manual.
    """


@cli.command()
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


@cli.command()
@click.argument("harness", required=False, type=click.Choice(claude_settings.HARNESSES))
@click.option("--scope", type=click.Choice(claude_settings.SCOPES),
              help="With HARNESS: the settings file to clean (default: project).")
@json_option
def uninstall(harness, scope, as_json):
    """Remove git-ot's git hooks, or its hooks from a harness's settings.

    Without HARNESS: the git hooks go and the hooks they chained are
    restored; spooled events are sealed first; sessions under
    refs/opentraces/ are kept. With HARNESS (claude-code): only the entries
    'git ot install' added to that scope's settings file are removed.
    """
    if harness is None:
        if scope is not None:
            raise click.UsageError("--scope needs a HARNESS, as in 'git ot uninstall claude-code --scope user'")
        result = install.uninstall(locate_repository())
    else:
        result = claude_settings.uninstall(scope or "project")
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


@cli.group()
def trace():
    """List and show captured sessions and their steps."""


@trace.command("list")
@json_option
def trace_list(as_json):
    """List sessions, newest first.

    Shows each session's id, harness, model, start, steps, files touched and
    commits anchored.
    """
    rows = sessions.list_sessions(open_store(seal=True))
    if as_json:
        emit_json({"sessions": rows})
        return
    if not rows:
        emit("no sessions")
        return
    body = [[r["session"][:12], r["harness"], ",".join(r["models"]) or "-",
             r["start"] or "-", str(r["steps"]), str(r["files"]), str(r["commits"])] for r in rows]
    emit(table(body, ["SESSION", "HARNESS", "MODEL", "START", "STEPS", "FILES", "COMMITS"],
               right={4, 5, 6}))


@trace.command("show")
@click.argument("spec", metavar="SESSION[:STEP]")
@json_option
def trace_show(spec, as_json):
    """Show a session's steps in order, or one step in full.

    SESSION may be any unique prefix of a session id.
    """
    result = sessions.show(open_store(seal=True), spec)
    if as_json:
        emit_json(result)
        return
    s = result["session"]
    emit(f"session {s['session']}")
    emit(f"harness {s['harness']}  model {','.join(s['models']) or '-'}  "
         f"start {s['start'] or '-'}  steps {s['steps']}  files {s['files']}")
    if "step" in result:
        _show_step(result["step"])
        return
    for step in result["steps"]:
        emit(_step_line(step))


def _step_line(step: dict) -> str:
    n, kind = step["n"], step["kind"]
    indent = "  " if step.get("parent") else ""
    if kind == "tool":
        what = step["name"]
        files = step.get("patch", {}).get("files", [])
        change = " ".join(f"{f['path']} +{f['added']} -{f['removed']}" for f in files)
        detail = f"{what} {step['status']}" + (f"  {change}" if change else "")
    elif kind in ("prompt", "message"):
        detail = one_line(step.get("text"))
    elif kind == "subagent":
        detail = f"{step.get('agent_type') or 'agent'} {step.get('agent_id') or ''}".strip()
    else:
        detail = step.get("trigger") or ""
    return f"{n:>5}  {indent}{kind:<10} {detail}".rstrip()


def _show_step(step: dict) -> None:
    import json

    emit(_step_line(step))
    for key in ("input", "output", "text"):
        if key in step:
            value = step[key]
            emit(f"{key}:")
            text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)
            for line in text.splitlines():
                emit("    " + line)
    patch = step.get("patch")
    if patch:
        if patch.get("source") == "transcript":
            emit("patch: from the transcript (no snapshots)")
        else:
            emit(f"patch: {patch['before']} -> {patch['after']}")
        for f in patch["files"]:
            emit(f"    {f['status']} {f['path']} +{f['added']} -{f['removed']}")


@cli.command(context_settings={"ignore_unknown_options": True})
@click.argument("source")
@click.argument("event", required=False)
def hook(source, event):
    """Plumbing: record one hook event; the payload is read on stdin.

    Called by the hooks git-ot installs (SOURCE is 'claude-code' or 'git').
    Always exits 0: a failure is logged to .git/opentraces/log.
    """
    from ..capture.hook import main as hook_main

    raise SystemExit(hook_main([source] + ([event] if event else [])))


@cli.command()
@json_option
def snapshot(as_json):
    """Plumbing: write a tree of the working tree and print its id.

    Touches neither the index, HEAD nor any branch (compare 'git stash create').
    """
    tree = take_snapshot()
    if as_json:
        emit_json({"tree": tree})
    else:
        emit(tree)
