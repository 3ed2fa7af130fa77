"""`git ot blame pr` over a history the real Claude Code CLI made, against golden files.

The history: Claude Code (driven by the scripted model, as in
test_claude_code.py) writes a function and its test, a person changes a
line of it, a resumed session edits it again while the person edits the
README, a second session adds a helper that the person reverts, and the
person adds notes. Each run is given its session id (`--session-id`), and
every hook call is dated by a clock of the test's own (GIT_OT_EVENT_TIME,
one step of it per call), so the sessions' ids, times and hence the
reports are the same on every run: the golden files are compared byte for
byte. They change only when asked: `GIT_OT_UPDATE_GOLDEN=1` rewrites them.

The HTML page is then opened in headless Chromium with its network cut
off (a proxy that does not exist): the net log must hold no request of
the page (the file itself is read without the network), and screenshots,
light and dark, are kept in $GIT_OT_ARTIFACTS (or the test's temporary
directory).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from support import agents
from conftest import PINNED
from support.repo import ROOT, Repo, git
from support.scripted_model import ScriptedModel
from support.seals import wait_for_background_seals

pytestmark = pytest.mark.e2e

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("GIT_OT_UPDATE_GOLDEN") == "1"
SESSION_A = "5e55a0a0-0000-4000-8000-00000000000a"
SESSION_B = "5e55b0b0-0000-4000-8000-00000000000b"
T0 = 1767225600  # 2026-01-01T00:00:00Z: the first tick of the test's clock
TICK = 7  # seconds between two hook calls


@pytest.fixture(scope="session")
def claude_bin(tmp_path_factory) -> str:
    return agents.require("claude-code", tmp_path_factory.mktemp("claude-version-home"))


class Clock:
    """The time every hook call records: one TICK more at each call (a
    `git-ot` first on PATH that counts its calls), and commits dated after."""

    def __init__(self, root: Path):
        self.bin = root / "clock-bin"
        self.bin.mkdir()
        self.count = root / "clock"
        self.count.write_text("0")
        real = shutil.which("git-ot", path=os.path.dirname(sys.executable))
        assert real, "git-ot is not installed beside the test's Python"
        script = self.bin / "git-ot"
        script.write_text(
            "#!/bin/sh\n"
            f"exec 9>>'{self.count}.lock'\nflock 9\n"
            f"n=$(cat '{self.count}'); n=$((n + 1)); echo $n > '{self.count}'\n"
            "exec 9>&-\n"
            f"GIT_OT_EVENT_TIME=$(({T0} + {TICK} * n)) exec '{real}' \"$@\"\n")
        script.chmod(0o755)

    def now(self) -> int:
        return T0 + TICK * int(self.count.read_text())

    def commit(self, repo, message: str) -> str:
        """A commit dated a tick after the last hook call; the clock moves on."""
        n = int(self.count.read_text()) + 1
        self.count.write_text(str(n))
        when = f"{T0 + TICK * n} +0000"
        env = {**os.environ, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
        repo.git("add", "-A", env=env)
        repo.git("commit", "-q", "-m", message, env=env)
        return repo.git("rev-parse", "HEAD").strip()


def _env(clock: Clock) -> dict:
    env = agents.clean_env()
    # Set, every hook call runs git-ot (the clock's) rather than leaving
    # its payload in the inbox at the time `date` gives (capture/hookfile.py).
    env["GIT_OT_EVENT_TIME"] = str(T0)
    env["PATH"] = os.pathsep.join([str(clock.bin), os.path.dirname(sys.executable), env.get("PATH", "")])
    return env


def _claude(claude: str, repo, home: Path, clock: Clock, prompt: str, script: list,
            session: str, resume: bool = False) -> None:
    args = [claude, "-p", prompt, "--dangerously-skip-permissions", "--output-format", "json"]
    args += ["--resume", session] if resume else ["--session-id", session]
    with ScriptedModel(script) as model:
        env = {**_env(clock), "HOME": str(home), "ANTHROPIC_BASE_URL": model.url,
               "ANTHROPIC_API_KEY": "sk-ant-test", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
               "IS_SANDBOX": "1"}
        proc = subprocess.run(args, cwd=repo.path, env=env, capture_output=True, text=True,
                              timeout=180, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"claude failed ({proc.returncode}): {proc.stderr}\n{proc.stdout}"
    wait_for_background_seals(repo.path)
    result = json.loads(proc.stdout)
    assert not result.get("is_error") and result["session_id"] == session, result


def _ot(repo, clock: Clock, *args) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "ot", *args], cwd=repo.path, env=_env(clock), capture_output=True)


@pytest.fixture(scope="module")
def history(claude_bin, tmp_path_factory):
    """The scripted history, made once for the tests of this module, in a
    set-up as hermetic as each test's own (conftest.py)."""
    root = tmp_path_factory.mktemp("blame-pr")
    home = root / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(home))
        mp.setenv("XDG_CONFIG_HOME", str(home / ".config"))
        mp.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
        for key, value in PINNED.items():
            mp.setenv(key, value)
        yield _make_history(claude_bin, root, home)


def _make_history(claude_bin: str, root: Path, home: Path) -> dict:
    clock = Clock(root)
    path = root / "repo"
    path.mkdir()
    git(path, "init", "-q")
    repo = Repo(path)
    repo.write("app.py", 'def greet(name):\n    return "hi " + name\n')
    repo.write("README.md", "readme\n")
    clock.commit(repo, "initial")
    for args in (("init",), ("install", "claude-code", "--scope", "project")):
        proc = _ot(repo, clock, *args)
        assert proc.returncode == 0, proc.stderr
    # The hooks see every tool, as an install that hooks them all (matcher
    # "*") does: every step is then dated by the test's clock. The calls
    # the current install leaves to the transcript would carry its times,
    # this machine's (the transcript tells them once more; one step each).
    settings_path = repo.path / ".claude" / "settings.json"
    settings = json.loads(settings_path.read_text())
    for event in ("PreToolUse", "PostToolUse", "PostToolUseFailure"):
        settings["hooks"][event][0]["matcher"] = "*"
    settings_path.write_text(json.dumps(settings, indent=2) + "\n")
    repo.write(".gitignore", ".claude/\n")
    base = clock.commit(repo, "Ignore Claude Code's settings")
    repo.git("checkout", "-q", "-b", "feature")
    app, test_app, shout = (str(repo.path / n) for n in ("app.py", "test_app.py", "shout.py"))
    script_a = [
        {"say": "I'll add a farewell function.", "tool": "Edit", "input": {
            "file_path": app, "old_string": '    return "hi " + name\n',
            "new_string": '    return "hi " + name\n\n\ndef farewell(name):\n    return "bye " + name\n'}},
        {"say": "Adding a test.", "tool": "Write", "input": {
            "file_path": test_app,
            "content": 'from app import greet, farewell\n\n\ndef test_greet():\n    assert greet("a") == "hi a"\n'
                       '\n\ndef test_farewell():\n    assert farewell("a") == "bye a"\n'}},
        {"text": "Added farewell() with a test."},
        {"say": "Making greet polite.", "tool": "Edit", "input": {
            "file_path": app, "old_string": '    return "hi " + name\n', "new_string": '    return "hello " + name\n'}},
        {"say": "Updating the test.", "tool": "Edit", "input": {
            "file_path": test_app, "old_string": '== "hi a"', "new_string": '== "hello a"'}},
        {"text": "greet now says hello."},
    ]
    _claude(claude_bin, repo, home, clock, "add a farewell function with a test", script_a, SESSION_A)
    clock.commit(repo, "Add farewell() with a test\n\nThe greeting needs a counterpart for the exit screen.")
    repo.write("app.py", repo.path.joinpath("app.py").read_text().replace('"bye "', '"goodbye "'))
    repo.write("test_app.py", repo.path.joinpath("test_app.py").read_text().replace('"bye a"', '"goodbye a"'))
    clock.commit(repo, "Say goodbye in full")
    _claude(claude_bin, repo, home, clock, "make greet say hello instead of hi\n\nkeep the test in step",
            script_a, SESSION_A, resume=True)
    repo.write("README.md", "readme\n\ngreet() says hello, farewell() says goodbye.\n")
    clock.commit(repo, "Greet with hello")
    script_b = [
        {"say": "Adding the helper.", "tool": "Write", "input": {
            "file_path": shout, "content": 'def shout(text):\n    """`TEXT`, | louder."""\n'
                                           '    return text.upper() + "!"\n'}},
        {"text": "Added shout()."},
    ]
    _claude(claude_bin, repo, home, clock, "add a `shout` helper <b>loud</b> | upper-case it",
            script_b, SESSION_B)
    shouted = clock.commit(repo, "Add shout()")
    n = int(clock.count.read_text()) + 1
    clock.count.write_text(str(n))
    when = f"{T0 + TICK * n} +0000"
    repo.git("revert", "--no-edit", shouted, env={**os.environ, "GIT_AUTHOR_DATE": when,
                                                  "GIT_COMMITTER_DATE": when})
    repo.write("NOTES.md", "Release notes: farewell() and a politer greet().\n")
    clock.commit(repo, "Add release notes")
    return {"repo": repo, "clock": clock, "base": base, "root": root}


def _report(history, *args) -> bytes:
    proc = _ot(history["repo"], history["clock"], "blame", "pr", *args)
    assert (proc.returncode, proc.stderr) == (0, b""), proc.stderr.decode()
    return proc.stdout


def _golden(name: str, got: bytes) -> None:
    path = GOLDEN / name
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_bytes(got)
    assert path.exists(), f"no golden file {path}: run with GIT_OT_UPDATE_GOLDEN=1 to write it"
    assert got.decode() == path.read_text(), f"{name} differs from its golden file"


@pytest.mark.parametrize("fmt", ["md", "html", "json"])
def test_the_report_is_its_golden_file(history, fmt):
    _golden(f"blame-pr.{fmt}", _report(history, "main..feature", "--format", fmt))


def test_two_runs_give_the_same_bytes(history, tmp_path):
    for fmt in ("md", "html", "json"):
        first = _report(history, "main..feature", "--format", fmt)
        out = tmp_path / f"report.{fmt}"
        assert _report(history, "main..feature", "--format", fmt, "--output", str(out)) == b""
        assert out.read_bytes() == first


def test_the_json_follows_its_schema(history):
    schema = json.loads((ROOT / "refs" / "schemas" / "blame-pr.schema.json").read_text())
    report = json.loads(_report(history, "main..feature", "--json"))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(report, schema)


def test_without_a_range_the_branch_is_compared_with_the_default_branch(history):
    proc = _ot(history["repo"], history["clock"], "blame", "pr", "--format", "json")
    assert (proc.returncode, proc.stderr) == (
        0, b"comparing 'feature' with 'main', the default branch; name a range to compare others\n")
    assert proc.stdout == _report(history, "main..feature", "--format", "json").replace(
        b'"chosen": "given"', b'"chosen": "the default branch"')


def test_the_page_is_self_contained(history):
    page = _report(history, "main..feature", "--format", "html").decode()
    for needle in ("<script", "<link", "<img", "@import", "url(", "http:", "https:", "@font-face"):
        assert needle not in page, needle
    assert "@media (prefers-color-scheme: dark)" in page and "@media print" in page
    assert page.count("<details>") == page.count('<section class="commit"') == 6


def _chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        pytest.fail("chromium is not installed (.ci/run installs Debian's 'chromium')")
    return found


def _browse(page: Path, out: Path, netlog: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--metrics-recording-only",
         "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
         f"--user-data-dir={out.parent / 'chromium-profile'}", f"--log-net-log={netlog}",
         "--net-log-capture-mode=Default", "--hide-scrollbars", "--window-size=1200,1600",
         f"--screenshot={out}", *extra, page.as_uri()],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def _requests(netlog: Path) -> list[str]:
    """Every URL the page asked the network for, from the browser's net log.

    A request of the page is one whose network isolation key is the page's
    site, file://; Chromium's own background requests (its clock, accounts,
    dictionaries) have other keys and are no part of the page. The file
    itself is read without the network stack and does not show."""
    log = json.loads(netlog.read_text())
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = set()
    for event in log["events"]:
        params = event.get("params") or {}
        if event["type"] == start and str(params.get("network_isolation_key", "")).startswith("file://"):
            urls.add(params["url"])
    return sorted(urls)


def _artifacts(tmp_path: Path) -> Path:
    where = os.environ.get("GIT_OT_ARTIFACTS")
    out = Path(where) if where else tmp_path / "artifacts"
    out.mkdir(parents=True, exist_ok=True)
    return out


def test_the_page_loads_in_a_browser_with_no_network_request(history, tmp_path):
    page = tmp_path / "blame-pr.html"
    _report(history, "main..feature", "--format", "html", "--output", str(page))
    shot = _artifacts(tmp_path) / "blame-pr.png"
    netlog = tmp_path / "netlog.json"
    proc = _browse(page, shot, netlog)
    assert proc.returncode == 0, proc.stderr
    assert shot.stat().st_size > 10_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert _requests(netlog) == []
    # Dark, as a reader whose system prefers it sees the page.
    dark = shot.with_name("blame-pr-dark.png")
    proc = _browse(page, dark, netlog, "--force-dark-mode", "--blink-settings=preferredColorScheme=0")
    assert proc.returncode == 0, proc.stderr
    assert dark.stat().st_size > 10_000 and dark.read_bytes() != shot.read_bytes()
    assert _requests(netlog) == []


def test_the_browser_check_sees_a_page_that_asks_the_network(tmp_path):
    """The check above can fail: a page with one image from the network is seen asking for it."""
    page = tmp_path / "asks.html"
    page.write_text('<!DOCTYPE html><html><body><img src="http://example.invalid/x.png"></body></html>\n')
    netlog = tmp_path / "netlog.json"
    proc = _browse(page, tmp_path / "asks.png", netlog)
    assert proc.returncode == 0, proc.stderr
    assert _requests(netlog) == ["http://example.invalid/x.png"]
