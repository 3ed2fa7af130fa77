#!/usr/bin/env python3
"""OTLP receiver benchmark: `git ot otel serve` against a server that does nothing.

Run it as

    python tests/benchmarks/bench_otel.py [--requests 40] [--batch 512] [--json]

It makes a scratch repository whose spool already knows one session, starts
`git-ot otel serve` there (a process of its own, on free ports), and a
baseline in another process: a server on the same transports that decodes
nothing and writes nothing (an HTTP server answering 200 with an empty
body; a gRPC server whose Export returns an empty response, its request
parsed by grpcio as any gRPC server's is). Then, for each protocol
(http/protobuf, http/json, grpc), it sends `--requests` export requests
of `--batch` log records each (512: the batch size of the OpenTelemetry
Python SDK's BatchLogRecordProcessor), one after another over one kept-alive
connection, alternately to the receiver and the baseline (A B, then B A),
the same bodies to both.

Records are Claude Code's `claude_code.api_request` (its attributes as the
real CLI 2.1.328 exported them, tests/fixtures/claude-code/recorded-2.1.328/
linear-edit/otlp-003-logs.json), with the session id of the known session,
so every record is decoded and appended to the spool.

Figures, per protocol and server: throughput in log records per second
(records sent over the time from the first request to the last answer),
and the latency of one export request (median and 95th percentile, in
ms); then what the receiver adds to an export over the baseline (the
difference of the medians). It is a report, not a test: it exits 0
whatever the figures.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import git, hermetic_env, log, p95  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests/fixtures/claude-code/recorded-2.1.328/linear-edit/otlp-003-logs.json"
SESSION = "bench-0000-otel"

BASELINE = r'''
import http.server, json, sys
from concurrent import futures
import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as pb, logs_service_pb2_grpc as pbg

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", self.headers["Content-Type"])
        self.send_header("Content-Length", "0")
        self.end_headers()

class L(pbg.LogsServiceServicer):
    def Export(self, request, context):
        return pb.ExportLogsServiceResponse()

server = grpc.server(futures.ThreadPoolExecutor(max_workers=4),
                     options=[("grpc.max_receive_message_length", 32 << 20)])
pbg.add_LogsServiceServicer_to_server(L(), server)
grpc_port = server.add_insecure_port("127.0.0.1:0")
server.start()
httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
httpd.daemon_threads = True
print(json.dumps({"grpc_port": grpc_port, "http_port": httpd.server_address[1]}), flush=True)
httpd.serve_forever()
'''


def p50(values):
    return statistics.median(values)


def bodies(batch: int) -> tuple[bytes, bytes, object]:
    """One export request of `batch` records: protobuf, JSON, and the message."""
    from google.protobuf import json_format
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    doc = json.loads(FIXTURE.read_text())
    resource = doc["resourceLogs"][0]
    records = resource["scopeLogs"][0]["logRecords"]
    record = next(r for r in records if r["body"]["stringValue"] == "claude_code.api_request")
    record = json.loads(json.dumps(record))
    for attr in record["attributes"]:
        if attr["key"] == "session.id":
            attr["value"] = {"stringValue": SESSION}
    out_records = []
    for i in range(batch):
        r = json.loads(json.dumps(record))
        for attr in r["attributes"]:
            if attr["key"] == "event.sequence":
                attr["value"] = {"stringValue": str(i)}
        out_records.append(r)
    request = {"resourceLogs": [{"resource": resource["resource"],
                                 "scopeLogs": [{"scope": resource["scopeLogs"][0]["scope"],
                                                "logRecords": out_records}]}]}
    as_json = json.dumps(request).encode()
    message = json_format.ParseDict(request, ExportLogsServiceRequest())  # no trace ids: no hex/base64 care
    return message.SerializeToString(), as_json, message


class HttpClient:
    def __init__(self, port: int, ctype: str, body: bytes):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = {"Content-Type": ctype}
        self.body = body

    def send(self) -> None:
        self.conn.request("POST", "/v1/logs", body=self.body, headers=self.headers)
        resp = self.conn.getresponse()
        resp.read()
        if resp.status != 200:
            raise RuntimeError(f"HTTP {resp.status}")

    def close(self):
        self.conn.close()


class GrpcClient:
    def __init__(self, port: int, message):
        import grpc
        from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc

        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}",
                                             options=[("grpc.max_send_message_length", 32 << 20)])
        self.stub = logs_service_pb2_grpc.LogsServiceStub(self.channel)
        self.message = message

    def send(self) -> None:
        self.stub.Export(self.message, timeout=120)

    def close(self):
        self.channel.close()


def measure(client, n: int) -> dict:
    client.send()  # warm: connection, first decode
    times = []
    start = time.perf_counter()
    for _ in range(n):
        t0 = time.perf_counter()
        client.send()
        times.append((time.perf_counter() - t0) * 1000)
    total = time.perf_counter() - start
    client.close()
    return {"times": times, "total_s": total}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-otel-") as tmp:
        tmp = Path(tmp)
        env = hermetic_env(tmp / "home")
        os.environ.update(env)
        repo = tmp / "repo"
        repo.mkdir()
        git(repo, "init", "-q")
        git(repo, "commit", "-q", "--allow-empty", "-m", "start")
        from git_ot.store.gitdir import locate
        from git_ot.store.spool import Spool

        Spool(locate(str(repo)).state_dir).append(SESSION, {
            "v": 1, "id": "0" * 16, "t": time.time(), "source": "claude-code", "event": "SessionStart",
            "session": SESSION, "kind": "session_start", "data": {"cwd": str(repo)}})
        git_ot = Path(sys.executable).parent / "git-ot"
        receiver = subprocess.Popen([str(git_ot), "otel", "serve", "--grpc-port", "0", "--http-port", "0",
                                     "--json"], cwd=repo, env=env, stdout=subprocess.PIPE, text=True)
        baseline = subprocess.Popen([sys.executable, "-c", BASELINE], env=env, stdout=subprocess.PIPE,
                                    text=True)
        try:
            ports = {"receiver": json.loads(receiver.stdout.readline())["listening"],
                     "baseline": json.loads(baseline.stdout.readline())}
            proto, as_json, message = bodies(args.batch)
            log(f"{args.requests} requests of {args.batch} records; protobuf {len(proto)} bytes, "
                f"JSON {len(as_json)} bytes")

            def client(server, protocol):
                p = ports[server]
                if protocol == "grpc":
                    return GrpcClient(p["grpc_port"], message)
                if protocol == "http/json":
                    return HttpClient(p["http_port"], "application/json", as_json)
                return HttpClient(p["http_port"], "application/x-protobuf", proto)

            results = {}
            for protocol in ("http/protobuf", "http/json", "grpc"):
                order = ("receiver", "baseline")
                runs = {"receiver": [], "baseline": []}
                for half in range(2):  # A B, then B A
                    for server in (order if half == 0 else order[::-1]):
                        runs[server].append(measure(client(server, protocol), args.requests // 2))
                        log(f"{protocol} {server}: done")
                results[protocol] = {}
                for server, parts in runs.items():
                    times = [t for part in parts for t in part["times"]]
                    total = sum(part["total_s"] for part in parts)
                    results[protocol][server] = {
                        "records_per_s": round(len(times) * args.batch / total),
                        "latency_ms_p50": round(p50(times), 2), "latency_ms_p95": round(p95(times), 2)}
                results[protocol]["added_ms_p50"] = round(
                    results[protocol]["receiver"]["latency_ms_p50"] - results[protocol]["baseline"]["latency_ms_p50"], 2)
        finally:
            receiver.terminate()
            baseline.terminate()
            out, _ = receiver.communicate(timeout=60)
            baseline.communicate(timeout=60)
        summary = json.loads(out) if out.strip() else {}
        expected = (args.requests // 2 * 2 + 2) * args.batch * 3
        if summary.get("spooled") != expected:
            log(f"warning: the receiver spooled {summary.get('spooled')} records, expected {expected}")

    if args.json:
        print(json.dumps({"batch": args.batch, "requests": args.requests, "results": results}, indent=2))
        return 0
    print(f"OTLP receiver, {args.requests} export requests of {args.batch} log records each, per protocol")
    print()
    print("| protocol | receiver records/s | baseline records/s | receiver p50 / p95 ms | "
          "baseline p50 / p95 ms | added per request (p50) ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for protocol, r in results.items():
        a, b = r["receiver"], r["baseline"]
        print(f"| {protocol} | {a['records_per_s']} | {b['records_per_s']} | "
              f"{a['latency_ms_p50']} / {a['latency_ms_p95']} | {b['latency_ms_p50']} / {b['latency_ms_p95']} | "
              f"{r['added_ms_p50']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
