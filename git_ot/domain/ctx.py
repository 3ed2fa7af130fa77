"""Ctx: what the model saw at a step, read back from the session's ctx record.

The ctx record (refs/README.md, section 9) lists every message that entered
the model's view, and the range of messages in view after every change: a
step's context is the range of the last view at or before it. A message's
content is its step's own (a prompt's text, a tool's input and result),
stored once in the trace, large values as content-addressed blobs. Where the
request the model was sent was captured (a transcript's `api-request`
lines, telemetry's raw bodies, both kept whole in the trace), a step's
messages come from it first. This module reads one step's context and
prepares what resuming from it needs: the working files as they were, in a
linked worktree of their own.
"""

from __future__ import annotations

import json
import os
import re

import pygit2

from ..errors import GitCommandError, NoContext, UnknownStep, UnusableDirectory
from ..store import git, refs, state, trees
from ..store.repository import Store
from . import sessions
from .fold import expand


def context(store: Store, spec: str) -> dict:
    """The messages in the model's view at the step `spec` names
    (SESSION:STEP, or SESSION:@N, the step just before the N-th prompt)."""
    before_prompt = None
    if ":@" in spec:
        sid_spec, _, n = spec.rpartition(":@")
        if not n.isdigit() or int(n) < 2:
            raise UnknownStep(f"invalid prompt '@{n}' in '{spec}'",
                              hint="@N is the step just before the N-th prompt, N from 2")
        before_prompt, step_n = int(n), 1
    else:
        sid_spec, step_n = sessions.parse_spec(spec)
    if step_n is None:
        raise UnknownStep(f"no step in '{spec}'",
                          hint="name one as SESSION:STEP, as 'git ot trace show SESSION' lists them")
    if before_prompt is None:
        carried = capsule_context(store, sid_spec, step_n)
        if carried is not None:
            return carried
    sid = sessions.resolve(store, sid_spec)
    tree = store.session(sid)
    trace = tree.record("trace")
    steps = trace["steps"]
    if before_prompt is not None:
        prompts = [s["n"] for s in steps if s["kind"] == "prompt" and s.get("parent") is None]
        if before_prompt > len(prompts):
            raise UnknownStep(f"session {sid[:12]} has no prompt {before_prompt}",
                              hint=f"it has {len(prompts)} prompt{'s' if len(prompts) != 1 else ''}")
        step_n = prompts[before_prompt - 1] - 1
    if step_n > len(steps):
        raise UnknownStep(f"session {sid[:12]} has no step {step_n}",
                          hint=f"its steps are 1 to {len(steps)}" if steps else "it has no steps yet")
    ctx = tree.record("ctx")
    messages = ctx["messages"]
    if not messages or not ctx["views"]:
        raise NoContext(f"session {sid[:12]} has no recorded context",
                        hint="its harness reported no message of the model's view; "
                             "'git ot import' its transcript to add them")
    view = None
    for v in ctx["views"]:
        if v["step"] > step_n:
            break
        view = v
    if view is None:
        raise NoContext(f"session {sid[:12]} has no recorded context at step {step_n}",
                        hint=f"the first message entered the view at step {ctx['views'][0]['step']}")
    lifecycle = {e.get("id"): e for e in trace["lifecycle"]}
    out = []
    for m in messages[view["from"] - 1:view["to"]]:
        step = steps[m["step"] - 1]
        if step.get("parent") is not None:
            continue  # a subagent's: in its own view, not its parent's
        body = rebuild(store, sid, m, step, lifecycle)
        if body is None:
            raise NoContext(f"message {m['id']} of session {sid[:12]} (step {m['step']}) has no content",
                            hint="'git ot import' the session's transcript again to add it")
        out.append({"id": m["id"], "step": m["step"], "role": m["role"],
                    "source": m.get("source", "trace"), "message": body})
    reset = max((v["step"] for v in ctx["views"] if v["step"] <= step_n and v["to"] < v["from"]), default=0)
    request = raw_request(store, sid, trace, step_n, reset)
    if request is not None:
        before = [m for m in out if m["step"] < request["first"]]
        messages_of = request_messages(request, before)
        if messages_of is not None:
            out = messages_of + [m for m in out if m["step"] >= request["first"]]
        else:
            request = None
    sources = sorted({m["source"] for m in out})
    result = {"session": sid, "step": step_n, "kind": steps[step_n - 1]["kind"],
              "source": "+".join(sources) if sources else None,
              "compacted": view["from"] > 1,
            "info": {k: v for k, v in trace["info"].items()
                     if k in ("cwd", "model", "harness", "harness_version")},
              "base": tree.record("manifest").get("base") or {},
              "messages": out}
    if request is not None:
        # The captured request the view's messages come from, up to the
        # reply it produced: the record that keeps it, and that reply's first step.
        result["api_request"] = {"entry": request["entry"], "step": request["first"]}
    shape = request_shape(store, sid, trace, steps[step_n - 1])
    if request is not None and request.get("body") is not None:
        shape = body_shape(request["body"]) or shape
    if shape is not None:
        result["request"] = shape
    return result


# The file an opened capsule (domain/capsule.py) keeps the context it
# carries in: the step's, as `context` returned it when it was sealed.
CAPSULE_CTX = "ctx.json"


def capsule_context(store: Store, sid_spec: str, step_n: int) -> dict | None:
    """The context an opened capsule in this repository carries, when
    `sid_spec` names its session (None otherwise): a capsule holds its own
    step's context alone."""
    path = os.path.join(state.capsule(store.location.state_dir), CAPSULE_CTX)
    try:
        with open(path, encoding="utf-8") as fh:
            carried = json.load(fh)
    except (OSError, ValueError):
        return None
    if not sid_spec or not isinstance(carried, dict) or not str(carried.get("session", "")).startswith(sid_spec):
        return None
    if step_n != carried.get("step"):
        raise NoContext(f"the capsule holds the context of step {carried.get('step')} only, not of step {step_n}",
                        hint=f"name it as {carried['session']}:{carried.get('step')}")
    return carried


def request_shape(store: Store, sid: str, trace: dict, step: dict) -> dict | None:
    """The system prompt and tool definitions of the model request in force
    at `step`, where the harness recorded them (Claude Code's transcript
    `api-request-shape` lines, kept whole): the latest at or before the
    step's time, else the session's first."""
    shapes = [e for e in trace["lifecycle"] if e.get("event") == "api-request-shape" and e.get("data")]
    if not shapes:
        return None
    t = step.get("t")
    before = [e for e in shapes if t is not None and e.get("t") is not None and e["t"] <= t]
    entry = (before or shapes[:1])[-1]
    line = expand(store, sid, entry["data"]).get("line") or {}
    shape = line.get("shape") if isinstance(line.get("shape"), dict) else {}
    system, tools = shape.get("system"), shape.get("tools")
    return {"source": "api-request", "system": system if isinstance(system, list) else [],
            "tools": tools if isinstance(tools, list) else []}


MAIN_QUERIES = ("sdk", "repl_main_thread")


def raw_requests(store: Store, sid: str, trace: dict) -> list[dict]:
    """The model requests of the main agent whose raw body was captured, each
    with `first`, the number of the first step of the reply it produced:
    Claude Code's transcript `api-request` lines (a request is the messages
    its `base` request kept, `keep` of them, then those `tail` names by
    hash: an `api-request-blob` line's message, or the conversation's next),
    and telemetry `api_request_body` records (the request's JSON whole), on
    the step they joined."""
    steps = trace["steps"]
    out: list[dict] = []
    if any(e.get("event") == "api-request" for e in trace["lifecycle"]):
        blobs: dict[str, dict] = {}
        lists: dict[str, list[str]] = {}
        for e in trace["lifecycle"]:
            if e.get("event") not in ("api-request-blob", "api-request") or not e.get("data"):
                continue
            line = expand(store, sid, e["data"]).get("line")
            if not isinstance(line, dict):
                continue
            if e["event"] == "api-request-blob":
                if isinstance(line.get("hash"), str) and isinstance(line.get("message"), dict):
                    blobs[line["hash"]] = line["message"]
                continue
            tail, keep, base = line.get("tail"), line.get("keep"), line.get("base")
            if not isinstance(tail, list) or not isinstance(keep, int) or (base and base not in lists):
                continue
            hashes = (lists[base][:keep] if base else []) + [h for h in tail if isinstance(h, str)]
            if isinstance(line.get("id"), str):
                lists[line["id"]] = hashes
            if line.get("querySource", "sdk") not in MAIN_QUERIES or e.get("t") is None:
                continue
            first = next((s["n"] for s in steps if s.get("parent") is None and s.get("t") is not None
                          and s["t"] >= e["t"]), None)
            if first is not None:
                out.append({"first": first, "entry": e["id"], "hashes": hashes, "blobs": blobs})
    for s in steps:
        if s.get("parent") is not None:
            continue
        for entry in s.get("telemetry") or []:
            if not str(entry.get("event", "")).endswith(".api_request_body"):
                continue
            attrs = ((entry.get("data") or {}).get("attributes")) or {}
            if attrs.get("body_truncated") not in (None, False, "false"):
                continue
            try:
                body = json.loads(expand(store, sid, attrs.get("body")))
            except (TypeError, ValueError):
                continue
            if isinstance(body, dict) and isinstance(body.get("messages"), list):
                out.append({"first": s["n"], "entry": entry.get("id"), "body": body})
    return out


def raw_request(store: Store, sid: str, trace: dict, step_n: int, reset: int) -> dict | None:
    """The latest captured request whose reply began at or before step
    `step_n`, after the compaction at step `reset` (0: none)."""
    best = None
    for r in raw_requests(store, sid, trace):
        if reset < r["first"] <= step_n and (best is None or r["first"] >= best["first"]):
            best = r
    return best


def request_messages(request: dict, before: list[dict]) -> list[dict] | None:
    """The messages of `request` as the model got them, each with the id and
    step of the view's message it is, where one is; None when the request
    does not account for the messages `before` its reply."""
    def item(body, like=None):
        content = body.get("content")
        body = {**body, "content": [{"type": "text", "text": content}] if isinstance(content, str)
                else content if isinstance(content, list) else []}
        return {"id": like["id"] if like else None, "step": like["step"] if like else None,
                "role": like["role"] if like else body.get("role"), "source": "api-request", "message": body}

    if request.get("body") is not None:
        return [item(m) for m in request["body"]["messages"] if isinstance(m, dict)]
    # The view's messages, as the request groups them: one reply's blocks,
    # and the results of one reply's tool calls, are one message each.
    groups: list[dict] = []
    for m in before:
        kind = "result" if m["role"] == "tool" else m["message"]["role"]
        if groups and kind in ("assistant", "result") and groups[-1]["kind"] == kind:
            groups[-1]["body"]["content"] = groups[-1]["body"]["content"] + m["message"]["content"]
        else:
            groups.append({"kind": kind, "like": m, "body": dict(m["message"])})
    out, at = [], 0
    for h in request["hashes"]:
        blob = request["blobs"].get(h)
        if blob is None:
            if at >= len(groups):
                return None
            out.append(item(groups[at]["body"], groups[at]["like"]))
            at += 1
            continue
        like = None
        if at < len(groups) and groups[at]["kind"] == "user" and blob.get("role") == "user":
            # A prompt the harness sent with its own context blocks beside it.
            texts = [b.get("text") for b in groups[at]["body"]["content"] if isinstance(b, dict)]
            content = blob.get("content")
            blob_texts = [content] if isinstance(content, str) else \
                [b.get("text") for b in content or [] if isinstance(b, dict)]
            if texts and all(t in blob_texts for t in texts):
                like = groups[at]["like"]
                at += 1
        out.append(item(blob, like))
    return out if at == len(groups) else None


def body_shape(body: dict) -> dict | None:
    """The system prompt and tools of a raw request body."""
    system, tools = body.get("system"), body.get("tools")
    if isinstance(system, str):
        system = [{"type": "text", "text": system}]
    if not isinstance(system, list) and not isinstance(tools, list):
        return None
    return {"source": "api-request", "system": system if isinstance(system, list) else [],
            "tools": tools if isinstance(tools, list) else []}


def rebuild(store: Store, sid: str, m: dict, step: dict, lifecycle: dict) -> dict | None:
    """One message of the model's view, in the Messages API's shape, from
    the step (or lifecycle entry) that holds its content."""
    def value(v):
        return expand(store, sid, v)

    if m.get("summary"):
        entry = lifecycle.get(m["summary"])
        line = value((entry or {}).get("data", {})).get("line") if entry else None
        content = ((line or {}).get("message") or {}).get("content")
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        return {"role": "user", "content": content} if isinstance(content, list) else None
    kind = step["kind"]
    if m["role"] == "user" and kind == "prompt":
        return {"role": "user", "content": [{"type": "text", "text": value(step.get("text", ""))}]}
    if m["role"] == "assistant" and kind == "message":
        text = value(step.get("text", ""))
        block = {"type": "thinking", "thinking": text} if step.get("thinking") \
            else {"type": "text", "text": text}
        if step.get("thinking") and step.get("signature"):
            signature = value(step["signature"])
            block = {"type": "redacted_thinking", "data": signature} if step.get("redacted") \
                else {**block, "signature": signature}
        return {"role": "assistant", "content": [block]}
    if m["role"] == "assistant" and kind == "tool":
        return {"role": "assistant", "content": [{"type": "tool_use", "id": step.get("tool_use_id"),
                                                  "name": step.get("name"),
                                                  "input": value(step.get("input"))}]}
    if m["role"] == "tool" and kind == "tool":
        return {"role": "user", "content": [{"type": "tool_result", "tool_use_id": step.get("tool_use_id"),
                                             "content": value(step.get("output")),
                                             "is_error": step.get("status") == "error"}]}
    return None


def snapshot_commit(store: Store, session_id: str, step_n: int) -> str | None:
    """A commit whose tree holds the working files as they were at step
    `step_n` (`files_at`), as a commit on the session's base; the base
    itself when no tool step took a state before; None when neither is
    known."""
    if store.session(session_id) is None and capsule_context(store, session_id, step_n) is not None:
        sealed = store.repo.revparse_single(refs.CAPSULE_SEALED).peel(pygit2.Commit)
        sig = pygit2.Signature("git-ot", "git-ot@localhost", 0, 0)
        return str(store.repo.create_commit(None, sig, sig, f"git-ot: session {session_id} at step {step_n}\n",
                                            sealed.tree["snapshot"].id, []))
    tree = store.session(session_id)
    base = (tree.record("manifest").get("base") or {}).get("commit")
    base = base if base and store.has_object(base) else None
    got = files_at(store, tree.record("trail"), base, (step_n, True))
    if got is None or got[1] == f"commit {base}":
        return base  # no tool step took a state: the base as it is
    parents = [pygit2.Oid(hex=base)] if base else []
    sig = pygit2.Signature("git-ot", "git-ot@localhost", 0, 0)
    oid = store.repo.create_commit(None, sig, sig, f"git-ot: session {session_id} at step {step_n}\n",
                                   pygit2.Oid(hex=got[0]), parents)
    return str(oid)


def files_at(store: Store, trail: dict, base: str | None, upto: tuple[int, bool]) -> tuple[str, str] | None:
    """The tree of a session's working files at `upto`, (step, after): at
    that step's after-state, or (with False) its before-state; and where it
    comes from. The latest whole snapshot at or before it (else the tree of
    the base commit `base`), with the file of every partial after-state
    taken later (a call read from the transcript, an imported one) put over
    it, in step order. None when neither a whole snapshot nor the base is
    known."""
    best = None
    for name, snap in trail["snapshots"].items():
        rank = (snap["step"], snap["at"] == "after")
        if not snap.get("partial") and rank <= upto and (best is None or rank > best[0]):
            best = (rank, snap["tree"], name)
    later = sorted((snap["step"], name, snap["tree"]) for name, snap in trail["snapshots"].items()
                   if snap.get("partial") and snap["at"] == "after"
                   and (best is None or (snap["step"], True) > best[0]) and (snap["step"], True) <= upto)
    if best is not None:
        start, where = best[1], f"snapshot {best[2]}"
    elif base is not None:
        start, where = str(store.repo[base].peel(pygit2.Commit).tree_id), f"commit {base}"
    else:
        return None
    if not later:
        return start, where
    index = pygit2.Index()
    index.read_tree(store.repo[pygit2.Oid(hex=start)])
    for _, _, partial in later:
        for path, oid in trees.added_blobs(store, partial, None):  # its one file (a partial snapshot's mode)
            index.add(pygit2.IndexEntry(path.decode("utf-8", "surrogateescape"), pygit2.Oid(hex=oid),
                                        pygit2.GIT_FILEMODE_BLOB))
    steps = ", ".join(str(n) for n, _, _ in later)
    return str(index.write_tree(store.repo)), f"{where} with the transcript's files of step{'s' if len(later) > 1 else ''} {steps}"


def default_worktree(store: Store, session_id: str, step_n: int) -> str:
    top = store.location.worktree or os.path.dirname(store.location.common_dir.rstrip("/"))
    top = top.rstrip("/")
    return os.path.join(os.path.dirname(top), f"{os.path.basename(top)}-{session_id[:8]}-step{step_n}")


def add_worktree(store: Store, session_id: str, step_n: int, path: str | None) -> str:
    """A new linked worktree at `path` (default: beside the repository) with
    the working files of step `step_n`; the user's checkout is not touched."""
    path = os.path.abspath(path or default_worktree(store, session_id, step_n))
    if os.path.exists(path) and (not os.path.isdir(path) or os.listdir(path)):
        raise UnusableDirectory(f"'{path}' already exists",
                                hint="name another directory with --worktree PATH")
    commit = snapshot_commit(store, session_id, step_n)
    if commit is None:
        raise NoContext(f"session {session_id[:12]} has no snapshot or base commit at step {step_n}",
                        hint="the working files of that step are not in this repository")
    try:
        git.run(["worktree", "add", "--detach", "--quiet", path, commit],
                cwd=store.location.worktree or store.location.common_dir)
    except GitCommandError as exc:
        raise UnusableDirectory(f"cannot make the worktree '{path}': {exc.message}") from exc
    return path


def remove_worktree(store: Store, path: str) -> None:
    """Undo `add_worktree` (a resume that failed after making it)."""
    try:
        git.run(["worktree", "remove", "--force", path],
                cwd=store.location.worktree or store.location.common_dir)
    except GitCommandError:
        pass


def rebase(context: dict, cwd: str) -> dict:
    """`context` with the paths under the session's own directory moved to
    `cwd`: a resumed session reads and writes its files in the new worktree,
    never in the checkout it was recorded in."""
    old_cwd = (context.get("info") or {}).get("cwd")
    if not old_cwd or old_cwd.rstrip("/") == cwd.rstrip("/"):
        return context
    old = json.dumps(old_cwd.rstrip("/"), ensure_ascii=False)[1:-1]
    new = json.dumps(cwd.rstrip("/"), ensure_ascii=False)[1:-1]
    pattern = re.compile(re.escape(old) + r'(?=/|\\|"|$)')
    messages = []
    for m in context["messages"]:
        text = pattern.sub(lambda _: new, json.dumps(m["message"], ensure_ascii=False))
        messages.append({**m, "message": json.loads(text)})
    return {**context, "messages": messages}
