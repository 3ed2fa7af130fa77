"""The security gate: nothing sensitive reaches a ref unchecked.

It runs where records become reachable (at seal, `SealGate`) and again
before anything leaves the machine (`egress_check`), each time with the
policy then in force (`policy.from_config`). `scan` shows what it finds
and what it replaced; `forget` deletes sessions for good.

At seal, every string of harness data passes `SealGate.redact` before it
is stored (the fold's `Payloads.put` calls it, so a secret never reaches a
blob either), the few inline strings of the records pass `SealGate.check`,
and so does every snapshot tree the seal is about to refer to: a file that
holds a secret is stored redacted, under a rewritten tree, and marked in
the trail's `redacted` list. The spool itself stays as the harness sent it:
it is local, under the git directory, and never pushed.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
from typing import Iterable

import pygit2

from ...errors import EgressBlocked, GateBlocked
from ...store import snapshot as snapshot_store
from ...store.files import replace_file
from ...store.gitdir import run_git
from ...store.refs import match_session
from ...store.repository import Store
from ...store.spool import Spool
from ..fold import expand, valid_text
from . import judge
from .detectors import (Hit, entropy_hits, pattern_hits, pii_hits, resolve, run_trufflehog,
                        secret_in_field, trufflehog_kind)
from .policy import GATE_VERSION, Policy, from_config
from .transform import PLACEHOLDER, PathTokens, Tokens, current_home, load_salt, placeholder_for

__all__ = ["GATE_VERSION", "Gate", "Policy", "SealGate", "egress_check", "policy_for", "raise_if_blocked",
           "scan", "forget"]

_PII_TOKEN = {"email": "EMAIL", "phone": "PHONE", "ip-address": "IP"}
# Between strings checked in one pass: no rule of the detectors or the judge
# matches a NUL, so none matches across it.
SEPARATOR = "\n\0\n"
_CACHE_FILE = "gate-cache.json"
_CACHE_LIMIT = 200_000
_BINARY_PROBE = 8000


def policy_for(store: Store) -> Policy:
    """The policy in force in this repository (its git config)."""
    return from_config(store.repo.config)


def _add(total: dict, more: dict) -> dict:
    out = dict(total)
    for k, v in more.items():
        out[k] = out.get(k, 0) + v
    return dict(sorted(out.items()))


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _line_span(text: str, line: int) -> tuple[int, int]:
    start = 0
    for _ in range(max(line, 1) - 1):
        nl = text.find("\n", start)
        if nl < 0:
            return len(text), len(text)
        start = nl + 1
    end = text.find("\n", start)
    return start, len(text) if end < 0 else end


class _BlobCache:
    """What the gate found in each blob, by object id, under one policy.

    `<common-dir>/opentraces/gate-cache.json`: a blob is read and scanned
    once per policy, however many snapshots and sessions hold it. An entry
    is `[]` (clean) or `[redacted blob id, [[kind, line, detector], ...]]`.
    """

    def __init__(self, state_dir: str, fingerprint: str):
        self.path = os.path.join(state_dir, _CACHE_FILE)
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
        if len(self.blobs) > _CACHE_LIMIT:
            self.blobs = {}
        replace_file(self.path, json.dumps({"fingerprint": self.fingerprint, "blobs": self.blobs},
                                           separators=(",", ":")).encode("utf-8"))
        self.dirty = False


class Gate:
    """Detectors and transformers under one policy, for one repository."""

    def __init__(self, store: Store, policy: Policy | None = None):
        self.store = store
        self.policy = policy or policy_for(store)
        self.trufflehog = self.policy.trufflehog_binary()
        self.tokens = Tokens(load_salt(store.location.state_dir))
        self.paths = PathTokens(self.tokens, current_home(), self.policy.tokenize)
        self._cache: _BlobCache | None = None
        self._walk_memo: dict = {}

    # -- text ----------------------------------------------------------------

    def hits(self, text: str, binary: bool = False, extra: Iterable[Hit] = ()) -> list[Hit]:
        """The findings in a text, resolved and without those the allow-list lets through."""
        p = self.policy
        kinds = p.pattern_kinds
        found = list(extra)
        if kinds is None or kinds:
            found += pattern_hits(text, kinds)
        if p.entropy and not binary:
            found += entropy_hits(text)
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
            if h.kind in _PII_TOKEN:
                out.append(self.tokens.token(_PII_TOKEN[h.kind], value))
            else:
                out.append(placeholder_for(h.kind) + "\n" * value.count("\n"))
            pos = h.end
        out.append(text[pos:])
        return "".join(out)

    def _trufflehog_hits(self, texts: dict) -> dict:
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
                spans.append(_line_span(text, th.line))
            out.setdefault(th.name, []).extend(Hit(kind, "trufflehog", a, b) for a, b in spans)
        return out

    # -- snapshot blobs ------------------------------------------------------

    @property
    def cache(self) -> _BlobCache:
        if self._cache is None:
            self._cache = _BlobCache(self.store.location.state_dir, self.policy.fingerprint(self.trufflehog))
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
            binary = b"\0" in data[:_BINARY_PROBE]
            todo[oid] = (data.decode("utf-8", "surrogateescape"), binary)
        th = self._trufflehog_hits({oid: text for oid, (text, binary) in todo.items() if not binary})
        for oid, (text, binary) in todo.items():
            hits = self.hits(text, binary, th.get(oid, ()))
            if not hits:
                entry = []
            else:
                redacted = self.replace(text, hits).encode("utf-8", "surrogateescape")
                new_oid = str(repo.create_blob(redacted)) if rewrite else ""
                entry = [new_oid, [[h.kind, _line_of(text, h.start), h.detector] for h in hits]]
            cache.put(oid, entry)
            out[oid] = entry
        return out

    def tree_blobs(self, tree_oid: str, base_oid: str | None) -> list[tuple[bytes, str]]:
        """(path, blob id) of every blob in the tree that the base tree does not
        hold at the same path: what a snapshot adds to the repository's history."""
        repo = self.store.repo
        out: list[tuple[bytes, str]] = []
        memo = self._walk_memo

        def walk(tree, base, prefix: bytes):
            key = (str(tree.id), str(base.id) if base is not None else None)
            if key in memo:
                out.extend((prefix + p, o) for p, o in memo[key])
                return
            start = len(out)
            base_entries = {e.raw_name: e for e in base} if base is not None else {}
            for e in tree:
                b = base_entries.get(e.raw_name)
                if b is not None and b.id == e.id:
                    continue
                if e.type_str == "tree":
                    walk(e, b if b is not None and b.type_str == "tree" else None, prefix + e.raw_name + b"/")
                elif e.type_str == "blob":
                    out.append((prefix + e.raw_name, str(e.id)))
            memo[key] = [(p[len(prefix):], o) for p, o in out[start:]]

        base = None
        if base_oid:
            try:
                base = repo[base_oid]
                base = base.peel(pygit2.Tree)
            except (KeyError, ValueError, pygit2.GitError):
                base = None
        walk(self.store.get(tree_oid, "snapshot"), base, b"")
        return out

    def rewrite_tree(self, tree_oid: str, changes: dict[bytes, str]) -> str:
        """The tree with the blobs at the given paths replaced (modes kept)."""
        repo = self.store.repo

        def rewrite(tree, changes: dict[bytes, str]) -> str:
            nested: dict[bytes, dict[bytes, str]] = {}
            direct: dict[bytes, str] = {}
            for path, oid in changes.items():
                head, sep, rest = path.partition(b"/")
                if sep:
                    nested.setdefault(head, {})[rest] = oid
                else:
                    direct[head] = oid
            entries = {e.raw_name: e for e in tree}
            new: dict[bytes, tuple[str, int]] = {}
            for name, sub in nested.items():
                new[name] = (rewrite(entries[name], sub), entries[name].filemode)
            for name, oid in direct.items():
                new[name] = (oid, entries[name].filemode)
            try:
                builder = repo.TreeBuilder(tree)
                for name, (oid, mode) in new.items():
                    builder.insert(name.decode("utf-8"), pygit2.Oid(hex=oid), mode)
                return str(builder.write())
            except UnicodeDecodeError:
                # A name that is not UTF-8, which TreeBuilder cannot take: git can.
                lines = []
                for name, e in entries.items():
                    oid, mode = new.get(name, (str(e.id), e.filemode))
                    kind = "tree" if mode == pygit2.GIT_FILEMODE_TREE else \
                        "commit" if mode == pygit2.GIT_FILEMODE_COMMIT else "blob"
                    lines.append(b"%06o %s %s\t%s\0" % (mode, kind.encode(), oid.encode(), name))
                loc = self.store.location
                return run_git(["--git-dir", loc.git_dir, "mktree", "-z"], input=b"".join(lines)).decode().strip()

        return rewrite(self.store.get(tree_oid, "snapshot"), changes)

    # -- reading a stored session --------------------------------------------

    def scan_session(self, session_id: str, spool: bool = True) -> dict:
        """What the gate finds in one session under the current policy.

        Findings are `redacted` (replaced at seal: the placeholders in the
        records and the files marked in the trail), `open` (in the stored
        session and not allowed by the current policy) or `pending` (in
        spooled events not sealed yet).
        """
        store = self.store
        tree = store.session(session_id)
        findings: list[dict] = []
        residual: dict = {}
        texts: dict[str, str] = {}
        where: dict[str, dict] = {}
        judged: set[str] = set()
        by_key: dict[str, list[Hit]] = {}

        def add_text(loc: dict, text, judge_it: bool, key=None) -> None:
            if not isinstance(text, str) or not text:
                return
            name = f"t{len(texts)}"
            texts[name] = text
            where[name] = loc
            if judge_it:
                judged.add(name)
            if isinstance(key, str) and secret_in_field(key, text) and not self.policy.allowed(text):
                by_key[name] = [Hit("password-assignment", "pattern", 0, len(text))]

        def leaves(value, path: str, key=None):
            if isinstance(value, str):
                yield path, value, key
            elif isinstance(value, dict):
                for k, v in value.items():
                    yield from leaves(v, f"{path}.{k}" if path else str(k), k)
            elif isinstance(value, list):
                for i, v in enumerate(value):
                    yield from leaves(v, f"{path}[{i}]")

        manifest = None
        if tree is not None:
            manifest = tree.record("manifest")
            trace, trail = tree.record("trace"), tree.record("trail")
            for step in trace["steps"]:
                for key in ("text", "input", "output"):
                    if key in step:
                        for path, text, k in leaves(expand(store, session_id, step[key]), key):
                            add_text({"step": step["n"], "field": path}, text, True, k)
                for key in ("name", "agent_type", "trigger"):
                    add_text({"step": step["n"], "field": key}, step.get(key), False)
            for entry in trace["lifecycle"]:
                if "data" in entry:
                    for path, text, k in leaves(expand(store, session_id, entry["data"]), "data"):
                        add_text({"lifecycle": entry["id"], "field": path}, text, True, k)
            for key in ("cwd", "transcript_path", "model", "harness_version"):
                add_text({"field": "info." + key}, trace["info"].get(key), False)
        sealed_texts = len(texts)
        if spool:
            for event in Spool(store.location.state_dir).peek(session_id):
                eid = event.get("id") or "corrupt"
                if "corrupt" in event:
                    add_text({"spool": eid, "field": "line"}, event["corrupt"], False)
                for path, text, k in leaves(event.get("data") or {}, "data"):
                    add_text({"spool": eid, "field": path}, text, False, k)

        th = self._trufflehog_hits(texts)
        open_count = 0
        for i, (name, text) in enumerate(texts.items()):
            loc = where[name]
            status = "open" if i < sealed_texts else "pending"
            for m in PLACEHOLDER.finditer(text):
                findings.append({"kind": m.group("kind"), "status": "redacted", **loc,
                                 "line": _line_of(text, m.start())})
            for h in self.hits(text, False, th.get(name, []) + by_key.get(name, [])):
                findings.append({"kind": h.kind, "status": status, "detector": h.detector, **loc,
                                 "line": _line_of(text, h.start)})
                if status == "open":
                    open_count += 1
            if name in judged:
                judge.residual(text, residual)

        if tree is not None:
            for mark in trail.get("redacted", []):
                for hit in mark.get("hits", []):
                    findings.append({"kind": hit["kind"], "status": "redacted", "snapshot": mark["snapshot"],
                                     "path": mark["path"], "line": hit["line"]})
            base = (manifest.get("base") or {}).get("commit")
            snaps = sorted(tree.snapshots().items(), key=lambda kv: _snapshot_order(kv[0]))
            listed = [(name, self.tree_blobs(oid, base)) for name, oid in snaps]
            results = self.scan_blobs({o for _, blobs in listed for _, o in blobs}, rewrite=False)
            for name, blobs in listed:
                for path, oid in blobs:
                    for kind, line, detector in (results[oid][1] if results[oid] else []):
                        findings.append({"kind": kind, "status": "open", "detector": detector, "snapshot": name,
                                         "path": path.decode("utf-8", "backslashreplace"), "line": line})
                        open_count += 1
            self.cache.save()
        counts = {k: residual.get(k, 0) for k in judge.RESIDUAL_KEYS}
        return {"session": session_id, "sealed": tree is not None,
                "risk": judge.score(counts, open_count), "residual": counts,
                "open": open_count, "findings": findings}


def _snapshot_order(name: str):
    n, _, at = name.partition("-")
    return (int(n) if n.isdigit() else 0, 0 if at == "before" else 1, name)


class SealGate(Gate):
    """The gate as one seal runs it: redact while folding, then check the rest.

        gate = SealGate(store, session_id, events)
        payloads = Payloads(store.write_blob, gate.redact)
        ... fold ...
        report = gate.check(recs, folder, previous_manifest)

    With the policy `block`, a secret raises GateBlocked and the seal stops
    before anything is written to a ref: the events stay in the spool.
    """

    def __init__(self, store: Store, session_id: str, events: list[dict], policy: Policy | None = None):
        super().__init__(store, policy)
        self.session_id = session_id
        self.batch_ids = {e.get("id") for e in events}
        self.redacted: dict[str, int] = {}
        self.tokenized: dict[str, int] = {}
        self.residual: dict[str, int] = {}
        self._literals: dict[str, str] = {}  # what TruffleHog found in the batch -> kind
        self._line_hits: dict[str, list[tuple[int, str]]] = {}
        if self.trufflehog:
            self._prescan(events)

    def _prescan(self, events: list[dict]) -> None:
        """TruffleHog over every string of the batch, before anything is written."""
        texts: dict[str, str] = {}

        def collect(value):
            if isinstance(value, str):
                if len(value) >= 8:
                    texts[f"s{len(texts)}"] = value
            elif isinstance(value, dict):
                for k, v in value.items():
                    collect(k)
                    collect(v)
            elif isinstance(value, list):
                for v in value:
                    collect(v)

        for event in events:
            collect(valid_text(event.get("data") or {}))
            if "corrupt" in event:
                collect(valid_text(event["corrupt"]))
        for th in run_trufflehog(self.trufflehog, texts):
            kind = trufflehog_kind(th.detector)
            if th.raw in texts[th.name]:
                self._literals[th.raw] = kind
            elif th.line:
                key = hashlib.sha1(texts[th.name].encode("utf-8", "surrogateescape")).hexdigest()
                self._line_hits.setdefault(key, []).append((th.line, kind))

    def _extra(self, text: str) -> list[Hit]:
        out = []
        for raw, kind in self._literals.items():
            pos = text.find(raw)
            while pos >= 0:
                out.append(Hit(kind, "trufflehog", pos, pos + len(raw)))
                pos = text.find(raw, pos + len(raw))
        if self._line_hits:
            key = hashlib.sha1(text.encode("utf-8", "surrogateescape")).hexdigest()
            for line, kind in self._line_hits.get(key, ()):
                a, b = _line_span(text, line)
                out.append(Hit(kind, "trufflehog", a, b))
        return out

    def _blocked(self, kind: str, where: str) -> None:
        # Marked so that the hook path does not retry the seal on every call
        # (capture/hook.py); a seal at turn end, a git hook or a command does.
        marker = blocked_marker(self.store.location.state_dir, self.session_id)
        os.makedirs(os.path.dirname(marker), exist_ok=True)
        with open(marker, "w", encoding="utf-8") as fh:
            fh.write(f"{kind} in {where}\n")
        raise GateBlocked(
            f"the security gate holds back session '{self.session_id}': {kind} in {where}",
            hint=f"'git ot scan {self.session_id}' shows the findings; allow a false positive with "
                 f"'git config --add ot.security.allow <regex>', set ot.security.action to redact, "
                 f"or drop the session with 'git ot forget {self.session_id}'")

    def _text(self, text: str, where: str) -> str:
        hits = self.hits(text, False, self._extra(text))
        if hits:
            self._count(hits, where)
            text = self.replace(text, hits)
        return self.paths.apply(text, self.tokenized)

    def redact(self, value):
        """A harness value as it may be stored: the hook of `Payloads.put`.

        Every string in the value (map keys too) is checked in one pass over
        their concatenation, SEPARATOR between them: no rule matches across
        it, and one pass costs far less than one per string.
        """
        texts: list[str] = []
        whole: set[int] = set()  # strings that are secrets by their key: replaced whole
        keys: set[int] = set()

        def collect(v, key):
            if isinstance(v, str):
                if key is not None and secret_in_field(key, v) and not self.policy.allowed(v):
                    if self.policy.action == "block":
                        self._blocked("password-assignment", f"the value of '{key}'")
                    whole.add(len(texts))
                    texts.append("")
                else:
                    texts.append(v)
            elif isinstance(v, dict):
                for k, x in v.items():
                    if isinstance(k, str):
                        keys.add(len(texts))
                        texts.append(k)
                    collect(x, k if isinstance(k, str) else None)
            elif isinstance(v, list):
                for x in v:
                    collect(x, None)

        collect(value, None)
        if not texts:
            return value
        new = self._texts(texts, "the session's records")
        for i in whole:
            new[i] = placeholder_for("password-assignment")
            self.redacted["password-assignment"] = self.redacted.get("password-assignment", 0) + 1
        judge.residual(SEPARATOR.join(t for i, t in enumerate(new) if i not in keys and i not in whole),
                       self.residual)
        it = iter(new)

        def rebuild(v):
            if isinstance(v, str):
                return next(it)
            if isinstance(v, dict):
                out = {}
                for k, x in v.items():
                    nk = next(it) if isinstance(k, str) else k
                    out[nk] = rebuild(x)
                return out
            if isinstance(v, list):
                return [rebuild(x) for x in v]
            return v

        return rebuild(value)

    def _texts(self, texts: list[str], where: str) -> list[str]:
        """`_text` for many strings at once: one pass over their concatenation.

        A string that holds a NUL (which could be taken for SEPARATOR) is
        checked on its own.
        """
        out = list(texts)
        batch = []
        for i, t in enumerate(texts):
            if "\0" in t:
                out[i] = self._text(t, where)
            elif t:
                batch.append(i)
        if not batch:
            return out
        sub = [texts[i] for i in batch]
        joined = SEPARATOR.join(sub)
        starts, pos = [], 0
        for t in sub:
            starts.append(pos)
            pos += len(t) + len(SEPARATOR)
        per: dict[int, list[Hit]] = {}
        for h in self.hits(joined, False, self._extra(joined)):
            j = bisect.bisect_right(starts, h.start) - 1
            end = min(h.end, starts[j] + len(sub[j]))
            if end > h.start:
                per.setdefault(j, []).append(Hit(h.kind, h.detector, h.start - starts[j], end - starts[j]))
        if self._line_hits:  # TruffleHog's findings by line are keyed by each string
            for j, t in enumerate(sub):
                extra = [h for h in self._extra(t) if h.detector == "trufflehog"]
                if extra:
                    per[j] = [h for h in resolve(per.get(j, []) + extra) if not self.policy.allowed(t[h.start:h.end])]
        replaced = []
        for j, t in enumerate(sub):
            hits = per.get(j)
            if hits:
                self._count(hits, where)
                t = self.replace(t, hits)
            replaced.append(t)
        # Tokens never match across SEPARATOR either: one pass for all.
        tokenized = self.paths.apply(SEPARATOR.join(replaced), self.tokenized).split(SEPARATOR)
        for i, t in zip(batch, tokenized):
            out[i] = t
        return out

    def _count(self, hits: list[Hit], where: str) -> None:
        for h in hits:
            if h.kind not in _PII_TOKEN:
                if self.policy.action == "block":
                    self._blocked(h.kind, where)
                self.redacted[h.kind] = self.redacted.get(h.kind, 0) + 1
            else:
                self.tokenized[h.kind] = self.tokenized.get(h.kind, 0) + 1

    def check(self, recs: dict, folder, previous: dict | None) -> dict:
        """Gate what `redact` did not see, rewrite snapshots; the manifest's report."""
        trace = recs["trace"]
        for step in trace["steps"]:
            if self.batch_ids.intersection(step.get("events", ())):
                for key in ("name", "agent_type", "trigger"):
                    if isinstance(step.get(key), str):
                        step[key] = self._text(step[key], f"step {step['n']}")
        info = trace["info"]
        for key in ("cwd", "transcript_path", "model", "harness_version"):
            if isinstance(info.get(key), str):
                info[key] = self._text(info[key], "the session's info")
        self._snapshots(recs, folder, previous)
        try:
            os.unlink(blocked_marker(self.store.location.state_dir, self.session_id))
        except FileNotFoundError:
            pass
        return self.report(recs, previous)

    def _base(self, recs: dict, previous: dict | None) -> str | None:
        base = recs["trace"]["info"].get("base") or (previous or {}).get("base") or {}
        commit = base.get("commit") if isinstance(base, dict) else None
        if commit:
            return commit
        try:
            return None if self.store.repo.head_is_unborn else str(self.store.repo.head.target)
        except pygit2.GitError:
            return None

    def _snapshots(self, recs: dict, folder, previous: dict | None) -> None:
        if not folder.new_snapshots:
            return
        base = self._base(recs, previous)
        listed = {name: self.tree_blobs(oid, base) for name, oid in folder.new_snapshots.items()}
        results = self.scan_blobs({o for blobs in listed.values() for _, o in blobs}, rewrite=True)
        trail = recs["trail"]
        originals: list[str] = []
        for name, blobs in listed.items():
            changes = {path: oid for path, oid in blobs if results[oid]}
            if not changes:
                continue
            if self.policy.action == "block":
                for path in sorted(changes):
                    secrets = [k for k, _, _ in results[changes[path]][1] if k not in _PII_TOKEN]
                    if secrets:
                        self._blocked(secrets[0], f"'{path.decode('utf-8', 'backslashreplace')}' of snapshot {name}")
            old_tree = folder.new_snapshots[name]
            new_tree = self.rewrite_tree(old_tree, {p: results[o][0] for p, o in changes.items()})
            folder.new_snapshots[name] = new_tree
            trail["snapshots"][name]["tree"] = new_tree
            originals.append(old_tree)
            for path, oid in sorted(changes.items()):
                originals.append(oid)
                mark = {"snapshot": name, **_path_fields(path), "blob": results[oid][0],
                        "hits": [{"kind": k, "line": line} for k, line, _ in results[oid][1]]}
                trail.setdefault("redacted", []).append(mark)
        self.cache.save()
        if originals:
            _remember_originals(self.store, self.session_id, originals)

    def report(self, recs: dict, previous: dict | None) -> dict:
        """The gate's report for the manifest: this seal's counts added to the previous seal's."""
        prev = (previous or {}).get("gate") or {}
        files: dict[str, int] = {}
        seen = set()
        for mark in recs["trail"].get("redacted", []):
            key = (mark["path"], mark.get("blob"))
            if key in seen:
                continue  # the same file version in several snapshots counts once
            seen.add(key)
            for hit in mark.get("hits", []):
                if hit["kind"] not in _PII_TOKEN:
                    files[hit["kind"]] = files.get(hit["kind"], 0) + 1
        residual = _add(prev.get("residual") or {}, self.residual)
        residual = {k: residual.get(k, 0) for k in judge.RESIDUAL_KEYS}
        return {
            "version": GATE_VERSION,
            "action": self.policy.action,
            "redacted": _add(prev.get("redacted") or {}, self.redacted),
            "files": dict(sorted(files.items())),
            "tokens": _add(prev.get("tokens") or {}, self.tokenized),
            "residual": residual,
            "risk": judge.score(residual),
        }


def _path_fields(raw: bytes) -> dict:
    out = {"path": raw.decode("utf-8", "backslashreplace")}
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        out["path_raw"] = raw
    return out


def blocked_marker(state_dir: str, session_id: str) -> str:
    """`<common-dir>/opentraces/gate/blocked/<session>`: the last seal was blocked."""
    return os.path.join(state_dir, "gate", "blocked", session_id)


def originals_path(store: Store, session_id: str) -> str:
    return os.path.join(store.location.state_dir, "gate", "originals", session_id)


def _remember_originals(store: Store, session_id: str, oids: list[str]) -> None:
    """The unredacted snapshot objects a seal replaced, for `forget` to delete.

    They were written on the hook path before the gate saw them; nothing
    refers to them, and `git gc` prunes them in time, `git ot forget` at once.
    """
    path = originals_path(store, session_id)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a", encoding="ascii") as fh:
        fh.write("".join(o + "\n" for o in oids))


# -- scan ---------------------------------------------------------------------

def _resolve_ids(store: Store, specs: list[str], pending: list[str]) -> list[str]:
    known = sorted(set(store.session_ids()) | set(pending))
    if not specs:
        return known
    out = []
    for spec in specs:
        sid = match_session(spec, known)
        if sid not in out:
            out.append(sid)
    return out


def scan(store: Store, specs: list[str] | tuple = (), policy: Policy | None = None) -> dict:
    """`git ot scan`: the findings in the sessions named (all, by default),
    sealed and still spooled, under the policy in force."""
    gate = Gate(store, policy)
    pending = Spool(store.location.state_dir).pending_sessions()
    ids = _resolve_ids(store, list(specs), pending)
    return {"policy": gate.policy.describe(), "sessions": [gate.scan_session(sid) for sid in ids]}


# -- egress -------------------------------------------------------------------

def egress_check(store: Store, session_ids: list[str], policy: Policy | None = None) -> dict:
    """The gate at egress: may these sessions leave the machine as stored?

    Every session is scanned again under `policy` (default: the one in
    force). A session passes when nothing is open (every finding was
    redacted at seal, or the allow-list lets it through) and its risk is at
    most `max_risk`; stored objects cannot be redacted after the fact, so at
    egress an open finding always holds the session back, whatever the
    action. Pending (unsealed) events do not leave and are not looked at.
    The result: `ok`, and per session `verdict` (`pass` or `block`),
    `reasons`, `risk` and the open `findings`.
    """
    gate = Gate(store, policy)
    out = []
    for sid in session_ids:
        result = gate.scan_session(sid, spool=False)
        reasons = []
        if not result["sealed"]:
            reasons.append("not sealed")
        if result["open"]:
            kinds = sorted({f["kind"] for f in result["findings"] if f["status"] == "open"})
            reasons.append(f"{result['open']} open finding{'s' if result['open'] != 1 else ''}: {', '.join(kinds)}")
        if result["risk"] > gate.policy.max_risk:
            reasons.append(f"risk {result['risk']} is above ot.security.maxRisk {gate.policy.max_risk}")
        out.append({"session": sid, "verdict": "block" if reasons else "pass", "reasons": reasons,
                    "risk": result["risk"],
                    "findings": [f for f in result["findings"] if f["status"] == "open"]})
    return {"ok": all(s["verdict"] == "pass" for s in out), "policy": gate.policy.describe(), "sessions": out}


def raise_if_blocked(report: dict) -> None:
    """Raise EgressBlocked when an egress report holds a session back."""
    blocked = [s for s in report["sessions"] if s["verdict"] == "block"]
    if not blocked:
        return
    first = blocked[0]
    more = f" and {len(blocked) - 1} more" if len(blocked) > 1 else ""
    raise EgressBlocked(
        f"the security gate holds back session '{first['session']}'{more}: {'; '.join(first['reasons'])}",
        hint=f"'git ot scan {first['session']}' shows the findings; 'git ot forget {first['session']}' "
             f"deletes it, or adjust ot.security.allow / ot.security.maxRisk")


from .forget import forget, rewrite_notes_without  # noqa: E402  (uses the helpers above)
