"""`git ot otel serve`: receive OpenTelemetry from coding agents, for this repository."""

from __future__ import annotations

import json
import sys

import click

from ..domain.opening import locate_repository
from .main import json_option
from .output import emit, emit_json


@click.group()
def otel():
    """Receive OpenTelemetry (OTLP) from coding agents into this repository."""


@otel.command()
@click.option("--grpc-port", type=click.IntRange(0, 65535), default=4317, show_default=True,
              help="The port for OTLP over gRPC (0: any free port).")
@click.option("--http-port", type=click.IntRange(0, 65535), default=4318, show_default=True,
              help="The port for OTLP over HTTP, protobuf or JSON (0: any free port).")
@click.option("--bind", default="127.0.0.1", show_default=True,
              help="The address to listen on; keep it a loopback address.")
@json_option
def serve(grpc_port, http_port, bind, as_json):
    """Run an OTLP receiver in the foreground until stopped.

    Logs, traces and metrics that name a session this repository knows are
    appended to its spool and joined to the session's steps when it is next
    sealed; records of other sessions are held until they become known.
    SIGTERM or Ctrl-C stops it after the requests under way are written;
    it exits 0. Held records of a session still not known a while after its
    last record (git config ot.otel.heldMaxAge, default 7d) are deleted.
    """
    from ..capture.otel.receiver import serve as run_receiver

    def ready(info):
        if as_json:
            sys.stdout.write(json.dumps({"listening": info}) + "\n")
            sys.stdout.flush()
        else:
            emit(f"receiving OTLP for {info['repository']}: grpc {info['bind']}:{info['grpc_port']}, "
                 f"http {info['bind']}:{info['http_port']} (pid {info['pid']})")

    result = run_receiver(locate_repository(), bind=bind, grpc_port=grpc_port, http_port=http_port,
                          ready=ready)
    if as_json:
        emit_json(result)
        return
    emit(f"received {result['items']} record(s) in {result['requests']} request(s): "
         f"{result['spooled'] + result['claimed']} spooled, {result['held']} held, "
         f"{result['rejected']} without a session, {result['refused']} request(s) refused")
    if result["failed"]:
        emit(f"{result['failed']} request(s) could not be written to the spool and were refused "
             "for the exporter to send again; the reason is in .git/opentraces/log")
    if result["expired"]:
        emit(f"deleted {result['expired']} held record(s) of sessions not known here for longer than "
             "ot.otel.heldMaxAge")
    if result["held_sessions"]:
        emit("held for sessions not known here: " + ", ".join(result["held_sessions"]))
