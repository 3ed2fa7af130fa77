"""Transformers: what the gate writes in place of what it must not keep.

- A secret becomes a typed placeholder, `[REDACTED:<kind>]`: nothing of
  it survives, not even whether two secrets were equal.
- A home directory, a user name in a path, a configured value and (when
  asked) personal data become stable tokens, `[HOME]`, `[USER:1a2b3c4d]`,
  `[VALUE:...]`, `[EMAIL:...]`: the same value gives the same token in
  every record and every session of the repository, so repetition and
  structure survive. The 8 hex digits are the start of HMAC-SHA256 over
  `<KIND> NUL <value>` with the repository's salt as key.

The salt is 32 random bytes, made once per repository, by the first seal,
and kept in `<common-dir>/opentraces/salt` (mode 0600); a reader (`git ot
scan`) never needs a token, so it never makes one. It never enters a git object or
the git config, so a token cannot be checked against a guessed value by
anyone who has only the pushed objects.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import re
import secrets
from hashlib import sha256
from typing import Callable

from ...store import state
from ..paths import HOME_TOKEN

PLACEHOLDER = re.compile(r"\[REDACTED:(?P<kind>[a-z0-9-]+)\]")
TOKEN_HEX = 8


def placeholder_for(kind: str) -> str:
    return f"[REDACTED:{kind}]"


def load_salt(state_dir: str) -> bytes:
    """The repository's salt, made on first use; never leaves the machine."""
    path = state.salt(state_dir)
    with contextlib.suppress(FileNotFoundError):
        return _read_salt(path)
    os.makedirs(state_dir, exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, secrets.token_hex(32).encode("ascii") + b"\n")
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # never replaces a salt another process made first
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)
    return _read_salt(path)


def _read_salt(path: str) -> bytes:
    with open(path, "rb") as fh:
        text = fh.read().strip()
    if len(text) < 32:
        raise ValueError(f"the salt in '{path}' is too short")
    return text


class Tokens:
    """Stable tokens keyed by the repository's salt.

    `salt` is the salt, or a function that loads it: then it is loaded (and
    made, if missing) only when a token is first asked for.
    """

    def __init__(self, salt: bytes | Callable[[], bytes]):
        self._salt = salt
        self._made: dict[tuple[str, str], str] = {}  # a user's name recurs in every path

    @property
    def salt(self) -> bytes:
        if callable(self._salt):
            self._salt = self._salt()
        return self._salt

    def token(self, kind: str, value: str) -> str:
        made = self._made.get((kind, value))
        if made is None:
            digest = hmac.new(self.salt, kind.encode() + b"\0" + value.encode("utf-8", "surrogateescape"),
                              sha256).hexdigest()
            made = self._made[kind, value] = f"[{kind}:{digest[:TOKEN_HEX]}]"
        return made


# Any user's home directory in a path: /home/<user>, /Users/<user>,
# C:\Users\<user> (with its backslashes doubled when the text is JSON), and
# Claude Code's project directories, which spell a path with dashes
# (~/.claude/projects/-home-<user>-src-app/).
# Each found from its fixed part, one expression per literal start, the
# boundary before it checked in Python (a look-behind at the start, or an
# alternation of starts, would make re try many more positions).
_USER = r"(?P<user>[A-Za-z0-9_](?:[A-Za-z0-9._-]*[A-Za-z0-9_-])?)(?![A-Za-z0-9_-])"
_HOMES = [
    ("/home/", re.compile(r"(?P<pre>/home/)" + _USER)),
    ("/Users/", re.compile(r"(?P<pre>/Users/)" + _USER)),
    ("Users\\", re.compile(r"(?P<pre>(?:\\\\|\\)Users(?:\\\\|\\))" + _USER)),
    ("/-home-", re.compile(r"(?P<pre>/-home-)(?P<user>[A-Za-z0-9_.]+)(?=-|/|$)")),
    ("/-Users-", re.compile(r"(?P<pre>/-Users-)(?P<user>[A-Za-z0-9_.]+)(?=-|/|$)")),
]
_NOT_USERS = {"user", "username", "me", "you", "runner", "shared", "public", "guest"}


class PathTokens:
    """Home directories, user names in paths and configured values, as tokens."""

    def __init__(self, tokens: Tokens, home: str | None, values: tuple[str, ...] = ()):
        self.tokens = tokens
        homes = []
        for h in (home, os.path.realpath(home) if home else None):
            h = (h or "").rstrip("/")
            if h and h not in homes:
                homes.append(h)
        exact = []
        for h in homes:
            exact.append((h, re.escape(h) + r"(?![A-Za-z0-9._-])", HOME_TOKEN))
            if h.count("/") >= 2:
                # ~/.claude/projects/-home-dev-src-app: the home spelt with dashes
                dashed = h.replace("/", "-")
                exact.append(("/" + dashed, r"(?<=/)" + re.escape(dashed) + r"(?=-|/|$)", HOME_TOKEN))
        self._exact = [(lit, re.compile(p), t) for lit, p, t in exact]
        vals = sorted({v for v in values if v}, key=len, reverse=True)
        self._values = re.compile("|".join(re.escape(v) for v in vals)) if vals else None

    def apply(self, text: str, counts: dict) -> str:
        if "/" in text or "\\" in text:
            for literal, regex, token in self._exact:
                if literal in text:
                    text, n = regex.subn(token, text)
                    if n:
                        counts["home"] = counts.get("home", 0) + n
            for literal, regex in _HOMES:
                if literal in text:
                    text = regex.sub(lambda m, t=text: self._user(m, t, counts), text)
        if self._values is not None:
            def value(m):
                counts["value"] = counts.get("value", 0) + 1
                return self.tokens.token("VALUE", m.group())
            text = self._values.sub(value, text)
        return text

    def _user(self, m: re.Match, text: str, counts: dict) -> str:
        pre, user = m.group("pre"), m.group("user")
        start = m.start()
        before = text[start - 1] if start else ""
        if pre.startswith("/-"):
            bad = False  # /-home-<user>-: the slash is its boundary
        elif pre[0] == "/":
            bad = bool(before) and (before.isalnum() or before in "_.-")  # /srv/home/x is no home
        else:  # \Users\<user> must follow a drive letter: C:\Users\<user>
            bad = not (start >= 2 and before == ":" and text[start - 2].isalpha()
                       and (start < 3 or not text[start - 3].isalnum()))
        if bad or user.lower() in _NOT_USERS:
            return m.group()
        counts["user"] = counts.get("user", 0) + 1
        return pre + self.tokens.token("USER", user)
