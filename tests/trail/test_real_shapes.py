"""Attribution of imported sessions in the shapes real history takes.

Each case is cut down from what sessions of a real project did (the
benchmark tests/benchmarks/bench_real_history.py measures the whole): a
human's commit whose only lines a session's window aligned with are a
`return nil` and a brace; two sessions in two checkouts of the project, on
two branches, editing the same file in turns; a session that moves from
one checkout to another; a branch's work committed here after its
checkout went back to main, where another session edited the file. The
transcripts are written by the tests in Claude Code's form
(tests/support/transcripts.py) and imported after the fact, with no hook
ever run, as the benchmark does. Then the formatters
people run over agent code (black, and re-indenting and wrapping by hand):
the lines keep their identity, `alive_transformed`, not `lost`. Last,
lines carried rather than written: re-indented by a later session, copied
by hand, or moved by a session's own edit keep the writer of their text.
"""

from __future__ import annotations

import json

import pytest

from support.repo import FIXTURES
from support.trail import (HUMAN, agent_line, blame, check_against_schemas, head, note, one_turn,
                           read_records, set_up)
from support.transcripts import MODEL, Transcript

A = "4a1d2c3b-0000-4000-8000-00000000000a"
B = "4b1d2c3b-0000-4000-8000-00000000000b"
T0 = 1700000100  # after the repository's first commit (1700000000)
COMMITTED = "1700000900 +0000"
BASE = 'package app\n\nimport "fmt"\n'


def _commit(repo, monkeypatch, message: str) -> str:
    monkeypatch.setenv("GIT_COMMITTER_DATE", COMMITTED)
    monkeypatch.setenv("GIT_AUTHOR_DATE", COMMITTED)
    repo.commit(message)
    return head(repo)


IMPORT = 'import "fmt"\n'


def _one_edit(repo, tmp_path, prompt: str, old: str, new: str, file: str = "app.go", base: str = BASE,
              cwd: str | None = None) -> str:
    """A repository with `file` at `base`, and one session of A whose prompt
    makes one Edit of it, `old` to `new`, run in `cwd` (default: a checkout
    named as this one); the path of its transcript."""
    set_up(repo, False)
    repo.write(file, base)
    repo.commit("base")
    tr = Transcript(cwd or "/home/dev/src/" + repo.path.name, A)
    tr.prompt(T0, prompt)
    tr.edit(T0 + 10, T0 + 11, file, base, old, new)
    return tr.save(tmp_path / "a.jsonl")


def _import(repo, *paths) -> dict:
    proc = repo.ot("import", "claude-code", *map(str, paths), "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)


def _line(session: str, step: int, hunk: str, path: str, lines: list[int]) -> dict:
    return {"v": 1, "session": session, "step": step, "hunk": hunk, "path": path, "lines": lines,
            "harness": "claude-code", "model": MODEL}


def _blame_json(repo, path: str) -> list[tuple]:
    out = repo.cli_json("blame", path)
    return [(ln["content"], ln["trivial"], ln["attribution"]["kind"]) for ln in out["lines"]]


def test_trivial_lines_alone_name_no_session(repo, tmp_path, monkeypatch):
    # The session writes a function; the human, outside every window,
    # rewrites its name and body and keeps its `return nil` and brace.
    path = _one_edit(repo, tmp_path, "add a loader", IMPORT,
                     IMPORT + '\nfunc load() error {\n\tfmt.Println("loading the cache")\n\treturn nil\n}\n')
    repo.write("app.go", BASE + '\nfunc save() error {\n\tfmt.Println("saving every record")\n'
                                '\treturn nil\n}\n')
    c = _commit(repo, monkeypatch, "save, by hand")

    out = _import(repo, path)
    # Its window aligned with `return nil` and `}`, and nothing else: the
    # commit names no session, and the lines follow their neighbours.
    assert out["anchored"] == []
    shown = repo.cli_json("blame", "commit", c)
    assert shown["sessions"] == []
    assert shown["lines"]["agent"] == 0
    assert _blame_json(repo, "app.go")[3:] == [
        ("", True, "human"), ("func save() error {", False, "human"),
        ('\tfmt.Println("saving every record")', False, "human"),
        ("\treturn nil", True, "human"), ("}", True, "human")]


def test_two_checkouts_interleaved_keep_their_own_lines(repo, tmp_path, monkeypatch):
    set_up(repo, False)
    repo.write("app.go", BASE)
    repo.commit("base")
    # Two checkouts of the project, each on its branch, each with a session
    # editing app.go from the base in turns: A, B, A again.
    one, two = "/home/dev/src/" + repo.path.name, "/home/dev/wt/feature-b"
    load = '\nfunc load() error {\n\treturn fmt.Errorf("no loader yet")\n}\n'
    load2 = '\nfunc load() error {\n\treturn fmt.Errorf("no loader yet: %d", 1)\n}\n'
    save = '\nfunc save() error {\n\treturn fmt.Errorf("no saver yet")\n}\n'
    a = Transcript(one, A)
    a.prompt(T0, "add a loader")
    a.edit(T0 + 10, T0 + 11, "app.go", BASE, 'import "fmt"\n', 'import "fmt"\n' + load)
    b = Transcript(two, B)
    b.prompt(T0 + 20, "add a saver")
    b.edit(T0 + 30, T0 + 31, "app.go", BASE, 'import "fmt"\n', 'import "fmt"\n' + save)
    a.edit(T0 + 40, T0 + 41, "app.go", BASE + load, '"no loader yet")', '"no loader yet: %d", 1)')
    paths = [a.save(tmp_path / "a.jsonl"), b.save(tmp_path / "b.jsonl")]
    # Both branches merged by hand into one commit here.
    repo.write("app.go", BASE + load2 + save)
    c = _commit(repo, monkeypatch, "loader and saver")

    out = _import(repo, *paths)
    assert out["anchored"] == [c]
    # Each session keeps the lines it wrote in its checkout; the other
    # checkout's states in between change nothing of them. Both wrote a
    # blank line 4 (each before its function): that one is ambiguous; the
    # blank line 8 came from merging the two, by hand.
    assert note(repo) == [
        {"v": 1, "path": "app.go", "lines": [4, 4], "unattributed": "ambiguous",
         "candidates": [f"{A}:2", f"{B}:2"]},
        _line(A, 2, "2.1.1", "app.go", [5, 5]),
        _line(A, 2, "2.1.1", "app.go", [7, 7]),
        _line(A, 3, "3.1.1", "app.go", [6, 6]),
        _line(B, 2, "2.1.1", "app.go", [9, 11])]
    wrote_load = agent_line(A, 2, "2.1.1", "add a loader", 1, MODEL)
    fixed_load = agent_line(A, 3, "3.1.1", "add a loader", 1, MODEL)
    wrote_save = agent_line(B, 2, "2.1.1", "add a saver", 1, MODEL)
    assert [who for _, who in blame(repo, "app.go")[4:]] == [
        wrote_load, fixed_load, wrote_load, HUMAN, wrote_save, wrote_save, wrote_save]


def test_a_session_moving_between_checkouts_maps_each_edit_where_it_was(repo, tmp_path, monkeypatch):
    set_up(repo, False)
    repo.write("app.go", BASE)
    repo.write("cmd/main.go", "package main\n")
    repo.commit("base")
    # The session starts in one checkout, goes into a folder of it, then
    # moves to a linked worktree of another name and edits there.
    one, two = "/home/dev/src/" + repo.path.name, "/home/dev/wt/hotfix"
    tr = Transcript(one, A)
    tr.prompt(T0, "log the start, then fix main")
    tr.edit(T0 + 10, T0 + 11, "app.go", BASE, 'import "fmt"\n',
            'import "fmt"\n\nfunc start() {\n\tfmt.Println("starting the service")\n}\n', cwd=one + "/cmd")
    tr.edit(T0 + 20, T0 + 21, "cmd/main.go", "package main\n", "package main\n",
            'package main\n\nfunc main() {\n\tprintln("hotfix for the service")\n}\n', root=two)
    path = tr.save(tmp_path / "a.jsonl")
    repo.write("app.go", BASE + '\nfunc start() {\n\tfmt.Println("starting the service")\n}\n')
    repo.write("cmd/main.go", 'package main\n\nfunc main() {\n\tprintln("hotfix for the service")\n}\n')
    c = _commit(repo, monkeypatch, "start and hotfix")

    out = _import(repo, path)
    assert out["anchored"] == [c]
    assert note(repo) == [_line(A, 2, "2.1.1", "app.go", [4, 7]),
                          _line(A, 3, "3.1.1", "cmd/main.go", [2, 5])]


def test_a_branchs_work_committed_elsewhere_keeps_its_writer(repo, tmp_path, monkeypatch):
    set_up(repo, False)
    repo.write("app.go", BASE)
    repo.commit("base")
    # In another checkout, a session writes a loader on a feature branch;
    # the checkout then goes back to main (app.go as the base again, by
    # git), where a later session documents the package. The feature's
    # work is committed here, later (a rebase, a squash): the commit holds
    # the loader and not the comment.
    other = "/home/dev/src/cli"
    load = '\nfunc load() error {\n\treturn fmt.Errorf("no loader yet")\n}\n'
    a = Transcript(other, A, branch="fix/loader")
    a.prompt(T0, "add a loader")
    a.edit(T0 + 10, T0 + 11, "app.go", BASE, IMPORT, IMPORT + load)
    a.branch = "main"
    a.say(T0 + 20, "switched back to main")
    b = Transcript(other, B, branch="main")
    b.prompt(T0 + 30, "document the package")
    b.edit(T0 + 40, T0 + 41, "app.go", BASE, "package app\n",
           "// Package app loads the settings.\npackage app\n")
    paths = [a.save(tmp_path / "a.jsonl"), b.save(tmp_path / "b.jsonl")]
    repo.write("app.go", BASE + load)
    c = _commit(repo, monkeypatch, "loader")

    out = _import(repo, *paths)
    # The checkout's states on main (the comment) are another timeline than
    # the branch's: the loader's lines are the session's that wrote them,
    # not taken out by the switch and put back by no one known.
    assert out["anchored"] == [c]
    assert note(repo) == [_line(A, 2, "2.1.1", "app.go", [4, 7])]
    shown = repo.cli_json("blame", "commit", c)
    assert [(s["session"], s["lines"]) for s in shown["sessions"]] == [(A, 4)]
    # The trail keeps the branch on the step's partial snapshots.
    trail = read_records(repo, A)["trail"]
    assert {k: (v.get("branch"), v.get("partial")) for k, v in trail["snapshots"].items()} == {
        "2-before": ("fix/loader", True), "2-after": ("fix/loader", True)}
    check_against_schemas(repo, A)


def test_a_branchs_work_squashed_on_a_server_keeps_its_writer(repo, tmp_path, monkeypatch):
    from support.repo import git

    set_up(repo, False)
    repo.write("app.go", BASE)
    repo.commit("base")
    # In this worktree, with no hook: a session writes a loader on a fix
    # branch, committed there; back on main, another documents the package,
    # committed too. The fix branch is squash-merged on a server, and the
    # squash fetched: made when this worktree was on main, with the comment.
    here = str(repo.path)
    load = '\nfunc load() error {\n\treturn fmt.Errorf("no loader yet")\n}\n'
    doc = "// Package app loads the settings.\n"
    repo.git("checkout", "-q", "-b", "fix/loader")
    a = Transcript(here, A, branch="fix/loader")
    a.prompt(T0, "add a loader")
    a.edit(T0 + 10, T0 + 11, "app.go", BASE, IMPORT, IMPORT + load)
    repo.write("app.go", BASE + load)
    monkeypatch.setenv("GIT_COMMITTER_DATE", f"{T0 + 100} +0000")
    repo.commit("loader")
    repo.git("checkout", "-q", "main")
    b = Transcript(here, B, branch="main")
    b.prompt(T0 + 200, "document the package")
    b.edit(T0 + 210, T0 + 211, "app.go", BASE, "package app\n", doc + "package app\n")
    repo.write("app.go", doc + BASE)
    monkeypatch.setenv("GIT_COMMITTER_DATE", f"{T0 + 300} +0000")
    repo.commit("package comment")
    server, elsewhere = tmp_path / "server.git", tmp_path / "elsewhere"
    git(tmp_path, "init", "-q", "--bare", str(server))
    repo.git("push", "-q", str(server), "main", "fix/loader")
    git(tmp_path, "clone", "-q", str(server), str(elsewhere))
    monkeypatch.setenv("GIT_COMMITTER_DATE", f"{T0 + 400} +0000")
    git(elsewhere, "merge", "-q", "--squash", "origin/fix/loader")
    git(elsewhere, "commit", "-q", "-m", "loader (#1)")
    git(elsewhere, "push", "-q", "origin", "main")
    repo.git("pull", "-q", "--ff-only", str(server), "main")
    squash, documented = head(repo), repo.git("rev-parse", "HEAD~1").strip()

    out = _import(repo, a.save(tmp_path / "a.jsonl"), b.save(tmp_path / "b.jsonl"))
    # This worktree's states on main (the comment, then the squash) lack
    # the loader: walked on the fix branch's states, it is the session's.
    assert out["anchored"] == [documented, squash]
    assert note(repo, documented) == [_line(B, 2, "2.1.1", "app.go", [1, 1])]
    assert note(repo, squash) == [_line(A, 2, "2.1.1", "app.go", [5, 8])]
    assert repo.cli_json("blame", "commit", squash)["lines"] == {
        "introduced": 4, "agent": 4, "moved": 0, "unknown": 0, "human": 0, "alive_at_head": 4}


# -- a formatter over agent code ----------------------------------------------

AGENT_CODE = (
    "def total(items,tax):\n"
    "    subtotal=sum(item['price']*item['quantity'] for item in items)\n"
    "    report=format_report(title='Quarterly totals',rows=items,currency='EUR',show_tax=True,footer=None)\n"
    "    return round(subtotal*(1+tax),2),report\n"
)


def _track(repo) -> list[tuple]:
    out = repo.cli_json("track")
    return [(h["hunk"], h["state"], h["lines"]["landed"], h["lines"]["alive"])
            for s in out["sessions"] for h in s["hunks"]]


def test_black_over_agent_code_keeps_it_alive_transformed(repo):
    black = pytest.importorskip("black")
    set_up(repo, True)
    one_turn(repo, "s-fmt", "calc.py", AGENT_CODE, "add a total")
    repo.commit("total")
    assert _track(repo) == [("2.1.1", "alive_on_path", 4, 4)]
    formatted = black.format_str(AGENT_CODE, mode=black.Mode())
    # black rewrote every line: spaces, quotes, the long call wrapped.
    assert formatted.count("\n") == 6 and not set(formatted.splitlines()) & set(AGENT_CODE.splitlines())
    repo.write("calc.py", formatted)
    repo.git("commit", "-q", "-am", "black")
    assert _track(repo) == [("2.1.1", "alive_transformed", 4, 4)]


def test_reindented_and_rewrapped_by_hand_is_alive_transformed(repo):
    set_up(repo, True)
    code = ("def greet(name):\n"
            "    message = compose_greeting(name, salutation='Dear', closing='Kind regards')\n"
            "    return message.strip()\n")
    one_turn(repo, "s-fmt", "greet.py", code, "greet")
    repo.commit("greet")
    # Two-space indentation, the long call wrapped by hand.
    repo.write("greet.py", "def greet(name):\n"
                           "  message = compose_greeting(\n"
                           "      name, salutation='Dear', closing='Kind regards')\n"
                           "  return message.strip()\n")
    repo.git("commit", "-q", "-am", "reflow")
    assert _track(repo) == [("2.1.1", "alive_transformed", 3, 3)]
    # A real change is no reformatting: the line is gone. (A wrapped line
    # is followed through its first piece.)
    repo.write("greet.py", "def greet(name):\n"
                           "  message = build_greeting(\n"
                           "      name, salutation='Dear', closing='Kind regards')\n"
                           "  return message.strip()\n")
    repo.git("commit", "-q", "-am", "hello")
    assert _track(repo) == [("2.1.1", "alive_transformed", 3, 2)]


# -- a real session ------------------------------------------------------------

ENTIRE = FIXTURES / "claude-code" / "entireio-cli"
REAL = "bc3bf53b-19fe-4209-b30a-a1acffaf6703"


def test_a_real_session_credited_by_its_significant_line_alone(repo, monkeypatch):
    """entireio/cli (MIT): a session that bumped Go in go.mod and mise.toml
    in its author's checkout; the commit that took the bump (8c3007ff,
    linked to it by its Entire-Checkpoint trailer) was made in another."""
    set_up(repo, False)
    originals = {}
    for line in (ENTIRE / f"{REAL}.jsonl").read_text().splitlines():
        obj = json.loads(line)
        result = obj.get("toolUseResult")
        if isinstance(result, dict) and "originalFile" in result:
            originals[result["filePath"].rsplit("/", 1)[1]] = result["originalFile"]
    assert sorted(originals) == ["go.mod", "mise.toml"]
    for name, text in originals.items():
        repo.write(name, text)
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2026-01-28T21:00:00Z")
    monkeypatch.setenv("GIT_AUTHOR_DATE", "2026-01-28T21:00:00Z")
    repo.commit("go 1.25.5")
    for name, text in originals.items():
        repo.write(name, text.replace("1.25.5", "1.25.6"))
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2026-01-28T21:54:36Z")
    monkeypatch.setenv("GIT_AUTHOR_DATE", "2026-01-28T21:54:36Z")
    repo.commit("update to go 1.25.6")

    out = _import(repo, ENTIRE / f"{REAL}.jsonl")
    assert out["anchored"] == [head(repo)]
    # mise.toml's new line is the session's; go.mod's `go 1.25.6` is a line
    # any writer would write, alone in its file: unknown.
    assert note(repo) == [
        {"v": 1, "path": "go.mod", "lines": [3, 3], "unattributed": "unknown"},
        {"v": 1, "session": REAL, "step": 16, "hunk": "16.1.1", "path": "mise.toml", "lines": [3, 3],
         "harness": "claude-code", "model": "claude-opus-4-5-20251101"}]
    assert [(c, t) for c, t, _ in _blame_json(repo, "go.mod")[2:3]] == [("go 1.25.6", True)]


# -- re-indented lines keep their writer ----------------------------------------

BODY = ('\tpath, err := resolveTranscriptPath(sessionID)\n'
        '\tfmt.Println("resolved the transcript", path, err)\n')
LOAD = '\nfunc load(sessionID string) {\n' + BODY + '}\n'
WRAPPED = ('\tif cached := lookupTranscriptCache(sessionID); cached == "" {\n'
           + "".join("\t" + ln + "\n" for ln in BODY.splitlines()) + "\t}\n")


def test_a_later_session_wrapping_a_block_in_an_if_leaves_the_block_its_writer(repo, tmp_path, monkeypatch):
    set_up(repo, False)
    repo.write("app.go", BASE)
    repo.commit("base")
    # One checkout: a session writes a function; a later one wraps its body
    # in an `if`, which re-indents it, and writes nothing else of it.
    one = "/home/dev/src/" + repo.path.name
    a = Transcript(one, A)
    a.prompt(T0, "add a loader")
    a.edit(T0 + 10, T0 + 11, "app.go", BASE, 'import "fmt"\n', 'import "fmt"\n' + LOAD)
    b = Transcript(one, B)
    b.prompt(T0 + 20, "look in the cache first")
    b.edit(T0 + 30, T0 + 31, "app.go", BASE + LOAD, BODY, WRAPPED)
    paths = [a.save(tmp_path / "a.jsonl"), b.save(tmp_path / "b.jsonl")]
    repo.write("app.go", BASE + '\nfunc load(sessionID string) {\n' + WRAPPED + '}\n')
    c = _commit(repo, monkeypatch, "loader, cached")

    out = _import(repo, *paths)
    assert out["anchored"] == [c]
    # The body's lines 7-8 are the first session's, as `git blame -w` sees
    # them; the second wrote the `if` (its brace 9, alone between the two
    # sessions' lines, tells nothing).
    assert note(repo) == [
        {"v": 1, "path": "app.go", "lines": [9, 9], "unattributed": "unknown"},
        _line(A, 2, "2.1.1", "app.go", [10, 10]),
        _line(A, 2, "2.1.1", "app.go", [4, 5]),
        _line(A, 2, "2.1.1", "app.go", [7, 8]),
        _line(B, 2, "2.1.1", "app.go", [6, 6])]


def test_a_block_reindented_by_hand_stays_the_sessions(repo, tmp_path, monkeypatch):
    path = _one_edit(repo, tmp_path, "add a loader", IMPORT, IMPORT + LOAD)
    # The human wraps the body in an `if`, by hand, and commits.
    repo.write("app.go", BASE + '\nfunc load(sessionID string) {\n' + WRAPPED + '}\n')
    c = _commit(repo, monkeypatch, "loader, cached")

    out = _import(repo, path)
    assert out["anchored"] == [c]
    # The `if` and its brace (6, 9) are the human's; the re-indented body
    # is still the session's.
    assert note(repo) == [
        _line(A, 2, "2.1.1", "app.go", [10, 10]),
        _line(A, 2, "2.1.1", "app.go", [4, 5]),
        _line(A, 2, "2.1.1", "app.go", [7, 8])]


# -- a short line another checkout also wrote -------------------------------------

TESTS = 'package app\n\nimport "testing"\n\nfunc TestLoad(t *testing.T) {\n\tcheckLoad(t, "fixtures/cache.json")\n}\n'
OTHER_CHECKOUT = "/home/dev/wt/parallel-tests"
PARALLEL = TESTS.replace("{\n\tcheckLoad", "{\n\tt.Parallel()\n\tcheckLoad")


def test_a_short_line_another_checkout_also_wrote_names_no_session(repo, tmp_path, monkeypatch):
    # In another checkout a session adds `t.Parallel()` to the test; here
    # the human makes the same one-line change by hand, on main.
    path = _one_edit(repo, tmp_path, "run the tests in parallel", "{\n\tcheckLoad",
                     "{\n\tt.Parallel()\n\tcheckLoad", "app_test.go", TESTS, OTHER_CHECKOUT)
    repo.write("app_test.go", PARALLEL)
    c = _commit(repo, monkeypatch, "tests in parallel")

    _import(repo, path)
    # Nine letters, paired with the other checkout's line by text and place
    # alone: too few to tell (git pairs a block of 20 or more); unknown.
    shown = repo.cli_json("blame", "commit", c)
    assert shown["sessions"] == []
    assert shown["lines"]["agent"] == 0


def test_a_short_change_with_a_long_line_stays_the_sessions(repo, tmp_path, monkeypatch):
    longer = '{\n\tt.Parallel()\n\tt.Setenv("CACHE_DIR", t.TempDir())\n\tcheckLoad'
    path = _one_edit(repo, tmp_path, "run the tests in parallel", "{\n\tcheckLoad", longer,
                     "app_test.go", TESTS, OTHER_CHECKOUT)
    repo.write("app_test.go", TESTS.replace("{\n\tcheckLoad", longer))
    c = _commit(repo, monkeypatch, "tests in parallel")

    _import(repo, path)
    # The two lines make one run of 36 letters and digits: the session's.
    assert note(repo) == [_line(A, 2, "2.1.1", "app_test.go", [6, 7])]
    assert [s["session"] for s in repo.cli_json("blame", "commit", c)["sessions"]] == [A]


# -- a block copied elsewhere keeps its writer ------------------------------------

STORE = ('\nfunc store(repo *Repo, content []byte) error {\n'
         '\thash, err := createBlobFromContent(repo, content)\n'
         '\tif err != nil {\n\t\treturn err\n\t}\n\treturn repo.link(hash)\n}\n')
STORE_ALL = ('\nfunc storeAll(repo *Repo, files [][]byte) error {\n'
             '\tfor _, content := range files {\n'
             '\t\thash, err := createBlobFromContent(repo, content)\n'
             '\t\tif err != nil {\n\t\t\treturn err\n\t\t}\n'
             '\t\tif err := repo.linkAll(hash); err != nil {\n\t\t\treturn err\n\t\t}\n'
             '\t}\n\treturn nil\n}\n')


def test_a_line_copied_by_hand_and_reindented_stays_the_sessions(repo, tmp_path, monkeypatch):
    path = _one_edit(repo, tmp_path, "store a file", IMPORT, IMPORT + STORE)
    repo.write("app.go", BASE + STORE)
    monkeypatch.setenv("GIT_COMMITTER_DATE", "1700000500 +0000")
    monkeypatch.setenv("GIT_AUTHOR_DATE", "1700000500 +0000")
    repo.commit("store")
    # Later the human copies the session's call into a loop, re-indented,
    # and keeps the original where it is.
    repo.write("app.go", BASE + STORE + STORE_ALL)
    c = _commit(repo, monkeypatch, "store them all")

    _import(repo, path)
    # Line 15, the copy, is the session's, as `git blame -M` pairs a copied
    # line of 20 letters and digits or more; the rest is the human's.
    assert note(repo, c) == [_line(A, 2, "2.1.1", "app.go", [15, 15])]


# -- a line a session's edit only moved keeps its writer ---------------------------

REPORT = ('\nfunc report(w io.Writer, st *State) {\n\tage := timeAgo(st.StartedAt)\n'
          '\tfmt.Fprintln(w, st.SessionID)\n\tfmt.Fprintln(w, st.WorktreePath)\n}\n')
REPORT_BODY = '\tage := timeAgo(st.StartedAt)\n\tfmt.Fprintln(w, st.SessionID)\n\tfmt.Fprintln(w, st.WorktreePath)\n'
REPORT_EDITED = ('\tfmt.Fprintln(w, st.SessionID)\n\tfmt.Fprintln(w, st.WorktreePath)\n'
                 '\tage := timeAgo(st.StartedAt)\n\tfmt.Fprintln(w, "started " + age)\n')


def test_a_line_a_session_only_moved_stays_its_writers(repo, tmp_path, monkeypatch):
    # The human's function; the session's edit rewrites its body, taking the
    # human's `age :=` line from the top to below the two prints (git's diff
    # keeps the prints), and adds one line of its own.
    path = _one_edit(repo, tmp_path, "print the age last", REPORT_BODY, REPORT_EDITED, base=BASE + REPORT)
    repo.write("app.go", BASE + REPORT.replace(REPORT_BODY, REPORT_EDITED))
    c = _commit(repo, monkeypatch, "age last")
    # git's diff takes the line out and puts it back: the commit introduces it.
    assert [ln for ln in repo.git("diff", "HEAD~1", "HEAD").splitlines() if ln[:1] in "+-"][2:] == [
        "-\tage := timeAgo(st.StartedAt)", "+\tage := timeAgo(st.StartedAt)",
        '+\tfmt.Fprintln(w, "started " + age)']

    _import(repo, path)
    # Line 8 is the human's line, moved, as `git diff --color-moved` sees it
    # (one line of its text removed, one added, 21 letters and digits); the
    # session wrote line 9 alone.
    assert note(repo, c) == [_line(A, 2, "2.1.2", "app.go", [9, 9])]
    shown = repo.cli_json("blame", "commit", c)
    assert shown["lines"] == {"introduced": 2, "agent": 1, "moved": 0, "unknown": 0, "human": 1,
                              "alive_at_head": 1}


# -- a session a /clear started continues the conversation's last one -----------------

PLANNER = "4c1d2c3b-0000-4000-8000-00000000000c"
OTHER = "4d1d2c3b-0000-4000-8000-00000000000d"
LATER = "4e1d2c3b-0000-4000-8000-00000000000e"
SAVER = '\nfunc save() error {\n\treturn fmt.Errorf("no saver yet")\n}\n'
LOADER = '\nfunc load() error {\n\treturn fmt.Errorf("no loader yet")\n}\n'


def test_a_session_a_clear_started_names_the_session_it_continues(repo, tmp_path, monkeypatch):
    # As in Claude Code 2.1.3x: the planner makes a plan; accepting it with
    # the context cleared starts B, of the same conversation (`slug`), which
    # writes the code. A SessionStart hook's line says how each started.
    set_up(repo, False)
    repo.write("app.go", BASE)
    repo.commit("base")
    cwd = "/home/dev/src/" + repo.path.name
    planner = Transcript(cwd, PLANNER, slug="nifty-sniffing-pelican")
    planner.started(T0, "startup")
    planner.prompt(T0 + 1, "plan a loader")
    planner.say(T0 + 2, "Plan: add load() to app.go.")
    b = Transcript(cwd, B, slug="nifty-sniffing-pelican")
    b.started(T0 + 100, "clear")
    b.prompt(T0 + 101, "Implement the following plan:\n\nPlan: add load() to app.go.")
    b.edit(T0 + 110, T0 + 111, "app.go", BASE, IMPORT, IMPORT + LOADER)
    # Cleared from a session that is not here: it continues none.
    other = Transcript(cwd, OTHER, slug="other-quiet-otter")
    other.started(T0 + 200, "clear")
    other.prompt(T0 + 201, "add a saver")
    other.edit(T0 + 210, T0 + 211, "app.go", BASE + LOADER, LOADER, LOADER + SAVER)
    # The same conversation resumed after B: not what B continues.
    later = Transcript(cwd, LATER, slug="nifty-sniffing-pelican")
    later.started(T0 + 300, "resume")
    later.prompt(T0 + 301, "anything left?")
    paths = [t.save(tmp_path / f"{t.session[:2]}.jsonl") for t in (planner, b, other, later)]
    repo.write("app.go", BASE + LOADER + SAVER)
    c = _commit(repo, monkeypatch, "loader and saver")

    assert _import(repo, *paths)["anchored"] == [c]
    listed = repo.cli_json("trace", "list")["sessions"]
    assert sorted((r["session"], r["slug"], r["started_by"], r["continues"]) for r in listed) == [
        (B, "nifty-sniffing-pelican", "clear", PLANNER),
        (PLANNER, "nifty-sniffing-pelican", "startup", None),
        (OTHER, "other-quiet-otter", "clear", None), (LATER, "nifty-sniffing-pelican", "resume", None)]
    assert repo.cli_json("trace", "show", B)["session"]["continues"] == PLANNER
    assert repo.cli("trace", "show", B).stdout.decode().splitlines()[2] == \
        f"continues session {PLANNER} (after a /clear)"
    shown = repo.cli_json("blame", "commit", c)
    assert [(s["session"], s["continues"], s["lines"]) for s in shown["sessions"]] == [
        (B, PLANNER, 4), (OTHER, None, 4)]
    text = repo.cli("blame", "commit", c).stdout.decode().splitlines()
    b_at = text.index(f"session {B}  claude-code  model {MODEL}")
    assert text[b_at + 1:b_at + 3] == [f"  continues session {PLANNER} (after a /clear)",
                                       "  prompt 1: Implement the following plan: Plan: add load() to app.go."]
    other_at = text.index(f"session {OTHER}  claude-code  model {MODEL}")
    assert text[other_at + 1] == "  prompt 1: add a saver"
    # The pull request's report names it too.
    report = repo.cli_json("blame", "pr", "HEAD~1..HEAD")
    assert [(s["session"], s["continues"]) for s in report["sessions"]] == [(B, PLANNER), (OTHER, None)]
    md = repo.cli("blame", "pr", "HEAD~1..HEAD").stdout.decode().splitlines()
    assert [ln.split(" | ")[0] for ln in md if ln.startswith("| `4")] == [
        f"| `{B}` (continues `{PLANNER}`)", f"| `{OTHER}`"]
