"""The gate's policy: what it looks for and what it does, per repository.

Read from git config, so `git config` sets it for one repository and
`git config --global` for all of them:

    ot.security.detectors   comma list: patterns, entropy, or single kinds
                            (aws-access-key, jwt, ...); default patterns,entropy
    ot.security.action      redact (default) or block
    ot.security.allow       a regular expression, repeatable: a finding whose
                            text it matches (re.search) is let through
    ot.security.pii         true: also e-mail addresses, phone numbers and IP
                            addresses (as stable tokens); default false
    ot.security.trufflehog  auto (default: when `trufflehog` is on PATH),
                            true (required), false (never)
    ot.security.maxRisk     0-100: egress holds back a session whose risk is
                            higher; default 50
    ot.security.tokenize    a literal value, repeatable: written as a stable
                            [VALUE:...] token in every record
"""

from __future__ import annotations

import hashlib
import re
import shutil
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ...errors import BadPolicy, TruffleHogMissing
from .detectors import RULES, SECRET_KINDS

if TYPE_CHECKING:
    from ...store.repository import Store

GATE_VERSION = 1
DETECTOR_GROUPS = ("patterns", "entropy")
DEFAULT_MAX_RISK = 50
PATTERN_KINDS = frozenset(r.kind for r in RULES) | {"password-assignment"}


@dataclass(frozen=True)
class Policy:
    """The security gate's settings for one repository."""

    detectors: tuple[str, ...] = DETECTOR_GROUPS
    action: str = "redact"
    allow: tuple[str, ...] = ()
    pii: bool = False
    trufflehog: str = "auto"
    max_risk: int = DEFAULT_MAX_RISK
    tokenize: tuple[str, ...] = ()
    _allow_re: tuple = field(default=(), compare=False, repr=False)

    def __post_init__(self):
        compiled = []
        for pattern in self.allow:
            try:
                compiled.append(re.compile(pattern))
            except re.error as exc:
                raise BadPolicy(f"bad regular expression '{pattern}' in ot.security.allow: {exc}",
                                hint="fix it with 'git config --unset-all ot.security.allow' and add it again") from None
        object.__setattr__(self, "_allow_re", tuple(compiled))
        for name in self.detectors:
            if name not in DETECTOR_GROUPS and name not in SECRET_KINDS:
                raise BadPolicy(f"unknown detector '{name}' in ot.security.detectors",
                                hint="use patterns, entropy or a kind: " + ", ".join(SECRET_KINDS))
        if self.action not in ("redact", "block"):
            raise BadPolicy(f"bad value '{self.action}' for ot.security.action",
                            hint="use 'redact' or 'block'")
        if self.trufflehog not in ("auto", "true", "false"):
            raise BadPolicy(f"bad value '{self.trufflehog}' for ot.security.trufflehog",
                            hint="use 'auto', 'true' or 'false'")
        if not 0 <= self.max_risk <= 100:
            raise BadPolicy(f"bad value '{self.max_risk}' for ot.security.maxRisk",
                            hint="use a number from 0 to 100")

    @property
    def pattern_kinds(self) -> frozenset[str] | None:
        """The pattern kinds to look for (None: all of them)."""
        if "patterns" in self.detectors:
            return None
        return frozenset(self.detectors) & PATTERN_KINDS

    @property
    def entropy(self) -> bool:
        return "entropy" in self.detectors or "high-entropy" in self.detectors

    def allowed(self, text: str) -> bool:
        return any(r.search(text) for r in self._allow_re)

    def trufflehog_binary(self) -> str | None:
        """The trufflehog to run, None when not used; raises when required and missing."""
        if self.trufflehog == "false":
            return None
        found = shutil.which("trufflehog")
        if found is None and self.trufflehog == "true":
            raise TruffleHogMissing(
                "trufflehog is required (ot.security.trufflehog is true) but is not on PATH",
                hint="install TruffleHog v3 (https://github.com/trufflesecurity/trufflehog), "
                     "or 'git config ot.security.trufflehog auto' to use it only when present")
        return found

    def fingerprint(self, trufflehog: str | None) -> str:
        """What a cached scan of a blob depends on: rules, detectors, allow-list."""
        parts = [f"gate {GATE_VERSION}", ",".join(sorted(self.detectors)), "\0".join(self.allow),
                 f"pii={self.pii}", f"trufflehog={bool(trufflehog)}"]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]

    def describe(self) -> dict:
        return {"detectors": list(self.detectors), "action": self.action, "allow": list(self.allow),
                "pii": self.pii, "trufflehog": self.trufflehog, "max_risk": self.max_risk}


_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0", "")


def from_config(config) -> Policy:
    """The policy a repository's git config (a pygit2 Config) sets."""
    def get(key: str) -> str | None:
        try:
            return config[key] if key in config else None
        except (KeyError, ValueError):
            return None

    def multi(key: str) -> tuple[str, ...]:
        try:
            return tuple(v for v in config.get_multivar(key) if v)
        except (KeyError, ValueError):
            return ()

    kw: dict = {}
    detectors = get("ot.security.detectors")
    if detectors is not None:
        kw["detectors"] = tuple(d.strip() for d in detectors.split(",") if d.strip())
    action = get("ot.security.action")
    if action is not None:
        kw["action"] = action.strip().lower()
    pii = get("ot.security.pii")
    if pii is not None:
        low = pii.strip().lower()
        if low not in _TRUE + _FALSE:
            raise BadPolicy(f"bad value '{pii}' for ot.security.pii", hint="use 'true' or 'false'")
        kw["pii"] = low in _TRUE
    th = get("ot.security.trufflehog")
    if th is not None:
        low = th.strip().lower()
        kw["trufflehog"] = "true" if low in _TRUE[1:] + ("true",) else "false" if low in _FALSE[1:] + ("false",) else low
    risk = get("ot.security.maxrisk")
    if risk is not None:
        if not risk.strip().isdigit():
            raise BadPolicy(f"bad value '{risk}' for ot.security.maxRisk", hint="use a number from 0 to 100")
        kw["max_risk"] = int(risk)
    kw["allow"] = multi("ot.security.allow")
    kw["tokenize"] = multi("ot.security.tokenize")
    return Policy(**kw)


def policy_for(store: Store) -> Policy:
    """The policy in force in this repository (its git config)."""
    return from_config(store.repo.config)
