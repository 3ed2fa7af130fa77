"""`git ot trace list` and `git ot trace show`: the captured sessions and their steps."""

from __future__ import annotations

import click

from ..domain import sessions
from ..domain.opening import open_store
from .main import json_option
from .output import emit, emit_json, one_line, table


@click.group()
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
