"""OTLP export requests, protobuf or JSON, turned into normalised spool events.

One event per log record, per span, and per metric data point that names
a session (the record's attributes first, then its resource's):
`session.id` (Claude Code), `conversation.id` (Codex) or
`gen_ai.conversation.id`. Anything that names none is not evidence of a
session and is counted, not kept.

Both encodings give the same events. OTLP/JSON (the protobuf JSON mapping
with the OTLP exceptions: trace and span ids in hex, 64-bit integers as
strings or numbers, lowerCamelCase keys, enums as integers) is walked as it
is; protobuf is parsed with opentelemetry-proto's classes and walked the
same way. A body either decodes whole or not at all (`BadPayload`), so a
request is accepted or refused, never half kept.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from json.encoder import encode_basestring_ascii as _quote

from ...errors import BadPayload

SIGNALS = ("logs", "traces", "metrics")
KIND = "telemetry"
# A log record named after the source line that emitted it (Rust tracing).
_CALLSITE = re.compile(r"event \S+:\d+")
# Attributes that name the session a record belongs to, in order of trust.
SESSION_KEYS = ("session.id", "conversation.id", "gen_ai.conversation.id")
TOOL_USE_KEYS = ("tool_use_id", "gen_ai.tool.call.id", "call_id")
# service.name -> the capture source name git-ot uses for that harness.
SOURCES = {"claude-code": "claude-code", "codex": "codex", "codex_exec": "codex",
           "codex-cli": "codex", "codex_cli_rs": "codex"}
# Keys of the top-level object of each signal's request.
_TOP = {"logs": "resourceLogs", "traces": "resourceSpans", "metrics": "resourceMetrics"}
_SCOPE = {"logs": "scopeLogs", "traces": "scopeSpans", "metrics": "scopeMetrics"}
_ITEMS = {"logs": "logRecords", "traces": "spans"}


class Decoded:
    """The events of one request, and how many items it held that named no session.

    `lines[i]` is `events[i]` as its spool journal line: the JSON text its
    id is a hash of is the text it is written in, so a record is encoded
    once, not once to name it and again to write it."""

    def __init__(self):
        self.events: list[dict] = []
        self.lines: list[bytes] = []
        self.t_text: str | None = None  # the receipt time as the lines write it
        self.items = 0
        self.unowned = 0


def decode(signal: str, body: bytes, content_type: str, now: float) -> Decoded:
    """The events in one export request body of `signal`."""
    if signal not in SIGNALS:
        raise BadPayload(f"unknown OTLP signal '{signal}'")
    if "json" in (content_type or "").lower():
        try:
            doc = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise BadPayload(f"the body is not JSON: {exc}") from None
        return from_json(signal, doc, now)
    return from_protobuf(signal, body, now)


# -- JSON ------------------------------------------------------------------


def from_json(signal: str, doc, now: float) -> Decoded:
    """Events from an OTLP/JSON request already parsed."""
    top = _TOP[signal]
    if not isinstance(doc, dict) or (doc and top not in doc):
        raise BadPayload(f"the body is not an OTLP {signal} request (no '{top}')")
    out = Decoded()
    try:
        for res in _list(doc.get(top)):
            rattrs = _attrs(_dict(res.get("resource")).get("attributes"))
            for scope in _list(res.get(_SCOPE[signal])):
                if signal == "metrics":
                    for metric in _list(scope.get("metrics")):
                        _metric(out, rattrs, _dict(metric), now)
                else:
                    for item in _list(scope.get(_ITEMS[signal])):
                        _item(out, signal, rattrs, _dict(item), now)
    except (TypeError, ValueError, AttributeError) as exc:
        raise BadPayload(f"the body is not an OTLP {signal} request: {exc}") from None
    return out


def _list(value) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise TypeError(f"expected a list, got {type(value).__name__}")
    return value


def _dict(value) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    return value


def _any(value):
    """An OTLP/JSON AnyValue as plain JSON data."""
    value = _dict(value)
    if "stringValue" in value:
        return str(value["stringValue"])
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "arrayValue" in value:
        return [_any(v) for v in _list(_dict(value["arrayValue"]).get("values"))]
    if "kvlistValue" in value:
        return _attrs(_dict(value["kvlistValue"]).get("values"))
    if "bytesValue" in value:
        return str(value["bytesValue"])  # base64, as the JSON carries it
    return None


def _attrs(values) -> dict:
    out = {}
    for kv in _list(values):
        if type(kv) is not dict:
            kv = _dict(kv)
        value = kv.get("value")
        key = kv.get("key")
        if type(key) is not str:
            key = str(key)
        # Most attributes are strings: take them without the general walk.
        if type(value) is dict and len(value) == 1:
            text = value.get("stringValue")
            if type(text) is str:
                out[key] = text
                continue
        out[key] = _any(value)
    return out


def _nanos(value) -> float | None:
    if value in (None, "", 0, "0"):
        return None
    return int(value) / 1e9


def _item(out: Decoded, signal: str, rattrs: dict, item: dict, now: float) -> None:
    attrs = _attrs(item.get("attributes"))
    if signal == "logs":
        body = _any(item.get("body")) if item.get("body") is not None else None
        fields = {"time": _nanos(item.get("timeUnixNano")) or _nanos(item.get("observedTimeUnixNano")),
                  "severity": item.get("severityText") or None,
                  "trace_id": _hex_json(item.get("traceId")), "span_id": _hex_json(item.get("spanId"))}
        name = _log_name(item.get("eventName"), body, attrs)
        if body is not None and body != name:
            fields["body"] = body
    else:
        fields = {"time": _nanos(item.get("startTimeUnixNano")), "end": _nanos(item.get("endTimeUnixNano")),
                  "trace_id": _hex_json(item.get("traceId")), "span_id": _hex_json(item.get("spanId")),
                  "parent_span_id": _hex_json(item.get("parentSpanId"))}
        name = str(item.get("name") or "span")
    _emit(out, signal, name, rattrs, attrs, fields, now)


def _metric(out: Decoded, rattrs: dict, metric: dict, now: float) -> None:
    name = str(metric.get("name") or "metric")
    for shape in ("sum", "gauge", "histogram", "exponentialHistogram", "summary"):
        if shape in metric:
            for point in _list(_dict(metric[shape]).get("dataPoints")):
                point = _dict(point)
                fields = {"time": _nanos(point.get("timeUnixNano")), "unit": metric.get("unit") or None}
                if "asInt" in point:
                    fields["value"] = int(point["asInt"])
                elif "asDouble" in point:
                    fields["value"] = float(point["asDouble"])
                for key in ("count", "sum"):
                    if key in point:
                        fields[key] = float(point[key]) if key == "sum" else int(point[key])
                _emit(out, "metrics", name, rattrs, _attrs(point.get("attributes")), fields, now)


def _hex_json(value) -> str | None:
    """A trace or span id as OTLP/JSON writes it (hex); base64 is accepted too."""
    if not value:
        return None
    value = str(value)
    try:
        bytes.fromhex(value)
        return value.lower()
    except ValueError:
        try:
            return base64.b64decode(value, validate=True).hex() or None
        except ValueError:
            return None


# -- protobuf --------------------------------------------------------------


def from_protobuf(signal: str, body: bytes, now: float) -> Decoded:
    """Events from an OTLP protobuf request body."""
    from google.protobuf.message import DecodeError

    cls = request_class(signal)
    msg = cls()
    try:
        msg.ParseFromString(body)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise BadPayload(f"the body is not an OTLP {signal} protobuf request: {exc}") from None
    return from_message(signal, msg, now)


def request_class(signal: str):
    """The opentelemetry-proto request message of a signal."""
    if signal == "logs":
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

        return ExportLogsServiceRequest
    if signal == "traces":
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        return ExportTraceServiceRequest
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

    return ExportMetricsServiceRequest


def from_message(signal: str, msg, now: float) -> Decoded:
    """Events from a parsed request message (as the gRPC service receives it)."""
    out = Decoded()
    for res in getattr(msg, _snake(_TOP[signal])):
        rattrs = _pb_attrs(res.resource.attributes)
        for scope in getattr(res, _snake(_SCOPE[signal])):
            if signal == "logs":
                for rec in scope.log_records:
                    attrs = _pb_attrs(rec.attributes)
                    body = _pb_any(rec.body) if rec.HasField("body") else None
                    fields = {"time": (rec.time_unix_nano or rec.observed_time_unix_nano) / 1e9 or None,
                              "severity": rec.severity_text or None,
                              "trace_id": rec.trace_id.hex() or None, "span_id": rec.span_id.hex() or None}
                    name = _log_name(getattr(rec, "event_name", ""), body, attrs)
                    if body is not None and body != name:
                        fields["body"] = body
                    _emit(out, signal, name, rattrs, attrs, fields, now)
            elif signal == "traces":
                for span in scope.spans:
                    fields = {"time": span.start_time_unix_nano / 1e9 or None,
                              "end": span.end_time_unix_nano / 1e9 or None,
                              "trace_id": span.trace_id.hex() or None, "span_id": span.span_id.hex() or None,
                              "parent_span_id": span.parent_span_id.hex() or None}
                    _emit(out, signal, span.name or "span", rattrs, _pb_attrs(span.attributes), fields, now)
            else:
                for metric in scope.metrics:
                    _pb_metric(out, rattrs, metric, now)
    return out


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)


def _pb_any(value):
    which = value.WhichOneof("value")
    if which == "string_value":
        return value.string_value
    if which == "bool_value":
        return value.bool_value
    if which == "int_value":
        return value.int_value
    if which == "double_value":
        return value.double_value
    if which == "array_value":
        return [_pb_any(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return _pb_attrs(value.kvlist_value.values)
    if which == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    return None


def _pb_attrs(values) -> dict:
    out = {}
    for kv in values:
        value = kv.value
        # Most attributes are strings: a non-empty one is taken without
        # asking which value the attribute holds.
        text = value.string_value
        out[kv.key] = text if text else _pb_any(value)
    return out


def _pb_metric(out: Decoded, rattrs: dict, metric, now: float) -> None:
    which = metric.WhichOneof("data")
    if which is None:
        return
    for point in getattr(metric, which).data_points:
        fields = {"time": point.time_unix_nano / 1e9 or None, "unit": metric.unit or None}
        kind = point.WhichOneof("value") if which in ("sum", "gauge") else None
        if kind == "as_int":
            fields["value"] = point.as_int
        elif kind == "as_double":
            fields["value"] = point.as_double
        if which in ("histogram", "exponential_histogram", "summary"):
            fields["count"] = point.count
            fields["sum"] = point.sum
        _emit(out, "metrics", metric.name or "metric", rattrs, _pb_attrs(point.attributes), fields, now)


# -- one event -------------------------------------------------------------


def record_id(session: str, data: dict) -> str:
    """The event id of a record: 16 hex digits of a hash of what it says, so
    a request the exporter sends again (it timed out, or was told to retry)
    folds nothing twice."""
    return _named(session, _data_text(data))


# json.dumps(value, sort_keys=True, ensure_ascii=True, default=str), made once.
_SORTED = json.JSONEncoder(sort_keys=True, ensure_ascii=True, default=str)


def _data_text(data: dict) -> str:
    return _SORTED.encode(data)


def _named(session: str, data_text: str) -> str:
    # The text of `[session, data]` as json.dumps(sort_keys=True,
    # ensure_ascii=True) writes it, from the data's text.
    text = "[" + _quote(session) + ", " + data_text + "]"
    return hashlib.blake2b(text.encode("ascii"), digest_size=8).hexdigest()


def _log_name(event_name, body, attrs: dict) -> str:
    """A log record's event name: the record's own, else its body when that
    names the event (Claude Code: `claude_code.api_request`), else `event.name`.
    A record name that is only where the harness logged it (Codex 0.169.0:
    `event otel/src/events/session_telemetry.rs:703`) gives way to `event.name`."""
    name = attrs.get("event.name")
    if event_name and not (name and _CALLSITE.fullmatch(str(event_name))):
        return str(event_name)
    if isinstance(body, str) and body and (name is None or body.endswith("." + str(name)) or body == name):
        return body
    return str(name) if name else "log"


def _first_text(attrs: dict, keys: tuple) -> str | None:
    """The first of `keys` whose attribute is a non-empty text."""
    for key in keys:
        value = attrs.get(key)
        if value and type(value) is str:
            return value
    return None


def _emit(out: Decoded, signal: str, name: str, rattrs: dict, attrs: dict, fields: dict, now: float) -> None:
    # `attrs` is this record's own (made for it by the caller): taken, not copied.
    out.items += 1
    session = _first_text(attrs, SESSION_KEYS) or _first_text(rattrs, SESSION_KEYS)
    if session is None:
        out.unowned += 1
        return
    service = rattrs.get("service.name")
    data = {"signal": signal, "name": name}
    for key, value in fields.items():
        if value is not None:
            data[key] = value
    prompt_id = attrs.get("prompt.id")
    tool = _first_text(attrs, TOOL_USE_KEYS)
    for key in SESSION_KEYS:
        attrs.pop(key, None)
    data["attributes"] = attrs
    if isinstance(prompt_id, str):
        data["prompt_id"] = prompt_id
    if tool:
        data["tool_use_id"] = tool
    seq = attrs.get("event.sequence")
    if isinstance(seq, (int, str)) and str(seq).isdigit():
        data["sequence"] = int(seq)
    if isinstance(rattrs.get("service.version"), str):
        data["harness_version"] = rattrs["service.version"]
    source = SOURCES.get(service, service if isinstance(service, str) and service else "otel")
    text = _data_text(data)
    event_id = _named(session, text)
    out.events.append({"v": 1, "id": event_id, "t": now, "source": source, "event": name,
                       "session": session, "kind": KIND, "data": data})
    if out.t_text is None:
        out.t_text = json.dumps(now)
    # The journal line (store/spool.py writes the same keys compactly).
    out.lines.append(("{\"v\":1,\"id\":\"" + event_id + "\",\"t\":" + out.t_text + ",\"source\":"
                      + _quote(source) + ",\"event\":" + _quote(name) + ",\"session\":" + _quote(session)
                      + ",\"kind\":\"" + KIND + "\",\"data\":" + text + "}\n").encode("ascii"))
