"""Anchoring at commit: the post-commit hook writes each commit's note.

Real git, real hook processes: the agent's tools run between PreToolUse and
PostToolUse hooks, and every commit runs the hooks `git ot init` installed.
Each test checks the exact `git ot blame --json` attribution of every line
(and the repository passes `git fsck --strict`, see conftest). Tests that
take `hooks` run twice: with the git hooks, and without them, where blame
recomputes the notes they would have written and must answer the same.
"""

from __future__ import annotations

from support.trail import (HUMAN, MODEL, NOT_ANCHORED, Agent, one_turn, agent_line, blame, check_against_schemas, head,  # noqa: F401
                           note, read_records, set_up)

BASE = 'def greet(name):\n    return "hi " + name\n'
FAREWELL = '\n\ndef farewell(name):\n    return "bye " + name\n'


def test_an_agent_edit_committed_as_is(repo, hooks):
    set_up(repo, hooks)
    one_turn(repo, "s-one", "app.py", BASE + FAREWELL, "add a farewell function")
    repo.git("commit", "-q", "-am", "farewell")
    commit = head(repo)
    step2 = agent_line("s-one", 2, "2.1.1", "add a farewell function", 1)
    assert blame(repo, "app.py") == [
        ("def greet(name):", NOT_ANCHORED),  # the initial commit predates git ot init
        ('    return "hi " + name', NOT_ANCHORED),
        ("", step2), ("", step2), ("def farewell(name):", step2), ('    return "bye " + name', step2),
    ]
    if not hooks:
        return
    assert repo.git("notes", "--ref=opentraces", "show", commit) == (
        '{"v":1,"session":"s-one","step":2,"hunk":"2.1.1","path":"app.py","lines":[3,6],'
        f'"harness":"claude-code","model":"{MODEL}"}}\n')
    trail = read_records(repo, "s-one")["trail"]
    assert trail["anchors"] == [{"commit": commit, "path": "app.py", "lines": [3, 6], "step": 2,
                                 "hunk": "2.1.1", "via": "commit"}]
    assert read_records(repo, "s-one")["manifest"]["counts"]["commits"] == 1
    [row] = repo.cli_json("trace", "list")["sessions"]
    assert row["commits"] == 1
    check_against_schemas(repo, "s-one")


def test_partial_staging_attributes_only_what_was_committed(repo, hooks):
    set_up(repo, hooks)
    repo.write("nums.txt", "".join(f"{i}\n" for i in range(1, 21)))
    repo.commit("numbers")
    a = Agent(repo, "s-partial")
    a.prompt("spell out two and nineteen")
    lines = [f"{i}\n" for i in range(1, 21)]
    lines[1], lines[18] = "two\n", "nineteen\n"
    a.write("nums.txt", "".join(lines))
    a.write("other.txt", "other\n")
    a.stop()
    # Stage the first hunk of nums.txt only, as `git add -p` does, and not other.txt.
    repo.git("add", "-p", "nums.txt", input="y\nn\n")
    repo.git("commit", "-q", "-m", "two")
    if hooks:
        assert note(repo) == [{"v": 1, "session": "s-partial", "step": 2, "hunk": "2.1.1", "path": "nums.txt",
                               "lines": [2, 2], "harness": "claude-code", "model": MODEL}]
    got = blame(repo, "nums.txt", "HEAD")
    assert got[1] == ("two", agent_line("s-partial", 2, "2.1.1", "spell out two and nineteen", 1))
    # The numbers commit was anchored when the hooks ran (git ot init came
    # first); without them it predates every write window: nothing to tell by.
    assert got[18] == ("19", HUMAN if hooks else NOT_ANCHORED)
    # The rest goes in a second commit; it is still the same step, its second hunk.
    repo.git("add", "nums.txt")
    repo.git("commit", "-q", "-m", "nineteen")
    got = blame(repo, "nums.txt")
    assert got[18] == ("nineteen", agent_line("s-partial", 2, "2.1.2", "spell out two and nineteen", 1))
    assert got[1][1]["hunk"] == "2.1.1"
    repo.git("add", "other.txt")
    repo.git("commit", "-q", "-m", "other")
    assert blame(repo, "other.txt") == [
        ("other", agent_line("s-partial", 3, "3.1.1", "spell out two and nineteen", 1))]


def test_hand_edits_after_the_agent_are_the_humans(repo, hooks):
    set_up(repo, hooks)
    one_turn(repo, "s-hand", "app.py", BASE + FAREWELL, "add farewell")
    # The human changes one of the agent's lines and adds one.
    repo.write("app.py", BASE + FAREWELL.replace('"bye "', '"goodbye "') + "# reviewed\n")
    repo.git("commit", "-q", "-am", "farewell, reviewed")
    step2 = agent_line("s-hand", 2, "2.1.1", "add farewell", 1)
    assert blame(repo, "app.py")[2:] == [
        ("", step2), ("", step2), ("def farewell(name):", step2),
        ('    return "goodbye " + name', HUMAN), ("# reviewed", HUMAN),
    ]
    if hooks:
        assert [n["lines"] for n in note(repo)] == [[3, 5]]


def test_a_line_the_agent_only_moved_stays_its_writers(repo, hooks):
    set_up(repo, hooks)
    settings = ['TIMEOUT_SECONDS = int(os.environ.get("TIMEOUT", "30"))',
                'RETRIES = int(os.environ.get("RETRIES", "3"))',
                'BACKOFF = float(os.environ.get("BACKOFF", "0.5"))']
    repo.write("app.py", BASE + "\n".join(settings) + "\n")
    repo.git("commit", "-q", "-am", "settings")
    # The agent's edit takes the timeout from the top to below the others
    # (git's diff keeps those two) and adds a line of its own after it.
    deadline = "DEADLINE = TIMEOUT_SECONDS * (RETRIES + 1)"
    one_turn(repo, "s-move", "app.py", BASE + "\n".join(settings[1:] + settings[:1] + [deadline]) + "\n",
             "compute a deadline")
    repo.git("commit", "-q", "-am", "deadline")
    assert repo.git("diff", "-U0", "HEAD~1", "HEAD").splitlines()[-4:] == [
        f"-{settings[0]}", "@@ -5,0 +5,2 @@ BACKOFF = float(os.environ.get(\"BACKOFF\", \"0.5\"))",
        f"+{settings[0]}", f"+{deadline}"]
    # The moved line is still the human's, as `git diff --color-moved` sees it.
    assert blame(repo, "app.py")[4:] == [
        (settings[0], HUMAN), (deadline, agent_line("s-move", 2, "2.1.2", "compute a deadline", 1))]


def test_a_file_the_agent_never_touched(repo, hooks):
    set_up(repo, hooks)
    one_turn(repo, "s-untouched", "app.py", BASE + FAREWELL, "add farewell")
    repo.write("README.md", "readme\nby hand\n")
    repo.git("commit", "-q", "-am", "both")
    assert blame(repo, "README.md") == [("readme", NOT_ANCHORED), ("by hand", HUMAN)]
    # A commit with no agent work at all still has a note, an empty one:
    # git-ot looked, so its lines are the human's, not unknown.
    repo.write("NOTES.txt", "mine\n")
    repo.commit("notes")
    assert note(repo) == ([] if hooks else None)
    assert blame(repo, "NOTES.txt") == [("mine", HUMAN)]


def test_two_sessions_editing_the_same_file(repo, hooks):
    set_up(repo, hooks)
    a = Agent(repo, "s-first")
    b = Agent(repo, "s-second", model=None)
    a.prompt("add farewell")
    a.write("app.py", BASE + FAREWELL)
    b.prompt("document greet")
    b.write("app.py", '"""Greetings."""\n' + BASE + FAREWELL)
    a.prompt("shout the farewell")
    a.write("app.py", '"""Greetings."""\n' + BASE + FAREWELL.replace('"bye "', '"BYE "'))
    a.stop()
    b.stop()
    repo.git("commit", "-q", "-am", "two sessions")
    first = agent_line("s-first", 2, "2.1.1", "add farewell", 1)
    assert blame(repo, "app.py") == [
        ('"""Greetings."""', agent_line("s-second", 2, "2.1.1", "document greet", 1, model=None)),
        ("def greet(name):", NOT_ANCHORED),
        ('    return "hi " + name', NOT_ANCHORED),
        ("", first), ("", first), ("def farewell(name):", first),
        ('    return "BYE " + name', agent_line("s-first", 4, "4.1.1", "shout the farewell", 3)),
    ]


def test_overlapping_windows_of_two_sessions_stay_unattributed(repo, hooks):
    set_up(repo, hooks)
    a = Agent(repo, "s-left")
    b = Agent(repo, "s-right")
    a.prompt("edit")
    b.prompt("edit too")
    pa, pb = a.payload("Bash", command="make"), b.payload("Bash", command="make")
    a.start(pa)
    b.start(pb)
    repo.write("app.py", BASE + "# both were running\n")
    a.end(pa)
    b.end(pb)
    a.stop()
    b.stop()
    repo.git("commit", "-q", "-am", "parallel")
    [line] = blame(repo, "app.py")[2:]
    assert line == ("# both were running", {"kind": "unknown", "reason": "ambiguous",
                                            "candidates": ["s-left:2", "s-right:2"]})
    if hooks:
        assert note(repo) == [{"v": 1, "path": "app.py", "lines": [3, 3], "unattributed": "ambiguous",
                               "candidates": ["s-left:2", "s-right:2"]}]
        check_against_schemas(repo)


def test_the_agent_commits_mid_turn(repo, hooks):
    """The commit runs inside the agent's Bash tool, between its two hooks."""
    set_up(repo, hooks)
    a = Agent(repo, "s-mid")
    a.prompt("strip names and commit it")
    a.write("app.py", BASE.replace("+ name", "+ name.strip()"))
    bash = a.payload("Bash", command="git commit -am 'Strip names'")
    a.start(bash)
    repo.git("commit", "-q", "-am", "Strip names")
    committed = head(repo)
    a.end(bash)
    a.write("NOTES.md", "greet strips whitespace\n")
    a.stop()
    assert blame(repo, "app.py", committed)[1] == (
        '    return "hi " + name.strip()', agent_line("s-mid", 2, "2.1.1", "strip names and commit it", 1))
    # The session's running Bash tool did not claim the edit the Edit tool made.
    if hooks:
        assert [n["step"] for n in note(repo, committed)] == [2]
        check_against_schemas(repo, "s-mid", revs=[committed])


def test_a_tool_still_running_at_commit_time_leaves_its_lines_unattributed(repo, hooks):
    """`sed -i ... && git commit -a` in one shell call: its step's patch does not exist yet."""
    set_up(repo, hooks)
    a = Agent(repo, "s-running")
    a.prompt("shout and commit")
    bash = a.payload("Bash", command="sed -i s/hi/HI/ app.py && git commit -qam shout")
    a.start(bash)
    repo.write("app.py", BASE.replace('"hi "', '"HI "'))
    repo.git("commit", "-q", "-am", "shout")
    a.end(bash)
    a.stop()
    assert blame(repo, "app.py")[1] == ('    return "HI " + name', {
        "kind": "unknown", "reason": "running", "candidates": ["s-running:2"]})


def test_a_merge_with_a_conflict_resolved_by_hand(repo, hooks):
    set_up(repo, hooks)
    repo.git("checkout", "-q", "-b", "side")
    one_turn(repo, "s-side", "app.py", BASE.replace('"hi "', '"hey "'), "say hey")
    repo.git("commit", "-q", "-am", "hey")
    repo.git("checkout", "-q", "main")
    one_turn(repo, "s-main", "app.py", BASE.replace('"hi "', '"hello "') + "# main\n", "say hello")
    repo.git("commit", "-q", "-am", "hello")
    proc = repo.git("merge", "side", check=False)
    assert "CONFLICT" in proc
    repo.write("app.py", BASE.replace('"hi "', '"hello there "') + "# main\n")
    repo.git("commit", "-q", "-am", "merge side")
    merge = head(repo)
    assert repo.git("rev-list", "--parents", "-1", "HEAD").split()[0] == merge
    assert blame(repo, "app.py") == [
        ("def greet(name):", NOT_ANCHORED),
        ('    return "hello there " + name', HUMAN),  # the resolution, typed by hand
        ("# main", agent_line("s-main", 2, "2.1.1", "say hello", 1)),
    ]
    assert note(repo, merge) == ([] if hooks else None)


def test_a_conflict_resolved_by_the_agent(repo, hooks):
    set_up(repo, hooks)
    repo.git("checkout", "-q", "-b", "side")
    repo.write("app.py", BASE.replace('"hi "', '"hey "'))
    repo.git("commit", "-q", "-am", "hey")
    repo.git("checkout", "-q", "main")
    repo.write("app.py", BASE.replace('"hi "', '"hello "'))
    repo.git("commit", "-q", "-am", "hello")
    repo.git("merge", "side", check=False)
    one_turn(repo, "s-resolve", "app.py", BASE.replace('"hi "', '"hey hello "'), "resolve the conflict")
    repo.git("commit", "-q", "-am", "merge side")
    assert blame(repo, "app.py")[1] == ('    return "hey hello " + name',
                                        agent_line("s-resolve", 2, "2.1.1", "resolve the conflict", 1))


def test_a_clean_merge_made_by_git_merge_is_anchored(repo, hooks):
    set_up(repo, hooks)
    repo.git("checkout", "-q", "-b", "side")
    one_turn(repo, "s-clean", "side.txt", "side\n", "add a file")
    repo.git("add", "side.txt")
    repo.git("commit", "-q", "-m", "side")
    repo.git("checkout", "-q", "main")
    repo.write("main.txt", "main\n")
    repo.commit("main")
    repo.git("merge", "-q", "--no-edit", "side")
    if hooks:
        assert note(repo) == []  # nothing new against both parents, and git-ot looked
    assert blame(repo, "side.txt") == [("side", agent_line("s-clean", 2, "2.1.1", "add a file", 1))]


def test_without_the_hooks_blame_recomputes_and_anchor_writes_the_notes(repo, monkeypatch):
    """No note: blame recomputes what the hooks would have written; `git ot anchor` writes it."""
    monkeypatch.delenv("GIT_COMMITTER_DATE", raising=False)
    with_hooks = _farewell_repo(repo.path.parent / "with-hooks", hooks=True)
    repo.cli_json("init")
    repo.cli_json("uninstall")
    one_turn(repo, "s-nohooks", "app.py", BASE + FAREWELL, "add farewell")
    repo.git("commit", "-q", "-am", "farewell")
    assert note(repo) is None
    step2 = agent_line("s-nohooks", 2, "2.1.1", "add farewell", 1)
    expected = [("def greet(name):", NOT_ANCHORED), ('    return "hi " + name', NOT_ANCHORED),
                ("", step2), ("", step2), ("def farewell(name):", step2), ('    return "bye " + name', step2)]
    assert blame(repo, "app.py") == expected
    assert note(repo) is None  # blame writes nothing
    dry = repo.cli_json("anchor", "--dry-run")
    assert (dry["dry_run"], dry["written"], [r["commit"] for r in dry["anchored"]]) == (True, False, [head(repo)])
    assert note(repo) is None
    out = repo.cli_json("anchor")
    assert out["anchored"] == [{"commit": head(repo), "agent": 4, "unattributed": 0, "human": 0,
                                "sessions": ["s-nohooks"], "source": None}]
    assert (out["examined"], out["noted"], out["written"]) == (1, 0, True)
    # The note the hooks would have written, and the trail's anchor.
    assert note(repo) == [{**line, "session": "s-nohooks"} for line in note(with_hooks)]
    trail = read_records(repo, "s-nohooks")["trail"]
    assert trail["anchors"] == [{"commit": head(repo), "path": "app.py", "lines": [3, 6], "step": 2,
                                 "hunk": "2.1.1", "via": "commit"}]
    assert blame(repo, "app.py") == expected
    # Idempotent: a second run finds the note and writes nothing.
    again = repo.cli_json("anchor")
    assert (again["noted"], again["anchored"], again["written"]) == (1, [], False)
    human = repo.ot("anchor")
    assert human.stdout.decode().splitlines() == ["1 commit examined: 1 already noted, 0 anchored, 0 unknown"]


def _farewell_repo(path, hooks: bool):
    from support.repo import Repo, git

    path.mkdir()
    git(path, "init", "-q")
    other = Repo(path)
    other.write("app.py", BASE)
    other.commit("initial")
    set_up(other, hooks)
    a = Agent(other, "s-with-hooks")
    a.prompt("add farewell")
    a.write("app.py", BASE + FAREWELL)
    a.stop()
    other.git("commit", "-q", "-am", "farewell")
    return other


def test_anchor_errors_are_one_line_with_a_hint(repo):
    for bad in ("no-such-rev..HEAD", "HEAD...nope"):
        proc = repo.cli("anchor", bad)
        assert proc.returncode == 1
        lines = proc.stderr.decode().splitlines()
        assert lines == [f"error: bad revision range '{bad}'",
                         "hint: name commits as 'git log' does: REV, A..B or A...B"], lines
    proc = repo.cli("anchor", "--all")
    assert (proc.returncode, proc.stderr.decode().splitlines()) == (
        1, ["error: no such option '--all'", "hint: see 'git ot anchor --help'"])
    # Commits made before any agent write window stay unknown: nothing to tell by.
    out = repo.cli_json("anchor", "HEAD")
    assert (out["examined"], out["anchored"], out["unknown"]) == (1, [], [head(repo)])
    assert note(repo) is None


def test_a_line_the_gate_redacted_is_not_called_the_humans(repo, hooks):
    """The snapshots hold the token redacted; the commit holds it as written."""
    set_up(repo, hooks)
    one_turn(repo, "s-secret", "conf.py", 'HOST = "example.org"\nTOKEN = "ghp_4f9K2mQ8xZ7vB3nL6tR1wY5cH0jD9sA2eU8p"\nPORT = 8080\n', "add the config")
    assert "[REDACTED" in repo.git("show", "refs/opentraces/sessions/s-secret:snapshots/2-after/conf.py")
    repo.git("add", "conf.py")
    repo.git("commit", "-q", "-m", "config")
    step2 = agent_line("s-secret", 2, "2.1.1", "add the config", 1)
    assert [attr for _, attr in blame(repo, "conf.py")] == [
        step2, {"kind": "unknown", "reason": "unknown"}, step2]


def test_the_windows_index_is_derived_and_can_be_deleted(repo):
    repo.cli_json("init")
    one_turn(repo, "s-index", "app.py", BASE + FAREWELL, "add farewell")
    repo.git("commit", "-q", "-am", "farewell")
    first = note(repo)
    index = repo.path / ".git" / "opentraces" / "windows.json"
    assert index.is_file()
    for damage in (None, "{not json"):
        if damage is None:
            index.unlink()
        else:
            index.write_text(damage)
        repo.git("notes", "--ref=opentraces", "remove", "HEAD")
        proc = repo.ot("hook", "git", "post-commit")
        assert proc.returncode == 0
        assert note(repo) == first
    assert not (repo.path / ".git" / "opentraces" / "log").exists()


def test_a_revert_that_brings_no_line_back_is_anchored(repo):
    """Its note is empty (git-ot looked), so an amend of it anchors the new lines."""
    repo.cli_json("init")
    repo.write("a.txt", "a1\n")
    repo.commit("a1")
    repo.write("a.txt", "a1\na2\n")
    repo.commit("a2")
    repo.git("revert", "--no-edit", "HEAD")
    assert note(repo) == []
    repo.write("a.txt", "a0\na1\n")
    repo.git("commit", "-q", "-a", "--amend", "--no-edit")
    assert blame(repo, "a.txt") == [("a0", HUMAN), ("a1", HUMAN)]


def test_an_agent_edit_in_a_repository_under_home(repo, monkeypatch):
    """The gate stores the home directory as [HOME] in the tool's file path
    and the session's cwd; the window still names the file it wrote."""
    monkeypatch.setenv("HOME", str(repo.path.parent))
    repo.cli_json("init")
    one_turn(repo, "s-home", "app.py", (repo.path / "app.py").read_text() + "# agent\n", "add a line")
    repo.git("commit", "-q", "-am", "agent line")
    assert blame(repo, "app.py")[2] == ("# agent", agent_line("s-home", 2, "2.1.1", "add a line", 1))


def test_an_agent_line_put_back_by_a_stash_pop_is_unknown_not_the_humans(repo):
    """The human stashes the agent's line, another agent edit of the file
    comes and is committed, then the stash is popped: the line changed back
    outside every window, but its text is one the agent wrote there. Which
    of them put it back cannot be told from the snapshots: unknown, never
    the human's. A line the human types meanwhile stays the human's."""
    repo.cli_json("init")
    repo.write("a.txt", "1\n2\n3\n4\n5\n6\n")
    repo.commit("six")
    a = Agent(repo, "s-stash")
    a.prompt("add x after 1")
    a.write("a.txt", "1\nthe x line\n2\n3\n4\n5\n6\n")
    repo.git("stash", "-q")
    a.prompt("add y after 5")
    a.write("a.txt", "1\n2\n3\n4\n5\nthe y line\n6\n")
    a.stop()
    repo.git("commit", "-q", "-am", "y")
    repo.git("stash", "pop", "-q")
    repo.write("a.txt", "1\nthe x line\n2\n3\n4\n5\nthe y line\n6\nby hand\n")
    repo.git("commit", "-q", "-am", "x")
    got = blame(repo, "a.txt")
    assert got[1] == ("the x line", {"kind": "unknown", "reason": "unknown"})
    assert got[6] == ("the y line", agent_line("s-stash", 4, "4.1.1", "add y after 5", 3))
    assert got[8] == ("by hand", HUMAN)


def test_anchor_in_two_processes_writes_what_one_writes(repo, monkeypatch):
    """`git ot anchor --jobs 2` examines runs of commits in two processes:
    the same answer, and the same notes, as one process."""
    from git_ot.domain import parallel
    from git_ot.domain.trail import recompute

    monkeypatch.delenv("GIT_COMMITTER_DATE", raising=False)  # commits after the windows, as they are
    repo.cli_json("init")
    repo.cli_json("uninstall")
    text = BASE
    for i in range(6):
        text += f"\n\ndef f{i}(x):\n    return x + {i}\n"
        one_turn(repo, f"s-run-{i}", "app.py", text, f"add f{i}")
        repo.git("commit", "-q", "-am", f"f{i}")
        repo.write(f"notes{i}.txt", f"by hand {i}\n")
        repo.commit(f"notes {i}")
    monkeypatch.setattr(recompute, "PARALLEL_MIN", 1)
    runs = []
    real_run = parallel.run
    monkeypatch.setattr(parallel, "run", lambda work, count, jobs: runs.append((count, jobs)) or
                        real_run(work, count, jobs))
    alone = repo.cli_json("anchor", "--dry-run", "--jobs", "1")
    assert runs == []
    together = repo.cli_json("anchor", "--dry-run", "--jobs", "2")
    assert (together["examined"], runs) == (12, [(12, 2)])  # runs of 12 // (4 * 2) = 1 commit
    assert together == alone
    # Made in the same second, the commits come in no set order (a walk by time).
    assert sorted((r["agent"], r["human"], r["sessions"]) for r in alone["anchored"]) == sorted(
        [(4, 0, [f"s-run-{i}"]) for i in range(6)] + [(0, 1, [])] * 6)
    written = repo.cli_json("anchor", "--jobs", "2")
    assert written["anchored"] == alone["anchored"] and written["written"]
    for i in range(6):
        agent = repo.git("rev-list", "--all", "--grep", f"^f{i}$")
        hand = repo.git("rev-list", "--all", "--grep", f"^notes {i}$")
        assert [line["session"] for line in note(repo, agent.strip())] == [f"s-run-{i}"]
        assert note(repo, hand.strip()) == []
