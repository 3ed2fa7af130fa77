"""`git ot trace query` over real sessions, and `git ot trace map`.

The corpus is real Claude Code transcripts (tests/fixtures/claude-code):
the recorded scenarios and three of the spotter project's sessions,
imported as a user would. Each term below was chosen because the corpus
holds it in one place only (a prompt, a tool's output, a path, a commit
message), so a hit is exact and a miss is certain.
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from git_ot.store import search
from support.repo import FIXTURES, RECORDED, replay
from support.spec import validate

LINEAR = "265a3953-3ae5-4217-ac1f-2e0725711a3c"  # recorded-2.1.328/linear-edit
BASH = "ccb0e11c-0fc0-4092-9003-508fc775c0f5"  # recorded-2.1.328/bash-writes
PARALLEL = "6b25cd08-9e11-4524-ab54-2f0bde43316b"  # recorded-2.1.328/parallel-tools
SHORT = "55604662-cf2a-4331-851a-ec234028f8ca"  # spotter/short.jsonl
TOOL_HEAVY = "d6e0bada-1959-4eec-a9d2-0bfade768d8f"  # spotter/tool_heavy.jsonl
SUBAGENT = "491e126e-1e71-469c-ade2-fcc8af567c74"  # spotter/subagent.jsonl
SPOTTER = FIXTURES / "claude-code" / "spotter"


def index_file(repo):
    return repo.path / ".git" / "opentraces" / "query.sqlite"


@pytest.fixture
def corpus(repo):
    files = [RECORDED / s / "transcript.jsonl" for s in ("linear-edit", "bash-writes", "parallel-tools")]
    files += [SPOTTER / f for f in ("short.jsonl", "tool_heavy.jsonl", "subagent.jsonl")]
    proc = repo.cli("import", "claude-code", *map(str, files))
    assert proc.returncode == 0, proc.stderr.decode()
    return repo


def query(repo, *args) -> dict:
    proc = repo.cli("trace", "query", "--json", *args)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stderr == b""
    result = json.loads(proc.stdout)
    validate("trace-query", result)
    return result


def found(repo, *args) -> list[tuple]:
    """(session, [(step, kind, field)]) of every session found, best first."""
    return [(s["session"], [(m["step"], m["kind"], m["field"]) for m in s["steps"]])
            for s in query(repo, *args)["sessions"]]


def test_a_term_only_in_a_prompt(corpus):
    result = query(corpus, "instead")
    assert result["fts"] == "instead"
    assert result["indexed"] == 6
    [s] = result["sessions"]
    assert (s["session"], s["harness"], s["models"], s["start"], s["matches"]) == (
        LINEAR, "claude-code", ["claude-opus-5-5"], "2026-11-24T18:40:37.696000Z", 1)
    assert s["steps"] == [{"step": 9, "kind": "prompt", "name": None, "field": "prompt",
                           "score": s["score"], "snippet": "make greet say hello [[instead]] of hi"}]
    assert s["score"] > 0
    assert found(corpus, "doesnt") == [(SHORT, [(1, "prompt", "prompt")])]


def test_a_term_only_in_a_tool_output(corpus):
    [s] = query(corpus, "acknowledged")["sessions"]
    assert (s["session"], s["matches"]) == (TOOL_HEAVY, 1)
    assert [(m["step"], m["kind"], m["name"], m["field"]) for m in s["steps"]] == [
        (11, "tool", "WebFetch", "output")]
    assert s["steps"][0]["snippet"] == ("...The conversation shows maintainers [[acknowledged]] the problem "
                                        "as a legitimate bug and...")
    assert found(corpus, "alembic") == [(SUBAGENT, [(5, "tool", "output")])]


def test_misses(corpus):
    assert query(corpus, "zzzqqq")["sessions"] == []
    proc = corpus.cli("trace", "query", "zzzqqq")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"no matches\n", b"")
    # A phrase is its words in order; the same words out of order miss.
    assert found(corpus, '"say hello"') == [(LINEAR, [(9, "prompt", "prompt")])]
    assert found(corpus, '"hello say"') == []
    # -word leaves out the steps that hold it.
    assert found(corpus, "instead -hello") == []
    assert found(corpus, "instead", "--harness", "codex") == []
    assert found(corpus, "instead", "--since", "2030-01-01") == []


def test_prefix_terms_and_exclusions(corpus):
    assert [s for s, _ in found(corpus, "greet*")] == [LINEAR, BASH]
    assert [s for s, _ in found(corpus, "greet")] == [LINEAR, BASH]
    # 'greeting' in bash-writes' last message is a prefix match only.
    assert [m for s, m in found(corpus, "greeting") if s == BASH] == [[(6, "message", "message")]]
    result = query(corpus, "greet -hello")
    assert result["fts"] == "greet NOT hello"
    assert all("hello" not in m["snippet"] for s in result["sessions"] for m in s["steps"])
    # A text that starts with '-' comes after '--', as for any command.
    assert query(corpus, "--", "-hello greet")["fts"] == "greet NOT hello"
    assert query(corpus, 'app.py -"say hello" test*')["fts"] == '("app.py" test*) NOT "say hello"'
    assert query(corpus, "settings OR farewell")["fts"] == "settings OR farewell"


@pytest.mark.parametrize("text,fts", [
    ("greet", "greet"),
    ("greet hello", "(greet hello)"),
    ("sett*", "sett*"),
    ('"say hello"', '"say hello"'),
    ("app.py", '"app.py"'),
    ("foo-bar*", '"foo-bar"*'),
    ("greet -hello -bye", "greet NOT hello NOT bye"),
    ('-"say hello" greet', 'greet NOT "say hello"'),
    ("prompt:greet", "prompt:greet"),
    ("path:app.py", 'path:"app.py"'),
    ("nocolumn:x", '"nocolumn:x"'),
    ("(greet OR hello) -bye", "( greet OR hello ) NOT bye"),
    ("élan", "élan"),
])
def test_translation_to_fts5(text, fts):
    from git_ot.domain.query import translate

    assert translate(text) == fts


def test_prompts_rank_above_outputs(corpus):
    # 'module' is in bash-writes' prompt, and in the spotter session's tool outputs only.
    result = query(corpus, "module")
    assert [(s["session"], s["steps"][0]["field"]) for s in result["sessions"]] == [
        (BASH, "prompt"), (SUBAGENT, "output")]
    assert result["sessions"][0]["score"] > result["sessions"][1]["score"]


def test_filters(corpus):
    assert [s for s, _ in found(corpus, "greet", "--path", "test_*")] == [LINEAR]
    assert [s for s, _ in found(corpus, "greet", "--path", "*.py")] == [LINEAR]
    assert found(corpus, "greet", "--path", "nothing/*") == []
    assert [s for s, _ in found(corpus, "greet", "--limit", "1")] == [LINEAR]
    assert [s for s, _ in found(corpus, "greet", "--harness", "claude-code", "--since", "2026-11-01")] == [
        LINEAR, BASH]
    assert [s for s, _ in found(corpus, "mix", "--since", "2026-11-01")] == []


def test_human_output(corpus):
    proc = corpus.cli("trace", "query", "instead")
    assert proc.returncode == 0
    assert proc.stdout.decode().splitlines() == [
        f"session {LINEAR}  claude-code  start 2026-11-24T18:40:37.696000Z  score "
        f"{query(corpus, 'instead')['sessions'][0]['score']:.2f}  1 match",
        "  step 9     prompt: make greet say hello [[instead]] of hi"]


def test_a_syntax_error_is_one_clear_line(corpus):
    for text, reason in (('"unterminated', "unterminated string"),
                         ("greet AND", 'syntax error near ""'),
                         ("(greet", 'syntax error near ""')):
        proc = corpus.cli("trace", "query", text)
        assert proc.returncode == 1
        assert proc.stdout == b""
        assert proc.stderr.decode().splitlines() == [
            f"error: invalid query '{text}': {reason}",
            'hint: a query is words, "quoted phrases", prefix* terms and -words to leave out, combined '
            "with AND, OR, NOT and parentheses (SQLite FTS5 syntax)"]
    proc = corpus.cli("trace", "query", "--", "-hello")
    assert (proc.returncode, proc.stderr.decode().splitlines()) == (1, [
        "error: invalid query '-hello': nothing to look for",
        "hint: give at least one word to find; '-word' only leaves out what also matches"])


def test_the_index_is_built_on_first_use_and_updated_from_the_refs(repo):
    assert not index_file(repo).exists()
    proc = repo.cli("import", "claude-code", str(SPOTTER / "short.jsonl"))
    assert proc.returncode == 0
    assert not index_file(repo).exists()  # nothing but a query makes it
    assert found(repo, "doesnt") == [(SHORT, [(1, "prompt", "prompt")])]
    db = sqlite3.connect(index_file(repo))
    numbers = dict(db.execute("SELECT sid, id FROM sessions"))
    db.close()
    assert found(repo, "instead") == []
    # A new session is added; the one indexed before keeps its rows.
    proc = repo.cli("import", "claude-code", str(RECORDED / "linear-edit" / "transcript.jsonl"))
    assert proc.returncode == 0
    assert found(repo, "instead") == [(LINEAR, [(9, "prompt", "prompt")])]
    db = sqlite3.connect(index_file(repo))
    assert dict(db.execute("SELECT sid, id FROM sessions WHERE sid = ?", (SHORT,))) == numbers
    assert db.execute("PRAGMA user_version").fetchone() == (search.SCHEMA_VERSION,) == (2,)
    db.close()
    # Deleted: built again, silently.
    index_file(repo).unlink()
    assert query(repo, "doesnt")["indexed"] == 2
    # Of an older schema version: built again, silently.
    index_file(repo).unlink()
    db = sqlite3.connect(index_file(repo))
    db.execute("CREATE TABLE sessions (sid TEXT)")
    db.commit()
    db.close()
    assert found(repo, "instead") == [(LINEAR, [(9, "prompt", "prompt")])]


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_corrupt_index_is_rebuilt_with_a_warning(corpus, damage):
    query(corpus, "instead")
    path = index_file(corpus)
    if damage == "garbage":
        path.write_bytes(b"not a database at all\n" * 100)
    else:
        data = path.read_bytes()
        path.write_bytes(data[:4096] + b"\0" * (len(data) - 4096))
    proc = corpus.cli("trace", "query", "instead", "--json")
    assert proc.returncode == 0
    lines = proc.stderr.decode().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"warning: the query index '{path}' was damaged (")
    assert lines[0].endswith("); rebuilt it from the session refs")
    assert [s["session"] for s in json.loads(proc.stdout)["sessions"]] == [LINEAR]
    assert found(corpus, "acknowledged") == [(TOOL_HEAVY, [(11, "tool", "output")])]


def test_a_forgotten_session_is_no_longer_found(corpus):
    assert [s for s, _ in found(corpus, "acknowledged")] == [TOOL_HEAVY]
    proc = corpus.cli("forget", TOOL_HEAVY)
    assert proc.returncode == 0, proc.stderr.decode()
    # forget takes its words out of the index itself, before any query.
    assert b"acknowledged" not in index_file(corpus).read_bytes()
    assert found(corpus, "acknowledged") == []
    assert query(corpus, "instead")["indexed"] == 5
    # A session whose ref went some other way leaves at the next query.
    corpus.git("update-ref", "-d", f"refs/opentraces/sessions/{SHORT}")
    assert b"doesnt" in index_file(corpus).read_bytes()
    assert found(corpus, "doesnt") == []
    assert b"doesnt" not in index_file(corpus).read_bytes()


def test_paths_commit_messages_and_survival(repo):
    """A live session (hooks replayed) whose tool also wrote a file it did
    not name, then committed: the file's name is only in a path, the commit
    message only in the commit."""
    def formatter(payload):
        if payload.get("hook_event_name") == "PreToolUse" and payload.get("tool_name") == "Write":
            repo.write("zebrafmt.toml", "line = 1\n")

    repo.cli("init")
    sid = replay(repo, "linear-edit", after=formatter)
    assert sid == LINEAR
    assert found(repo, "zebrafmt") == [(LINEAR, [(3, "tool", "path")])]
    assert found(repo, "path:zebrafmt") == [(LINEAR, [(3, "tool", "path")])]
    assert found(repo, "input:zebrafmt") == []
    assert found(repo, "wave") == []
    commit = repo.commit("Teach greet to wave goodbye")
    [s] = query(repo, "wave")["sessions"]
    assert s["steps"] == [{"step": None, "kind": "commit", "name": commit, "field": "commit_message",
                           "score": s["score"], "snippet": "Teach greet to [[wave]] goodbye"}]
    proc = repo.cli("trace", "query", "wave")
    assert proc.stdout.decode().splitlines()[1] == f"  {commit[:8]}   commit: Teach greet to [[wave]] goodbye"
    result = query(repo, "greet", "--state", "alive_on_path")
    assert [s["session"] for s in result["sessions"]] == [LINEAR]
    assert result["sessions"][0]["states"]["alive_on_path"] >= 1
    assert query(repo, "greet", "--state", "reverted")["sessions"] == []
    proc = repo.cli("trace", "query", "greet", "--state", "gone")
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines()[0].startswith("error: invalid value for '--state': 'gone' is not one of 'alive_on_path',")


# -- trace map ---------------------------------------------------------------------

def test_map_of_a_known_session(repo):
    """linear-edit, committed after each prompt; then a person drops the tests."""
    repo.cli("init")
    commits = []

    def commit_each_turn(payload):
        if payload.get("hook_event_name") == "Stop":
            commits.append(repo.commit(f"turn {len(commits) + 1}"))

    sid = replay(repo, "linear-edit", after=commit_each_turn)
    repo.git("rm", "-q", "test_app.py")
    commits.append(repo.commit("drop the tests"))
    start = repo.cli_json("trace", "list")["sessions"][0]["start"]
    values = {"sid": sid, "start": start, "c1": commits[0][:8], "c2": commits[1][:8]}
    proc = repo.cli("trace", "map", sid[:8])
    assert (proc.returncode, proc.stderr) == (0, b"")
    assert proc.stdout.decode() == MAP.format(**values)
    proc = repo.cli("trace", "map", "--bursts", sid)
    assert (proc.returncode, proc.stderr) == (0, b"")
    assert proc.stdout.decode() == MAP_BURSTS.format(**values)
    result = repo.cli_json("trace", "map", sid)
    validate("trace-map", result)
    assert [(p["step"], p["messages"], [(s["kind"], s["steps"]) for s in p["segments"]])
            for p in result["prompts"]] == MAP_SEGMENTS
    assert [s.get("commits") for p in result["prompts"] for s in p["segments"]] == [
        [commits[0]], None, [commits[1]]]


MAP = """session {sid}
harness claude-code  model -  start {start}  steps 9  files 2  commits 2

step 1    add a farewell function with a test
  edit  2 steps in 1 burst: app.py +4 -0, test_app.py +9 -0 -> {c1} (alive_on_path 1, lost 1)
  tools 1 shell

step 6    make greet say hello instead of hi
  edit  2 steps in 1 burst: app.py +1 -1, test_app.py +1 -1 -> {c2} (alive_on_path 1, lost 1)
"""
MAP_BURSTS = """session {sid}
harness claude-code  model -  start {start}  steps 9  files 2  commits 2

step 1    add a farewell function with a test
  steps 2-3    edit  app.py +4 -0, test_app.py +9 -0 -> {c1} (alive_on_path 1, lost 1)
  step 4       tools 1 shell

step 6    make greet say hello instead of hi
  steps 7-8    edit  app.py +1 -1, test_app.py +1 -1 -> {c2} (alive_on_path 1, lost 1)
"""
MAP_SEGMENTS = [(1, 1, [("burst", [2, 3]), ("tools", [4])]), (6, 1, [("burst", [7, 8])])]


def test_map_errors(corpus):
    proc = corpus.cli("trace", "map", "nosuch")
    assert (proc.returncode, proc.stderr.decode().splitlines()) == (1, [
        "error: no session matches 'nosuch'",
        "hint: 'git ot trace list' shows the sessions of this repository"])


def test_a_repository_whose_index_cannot_be_written_is_searched_all_the_same(corpus, monkeypatch):
    from git_ot.domain import query as query_domain

    # As root (the test machines), permissions cannot make a file read-only;
    # the check of them is what is replaced.
    monkeypatch.setattr(query_domain, "_unwritable", lambda path: "read-only file system")
    proc = corpus.cli("trace", "query", "--json", "instead")
    assert proc.returncode == 0
    assert proc.stderr.decode().splitlines() == [
        f"warning: cannot write the query index '{index_file(corpus)}' (read-only file system); "
        "searching without it"]
    assert [s["session"] for s in json.loads(proc.stdout)["sessions"]] == [LINEAR]
    assert not index_file(corpus).exists()


def test_a_damaged_session_is_left_out_with_a_warning_each_time(corpus):
    blob = corpus.git("hash-object", "-w", "--stdin", input="not a session\n").strip()
    corpus.git("update-ref", "refs/opentraces/sessions/s-bad", blob)
    for _ in range(2):  # not indexed, so read again (and named again) at the next query
        proc = corpus.cli("trace", "query", "--json", "instead")
        assert proc.returncode == 0
        [warning] = proc.stderr.decode().splitlines()
        assert warning.startswith("warning: skipping damaged session s-bad: ")
        assert warning.endswith(" (see 'git ot fsck')")
        result = json.loads(proc.stdout)
        assert ([s["session"] for s in result["sessions"]], result["indexed"]) == ([LINEAR], 6)
    corpus.git("update-ref", "-d", "refs/opentraces/sessions/s-bad")
    proc = corpus.cli("trace", "query", "--json", "instead")
    assert (proc.returncode, proc.stderr) == (0, b"")


def test_an_index_another_process_is_updating_is_waited_for_then_an_error(corpus, monkeypatch):
    assert found(corpus, "instead") == [(LINEAR, [(9, "prompt", "prompt")])]
    proc = corpus.cli("import", "claude-code", str(RECORDED / "commit-mid-turn" / "transcript.jsonl"))
    assert proc.returncode == 0
    monkeypatch.setattr(search, "BUSY_TIMEOUT_MS", 200)
    other = sqlite3.connect(index_file(corpus), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another git-ot writing it
    try:
        proc = corpus.cli("trace", "query", "instead")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert (proc.returncode, proc.stdout, proc.stderr.decode().splitlines()) == (1, b"", [
        f"error: the query index '{index_file(corpus)}' is being updated by another git-ot",
        "hint: run the query again once that one is done (it waited 0 s)"])
    assert found(corpus, "instead") == [(LINEAR, [(9, "prompt", "prompt")])]
    assert query(corpus, "instead")["indexed"] == 7


def test_map_of_steps_before_the_first_prompt(repo):
    """A session whose capture began mid-turn: its first steps have no prompt."""
    sid = "s-midturn"
    for name, given in (("Read", {"file_path": str(repo.path / "app.py")}),
                        ("Bash", {"command": "ls"})):
        repo.hook("PreToolUse", {"session_id": sid, "tool_name": name, "tool_input": given,
                                 "tool_use_id": f"t-{name}"})
        repo.hook("PostToolUse", {"session_id": sid, "tool_name": name, "tool_input": given,
                                  "tool_use_id": f"t-{name}", "tool_response": "ok"})
    repo.hook("UserPromptSubmit", {"session_id": sid, "prompt": "now tidy up"})
    repo.hook("Stop", {"session_id": sid})
    proc = repo.cli("trace", "map", sid)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().splitlines()[2:] == [
        "", "before the first prompt", "  tools 1 read, 1 shell",
        "", "step 3    now tidy up", "  no tool steps"]
    result = repo.cli_json("trace", "map", sid)
    validate("trace-map", result)
    assert [(p["step"], p["text"]) for p in result["prompts"]] == [(None, None), (3, "now tidy up")]
