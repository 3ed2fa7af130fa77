"""The gate's prefilter finds exactly what every detector over every text finds.

`pattern_hits` and `entropy_hits` skip what a rule could not match (see
detectors.Probe); `prefilter=False` runs every expression over the whole
text. The two must agree hit for hit on real transcripts, on every planted
secret in the places where the prefilter's shortcuts could differ (at the
edge of a run, next to a letter that is not ASCII, two in one run), and on
random text.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from git_ot.domain.gate import detectors as d
from gate.test_gate import CONTEXT, Fakes

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "claude-code"


def both(text: str) -> tuple[list, list]:
    probe = d.Probe(text)
    fast = (d.pattern_hits(text, None, probe), d.entropy_hits(text, probe))
    full = (d.pattern_hits(text, prefilter=False), d.entropy_hits(text, prefilter=False))
    return fast, full


def strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def real_texts() -> list[str]:
    """Every line of the real transcripts in tests/fixtures/, and every string in it."""
    out = []
    for path in sorted(FIXTURES.rglob("*.jsonl")):
        for line in path.read_text(encoding="utf-8", errors="surrogateescape").splitlines():
            out.append(line)
            try:
                out.extend(s for s in strings(json.loads(line)) if len(s) >= 8)
            except ValueError:
                pass
    return out


def test_real_transcripts():
    texts = real_texts()
    assert len(texts) > 1000
    for text in texts:
        fast, full = both(text)
        assert fast == full, text[:200]


def test_real_transcripts_with_secrets_planted():
    """Every kind of secret, in its context, put in the middle of real texts."""
    planted = list(Fakes(5).all().items())
    found = 0
    for i, text in enumerate(real_texts()[::40]):
        name, secret = planted[i % len(planted)]
        at = len(text) // 2
        text = text[:at] + CONTEXT.get(name, "{}").format(secret) + text[at:]
        fast, full = both(text)
        assert fast == full, (name, text[:200])
        found += len(full[0]) + len(full[1])
    assert found > 0  # the comparison saw findings, not only empty lists


# Where each planted secret goes: {} is the secret. Around it, what the
# prefilter's shortcuts depend on: the characters before and after a run
# (ASCII or not, a letter or not, the end of the text), a second secret in
# the same run, a NUL, the Kelvin sign and the dotted capital I (whose lower
# cases are the exceptions lowered() deals with).
PLACES = [
    "{}", " {} ", "x{}", "{}x", "é{}", "{}é", "{}ß", "{}٣", "ł{}ł", "{}-{}", "{}.{}", "{}/{}", "{}_", "_{}",
    "{}=", "={}", "{}\0{}", "\0{}\0", "K{}K", "İ {} İ", "{}\n{}", "\"{}\"", "'{}'", "key: {}", "{}" * 2,
    "a" * 30 + "{}", "{}" + "Z" * 30, "–{}–",
]


@pytest.mark.parametrize("name", sorted(Fakes().all()))
def test_every_planted_secret_in_every_place(name):
    fakes = [Fakes(seed).all()[name] for seed in range(3)]
    seen = 0
    for secret in fakes:
        for context in ("{}", CONTEXT.get(name, "{}")):
            for place in PLACES:
                text = place.replace("{}", context.replace("{}", secret))
                fast, full = both(text)
                assert fast == full, (name, place)
                seen += bool(full[0] or full[1])
    assert seen > 0, name


TOKEN = st.sampled_from([
    "ghp_", "gho_", "github_pat_", "glpat-", "GR1348941", "xoxb-", "xapp-1-", "sk_live_", "rk_test_", "whsec_",
    "AIza", "sk-ant-api03-", "sk-proj-", "T3BlbkFJ", "hf_", "api_org_", "npm_", "_authToken=", "pypi-Ag",
    "eyJ", "AKIA", "ASIA", "-----BEGIN RSA PRIVATE KEY-----", "https://hooks.slack.com/services/",
    "password = ", "token: ", "Authorization: Bearer ", "postgres://u:", "@db/x", "--token ",
])
CHARS = st.sampled_from(list("aZ09+/_=-.:@ \n\t\"'é٣KİßŁ\0") + ["ABCDEFGH", "abcdefgh", "12345678",
                                                              "Qx7Lm2Pz", "kR9vT4wN8s"])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(TOKEN, CHARS, CHARS, CHARS), max_size=80))
def test_random_text(parts):
    text = "".join(parts)
    fast, full = both(text)
    assert fast == full


def test_the_judges_dense_runs_are_its_expressions_matches():
    from git_ot.domain.gate import judge

    texts = real_texts()[::10] + [p.replace("{}", Fakes(1).all()["github-token"]) for p in PLACES]
    for text in texts:
        assert d.class_runs(text.encode("ascii", "replace"), judge._DENSE_TABLE, d.MIN_ENTROPY_LENGTH) == \
            [m.span() for m in judge._DENSE.finditer(text)]


def assignment_spans(text: str) -> tuple[list, list]:
    low = d.lowered(text)
    return ([m.span() for m in d._assign_matches(low)], [m.span() for m in d._ASSIGN.finditer(low)])


def test_the_assignments_starts_are_its_expressions_matches():
    texts = real_texts() + [p.replace("{}", 'db_password = "Tr0ub4dor&3"') for p in PLACES] + [
        "passpassword=secret123 tokentoken: abcdefgh1 apikey=apiapikey123x", "PASSWORD=PASSWORD=hunter22x"]
    found = 0
    for text in texts:
        ours, re_s = assignment_spans(text)
        assert ours == re_s, text[:200]
        found += len(ours)
    assert found > 0


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(TOKEN, CHARS, CHARS, st.sampled_from(
    ["pass", "word", "pwd", "secret", "token", "api", "key", "_", "access", "auth", "private", "credential",
     "s", "=", ":", ":=", "=>", "'", '"', "`"])), max_size=80))
def test_the_assignments_starts_on_random_text(parts):
    ours, re_s = assignment_spans("".join(parts))
    assert ours == re_s


def test_the_start_of_every_rule_over_runs_is_a_start_of_its_expression():
    """The runs are searched for the rules' starts (detectors._RUN_START)
    before any rule over runs runs: each start is non-empty, begins the
    rule's expression, and begins every match of it."""
    assert d._RUN_START is not None
    rules = [r for r in d.RULES if r.in_runs]
    assert len(d._RUN_STARTS) == len(rules)
    start = re.compile(d._RUN_START.pattern)
    for rule, part in zip(rules, d._RUN_STARTS):
        assert part and rule.regex.pattern.startswith(part), rule.kind
        for seed in range(3):
            secret = Fakes(seed).all().get(rule.kind)
            for m in rule.regex.finditer(secret or ""):
                assert start.match(m.group()), rule.kind


@pytest.mark.parametrize("pattern, part", [
    ("abc", "abc"), ("ab+", "a"), ("ab[cd]{2}", "ab"), ("gh[pousr]_[a-z]{3}", "gh[pousr]_"),
    ("x(?:a|b)-y*", "x(?:a|b)-"), ("x(?:a|b)+", "x"), ("a|b", ""), ("(?:a|b)|c", ""), (r"\d+", ""),
    ("(?:a(?:b))c", ""), ("a(?i:b)", "a"), (r"a\|b", "a"),
])
def test_the_start_of_an_expression(pattern, part):
    assert d.leading_part(pattern) == part


def test_every_secret_at_every_position_of_a_text():
    """Each kind of secret, in its context, at each place in a line of a real
    transcript: found by the prefilter exactly as by every rule over the text."""
    base = next(t for t in real_texts() if 60 <= len(t) <= 200)
    for name in sorted(Fakes().all()):
        secret = CONTEXT.get(name, "{}").format(Fakes(2).all()[name])
        caught = 0
        for at in range(0, len(base) + 1, 7):
            text = base[:at] + " " + secret + " " + base[at:]
            fast, full = both(text)
            assert fast == full, (name, at)
            caught += any(h.start <= at + 1 + secret.index(Fakes(2).all()[name]) < h.end
                          for h in full[0] + full[1])
        assert caught == len(range(0, len(base) + 1, 7)), name


def _hint_texts() -> list[str]:
    from git_ot.domain.gate import judge

    hints = judge._HOST_HINTS + judge._ACCOUNT_HINTS + ("intranet-", "home.arpa", "192.168", "10-")
    out = [t.lower() for t in real_texts()[::5]]
    for h in hints:
        out += [p.replace("{}", h) for p in PLACES] + [h[:-1], h[1:], "x" + h + "y"]
    return out


def test_the_judges_hint_search_is_its_expressions():
    """judge._any_hint finds a hint where the expression of all of them does."""
    from git_ot.domain.gate import judge

    found = 0
    for text in _hint_texts():
        expected = judge._ANY_HINT.search(text) is not None
        assert judge._any_hint(text) == expected, text[:200]
        found += expected
    assert found > 100


HINT_PARTS = st.sampled_from(["internal", "intranet", "intra", "corp", "vpn", "staging", "prod", "lan", "local",
                              "private", "home", "arpa", "svc", "10", "192", "168", "172", "1", "arn:aws", "ccount",
                              "/subscriptions/", "acct_", "projects/", ".", "-", "_", "/", ":", " ", "a", "é"])


@settings(max_examples=400, deadline=None)
@given(st.lists(HINT_PARTS, max_size=30))
def test_the_judges_hint_search_on_random_text(parts):
    from git_ot.domain.gate import judge

    text = "".join(parts)
    assert judge._any_hint(text) == (judge._ANY_HINT.search(text) is not None)


def _reference_residual(text: str) -> dict:
    """The judge's counts as its expressions give them, each over the whole text."""
    from git_ot.domain.gate import judge

    if len(text) < 8:
        return {}
    low = text.lower()
    hinted = judge._ANY_HINT.search(low) is not None
    hosts = judge._hosts(text) if hinted and judge._HOST_HINT.search(low) else 0
    accounts = 0
    if hinted and judge._ACCOUNT_HINT.search(low):
        accounts = sum(len(r.findall(text)) for r in judge._ACCOUNTS) + len(judge._ACCOUNT_KEYED.findall(low))
    dense = 0
    for m in judge._DENSE.finditer(text):
        token = m.group()
        if (token.count("_") + token.count("-") <= 2 and not judge._HEXISH.issuperset(token)
                and sum(map(str.isdigit, token)) >= 3 and any(map(str.isalpha, token))
                and d.shannon(token) >= 3.5):
            dense += 1
    return {k: n for k, n in (("hosts", hosts), ("accounts", accounts), ("identifiers", dense)) if n}


def test_the_judges_counts_are_its_expressions():
    from git_ot.domain.gate import judge

    ids = ["a1b2c3d4e5f6g7h8i9j0k", "Zx9Qw8Er7Ty6Ui5Op4As3", "x٣1y2z3" * 4, "K1K2K3abcdefghijklmnop"]
    texts = _hint_texts() + [p.replace("{}", i) for p in PLACES for i in ids]
    found = 0
    for text in texts:
        counts: dict = {}
        judge._residual(text, counts)
        assert counts == _reference_residual(text), text[:200]
        found += bool(counts)
    assert found > 50
