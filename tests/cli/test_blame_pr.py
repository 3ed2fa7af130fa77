"""`git ot blame pr`: the range, the bad input, and the JSON schema.

The report over a real Claude Code history is checked against golden files
in tests/e2e/test_blame_pr.py; here the range and the bad input, over
histories made through the real hook processes (support/trail.py).
"""

from __future__ import annotations

import json

import jsonschema

from support.repo import ROOT
from support.trail import Agent

SCHEMA = json.loads((ROOT / "refs" / "schemas" / "blame-pr.schema.json").read_text())
APP = 'def greet(name):\n    return "hi " + name\n'


def _history(repo) -> str:
    """One agent commit, a person's edit of its work, a person's own commit; the base."""
    assert repo.cli("init").returncode == 0
    base = repo.git("rev-parse", "HEAD").strip()
    a = Agent(repo, "s-farewell")
    a.prompt("add a farewell function\n\nkeep it short")
    a.write("app.py", APP + '\n\ndef farewell(name):\n    return "bye " + name\n')
    a.stop()
    repo.commit("Add farewell\n\nAsked for in review.")
    repo.write("app.py", APP + '\n\ndef farewell(name):\n    return "goodbye " + name\n')
    repo.commit("Say goodbye in full")
    repo.write("NOTES.md", "notes\n")
    repo.commit("Add notes")
    return base


def _json(repo, *args, stderr: bytes = b"") -> dict:
    proc = repo.cli("blame", "pr", *args, "--format", "json")
    assert (proc.returncode, proc.stderr) == (0, stderr), proc.stderr
    report = json.loads(proc.stdout)
    jsonschema.validate(report, SCHEMA)
    return report


def test_each_commit_with_its_lines_survival_and_the_persons_change(repo):
    base = _history(repo)
    report = _json(repo, f"{base}..HEAD")
    added, changed, notes = (c["commit"] for c in report["commits"])
    assert [(c["subject"], c["lines"], [p["text"] for p in c["intent"]["prompts"]])
            for c in report["commits"]] == [
        ("Add farewell", {"introduced": 4, "agent": 4, "person": 0, "unknown": 0},
         ["add a farewell function\n\nkeep it short"]),
        ("Say goodbye in full", {"introduced": 1, "agent": 0, "person": 1, "unknown": 0}, []),
        ("Add notes", {"introduced": 1, "agent": 0, "person": 1, "unknown": 0}, []),
    ]
    first = report["commits"][0]
    assert first["intent"]["message"] == "Add farewell\n\nAsked for in review.\n"
    assert first["hunks"] == [{"session": "s-farewell", "hunk": "2.1.1", "step": 2, "path": "app.py",
                               "lines": [3, 6], "state": "alive_transformed"}]
    assert first["changed"] == [{"session": "s-farewell", "hunk": "2.1.1", "path": "app.py",
                                 "commit": changed, "lines": 1, "by": "person", "reverted": False}]
    summary = report["summary"]
    assert (summary["commits"], summary["traced"], summary["hunks"]["total"], summary["hunks"]["alive"],
            summary["sessions"], summary["steps"], summary["agent_work"]) == (3, 1, 1, 1, 1, 2, True)
    assert summary["agents"] == [{"harness": "claude-code", "model": "claude-opus-4-5", "sessions": 1}]
    assert report["range"] == {"spec": f"{base}..HEAD", "base": base, "head": notes, "chosen": "given"}


def test_the_markdown_says_who_changed_the_agents_work(repo):
    base = _history(repo)
    proc = repo.cli("blame", "pr", f"{base}..HEAD")
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout.decode()
    changed = repo.git("rev-parse", "HEAD~1").strip()
    assert (f"- app.py: hunk 2.1.1 of session s-farewe, 1 line changed by a person in {changed[:10]}\n"
            in text)
    assert "| Intent alignment | 1 of 3 commits traced to a prompt |\n" in text
    assert text.count("<details>") == text.count("</details>") == 3


def test_without_a_range_the_branch_is_compared_with_its_upstream(repo, tmp_path):
    remote = tmp_path / "remote.git"
    repo.git("init", "-q", "--bare", str(remote))
    repo.git("remote", "add", "origin", str(remote))
    repo.git("push", "-q", "origin", "main")
    repo.git("checkout", "-q", "-b", "feature", "--track", "origin/main")
    _history(repo)
    report = _json(repo, stderr=b"comparing 'feature' with 'origin/main', the upstream of branch 'feature'; "
                               b"name a range to compare others\n")
    assert (report["range"]["spec"], report["range"]["chosen"]) == (
        "origin/main..feature", "the upstream of branch 'feature'")
    assert len(report["commits"]) == 3
    repo.git("branch", "--unset-upstream")
    report = _json(repo, stderr=b"comparing 'feature' with 'main', the default branch; "
                               b"name a range to compare others\n")
    assert (report["range"]["spec"], report["range"]["chosen"]) == ("main..feature", "the default branch")


def test_a_range_with_no_agent_work_says_so(repo):
    base = repo.git("rev-parse", "HEAD").strip()
    assert repo.cli("init").returncode == 0
    repo.write("NOTES.md", "notes\n")
    repo.commit("Add notes")
    report = _json(repo, f"{base}..")
    assert (report["summary"]["agent_work"], report["summary"]["traced"], report["sessions"]) == (False, 0, [])
    proc = repo.cli("blame", "pr", f"{base}..")
    assert proc.returncode == 0
    assert ("**No agent work in this range**: no line of its commits was written by a session "
            "git-ot knows of.\n") in proc.stdout.decode()
    proc = repo.cli("blame", "pr", f"{base}..", "--format", "html")
    assert "<strong>No agent work in this range</strong>" in proc.stdout.decode()


def test_bad_input_is_one_clear_line(repo):
    cases = {
        ("HEAD..HEAD",): ["error: no commits in range 'HEAD..HEAD'",
                          "hint: 'HEAD' holds nothing 'HEAD' does not; name another range, as in "
                          "'git ot blame pr main..HEAD'"],
        ("no-such-rev..HEAD",): ["error: unknown revision 'no-such-rev'",
                                 "hint: name the range as for 'git log', as in 'main..HEAD'"],
        ("main...HEAD",): ["error: unsupported range 'main...HEAD'",
                           "hint: name it as BASE..HEAD (the commits of HEAD not in BASE)"],
    }
    for args, lines in cases.items():
        proc = repo.ot("blame", "pr", *args)
        assert (proc.returncode, proc.stdout, proc.stderr.decode().splitlines()) == (1, b"", lines), args
    proc = repo.ot("blame", "pr")  # main, with no upstream, against itself
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines()[0] == "error: no commits in range 'main..main'"
    for args, message in {
        ("pr", "a..b", "c..d"): "error: 'blame pr' takes one range, as in 'git ot blame pr main..HEAD'",
        ("pr", "--format", "text"): "error: --format text does not apply to 'blame pr': use md, html or json",
        ("pr", "--json", "--format", "md"): "error: --json and --format md cannot be used together",
        ("commit", "HEAD", "--format", "md"): "error: --format md applies to 'git ot blame pr' only",
        ("commit", "HEAD", "--output", "x"): "error: --output applies to 'git ot blame pr' only",
    }.items():
        proc = repo.ot("blame", *args)
        assert (proc.returncode, proc.stderr.decode().splitlines()[0]) == (1, message), args


def test_output_writes_the_report_to_a_file(repo, tmp_path):
    base = _history(repo)
    out = tmp_path / "pr.md"
    proc = repo.cli("blame", "pr", f"{base}..HEAD", "--output", str(out))
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"", b"")
    assert out.read_bytes() == repo.cli("blame", "pr", f"{base}..HEAD").stdout
    proc = repo.ot("blame", "pr", f"{base}..HEAD", "--output", str(tmp_path / "no" / "such" / "dir.md"))
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines()[0].startswith("error: cannot write")


def test_a_merge_in_the_range_is_one_more_commit(repo):
    base = _history(repo)
    repo.git("checkout", "-q", "-b", "side", "HEAD~1")
    repo.write("SIDE.md", "side\n")
    repo.commit("Add side notes")
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "-m", "Merge side", "side")
    report = _json(repo, f"{base}..HEAD")
    assert [c["subject"] for c in report["commits"]][-1] == "Merge side"
    assert sorted(c["subject"] for c in report["commits"]) == sorted(
        ["Add farewell", "Say goodbye in full", "Add notes", "Add side notes", "Merge side"])
    assert report["commits"][-1]["lines"] == {"introduced": 0, "agent": 0, "person": 0, "unknown": 0}


def test_a_session_this_clone_has_not_got_is_named_and_its_hunks_are_unknown(repo):
    base = _history(repo)
    repo.git("update-ref", "-d", "refs/opentraces/sessions/s-farewell")
    report = _json(repo, f"{base}..HEAD")
    [session] = report["sessions"]
    assert (session["session"], session["known"], session["steps"]) == ("s-farewell", False, 0)
    first = report["commits"][0]
    assert (first["lines"]["agent"], first["intent"]["prompts"], [h["state"] for h in first["hunks"]]) == (
        4, [], ["unknown"])
    assert report["summary"]["traced"] == 0


def test_a_commit_that_moves_agent_lines_carries_them_not_their_prompt(repo):
    # A person moves the agent's function above the configuration: the move
    # commit holds the agent's lines (blame commit), but the prompt behind
    # them is the intent of the commit that took them first.
    assert repo.cli("init").returncode == 0
    body = "".join(f"# configuration line number {i} of the module\n" for i in range(8))
    farewell = ('def farewell(name):\n    message = "goodbye, dear " + name + ", and thank you"\n'
                '    return message.upper() + " and see you again soon, " + name\n')
    repo.write("app.py", body)
    base = repo.commit("Configuration")
    a = Agent(repo, "s-mover")
    a.prompt("add a farewell below the configuration")
    a.write("app.py", body + farewell)
    a.stop()
    repo.commit("Add farewell")
    repo.write("app.py", farewell + body)
    repo.commit("Farewell first")
    report = _json(repo, f"{base}..HEAD")
    assert [(c["subject"], c["lines"], [p["text"] for p in c["intent"]["prompts"]], c["hunks"])
            for c in report["commits"]] == [
        ("Add farewell", {"introduced": 3, "agent": 3, "person": 0, "unknown": 0},
         ["add a farewell below the configuration"],
         [{"session": "s-mover", "hunk": "2.1.1", "step": 2, "path": "app.py", "lines": [9, 11],
           "state": "moved"}]),
        ("Farewell first", {"introduced": 3, "agent": 3, "person": 0, "unknown": 0}, [],
         [{"session": "s-mover", "hunk": "2.1.1", "step": 2, "path": "app.py", "lines": [1, 3],
           "state": "moved"}]),
    ]
    assert (report["summary"]["traced"], report["summary"]["hunks"]["total"]) == (1, 1)
