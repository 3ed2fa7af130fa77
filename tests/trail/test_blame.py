"""`git ot blame`: the formats, -L, renames, uncommitted lines, `blame commit`, errors."""

from __future__ import annotations

import json

import pytest

from git_ot.store.blame_prestart import guess
from support.trail import HUMAN, MODEL, NOT_ANCHORED, one_turn, agent_line, blame, head, note, set_up

BASE = 'def greet(name):\n    return "hi " + name\n'


def _setup(repo):
    """init; the agent adds two lines, the human one; one commit."""
    repo.cli_json("init")
    a = one_turn(repo, "265a3953-3ae5-4217-ac1f-2e0725711a3c", "app.py", BASE + 'def farewell(name):\n    return "bye " + name\n', "add a farewell function that says goodbye politely to the person named")
    repo.write("app.py", (repo.path / "app.py").read_text() + "# end\n")
    repo.git("commit", "-q", "-am", "farewell")
    return a.session


def test_human_output_is_git_blames_with_a_column(repo):
    sid = _setup(repo)
    first = repo.git("rev-list", "--max-parents=0", "HEAD").strip()
    commit = head(repo)
    proc = repo.ot("blame", "app.py")
    assert proc.returncode == 0, proc.stderr
    who = f"265a3953:2 claude-code/{MODEL} add a farewell function that says goodbye polit..."
    width = len(who)
    date = "2023-11-14 22:13:20 +0000"
    assert proc.stdout.decode().splitlines() == [
        f"^{first[:7]} (A U Thor {date} 1) {'unknown':<{width}} def greet(name):",
        f"^{first[:7]} (A U Thor {date} 2) {'unknown':<{width}}     return \"hi \" + name",
        f"{commit[:8]} (A U Thor {date} 3) {who} def farewell(name):",
        f"{commit[:8]} (A U Thor {date} 4) {who}     return \"bye \" + name",
        f"{commit[:8]} (A U Thor {date} 5) {'human':<{width}} # end",
    ]
    assert sid.startswith("265a3953")


def test_json_has_one_object_per_line(repo):
    sid = _setup(repo)
    commit = head(repo)
    out = repo.cli_json("blame", "app.py", "-L", "3,5")
    prompt = "add a farewell function that says goodbye polit..."
    assert out == {"path": "app.py", "rev": None, "lines": [
        {"line": 3, "commit": commit, "orig_line": 3, "path": "app.py", "author": "A U Thor",
         "content": "def farewell(name):", "trivial": False,
         "attribution": agent_line(sid, 2, "2.1.1", prompt, 1)},
        {"line": 4, "commit": commit, "orig_line": 4, "path": "app.py", "author": "A U Thor",
         "content": '    return "bye " + name', "trivial": False,
         "attribution": agent_line(sid, 2, "2.1.1", prompt, 1)},
        {"line": 5, "commit": commit, "orig_line": 5, "path": "app.py", "author": "A U Thor",
         "content": "# end", "trivial": True, "attribution": HUMAN},
    ]}


def test_porcelain_is_gits_with_ot_headers(repo):
    sid = _setup(repo)
    proc = repo.ot("blame", "--porcelain", "-L", "4,5", "app.py", "HEAD")
    assert proc.returncode == 0, proc.stderr
    ours = proc.stdout.decode().splitlines()
    theirs = repo.git("blame", "--porcelain", "-L", "4,5", "HEAD", "--", "app.py").splitlines()
    # Removing the ot-* lines gives git's own output back, byte for byte.
    assert [line for line in ours if not line.startswith("ot-")] == theirs
    assert [line for line in ours if line.startswith("ot-")] == [
        "ot-kind agent", f"ot-session {sid}", "ot-step 2", "ot-hunk 2.1.1", "ot-harness claude-code",
        f"ot-model {MODEL}", "ot-prompt add a farewell function that says goodbye polit...",
        "ot-kind human",
    ]


def test_renames_are_followed_and_moves_with_M(repo):
    sid = _setup(repo)
    repo.git("mv", "app.py", "greetings.py")
    repo.git("commit", "-q", "-m", "rename")
    got = repo.cli_json("blame", "greetings.py")["lines"]
    assert [(ln["path"], ln["attribution"]["kind"]) for ln in got] == [
        ("app.py", "unknown"), ("app.py", "unknown"), ("app.py", "agent"), ("app.py", "agent"),
        ("app.py", "human")]
    assert {ln["attribution"].get("session") for ln in got if ln["attribution"]["kind"] == "agent"} == {sid}
    # Move the farewell to the top by hand: plain blame calls it new, -M follows it.
    text = (repo.path / "greetings.py").read_text().splitlines(keepends=True)
    repo.write("greetings.py", "".join(text[2:4] + text[:2] + text[4:]))
    repo.git("commit", "-q", "-am", "move")
    # git's diff keeps the farewell and re-adds greet below it: without -M the
    # two greet lines are the move commit's (by hand), with -M their origin's.
    assert [a["kind"] for _, a in blame(repo, "greetings.py")] == [
        "agent", "agent", "human", "human", "human"]
    assert [a["kind"] for _, a in blame(repo, "greetings.py", "-M")] == [
        "agent", "agent", "unknown", "unknown", "human"]


def test_blame_commit_counts_a_hunk_held_in_two_ranges_once(repo):
    # The agent writes four lines in one hunk; the human rewrites the second
    # before committing: the note holds the hunk as two ranges.
    repo.cli_json("init")
    body = ['def farewell(name):', '    message = "bye " + name', '    print(message)', '    return message']
    a = one_turn(repo, "3b0e5a1c-7d2f-4e8a-9c61-0d4b8f2a6e19", "app.py", BASE + "\n".join(body) + "\n")
    repo.write("app.py", (repo.path / "app.py").read_text().replace('"bye "', '"ciao "'))
    repo.git("commit", "-q", "-am", "farewell")
    out = repo.cli_json("blame", "commit", "HEAD")
    [s] = out["sessions"]
    assert [h["lines"] for st in s["steps"] for h in st["hunks"]] == [[3, 3], [5, 6]]
    assert (s["session"], s["lines"], s["alive"]) == (a.session, 3, 3)
    assert out["lines"] == {"introduced": 4, "agent": 3, "moved": 0, "unknown": 0, "human": 1,
                            "alive_at_head": 3}


BODY = "".join(f"# configuration line number {i} of the module\n" for i in range(8))
FAREWELL = ['def farewell(name):', '    message = "goodbye, dear " + name + ", and thank you"',
            '    return message.upper() + " and see you again soon, " + name']
MOVER = "0d6c1f0e-2b4a-4c8e-9e3a-5f7b1d2c4a60"


def _farewell_below(repo, hooks: bool = True) -> str:
    """The person's eight lines, committed; the agent adds its farewell below them."""
    set_up(repo, hooks)
    repo.write("app.py", BODY)
    repo.commit("body")
    one_turn(repo, MOVER, "app.py", BODY + "\n".join(FAREWELL) + "\n", "add a farewell below the configuration")
    return repo.commit("farewell")


def test_blame_commit_keeps_the_writer_of_lines_a_person_moved(repo, hooks):
    c = _farewell_below(repo, hooks)
    # By hand, the farewell goes above the configuration: git's diff removes
    # it below and adds it above.
    repo.write("app.py", "\n".join(FAREWELL) + "\n" + BODY)
    m = repo.commit("farewell first")
    out = repo.cli_json("blame", "commit", m)
    # Without hooks the note is read as they would have written it.
    assert (out["anchored"], out["recomputed"]) == (True, not hooks)
    assert out["lines"] == {"introduced": 3, "agent": 3, "moved": 3, "unknown": 0, "human": 0,
                            "alive_at_head": 3}
    [s] = out["sessions"]
    assert (s["session"], s["lines"], s["moved"], s["alive"]) == (MOVER, 3, 3, 3)
    [step] = s["steps"]
    assert (step["step"], step["lines"], step["moved"], step["alive"], step["tool"]) == (2, 3, 3, 3, "Edit")
    assert step["hunks"] == [{"hunk": "2.1.1", "path": "app.py", "lines": [1, 3], "moved_from": c}]
    assert out["files"] == [{"path": "app.py", "runs": [
        {"lines": [1, 3], "kind": "agent", "session": MOVER, "step": 2, "harness": "claude-code",
         "model": MODEL, "moved_from": c}]}]
    recomputed = [] if hooks else [
        "(the commit has no note: read as the hooks would have written it; 'git ot anchor' writes it)"]
    assert repo.ot("blame", "commit", m).stdout.decode().splitlines() == [
        f"commit {m}",
        "    farewell first",
        "lines introduced 3: agent 3 (3 moved here), human 0, unknown 0; agent lines alive at HEAD 3",
        *recomputed,
        "",
        f"session {MOVER}  claude-code  model {MODEL}",
        "  prompt 1: add a farewell below the configuration",
        f"    step 2 Edit: 3 lines (3 moved here, 3 alive) app.py:1-3 (moved from {c[:12]})",
        "        patch M app.py +3 -0",
    ]
    # The file's blame with -M says the same of those lines.
    assert [a.get("session") for _, a in blame(repo, "app.py", "-M")[:3]] == [MOVER] * 3
    # The commit that wrote them still names them its own, not moved.
    assert repo.cli_json("blame", "commit", c)["lines"]["moved"] == 0


def test_blame_commit_keeps_the_writer_of_lines_a_person_reindented(repo, hooks):
    c = _farewell_below(repo, hooks)
    repo.write("app.py", BODY + "if ENABLED:\n" + "".join("    " + ln + "\n" for ln in FAREWELL))
    m = repo.commit("farewell when enabled")
    out = repo.cli_json("blame", "commit", m)
    agent = {"kind": "agent", "session": MOVER, "step": 2, "harness": "claude-code", "model": MODEL}
    # The note (the hook's, or read as the hook would have written it) gives
    # re-indented lines their writer already.
    assert out["lines"] == {"introduced": 4, "agent": 3, "moved": 0, "unknown": 0, "human": 1,
                            "alive_at_head": 3}
    assert out["files"][0]["runs"] == [{"lines": [9, 9], "kind": "human"}, {"lines": [10, 12], **agent}]
    # `git ot blame -w` is git blame -w: the re-indented lines' commit is the agent's.
    assert [ln["commit"] for ln in repo.cli_json("blame", "app.py", "-w")["lines"][8:]] == [m, c, c, c]
    assert [ln["commit"] for ln in repo.cli_json("blame", "app.py")["lines"][8:]] == [m, m, m, m]


def test_blame_commit_carries_no_single_line_found_elsewhere(repo):
    # One line of the agent's, moved alone (an import, a common call would be
    # found as easily elsewhere): the person's, as the note says.
    _farewell_below(repo)
    lines = BODY.splitlines(keepends=True)
    repo.write("app.py", "".join(lines[:2]) + FAREWELL[1].strip() + "\n" + "".join(lines[2:])
               + FAREWELL[0] + "\n" + FAREWELL[2] + "\n")
    m = repo.commit("message first")
    out = repo.cli_json("blame", "commit", m)
    assert out["lines"] == {"introduced": 1, "agent": 0, "moved": 0, "unknown": 0, "human": 1,
                            "alive_at_head": 0}
    assert out["sessions"] == []
    # git blame -M follows the one line all the same.
    assert blame(repo, "app.py", "-w", "-M")[2][1]["session"] == MOVER


def test_uncommitted_lines_are_attributed_from_the_working_tree(repo):
    repo.cli_json("init")
    one_turn(repo, "s-pending", "app.py", BASE + "# pending\n", "add a line")
    repo.write("app.py", (repo.path / "app.py").read_text() + "# typed\n")
    got = blame(repo, "app.py")
    assert got[2:] == [("# pending", agent_line("s-pending", 2, "2.1.1", "add a line", 1)),
                       ("# typed", HUMAN)]
    assert got[0] == ("def greet(name):", NOT_ANCHORED)


def test_blame_commit(repo):
    sid = _setup(repo)
    commit = head(repo)
    out = repo.cli_json("blame", "commit", "HEAD")
    assert out["commit"] == commit and out["anchored"] is True
    assert out["lines"] == {"introduced": 3, "agent": 2, "moved": 0, "unknown": 0, "human": 1,
                            "alive_at_head": 2}
    [s] = out["sessions"]
    assert (s["session"], s["harness"], s["model"], s["lines"], s["alive"]) == (sid, "claude-code", MODEL, 2, 2)
    [step] = s["steps"]
    assert step == {"step": 2, "tool": "Edit", "lines": 2, "moved": 0, "alive": 2,
                    "hunks": [{"hunk": "2.1.1", "path": "app.py", "lines": [3, 4]}],
                    "prompt_step": 1,
                    "prompt": "add a farewell function that says goodbye politely to the person named",
                    "patch": [{"status": "M", "path": "app.py", "added": 2, "removed": 0}]}
    # The human rewrites one agent line: one of two is alive.
    repo.write("app.py", (repo.path / "app.py").read_text().replace('"bye "', '"ciao "'))
    repo.git("commit", "-q", "-am", "ciao")
    assert repo.cli_json("blame", "commit", commit)["lines"]["alive_at_head"] == 1
    text = repo.ot("blame", "commit", commit).stdout.decode().splitlines()
    assert text == [
        f"commit {commit}",
        "    farewell",
        "lines introduced 3: agent 2, human 1, unknown 0; agent lines alive at HEAD 1",
        "",
        f"session {sid}  claude-code  model {MODEL}",
        "  prompt 1: add a farewell function that says goodbye politely to the person named",
        "    step 2 Edit: 2 lines (1 alive) app.py:3-4",
        "        patch M app.py +2 -0",
    ]


def test_blame_commit_of_a_commit_git_ot_never_anchored(repo):
    out = repo.cli_json("blame", "commit", "HEAD")
    assert (out["anchored"], out["recomputed"], out["sessions"], out["lines"]["unknown"]) == \
        (False, False, [], 3)


def test_blame_commit_without_the_hooks_reads_the_note_they_would_have_written(repo, monkeypatch):
    # The harness hooks captured the session; git's hooks were not installed.
    monkeypatch.delenv("GIT_COMMITTER_DATE", raising=False)  # the real times the recomputation reads
    c = _farewell_below(repo, hooks=False)
    assert note(repo, c) is None
    out = repo.cli_json("blame", "commit", c)
    assert (out["anchored"], out["recomputed"]) == (True, True)
    assert out["lines"] == {"introduced": 3, "agent": 3, "moved": 0, "unknown": 0, "human": 0,
                            "alive_at_head": 3}
    assert [(s["session"], s["lines"]) for s in out["sessions"]] == [(MOVER, 3)]
    # What `git ot blame FILE` says of the same lines.
    assert {a.get("session") for _, a in blame(repo, "app.py")[8:]} == {MOVER}
    # `git ot anchor` writes that note: the same answer, read from it.
    repo.cli_json("anchor")
    again = repo.cli_json("blame", "commit", c)
    assert (again["recomputed"], again["lines"], again["sessions"]) == (False, out["lines"], out["sessions"])


def test_a_file_named_commit(repo):
    repo.write("commit", "a file named commit\n")
    repo.commit("commit file")
    for args in (["./commit"], ["--", "commit"], ["HEAD", "commit"], ["HEAD", "--", "commit"],
                 ["--", "commit", "HEAD"]):
        proc = repo.ot("blame", "--json", *args)
        assert proc.returncode == 0, proc.stderr
        assert [ln["content"] for ln in json.loads(proc.stdout)["lines"]] == ["a file named commit"]


def test_errors_are_one_line_with_a_hint(repo):
    proc = repo.ot("blame", "nope.py")
    assert proc.returncode == 1
    lines = proc.stderr.decode().splitlines()
    assert lines == ["error: git blame failed: no such path 'nope.py' in HEAD", ORDER_HINT]
    proc = repo.ot("blame", "commit", "no-such-rev")
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines() == [
        "error: unknown revision 'no-such-rev'", "hint: name a commit, as for 'git show'"]
    proc = repo.ot("blame", "commit")
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines()[0] == (
        "error: 'blame commit' needs a revision, as in 'git ot blame commit HEAD'")
    proc = repo.ot("blame", "app.py", "--json", "--porcelain")
    assert proc.returncode == 1


ORDER_HINT = "hint: git ot blame takes what git blame takes: [-L RANGE] [-M] [-C] [REV] [--] FILE"


def _later(repo):
    """_setup, then a second commit: the file differs at HEAD~1 and HEAD."""
    _setup(repo)
    repo.write("app.py", (repo.path / "app.py").read_text() + "# later\n")
    repo.git("commit", "-q", "-am", "later")


@pytest.mark.parametrize("fmt", [[], ["--json"], ["--porcelain"]])
def test_file_and_revision_in_any_order_git_blame_takes(repo, fmt):
    _later(repo)

    def out(*args):
        proc = repo.ot("blame", *fmt, *args)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.decode()

    # git blame's order, its old order, with and without `--`: one output.
    at_rev = out("HEAD~1", "app.py")
    assert "# end" in at_rev and "# later" not in at_rev
    for args in (["HEAD~1", "--", "app.py"], ["app.py", "HEAD~1"], ["--", "app.py", "HEAD~1"]):
        assert out(*args) == at_rev, args
    # No revision: the working tree, as `git ot blame FILE`.
    in_tree = out("app.py")
    assert "# later" in in_tree
    assert out("--", "app.py") == in_tree
    # -L, before, between or after them.
    ranged = out("-L", "2,3", "HEAD~1", "app.py")
    assert len(ranged) < len(at_rev)
    for args in (["HEAD~1", "-L", "2,3", "--", "app.py"], ["app.py", "HEAD~1", "-L2,3"],
                 ["-L", "2,3", "--", "app.py", "HEAD~1"]):
        assert out(*args) == ranged, args
    if fmt == ["--porcelain"]:
        theirs = repo.git("blame", "--porcelain", "-L", "2,3", "HEAD~1", "--", "app.py")
        assert "".join(ln + "\n" for ln in ranged.splitlines() if not ln.startswith("ot-")) == theirs


def test_arguments_git_blame_refuses(repo):
    _later(repo)
    for args in (["HEAD~1", "HEAD", "app.py"], ["HEAD", "--", "app.py", "x"], ["HEAD", "--", "app.py", "HEAD"]):
        proc = repo.ot("blame", *args)
        assert proc.returncode == 1
        assert proc.stderr.decode().splitlines() == [
            "error: more arguments than one file and one revision", ORDER_HINT]
    # The last names no object, so (as for git blame) it is the file and the first the revision.
    proc = repo.ot("blame", "app.py", "no-such-rev")
    assert proc.stderr.decode().splitlines() == ["error: git blame failed: bad revision 'app.py'", ORDER_HINT]


@pytest.mark.parametrize("args, argv", [
    (["app.py"], ["--", "app.py"]),
    (["--", "app.py"], ["--", "app.py"]),
    (["HEAD", "--", "app.py"], ["HEAD", "--", "app.py"]),
    (["--", "app.py", "HEAD"], ["HEAD", "--", "app.py"]),
    # Without `--`, git decides which is the revision: the guess leaves it to git.
    (["HEAD", "app.py"], ["HEAD", "app.py"]),
    (["app.py", "HEAD"], ["app.py", "HEAD"]),
    (["-L", "3,5", "-M", "HEAD", "app.py", "--json"], ["-L", "3,5", "-M", "HEAD", "app.py"]),
    (["-L3,5", "-MCC", "--porcelain", "app.py"], ["-L", "3,5", "-M", "-C", "-C", "--", "app.py"]),
    (["HEAD", "--", "-L"], ["HEAD", "--", "-L"]),
    (["--", "commit"], ["--", "commit"]),
    (["HEAD", "commit"], ["HEAD", "commit"]),
    (["commit", "HEAD"], None),
    (["pr", "7"], None),
    ([], None),
    (["--"], None),
    (["a", "b", "c"], None),
    (["a", "--", "b", "c"], None),
    (["-w", "app.py"], ["-w", "--", "app.py"]),
    (["-wM", "HEAD", "--", "app.py"], ["-w", "-M", "HEAD", "--", "app.py"]),
    (["-b", "app.py"], None),
    (["--help"], None),
    (["app.py", "-L"], None),
])
def test_guess(args, argv):
    assert guess(args) == (None if argv is None else ["git", "blame", "--porcelain", *argv])


def test_blame_in_a_subdirectory(repo):
    repo.cli_json("init")
    one_turn(repo, "s-sub", "pkg/mod.py", "x = 1\n", "add a module")
    repo.git("add", "pkg")
    repo.git("commit", "-q", "-m", "pkg")
    from support.repo import run_ot

    proc = run_ot(repo.path / "pkg", "blame", "mod.py", "--json")
    assert proc.returncode == 0, proc.stderr
    [line] = json.loads(proc.stdout)["lines"]
    assert (line["path"], line["attribution"]["kind"]) == ("pkg/mod.py", "agent")
