"""Resuming a Claude Code session from a step: a new transcript file.

Claude Code resumes a session from its transcript file,
`<config>/projects/<slug of cwd>/<session>.jsonl`: one line a message,
linked by `parentUuid`. `write` makes such a file, under a new session id,
from the messages of a step's context (domain/ctx.py), so
`claude --resume <session>` continues from exactly there.
"""

from __future__ import annotations

import json
import os
import time
import uuid

from .transcript import default_folder

HARNESS = "claude-code"


def write(ctx: dict, cwd: str, env=os.environ) -> dict:
    """Write the transcript of a new session holding `ctx`'s messages, run
    in `cwd`; what resumes it, and what could not be carried."""
    session = str(uuid.uuid4())
    folder = default_folder(cwd, env)
    os.makedirs(folder, exist_ok=True)
    lines, dropped = transcript_lines(ctx, session, cwd)
    path = os.path.join(folder, session + ".jsonl")
    tmp = os.path.join(folder, f".{session}.jsonl.tmp")
    with open(tmp, "w", encoding="utf-8", errors="surrogateescape") as f:
        for line in lines:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
    os.replace(tmp, path)  # never a half-written session under its name
    return {"harness": HARNESS, "session": session, "cwd": cwd,
            "command": f"claude --resume {session}", "file": path, "dropped": dropped}


def transcript_lines(ctx: dict, session: str, cwd: str) -> tuple[list[dict], list[str]]:
    """The transcript lines of `ctx`'s messages, in a chain of parentUuid;
    the kinds of content that could not be carried."""
    info = ctx.get("info") or {}
    model = info.get("model") or "claude"
    version = info.get("harness_version") or "2.1.0"
    branch = (ctx.get("base") or {}).get("branch") or ""
    lines: list[dict] = []
    dropped: list[str] = []
    parent = None
    reply_id = None
    t0 = time.time() - len(ctx["messages"])
    for i, item in enumerate(ctx["messages"]):
        message = item["message"]
        if message.get("role") == "system":
            dropped.append(system_turn(item))
            continue
        content = []
        for block in message.get("content") or []:
            kind = block.get("type")
            if kind == "thinking" and not block.get("signature"):
                # The model takes back only the thinking it signed.
                dropped.append(f"a thinking block{at(item)} (its signature was not recorded)")
                continue
            if kind == "tool_result" and not isinstance(block.get("content"), (str, list)):
                block = {**block, "content": json.dumps(block.get("content"), ensure_ascii=False)}
            # A captured request's cache breakpoints were that request's;
            # Claude Code sets its own.
            content.append({k: v for k, v in block.items() if k != "cache_control"})
        # Claude Code writes a reply one block a line.
        parts = [[b] for b in content] if message["role"] == "assistant" else [content] if content else []
        for content in parts:
            line, parent, reply_id = _line(message["role"], content, parent, reply_id, model, t0 + i,
                                           {"cwd": cwd, "sessionId": session, "version": version,
                                            "gitBranch": branch})
            lines.append(line)
    return lines, sorted(set(dropped), key=dropped.index)


def _line(role: str, content: list, parent, reply_id, model: str, t: float,
          facts: dict) -> tuple[dict, str, str | None]:
    """One transcript line holding `content`, after `parent`; its id and the reply's."""
    line_id = str(uuid.uuid4())
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".000Z"
    line = {"parentUuid": parent, "isSidechain": False, "userType": "external", **facts}
    if role == "assistant":
        # Consecutive blocks of one reply share its message id, as
        # Claude Code writes them.
        reply_id = reply_id or "msg_" + uuid.uuid4().hex[:24]
        line.update(type="assistant", message={
            "id": reply_id, "type": "message", "role": "assistant", "model": model,
            "content": content, "stop_reason": "tool_use" if content[-1].get("type") == "tool_use"
            else "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0}})
    else:
        reply_id = None
        text_only = len(content) == 1 and content[0].get("type") == "text"
        line.update(type="user", message={"role": "user",
                                          "content": content[0]["text"] if text_only else content})
        if content[0].get("type") == "tool_result":
            line["toolUseResult"] = content[0].get("content")
    line.update(uuid=line_id, timestamp=stamp)
    return line, line_id, reply_id


def at(item: dict) -> str:
    """` of step N`, where the message has a step."""
    return f" of step {item['step']}" if item.get("step") else ""


def system_turn(item: dict) -> str:
    """What a request's system turn is, dropped: the harness sends its own."""
    return "a system turn of the model request (the resumed harness sends its own)"

