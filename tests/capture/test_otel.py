"""The OTLP receiver (`git ot otel serve`): decoding, joining, bad input.

The bodies are the ones the real Claude Code 2.1.328 exported in the
recorded scenarios (tests/fixtures/claude-code/recorded-2.1.328/*/otlp-*.json,
OTLP/JSON); the protobuf bodies are the same requests encoded with
opentelemetry-proto. The receiver runs in a thread of the test process on
free ports, exactly as `git ot otel serve` runs it.
"""

from __future__ import annotations

import base64
import glob
import gzip
import http.client
import json
import os
import signal as signals
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from google.protobuf import json_format

from git_ot.capture.claude_code import hooks
from git_ot.capture.otel import receiver
from git_ot.capture.otel.decode import decode, request_class
from git_ot.domain.fold import Folder, Payloads, codex_prompt_target, new_records
from git_ot.errors import BadPayload
from git_ot.store.gitdir import locate
from git_ot.store.spool import Spool
from support.repo import replay
from support.spec import read_session, validate

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "claude-code" / "recorded-2.1.328"
SCENARIOS = ("linear-edit", "bash-writes", "parallel-tools", "commit-mid-turn")
LINEAR_SID = "265a3953-3ae5-4217-ac1f-2e0725711a3c"


def bodies(scenario: str) -> list[tuple[str, bytes]]:
    """(signal, OTLP/JSON body) of every export of a scenario, in order."""
    out = []
    for path in sorted(glob.glob(str(RECORDED / scenario / "otlp-*.json"))):
        out.append((path.rsplit("-", 1)[1][: -len(".json")], Path(path).read_bytes()))
    return out


def to_protobuf(signal: str, body: bytes) -> bytes:
    """The same request as protobuf: OTLP/JSON's hex ids are base64 in the
    protobuf JSON mapping json_format reads."""
    def fix(value):
        if isinstance(value, dict):
            return {k: (base64.b64encode(bytes.fromhex(v)).decode()
                        if k in ("traceId", "spanId", "parentSpanId") and v else fix(v))
                    for k, v in value.items()}
        if isinstance(value, list):
            return [fix(v) for v in value]
        return value

    msg = json_format.ParseDict(fix(json.loads(body)), request_class(signal)())
    return msg.SerializeToString()


# -- decoding ------------------------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_json_and_protobuf_give_the_same_events(scenario):
    for signal, body in bodies(scenario):
        as_json = decode(signal, body, "application/json", 1.0)
        as_proto = decode(signal, to_protobuf(signal, body), "application/x-protobuf", 1.0)
        assert as_json.events == as_proto.events  # ids too: they hash what a record says
        assert as_json.items == len(as_json.events) > 0 and as_json.unowned == 0


def test_a_log_record_becomes_one_telemetry_event():
    signal, body = bodies("linear-edit")[0]
    events = decode(signal, body, "application/json", 7.0).events
    prompt = next(e for e in events if e["event"] == "claude_code.user_prompt")
    assert {k: v for k, v in prompt.items() if k != "id"} == {
        "v": 1, "t": 7.0, "source": "claude-code", "event": "claude_code.user_prompt",
        "session": LINEAR_SID, "kind": "telemetry",
        "data": {
            "signal": "logs", "name": "claude_code.user_prompt", "time": 1795545637.72,
            # The log's trace context: the interaction span it was emitted in.
            "trace_id": "c12d946ef7ef0d6410c9f2954850d8c5", "span_id": "8645716513aed863",
            "attributes": {
                "user.id": "ac5c8fb91ce55894f7fe1421ccae40291b48d1bcc60cf13c428f68b7a22558b1",
                "anthropic.provider": "firstParty", "anthropic.custom_base_url": True,
                "terminal.type": "xterm", "event.name": "user_prompt",
                "event.timestamp": "2026-11-24T18:40:37.720Z", "event.sequence": 18,
                "prompt.id": "23bae6f9-b34e-432d-925b-70ab62ddcceb", "prompt_length": "35",
                "prompt": "add a farewell function with a test",
                "prompt_text": "add a farewell function with a test",
                "message.uuid": "99f86856-8b8d-4ff2-9da3-c0c1326587fd"},
            "prompt_id": "23bae6f9-b34e-432d-925b-70ab62ddcceb", "sequence": 18,
            "harness_version": "2.1.328"},
    }


@pytest.mark.parametrize("signal, body, ctype, message", [
    ("logs", b"\xff\xfe", "application/json", "the body is not JSON"),
    ("logs", b"[1, 2]", "application/json", "the body is not an OTLP logs request (no 'resourceLogs')"),
    ("logs", b'{"hello": "world"}', "application/json",
     "the body is not an OTLP logs request (no 'resourceLogs')"),
    ("traces", b'{"resourceSpans": "x"}', "application/json",
     "the body is not an OTLP traces request: expected a list, got str"),
    ("logs", b'{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"attributes": [{"key": "a", '
             b'"value": {"intValue": "x"}}]}]}]}]}', "application/json",
     "the body is not an OTLP logs request: invalid literal for int() with base 10: 'x'"),
    ("metrics", b"\x0a\xff\xff\xff\xff\x0f", "application/x-protobuf",
     "the body is not an OTLP metrics protobuf request"),
])
def test_a_body_that_is_not_otlp_is_refused_whole(signal, body, ctype, message):
    with pytest.raises(BadPayload) as err:
        decode(signal, body, ctype, 1.0)
    assert err.value.message.startswith(message)


def test_records_that_name_no_session_are_counted_not_kept():
    body = json.dumps({"resourceLogs": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "claude-code"}}]},
        "scopeLogs": [{"logRecords": [{"body": {"stringValue": "x"}}]}]}]}).encode()
    out = decode("logs", body, "application/json", 1.0)
    assert (out.items, out.unowned, out.events) == (1, 1, [])


# -- joining (the fold) ----------------------------------------------------------


def hook_events(scenario: str) -> list[dict]:
    out = []
    for i, line in enumerate((RECORDED / scenario / "hooks.jsonl").read_text().splitlines()):
        payload = json.loads(line)
        event = hooks.normalise(None, payload)
        event.pop("writes")
        out.append({"v": 1, "id": f"{i:016x}", "t": payload["_received_at"], **event})
    return out


def telemetry_events(scenario: str) -> list[dict]:
    return [e for signal, body in bodies(scenario)
            for e in decode(signal, body, "application/json", 0.0).events]


def fold(*batches) -> dict:
    """The records after one seal per batch."""
    recs = new_records(hook_events("linear-edit")[0]["session"])
    for batch in batches:
        folder = Folder(recs, Payloads(lambda data: "0" * 40))
        for event in batch:
            folder.apply(event)
        folder.settle()
    return recs


def joins(trace: dict) -> list[tuple]:
    return [(s["n"], s["kind"], s.get("name") or s.get("text"),
             [t["event"] for t in s.get("telemetry", [])])
            for s in trace["steps"]]


REQUEST = ["claude_code.api_request", "claude_code.assistant_response"]
TOOL = ["claude_code.tool_decision", "claude_code.tool_result", "claude_code.tool.execution",
        "claude_code.tool", "claude_code.tool.blocked_on_user"]
LINEAR_JOINS = [
    (1, "prompt", "add a farewell function with a test", ["claude_code.user_prompt"]),
    (2, "tool", "Edit", REQUEST + TOOL),
    (3, "tool", "Write", REQUEST + TOOL),
    (4, "tool", "Bash", REQUEST + TOOL),
    (5, "message", "Added farewell() with a test; tests pass.", REQUEST),
    (6, "prompt", "make greet say hello instead of hi", ["claude_code.user_prompt"]),
    (7, "tool", "Edit", REQUEST + TOOL),
    (8, "tool", "Edit", REQUEST + TOOL),
    (9, "message", "greet now says hello.", REQUEST),
]


def test_each_step_gets_its_requests_and_tool_records():
    recs = fold(hook_events("linear-edit") + telemetry_events("linear-edit"))
    steps = recs["trace"]["steps"]
    assert joins(recs["trace"]) == LINEAR_JOINS
    assert [(s.get("model"), s.get("api", {}).get("duration_ms"), s.get("decision"), s.get("duration_ms"))
            for s in steps] == [
        (None, None, None, None),
        ("claude-opus-5-5", 21, {"decision": "accept", "source": "config"}, 9),
        ("claude-opus-5-5", 11, {"decision": "accept", "source": "config"}, 3),
        ("claude-opus-5-5", 15, {"decision": "accept", "source": "config"}, 145),
        ("claude-opus-5-5", 6, None, None),
        (None, None, None, None),
        ("claude-opus-5-5", 27, {"decision": "accept", "source": "config"}, 7),
        ("claude-opus-5-5", 7, {"decision": "accept", "source": "config"}, 3),
        ("claude-opus-5-5", 14, None, None),
    ]
    assert steps[1]["usage"] == {"input_tokens": 10, "output_tokens": 5, "cache_creation_input_tokens": 0,
                                 "cache_read_input_tokens": 0}
    assert steps[1]["api"] == {"model": "claude-opus-5-5", "cost_usd": 0.00014000000000000001,
                               "duration_ms": 21, "ttft_ms": 10}
    # What joins no step waits in the trace: start-up records, hook runs,
    # metrics, the interaction and model-request spans.
    waiting = {t["event"] for t in recs["trace"]["telemetry"]}
    assert waiting == {
        "claude_code.managed_settings_resolved", "claude_code.hook_registered", "claude_code.plugin_loaded",
        "claude_code.hook_execution_start", "claude_code.hook_execution_complete",
        "claude_code.session.count", "claude_code.lines_of_code.count", "claude_code.cost.usage",
        "claude_code.token.usage", "claude_code.code_edit_tool.decision", "claude_code.active_time.total",
        "claude_code.interaction", "claude_code.llm_request"}


def test_telemetry_that_arrives_before_its_steps_joins_them_at_the_seal():
    recs = fold(telemetry_events("linear-edit") + hook_events("linear-edit"))
    assert joins(recs["trace"]) == LINEAR_JOINS


def test_telemetry_sealed_before_its_steps_joins_them_at_a_later_seal():
    recs = fold(telemetry_events("linear-edit"), hook_events("linear-edit"))
    assert joins(recs["trace"]) == LINEAR_JOINS


def test_a_request_whose_tool_record_comes_later_waits_for_it():
    """The turn has ended (its closing message is a step) when the Bash call's
    request arrives without the records that follow it: it is not taken for
    the closing message's request, and joins the Bash step once they come."""
    tel = [e for e in telemetry_events("linear-edit") if e["event"].startswith("claude_code.")
           and e["data"]["signal"] == "logs"
           and e["data"].get("prompt_id") == "23bae6f9-b34e-432d-925b-70ab62ddcceb"]
    tel.sort(key=lambda e: e["data"]["sequence"])
    bash_request = [e for e in tel if e["event"] == "claude_code.api_request"][2]
    cut = tel.index(bash_request) + 1
    events = hook_events("linear-edit")
    first_turn = events[:[e["event"] for e in events].index("Stop") + 1]
    recs = fold(first_turn + tel[:cut])
    assert [t["event"] for t in recs["trace"]["steps"][3].get("telemetry", [])] == []
    assert [t["event"] for t in recs["trace"]["steps"][4].get("telemetry", [])] == []
    recs_later = fold(first_turn + tel[:cut], tel[cut:])
    assert [t["event"] for t in recs_later["trace"]["steps"][3]["telemetry"]] == [
        "claude_code.api_request", "claude_code.assistant_response", "claude_code.tool_decision",
        "claude_code.tool_result"]
    assert [t["event"] for t in recs_later["trace"]["steps"][4]["telemetry"]] == REQUEST


def test_two_calls_of_one_reply_share_its_request_on_the_first():
    recs = new_records("x")
    folder = Folder(recs, Payloads(lambda data: "0" * 40))
    for event in hook_events("parallel-tools") + telemetry_events("parallel-tools"):
        folder.apply(event)
    folder.settle()
    assert joins(recs["trace"])[:3] == [
        (1, "prompt", "create modules a and b", ["claude_code.user_prompt"]),
        (2, "tool", "Write", REQUEST + TOOL),
        (3, "tool", "Write", TOOL),
    ]
    assert "usage" not in recs["trace"]["steps"][2]


def test_a_codex_prompt_record_joins_the_prompt_step_next_to_it():
    """Codex's `codex.user_prompt` names no prompt: it joins the prompt step
    next to it in time with the prompt's length, and waits while a step or
    another prompt's record lies between (its own step not sealed yet)."""
    def step(n, kind, t, text=None):
        return {"n": n, "kind": kind, "t": t, **({"text": text} if text else {})}

    def record(t, length):
        return {"id": f"r{t}", "event": "codex.user_prompt", "t": t,
                "data": {"signal": "logs", "attributes": {"prompt": "[REDACTED]", "prompt_length": str(length)}}}

    turn1 = [step(1, "prompt", 10.00, "add a farewell function"), step(2, "tool", 10.20), step(3, "message", 10.40)]
    turn2 = [step(4, "prompt", 12.00, "anything else?"), step(5, "message", 12.30)]
    first, second = record(10.01, 23), record(12.01, 14)
    api = {"id": "a", "event": "codex.api_request", "t": 10.1, "data": {"signal": "logs", "attributes": {}}}
    records = [first, api, second]
    assert codex_prompt_target(first, turn1 + turn2, records)["n"] == 1
    assert codex_prompt_target(second, turn1 + turn2, records)["n"] == 4
    # The second turn's step is not known yet: its record does not take the first prompt.
    assert codex_prompt_target(second, turn1, records) is None
    assert codex_prompt_target(second, turn1[:1], [second]) is None  # ... nor past its length
    # A prompt step that has its record takes no other.
    taken = [{**turn1[0], "telemetry": [first]}] + turn1[1:]
    assert codex_prompt_target(record(10.02, 23), taken, records) is None


# -- the receiver ----------------------------------------------------------------


class Running:
    """`git ot otel serve` in a thread of the test, on free ports."""

    def __init__(self, repo):
        self.location = locate(str(repo.path))
        self.stop_event = threading.Event()
        self.ready = threading.Event()
        self.result = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ready.wait(30)

    def _run(self):
        def ready(info):
            self.info = info
            self.ready.set()
        self.result = receiver.serve(self.location, grpc_port=0, http_port=0, ready=ready,
                                     stop=self.stop_event)

    def post(self, path: str, body: bytes, ctype: str = "application/json", **headers):
        conn = http.client.HTTPConnection("127.0.0.1", self.info["http_port"], timeout=30)
        conn.request("POST", path, body=body, headers={"Content-Type": ctype, **headers})
        resp = conn.getresponse()
        out = resp.status, resp.read()
        conn.close()
        return out

    def stop(self) -> dict:
        self.stop_event.set()
        self.thread.join(30)
        return self.result


@pytest.fixture
def known(repo):
    """A repository whose hooks recorded the linear-edit session."""
    assert replay(repo, "linear-edit") == LINEAR_SID
    return repo


def test_http_json_protobuf_and_gzip_are_joined_to_the_replayed_session(known):
    running = Running(known)
    sent = 0
    for i, (signal, body) in enumerate(bodies("linear-edit")):
        # Every third as protobuf, every other one gzipped.
        if i % 3 == 1:
            body, ctype = to_protobuf(signal, body), "application/x-protobuf"
        else:
            ctype = "application/json"
        headers = {"Content-Encoding": "gzip"} if i % 2 else {}
        status, answer = running.post(f"/v1/{signal}", gzip.compress(body) if i % 2 else body, ctype,
                                      **headers)
        assert status == 200
        assert answer == (b"{}" if ctype == "application/json" else b"")
        sent += len(decode(signal, body, ctype, 0.0).events)
    # An exporter that sends a request again (it timed out waiting) adds nothing.
    signal, body = bodies("linear-edit")[2]
    assert running.post(f"/v1/{signal}", body)[0] == 200
    again = len(decode(signal, body, "application/json", 0.0).events)
    result = running.stop()
    assert (result["items"], result["spooled"], result["held"], result["refused"]) == \
        (sent + again, sent + again, 0, 0)
    steps = known.ot_json("trace", "show", LINEAR_SID)["steps"]
    assert joins({"steps": steps}) == LINEAR_JOINS
    read_session(known.path, LINEAR_SID)  # every seal as refs/ specifies it


def test_bad_requests_are_refused_and_the_receiver_keeps_what_it_accepted(known):
    running = Running(known)
    port = running.info["http_port"]
    signal, good = bodies("linear-edit")[0]
    assert running.post("/v1/logs", b"not protobuf at all \xff", "application/x-protobuf")[0] == 400
    assert running.post("/v1/logs", b'{"not": "otlp"}')[0] == 400
    assert running.post("/v1/logs", good, "text/plain")[0] == 415
    assert running.post("/v1/profiles", good)[0] == 404
    assert running.post("/v1/logs", b"\x1f\x8b not gzip", **{"Content-Encoding": "gzip"})[0] == 400
    # A body over the limit is refused from its length, unread.
    big = b"x" * (50 * 1024 * 1024)
    assert running.post("/v1/logs", big)[0] == 413
    # A client that goes away in the middle of its body: nothing is kept.
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(good) + good[:len(good) // 2])
    assert running.post("/v1/logs", good) == (200, b"{}")
    result = running.stop()
    n = len(decode(signal, good, "application/json", 0.0).events)
    assert (result["requests"], result["refused"], result["spooled"], result["held"]) == (7, 6, n, 0)
    spooled = [e for e in Spool(running.location.state_dir).peek(LINEAR_SID) if e["kind"] == "telemetry"]
    assert len(spooled) == n
    for event in spooled:
        validate("spool-event", event)  # the spool line refs/ specifies


def test_grpc_export_and_a_malformed_grpc_message(known):
    import grpc
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc

    running = Running(known)
    signal, body = bodies("linear-edit")[0]
    request = request_class(signal)()
    request.ParseFromString(to_protobuf(signal, body))
    with grpc.insecure_channel(f"127.0.0.1:{running.info['grpc_port']}") as channel:
        raw = channel.unary_unary("/opentelemetry.proto.collector.logs.v1.LogsService/Export")
        with pytest.raises(grpc.RpcError) as err:
            raw(b"\x0a\xff\xff\xff\xff\x0f", timeout=10)
        assert err.value.code() in (grpc.StatusCode.INTERNAL, grpc.StatusCode.INVALID_ARGUMENT)
        answer = logs_service_pb2_grpc.LogsServiceStub(channel).Export(request, timeout=10)
        assert not answer.HasField("partial_success")
    result = running.stop()
    assert result["spooled"] == len(request.resource_logs[0].scope_logs[0].log_records)


def test_an_unknown_session_is_held_until_the_repository_knows_it(repo):
    running = Running(repo)
    signal, body = bodies("linear-edit")[0]
    assert running.post("/v1/logs", body) == (200, b"{}")
    state_dir = running.location.state_dir
    held = Path(state_dir) / "otel" / "held" / f"{LINEAR_SID}.jsonl"
    assert held.exists() and not (Path(state_dir) / "spool" / f"{LINEAR_SID}.jsonl").exists()
    assert repo.cli_json("status")["telemetry"]["held"] == 1
    assert repo.cli_json("status")["telemetry"]["receiver"]["pid"] == running.info["pid"]
    # The session's hooks run here: the held records move to its spool.
    replay(repo, "linear-edit")
    deadline = time.monotonic() + 30
    while held.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    result = running.stop()
    n = len(decode(signal, body, "application/json", 0.0).events)
    assert (result["held"], result["claimed"], result["held_sessions"]) == (n, n, [])
    steps = repo.ot_json("trace", "show", LINEAR_SID)["steps"]
    assert steps[0]["telemetry"][0]["event"] == "claude_code.user_prompt"
    assert repo.cli_json("status")["telemetry"] == {
        "receiver": None, "held": 0, "held_records": 0, "held_since": None, "held_max_age": 7 * DAY,
        "held_max_age_error": None}


DAY = 86400


def hold(location, session: str, received: int) -> Path:
    """The first linear-edit export, for `session`, held as received at
    `received` (its records' time and its journal's modification time)."""
    signal, body = bodies("linear-edit")[0]
    body = body.replace(LINEAR_SID.encode(), session.encode())
    receiver.Sink(location).accept(decode(signal, body, "application/json", float(received)))
    held = Path(location.state_dir) / "otel" / "held" / f"{session}.jsonl"
    os.utime(held, (received, received))
    return held


def test_held_telemetry_is_reported_and_deleted_once_older_than_its_max_age(repo):
    location = locate(str(repo.path))
    received = int(time.time()) - 3 * DAY
    held = hold(location, LINEAR_SID, received)
    assert repo.cli_json("status")["telemetry"] == {
        "receiver": None, "held": 1, "held_records": 28, "held_since": received, "held_max_age": 7 * DAY,
        "held_max_age_error": None}
    lines = repo.cli("status").stdout.decode().splitlines()
    at = lines.index("telemetry")
    assert lines[at + 2] == ("  held          1 session(s) not known here, 28 record(s), the oldest 3d old; "
                             "deleted 7d after a session's last record")
    sink = receiver.Sink(location, max_age=7 * DAY)
    assert sink.expire(received + 7 * DAY) == []  # not older than the age yet
    assert held.exists()
    assert sink.expire(received + 7 * DAY + 1) == [LINEAR_SID]
    assert not held.exists() and sink.counts["expired"] == 28
    assert repo.cli_json("status")["telemetry"]["held"] == 0


def test_held_telemetry_of_a_session_the_repository_knows_is_not_expired_but_claimed(repo):
    location = locate(str(repo.path))
    received = int(time.time()) - 30 * DAY
    held = hold(location, LINEAR_SID, received)
    replay(repo, "linear-edit")
    sink = receiver.Sink(location, max_age=DAY)
    assert sink.expire(time.time()) == []
    sink.claim_all()
    assert not held.exists() and sink.counts["claimed"] == 28
    steps = repo.ot_json("trace", "show", LINEAR_SID)["steps"]
    assert steps[0]["telemetry"][0]["event"] == "claude_code.user_prompt"


def test_the_receiver_deletes_what_is_held_past_ot_otel_heldmaxage_before_it_answers(repo):
    repo.git("config", "ot.otel.heldMaxAge", "2d")
    location = locate(str(repo.path))
    now = int(time.time())
    old = hold(location, "old-session", now - 3 * DAY)
    young = hold(location, "young-session", now - 1 * DAY)
    running = Running(repo)
    assert not old.exists() and young.exists()
    result = running.stop()
    assert (result["expired"], result["held_sessions"]) == (28, ["young-session"])


def test_a_bad_ot_otel_heldmaxage_stops_the_receiver_and_status_says_so(repo):
    repo.git("config", "ot.otel.heldMaxAge", "3 days")
    proc = repo.ot("otel", "serve", "--grpc-port", "0", "--http-port", "0")
    assert (proc.returncode, proc.stdout) == (1, b"")
    assert proc.stderr.decode().splitlines() == [
        "error: invalid ot.otel.heldMaxAge '3 days'",
        "hint: give an age such as '7d', '2w', '24h' or '30m'",
    ]
    report = repo.cli_json("status")
    assert (report["telemetry"]["held_max_age"], report["telemetry"]["held_max_age_error"]) == (
        None, "invalid ot.otel.heldMaxAge '3 days'")
    assert {"problem": "invalid ot.otel.heldMaxAge '3 days'",
            "hint": "give an age such as '7d', '2w', '24h' or '30m' ('git config ot.otel.heldMaxAge 7d'), "
                    "or unset it for the default of 7d; 'git ot otel serve' does not start until then"} \
        in report["problems"]


def test_a_port_in_use_is_one_clear_line(repo):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = repo.ot("otel", "serve", "--grpc-port", "0", "--http-port", str(port))
        assert proc.returncode == 1
        assert proc.stderr.decode().splitlines() == [
            f"error: cannot listen for OTLP/HTTP on 127.0.0.1:{port}: address already in use",
            "hint: stop what listens there, or choose another port with --http-port",
        ]
        proc = repo.ot("otel", "serve", "--grpc-port", str(port), "--http-port", "0")
        assert proc.returncode == 1
        assert proc.stderr.decode().splitlines() == [
            f"error: cannot listen for OTLP/gRPC on 127.0.0.1:{port}: address already in use",
            "hint: stop what listens there, or choose another port with --grpc-port",
        ]
    assert not (repo.path / ".git" / "opentraces" / "otel.json").exists()


def test_a_second_receiver_for_the_same_repository_is_refused(repo):
    running = Running(repo)
    try:
        proc = repo.ot("otel", "serve", "--grpc-port", "0", "--http-port", "0")
        info = running.info
        assert proc.returncode == 1
        assert proc.stderr.decode().splitlines() == [
            f"error: an OTLP receiver already runs for this repository (pid {info['pid']}, "
            f"grpc 127.0.0.1:{info['grpc_port']}, http 127.0.0.1:{info['http_port']})",
            f"hint: stop it first ('kill {info['pid']}'), or use that one",
        ]
    finally:
        running.stop()


# -- install claude-code --otel ----------------------------------------------------

OTEL_ENV = {
    "CLAUDE_CODE_ENABLE_TELEMETRY": "1",
    "CLAUDE_CODE_ENHANCED_TELEMETRY_BETA": "1",
    "OTEL_LOGS_EXPORTER": "otlp",
    "OTEL_METRICS_EXPORTER": "otlp",
    "OTEL_TRACES_EXPORTER": "otlp",
    "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
    "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
    "OTEL_LOG_USER_PROMPTS": "1",
    "OTEL_LOG_TOOL_DETAILS": "1",
}


def test_install_otel_adds_the_exporter_settings_and_uninstall_removes_exactly_them(repo):
    settings = repo.path / ".claude" / "settings.json"
    settings.parent.mkdir()
    mine = {"env": {"FOO": "bar", "OTEL_EXPORTER_OTLP_ENDPOINT": "https://collector.example.com"},
            "model": "opus"}
    original = json.dumps(mine, indent=2) + "\n"
    settings.write_text(original)
    result = repo.cli_json("install", "claude-code", "--otel")
    assert result["env"] == {key: ("kept" if key == "OTEL_EXPORTER_OTLP_ENDPOINT" else "installed")
                             for key in OTEL_ENV}
    env = json.loads(settings.read_text())["env"]
    assert env == {"FOO": "bar", **OTEL_ENV, "OTEL_EXPORTER_OTLP_ENDPOINT": "https://collector.example.com"}
    # Again: nothing to do.
    assert set(repo.cli_json("install", "claude-code", "--otel")["env"].values()) == {"unchanged", "kept"}
    lines = repo.cli("install", "claude-code", "--otel").stdout.decode().splitlines()
    assert "env OTEL_EXPORTER_OTLP_ENDPOINT: kept (set to another value: left as it is)" in lines
    # --otel alone takes out only the exporter settings; the hooks stay.
    removed = repo.cli_json("uninstall", "claude-code", "--otel")
    assert removed["env"] == {key: ("kept" if key == "OTEL_EXPORTER_OTLP_ENDPOINT" else "removed")
                              for key in OTEL_ENV}
    after = json.loads(settings.read_text())
    assert after["env"] == mine["env"] and "hooks" in after
    # The plain uninstall takes out the hooks (and exporter settings, were any left).
    repo.cli_json("install", "claude-code", "--otel")
    assert repo.cli_json("uninstall", "claude-code")["env"]["OTEL_LOG_USER_PROMPTS"] == "removed"
    assert settings.read_text() == original


def test_install_otel_is_refused_for_a_harness_without_it(repo):
    from git_ot.cli.install_cmd import otel_method
    from git_ot.errors import UnsupportedHarness

    class NoTelemetry:
        name = "other"

    import click

    with click.Context(click.Command("install"), obj=None) as ctx:
        ctx.params["otel"] = True
        with pytest.raises(UnsupportedHarness) as err:
            otel_method(NoTelemetry(), "install_otel", "install")
    assert (err.value.message, err.value.hint) == (
        "cannot install telemetry export for 'other' yet", "run 'git ot install other' without --otel")


def test_a_chunked_body_is_taken_too(known):
    running = Running(known)
    signal, body = bodies("linear-edit")[0]
    conn = http.client.HTTPConnection("127.0.0.1", running.info["http_port"], timeout=30)
    conn.request("POST", "/v1/logs", body=iter([body[:1000], body[1000:]]),
                 headers={"Content-Type": "application/json"}, encode_chunked=True)
    resp = conn.getresponse()
    assert (resp.status, resp.read()) == (200, b"{}")
    conn.close()
    result = running.stop()
    assert result["spooled"] == len(decode(signal, body, "application/json", 0.0).events)


def test_a_50_mb_request_is_refused_over_every_path_and_what_follows_is_kept(known):
    """50 MB: as a length over HTTP (test above), as chunks, as a gzip body
    that inflates to it, and as a gRPC message; none is kept, the receiver
    stays up, and the good request after each is kept whole."""
    import grpc
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc

    running = Running(known)
    port = running.info["http_port"]
    signal, good = bodies("linear-edit")[0]
    n = len(decode(signal, good, "application/json", 0.0).events)
    big = 50 * 1024 * 1024
    # Chunked: read up to the limit, then the connection is closed unanswered.
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(b"POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")
        chunk = b"%x\r\n" % (1 << 20) + b" " * (1 << 20) + b"\r\n"
        try:
            for _ in range(big >> 20):
                sock.sendall(chunk)
            sock.shutdown(socket.SHUT_WR)
            answer = sock.recv(100)
        except OSError:
            answer = b""  # closed (reset) by the receiver past the limit
        assert answer == b""
    assert running.post("/v1/logs", good) == (200, b"{}")
    # A gzip body of 50 KB that inflates to 50 MB.
    status, answer = running.post("/v1/logs", gzip.compress(b" " * big), **{"Content-Encoding": "gzip"})
    assert (status, json.loads(answer)) == (400, {"code": 3, "message": "the body inflates past the size limit"})
    assert running.post("/v1/logs", good) == (200, b"{}")
    # gRPC: a 50 MB message is refused by its length.
    request = request_class(signal)()
    request.ParseFromString(to_protobuf(signal, good))
    huge = request_class(signal)()
    huge.CopyFrom(request)
    huge.resource_logs[0].scope_logs[0].log_records[0].body.string_value = "x" * big
    with grpc.insecure_channel(f"127.0.0.1:{running.info['grpc_port']}") as channel:
        stub = logs_service_pb2_grpc.LogsServiceStub(channel)
        with pytest.raises(grpc.RpcError) as err:
            stub.Export(huge, timeout=60)
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert not stub.Export(request, timeout=10).HasField("partial_success")
    result = running.stop()
    assert (result["spooled"], result["held"], result["failed"]) == (3 * n, 0, 0)
    kept = [e for e in Spool(running.location.state_dir).peek(LINEAR_SID) if e["kind"] == "telemetry"]
    assert len(kept) == 3 * n and all(len(json.dumps(e)) < 1 << 20 for e in kept)


def _h2_frame(kind: int, flags: int, stream: int, payload: bytes) -> bytes:
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload


def _hpack_literal(name: bytes, value: bytes) -> bytes:
    """A header field as HPACK's literal without indexing, with a new name."""
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


def test_a_grpc_client_that_disconnects_mid_message_leaves_nothing_and_the_receiver_stays_up(known):
    import grpc
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc

    running = Running(known)
    signal, good = bodies("linear-edit")[0]
    body = to_protobuf(signal, good)
    n = len(decode(signal, good, "application/json", 0.0).events)
    path = b"/opentelemetry.proto.collector.logs.v1.LogsService/Export"
    headers = (b"\x83\x86"  # :method POST, :scheme http (HPACK static table)
               + b"\x04" + bytes([len(path)]) + path  # :path, its name from the static table
               + _hpack_literal(b":authority", b"127.0.0.1")
               + _hpack_literal(b"content-type", b"application/grpc") + _hpack_literal(b"te", b"trailers"))
    message = b"\x00" + len(body).to_bytes(4, "big") + body
    with socket.create_connection(("127.0.0.1", running.info["grpc_port"]), timeout=30) as sock:
        sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + _h2_frame(4, 0, 0, b"")
                     + _h2_frame(1, 4, 1, headers)  # HEADERS, END_HEADERS
                     + _h2_frame(0, 0, 1, message[: len(message) // 2]))  # half the message, no END_STREAM
    # Gone, half sent. The receiver answers the next client and keeps only its request.
    request = request_class(signal)()
    request.ParseFromString(body)
    with grpc.insecure_channel(f"127.0.0.1:{running.info['grpc_port']}") as channel:
        assert not logs_service_pb2_grpc.LogsServiceStub(channel).Export(request, timeout=10) \
            .HasField("partial_success")
    result = running.stop()
    assert (result["requests"], result["spooled"], result["refused"], result["failed"]) == (1, n, 0, 0)


@pytest.mark.parametrize("sig", [signals.SIGTERM, signals.SIGINT])
def test_the_command_stops_on_a_signal_after_writing_what_it_took(repo, sig):
    proc = subprocess.Popen([sys.executable, "-m", "git_ot", "otel", "serve", "--grpc-port", "0",
                             "--http-port", "0"], cwd=repo.path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        info = json.loads((repo.path / ".git" / "opentraces" / "otel.json").read_text())
        assert first == (f"receiving OTLP for {repo.path}: grpc 127.0.0.1:{info['grpc_port']}, "
                         f"http 127.0.0.1:{info['http_port']} (pid {proc.pid})\n")
        signal_name, body = bodies("linear-edit")[0]
        conn = http.client.HTTPConnection("127.0.0.1", info["http_port"], timeout=30)
        conn.request("POST", "/v1/logs", body=body, headers={"Content-Type": "application/json"})
        assert conn.getresponse().status == 200
        conn.close()
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert (proc.returncode, err) == (0, "")
    assert out.splitlines() == [
        "received 28 record(s) in 1 request(s): 0 spooled, 28 held, 0 without a session, "
        "0 request(s) refused",
        f"held for sessions not known here: {LINEAR_SID}",
    ]
    assert not (repo.path / ".git" / "opentraces" / "otel.json").exists()
    held = repo.path / ".git" / "opentraces" / "otel" / "held" / f"{LINEAR_SID}.jsonl"
    assert len(held.read_text().splitlines()) == 28
