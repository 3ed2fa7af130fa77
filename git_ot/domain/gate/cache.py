"""The gate's cache: what it found in each snapshot blob, under one policy."""

from __future__ import annotations

import json

from ...store import state
from ...store.files import replace_file

# Past this many blobs the cache starts again empty rather than grow for ever.
CACHE_LIMIT = 200_000


class BlobCache:
    """What the gate found in each blob, by object id, under one policy.

    `<common-dir>/opentraces/gate-cache.json`: a blob is read and scanned
    once per policy, however many snapshots and sessions hold it. An entry
    is `[]` (clean) or `[redacted blob id, [[kind, line, detector], ...]]`.
    """

    def __init__(self, state_dir: str, fingerprint: str):
        self.path = state.gate_cache(state_dir)
        self.fingerprint = fingerprint
        self.blobs: dict[str, list] = {}
        self.dirty = False
        try:
            with open(self.path, encoding="utf-8") as fh:
                data = json.load(fh)
            if data.get("fingerprint") == fingerprint and isinstance(data.get("blobs"), dict):
                self.blobs = data["blobs"]
        except (OSError, ValueError, AttributeError):
            pass

    def get(self, oid: str):
        return self.blobs.get(oid)

    def put(self, oid: str, entry: list) -> None:
        self.blobs[oid] = entry
        self.dirty = True

    def save(self) -> None:
        if not self.dirty:
            return
        if len(self.blobs) > CACHE_LIMIT:
            self.blobs = {}
        replace_file(self.path, json.dumps({"fingerprint": self.fingerprint, "blobs": self.blobs},
                                           separators=(",", ":")).encode("utf-8"))
        self.dirty = False
