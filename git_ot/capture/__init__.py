"""Capture adapters: one module per harness and per source of events."""
