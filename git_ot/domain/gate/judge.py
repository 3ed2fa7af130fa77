"""The judge: a deterministic risk score for what the gate let through.

After redaction a session can still say more than its owner means to
share: the names of internal hosts, cloud account ids, identifiers dense
enough to be keys that no detector recognised. The judge counts them in
the text of the records (prompts, messages, tool input and output) and
turns the counts, with the findings still open, into a score from 0 to
100:

    risk = min(100, 60 * min(1, open) + 8 * min(hosts, 5)
                    + 8 * min(accounts, 5) + 2 * min(identifiers, 10))

so one open finding is 60 on its own, and residue alone reaches 100 only
when there is a lot of it. The counts are occurrences, so a session's
counts are the sums of its seals' counts and the score at seal time equals
the score `git ot scan` computes again from the stored records.
"""

from __future__ import annotations

import re

from .detectors import MIN_ENTROPY_LENGTH, class_runs, run_table, shannon
from .memo import clean_lines

RESIDUAL_KEYS = ("hosts", "accounts", "identifiers")

# Internal host names, found from their fixed part (a look-behind at the
# start of a pattern would make re try every position): a private suffix,
# then the labels before it; a private prefix label; a private IPv4 address.
_PRIVATE_SUFFIX = re.compile(
    r"\.(?:internal|corp|intranet|intra|lan|local|localdomain|private|home\.arpa|svc)(?![A-Za-z0-9-]|\.[A-Za-z0-9])")
_PRIVATE_PREFIX = re.compile(
    r"(?:internal|intranet|corp|vpn|staging|prod)[.-][A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.(?:com|net|org|io|cloud|dev)"
    r"(?![A-Za-z0-9-])")
_PRIVATE_IP = re.compile(
    r"(?:10\.\d{1,3}|192\.168|172\.(?:1[6-9]|2\d|3[01]))\.\d{1,3}\.\d{1,3}(?![\w.])")
_LABEL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.")


def _hosts(text: str) -> int:
    n = 0
    for m in _PRIVATE_SUFFIX.finditer(text):
        k = m.start()
        while k > 0 and text[k - 1] in _LABEL:
            k -= 1
        if k < m.start() and text[k] not in ".-":
            n += 1
    for regex in (_PRIVATE_PREFIX, _PRIVATE_IP):
        for m in regex.finditer(text):
            before = text[m.start() - 1] if m.start() else ""
            if not before or not (before.isalnum() or before in ".-_"):
                n += 1
    return n


# Account ids, each found from its fixed part; "account" in the lower-cased text.
_ACCOUNTS = (
    re.compile(r"arn:aws[a-z-]*:[a-z0-9-]*:[a-z0-9-]*:\d{12}:"),
    re.compile(r"/subscriptions/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
    re.compile(r"acct_[A-Za-z0-9]{16}(?![A-Za-z0-9])"),
    re.compile(r"projects/\d{6,}(?![\w-])"),
)
_ACCOUNT_KEYED = re.compile(r"account(?:[_ -]?id)?[\"']?\s*[:=]\s*[\"']?\d{12}(?!\d)")
# No look-behind (it would make re try every position): finditer resumes
# after each whole run, so every match starts a run.
_DENSE = re.compile(r"[A-Za-z0-9_-]{%d,}(?![A-Za-z0-9_-])" % MIN_ENTROPY_LENGTH)
# The same runs, found without trying _DENSE at every position (detectors.class_runs).
_DENSE_TABLE = run_table("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_HOST_HINTS = (".internal", ".corp", ".intranet", ".intra", ".lan", ".local", ".private", ".arpa", ".svc",
               "internal.", "intranet.", "corp.", "vpn.", "staging.", "prod.", "internal-", "corp-", "vpn-",
               "staging-", "prod-", "10.", "192.168.", "172.")
_ACCOUNT_HINTS = ("arn:aws", "ccount", "/subscriptions/", "acct_", "projects/")
_HOST_HINT = re.compile("|".join(re.escape(h) for h in _HOST_HINTS))
_ACCOUNT_HINT = re.compile("|".join(re.escape(h) for h in _ACCOUNT_HINTS))
# Either: one pass over a text that holds neither (nearly every text), not two.
_ANY_HINT = re.compile("|".join(re.escape(h) for h in _HOST_HINTS + _ACCOUNT_HINTS))


def hint_search(hints: tuple[str, ...]):
    """`any(h in text for h in hints)`, as a function of the text, found in
    fewer passes: each hint that holds a `.` or a `-` is matched from the
    first of them (what precedes it looked behind at), so that one
    expression for each of the two characters, which starts with it (re
    then skips to where it is), finds them all; the others are searched
    for as they are."""
    by_sep: dict[str, list[str]] = {}
    plain = []
    for h in hints:
        at = min((h.find(sep) for sep in ".-" if sep in h), default=-1)
        if at < 0:
            plain.append(h)
            continue
        before, after = h[:at], h[at + 1:]
        by_sep.setdefault(h[at], []).append(
            (f"(?<={re.escape(before + h[at])})" if before else "") + re.escape(after))
    regexes = tuple(re.compile(re.escape(sep) + "(?:" + "|".join(alts) + ")") for sep, alts in by_sep.items())
    plain_hints = tuple(plain)

    def search(text: str) -> bool:
        return any(h in text for h in plain_hints) or any(r.search(text) is not None for r in regexes)

    return search


_any_hint = hint_search(_HOST_HINTS + _ACCOUNT_HINTS)
_HEXISH = frozenset("0123456789abcdefABCDEF-")
# Each ASCII digit to "0", every other byte to a space.
_DIGIT_TABLE = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))


# Lines the judge counted nothing in.
_EMPTY = clean_lines("judge")

# A text longer than this is judged a window at a time (split at a line
# break, else at a space), so its lowered and encoded copies stay small.
RESIDUAL_WINDOW = 1 << 20


def residual(text: str, counts: dict) -> None:
    """Add the residue in `text` to `counts` (hosts, accounts, identifiers).

    A long text is taken RESIDUAL_WINDOW characters at a time, cut at a
    line break (or a space): hosts, accounts and identifiers are single
    tokens, so no count changes; a run of that many characters without
    either is cut where the window ends."""
    if len(text) <= RESIDUAL_WINDOW:
        if len(text) < 8:
            return
        # Only the lines no earlier text showed empty of residue (gate/memo.py):
        # every count is within a line, but _ACCOUNT_KEYED's, whose lines
        # are never kept.
        new = _EMPTY.new(text)
        if not new:
            return
        rest = "\n".join(new)
        low = rest.lower()
        if "ccount" in low:
            _counts(text, text.lower(), counts)
            return
        found: dict = {}
        _counts(rest, low, found)
        if not found:
            _EMPTY.keep(new)
            return
        # Counts are of occurrences: the new lines again, as often as the text holds them.
        rest = "\n".join(line for line in text.split("\n") if line in new)
        _counts(rest, rest.lower(), counts)
        return
    start = 0
    while start < len(text):
        end = min(start + RESIDUAL_WINDOW, len(text))
        if end < len(text):
            cut = text.rfind("\n", start, end)
            if cut <= start:
                cut = text.rfind(" ", start, end)
            if cut > start:
                end = cut + 1
        _residual(text[start:end], counts)
        start = end


def _residual(text: str, counts: dict) -> None:
    if len(text) >= 8:
        _counts(text, text.lower(), counts)


def _counts(text: str, low: str, counts: dict) -> None:
    hinted = _any_hint(low)
    hosts = _hosts(text) if hinted and _HOST_HINT.search(low) else 0
    accounts = 0
    if hinted and _ACCOUNT_HINT.search(low):
        accounts = sum(len(r.findall(text)) for r in _ACCOUNTS) + len(_ACCOUNT_KEYED.findall(low))
    dense = 0
    ascii = text.encode("ascii", "replace")
    runs = class_runs(ascii, _DENSE_TABLE, MIN_ENTROPY_LENGTH)
    # A run is ASCII: its digits are the 0s of the text's digits marked.
    digit_marks = ascii.translate(_DIGIT_TABLE) if runs else b""
    for start, end in runs:
        # Mixed letters and digits, not hex (hashes, UUIDs), not a snake_case
        # or kebab-case name; the cheap tests first.
        if digit_marks.count(48, start, end) < 3:
            continue
        token = text[start:end]
        if token.count("_") + token.count("-") > 2 or _HEXISH.issuperset(token):
            continue
        if any(map(str.isalpha, token)) and shannon(token) >= 3.5:
            dense += 1
    for key, n in (("hosts", hosts), ("accounts", accounts), ("identifiers", dense)):
        if n:
            counts[key] = counts.get(key, 0) + n


def score(counts: dict, open_findings: int = 0) -> int:
    """The risk score, 0 to 100 (see the module's doc for the formula)."""
    return min(100, 60 * min(1, open_findings) + 8 * min(counts.get("hosts", 0), 5)
               + 8 * min(counts.get("accounts", 0), 5) + 2 * min(counts.get("identifiers", 0), 10))
