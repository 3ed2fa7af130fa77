"""`git ot otel serve`: an OTLP receiver on loopback, writing to the spool.

Two servers share one `Sink`: gRPC (grpcio, the opentelemetry-proto
services LogsService, TraceService and MetricsService) and HTTP
(`POST /v1/logs`, `/v1/traces`, `/v1/metrics`, protobuf or JSON, gzip or
not). A request is decoded whole (capture/otel/decode.py), its events are
appended to the spool (one write per session) and only then answered, so
what the exporter was told was accepted is on disk; nothing waits for a
seal or for git. A body that does not decode is refused (HTTP 400, gRPC
INVALID_ARGUMENT) and nothing of it is kept.

Which repository a record belongs to. The receiver serves the repository
it was started in, and telemetry names no directory, only a session. A
session is this repository's once the repository knows it: its hooks
left a payload in its inbox (store/inbox.py) or spooled an event here, or
its ref exists (`refs/opentraces/sessions/<id>`).
Records of any other session are held apart, under
`<common>/opentraces/otel/held/<session>.jsonl`, and never sealed there:
a receiver that one repository started must not pour another project's
sessions (the exporter's settings may be the user's, for every project)
into this repository's bucket, from where they would be pushed. Held
records move to the spool, in order, as soon as their session becomes
known (checked with every request and every two seconds). Records of a
session that never does are only local state (refs/README.md, section 12),
and are deleted once the session's last record is older than
`ot.otel.heldMaxAge` (7 days unless set; checked when the receiver starts
and every two seconds after). `git ot status` reports what is held.
"""

from __future__ import annotations

import http.server
import json
import os
import signal
import socket
import threading
import time
import zlib

from ...domain.status import held_max_age
from ...domain.status import receiver as receiver_info
from ...errors import BadPayload, ReceiverError
from ...store import runfile, state
from ...store.refs import validate_session_id
from ...store.spool import Spool
from . import decode as otlp

DEFAULT_BIND = "127.0.0.1"
DEFAULT_GRPC_PORT = 4317
DEFAULT_HTTP_PORT = 4318
# The largest request body taken, compressed or not (the OpenTelemetry
# Collector's default is 20 MiB for gRPC): raw API bodies of a long
# conversation fit; a runaway client does not exhaust memory.
MAX_BODY = 32 * 1024 * 1024
# A larger body is read and dropped up to this size, so that the client
# reads the 413; past it the connection is closed unread.
DISCARD_LIMIT = 256 * 1024 * 1024
CLAIM_INTERVAL = 2.0
PATHS = {"/v1/logs": "logs", "/v1/traces": "traces", "/v1/metrics": "metrics"}


class _Pen(Spool):
    """The held records: the spool's format and locking, in another folder."""

    def __init__(self, directory: str):
        self.dir = directory


class Sink:
    """Where received events go: this repository's spool, or held."""

    def __init__(self, location, max_age: float = 7 * 86400):
        self.location = location
        self.max_age = max_age  # held records of a session whose last came longer ago are deleted
        self.spool = Spool(location.state_dir)
        self.pen = _Pen(state.otel_held(location.state_dir))
        self.lock = threading.Lock()
        self.known: set[str] = set()
        self.vouched: set[str] = set()  # known through the watcher: no hook captures them
        # Known sessions whose held records were moved: none are held after
        # (a known session's records go to the spool).
        self.claimed: set[str] = set()
        self._store = None
        self.closed = False  # set at shutdown: later requests are told to retry
        self.inflight = 0  # HTTP requests being read, decoded or written
        self.counts = {"requests": 0, "refused": 0, "failed": 0, "items": 0, "spooled": 0, "held": 0,
                       "claimed": 0, "rejected": 0, "expired": 0}

    def accept(self, decoded: otlp.Decoded) -> int:
        """Write one request's events; the number of items rejected (no session)."""
        by_session: dict[str, tuple[list, list]] = {}
        rejected = decoded.unowned
        valid: dict[str, bool] = {}
        for event, line in zip(decoded.events, decoded.lines):
            sid = event["session"]
            if sid not in valid:
                try:
                    validate_session_id(sid)
                    valid[sid] = True
                except Exception:
                    valid[sid] = False
            if not valid[sid]:
                rejected += 1
                continue
            events, lines = by_session.setdefault(sid, ([], []))
            events.append(event)
            lines.append(line)
        with self.lock:
            self.counts["requests"] += 1
            self.counts["items"] += decoded.items
            self.counts["rejected"] += rejected
            for sid, (events, lines) in by_session.items():
                # One write per session of what the request carried, each
                # record in the line its id was computed from.
                if self._known(sid):
                    if sid not in self.claimed:
                        self._claim(sid)
                    if sid in self.vouched:
                        self.spool.append_many(sid, self._marked(sid, events))
                    else:
                        self.spool.append_encoded(sid, b"".join(lines))
                    self.counts["spooled"] += len(events)
                else:
                    self.pen.append_encoded(sid, b"".join(lines))
                    self.counts["held"] += len(events)
        return rejected

    def failed(self, exc: BaseException) -> None:
        """A request not kept because the spool could not be written."""
        from ...store.log import log_failure

        with self.lock:
            self.counts["requests"] += 1
            self.counts["failed"] += 1
        log_failure(self.location, "otel serve: write", exc)

    def refused(self) -> None:
        with self.lock:
            self.counts["requests"] += 1
            self.counts["refused"] += 1

    def claim_all(self) -> None:
        """Move held records of sessions that became known to the spool."""
        with self.lock:
            for sid in self.pen.pending_sessions():
                if self._known(sid):
                    self._claim(sid)

    def expire(self, now: float) -> list[str]:
        """Delete the held records of every session still not known whose
        last record arrived more than `max_age` seconds before `now`; the
        sessions deleted."""
        gone = []
        with self.lock:
            for sid in self.pen.pending_sessions():
                try:
                    last = os.stat(os.path.join(self.pen.dir, sid + ".jsonl")).st_mtime
                except FileNotFoundError:
                    continue
                if now - last <= self.max_age or self._known(sid):
                    continue
                records = sum(1 for e in self.pen.peek(sid) if "corrupt" not in e)
                self.pen.forget(sid)
                self.counts["expired"] += records
                gone.append(sid)
        return gone

    def held_sessions(self) -> list[str]:
        return self.pen.pending_sessions()

    def _claim(self, sid: str) -> None:
        events = self._marked(sid, [e for e in self.pen.peek(sid) if "id" in e])
        if not events and not self.pen._files(sid):
            self.claimed.add(sid)
            return
        # Appended first, deleted after: a crash in between repeats events,
        # which their ids make harmless, and loses none.
        self.spool.append_many(sid, events)
        self.pen.forget(sid)
        self.claimed.add(sid)
        self.counts["claimed"] += len(events)

    def _marked(self, sid: str, events: list) -> list:
        """A vouched session's events say so (`"capture": "telemetry"`): its
        seal makes its steps from them (domain/fold.py)."""
        if sid not in self.vouched:
            return events
        return [{**e, "capture": "telemetry"} for e in events]

    def _known(self, sid: str) -> bool:
        if sid in self.known:
            return True
        found = sid in self.spool.pending_sessions()
        if not found:
            if self._store is None:
                from ...store.repository import Store

                self._store = Store(self.location)
            try:
                found = self._store.tip(sid) is not None
            except Exception:
                found = False
        if not found:
            found = _in_inbox(self.location, sid)
        if not found and self._vouched(sid):
            found = True
            self.vouched.add(sid)
        if found:
            self.known.add(sid)
        return found

    def _vouched(self, sid: str) -> bool:
        """Whether the watcher of this working tree vouches for a session
        no hook captured: one of its tool calls names a file in this
        working tree, or the watcher saw this working tree change while
        one of them ran (`git ot watch`; refs/README.md section 12)."""
        worktree = self.location.worktree
        if worktree is None or not os.path.exists(state.watch_journal(self.location.worktree_state_dir)):
            return False
        windows = []
        root = os.path.realpath(worktree).rstrip(os.sep) + os.sep
        for event in self.pen.peek(sid):
            data = event.get("data") if isinstance(event.get("data"), dict) else {}
            attrs = data.get("attributes") if isinstance(data.get("attributes"), dict) else {}
            if data.get("signal") != "logs" or data.get("name", "").rsplit(".", 1)[-1] != "tool_result":
                continue
            try:
                tool_input = json.loads(attrs.get("tool_input") or "{}")
            except ValueError:
                tool_input = {}
            target = tool_input.get("file_path") if isinstance(tool_input, dict) else None
            if isinstance(target, str) and os.path.realpath(target).startswith(root):
                return True
            end = data.get("time")
            try:
                duration = float(attrs.get("duration_ms") or 0) / 1000.0
            except (TypeError, ValueError):
                continue
            if isinstance(end, (int, float)):
                windows.append((end - duration, end))
        if not windows:
            return False
        from ...store import watchlog

        journal = watchlog.read(self.location.worktree_state_dir)
        return any(watchlog.changes_within(journal, t0 - watchlog.TOLERANCE, t1 + watchlog.TOLERANCE)
                   for t0, t1 in windows)


# -- HTTP ------------------------------------------------------------------


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True  # a restart may bind while old connections linger
    sink: Sink

    def handle_error(self, request, client_address):
        pass  # a client that went away mid-request is not the receiver's failure


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: exporters reuse their connection
    # Buffered answers: headers and body written apart would leave the body
    # waiting out the client's delayed acknowledgement of the headers
    # (Nagle's algorithm), some 40 ms on every answer with a body.
    wbufsize = 64 * 1024
    server_version = "git-ot"

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def do_POST(self):  # noqa: N802 - the base class's name
        sink = self.server.sink
        with sink.lock:
            sink.inflight += 1
        try:
            self._post()
        finally:
            with sink.lock:
                sink.inflight -= 1

    def _post(self):
        if self.server.sink.closed:
            self.close_connection = True
            return self._reply(503, "text/plain", b"the receiver is stopping\n")
        signal_name = PATHS.get(self.path.split("?", 1)[0])
        if signal_name is None:
            self.server.sink.refused()
            return self._reply(404, "text/plain", b"not an OTLP path\n")
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            body = self._read_chunked()
            if body is None:
                self.close_connection = True
                return  # gone mid-body, or past the limit (then the connection is closed unread)
            return self._take(signal_name, body)
        length = self.headers.get("Content-Length")
        if length is None or not length.strip().isdigit():
            self.close_connection = True
            return self._reply(411, "text/plain", b"Content-Length required\n")
        length = int(length)
        if length > MAX_BODY:
            # Read and dropped (up to a bound), so the client hears the
            # answer instead of a reset connection; nothing of it is kept.
            self.close_connection = True
            self.server.sink.refused()
            if length <= DISCARD_LIMIT:
                self._read(length, keep=False)
            return self._reply(413, "text/plain", b"request body too large\n")
        body = self._read(length)
        if body is None:
            self.close_connection = True
            return  # the client went away mid-body: nothing was accepted, nothing is kept
        self._take(signal_name, body)

    def _take(self, signal_name: str, body: bytes) -> None:
        ctype = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        is_json = ctype == "application/json"
        if not is_json and ctype != "application/x-protobuf":
            self.server.sink.refused()
            return self._reply(415, "text/plain", b"use application/x-protobuf or application/json\n")
        try:
            encoding = (self.headers.get("Content-Encoding") or "").strip().lower()
            if encoding == "gzip":
                body = _gunzip(body)
            elif encoding not in ("", "identity"):
                raise BadPayload(f"unsupported Content-Encoding '{encoding}'")
            decoded = otlp.decode(signal_name, body, ctype, time.time())
        except BadPayload as exc:
            self.server.sink.refused()
            return self._status(400, is_json, exc.message)
        try:
            rejected = self.server.sink.accept(decoded)
        except OSError as exc:
            # The spool cannot be written (a full disk): nothing of the
            # request was kept, and the exporter is told to try again.
            self.server.sink.failed(exc)
            self.close_connection = True
            return self._reply(503, "text/plain", b"cannot write the spool, retry later\n")
        self._answer(signal_name, is_json, rejected)

    def _read_chunked(self) -> bytes | None:
        """A chunked body, or None when the client went away or it grew past MAX_BODY."""
        chunks, size = [], 0
        while True:
            try:
                line = self.rfile.readline(1024)
                n = int(line.split(b";", 1)[0].strip() or b"x", 16)
            except (OSError, ValueError):
                return None
            if n == 0:
                while True:  # trailers, up to the blank line
                    try:
                        trailer = self.rfile.readline(8192)
                    except OSError:
                        return None
                    if trailer in (b"\r\n", b"\n", b""):
                        return b"".join(chunks)
            size += n
            if size > MAX_BODY:
                self.server.sink.refused()
                return None
            data = self._read(n)
            if data is None or self._read(2) is None:
                return None
            chunks.append(data)

    def _read(self, length: int, keep: bool = True) -> bytes | None:
        chunks, left = [], length
        while left:
            try:
                chunk = self.rfile.read(min(left, 1 << 20))
            except (OSError, ValueError):
                return None
            if not chunk:
                return None
            if keep:
                chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def _answer(self, signal_name: str, is_json: bool, rejected: int) -> None:
        field = {"logs": "rejectedLogRecords", "traces": "rejectedSpans",
                 "metrics": "rejectedDataPoints"}[signal_name]
        message = "records that name no session are not kept"
        if is_json:
            doc = {"partialSuccess": {field: str(rejected), "errorMessage": message}} if rejected else {}
            return self._reply(200, "application/json", json.dumps(doc).encode())
        return self._reply(200, "application/x-protobuf",
                           _response(signal_name, rejected, message).SerializeToString())

    def _status(self, code: int, is_json: bool, message: str) -> None:
        # The OTLP/HTTP error body is a google.rpc.Status; its JSON form is
        # plain, and a protobuf one is code (field 1) and message (field 2).
        grpc_code = 3  # INVALID_ARGUMENT
        if is_json:
            return self._reply(code, "application/json",
                               json.dumps({"code": grpc_code, "message": message}).encode())
        text = message.encode("utf-8")
        return self._reply(code, "application/x-protobuf",
                           bytes([0x08, grpc_code, 0x12]) + _varint(len(text)) + text)

    def _reply(self, code: int, ctype: str, body: bytes) -> None:
        try:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()  # headers and body leave in one write (wbufsize)
        except OSError:
            self.close_connection = True


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _gunzip(body: bytes) -> bytes:
    """A gzip body, refused when it inflates past MAX_BODY."""
    try:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        data = inflater.decompress(body, MAX_BODY + 1)
    except zlib.error as exc:
        raise BadPayload(f"the body is not gzip: {exc}") from None
    if len(data) > MAX_BODY or inflater.unconsumed_tail:
        raise BadPayload("the body inflates past the size limit")
    return data


def _response(signal_name: str, rejected: int, message: str):
    if signal_name == "logs":
        from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as pb

        out = pb.ExportLogsServiceResponse()
        if rejected:
            out.partial_success.rejected_log_records = rejected
    elif signal_name == "traces":
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as pb

        out = pb.ExportTraceServiceResponse()
        if rejected:
            out.partial_success.rejected_spans = rejected
    else:
        from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as pb

        out = pb.ExportMetricsServiceResponse()
        if rejected:
            out.partial_success.rejected_data_points = rejected
    if rejected:
        out.partial_success.error_message = message
    return out


# -- gRPC ------------------------------------------------------------------


def _grpc_server(sink: Sink, bind: str, port: int):
    """The gRPC server, bound (not started); its port."""
    from concurrent import futures

    # gRPC's core logs to stderr on its own (a failed bind, a client gone);
    # the receiver reports what matters itself. GRPC_VERBOSITY set by the
    # user wins.
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")
    _check_free(bind, port, "gRPC", "--grpc-port")
    import grpc
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc as logs_grpc
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc as metrics_grpc
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc as trace_grpc

    def export(signal_name):
        def handler(self, request, context):
            try:
                rejected = sink.accept(otlp.from_message(signal_name, request, time.time()))
            except OSError as exc:  # as over HTTP: nothing kept, try again
                sink.failed(exc)
                context.abort(grpc.StatusCode.UNAVAILABLE, "cannot write the spool, retry later")
            return _response(signal_name, rejected, "records that name no session are not kept")
        return handler

    logs = type("Logs", (logs_grpc.LogsServiceServicer,), {"Export": export("logs")})
    traces = type("Traces", (trace_grpc.TraceServiceServicer,), {"Export": export("traces")})
    metrics = type("Metrics", (metrics_grpc.MetricsServiceServicer,), {"Export": export("metrics")})
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), options=[
        ("grpc.so_reuseport", 0),  # else a second receiver binds the same port silently
        ("grpc.max_receive_message_length", MAX_BODY),
    ])
    logs_grpc.add_LogsServiceServicer_to_server(logs(), server)
    trace_grpc.add_TraceServiceServicer_to_server(traces(), server)
    metrics_grpc.add_MetricsServiceServicer_to_server(metrics(), server)
    host = f"[{bind}]" if ":" in bind else bind
    try:
        bound = server.add_insecure_port(f"{host}:{port}")
    except RuntimeError:
        bound = 0
    if not bound:
        raise ReceiverError(f"cannot listen for OTLP/gRPC on {bind}:{port}: address already in use "
                            "or not available",
                            hint="stop what listens there, or choose another port with --grpc-port")
    return server, bound


def _check_free(bind: str, port: int, what: str, option: str) -> None:
    """Fail with the system's reason when `bind:port` cannot be listened on
    (gRPC would only say that it failed)."""
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((bind, port))
        except OSError as exc:
            reason = (exc.strerror or str(exc)).lower()
            raise ReceiverError(f"cannot listen for OTLP/{what} on {bind}:{port}: {reason}",
                                hint=f"stop what listens there, or choose another port with {option}") from None


def _http_server(sink: Sink, bind: str, port: int):
    cls = type("Server", (_HTTPServer,), {"address_family": socket.AF_INET6 if ":" in bind
                                          else socket.AF_INET})
    try:
        server = cls((bind, port), _Handler)
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        raise ReceiverError(f"cannot listen for OTLP/HTTP on {bind}:{port}: {reason}",
                            hint="stop what listens there, or choose another port with --http-port") from None
    server.sink = sink
    return server, server.server_address[1]


# -- running ---------------------------------------------------------------


def serve(location, bind: str = DEFAULT_BIND, grpc_port: int = DEFAULT_GRPC_PORT,
          http_port: int = DEFAULT_HTTP_PORT, ready=None, stop: threading.Event | None = None) -> dict:
    """Receive until SIGTERM, SIGINT or `stop`; then stop taking requests,
    finish those under way, and return what was received.

    `ready(info)` is called once both servers listen, with the address and
    the ports (a port of 0 asks the system for a free one).
    """
    state_dir = location.state_dir
    other = receiver_info(state_dir)
    if other is not None and other.get("pid") != os.getpid():
        raise ReceiverError(f"an OTLP receiver already runs for this repository (pid {other['pid']}, "
                            f"grpc {other.get('bind')}:{other.get('grpc_port')}, "
                            f"http {other.get('bind')}:{other.get('http_port')})",
                            hint=f"stop it first ('kill {other['pid']}'), or use that one")
    sink = Sink(location, held_max_age(location))
    grpc_server, grpc_bound = _grpc_server(sink, bind, grpc_port)
    try:
        http_server, http_bound = _http_server(sink, bind, http_port)
    except ReceiverError:
        grpc_server.stop(None)
        raise
    stop = stop or threading.Event()
    info = {"pid": os.getpid(), "bind": bind, "grpc_port": grpc_bound, "http_port": http_bound,
            "repository": location.worktree or location.git_dir, "started": time.time()}
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    os.makedirs(state_dir, exist_ok=True)
    runfile.write(state.otel_receiver(state_dir), info)
    grpc_server.start()
    http_thread = threading.Thread(target=http_server.serve_forever, kwargs={"poll_interval": 0.2},
                                   name="otlp-http", daemon=True)
    http_thread.start()
    try:
        _tidy(sink)
        if ready is not None:
            ready(info)
        while not stop.wait(CLAIM_INTERVAL):
            _tidy(sink)
    finally:
        # Stop taking requests, let those under way finish and write.
        http_server.shutdown()
        sink.closed = True
        grpc_server.stop(grace=5).wait()
        http_server.server_close()
        _drain(sink)
        sink.claim_all()
        runfile.remove(state.otel_receiver(state_dir))
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return {**info, **sink.counts, "held_sessions": sink.held_sessions()}


def _tidy(sink: Sink) -> None:
    """Move held records of sessions now known to the spool; delete those
    of sessions unknown for longer than the held records are kept."""
    try:
        sink.claim_all()
        sink.expire(time.time())
    except OSError as exc:  # held records stay held; the receiver goes on
        from ...store.log import log_failure

        log_failure(sink.location, "otel serve: claim or expire held records", exc)


def _drain(sink: Sink, timeout: float = 10.0) -> None:
    """Wait for HTTP requests under way to be written and answered (a
    connection kept alive between requests is not waited for)."""
    deadline = time.monotonic() + timeout
    while sink.inflight and time.monotonic() < deadline:
        time.sleep(0.01)


def _in_inbox(location, sid: str) -> bool:
    """Whether a payload waiting in the repository's inbox names the
    session (a hook that started no Python left it there: its events are
    not spooled yet), as the drain reads its session (capture/hook.py)."""
    from ...store import inbox
    from ..hook import session_of

    for entry in inbox.entries(location.state_dir, time.time()):
        try:
            with open(entry.path, "rb") as fh:
                text = fh.read().decode("utf-8", "replace")
        except OSError:
            continue
        if session_of(None, text) == sid:
            return True
    return False
