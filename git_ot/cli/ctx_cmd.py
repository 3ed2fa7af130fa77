"""`git ot ctx show` and `git ot ctx resume`: what the model saw at a step, and going on from there."""

from __future__ import annotations

import json

import click

from ..domain.opening import open_store
from .main import json_option
from . import output
from .output import emit, emit_json, one_line, table

HARNESSES = ("claude-code", "codex", "pi")


@click.group()
def ctx():
    """Show what the model saw at a step, or resume a session from there."""


@ctx.command("show")
@click.argument("spec", metavar="SESSION:STEP")
@json_option
def ctx_show(spec, as_json):
    """Show the messages in the model's view at a step.

    One line a message: its id, the step it entered at, its role, its size
    and a preview. With --json, the messages in full. SESSION may be any
    unique prefix of a session id; STEP is numbered as 'git ot trace show'
    lists them.
    """
    from ..domain import ctx as ctx_domain

    result = ctx_domain.context(open_store(seal=True), spec)
    if as_json:
        emit_json(result)
        return
    output.page()
    emit(output.paint(f"session {result['session']} step {result['step']}", "yellow"))
    emit(f"{len(result['messages'])} messages, from {result['source'] or '-'}"
         + (" (after a compaction)" if result["compacted"] else ""))
    request = result.get("request")
    if request:
        system = sum(len(b.get("text", "").encode()) for b in request["system"] if isinstance(b, dict))
        names = [t.get("name", "?") for t in request["tools"] if isinstance(t, dict)]
        emit(f"system prompt {system} bytes, {len(names)} tools, from the api request"
             + (f": {one_line(', '.join(names), 60)}" if names else ""))
    rows = []
    for m in result["messages"]:
        body = m["message"]
        size = len(json.dumps(body["content"], ensure_ascii=False).encode())
        rows.append([_num(m["id"]), _num(m["step"]), _role(m), str(size), one_line(_preview(body), 60)])
    if rows:
        emit(table(rows, ["ID", "STEP", "ROLE", "BYTES", "PREVIEW"], right={0, 1, 3},
                   fit=output.width(), shrink=4))


def _num(n) -> str:
    return "-" if n is None else str(n)


def _role(m: dict) -> str:
    kinds = {b.get("type") for b in m["message"]["content"] if isinstance(b, dict)}
    if "tool_use" in kinds:
        return "tool-call"
    if "tool_result" in kinds:
        return "tool-result"
    if "thinking" in kinds:
        return "thinking"
    return m["message"]["role"]


def _preview(body: dict) -> str:
    parts = []
    for b in body["content"]:
        if not isinstance(b, dict):
            continue
        kind = b.get("type")
        if kind == "text":
            parts.append(b.get("text", ""))
        elif kind == "thinking":
            parts.append(b.get("thinking", ""))
        elif kind == "tool_use":
            parts.append(f"{b.get('name')} {json.dumps(b.get('input'), ensure_ascii=False)}")
        elif kind == "tool_result":
            c = b.get("content")
            parts.append(c if isinstance(c, str) else json.dumps(c, ensure_ascii=False))
        else:
            parts.append(f"[{kind}]")
    return " ".join(parts)


@ctx.command("resume")
@click.argument("spec", metavar="SESSION:STEP")
@click.option("--into", type=click.Choice(HARNESSES), default=None,
              help="The harness to resume in (default: the session's own).")
@click.option("--worktree", "worktree", metavar="PATH", default=None,
              help="Where to check out the step's files (default: a new linked worktree beside "
                   "the repository, named after the session and step).")
@json_option
def ctx_resume(spec, into, worktree, as_json):
    """Resume a session from a step, in a new session of its harness.

    Writes a new session into the harness's own store holding the
    conversation up to and including STEP, checks the files as they were at
    that step out into a new linked worktree (the current checkout is not
    touched), and prints how to continue. Works from what is in git alone.
    """
    from ..capture.resume import resume

    result = resume(open_store(seal=True), spec, into=into, worktree=worktree)
    if as_json:
        emit_json({**{k: result[k] for k in ("harness", "session", "cwd", "command")},
                   "not_carried": result["dropped"]})
        return
    emit(f"resumed session {result['source_session'][:12]} at step {result['step']} "
         f"as {result['harness']} session {result['session']}")
    for what in result["dropped"]:
        emit(f"not carried: {what}")
    emit(f"  cd {result['cwd']} && {result['command']}")
