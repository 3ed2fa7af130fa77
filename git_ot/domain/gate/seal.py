"""The gate as a seal runs it: nothing sensitive reaches a ref unchecked.

At seal, every string of harness data passes `SealGate.redact` before it
is stored (the fold's `Payloads.put` calls it, so a secret never reaches a
blob either), the few inline strings of the records pass `SealGate.check`,
and so does every snapshot tree the seal is about to refer to: a file that
holds a secret is stored redacted, under a rewritten tree, and marked in
the trail's `redacted` list. The spool itself stays as the harness sent it:
it is local, under the git directory, and never pushed.

A seal leaves two kinds of local state under `<common-dir>/opentraces/gate/`:
a marker for a session whose seal the policy `block` stopped, and the list
of unredacted snapshot objects a seal replaced, which `git ot forget` deletes.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import os

import pygit2

from ...errors import GateBlocked
from ...store import notices, state, trees
from ...store.trees import path_fields
from ...store.repository import Store
from ...store.spool import Spilled, SpillLost
from ..fold import INFO_TEXTS, LOST_SPILLED, Streamed, _text, valid_text
from . import judge
from .detectors import Hit, resolve, run_trufflehog, secret_in_field, trufflehog_kind
from .engine import PII_TOKEN, Gate, line_span
from .policy import GATE_VERSION, Policy
from .transform import placeholder_for

# Between strings checked in one pass: no rule of the detectors or the judge
# matches a NUL, so none matches across it.
SEPARATOR = "\n\0\n"


def _add(total: dict, more: dict) -> dict:
    out = dict(total)
    for k, v in more.items():
        out[k] = out.get(k, 0) + v
    return dict(sorted(out.items()))


# A string longer than this (characters) is scanned on its own, not joined
# with the others of its value (SealGate._texts).
ALONE = 1 << 20
# A spilled string (store/spool.py) is gated WINDOW characters at a time,
# each window scanned with up to OVERLAP characters that follow it: a
# finding that starts in the window is found whole, and stored redacted,
# when it is shorter than OVERLAP (a private key is a few kilobytes).
WINDOW = 1 << 20
OVERLAP = 1 << 16


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
        # A seal is the first write: the repository's salt is loaded, or
        # made, here, so the tokens of every later seal match this one's.
        _ = self.tokens.salt
        self.session_id = session_id
        self.batch_ids = set()
        # A string is spilled (a Spilled in its place) only in an event whose
        # line says so (store/spool.py): in a batch with none, values are
        # not walked for them.
        self.spills = False
        for e in events:
            self.batch_ids.add(e.get("id"))
            self.spills = self.spills or "spilled" in e
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
            if isinstance(value, Spilled):
                value = whole_text(value)  # TruffleHog reads a text whole
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
                a, b = line_span(text, line)
                out.append(Hit(kind, "trufflehog", a, b))
        return out

    def _blocked(self, kind: str, where: str) -> None:
        # Marked so that the hook path does not retry the seal on every call
        # (capture/hook.py); a seal at turn end, a git hook or a command does.
        marker = state.blocked_marker(self.store.location.state_dir, self.session_id)
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
        # A spilled string is gated a window at a time as Payloads stores
        # it; whole, as any other, when TruffleHog runs (it read it whole).
        if self.spills:
            value = _swap_spilled(value, whole_text if self.trufflehog else
                                  (lambda sp: GatedStream(self, sp, "the session's records")))
        texts: list[str] = []
        whole: set[int] = set()  # strings that are secrets by their key: replaced whole
        keys: set[int] = set()
        self._collect(value, None, texts, whole, keys)
        if not texts:
            return value
        new = self._texts(texts, "the session's records")
        if new is texts and not whole:
            # Empty strings left out: one long output is then judged as it is, not copied.
            judge.residual(SEPARATOR.join(t for i, t in enumerate(texts) if t and i not in keys), self.residual)
            return value  # nothing to replace: the value as it came (put() copies it as it stores it)
        for i in whole:
            new[i] = placeholder_for("password-assignment")
            self.redacted["password-assignment"] = self.redacted.get("password-assignment", 0) + 1
        judge.residual(SEPARATOR.join(t for i, t in enumerate(new) if t and i not in keys and i not in whole),
                       self.residual)
        return _rebuild(value, iter(new))

    def _collect(self, v, key, texts: list[str], whole: set[int], keys: set[int]) -> None:
        """The strings of a harness value (map keys too) appended to `texts`,
        in order; the places of map keys added to `keys`, and of strings that
        are secrets by their key to `whole` (an empty string in `texts`).

        A method, not a closure of `redact`: a closure that calls itself is
        a reference cycle, which would keep every value's strings until the
        collector runs (an import disables it)."""
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
                self._collect(x, k if isinstance(k, str) else None, texts, whole, keys)
        elif isinstance(v, list):
            for x in v:
                self._collect(x, None, texts, whole, keys)

    def windows(self, spilled: Spilled, where: str):
        """A spilled string as it may be stored, redacted and tokenized a
        window at a time (see WINDOW), its residue judged likewise."""
        pending = ""
        for piece in spilled.windows():
            pending += _text(piece)
            while len(pending) >= WINDOW + OVERLAP:
                text, pending = self._window(pending, where, False)
                yield text
        while pending:
            text, pending = self._window(pending, where, True)
            yield text

    def _window(self, buf: str, where: str, last: bool) -> tuple[str, str]:
        """The window at the start of `buf`, gated; and the rest of `buf`.

        The window ends at the last line break (else space) before the
        final OVERLAP characters, or past the end of a finding that starts
        in it; the rest is scanned again with the next piece."""
        if last:
            cut = len(buf)
        else:
            limit = len(buf) - OVERLAP
            cut = buf.rfind("\n", 0, limit) + 1 or buf.rfind(" ", 0, limit) + 1 or limit
        hits = [h for h in self.hits(buf, False, self._extra(buf)) if h.start < cut]
        end = max([cut] + [h.end for h in hits])
        text = buf[:end]
        if hits:
            self._count(hits, where)
            text = self.replace(text, hits)
        text = self.paths.apply(text, self.tokenized)
        judge.residual(text, self.residual)
        return text, buf[end:]

    def _texts(self, texts: list[str], where: str) -> list[str]:
        """`_text` for many strings at once: one pass over their concatenation.

        A string that holds a NUL (which could be taken for SEPARATOR) is
        checked on its own, and so is one longer than ALONE: joining it would
        copy it, and a tool's output can be tens of megabytes. When no string
        changes, `texts` itself is returned.
        """
        out = list(texts)
        batch = []
        changed = False
        for i, t in enumerate(texts):
            if len(t) > ALONE or "\0" in t:
                out[i] = self._text(t, where)
                changed = changed or out[i] != t
            elif t:
                batch.append(i)
        if not batch:
            return out if changed else texts
        sub = [texts[i] for i in batch]
        joined = SEPARATOR.join(sub)  # one string alone is joined without a copy
        found = self.hits(joined, False, self._extra(joined))
        per: dict[int, list[Hit]] = {}
        if found:
            starts = list(itertools.accumulate((len(t) + len(SEPARATOR) for t in sub[:-1]), initial=0))
            for h in found:
                j = bisect.bisect_right(starts, h.start) - 1
                end = min(h.end, starts[j] + len(sub[j]))
                if end > h.start:
                    per.setdefault(j, []).append(Hit(h.kind, h.detector, h.start - starts[j], end - starts[j]))
        if self._line_hits:  # TruffleHog's findings by line are keyed by each string
            for j, t in enumerate(sub):
                extra = [h for h in self._extra(t) if h.detector == "trufflehog"]
                if extra:
                    per[j] = [h for h in resolve(per.get(j, []) + extra) if not self.policy.allowed(t[h.start:h.end])]
        if per:
            replaced = list(sub)
            for j, hits in sorted(per.items()):
                if hits:
                    self._count(hits, where)
                    replaced[j] = self.replace(sub[j], hits)
            joined = SEPARATOR.join(replaced)
        # Tokens never match across SEPARATOR either: one pass for all.
        tokenized = self.paths.apply(joined, self.tokenized)
        if tokenized is joined and not per:
            return out if changed else texts  # nothing replaced: every string as it was
        for i, t in zip(batch, tokenized.split(SEPARATOR)):
            out[i] = t
        return out

    def _count(self, hits: list[Hit], where: str) -> None:
        for h in hits:
            if h.kind not in PII_TOKEN:
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
        for key in INFO_TEXTS:
            if isinstance(info.get(key), str):
                info[key] = self._text(info[key], "the session's info")
        snapshots = recs["trail"]["snapshots"]
        for name in folder.new_snapshots:
            if isinstance(snapshots.get(name, {}).get("branch"), str):
                snapshots[name]["branch"] = self._text(snapshots[name]["branch"], f"snapshot {name}")
        self._snapshots(recs, folder, previous)
        try:
            os.unlink(state.blocked_marker(self.store.location.state_dir, self.session_id))
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
                    secrets = [k for k, _, _ in results[changes[path]][1] if k not in PII_TOKEN]
                    if secrets:
                        self._blocked(secrets[0], f"'{path.decode('utf-8', 'backslashreplace')}' of snapshot {name}")
            old_tree = folder.new_snapshots[name]
            new_tree = trees.rewrite_tree(self.store, old_tree, {p: results[o][0] for p, o in changes.items()})
            folder.new_snapshots[name] = new_tree
            trail["snapshots"][name]["tree"] = new_tree
            originals.append(old_tree)
            for path, oid in sorted(changes.items()):
                originals.append(oid)
                mark = {"snapshot": name, **path_fields(path), "blob": results[oid][0],
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
                if hit["kind"] not in PII_TOKEN:
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


class GatedStream(Streamed):
    """A spilled string as the gate lets it be stored (SealGate.windows)."""

    def __init__(self, gate: SealGate, spilled: Spilled, where: str):
        self.gate, self.spilled, self.where = gate, spilled, where

    def chunks(self):
        for text in self.gate.windows(self.spilled, self.where):
            yield text.encode("utf-8", "surrogateescape")


def whole_text(spilled: Spilled) -> str:
    """A spilled string read whole (for TruffleHog); what a record holds in
    its place when its file was lost."""
    try:
        return spilled.text()
    except SpillLost as exc:
        notices.warn(str(exc))
        return f"{LOST_SPILLED}: {exc}]"


def _rebuild(value, strings):
    """`value` with each of its strings (map keys too), in the order
    `SealGate._collect` takes them, the next of the iterator `strings`."""
    if isinstance(value, str):
        return next(strings)
    if isinstance(value, dict):
        out = {}
        for k, x in value.items():
            nk = next(strings) if isinstance(k, str) else k
            out[nk] = _rebuild(x, strings)
        return out
    if isinstance(value, list):
        return [_rebuild(x, strings) for x in value]
    return value


def _swap_spilled(value, swap):
    """`value` with `swap(s)` in the place of each Spilled `s` in it;
    `value` itself when it holds none."""
    if isinstance(value, Spilled):
        return swap(value)
    if isinstance(value, dict):
        out = None
        for k, v in value.items():
            nv = _swap_spilled(v, swap)
            if nv is not v and out is None:
                out = dict(value)
            if out is not None:
                out[k] = nv
        return value if out is None else out
    if isinstance(value, list):
        new = [_swap_spilled(v, swap) for v in value]
        return value if all(a is b for a, b in zip(new, value)) else new
    return value


def _remember_originals(store: Store, session_id: str, oids: list[str]) -> None:
    """The unredacted snapshot objects a seal replaced, for `forget` to delete.

    They were written on the hook path before the gate saw them; nothing
    refers to them, and `git gc` prunes them in time, `git ot forget` at once.
    """
    path = state.originals(store.location.state_dir, session_id)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a", encoding="ascii") as fh:
        fh.write("".join(o + "\n" for o in oids))
