"""Detectors: where a text holds a credential or, when asked, personal data.

A detector returns hits: the kind of what it found (`aws-access-key`), its
own name (`pattern`, `entropy`, `pii`, `trufflehog`) and the span of text
to replace. Three families run in process:

- patterns, one rule per kind of credential, most anchored on the fixed
  prefix the issuer puts in front of its tokens (`ghp_`, `xoxb-`, `AKIA`),
  the rest on the context that names a secret (`password = ...`,
  `postgres://user:pass@`, `Authorization: Bearer ...`); a rule with a
  context replaces only the secret, so the text around it keeps its shape;
- high-entropy strings: random-looking tokens that no pattern names, with
  a threshold that depends on the token's length (see `entropy_threshold`)
  and filters that leave hashes, UUIDs, identifiers, paths and long
  base64 data alone;
- personal data (opt-in): e-mail addresses, phone numbers, IP addresses.

TruffleHog, when it is used, runs as a subprocess over a temporary file
(`run_trufflehog`); its hits carry the detector name TruffleHog reported.
"""

from __future__ import annotations

import base64
import bisect
import functools
import json
import math
import os
import re
import subprocess
import tempfile
from collections import Counter
from typing import Callable, NamedTuple

from ...errors import TruffleHogFailed


class Hit(NamedTuple):
    """One finding in a text: what, found by which detector, where."""

    kind: str
    detector: str
    start: int
    end: int


# -- values that only look like secrets ---------------------------------------

# Words people put where a secret goes in examples, templates and docs.
_PLACEHOLDER_WORDS = {
    "password", "passwd", "passphrase", "pass", "pwd", "secret", "secrets", "token",
    "apikey", "api_key", "key", "changeme", "change_me", "example", "sample", "dummy",
    "test", "testing", "test123", "foo", "bar", "foobar", "baz", "qux", "none", "null",
    "nil", "true", "false", "undefined", "string", "str", "bytes", "int", "bool", "any",
    "object", "optional", "required", "hidden", "redacted", "masked", "placeholder",
    "default", "empty", "unknown", "bearer", "basic", "mypassword", "yourpassword",
    "your_password", "your-password", "password123", "secret123", "admin", "root",
    "user", "username", "guest", "letmein", "xxx", "xxxx", "self", "value", "getpass",
}
_PLACEHOLDER_HINTS = ("example", "your", "placeholder", "changeme", "dummy", "redacted",
                      "xxxx", "****", "...", "<", ">", "${", "{{", "%(", "%s", "process.env",
                      "os.environ", "getenv", "env(", "env.", "secrets.", "vars.")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*(?:\(\))?$")


def placeholder(value: str) -> bool:
    """Whether a value in a secret's place is a stand-in, not a secret."""
    v = value.strip().strip("'\"`")
    if len(v) < 4 or len(set(v)) <= 2:
        return True
    low = v.lower()
    if low in _PLACEHOLDER_WORDS or v[0] in "$%{<[*&@!(:#" or v.startswith("[REDACTED:"):
        return True
    return any(h in low for h in _PLACEHOLDER_HINTS)


def _secretish(value: str) -> bool:
    """An unquoted value that could be a secret rather than a reference.

    `password = other_password` and `secret: str` are code; a configuration
    file's unquoted literal has a digit or a symbol more often than not.
    """
    return not _IDENTIFIER.match(value) or any(c.isdigit() for c in value)


# -- the prefilter -------------------------------------------------------------
#
# Most of what a session holds is prose, code and logs with no secret in
# it; running every rule over all of it is what made the gate slow. Every
# token an issuer's rule finds, and every string the entropy test tries, is
# a run of at least 20 characters of one ASCII class (letters, digits and
# `+/_=-`): the text's such runs (a few per cent of its characters) are
# found once, in one pass over bytes that hold one byte per character, and
# those rules run over the runs alone, joined; each candidate is then
# matched again in the text itself, where the characters around it are the
# real ones. The rules that are not runs (a private key's armour, a
# webhook's URL, tokens whose pattern admits any Unicode digit) run only
# over a text that holds their literal. What is skipped is only what the
# rule could not match, so the findings are exactly those of every
# detector over every text (`prefilter=False`; tests/gate/test_prefilter.py
# compares the two).

RUN_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_=-"
RUN_MIN = 20


def run_table(chars: str) -> bytes:
    """A table for `class_runs`: each byte of `chars` to `a`, every other to a space."""
    return bytes(0x61 if chr(b) in chars else 0x20 for b in range(256))


def class_runs(ascii: bytes, table: bytes, minimum: int) -> list[tuple[int, int]]:
    """(start, end) of each maximal run of at least `minimum` bytes that
    `table` (see `run_table`) maps to `a`: the matches of `[chars]{minimum,}`
    in the text `ascii` was made of (Probe.ascii), when every one of `chars`
    is ASCII, found by a translation and substring searches instead of a
    regular expression tried at every position."""
    marks = ascii.translate(table)
    need = b"a" * minimum
    out = []
    at = marks.find(need)
    while at >= 0:
        end = marks.find(b" ", at + minimum)
        if end < 0:
            end = len(marks)
        out.append((at, end))
        at = marks.find(need, end)
    return out


_RUN_TABLE = run_table(RUN_CHARS)
_JOIN = "\0"  # in no run, and no rule matches across it


class Probe:
    """A text's runs and bytes, made once and shared by the detectors."""

    __slots__ = ("text", "_ascii", "_runs", "_joined")

    def __init__(self, text: str):
        self.text = text
        self._ascii = None
        self._runs = None
        self._joined = None

    @property
    def ascii(self) -> bytes:
        """The text as bytes, one per character: ASCII as it is, any other `?`."""
        if self._ascii is None:
            self._ascii = self.text.encode("ascii", "replace")
        return self._ascii

    def holds(self, anchors: tuple[bytes, ...]) -> bool:
        return any(a in self.ascii for a in anchors)

    def runs(self) -> list[tuple[int, int]]:
        """(start, end) of each maximal run of at least RUN_MIN characters of RUN_CHARS."""
        if self._runs is None:
            self._runs = class_runs(self.ascii, _RUN_TABLE, RUN_MIN)
        return self._runs

    def joined(self) -> tuple[str, list[int], list[int]]:
        """The runs joined by NUL, where each starts in it and in the text."""
        if self._joined is None:
            runs = self.runs()
            at_joined, at_text, pos = [], [], 0
            for a, b in runs:
                at_joined.append(pos)
                at_text.append(a)
                pos += b - a + 1
            self._joined = (_JOIN.join(self.text[a:b] for a, b in runs), at_joined, at_text)
        return self._joined

    def matches(self, regex: re.Pattern):
        """regex.finditer(text) for a rule whose every match is inside a run
        (`Rule.in_runs`), found in the runs and matched again in the text.

        In the joined runs a match can differ from the text's only where a
        run ends: there a NUL follows instead of the text's next character,
        which lets a negative look-ahead pass that the text's character
        (a letter not ASCII, for `\\w`) would fail. Matching again at the
        same place in the text drops those; none of the rules that are runs
        can hold another match of its own inside such a span.
        """
        if not self.runs():
            return
        joined, at_joined, at_text = self.joined()
        for jm in regex.finditer(joined):
            i = bisect.bisect_right(at_joined, jm.start()) - 1
            m = regex.match(self.text, at_text[i] + jm.start() - at_joined[i])
            if m is not None:
                yield m


# -- the pattern rules ---------------------------------------------------------
#
# Every regular expression here starts with a literal (the issuer's prefix,
# or `://`, or a keyword of the lower-cased text): Python's re then finds
# candidates at the speed of a substring search. A leading \b or look-behind
# would make it try every position, so boundaries are checked in Python.

class Rule(NamedTuple):
    kind: str
    regex: re.Pattern
    group: str | int  # the part of the match that is the secret
    check: Callable[[str], bool] | None = None
    boundary: bool = True  # the match must not follow a letter, digit or "_"
    # Where the prefilter looks for it (see `Probe`): `in_runs`, every
    # character a match takes is in RUN_CHARS and it takes at least RUN_MIN
    # of them, with no look-ahead but a negative one; else `anchors`, the
    # literals one of which every match holds (none: every text is searched).
    in_runs: bool = False
    anchors: tuple[bytes, ...] = ()


def _mixed(value: str) -> bool:
    return (any(c.islower() for c in value) and any(c.isupper() for c in value)) \
        or any(c.isdigit() for c in value)


def _has_digit(value: str) -> bool:
    return any(c.isdigit() for c in value)


def _aws_secret(value: str) -> bool:
    return (len(value) == 40 and any(c.islower() for c in value) and any(c.isupper() for c in value)
            and any(c.isdigit() or c in "+/" for c in value) and not placeholder(value))


RULES: list[Rule] = [
    Rule("private-key", re.compile(
        r"-----BEGIN (?P<label>(?:[A-Z0-9]+ )*)PRIVATE KEY(?P<blk>(?: BLOCK)?)-----"
        r"(?:[^\0]{0,20000}?-----END (?P=label)PRIVATE KEY(?P=blk)-----"
        r"|(?:[A-Za-z0-9+/=:,. \t\r\n-]|\\[nr])*)"), 0, None, False,
        anchors=(b"-----BEGIN ",)),
    Rule("aws-access-key", re.compile(
        r"(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}(?![A-Za-z0-9])"), 0,
        in_runs=True),
    Rule("github-fine-grained-token", re.compile(r"github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}(?!\w)"), 0,
         in_runs=True),
    Rule("github-token", re.compile(r"gh[pousr]_[A-Za-z0-9]{36,251}(?!\w)"), 0,
         in_runs=True),
    # One literal prefix per expression: an alternation of prefixes that start
    # with different letters makes re test every position with such a letter.
    Rule("gitlab-token", re.compile(r"gl(?:pat|dt|rt|ptt|cbt|imt|ft|soat|oas|agent)-[A-Za-z0-9_-]{20,}"), 0,
         in_runs=True),
    Rule("gitlab-token", re.compile(r"GR1348941[A-Za-z0-9_-]{20,}"), 0, in_runs=True),
    Rule("slack-webhook", re.compile(
        r"https://hooks\.slack(?:-gov)?\.com/(?:services|workflows|triggers)/(?P<s>[A-Za-z0-9+/_-]{20,})"), "s",
        anchors=(b"https://hooks.slack",)),
    Rule("slack-token", re.compile(r"x(?:ox[abeoprs](?:\.xox[a-z])?-[A-Za-z0-9-]{10,}|app-\d-[A-Z0-9]+-\d+-[A-Za-z0-9]+)"),
         0, _has_digit, anchors=(b"xox", b"xapp-")),
    Rule("stripe-key", re.compile(r"sk_(?:live|test)_[A-Za-z0-9]{16,}(?!\w)"), 0, _has_digit,
         in_runs=True),
    Rule("stripe-key", re.compile(r"rk_(?:live|test)_[A-Za-z0-9]{16,}(?!\w)"), 0, _has_digit,
         in_runs=True),
    Rule("stripe-key", re.compile(r"whsec_[A-Za-z0-9+/=]{24,}"), 0, _has_digit, in_runs=True),
    Rule("google-api-key", re.compile(r"AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])"), 0, in_runs=True),
    Rule("anthropic-key", re.compile(r"sk-ant-[a-z]{2,8}\d{0,3}-[A-Za-z0-9_-]{20,}"), 0, anchors=(b"sk-ant-",)),
    Rule("openai-key", re.compile(
        r"sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}(?!\w))"), 0,
        in_runs=True),
    Rule("huggingface-token", re.compile(r"hf_[A-Za-z0-9]{34,40}(?!\w)"), 0, _mixed, in_runs=True),
    Rule("huggingface-token", re.compile(r"api_org_[A-Za-z0-9]{34,40}(?!\w)"), 0, _mixed,
         in_runs=True),
    Rule("npm-token", re.compile(r"npm_[A-Za-z0-9]{36}(?!\w)"), 0, in_runs=True),
    Rule("npm-token", re.compile(r"_authToken[ \t]*=[ \t]*(?P<s>[^\s'\"]{8,})"), "s",
         lambda v: not placeholder(v), False, anchors=(b"_authToken",)),
    Rule("pypi-token", re.compile(r"pypi-Ag[A-Za-z0-9_-]{50,}"), 0, in_runs=True),
    Rule("jwt", re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{10,}"), 0,
         anchors=(b"eyJ",)),
]



def leading_part(pattern: str) -> str:
    """A start of the expression `pattern` that every match of it begins
    with a match of, itself an expression: its literal letters, digits, `_`
    and `-`, character classes and groups without a group inside, up to the
    first that is repeated (or is anything else); "" when `pattern` has an
    alternative at its top level, where no start is common to all."""
    depth, i = 0, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 1
        elif c == "[":
            i = pattern.index("]", i + 2)
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            return ""
        i += 1
    m = re.match(r"(?:[A-Za-z0-9_-]|\[[^\]\\]+\]|\(\?:[^()\\]*\))+", pattern)
    if m is None:
        return ""
    part = m.group()
    # The last piece is repeated: the start ends before it.
    while part and pattern[len(part):len(part) + 1] in ("{", "*", "+", "?"):
        piece = re.search(r"(?:[A-Za-z0-9_-]|\[[^\]\\]+\]|\(\?:[^()\\]*\))$", part)
        part = part[:piece.start()]
    return part


# The rules the prefilter runs over the runs run only when the runs hold
# one of their starts: one search of the joined runs for all of them.
_RUN_STARTS = [leading_part(r.regex.pattern) for r in RULES if r.in_runs]
_RUN_START = re.compile("|".join(_RUN_STARTS)) if all(_RUN_STARTS) else None

# Rules on the lower-cased text (same length, ASCII letters folded).
_AUTH_HEADER = re.compile(
    r"authorization[\"']?[ \t]*[:=][ \t]*[\"']?(?P<scheme>bearer|basic)[ \t]+(?P<s>[a-z0-9._~+/=-]{12,})")
_URL_CREDENTIALS = re.compile(r"://(?P<user>[^\s:/@'\"<>\0]*):(?P<s>[^\s@'\"<>/\0]{3,})@")
_SCHEME = re.compile(r"([a-z][a-z0-9+.-]*)$")
_DB_SCHEMES = {"postgres", "postgresql", "mysql", "mariadb", "mongodb", "mongodb+srv", "redis", "rediss",
               "amqp", "amqps", "mssql", "sqlserver", "oracle", "clickhouse", "cockroachdb", "couchdb",
               "neo4j", "cassandra", "memcached", "influxdb", "db2"}
_URL_SCHEMES = {"http", "https", "ftp", "ftps", "sftp", "ssh", "git", "smtp", "smtps", "imap", "imaps",
                "ldap", "ldaps", "svn", "ws", "wss"}

# Key names that say the value is a secret; the secret word ends the name
# (`db_password`, `clientSecret`, `GITHUB_TOKEN`), so `token_type` and
# `password_prompt` are not secrets.
_SECRET_WORDS = (r"(?:pass(?:word|wd|phrase)|pwd|secret|token|api[_.-]?key|apikey|access[_.-]?key"
                 r"|auth[_.-]?key|private[_.-]?key|secret[_.-]?key|credentials?)")
SECRET_KEY = re.compile(r"^(?:[A-Za-z0-9]+[_.-]|[a-z0-9]+(?=[A-Z]))*(?i:" + _SECRET_WORDS + r")s?$")
_ASSIGN = re.compile(
    _SECRET_WORDS + r"s?(?P<kq>[\"']?)[ \t]*(?::=|=>|=|:)[ \t]*"
    r"(?:(?P<q>[\"'`])(?P<quoted>[^\"'`\n\0]{4,200})(?P=q)|(?P<bare>[^\s\"'`,;\0]{4,200}))")
_AWS_SECRET_KEY_NAME = re.compile(r"(?i)(?:aws[_.-]?)?secret[_.-]?(?:access[_.-]?)?key|aws[_.-]?secret")
_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
_LINE_START = re.compile(r"[ \t]*(?:export[ \t]+)?")
_FLAG = re.compile(r"--(?:password|passwd|token|api-key|secret|client-secret)(?:=|[ \t]+)"
                   r"(?P<q>[\"']?)(?P<s>[^\s\"']{4,200})(?P=q)")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def lowered(text: str) -> str:
    """The text in lower case, every index unchanged.

    U+0130 is the one character whose lower case is two characters long
    (Unicode's SpecialCasing); without it, str.lower keeps every index.
    """
    return text.lower() if "\u0130" not in text else text.translate(_ASCII_LOWER)


def _word_before(text: str, pos: int) -> bool:
    return pos > 0 and (text[pos - 1].isalnum() or text[pos - 1] == "_")


# Every match of _ASSIGN starts with one of these (each of _SECRET_WORDS'
# alternatives does): found by substring searches, which cost far less than
# re trying the alternation at every position.
_ASSIGN_STARTS = ("pass", "pwd", "secret", "token", "api", "access", "auth", "private", "credential")


def _assign_matches(low: str):
    """_ASSIGN.finditer(low): each place one of _ASSIGN_STARTS starts is
    tried in order, and the next after a match's end, as finditer does."""
    starts = []
    for word in _ASSIGN_STARTS:
        at = low.find(word)
        while at >= 0:
            starts.append(at)
            at = low.find(word, at + len(word))
    starts.sort()
    end = 0
    for at in starts:
        if at < end:
            continue
        m = _ASSIGN.match(low, at)
        if m is not None:
            end = m.end()
            yield m


def _assignments(text: str, low: str, kinds) -> list[Hit]:
    """`password = "..."` in code and `DB_PASSWORD=...` in configuration."""
    out = []
    for m in _assign_matches(low):
        start = m.start()
        first = text[start]
        if start > 0 and text[start - 1].islower() and first.islower():
            continue  # `bytoken`: the word does not start a name component
        k = start
        while k > 0 and text[k - 1] in _KEY_CHARS:
            k -= 1
        if k > 0 and text[k - 1] == "$":
            continue  # `$password = ...` (a shell or PHP variable, read elsewhere)
        key = text[k:m.start("kq")]
        group = "quoted" if m.group("quoted") is not None else "bare"
        value = text[m.start(group):m.end(group)]
        if _AWS_SECRET_KEY_NAME.search(key) and _aws_secret(value[:40]) and (
                len(value) == 40 or not (value[40].isalnum() or value[40] in "+/=")):
            if kinds is None or "aws-secret-key" in kinds:
                out.append(Hit("aws-secret-key", "pattern", m.start(group), m.start(group) + 40))
            continue
        if kinds is not None and "password-assignment" not in kinds:
            continue
        if group == "bare":
            if value.endswith((")", "]", "}")) or "(" in value or "[" in value:
                continue  # an expression
            env_style = key.upper() == key and any(c.isalpha() for c in key)
            line_start = text.rfind("\n", 0, k) + 1
            at_line_start = _LINE_START.fullmatch(text, line_start, k) is not None
            if not env_style and not at_line_start:
                continue  # `f(password=pw)`: code, not configuration
            if not _secretish(value):
                continue
        low_key = key.lower()
        if placeholder(value) or value.lower() in (low_key, "self." + low_key, "this." + low_key):
            continue
        if not re.search(r"(?i)pass|pwd", key):
            if len(value) < 8 or not any(c.isdigit() for c in value):
                continue  # `token = "eof"`, `key: value`: words, not credentials
        elif len(value) < 12 and value.isalpha():
            continue  # `password="python"` in a test: a word, where a password has a digit or symbol
        out.append(Hit("password-assignment", "pattern", m.start(group), m.end(group)))
    if kinds is None or "password-assignment" in kinds:
        for m in _FLAG.finditer(low):
            value = text[m.start("s"):m.end("s")]
            if not _word_before(text, m.start()) and not placeholder(value):
                out.append(Hit("password-assignment", "pattern", m.start("s"), m.end("s")))
    return out


def pattern_hits(text: str, kinds: frozenset[str] | None = None, probe: Probe | None = None,
                 prefilter: bool = True) -> list[Hit]:
    """Every span a pattern rule (or an assignment of a secret) matches.

    With `prefilter` (the default) each rule looks only where it could
    match (see `Probe`; `probe` is the text's, when the caller made one);
    without, every rule runs over the whole text. The hits are the same.
    """
    if prefilter and probe is None:
        probe = Probe(text)
    elif not prefilter:
        probe = None
    out = []
    # No rule that is runs can match when no run holds the start of one.
    in_runs = probe is not None and bool(probe.runs()) and (
        _RUN_START is None or _RUN_START.search(probe.joined()[0]) is not None)
    for rule in RULES:
        if kinds is not None and rule.kind not in kinds:
            continue
        if probe is None:
            found = rule.regex.finditer(text)
        elif rule.in_runs:
            if not in_runs:
                continue
            found = probe.matches(rule.regex)
        elif rule.anchors and not probe.holds(rule.anchors):
            continue
        else:
            found = rule.regex.finditer(text)
        for m in found:
            if rule.boundary and _word_before(text, m.start()):
                continue
            value = m.group(rule.group)
            if value is None or (rule.check is not None and not rule.check(value)):
                continue
            if rule.kind != "private-key" and len(set(value)) < 10:
                continue  # `ghp_xxxxxxxx...`: a template, not a token
            out.append(Hit(rule.kind, "pattern", m.start(rule.group), m.end(rule.group)))
    low = lowered(text)
    if "://" in text:
        for m in _URL_CREDENTIALS.finditer(low):
            scheme = _SCHEME.search(low, max(0, m.start() - 30), m.start())
            if scheme is None:
                continue
            name = scheme.group(1)
            kind = "database-url" if (name in _DB_SCHEMES or name.startswith("jdbc:")
                                      or name.split("+")[0] in _DB_SCHEMES) else \
                "url-password" if name in _URL_SCHEMES else None
            value = text[m.start("s"):m.end("s")]
            if kind and (kinds is None or kind in kinds) and not placeholder(value):
                out.append(Hit(kind, "pattern", m.start("s"), m.end("s")))
    if "uthorization" in low:
        for m in _AUTH_HEADER.finditer(low):
            kind = "bearer-token" if m.group("scheme") == "bearer" else "basic-auth"
            value = text[m.start("s"):m.end("s")]
            if (kinds is None or kind in kinds) and not placeholder(value):
                out.append(Hit(kind, "pattern", m.start("s"), m.end("s")))
    out.extend(_assignments(text, low, kinds))
    return out


@functools.lru_cache(maxsize=1 << 12)  # a transcript's values have few distinct keys
def _secret_key(key: str) -> bool:
    return SECRET_KEY.match(key) is not None


def secret_in_field(key: str, value: str) -> bool:
    """Whether a structured value is a secret by its key (`{"password": ...}`)."""
    if not _secret_key(key) or "\n" in value or len(value) > 500 or placeholder(value):
        return False
    if re.search(r"(?i)pass|pwd", key):
        return True
    return len(value) >= 8 and any(c.isdigit() for c in value)


SECRET_KINDS = sorted({r.kind for r in RULES} | {"aws-secret-key", "database-url", "url-password",
                                                 "bearer-token", "basic-auth", "password-assignment",
                                                 "high-entropy"})
PII_KINDS = ["email", "phone", "ip-address"]


# -- high entropy --------------------------------------------------------------

# No look-behind: finditer resumes after each whole run, so a match starts a run.
_CANDIDATE = re.compile(r"[A-Za-z0-9+/_=-]{20,}")
_HEX = frozenset("0123456789abcdefABCDEF-")
_WORDS = re.compile(r"[A-Z]?[a-z]{3,}|[A-Z]{4,}")
_PATH_SEGMENT = re.compile(r"[A-Za-z]?[a-z]{2,}[a-z0-9_.-]*")
MIN_ENTROPY_LENGTH = 20
MAX_ENTROPY_LENGTH = 256
# Prefixes of tokens that are hashes or ids, not credentials: subresource
# integrity digests, and the ids Claude Code and the Anthropic and OpenAI
# APIs give tool calls, messages and requests.
# Anthropic's ids: a type, "_01" and base58 (msg_01..., toolu_01..., agent_msg_01...).
_API_ID = re.compile(r"(?:[a-z]+_)+01[A-Za-z0-9]{18,30}")
_SAFE_PREFIXES = ("sha1-", "sha256-", "sha384-", "sha512-", "toolu_", "srvtoolu_", "msg_", "req_",
                  "call_", "chatcmpl-", "resp_", "run_", "file_", "batch_", "org-")


@functools.lru_cache(maxsize=1 << 16)  # the same ids and paths recur on every line of a transcript
def shannon(token: str) -> float:
    """Shannon entropy of the token's characters, in bits per character."""
    n = len(token)
    return -sum(c / n * math.log2(c / n) for c in Counter(token).values())


def entropy_threshold(length: int) -> float:
    """The entropy (bits per character) above which a token of this length looks random.

    Calibrated on random alphanumeric tokens, whose measured entropy grows
    with their length towards log2(62) = 5.95: 19 in 20 of them reach 3.78
    at 20 characters, 4.31 at 32, 4.57 at 40, 4.98 at 64 and 5.31 at 100;
    the threshold, 0.85 + 0.95 ln(length), stays just under those. Names in
    code of 20 to 30 characters measure 3.1 to 4.0; the filters in
    `randomish` take out those the threshold alone would let through.
    """
    return 0.85 + 0.95 * math.log(min(length, 128))


_has_digit_ascii = re.compile(r"[0-9]").search


def randomish(token: str) -> bool:
    """Whether a run of RUN_CHARS looks like a random token (the entropy test,
    its neighbouring lines aside: see `_base64_block`)."""
    t = token.rstrip("=")
    n = len(t)
    if n < MIN_ENTROPY_LENGTH or n > MAX_ENTROPY_LENGTH:
        return False
    # A digit, a lower-case and an upper-case letter: the cheapest test, and
    # the one most candidates fail (the tests here are all conditions of one
    # conjunction, so their order changes nothing but the time).
    if not _has_digit_ascii(t) or t.lower() == t or t.upper() == t:
        return False
    if _HEX.issuperset(t) or t.startswith(_SAFE_PREFIXES) or _API_ID.fullmatch(t):
        return False  # hex digests, UUIDs, ids
    if not (any(c.isdigit() for c in t) and any(c.islower() for c in t) and any(c.isupper() for c in t)):
        return False
    if "/" in t and any(_PATH_SEGMENT.fullmatch(seg) for seg in t.split("/")):
        return False  # a path
    if sum(len(m) for m in _WORDS.findall(t)) * 2 > n or _identifier(t):
        return False  # mostly words: an identifier
    return shannon(t) >= entropy_threshold(n) and not _encoded_text(token)


def _encoded_text(token: str) -> bool:
    """Whether the token is base64 of text (test data, an e-mail body), not of random bytes."""
    import binascii

    body = token.strip("-_") if "+" not in token and "/" not in token else token
    body = body + "=" * (-len(body) % 4)
    for alt in (None, b"-_"):
        try:
            raw = base64.b64decode(body, altchars=alt, validate=True)
        except (binascii.Error, ValueError):
            continue
        if len(raw) < 8:
            continue
        try:
            text = raw.decode("utf-8")
            printable = sum(c.isprintable() or c in "\n\r\t" for c in text)
        except UnicodeDecodeError:  # another 8-bit charset, or random bytes
            text = raw.decode("latin-1")
            printable = sum(" " <= c <= "~" or c in "\n\r\t" for c in text)
        if printable >= 0.85 * len(text):
            return True
    return False


def _base64_line(line: str, full: bool) -> bool:
    line = line.strip()
    return (len(line) >= (60 if full else 16) and all(c.isalnum() or c in "+/=" for c in line)
            and line.isascii())


def _base64_block(text: str, start: int, end: int) -> bool:
    """Whether the token is a line of a block of base64 (MIME, certificates, test data)."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    if text[line_start:line_end].strip() != text[start:end]:
        return False
    before = text[text.rfind("\n", 0, max(line_start - 1, 0)) + 1:max(line_start - 1, 0)] if line_start else ""
    after_end = text.find("\n", line_end + 1)
    after = text[line_end + 1:len(text) if after_end < 0 else after_end] if line_end < len(text) else ""
    return _base64_line(before, True) or _base64_line(after, True)


_SEPARATORS = re.compile(r"[_.-]")
_WORDISH = re.compile(r"[A-Z]?[a-z]{2,}|[A-Z]{2,}")


def _identifier(token: str) -> bool:
    """`check_en_US_iso88591`, `PyUnicode_AsUTF8AndSize`: names joined by separators."""
    segments = _SEPARATORS.split(token)
    if len(segments) < 2:
        return False
    for seg in segments:
        seg = seg.rstrip("0123456789")
        if len(seg) > 3 and sum(len(m) for m in _WORDISH.findall(seg)) < 0.7 * len(seg):
            return False
    return True


def entropy_hits(text: str, probe: Probe | None = None, prefilter: bool = True) -> list[Hit]:
    """Random-looking tokens. With `prefilter`, the candidates are the
    probe's runs: the same as _CANDIDATE's matches (its class is RUN_CHARS,
    its least length RUN_MIN)."""
    if prefilter:
        spans = (probe or Probe(text)).runs()
    else:
        spans = [m.span() for m in _CANDIDATE.finditer(text)]
    out = []
    for start, end in spans:
        token = text[start:end]
        if randomish(token) and not _base64_block(text, start, end):
            out.append(Hit("high-entropy", "entropy", start, end))
    return out


# -- personal data (opt-in) ----------------------------------------------------

_EMAIL_DOMAIN = re.compile(r"@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}(?![A-Za-z0-9-])")
_EMAIL_LOCAL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+-")
_PHONE = re.compile(r"(?:\+\d{1,3}[ .-]?)?(?:\(\d{3}\)[ .-]?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w-])"
                    r"|\+\d{10,14}(?!\w)")
_PHONE_RUN = re.compile(r"[0-9(+][0-9 ().+-]{8,}[0-9]")  # where a phone number could be
_IPV4 = re.compile(r"(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\w.])")
_IPV6 = re.compile(r"(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}(?![\w:])")
_NOT_PERSONAL_DOMAINS = ("example.com", "example.org", "example.net", "localhost", ".test", ".invalid")


def pii_hits(text: str) -> list[Hit]:
    out = []
    if "@" in text:
        for m in _EMAIL_DOMAIN.finditer(text):
            k = m.start()
            while k > 0 and m.start() - k < 64 and text[k - 1] in _EMAIL_LOCAL:
                k -= 1
            local, domain = text[k:m.start()], m.group()[1:].lower()
            if not local or local == "git" or domain.endswith(_NOT_PERSONAL_DOMAINS):
                continue  # git@github.com:org/repo is an address of a host, not a person
            out.append(Hit("email", "pii", k, m.end()))
    for run in _PHONE_RUN.finditer(text):
        for m in _PHONE.finditer(text, run.start(), run.end()):
            if m.start() > 0 and (text[m.start() - 1].isalnum() or text[m.start() - 1] in "_+.-"):
                continue
            out.append(Hit("phone", "pii", m.start(), m.end()))
    for m in _IPV4.finditer(text):
        if m.start() > 0 and (text[m.start() - 1].isalnum() or text[m.start() - 1] in "_."):
            continue
        if m.group().startswith(("127.", "0.", "255.")):
            continue
        out.append(Hit("ip-address", "pii", m.start(), m.end()))
    if "::" not in text and text.count(":") >= 7:
        for m in _IPV6.finditer(text):
            if not (m.start() > 0 and (text[m.start() - 1].isalnum() or text[m.start() - 1] == ":")):
                out.append(Hit("ip-address", "pii", m.start(), m.end()))
    return out


# -- combining -----------------------------------------------------------------

_PRIORITY = {"pattern": 0, "trufflehog": 1, "entropy": 2, "pii": 3}


def resolve(hits: list[Hit]) -> list[Hit]:
    """Non-overlapping hits in text order: where two overlap, the more
    specific detector wins (a pattern over TruffleHog over entropy over
    personal data), then the longer span."""
    ranked = sorted(hits, key=lambda h: (_PRIORITY.get(h.detector, 9), -(h.end - h.start), h.start))
    taken: list[Hit] = []
    for h in ranked:
        if h.end <= h.start:
            continue
        if all(h.end <= t.start or h.start >= t.end for t in taken):
            taken.append(h)
    return sorted(taken, key=lambda h: h.start)


# -- TruffleHog ----------------------------------------------------------------

class TruffleHogHit(NamedTuple):
    name: str  # which of the texts given
    line: int  # 1-based, 0 when TruffleHog did not say
    detector: str  # TruffleHog's DetectorName
    raw: str  # the secret as TruffleHog reports it (may be decoded, e.g. from base64)


def trufflehog_command(binary: str, paths: list[str]) -> list[str]:
    return [binary, "filesystem", "--json", "--no-update", "--no-verification", *paths]


def run_trufflehog(binary: str, texts: dict[str, str], timeout: float = 300) -> list[TruffleHogHit]:
    """Run TruffleHog v3 over the texts, written one after the other to one temporary file.

    Its output is one JSON object per line: `SourceMetadata.Data.Filesystem`
    gives the file and the line, which maps back to a text and its line;
    `DetectorName` and `Raw` the finding. Lines that are not JSON (log lines)
    are ignored.
    """
    if not texts:
        return []
    starts: list[tuple[int, str]] = []  # (first line in the file, name)
    line = 1
    chunks = []
    for name, text in texts.items():
        starts.append((line, name))
        chunks.append(text.encode("utf-8", "surrogateescape"))
        line += text.count("\n") + 1
    with tempfile.TemporaryDirectory(prefix="git-ot-gate-") as tmp:
        path = os.path.join(tmp, "texts.txt")
        with open(path, "wb") as fh:
            fh.write(b"\n".join(chunks))
        try:
            proc = subprocess.run(trufflehog_command(binary, [path]), capture_output=True,
                                  timeout=timeout, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise TruffleHogFailed(f"cannot run trufflehog '{binary}': {exc}",
                                   hint="set ot.security.trufflehog to false to seal without it") from exc
    # 183 is TruffleHog's "results found" status with --fail; without it, 0.
    if proc.returncode not in (0, 183):
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise TruffleHogFailed(
            f"trufflehog exited with status {proc.returncode}" + (f": {err[-1]}" if err else ""),
            hint="run it by hand on a file to see why, or set ot.security.trufflehog to false")
    out = []
    for raw_line in proc.stdout.decode("utf-8", "replace").splitlines():
        raw_line = raw_line.strip()
        if not raw_line.startswith("{"):
            continue
        try:
            item = json.loads(raw_line)
        except ValueError:
            continue
        fs = ((item.get("SourceMetadata") or {}).get("Data") or {}).get("Filesystem") or {}
        raw = item.get("Raw")
        if not isinstance(raw, str) or not raw or not isinstance(fs, dict):
            continue
        try:
            at = int(fs.get("line") or 0)
        except (TypeError, ValueError):
            at = 0
        if at < 1:
            # No line: every text that holds the secret.
            out.extend(TruffleHogHit(name, 0, str(item.get("DetectorName") or "unknown"), raw)
                       for name, text in texts.items() if raw in text)
            continue
        first, name = max((s for s in starts if s[0] <= at), default=starts[0])
        out.append(TruffleHogHit(name, at - first + 1, str(item.get("DetectorName") or "unknown"), raw))
    return out


def trufflehog_kind(detector: str) -> str:
    """The placeholder kind of a TruffleHog finding: `trufflehog-<detector>`."""
    return "trufflehog-" + re.sub(r"[^a-z0-9]+", "-", detector.lower()).strip("-")
