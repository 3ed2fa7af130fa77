"""A scripted stand-in for the OpenAI Responses API, served on loopback.

The real Codex CLI runs a whole session against it offline: it executes
its real tools, fires its real hooks and writes its real rollout, while
the "model" answers from a script. The script follows the conventions of
scripted_model.py (the Anthropic Messages stand-in Claude Code runs
against): entry i answers the request whose input already holds i model
responses, a model response being a run of consecutive assistant-side
items (assistant messages, reasoning, tool calls). An entry is one of
    {"say": "...", "tool": "apply_patch", "input": "*** Begin Patch\\n..."}
    {"say": "...", "tool": "exec_command", "input": {"cmd": "ls"}}
    {"say": "...", "tools": [{"tool": ..., "input": ...}, ...]}   parallel calls
    {"text": "..."}                                               the turn's last words
so a session of several prompts (the later ones with `codex exec resume`)
is one flat list with a "text" entry closing each turn. A tool the request
declares as `custom` (apply_patch) is called with its input as text, any
other with its input as JSON arguments. Without "say", or with an empty
one, a tool call comes alone, as models often send them. Requests that
offer no tools get a short text; past the end of the script every answer
is "Done.".

In tests: `with ScriptedResponses(script) as model:` serves on 127.0.0.1 at
a free port (`model.url`, ending in /v1) from a thread and records every
request in `model.requests`. `codex_config(model.url)` is the config.toml
that points Codex at it. By hand: `python tests/support/scripted_responses.py
--script turns.json --port 18931`. Written for @openai/codex 0.169.0.
"""

from __future__ import annotations

import argparse
import itertools
import json
import uuid
from http.server import BaseHTTPRequestHandler

try:
    from .scripted_model import ScriptedModel
except ImportError:  # run as a script
    from scripted_model import ScriptedModel

# Input items the model produced (the rest came from the user or the tools).
MODEL_ITEMS = frozenset({"function_call", "custom_tool_call", "reasoning", "local_shell_call",
                         "web_search_call", "tool_search_call"})


def codex_config(url: str, model: str = "gpt-5.5") -> str:
    """A config.toml that runs Codex offline against the server at `url`.

    The model must be one `codex debug models` lists, or Codex does not
    offer apply_patch; the features switched off would reach the internet
    at start-up.
    """
    return (f'model = "{model}"\nmodel_provider = "scripted"\ncheck_for_update_on_startup = false\n'
            "[analytics]\nenabled = false\n"
            "[features]\nplugins = false\nremote_plugin = false\napps = false\n"
            "[model_providers.scripted]\nname = \"Scripted\"\n"
            f'base_url = "{url}"\nwire_api = "responses"\nenv_key = "SCRIPTED_API_KEY"\n')


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


def responses_so_far(body: dict) -> int:
    """How many model responses the request's input already holds."""
    count, inside = 0, False
    for item in body.get("input") or []:
        kind = item.get("type", "message")
        ours = kind in MODEL_ITEMS or (kind == "message" and item.get("role") == "assistant")
        count += ours and not inside
        inside = ours
    return count


def _message(text: str) -> dict:
    return {"id": _new_id("msg"), "type": "message", "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []}]}


def answer_for(body: dict, script: list) -> list[dict]:
    """The output items that answer one request."""
    if not body.get("tools"):
        return [_message("Scripted session")]
    n = responses_so_far(body)
    entry = script[n] if n < len(script) else {"text": "Done."}
    if "text" in entry:
        return [_message(entry["text"])]
    custom = {t.get("name") for t in body["tools"] if t.get("type") == "custom"}
    items = [_message(entry["say"])] if entry.get("say") else []
    for call in entry.get("tools") or [{"tool": entry["tool"], "input": entry["input"]}]:
        name, given = call["tool"], call["input"]
        if name in custom:
            items.append({"id": _new_id("ctc"), "type": "custom_tool_call", "status": "completed",
                          "call_id": _new_id("call"), "name": name,
                          "input": given if isinstance(given, str) else json.dumps(given)})
        else:
            items.append({"id": _new_id("fc"), "type": "function_call", "status": "completed",
                          "call_id": _new_id("call"), "name": name,
                          "arguments": given if isinstance(given, str) else json.dumps(given)})
    return items


def _events(items: list[dict], model: str | None):
    """The server-sent events of one streamed response."""
    seq = itertools.count()

    def sse(kind: str, **data) -> bytes:
        return f"event: {kind}\ndata: {json.dumps({'type': kind, 'sequence_number': next(seq), **data})}\n\n".encode()

    response = {"id": _new_id("resp"), "object": "response", "created_at": 0, "model": model,
                "status": "in_progress", "output": []}
    yield sse("response.created", response=response)
    for i, item in enumerate(items):
        at = {"item_id": item["id"], "output_index": i}
        if item["type"] == "message":
            text = item["content"][0]["text"]
            yield sse("response.output_item.added", output_index=i, item={**item, "status": "in_progress",
                                                                         "content": []})
            yield sse("response.output_text.delta", **at, content_index=0, delta=text, logprobs=[])
            yield sse("response.output_text.done", **at, content_index=0, text=text, logprobs=[])
        elif item["type"] == "function_call":
            yield sse("response.output_item.added", output_index=i, item={**item, "status": "in_progress",
                                                                         "arguments": ""})
            yield sse("response.function_call_arguments.delta", **at, delta=item["arguments"])
            yield sse("response.function_call_arguments.done", **at, arguments=item["arguments"])
        else:
            yield sse("response.output_item.added", output_index=i, item={**item, "status": "in_progress",
                                                                         "input": ""})
            yield sse("response.custom_tool_call_input.delta", **at, delta=item["input"])
            yield sse("response.custom_tool_call_input.done", **at, input=item["input"])
        yield sse("response.output_item.done", output_index=i, item=item)
    usage = {"input_tokens": 100, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 20,
             "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 120}
    yield sse("response.completed", response={**response, "status": "completed", "output": items,
                                              "usage": usage})


def _handler(model: "ScriptedResponses"):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _json(self, obj: dict) -> None:
            data = json.dumps(obj).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self._json({"object": "list", "data": [], "models": []} if self.path.rstrip("/").endswith("/models")
                       else {})

        def do_POST(self):
            length = int(self.headers.get("content-length", 0))
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                body = {}
            if not self.path.rstrip("/").endswith("/responses"):
                return self._json({})  # analytics and the like: accepted, ignored
            items = answer_for(body, model.script)
            with model.lock:
                model.requests.append({"path": self.path, "tools": len(body.get("tools") or []),
                                       "input": len(body.get("input") or []),
                                       "answer": [i["type"] + ":" + i.get("name", "") for i in items],
                                       "body": body})
            if not body.get("stream"):
                return self._json({"id": _new_id("resp"), "object": "response", "status": "completed",
                                   "model": body.get("model"), "output": items,
                                   "usage": {"input_tokens": 100, "output_tokens": 20, "total_tokens": 120}})
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.end_headers()
            for chunk in _events(items, body.get("model")):
                self.wfile.write(chunk)
            self.wfile.flush()

    return Handler


class ScriptedResponses(ScriptedModel):
    """The server, run from a thread for as long as the `with` block lasts."""

    make_handler = staticmethod(_handler)
    url_path = "/v1"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=18931)
    parser.add_argument("--script", required=True)
    args = parser.parse_args()
    with open(args.script) as fh:
        script = json.load(fh)
    model = ScriptedResponses(script, args.port)
    print(f"serving on {model.url}", flush=True)
    model.server.serve_forever()


if __name__ == "__main__":
    main()
