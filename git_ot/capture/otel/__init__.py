"""The OTLP receiver: a capture source that listens instead of being called.

Hooks see tool calls; they never see what the harness sent the model. A
harness that exports OpenTelemetry (Claude Code, Codex) reports it: per API
request the model, tokens, cost and duration, per tool call its decision
and duration, the prompt, and where asked the raw request body.
`git ot otel serve` receives it over OTLP (gRPC and HTTP, protobuf and
JSON) and turns every log record, span and metric data point that names a
session into one normalised spool event of kind `telemetry`
(refs/README.md, section 12), which the one fold (domain/fold.py) joins to
the step it belongs to.

`decode.py` turns request bodies into events (pure, no I/O);
`receiver.py` runs the servers and writes through the spool
(store/spool.py), the same crash-safe journal the hooks append to.
"""
