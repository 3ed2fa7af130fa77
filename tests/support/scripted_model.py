"""A scripted stand-in for the Anthropic Messages API, served on loopback.

The real Claude Code CLI runs a whole session against it offline: it
executes its real tools, fires its real hooks and writes its real
transcript, while the "model" answers from a script.

Script: a list. Entry i answers the request whose history already holds i
assistant messages. An entry is one of
    {"say": "...", "tool": "Write", "input": {...}}        one tool call
    {"say": "...", "tools": [{"tool": ..., "input": ...}]} parallel calls
    {"text": "..."}                                        the turn's last words
so a session of several prompts (the later ones with --resume) is one flat
list with a "text" entry closing each turn. Requests that offer no tools
(titles, summaries) get a short text; past the end of the script every
answer is "Done.".

In tests: `with ScriptedModel(script) as model:` serves on 127.0.0.1 at a
free port (`model.url`) from a thread and records every request (its path, counts and whole `body`) in
`model.requests`. By hand: `python tests/support/scripted_model.py --script
turns.json --port 18923`, then run claude with ANTHROPIC_BASE_URL=http://127.0.0.1:18923
ANTHROPIC_API_KEY=sk-ant-test CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1
IS_SANDBOX=1 and a scratch HOME (IS_SANDBOX=1 lets
--dangerously-skip-permissions run as root). Written for
@anthropic-ai/claude-code 2.1.328.
"""

from __future__ import annotations

import argparse
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _sse(event: str, data: dict) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def answer_for(body: dict, script: list) -> tuple[list, str]:
    """The content blocks and stop reason that answer one request."""
    if not body.get("tools"):
        return [{"type": "text", "text": "Scripted session"}], "end_turn"
    so_far = sum(1 for m in body.get("messages", []) if m.get("role") == "assistant")
    entry = script[so_far] if so_far < len(script) else {"text": "Done."}
    if "text" in entry:
        return [{"type": "text", "text": entry["text"]}], "end_turn"
    calls = entry.get("tools") or [{"tool": entry["tool"], "input": entry["input"]}]
    blocks = [{"type": "text", "text": entry.get("say", "Working on it.")}]
    for call in calls:
        blocks.append({"type": "tool_use", "id": "toolu_" + uuid.uuid4().hex[:24],
                       "name": call["tool"], "input": call["input"]})
    return blocks, "tool_use"


def _stream(blocks: list, stop: str, model: str | None):
    yield _sse("message_start", {"type": "message_start", "message": {
        "id": "msg_" + uuid.uuid4().hex[:24], "type": "message", "role": "assistant",
        "model": model, "content": [], "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 1}}})
    for i, block in enumerate(blocks):
        if block["type"] == "text":
            yield _sse("content_block_start", {"type": "content_block_start", "index": i,
                                               "content_block": {"type": "text", "text": ""}})
            yield _sse("content_block_delta", {"type": "content_block_delta", "index": i,
                                               "delta": {"type": "text_delta", "text": block["text"]}})
        else:
            yield _sse("content_block_start", {"type": "content_block_start", "index": i,
                                               "content_block": dict(block, input={})})
            yield _sse("content_block_delta", {"type": "content_block_delta", "index": i, "delta": {
                "type": "input_json_delta", "partial_json": json.dumps(block["input"])}})
        yield _sse("content_block_stop", {"type": "content_block_stop", "index": i})
    yield _sse("message_delta", {"type": "message_delta",
                                 "delta": {"stop_reason": stop, "stop_sequence": None},
                                 "usage": {"output_tokens": 5}})
    yield _sse("message_stop", {"type": "message_stop"})


def _handler(model: "ScriptedModel"):
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
            self._json({})

        def do_POST(self):
            length = int(self.headers.get("content-length", 0))
            body = json.loads(self.rfile.read(length) or b"{}")
            with model.lock:
                model.requests.append({"path": self.path, "tools": len(body.get("tools", [])),
                                       "messages": len(body.get("messages", [])), "model": body.get("model"),
                                       "body": body})
            if "count_tokens" in self.path:
                return self._json({"input_tokens": 10})
            blocks, stop = answer_for(body, model.script)
            if not body.get("stream"):
                return self._json({"id": "msg_" + uuid.uuid4().hex[:24], "type": "message",
                                   "role": "assistant", "model": body.get("model"), "content": blocks,
                                   "stop_reason": stop, "stop_sequence": None,
                                   "usage": {"input_tokens": 10, "output_tokens": 5}})
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.end_headers()
            for chunk in _stream(blocks, stop, body.get("model")):
                self.wfile.write(chunk)
            self.wfile.flush()

    return Handler


class ScriptedModel:
    """The server, run from a thread for as long as the `with` block lasts.

    A server of another API (scripted_responses.py) is a subclass that
    names its request handler and the path its API lives under."""

    make_handler = staticmethod(_handler)
    url_path = ""

    def __init__(self, script: list, port: int = 0):
        self.script = script
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self.make_handler(self))
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{self.url_path}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "ScriptedModel":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=18923)
    parser.add_argument("--script", required=True)
    args = parser.parse_args()
    with open(args.script) as fh:
        script = json.load(fh)
    model = ScriptedModel(script, args.port)
    print(f"serving on {model.url}", flush=True)
    model.server.serve_forever()


if __name__ == "__main__":
    main()
