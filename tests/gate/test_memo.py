"""Lines found clean are not scanned again, and nothing found changes (gate/memo.py).

The gate and the judge first look at a text's lines that no earlier text
showed clean; these tests run texts one after another through the memoized
path and compare each answer with a scan of the whole text by every
detector (`Gate._whole`) and with the judge's count over the whole text
(`judge._residual`): on every string of the real transcripts in
tests/fixtures/, on random texts made of lines that hold secrets, random
tokens, base64, private keys and the judge's residue, and on the cases
each exception of the memo is there for.
"""

from __future__ import annotations

import random
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gate.test_gate import CONTEXT, Fakes
from gate.test_prefilter import real_texts
from git_ot.domain.gate import detectors, judge, memo
from git_ot.domain.gate.engine import Gate
from git_ot.domain.gate.policy import Policy
from git_ot.store.gitdir import locate
from git_ot.store.repository import Store


@pytest.fixture
def gate(repo):
    memo.forget()
    yield Gate(Store(locate(str(repo.path))), Policy(trufflehog="false"))
    memo.forget()


def spans(hits) -> list[tuple]:
    return [(h.kind, h.detector, h.start, h.end) for h in hits]


def whole_counts(text: str) -> dict:
    counts: dict = {}
    judge._residual(text, counts)
    return counts


def memo_counts(text: str) -> dict:
    counts: dict = {}
    judge.residual(text, counts)
    return counts


def same(gate: Gate, texts: list[str]) -> int:
    """Each text through the memo, in order, against the whole scan; how many findings."""
    found = 0
    for text in texts:
        expected = spans(gate._whole(text))
        assert spans(gate.hits(text)) == expected, text[:200]
        assert memo_counts(text) == whole_counts(text), text[:200]
        found += len(expected)
    return found


def test_real_transcripts_twice(gate):
    """Every string of the fixtures, then every string again (all its lines kept by then)."""
    texts = real_texts()
    assert len(texts) > 1000
    same(gate, texts)
    same(gate, texts)


def test_real_transcripts_with_secrets_between_lines_seen_before(gate):
    texts = real_texts()
    same(gate, texts)
    planted = list(Fakes(7).all().items())
    lined = [t for t in texts if t.count("\n") >= 4]
    mixed = []
    for i, text in enumerate(lined[:200]):
        name, secret = planted[i % len(planted)]
        lines = text.split("\n")
        at = len(lines) // 2
        mixed.append("\n".join(lines[:at] + [CONTEXT.get(name, "{}").format(secret)] + lines[at:]))
    assert same(gate, mixed) >= len(mixed)  # each planted secret was found, among lines all kept


RANDOM = random.Random(11)
TOKEN = "".join(RANDOM.choice(string.ascii_letters + string.digits) for _ in range(32))
BASE64 = "".join(RANDOM.choice(string.ascii_letters + string.digits + "+/") for _ in range(64))
FAKES = Fakes(3).all()
LINES = [
    "", " ", "\0", "def f(x):", "    return x + 1", "}", "import os",
    TOKEN, "  " + TOKEN, "key " + TOKEN, BASE64, BASE64[:60], BASE64[5:],
    "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----", BASE64[:40],
    "İ", "TO\u212aEN = 'ab12cd34ef56'", "token = 'ab12cd34ef56'",
    "account_id:", "  123456789012", "account_id: 123456789012", "ACCOUNT =",
    "db.corp", "api.internal", "10.1.2.3", "prod-db.acme.io", "build-7Qx9Lm2Pz4kR9vT4wN8s",
    "arn:aws:iam::123456789012:role/x", "a.lan", "x",
    CONTEXT["github-token"].format(FAKES["github-token"]),
    CONTEXT["password-assignment"].format(FAKES["password-assignment"]),
    CONTEXT["database-url"].format(FAKES["database-url"]),
    FAKES["private-key"],
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(LINES), max_size=12), min_size=1, max_size=8))
def test_random_texts_of_tricky_lines(texts):
    """Texts made of lines each of which, or whose neighbours, an exception is for."""
    memo.forget()
    g = Gate.__new__(Gate)  # the detectors need only a policy
    g.policy = Policy(trufflehog="false")
    same(g, ["\n".join(lines) for lines in texts])
    memo.forget()


@pytest.mark.parametrize("first, then", [
    # A random-looking line between lines of base64 is data; alone it is a token.
    ("\n".join([BASE64, TOKEN, BASE64]), TOKEN),
    # The armour takes the lines after it.
    ("-----BEGIN RSA PRIVATE KEY-----\n" + BASE64 + "\n-----END RSA PRIVATE KEY-----",
     "-----BEGIN RSA PRIVATE KEY-----\n" + BASE64),
    # A dotted capital I makes the whole text lowered letter by letter: the
    # Kelvin sign then stays what it is, and `TOKEN` is not a word.
    ("İ\nTO\u212aEN = 'ab12cd34ef56'", "TO\u212aEN = 'ab12cd34ef56'"),
])
def test_a_line_clean_in_one_text_is_found_in_another(gate, first, then):
    assert spans(gate.hits(first)) == spans(gate._whole(first))
    assert gate._whole(then), "the case must have a finding in the second text"
    assert spans(gate.hits(then)) == spans(gate._whole(then))


def test_the_judge_counts_an_account_across_two_lines_every_time():
    memo.forget()
    text = "account_id:\n  123456789012"
    assert memo_counts(text) == whole_counts(text) == {"accounts": 1}
    assert memo_counts(text) == {"accounts": 1}
    assert memo_counts("x = 1\n" + text) == {"accounts": 1}


def test_the_judge_counts_each_occurrence_of_a_line():
    memo.forget()
    line = "ssh admin@build.corp"
    assert memo_counts(line) == {"hosts": 1}
    assert memo_counts("\n".join([line, "ok", line, line])) == {"hosts": 3}
    assert memo_counts(line + "\nok") == {"hosts": 1}


def test_a_text_seen_before_is_not_scanned_again(gate, monkeypatch):
    text = "\n".join(["import os", "def main():", "    return os.getcwd()"])
    assert gate.hits(text) == []
    calls = []
    monkeypatch.setattr("git_ot.domain.gate.engine.pattern_hits",
                        lambda *a, **k: calls.append(a) or detectors.pattern_hits(*a, **k))
    assert gate.hits(text) == []
    assert gate.hits("    return os.getcwd()\nimport os") == []
    assert calls == []
    assert gate.hits(text + "\nprint(1)") == []
    assert [a[0] for a in calls] == ["print(1)"]  # the new line alone


def test_a_memo_starts_again_past_its_bound(monkeypatch):
    monkeypatch.setattr(memo, "LIMIT", 10)
    lines = memo.CleanLines()
    lines.keep({"abcdef"})
    assert lines.new("abcdef\nxy") == {"xy"}
    lines.keep({"ghijk"})  # 6 + 5 > 10: what was kept goes
    assert lines.new("abcdef\nghijk") == {"abcdef"}
