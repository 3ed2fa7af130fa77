"""The gate's engine: detectors and transformers over texts and blobs, under one policy.

`Gate.hits` is what the detectors find in a text, less what the policy's
allow-list lets through; `Gate.replace` puts a placeholder (a secret) or a
token (personal data) in each one's place. `Gate.scan_blobs` does both for
snapshot blobs, each read once per policy (gate/cache.py). The seal
(gate/seal.py), `git ot scan` (gate/scan.py) and the check at egress
(gate/egress.py) all run this engine.
"""

from __future__ import annotations

import functools
from typing import Iterable

from ...store import snapshot as snapshot_store
from ...store import trees
from ...store.repository import Store
from ..paths import current_home
from .cache import BlobCache
from . import memo
from .detectors import (Hit, Probe, entropy_hits, pattern_hits, pii_hits, randomish, resolve, run_trufflehog,
                        trufflehog_kind)
from .policy import Policy, policy_for
from .transform import PathTokens, Tokens, load_salt, placeholder_for

# Personal data becomes a token of this kind; every other finding is a secret.
PII_TOKEN = {"email": "EMAIL", "phone": "PHONE", "ip-address": "IP"}
# A blob with a NUL in its first bytes is binary (git's own test).
BINARY_PROBE = 8000


def line_of(text: str, pos: int) -> int:
    """The number (from 1) of the line that holds position `pos`."""
    return text.count("\n", 0, pos) + 1


def line_span(text: str, line: int) -> tuple[int, int]:
    """Where line `line` (from 1) starts and ends, its line break left out."""
    start = 0
    for _ in range(max(line, 1) - 1):
        nl = text.find("\n", start)
        if nl < 0:
            return len(text), len(text)
        start = nl + 1
    end = text.find("\n", start)
    return start, len(text) if end < 0 else end


class Gate:
    """Detectors and transformers under one policy, for one repository."""

    def __init__(self, store: Store, policy: Policy | None = None):
        self.store = store
        self.policy = policy or policy_for(store)
        self.trufflehog = self.policy.trufflehog_binary()
        # Loaded when a token is first needed: a reader leaves no salt behind.
        self.tokens = Tokens(functools.partial(load_salt, store.location.state_dir))
        self.paths = PathTokens(self.tokens, current_home(), self.policy.tokenize)
        self._cache: BlobCache | None = None
        self._walk_memo: dict = {}

    # -- text ----------------------------------------------------------------

    def hits(self, text: str, binary: bool = False, extra: Iterable[Hit] = ()) -> list[Hit]:
        """The findings in a text, resolved and without those the allow-list lets through.

        A text is first looked at by the lines no earlier text of the
        process showed clean (gate/memo.py): when those hold nothing, nor
        does the text. Personal data (its IPv6 rule looks at the whole
        text), a binary blob's rules and TruffleHog's findings are not
        memoized."""
        p = self.policy
        if not extra and not binary and not p.pii:
            clean = memo.clean_lines(("detectors", p.pattern_kinds, p.entropy))
            new = clean.new(text)
            if not new:
                return []
            rest = "\n".join(new)
            if "\u0130" not in rest and not self._anything(rest):
                clean.keep(new)
                return []
        return self._whole(text, binary, extra)

    def _anything(self, text: str) -> bool:
        """Whether any rule matches in `text`, or any run of it looks random:
        what the allow-list, the resolution and a run's neighbouring lines
        would make of it aside."""
        kinds = self.policy.pattern_kinds
        probe = Probe(text)
        if (kinds is None or kinds) and pattern_hits(text, kinds, probe):
            return True
        return self.policy.entropy and any(randomish(text[a:b]) for a, b in probe.runs())

    def _whole(self, text: str, binary: bool = False, extra: Iterable[Hit] = ()) -> list[Hit]:
        """`hits` by every detector over the whole text."""
        p = self.policy
        kinds = p.pattern_kinds
        found = list(extra)
        probe = Probe(text)  # the prefilter's bytes, made once for both
        if kinds is None or kinds:
            found += pattern_hits(text, kinds, probe)
        if p.entropy and not binary:
            found += entropy_hits(text, probe)
        if p.pii:
            found += pii_hits(text)
        return [h for h in resolve(found) if not p.allowed(text[h.start:h.end])]

    def replace(self, text: str, hits: list[Hit]) -> str:
        """The text with each hit replaced: a placeholder, or a token for personal data.

        A placeholder keeps the line breaks of what it replaces, so the lines
        after a redacted private key keep their numbers.
        """
        out, pos = [], 0
        for h in hits:
            out.append(text[pos:h.start])
            value = text[h.start:h.end]
            if h.kind in PII_TOKEN:
                out.append(self.tokens.token(PII_TOKEN[h.kind], value))
            else:
                out.append(placeholder_for(h.kind) + "\n" * value.count("\n"))
            pos = h.end
        out.append(text[pos:])
        return "".join(out)

    def trufflehog_hits(self, texts: dict) -> dict:
        """TruffleHog's findings per text name, as hits on the texts given."""
        if not self.trufflehog or not texts:
            return {}
        out: dict = {}
        for th in run_trufflehog(self.trufflehog, texts):
            text = texts[th.name]
            kind = trufflehog_kind(th.detector)
            spans = []
            pos = text.find(th.raw)
            while pos >= 0:
                spans.append((pos, pos + len(th.raw)))
                pos = text.find(th.raw, pos + len(th.raw))
            if not spans and th.line:
                # Decoded by TruffleHog (base64, say): the line is all we know.
                spans.append(line_span(text, th.line))
            out.setdefault(th.name, []).extend(Hit(kind, "trufflehog", a, b) for a, b in spans)
        return out

    # -- snapshot blobs ------------------------------------------------------

    @property
    def cache(self) -> BlobCache:
        if self._cache is None:
            self._cache = BlobCache(self.store.location.state_dir, self.policy.fingerprint(self.trufflehog))
        return self._cache

    def scan_blobs(self, oids: Iterable[str], rewrite: bool) -> dict[str, list]:
        """Each blob's cache entry; with `rewrite`, redacted copies are written.

        Pointer blobs (large files) and empty blobs are clean by definition.
        """
        repo = self.store.repo
        cache = self.cache
        out: dict[str, list] = {}
        todo: dict[str, tuple[str, bool]] = {}
        for oid in oids:
            entry = cache.get(oid)
            if entry is not None and (not entry or not rewrite or (entry[0] and entry[0] in repo)):
                out[oid] = entry
                continue
            data = self.store.read_blob(oid, "snapshot")
            if not data or data.startswith(snapshot_store.POINTER_HEADER):
                out[oid] = []
                cache.put(oid, [])
                continue
            binary = b"\0" in data[:BINARY_PROBE]
            todo[oid] = (data.decode("utf-8", "surrogateescape"), binary)
        th = self.trufflehog_hits({oid: text for oid, (text, binary) in todo.items() if not binary})
        for oid, (text, binary) in todo.items():
            hits = self.hits(text, binary, th.get(oid, ()))
            if not hits:
                entry = []
            else:
                redacted = self.replace(text, hits).encode("utf-8", "surrogateescape")
                new_oid = str(repo.create_blob(redacted)) if rewrite else ""
                entry = [new_oid, [[h.kind, line_of(text, h.start), h.detector] for h in hits]]
            cache.put(oid, entry)
            out[oid] = entry
        return out

    def tree_blobs(self, tree_oid: str, base_oid: str | None) -> list[tuple[bytes, str]]:
        """(path, blob id) of every blob a snapshot adds to the repository's history."""
        return trees.added_blobs(self.store, tree_oid, base_oid, self._walk_memo)
