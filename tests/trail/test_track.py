"""`git ot track`: every survival state reached by a real history, with its evidence.

Each test drives a scripted agent through the real hook processes (the
capture hooks and the git hooks `git ot init` installs), then makes history
as a user would (commits, hand edits, moves, `git revert`, branches, a
shallow clone) and compares `git ot track --json` exactly.
"""

from __future__ import annotations

import json

from support.repo import FIXTURES, git, run_ot
from support.trail import HUMAN, Agent, one_turn, agent_line, blame, head, set_up  # noqa: F401

BASE = 'def greet(name):\n    return "hi " + name\n'
FAREWELL = ('def farewell(name):\n    greeting = "bye"\n    punctuation = "!"\n'
            '    return greeting + " " + name + punctuation\n')


def hunk(h: str, path: str, state: str, written: int, landed: int = 0, alive: int = 0, pending: int = 0,
         commits=(), alive_at=(), removed=(), restored_by=None, elsewhere=(), missing=(), worktree=()):
    """One hunk of `track --json`: ranges given as lists of (first, last)."""
    def spans(rows):
        return [{"commit": c, "path": p, "lines": [list(s) for s in ls]} for c, p, ls in rows]

    return {
        "hunk": h, "step": int(h.split(".")[0]), "path": path, "state": state,
        "lines": {"written": written, "landed": landed, "alive": alive, "pending": pending},
        "commits": spans(commits),
        "alive": [{"path": p, "lines": [list(s) for s in ls], "moved": m} for p, ls, m in alive_at],
        "removed": [{"commit": c, "lines": n, "reverts": r, "steps": list(steps[0]) if steps else []}
                    for c, n, r, *steps in removed],
        "restored_by": restored_by,
        "elsewhere": spans(elsewhere),
        "missing": list(missing),
        "worktree": [{"path": p, "lines": [list(s) for s in ls]} for p, ls in worktree],
    }


def hunks(repo, *args: str) -> dict[str, list[dict]]:
    """{session: its hunks} of `git ot track --json`."""
    out = repo.cli_json("track", *args)
    return {s["session"]: s["hunks"] for s in out["sessions"]}


def states(**counts) -> dict:
    out = dict.fromkeys(["alive_on_path", "alive_transformed", "moved", "partially_preserved",
                         "reverted", "repaired", "lost", "unknown", "pending", "unlanded"], 0)
    out.update(counts)
    return out


def _farewell(repo, session: str = "s-track", hooks: bool = True) -> str:
    """init (and, without `hooks`, uninstall); the agent adds a four-line
    function to app.py; committed as it is."""
    set_up(repo, hooks)
    one_turn(repo, session, "app.py", BASE + FAREWELL, "add a farewell")
    repo.git("commit", "-q", "-am", "farewell")
    return head(repo)


def _start(repo, session: str) -> str:
    rows = repo.cli_json("trace", "list")["sessions"]
    return next(r["start"] for r in rows if r["session"] == session)


def test_committed_as_is_is_alive_on_path(repo, hooks):
    c = _farewell(repo, hooks=hooks)
    out = repo.cli_json("track")
    lines = {"written": 4, "landed": 4, "alive": 4, "pending": 0}
    assert out == {
        "target": {"rev": "HEAD", "commit": c},
        "since": None,
        "sessions": [{
            "session": "s-track", "harness": "claude-code", "models": ["claude-opus-4-5"],
            "start": _start(repo, "s-track"), "lines": lines, "states": states(alive_on_path=1),
            "hunks": [hunk("2.1.1", "app.py", "alive_on_path", 4, 4, 4, commits=[(c, "app.py", [(3, 6)])],
                           alive_at=[("app.py", [(3, 6)], False)])],
        }],
        "total": {"sessions": 1, "hunks": 1, "lines": lines, "states": states(alive_on_path=1)},
    }
    prompt = agent_line("s-track", 2, "2.1.1", "add a farewell", 1)
    assert [a for _, a in blame(repo, "app.py")][2:] == [prompt] * 4


def test_human_edit_of_one_line_is_alive_transformed(repo, hooks):
    c = _farewell(repo, hooks=hooks)
    repo.write("app.py", BASE + FAREWELL.replace('"!"', '"."'))
    x = repo.commit("full stop")
    assert hunks(repo) == {"s-track": [hunk(
        "2.1.1", "app.py", "alive_transformed", 4, 4, 3, commits=[(c, "app.py", [(3, 6)])],
        alive_at=[("app.py", [(3, 4), (6, 6)], False)], removed=[(x, 1, None)])]}
    assert [a["kind"] for _, a in blame(repo, "app.py")][2:] == ["agent", "agent", "human", "agent"]


def test_most_lines_deleted_is_partially_preserved_and_at_an_older_rev_alive(repo):
    c = _farewell(repo)
    repo.write("app.py", BASE + "def farewell(name):\n    pass\n")
    d = repo.commit("stub it")
    assert hunks(repo) == {"s-track": [hunk(
        "2.1.1", "app.py", "partially_preserved", 4, 4, 1, commits=[(c, "app.py", [(3, 6)])],
        alive_at=[("app.py", [(3, 3)], False)], removed=[(d, 3, None)])]}
    # --at the commit that took the work: all of it was alive then.
    out = repo.cli_json("track", "--at", "HEAD~1")
    assert out["target"] == {"rev": "HEAD~1", "commit": c}
    assert [h["state"] for h in out["sessions"][0]["hunks"]] == ["alive_on_path"]
    # --at the commit before it: the work had not landed there.
    assert hunks(repo, "--at", "HEAD~2") == {"s-track": [hunk(
        "2.1.1", "app.py", "unlanded", 4, elsewhere=[(c, "app.py", [(3, 6)])])]}


MOVED = ('def farewell(name):\n    message = "goodbye, dear " + name + ", and thank you"\n'
         '    return message.upper() + " and see you again soon, " + name\n')


def test_moved_to_another_file(repo):
    repo.cli_json("init")
    one_turn(repo, "s-move", "app.py", BASE + MOVED)
    c = repo.commit("farewell")
    repo.write("app.py", BASE)
    repo.write("farewell.py", MOVED)
    m = repo.commit("move farewell to its own module")
    assert hunks(repo) == {"s-move": [hunk(
        "2.1.1", "app.py", "moved", 3, 3, 3, commits=[(c, "app.py", [(3, 5)])],
        alive_at=[("farewell.py", [(1, 3)], True)])]}
    # blame -C finds them where they went, as track does; blame commit counts them alive.
    wrote = agent_line("s-move", 2, "2.1.1", "write it", 1)
    assert blame(repo, "farewell.py", "-C") == [(line, wrote) for line in MOVED.splitlines()]
    assert [a for _, a in blame(repo, "farewell.py")] == [HUMAN] * 3
    assert repo.cli_json("blame", "commit", c)["lines"]["alive_at_head"] == 3
    assert m != c


def test_moved_within_the_file(repo):
    repo.cli_json("init")
    body = "".join(f"# configuration line number {i} of the module\n" for i in range(8))
    repo.write("app.py", body)
    repo.commit("body")
    one_turn(repo, "s-within", "app.py", body + MOVED)
    c = repo.commit("farewell")
    repo.write("app.py", MOVED + body)
    repo.commit("farewell first")
    assert hunks(repo) == {"s-within": [hunk(
        "2.1.1", "app.py", "moved", 3, 3, 3, commits=[(c, "app.py", [(9, 11)])],
        alive_at=[("app.py", [(1, 3)], True)])]}


def test_renamed_file_is_moved(repo):
    c = _farewell(repo)
    repo.git("mv", "app.py", "greetings.py")
    repo.git("commit", "-q", "-m", "rename")
    assert hunks(repo) == {"s-track": [hunk(
        "2.1.1", "app.py", "moved", 4, 4, 4, commits=[(c, "app.py", [(3, 6)])],
        alive_at=[("greetings.py", [(3, 6)], True)])]}


def test_git_revert_is_reverted(repo, hooks):
    c = _farewell(repo, hooks=hooks)
    repo.git("revert", "--no-edit", "HEAD")
    r = head(repo)
    assert hunks(repo) == {"s-track": [hunk(
        "2.1.1", "app.py", "reverted", 4, 4, 0, commits=[(c, "app.py", [(3, 6)])],
        removed=[(r, 4, c)])]}
    proc = repo.ot("track")
    assert proc.returncode == 0, proc.stderr
    start = _start(repo, "s-track")
    evidence = f"reverted by {r[:8]} (reverts {c[:8]})"
    assert proc.stdout.decode().splitlines() == [
        f"at HEAD ({r[:8]})",
        "",
        f"session s-track  claude-code  model claude-opus-4-5  start {start}",
        "  STEP  PATH    STATE     WRITTEN  LANDED  ALIVE  EVIDENCE",
        f"     2  app.py  reverted        4       4      0  {evidence}",
        "  written 4, landed 4 (100%), alive 0 (0%), pending 0",
        "",
        "total: 1 session, 1 hunk: written 4, landed 4 (100%), alive 0 (0%), pending 0",
        "states: reverted 1",
    ]


def test_inverse_patch_without_a_revert_message_is_reverted(repo):
    c = _farewell(repo)
    repo.write("app.py", BASE)
    r = repo.commit("tidy up")
    assert hunks(repo)["s-track"][0]["removed"] == [{"commit": r, "lines": 4, "reverts": c, "steps": []}]
    assert hunks(repo)["s-track"][0]["state"] == "reverted"


def test_revert_of_the_revert_is_repaired(repo, hooks):
    c = _farewell(repo, hooks=hooks)
    repo.git("revert", "--no-edit", "HEAD")
    r1 = head(repo)
    # The revert of the revert takes the lines' attribution back from the
    # reverted commit's parent (at commit time, or recomputed without hooks).
    repo.git("revert", "--no-edit", "HEAD")
    r2 = head(repo)
    assert hunks(repo) == {"s-track": [hunk(
        "2.1.1", "app.py", "repaired", 4, 4, 4,
        commits=sorted([(c, "app.py", [(3, 6)]), (r2, "app.py", [(3, 6)])]),
        alive_at=[("app.py", [(3, 6)], False)], removed=[(r1, 4, c)], restored_by=r2)]}
    wrote = agent_line("s-track", 2, "2.1.1", "add a farewell", 1)
    assert [a for _, a in blame(repo, "app.py")][2:] == [wrote] * 4
    # At the revert, it was reverted.
    assert [h["state"] for h in hunks(repo, "--at", r1)["s-track"]] == ["reverted"]


def test_deleted_without_a_revert_is_lost_and_a_brace_elsewhere_is_no_survivor(repo):
    repo.cli_json("init")
    human = "function start() {\n  return null;\n}\n// stop\nmodule.exports = { start };\n"
    repo.write("app.js", human)
    repo.commit("start")
    agent = "function stop() {\n  return null;\n}\n"
    one_turn(repo, "s-js", "app.js", human.replace("// stop\n", "// stop\n" + agent))
    c = repo.commit("stop")
    # The human deletes the agent's function (and edits the README in the same
    # commit, so it is no inverse patch): the file still has a `}` and a
    # `return null;`, neither of them the agent's.
    repo.write("app.js", human)
    repo.write("README.md", "readme\nno stop\n")
    d = repo.commit("no stop after all")
    assert hunks(repo) == {"s-js": [hunk(
        "2.1.1", "app.js", "lost", 3, 3, 0, commits=[(c, "app.js", [(5, 7)])], removed=[(d, 3, None)])]}
    assert "}" in (repo.path / "app.js").read_text() and "return null;" in (repo.path / "app.js").read_text()
    assert [a["kind"] for _, a in blame(repo, "app.js")] == ["human"] * 5
    assert repo.cli_json("blame", "commit", c)["lines"]["alive_at_head"] == 0


def test_uncommitted_work_is_pending(repo):
    repo.cli_json("init")
    a = Agent(repo, "s-pending")
    a.prompt("add a helper and a line")
    a.write("util.py", "def helper():\n    return None\n")
    a.write("app.py", BASE + "# pending\n")
    a.stop()
    assert hunks(repo) == {"s-pending": [
        hunk("2.1.1", "util.py", "pending", 2, pending=2, worktree=[("util.py", [(1, 2)])]),
        hunk("3.1.1", "app.py", "pending", 1, pending=1, worktree=[("app.py", [(3, 3)])]),
    ]}
    # Half of it committed: the committed hunk lands, the other stays pending.
    repo.git("add", "app.py")
    repo.git("commit", "-q", "-m", "a line")
    c = head(repo)
    assert hunks(repo) == {"s-pending": [
        hunk("2.1.1", "util.py", "pending", 2, pending=2, worktree=[("util.py", [(1, 2)])]),
        hunk("3.1.1", "app.py", "alive_on_path", 1, 1, 1, commits=[(c, "app.py", [(3, 3)])],
             alive_at=[("app.py", [(3, 3)], False)]),
    ]}


def test_discarded_work_is_unlanded(repo):
    repo.cli_json("init")
    one_turn(repo, "s-gone", "app.py", BASE + "# never kept\n")
    repo.git("checkout", "--", "app.py")
    out = repo.cli_json("track")
    assert out["sessions"][0]["hunks"] == [hunk("2.1.1", "app.py", "unlanded", 1)]
    assert out["total"]["lines"] == {"written": 1, "landed": 0, "alive": 0, "pending": 0}
    assert out["total"]["states"] == states(unlanded=1)


def test_work_only_on_an_unmerged_branch_is_unlanded(repo):
    repo.cli_json("init")
    repo.git("switch", "-q", "-c", "feature")
    one_turn(repo, "s-branch", "app.py", BASE + FAREWELL)
    f = repo.commit("farewell on a branch")
    repo.git("switch", "-q", "main")
    assert hunks(repo) == {"s-branch": [hunk(
        "2.1.1", "app.py", "unlanded", 4, elsewhere=[(f, "app.py", [(3, 6)])])]}
    assert hunks(repo, "--at", "feature") == {"s-branch": [hunk(
        "2.1.1", "app.py", "alive_on_path", 4, 4, 4, commits=[(f, "app.py", [(3, 6)])],
        alive_at=[("app.py", [(3, 6)], False)])]}
    # Merged, it lands on main too.
    repo.git("merge", "-q", "--no-edit", "feature")
    assert hunks(repo)["s-branch"][0]["state"] == "alive_on_path"


def test_amended_commit_is_found_through_its_rewritten_copy(repo):
    c = _farewell(repo)
    repo.write("README.md", "readme\nmore\n")
    repo.git("commit", "-q", "-a", "--amend", "--no-edit")
    c2 = head(repo)
    assert c2 != c
    assert hunks(repo) == {"s-track": [hunk(
        "2.1.1", "app.py", "alive_on_path", 4, 4, 4, commits=[(c2, "app.py", [(3, 6)])],
        alive_at=[("app.py", [(3, 6)], False)],
        # The commit the amend replaced holds it too, off the target's history.
        elsewhere=[(c, "app.py", [(3, 6)])])]}


def test_sessions_by_prefix_and_since(repo):
    _farewell(repo, "s-live-1")
    repo.cli_json("import", "claude-code", str(FIXTURES / "claude-code" / "spotter" / "short.jsonl"))
    old = [s for s in repo.cli_json("trace", "list")["sessions"] if s["session"] != "s-live-1"]
    assert len(old) == 1 and old[0]["start"].startswith("2026-02-10")
    every = repo.cli_json("track")
    assert [s["session"] for s in every["sessions"]] == ["s-live-1", old[0]["session"]]
    assert [s["session"] for s in repo.cli_json("track", "--since", "7d")["sessions"]] == ["s-live-1"]
    for age in ("2w", "24h", "30m"):
        assert [s["session"] for s in repo.cli_json("track", "--since", age)["sessions"]] == ["s-live-1"]
    out = repo.cli_json("track", "--since", "2026-01-01")
    assert out["since"] == "2026-01-01T00:00:00Z"
    assert [s["session"] for s in out["sessions"]] == ["s-live-1", old[0]["session"]]
    # The old session's start, to the microsecond, still counts as since.
    out = repo.cli_json("track", "--since", old[0]["start"])
    assert len(out["sessions"]) == 2
    assert [s["session"] for s in repo.cli_json("track", "s-live")["sessions"]] == ["s-live-1"]
    assert repo.cli_json("track", "s-live", "--since", "2999-01-01")["sessions"] == []


def test_shallow_clone_is_unknown_beyond_its_history(repo, tmp_path):
    c = _farewell(repo)
    one_turn(repo, "s-later", "other.py", "def other():\n    return 2\n")
    repo.git("add", "other.py")
    repo.git("commit", "-q", "-m", "other")
    later = head(repo)
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo.path}", str(clone))
    git(clone, "fetch", "-q", "origin", "refs/notes/opentraces:refs/notes/opentraces",
        "refs/opentraces/sessions/*:refs/opentraces/sessions/*")
    assert git(clone, "cat-file", "-t", c, check=False) == ""  # beyond the shallow history
    proc = run_ot(clone, "track", "--json")
    assert proc.returncode == 0, proc.stderr
    got = {s["session"]: s["hunks"] for s in json.loads(proc.stdout)["sessions"]}
    assert got == {
        "s-track": [hunk("2.1.1", "app.py", "unknown", 4, missing=[c])],
        "s-later": [hunk("2.1.1", "other.py", "alive_on_path", 2, 2, 2, commits=[(later, "other.py", [(1, 2)])],
                         alive_at=[("other.py", [(1, 2)], False)])],
    }


def test_errors_are_one_line_with_a_hint(repo, tmp_path):
    _farewell(repo)
    cases = {
        ("track", "nosuch"): ["error: no session matches 'nosuch'",
                              "hint: 'git ot trace list' shows the sessions of this repository"],
        ("track", "--since", "yesterday"): [
            "error: invalid --since 'yesterday'",
            "hint: give an age such as '7d', '2w', '24h' or '30m', or a date such as '2024-05-01' "
            "or '2024-05-01T12:00:00Z'"],
        ("track", "--at", "no-such-rev"): ["error: unknown revision 'no-such-rev'",
                                           "hint: name a commit, as for 'git log' (default: HEAD)"],
    }
    for args, expected in cases.items():
        proc = repo.cli(*args)
        assert (proc.returncode, proc.stdout, proc.stderr.decode().splitlines()) == (1, b"", expected)
    one_turn(repo, "s-track-2", "README.md", "readme\nagain\n")
    proc = repo.cli("track", "s-tr")
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines() == ["error: session prefix 's-tr' is ambiguous",
                                                 "hint: candidates: s-track, s-track-2"]
    outside = tmp_path / "not-a-repo"
    outside.mkdir()
    proc = run_ot(outside, "track")
    lines = proc.stderr.decode().splitlines()
    assert proc.returncode == 1 and lines[0].startswith("error: ") and "Traceback" not in proc.stderr.decode()


def test_a_repository_with_no_commits_yet(empty_repo):
    empty_repo.cli_json("init")
    one_turn(empty_repo, "s-empty", "new.py", "x = 1\n")
    out = empty_repo.cli_json("track")
    assert out["target"] == {"rev": "HEAD", "commit": None}
    assert out["sessions"][0]["hunks"] == [hunk("2.1.1", "new.py", "pending", 1, pending=1,
                                                worktree=[("new.py", [(1, 1)])])]


def test_removed_on_a_branch_merged_in_names_the_branch_commit(repo):
    c = _farewell(repo)
    repo.git("switch", "-q", "-c", "cleanup")
    repo.write("app.py", BASE)
    repo.write("README.md", "readme\ncleaned\n")
    k = repo.commit("drop the farewell")
    repo.git("switch", "-q", "main")
    repo.write("notes.txt", "meanwhile\n")
    repo.commit("meanwhile on main")
    repo.git("merge", "-q", "--no-ff", "--no-edit", "cleanup")
    # The merge's diff removes the lines on the first-parent history; git's
    # reverse blame names the commit on the branch that did.
    assert hunks(repo) == {"s-track": [hunk(
        "2.1.1", "app.py", "lost", 4, 4, 0, commits=[(c, "app.py", [(3, 6)])], removed=[(k, 4, None)])]}


def test_a_revert_merged_from_a_branch_is_reverted(repo):
    c = _farewell(repo)
    repo.git("switch", "-q", "-c", "revert-it")
    repo.git("revert", "--no-edit", c)
    r = head(repo)
    repo.git("switch", "-q", "main")
    repo.write("notes.txt", "meanwhile\n")
    repo.commit("meanwhile on main")
    repo.git("merge", "-q", "--no-ff", "--no-edit", "revert-it")
    assert hunks(repo) == {"s-track": [hunk(
        "2.1.1", "app.py", "reverted", 4, 4, 0, commits=[(c, "app.py", [(3, 6)])], removed=[(r, 4, c)])]}
