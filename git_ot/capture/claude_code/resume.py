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
        content = []
        for block in message.get("content") or []:
            kind = block.get("type")
            if kind in ("thinking", "redacted_thinking"):
                dropped.append("a thinking block (its signature is not recorded)")
                continue
            if kind == "tool_result" and not isinstance(block.get("content"), (str, list)):
                block = {**block, "content": json.dumps(block.get("content"), ensure_ascii=False)}
            content.append(block)
        if not content:
            continue
        line_id = str(uuid.uuid4())
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t0 + i)) + ".000Z"
        line = {"parentUuid": parent, "isSidechain": False, "userType": "external", "cwd": cwd,
                "sessionId": session, "version": version, "gitBranch": branch}
        if message["role"] == "assistant":
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
        lines.append(line)
        parent = line_id
    return lines, sorted(set(dropped))

