"""The security gate (issue 6): detectors, tokens, the judge, the gates at seal
and at egress, `git ot scan` and `git ot forget`, through real hook processes
and real git. The one mock is the stand-in `trufflehog` executable.

Every secret here is made at run time from a seeded generator, so no string
in this file is a credential, or looks like one to a scanner of the source.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import random
import stat
import string
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import cbor2
import pytest
import zstandard

from support.repo import git
from git_ot.domain.gate import detectors as d
from git_ot.domain.gate import judge
from git_ot.domain.gate.egress import egress_report, raise_if_blocked
from git_ot.domain.gate.policy import Policy, policy_for
from git_ot.errors import BadPolicy, EgressBlocked
from git_ot.store.repository import Store

ROOT = Path(__file__).resolve().parents[2]
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


# -- fake secrets ---------------------------------------------------------------------

UP, LOW, DIG = string.ascii_uppercase, string.ascii_lowercase, string.digits
ALNUM = UP + LOW + DIG


class Fakes:
    """One made-up instance of every kind of secret, from a seeded generator."""

    def __init__(self, seed: int = 6):
        self.r = random.Random(seed)

    def chars(self, alphabet: str, n: int) -> str:
        return "".join(self.r.choice(alphabet) for _ in range(n))

    def mixed(self, n: int) -> str:
        while True:
            s = self.chars(ALNUM, n)
            if any(c.isdigit() for c in s) and any(c.islower() for c in s) and any(c.isupper() for c in s):
                return s

    def pem(self, label: str) -> str:
        body = "\n".join(self.chars(ALNUM + "+/", 64) for _ in range(6))
        return f"-----BEGIN {label}PRIVATE KEY-----\n{body}\n-----END {label}PRIVATE KEY-----"

    def all(self) -> dict[str, str]:
        jwt_claims = base64.urlsafe_b64encode(json.dumps({"sub": self.mixed(10)}).encode()).decode().rstrip("=")
        return {
            "aws-access-key": "AKIA" + self.chars(UP + "234567", 16),
            "aws-secret-key": self.mixed(30) + "+/" + self.mixed(8),
            "github-token": "gh" + "p_" + self.mixed(36),
            "github-fine-grained-token": "github" + "_pat_" + self.mixed(22) + "_" + self.mixed(59),
            "gitlab-token": "gl" + "pat-" + self.mixed(20),
            "slack-token": "xo" + "xb-" + self.chars(DIG, 12) + "-" + self.chars(DIG, 13) + "-" + self.mixed(24),
            "slack-webhook": "T" + self.chars(UP + DIG, 8) + "/B" + self.chars(UP + DIG, 8) + "/" + self.mixed(24),
            "stripe-key": "sk" + "_live_" + self.mixed(24),
            "google-api-key": "AI" + "za" + self.mixed(35),
            "anthropic-key": "sk-" + "ant-api03-" + self.mixed(93) + "AA",
            "openai-key": "sk-" + "proj-" + self.mixed(74) + "T3Blbk" + "FJ" + self.mixed(74),
            "huggingface-token": "hf" + "_" + self.chars(UP + LOW, 16) + "Qz" + self.chars(UP + LOW, 16),
            "npm-token": "np" + "m_" + self.mixed(36),
            "pypi-token": "pypi" + "-AgEIcHlwaS5vcmc" + self.chars(ALNUM + "_-", 60) + self.mixed(10),
            "jwt": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + jwt_claims + "." + self.chars(ALNUM + "_-", 43),
            "private-key": self.pem("RSA "),
            "openssh-private-key": self.pem("OPENSSH "),
            "database-url": "Pg" + self.mixed(14),
            "url-password": "Ht" + self.mixed(14),
            "bearer-token": self.mixed(40),
            "basic-auth": base64.b64encode(b"deploy:" + self.mixed(16).encode()).decode(),
            "password-assignment": "hunter2-" + self.mixed(10),
        }


# How each secret appears in text; the secret is `{}`.
CONTEXT = {
    "aws-access-key": "the key id is {} (us-east-1)",
    "aws-secret-key": "aws_secret_access_key = {}",
    "github-token": "gh auth login --with-token <<< {}",
    "github-fine-grained-token": "fine-grained token {} expires in May",
    "gitlab-token": "the runner uses {} to clone",
    "slack-token": "slack bot token {} for #builds",
    "slack-webhook": "curl -X POST https://hooks.slack.com/services/{} -d @msg.json",
    "stripe-key": "stripe key {} in production",
    "google-api-key": "maps?key={}&q=paris",
    "anthropic-key": "claude -p --api-key-from {}",
    "openai-key": "the OpenAI key {} is for tests",
    "huggingface-token": "huggingface-cli login --token {}",
    "npm-token": "publish with {} from CI",
    "pypi-token": "twine upload -p {} dist/*",
    "jwt": "session cookie {}",
    "private-key": "{}",
    "openssh-private-key": "{}",
    "database-url": "psql postgres://app:{}@db.acme.io:5432/app",
    "url-password": "git clone https://deploy:{}@git.acme.io/app.git",
    "bearer-token": "curl -H 'Authorization: Bearer {}' https://api.acme.io/v1/me",
    "basic-auth": "Authorization: Basic {}",
    "password-assignment": "DB_PASSWORD={}",
}
KIND_OF = {"openssh-private-key": "private-key"}

# Things that look like secrets of the kind and are not: no finding of any kind.
NEGATIVES = {
    "aws-access-key": ["AKIA" + "ABCDEFGHIJKLMNO", "XAKIA" + "ABCDEFGHIJKLMN23", "AKIA" + "X" * 16],
    "aws-secret-key": ["aws_secret_access_key = os.environ['AWS_SECRET_ACCESS_KEY']",
                       "aws_secret_access_key: str", "aws_secret_access_key=${AWS_SECRET}",
                       "aws_secret_access_key = <your-secret-access-key>"],
    "github-token": ["gh" + "p_" + "abc123", "gh" + "p_" + "x" * 36, "sgh" + "p_" + "Ab1" * 12],
    "github-fine-grained-token": ["github" + "_pat_" + "Ab1" * 5, "github_path_for_the_docs"],
    "gitlab-token": ["gl" + "pat-" + "Ab12", "gl" + "pat-" + "x" * 20],
    "slack-token": ["xo" + "xb-not-a-real-token-at-all"],
    "slack-webhook": ["https://hooks.slack.com/services/T0/B0/XXXX"],
    "stripe-key": ["pk" + "_live_" + "Ab1" * 8, "sk" + "_live_" + "Ab1"],
    "google-api-key": ["AI" + "za" + "Ab1" * 5],
    "anthropic-key": ["sk-" + "ant-api03-" + "xx"],
    "openai-key": ["task-proj-management-dashboard-frontend-v2", "sk-learn is a library"],
    "huggingface-token": ["hf_hub_download_function_for_testing_only", "hf" + "_" + "a" * 34],
    "npm-token": ["npm_config_registry=https://registry.npmjs.org/"],
    "pypi-token": ["pypi" + "-Ag" + "short"],
    "jwt": ["eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0."],
    "private-key": ["-----BEGIN PUBLIC KEY-----\n" + "\n".join(["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo"] * 3)
                    + "\n-----END PUBLIC KEY-----", "the file starts with -----BEGIN CERTIFICATE-----"],
    "database-url": ["postgres://app:${DB_PASSWORD}@db/app", "postgres://localhost:5432/app",
                     "mysql://user:<password>@host/db"],
    "url-password": ["https://github.com/acme/app.git", "https://user:****@host/"],
    "bearer-token": ["Authorization: Bearer $TOKEN", "Authorization: Bearer <token>",
                     'headers["Authorization"] = "Bearer " + token'],
    "basic-auth": ["Authorization: Basic ${CREDENTIALS}"],
    "password-assignment": ['password = input("Password: ")', "password: str", "def login(user, password=None):",
                            'PASSWORD = os.environ["PASSWORD"]', 'password = "password"', "f(password=pw)",
                            'token_type = "bearer"', "passwd = ''", "password = other_password",
                            'secret_key = "${SECRET_KEY}"', 'password="python"'],
}


def found(text: str) -> list[tuple[str, str]]:
    """(kind, matched text) of every finding of the default detectors."""
    return [(h.kind, text[h.start:h.end]) for h in d.resolve(d.pattern_hits(text) + d.entropy_hits(text))]


@pytest.mark.parametrize("name", sorted(CONTEXT))
def test_every_kind_is_found_with_exactly_its_secret(name):
    secret = Fakes().all()[name]
    text = "before\n" + CONTEXT[name].format(secret) + "\nafter"
    assert found(text) == [(KIND_OF.get(name, name), secret)]


@pytest.mark.parametrize("name", sorted(NEGATIVES))
def test_tricky_negatives_are_not_secrets(name):
    for text in NEGATIVES[name]:
        assert found(text) == [], text


def test_every_kind_of_the_issue_has_a_detector():
    named = {"aws-access-key", "aws-secret-key", "github-token", "github-fine-grained-token", "gitlab-token",
             "slack-token", "slack-webhook", "stripe-key", "google-api-key", "anthropic-key", "openai-key",
             "huggingface-token", "npm-token", "pypi-token", "jwt", "private-key", "database-url",
             "bearer-token", "password-assignment", "high-entropy"}
    assert named <= set(d.SECRET_KINDS)
    assert set(CONTEXT) | {"high-entropy"} >= named


def test_secrets_inside_json_text_are_found():
    f = Fakes().all()
    payload = json.dumps({"env": {"DB_PASSWORD": f["password-assignment"]}, "key": f["private-key"]})
    kinds = [k for k, _ in found(payload)]
    assert kinds == ["password-assignment", "private-key"]
    assert d.secret_in_field("DB_PASSWORD", f["password-assignment"])
    assert d.secret_in_field("clientSecret", f["bearer-token"])
    assert not d.secret_in_field("token_type", "bearer") and not d.secret_in_field("password", "${PASS}")


# -- high entropy --------------------------------------------------------------------

def test_entropy_threshold_and_measure():
    assert d.shannon("aaaa") == 0
    assert d.shannon("abcd") == 2
    assert d.entropy_threshold(20) == pytest.approx(3.696, abs=1e-3)
    assert d.entropy_threshold(40) == pytest.approx(4.354, abs=1e-3)
    assert d.entropy_threshold(1000) == d.entropy_threshold(128)


def test_random_tokens_are_high_entropy():
    fk = Fakes(11)
    tokens = [fk.mixed(n) for n in (20, 24, 32, 40, 64) for _ in range(100)]
    hits = sum(bool(d.entropy_hits(f"value {t} end")) for t in tokens)
    assert hits / len(tokens) >= 0.85
    urlsafe = [base64.urlsafe_b64encode(bytes(fk.r.getrandbits(8) for _ in range(24))).decode() for _ in range(100)]
    assert sum(bool(d.entropy_hits(t)) for t in urlsafe) >= 80


def test_hashes_uuids_and_base64_data_are_not():
    r = random.Random(3)
    lines = []
    for i in range(200):
        lines.append(f"commit {hashlib.sha1(str(i).encode()).hexdigest()} Merge: {hashlib.sha1(b'x%d' % i).hexdigest()[:12]}")
        lines.append(f"sha256={hashlib.sha256(str(i).encode()).hexdigest().upper()}")
        lines.append(f"id: {uuid.UUID(int=r.getrandbits(128))}")
        lines.append(f"integrity sha512-{base64.b64encode(hashlib.sha512(str(i).encode()).digest()).decode()}")
    assert d.entropy_hits("\n".join(lines)) == []
    # MIME-style base64 test data: 76-column lines, the last one short.
    data = base64.encodebytes(bytes(r.getrandbits(8) for _ in range(3000))).decode()
    assert d.entropy_hits("payload = '''\n" + data + "'''\n") == []
    # One long run of base64 (a data: URI, an embedded image).
    blob = base64.b64encode(bytes(r.getrandbits(8) for _ in range(400))).decode()
    assert d.entropy_hits(f"src='data:image/png;base64,{blob}'") == []


def test_identifiers_and_paths_are_not():
    text = ("PyUnicode_AsUTF8AndSize check_en_US_iso88591 test_Base64Decode2Strings "
            "TestHTTPSConnection2Bytes /usr/lib/python3.11/site-packages/pkg_resources/__init__.py "
            "toolu_01ABCdefGHIjklMNOpqrSTU2 msg_01XyZabcDEF123ghiJKL456")
    assert d.entropy_hits(text) == []


def test_the_project_source_has_no_findings():
    for path in sorted((ROOT / "git_ot").rglob("*.py")):
        text = path.read_text()
        assert found(text) == [], path


# -- the judge ------------------------------------------------------------------------

def test_the_judge_counts_what_remains_and_scores_it():
    counts: dict = {}
    judge.residual("ssh build@db01.corp.internal; curl http://10.0.3.4:8080/health; "
                   "role arn:aws:iam::123456789012:role/deploy; id Xk29aB7cD4eF8gH1jK5mN", counts)
    assert counts == {"hosts": 2, "accounts": 1, "identifiers": 1}
    assert judge.score(counts) == 8 * 2 + 8 * 1 + 2 * 1
    assert judge.score(counts, open_findings=3) == 60 + 26
    assert judge.score({"hosts": 50, "accounts": 50, "identifiers": 50}, 1) == 100
    clean: dict = {}
    judge.residual("def greet(name):\n    return 'hi ' + name\n" + hashlib.sha1(b"x").hexdigest(), clean)
    assert clean == {}


# -- sessions through the real hook -----------------------------------------------------

def prompt(repo, sid: str, text: str) -> None:
    repo.hook("UserPromptSubmit", {"session_id": sid, "prompt": text})


def tool(repo, sid: str, name: str, tool_input: dict, response, effect=None, use_id: str | None = None) -> None:
    use_id = use_id or "toolu_" + hashlib.sha1(json.dumps(tool_input).encode()).hexdigest()[:24]
    payload = {"session_id": sid, "tool_name": name, "tool_use_id": use_id, "tool_input": tool_input}
    repo.hook("PreToolUse", payload)
    if effect is not None:
        effect()
    repo.hook("PostToolUse", {**payload, "tool_response": response})


def write_tool(repo, sid: str, rel: str, content: str) -> None:
    tool(repo, sid, "Write", {"file_path": str(repo.path / rel), "content": content}, {"type": "create"},
         effect=lambda: repo.write(rel, content))


def stop(repo, sid: str, message: str = "done") -> None:
    repo.hook("Stop", {"session_id": sid, "last_assistant_message": message})


def git_bytes(cwd, *args, input: bytes | None = None) -> bytes:
    proc = subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout


def contents(cwd, oids: list[str]) -> list[bytes]:
    """The content of each object, zstandard frames decompressed."""
    if not oids:
        return []
    out = git_bytes(cwd, "cat-file", "--batch", input="".join(o + "\n" for o in oids).encode())
    found, pos = [], 0
    while pos < len(out):
        nl = out.index(b"\n", pos)
        header = out[pos:nl].split()
        size = int(header[2])
        data = out[nl + 1:nl + 1 + size]
        pos = nl + 1 + size + 1
        if data.startswith(ZSTD_MAGIC):
            data = zstandard.ZstdDecompressor().decompressobj().decompress(data)
        found.append(data)
    return found


def reachable_from_git_ot(cwd) -> list[str]:
    refs = git_bytes(cwd, "for-each-ref", "--format=%(refname)", "refs/opentraces/", "refs/notes/opentraces")
    names = refs.decode().split()
    if not names:
        return []
    out = git_bytes(cwd, "rev-list", "--objects", *names)
    return [line.split()[0] for line in out.decode().splitlines() if line]


def objects_of(repo, *revs: str) -> set[str]:
    out = git_bytes(repo.path, "rev-list", "--objects", *revs).decode()
    return {line.split()[0] for line in out.splitlines() if line}


def all_objects(cwd) -> list[str]:
    out = git_bytes(cwd, "cat-file", "--batch-all-objects", "--batch-check=%(objectname)")
    return out.decode().split()


def plaintext_in(blobs: list[bytes], secrets: dict[str, str]) -> list[str]:
    """The secrets (or any line of a multi-line one) found in the objects."""
    leaked = []
    for name, secret in secrets.items():
        needles = [line.encode() for line in secret.splitlines() if len(line) >= 16] or [secret.encode()]
        if any(n in blob for blob in blobs for n in needles):
            leaked.append(name)
    return leaked


def trail_of(repo, sid: str) -> dict:
    data = git_bytes(repo.path, "cat-file", "blob", f"refs/opentraces/sessions/{sid}:trail.cbor.zst")
    return cbor2.loads(zstandard.ZstdDecompressor().decompress(data))


def manifest_of(repo, sid: str) -> dict:
    return json.loads(git_bytes(repo.path, "show", f"refs/opentraces/sessions/{sid}:manifest.json"))


# -- the corpus ----------------------------------------------------------------------------

def test_corpus_no_secret_reaches_a_ref_and_forget_leaves_none_behind(repo):
    """Every kind of secret, in prompts, tool inputs, outputs, files written and
    commands; none of it in any object git-ot makes reachable, and after
    `git ot forget` and `git gc --prune=now`, in no object at all."""
    f = Fakes().all()
    sid = "corpus-1"
    home = os.environ["HOME"]
    repo.hook("SessionStart", {"session_id": sid, "source": "startup"})
    prompt(repo, sid, f"deploy with the key id {f['aws-access-key']} and {f['github-token']}; "
                      f"my checkout is {home}/src/app and the runner's is /home/ci-runner/app; "
                      f"{CONTEXT['openai-key'].format(f['openai-key'])}")
    tool(repo, sid, "Bash",
         {"command": f"{CONTEXT['bearer-token'].format(f['bearer-token'])} && "
                     f"{CONTEXT['database-url'].format(f['database-url'])} -c 'select 1'",
          "description": "check the API"},
         {"stdout": f"GITLAB_TOKEN={f['gitlab-token']}\n{CONTEXT['slack-token'].format(f['slack-token'])}\n"
                    f"{CONTEXT['url-password'].format(f['url-password'])}\n", "stderr": "", "interrupted": False})
    write_tool(repo, sid, ".env", textwrap.dedent(f"""\
        {CONTEXT['password-assignment'].format(f['password-assignment'])}
        {CONTEXT['aws-secret-key'].format(f['aws-secret-key'])}
        STRIPE={f['stripe-key']}
        WEBHOOK=https://hooks.slack.com/services/{f['slack-webhook']}
        """))
    write_tool(repo, sid, "deploy/id_rsa", f["private-key"] + "\n")
    tool(repo, sid, "Read", {"file_path": str(repo.path / "notes.txt")},
         {"type": "text", "file": {"content": f"{f['openssh-private-key']}\ncookie {f['jwt']}\n"
                                              f"{CONTEXT['basic-auth'].format(f['basic-auth'])}"}})
    tool(repo, sid, "Bash", {"command": f"curl 'https://maps.example.com/api?key={f['google-api-key']}'"},
         {"stdout": f"{CONTEXT['anthropic-key'].format(f['anthropic-key'])}\n", "stderr": ""})
    write_tool(repo, sid, "publish.sh", f"npm publish --token {f['npm-token']}\ntwine upload -p {f['pypi-token']}\n")
    stop(repo, sid, f"Done. I logged in with {f['huggingface-token']} and "
                    f"{CONTEXT['github-fine-grained-token'].format(f['github-fine-grained-token'])}.")
    repo.hook("SessionEnd", {"session_id": sid, "reason": "exit"})

    # Nothing git-ot made reachable holds a secret, records decompressed.
    reachable = reachable_from_git_ot(repo.path)
    assert reachable
    assert plaintext_in(contents(repo.path, reachable), f) == []
    # ... and every kind was caught and replaced by its own placeholder.
    scan = repo.cli_json("scan", sid)["sessions"][0]
    assert scan["open"] == 0 and scan["sealed"]
    assert {x["kind"] for x in scan["findings"] if x["status"] == "redacted"} >= {KIND_OF.get(k, k) for k in f}
    # Home directories became tokens.
    show = repo.cli_json("trace", "show", f"{sid}:1")["step"]["text"]
    assert "[HOME]/src/app" in show and home not in show
    assert "/home/[USER:" in show and "ci-runner" not in show
    # The files the agent wrote are stored redacted and marked in the trail.
    marks = {(m["snapshot"], m["path"]) for m in trail_of(repo, sid)["redacted"]}
    assert {(s, p) for s, p in marks if s.endswith("-after")} >= {("3-after", ".env"), ("4-after", "deploy/id_rsa")}
    stored_env = git_bytes(repo.path, "show", f"refs/opentraces/sessions/{sid}:snapshots/3-after/.env").decode()
    assert stored_env.splitlines()[0] == "DB_PASSWORD=[REDACTED:password-assignment]"
    # The hooks' unredacted snapshot objects exist, unreachable, until forget.
    assert plaintext_in(contents(repo.path, all_objects(repo.path)), f) != []

    repo.git("notes", "--ref=opentraces", "add", "-m",
             json.dumps({"v": 1, "session": sid, "step": 3, "hunk": "3.1.1", "path": ".env", "lines": [1, 4],
                         "harness": "claude-code", "model": None}, separators=(",", ":")), "HEAD")
    forgot = repo.ot("forget", sid)
    assert forgot.returncode == 0, forgot.stderr.decode()
    repo.git("gc", "--prune=now", "--quiet")
    assert plaintext_in(contents(repo.path, all_objects(repo.path)), f) == []
    assert repo.git("for-each-ref", "refs/opentraces/", "refs/notes/opentraces") == ""


# -- seal-time behaviour ----------------------------------------------------------------

def test_snapshot_files_are_redacted_once_and_marked(repo):
    f = Fakes().all()
    sid = "snap-1"
    prompt(repo, sid, "write the config")
    write_tool(repo, sid, "conf/secret.txt", f"line one\ntoken {f['github-token']}\n")
    tool(repo, sid, "Bash", {"command": "ls | sort"}, {"stdout": "conf\n", "stderr": ""})  # may write
    stop(repo, sid)
    trail = trail_of(repo, sid)
    marks = trail["redacted"]
    assert [(m["snapshot"], m["path"], m["hits"]) for m in marks] == [
        (name, "conf/secret.txt", [{"kind": "github-token", "line": 2}]) for name in ("2-after", "3-before", "3-after")]
    assert len({m["blob"] for m in marks}) == 1
    tree = trail["snapshots"]["3-after"]["tree"]
    assert git_bytes(repo.path, "rev-parse", f"{tree}:conf/secret.txt").decode().strip() == marks[0]["blob"]
    assert git_bytes(repo.path, "cat-file", "blob", marks[0]["blob"]) == b"line one\ntoken [REDACTED:github-token]\n"
    # The patch is computed between the stored trees.
    patch = repo.cli_json("trace", "show", f"{sid}:2")["step"]["patch"]
    assert [(x["status"], x["path"], x["added"]) for x in patch["files"]] == [("A", "conf/secret.txt", 2)]
    gate_report = manifest_of(repo, sid)["gate"]
    assert gate_report["files"] == {"github-token": 1}
    assert gate_report["redacted"] == {"github-token": 1}  # the Write tool's input
    # One scan of the blob, remembered by its id.
    cache = json.loads((repo.path / ".git" / "opentraces" / "gate-cache.json").read_text())
    original = hashlib.sha1(b"blob %d\0" % len(f"line one\ntoken {f['github-token']}\n")
                            + f"line one\ntoken {f['github-token']}\n".encode()).hexdigest()
    assert cache["blobs"][original][0] == marks[0]["blob"]
    assert sum(1 for entry in cache["blobs"].values() if entry) == 1


def test_files_the_base_commit_holds_are_not_rescanned(repo):
    f = Fakes().all()
    repo.write("fixture.txt", f"example key {f['aws-access-key']}\n")
    repo.commit("a fixture")
    sid = "base-1"
    write_tool(repo, sid, "new.txt", "hello\n")
    stop(repo, sid)
    tip = f"refs/opentraces/sessions/{sid}"
    assert f["aws-access-key"] in git_bytes(repo.path, "show", f"{tip}:snapshots/1-after/fixture.txt").decode()
    assert "redacted" not in trail_of(repo, sid)


def test_tokens_are_stable_across_sessions_and_the_salt_stays_local(repo):
    for sid in ("tok-1", "tok-2"):
        prompt(repo, sid, "open /home/alice/src/app/main.py and /Users/bob/x")
        stop(repo, sid)
    texts = [repo.cli_json("trace", "show", f"{sid}:1")["step"]["text"] for sid in ("tok-1", "tok-2")]
    assert texts[0] == texts[1]
    salt_path = repo.path / ".git" / "opentraces" / "salt"
    salt = salt_path.read_bytes().strip()
    assert len(salt) == 64 and stat.S_IMODE(salt_path.stat().st_mode) == 0o600
    token = lambda kind, value: "[%s:%s]" % (kind, hmac.new(salt, f"{kind}\0{value}".encode(), hashlib.sha256).hexdigest()[:8])
    assert texts[0] == f"open /home/{token('USER', 'alice')}/src/app/main.py and /Users/{token('USER', 'bob')}/x"
    assert salt not in b"".join(contents(repo.path, all_objects(repo.path)))
    assert salt.decode() not in repo.git("config", "--list")


def test_pii_is_opt_in_and_tokenized(repo):
    prompt(repo, "pii-1", "mail jane.doe@acme.io about 10.20.30.40")
    stop(repo, "pii-1")
    repo.git("config", "ot.security.pii", "true")
    prompt(repo, "pii-2", "mail jane.doe@acme.io about 10.20.30.40")
    stop(repo, "pii-2")
    assert repo.cli_json("trace", "show", "pii-1:1")["step"]["text"] == "mail jane.doe@acme.io about 10.20.30.40"
    text = repo.cli_json("trace", "show", "pii-2:1")["step"]["text"]
    assert text.startswith("mail [EMAIL:") and " about [IP:" in text and "acme" not in text
    assert manifest_of(repo, "pii-2")["gate"]["tokens"] == {"email": 1, "ip-address": 1}


def test_configured_values_become_tokens_and_the_allow_list_lets_through(repo):
    f = Fakes().all()
    repo.git("config", "--add", "ot.security.tokenize", "db.acme.internal")
    repo.git("config", "--add", "ot.security.allow", "^AKIA")
    prompt(repo, "cfg-1", f"connect to db.acme.internal with {f['aws-access-key']} and {f['github-token']}")
    stop(repo, "cfg-1")
    text = repo.cli_json("trace", "show", "cfg-1:1")["step"]["text"]
    assert text.startswith("connect to [VALUE:") and f["aws-access-key"] in text
    assert text.endswith("and [REDACTED:github-token]")


def test_block_holds_the_seal_back_until_the_policy_lets_it_through(repo):
    f = Fakes().all()
    repo.git("config", "ot.security.action", "block")
    sid = "blk-1"
    prompt(repo, sid, f"use {f['stripe-key']}")
    stop(repo, sid)
    assert repo.git("for-each-ref", "refs/opentraces/") == ""
    log = (repo.path / ".git" / "opentraces" / "log").read_text()
    assert "the security gate holds back session 'blk-1': stripe-key" in log
    assert (repo.path / ".git" / "opentraces" / "gate" / "blocked" / sid).exists()
    scan = repo.cli_json("scan")["sessions"]
    assert [(s["session"], s["sealed"], [(x["kind"], x["status"]) for x in s["findings"]]) for s in scan] == [
        (sid, False, [("stripe-key", "pending")])]
    assert repo.cli_json("trace", "list") == {"sessions": []}  # listing survives a blocked session
    repo.git("config", "ot.security.action", "redact")
    [row] = repo.cli_json("trace", "list")["sessions"]
    assert row["session"] == sid
    assert not (repo.path / ".git" / "opentraces" / "gate" / "blocked" / sid).exists()


def test_bad_policy_is_one_clear_error(repo):
    repo.git("config", "ot.security.action", "shred")
    proc = repo.ot("scan")
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines() == ["error: bad value 'shred' for ot.security.action",
                                                 "hint: use 'redact' or 'block'"]
    with pytest.raises(BadPolicy):
        Policy(allow=("(unclosed",))


def test_the_hook_fast_path_does_not_load_the_gate(repo):
    payload = json.dumps({"session_id": "fast-1", "cwd": str(repo.path), "hook_event_name": "PreToolUse",
                          "tool_name": "Write", "tool_use_id": "t1", "tool_input": {"file_path": "x", "content": "y"}})
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "git_ot", "hook", "claude-code", "PreToolUse"],
                          cwd=repo.path, input=payload.encode(), capture_output=True)
    assert proc.returncode == 0
    imported = proc.stderr.decode()
    assert "git_ot.capture.hook" in imported
    assert "git_ot.domain.gate" not in imported and "pygit2" not in imported


# -- TruffleHog, through a stand-in --------------------------------------------------------

STAND_IN = '''#!{python}
"""A stand-in for TruffleHog v3 (a mock): prints its documented JSON lines."""
import base64, json, os, re, sys
args = sys.argv[1:]
with open(os.environ["STAND_IN_LOG"], "a") as fh:
    fh.write(json.dumps(args) + "\\n")
print("TruffleHog. Unearth your secrets.", file=sys.stderr)
print(json.dumps({{"level": "info", "msg": "running source"}}))
def finding(path, n, raw, decoder="PLAIN"):
    return {{"SourceMetadata": {{"Data": {{"Filesystem": {{"file": path, "line": n}}}}}}, "SourceID": 1,
            "SourceType": 15, "SourceName": "trufflehog - filesystem", "DetectorType": 1000,
            "DetectorName": "CustomCanary", "DecoderName": decoder, "Verified": False, "Raw": raw,
            "RawV2": "", "Redacted": "", "ExtraData": None, "StructuredData": None}}
for path in args[4:]:
    with open(path, encoding="utf-8", errors="replace") as fh:
        for n, line in enumerate(fh, 1):
            for m in re.finditer(r"canary-[0-9a-f]{{24}}", line):
                print(json.dumps(finding(path, n, m.group())))
            for m in re.finditer(r"b64canary:([A-Za-z0-9+/=]+)", line):
                print(json.dumps(finding(path, n, base64.b64decode(m.group(1)).decode(), "BASE64")))
'''


@pytest.fixture
def stand_in(tmp_path, monkeypatch):
    """A `trufflehog` on PATH that finds `canary-<24 hex>` (and base64 of it)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "trufflehog"
    exe.write_text(STAND_IN.format(python=sys.executable))
    exe.chmod(0o755)
    log = tmp_path / "trufflehog.log"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("STAND_IN_LOG", str(log))
    return log


def test_trufflehog_findings_are_redacted_at_seal(repo, stand_in):
    canary = "canary-" + hashlib.sha1(b"c").hexdigest()[:24]
    hidden = "canary-" + hashlib.sha1(b"h").hexdigest()[:24]
    assert d.resolve(d.pattern_hits(canary) + d.entropy_hits(canary)) == []  # only TruffleHog knows it
    sid = "th-1"
    prompt(repo, sid, f"the canary is {canary}\nand b64canary:{base64.b64encode(hidden.encode()).decode()} here\nend")
    write_tool(repo, sid, "canary.txt", f"x\n{canary}\n")
    stop(repo, sid)
    text = repo.cli_json("trace", "show", f"{sid}:1")["step"]["text"]
    # A literal finding is replaced where it is; one TruffleHog decoded, by its line.
    assert text == "the canary is [REDACTED:trufflehog-customcanary]\n[REDACTED:trufflehog-customcanary]\nend"
    stored = git_bytes(repo.path, "show", f"refs/opentraces/sessions/{sid}:snapshots/2-after/canary.txt")
    assert stored == b"x\n[REDACTED:trufflehog-customcanary]\n"
    calls = [json.loads(line) for line in stand_in.read_text().splitlines()]
    assert calls and all(c[:4] == ["filesystem", "--json", "--no-update", "--no-verification"] and len(c) == 5
                         for c in calls)
    scan = repo.cli_json("scan", sid)["sessions"][0]
    assert {(x["kind"], x["status"]) for x in scan["findings"]} == {("trufflehog-customcanary", "redacted")}


def test_trufflehog_required_but_missing_is_a_clear_error(repo, monkeypatch):
    path = [p for p in os.environ["PATH"].split(os.pathsep) if p and not os.path.exists(os.path.join(p, "trufflehog"))]
    monkeypatch.setenv("PATH", os.pathsep.join(path))
    repo.git("config", "ot.security.trufflehog", "true")
    proc = repo.ot("scan")
    assert proc.returncode == 1
    err = proc.stderr.decode().splitlines()
    assert err[0] == "error: trufflehog is required (ot.security.trufflehog is true) but is not on PATH"
    assert err[1].startswith("hint: install TruffleHog v3")
    prompt(repo, "th-2", "hello")
    stop(repo, "th-2")
    assert repo.git("for-each-ref", "refs/opentraces/") == ""  # nothing sealed unchecked
    assert "trufflehog is required" in (repo.path / ".git" / "opentraces" / "log").read_text()


# -- git ot scan ----------------------------------------------------------------------------

def test_scan_json_is_exact_for_a_small_session(repo):
    f = Fakes().all()
    sid = "scan-demo"
    prompt(repo, sid, f"my key is {f['aws-access-key']}")
    write_tool(repo, sid, "secret.txt", f"# config\ntoken = {f['github-token']}\n")
    stop(repo, sid, "written")
    prompt(repo, sid, f"and post to https://hooks.slack.com/services/{f['slack-webhook']}")
    spooled = json.loads((repo.path / ".git" / "opentraces" / "spool" / f"{sid}.jsonl").read_text().splitlines()[0])
    assert repo.cli_json("scan") == {
        "policy": {"detectors": ["patterns", "entropy"], "action": "redact", "allow": [], "pii": False,
                   "trufflehog": "auto", "max_risk": 50},
        "sessions": [{
            "session": sid, "sealed": True, "risk": 0,
            "residual": {"hosts": 0, "accounts": 0, "identifiers": 0}, "open": 0,
            "findings": [
                {"kind": "aws-access-key", "status": "redacted", "step": 1, "field": "text", "line": 1},
                {"kind": "github-token", "status": "redacted", "step": 2, "field": "input.content", "line": 2},
                {"kind": "slack-webhook", "status": "pending", "detector": "pattern", "spool": spooled["id"],
                 "field": "data.text", "line": 1},
                {"kind": "github-token", "status": "redacted", "snapshot": "2-after", "path": "secret.txt",
                 "line": 2},
            ],
        }],
    }
    human = repo.ot("scan", "scan").stdout.decode().splitlines()
    assert human == [
        "session scan-demo  risk 0  open 0",
        "  redacted  aws-access-key             step 1 text:1",
        "  redacted  github-token               step 2 input.content:2",
        f"  pending   slack-webhook              spool {spooled['id']} data.text:1",
        "  redacted  github-token               snapshot 2-after secret.txt:2",
    ]


def test_scan_finds_what_a_stricter_policy_would_not_let_out(repo):
    f = Fakes().all()
    repo.git("config", "ot.security.detectors", "jwt")
    prompt(repo, "strict-1", f"use {f['github-token']}")
    stop(repo, "strict-1")
    repo.git("config", "--unset", "ot.security.detectors")
    [s] = repo.cli_json("scan", "strict")["sessions"]
    assert (s["open"], s["risk"]) == (1, 60 + 2)  # the token also counts as a dense identifier
    assert s["findings"] == [{"kind": "github-token", "status": "open", "detector": "pattern", "step": 1,
                              "field": "text", "line": 1}]
    proc = repo.ot("scan", "nope")
    assert proc.returncode == 1 and proc.stderr.decode().startswith("error: no session matches 'nope'")


def test_the_manifest_risk_is_the_scans(repo):
    sid = "risk-1"
    prompt(repo, sid, "ssh build@db01.corp.internal and arn:aws:iam::123456789012:role/deploy, "
                      "image build-20240517-a1b2c3d4e5f6")
    tool(repo, sid, "Bash", {"command": "curl http://10.0.3.4:8080/health"}, {"stdout": "ok from api.corp.internal"})
    stop(repo, sid)
    report = manifest_of(repo, sid)["gate"]
    assert report["residual"] == {"hosts": 3, "accounts": 1, "identifiers": 1}
    assert report["risk"] == 8 * 3 + 8 + 2
    [s] = repo.cli_json("scan", sid)["sessions"]
    assert (s["risk"], s["residual"]) == (report["risk"], report["residual"])


# -- egress ---------------------------------------------------------------------------------

def test_egress_passes_a_redacted_session_and_holds_back_an_open_one(repo):
    f = Fakes().all()
    prompt(repo, "clean-1", f"use {f['github-token']}")  # redacted at seal
    stop(repo, "clean-1")
    repo.git("config", "ot.security.detectors", "jwt")
    prompt(repo, "leak-1", f"use {f['stripe-key']}")  # sealed as it was
    stop(repo, "leak-1")
    repo.git("config", "--unset", "ot.security.detectors")
    store = Store.open(str(repo.path))
    report = egress_report(store, ["clean-1", "leak-1"], policy_for(store))
    assert not report["ok"]
    assert [(s["session"], s["verdict"], s["reasons"]) for s in report["sessions"]] == [
        ("clean-1", "pass", []),
        ("leak-1", "block", ["1 open finding: stripe-key", "risk 62 is above ot.security.maxRisk 50"])]
    with pytest.raises(EgressBlocked) as exc:
        raise_if_blocked(report)
    assert exc.value.message == ("the security gate holds back session 'leak-1': 1 open finding: stripe-key; "
                                 "risk 62 is above ot.security.maxRisk 50")
    # The policy in force at egress decides: the one that sealed it lets it out.
    assert egress_report(store, ["leak-1"], Policy(detectors=("jwt",)))["ok"]


def test_egress_holds_back_a_session_over_the_risk_limit(repo):
    prompt(repo, "hosts-1", "ssh db01.corp.internal db02.corp.internal")
    stop(repo, "hosts-1")
    store = Store.open(str(repo.path))
    assert egress_report(store, ["hosts-1"])["ok"]
    repo.git("config", "ot.security.maxRisk", "10")
    [s] = egress_report(Store.open(str(repo.path)), ["hosts-1"])["sessions"]
    assert (s["verdict"], s["reasons"]) == ("block", ["risk 16 is above ot.security.maxRisk 10"])


# -- git ot forget ----------------------------------------------------------------------------

def test_forget_deletes_a_session_and_only_what_it_alone_reached(repo, tmp_path):
    f = Fakes().all()
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    repo.git("remote", "add", "origin", str(bare))
    prompt(repo, "keep-1", "a session that stays")
    write_tool(repo, "keep-1", "shared.txt", "shared content\n")
    stop(repo, "keep-1")
    prompt(repo, "gone-1", "a session to forget")
    write_tool(repo, "gone-1", "only-gone.txt", f"its own file {f['github-token']}\n")
    stop(repo, "gone-1")
    prompt(repo, "gone-1", "one more, still in the spool")
    repo.git("push", "-q", "origin", "refs/opentraces/sessions/*:refs/opentraces/sessions/*")
    head = repo.git("rev-parse", "HEAD").strip()
    line = lambda sid: json.dumps({"v": 1, "session": sid, "step": 2, "hunk": "2.1.1", "path": "x", "lines": [1, 1],
                                   "harness": "claude-code", "model": None}, separators=(",", ":"))
    repo.git("notes", "--ref=opentraces", "add", "-m", line("gone-1") + "\n" + line("keep-1"), head)

    gone_objects = objects_of(repo, "refs/opentraces/sessions/gone-1") - objects_of(
        repo, "--exclude=refs/opentraces/sessions/gone-1", "--all")
    original = hashlib.sha1(b"blob %d\0" % len(f"its own file {f['github-token']}\n")
                            + f"its own file {f['github-token']}\n".encode()).hexdigest()
    shared = git_bytes(repo.path, "rev-parse", "refs/opentraces/sessions/keep-1:snapshots/2-after/shared.txt").decode().strip()
    assert subprocess.run(["git", "cat-file", "-e", original], cwd=repo.path).returncode == 0

    proc = repo.ot("forget", "gone-1")
    assert proc.returncode == 0, proc.stderr.decode()
    out = proc.stdout.decode().splitlines()
    assert out[0] == "forgot gone-1 (refs/opentraces/sessions/gone-1, spooled events)"
    assert out[1] == "removed 1 note line from refs/notes/opentraces"
    assert "ran: git reflog expire --expire=now --expire-unreachable=now refs/notes/opentraces" in out
    assert out[-2:] == ["remote 'origin' may still hold it; to delete it there:",
                        "  git ot forget --remote origin gone-1"]

    assert repo.git("for-each-ref", "--format=%(refname)", "refs/opentraces/").split() == [
        "refs/opentraces/sessions/keep-1"]
    assert repo.git("notes", "--ref=opentraces", "show", head) == line("keep-1") + "\n"
    assert not [n for n in os.listdir(repo.path / ".git" / "opentraces" / "spool") if n.startswith("gone-1")]
    assert not (repo.path / ".git" / "logs" / "refs" / "opentraces" / "sessions" / "gone-1").exists()
    reflog = repo.git("reflog", "show", "--format=%H", "refs/notes/opentraces").split()
    assert len(reflog) <= 1  # only the rewritten notes commit, if any entry at all
    assert gone_objects and original not in gone_objects
    for oid in sorted(gone_objects | {original}):
        assert subprocess.run(["git", "cat-file", "-e", oid], cwd=repo.path, capture_output=True).returncode != 0, oid
    assert subprocess.run(["git", "cat-file", "-e", shared], cwd=repo.path).returncode == 0
    assert repo.cli_json("trace", "show", "keep-1")["session"]["steps"] == 3


def test_forget_works_on_packed_objects_and_says_what_it_ran(repo):
    prompt(repo, "packed-1", "to be packed")
    write_tool(repo, "packed-1", "p.txt", "packed content 7f1e\n")
    stop(repo, "packed-1")
    objects = objects_of(repo, "refs/opentraces/sessions/packed-1") - objects_of(repo, "HEAD")
    repo.git("gc", "--quiet")
    result = repo.cli_json("forget", "packed-1")
    assert result["objects"]["remaining"] == []
    assert "git repack -A -d -q" in result["ran"]
    assert result["remotes"] == [] and result["notes"] == []
    for oid in objects:
        assert subprocess.run(["git", "cat-file", "-e", oid], cwd=repo.path, capture_output=True).returncode != 0


def test_forget_takes_whole_ids(repo):
    prompt(repo, "whole-session-1", "x")
    stop(repo, "whole-session-1")
    proc = repo.ot("forget", "whole")
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines() == [
        "error: no session 'whole'", "hint: forget takes whole session ids: did you mean 'whole-session-1'?"]
    assert repo.git("for-each-ref", "--format=%(refname)", "refs/opentraces/").split() == [
        "refs/opentraces/sessions/whole-session-1"]


def test_personal_data_left_in_a_session_is_open_once_the_policy_asks_for_it(repo):
    prompt(repo, "pii-late", "mail jane.doe@acme.io")
    stop(repo, "pii-late")
    store = Store.open(str(repo.path))
    assert egress_report(store, ["pii-late"])["ok"]
    repo.git("config", "ot.security.pii", "true")
    [s] = egress_report(Store.open(str(repo.path)), ["pii-late"])["sessions"]
    assert s["verdict"] == "block" and s["reasons"][0] == "1 open finding: email"
    # Sealed under that policy, personal data becomes tokens and does not block.
    repo.git("config", "ot.security.action", "block")
    prompt(repo, "pii-now", "mail jane.doe@acme.io")
    stop(repo, "pii-now")
    assert egress_report(Store.open(str(repo.path)), ["pii-now"])["ok"]


def test_a_file_whose_name_is_not_utf8_is_redacted_too(repo):
    f = Fakes().all()
    raw_name = b"caf\xe9.env"

    def effect():
        with open(os.path.join(os.fsencode(repo.path), b"conf", raw_name), "wb") as fh:
            fh.write(f"KEY={f['google-api-key']}\n".encode())

    (repo.path / "conf").mkdir()
    tool(repo, "raw-1", "Bash", {"command": "make config"}, {"stdout": ""}, effect=effect)
    stop(repo, "raw-1")
    [mark] = trail_of(repo, "raw-1")["redacted"]
    assert (mark["path"], mark["path_raw"], mark["hits"]) == (
        "conf/caf\\xe9.env", b"conf/" + raw_name, [{"kind": "google-api-key", "line": 1}])
    tree = trail_of(repo, "raw-1")["snapshots"]["1-after"]["tree"]
    listing = git_bytes(repo.path, "ls-tree", "-r", "-z", tree).split(b"\0")
    [entry] = [e for e in listing if e.endswith(raw_name)]
    assert entry.split()[2].decode() == mark["blob"]
    assert git_bytes(repo.path, "cat-file", "blob", mark["blob"]) == b"KEY=[REDACTED:google-api-key]\n"


def test_a_seal_redacts_a_value_string_by_string_and_leaves_no_cycle(repo):
    """SealGate.redact: every string of a value, map keys too, checked; the
    value's shape kept; a value with nothing to redact returned as it came;
    and no reference cycle left for the collector (an import disables it,
    and a cycle would hold every value's strings to the end). The collector
    is asked in a process of its own: in this one, threads earlier tests
    left running may make garbage of their own while it is disabled."""
    f = Fakes().all()
    script = textwrap.dedent("""\
        import gc, json, sys
        from git_ot.domain.gate.seal import SealGate
        from git_ot.store.repository import Store
        gate = SealGate(Store.open(sys.argv[1]), "s-1", [])
        key = sys.argv[2]
        clean = {"tool": "Read", "input": {"path": "a.py", "lines": [1, 2, None, True]}, "n": 3.5}
        value = {"tool": "Bash", "input": {"command": f"export AWS_KEY={key}", "password": "hunter2!x"},
                 f"key {key}": ["ok", {"deep": [f"x {key} y", 7]}], 1: "one"}
        gc.collect()
        gc.disable()
        same = gate.redact(clean) is clean
        got = gate.redact(value)
        collected = gc.collect()
        print(json.dumps({"same": same, "collected": collected, "got": repr(got),
                          "redacted": gate.redacted}))
        """)
    proc = subprocess.run([sys.executable, "-c", script, str(repo.path), f["aws-access-key"]],
                          capture_output=True, text=True, cwd=repo.path)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["same"] is True
    assert out["collected"] == 0
    assert f["aws-access-key"] not in out["got"] and "hunter2" not in out["got"]
    assert out["got"] == repr({
        "tool": "Bash",
        "input": {"command": "export AWS_KEY=[REDACTED:aws-access-key]",
                  "password": "[REDACTED:password-assignment]"},
        "key [REDACTED:aws-access-key]": ["ok", {"deep": ["x [REDACTED:aws-access-key] y", 7]}],
        1: "one"})
    assert out["redacted"] == {"aws-access-key": 3, "password-assignment": 1}


def test_a_branch_name_holding_a_secret_reaches_no_ref(repo, tmp_path):
    """The branch a transcript's line names (its `gitBranch`) is kept on an
    imported step's partial snapshots: the gate redacts it there, and
    `git ot scan` looks at it."""
    from support.transcripts import Transcript

    f = Fakes().all()
    repo.write("app.py", "print('hi')\n")
    repo.commit("base")
    sid = "4a1d2c3b-0000-4000-8000-00000000000a"
    tr = Transcript("/home/dev/src/other", sid, branch=f"fix/{f['github-token']}")
    tr.prompt(1700000100, "greet louder")
    tr.edit(1700000110, 1700000111, "app.py", "print('hi')\n", "'hi'", "'hello there'")
    path = tr.save(tmp_path / "a.jsonl")
    done = repo.ot("import", "claude-code", str(path))
    assert done.returncode == 0, done.stderr.decode()

    snapshots = trail_of(repo, sid)["snapshots"]
    assert {name: s.get("branch") for name, s in snapshots.items()} == {
        "2-before": "fix/[REDACTED:github-token]", "2-after": "fix/[REDACTED:github-token]"}
    assert plaintext_in(contents(repo.path, reachable_from_git_ot(repo.path)), f) == []
    scan = repo.cli_json("scan", sid)["sessions"][0]
    assert sorted((x["field"], x["status"]) for x in scan["findings"] if x["field"].startswith("snapshots.")) == [
        ("snapshots.2-after.branch", "redacted"), ("snapshots.2-before.branch", "redacted")]
