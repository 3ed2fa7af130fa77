"""`git ot import` anchors what it imports against the existing history.

An agent's work committed where git-ot never saw it run (no live capture),
then its transcript imported: the import gives the transcript's Edit and
Write steps partial snapshots (their file alone, before and after), and
writes the note the hooks would have written on the commits that took the
work. Every transcript here is written by the test, in the form Claude Code
writes them, with times before the human's commit.
"""

from __future__ import annotations

import json

import pytest

from support.trail import HUMAN, NOT_ANCHORED, agent_line, blame, head, note, read_records, set_up
from support.transcripts import MODEL, Transcript

SESSION = "0c6d1f52-7a53-4b1e-9d0e-5a1a0e2f3b41"
BASE = 'def greet(name):\n    return "hi " + name\n'
FAREWELL = '\n\ndef farewell(name):\n    return "bye " + name\n'
NOTES = "# Notes\n\ngreet and farewell\n"
T0 = 1700000100  # after the repository's first commit (1700000000), before the human's
COMMITTED = "1700000600 +0000"


def _farewell_session(cwd: str, t0: float = T0) -> Transcript:
    """Prompt (step 1); Edit adds farewell to app.py (step 2); Write creates NOTES.md (step 3)."""
    tr = Transcript(cwd, SESSION)
    tr.prompt(t0, "add a farewell")
    tr.edit(t0 + 10, t0 + 11, "app.py", BASE, '    return "hi " + name\n',
            '    return "hi " + name\n' + FAREWELL)
    tr.write(t0 + 20, t0 + 21, "NOTES.md", NOTES)
    tr.say(t0 + 30, "Added farewell and notes.")
    return tr


def _commit_by_hand(repo, monkeypatch, message: str = "farewell") -> str:
    monkeypatch.setenv("GIT_COMMITTER_DATE", COMMITTED)
    monkeypatch.setenv("GIT_AUTHOR_DATE", COMMITTED)
    repo.commit(message)
    return head(repo)


def _import(repo, path) -> dict:
    proc = repo.ot("import", "claude-code", path, "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stderr == b""
    return json.loads(proc.stdout)


def _note_line(step: int, hunk: str, path: str, lines: list[int]) -> dict:
    return {"v": 1, "session": SESSION, "step": step, "hunk": hunk, "path": path, "lines": lines,
            "harness": "claude-code", "model": MODEL}


@pytest.mark.parametrize("where", ["here", "elsewhere"])
def test_import_anchors_the_commit_that_took_the_work(repo, tmp_path, monkeypatch, where):
    set_up(repo, False)
    # The session ran in this checkout, or in another one (another machine):
    # its paths map onto this repository either way.
    cwd = str(repo.path) if where == "here" else "/home/someone/src/" + repo.path.name
    path = _farewell_session(cwd).save(tmp_path / "session.jsonl")
    # The agent's edits, then the human's own line, committed by hand.
    repo.write("app.py", BASE + FAREWELL + "# by hand\n")
    repo.write("NOTES.md", NOTES)
    c = _commit_by_hand(repo, monkeypatch)
    assert note(repo) is None  # nothing known when it was made

    out = _import(repo, path)
    assert out["anchored"] == [c] and out["files"] == 1
    assert [s["session"] for s in out["sessions"]] == [SESSION]
    assert note(repo) == [_note_line(2, "2.1.1", "app.py", [3, 6]),
                          _note_line(3, "3.1.1", "NOTES.md", [1, 3])]

    wrote_app = agent_line(SESSION, 2, "2.1.1", "add a farewell", 1, MODEL)
    wrote_notes = agent_line(SESSION, 3, "3.1.1", "add a farewell", 1, MODEL)
    assert blame(repo, "app.py") == [
        # (the first commit's, made before any session: unknown)
        ("def greet(name):", NOT_ANCHORED), ('    return "hi " + name', NOT_ANCHORED),
        ("", wrote_app), ("", wrote_app), ("def farewell(name):", wrote_app),
        ('    return "bye " + name', wrote_app), ("# by hand", HUMAN)]
    assert blame(repo, "NOTES.md") == [("# Notes", wrote_notes), ("", wrote_notes),
                                       ("greet and farewell", wrote_notes)]
    track = repo.cli_json("track")
    assert [(s["session"], [(h["hunk"], h["path"], h["state"], h["lines"]) for h in s["hunks"]])
            for s in track["sessions"]] == [(SESSION, [
                ("2.1.1", "app.py", "alive_on_path", {"written": 4, "landed": 4, "alive": 4, "pending": 0}),
                ("3.1.1", "NOTES.md", "alive_on_path", {"written": 3, "landed": 3, "alive": 3, "pending": 0})])]

    # Importing again writes nothing new.
    notes_tip = repo.git("rev-parse", "refs/notes/opentraces").strip()
    session_tip = repo.git("rev-parse", f"refs/opentraces/sessions/{SESSION}").strip()
    again = _import(repo, path)
    assert again["anchored"] == [] and again["sessions"][0]["changed"] is False
    assert repo.git("rev-parse", "refs/notes/opentraces").strip() == notes_tip
    assert repo.git("rev-parse", f"refs/opentraces/sessions/{SESSION}").strip() == session_tip


def test_a_commit_anchored_before_the_import_gets_the_lines_and_the_text_output(repo, tmp_path, monkeypatch):
    """The first commit was made with git-ot's git hooks installed: they wrote
    its note then, knowing no session (nothing an agent wrote). The import
    adds the lines its session wrote to that note, keeping the note's own
    lines; the second commit, made without the hooks, is anchored anew."""
    set_up(repo, True)
    path = _farewell_session(str(repo.path)).save(tmp_path / "session.jsonl")
    repo.write("app.py", BASE + FAREWELL)
    first = _commit_by_hand(repo, monkeypatch, "farewell")
    assert note(repo, first) == []
    repo.cli_json("uninstall")
    repo.write("NOTES.md", NOTES)
    second = _commit_by_hand(repo, monkeypatch, "notes")
    # Another clone's line for the first commit, merged in: it stays.
    theirs = {"v": 1, "path": "app.py", "lines": [1, 1], "unattributed": "ambiguous"}
    repo.git("notes", "--ref=opentraces", "add", "-f", "-m", json.dumps(theirs, separators=(",", ":")), first)

    proc = repo.ot("import", "claude-code", path)
    assert proc.returncode == 0 and proc.stderr == b""
    assert proc.stdout.decode().splitlines()[1:] == [
        f"1 file, {len(open(path, 'rb').read())} bytes, 1 session",
        f"anchored 2 commits: {first[:12]} {second[:12]}"]
    assert note(repo, first) == [theirs, _note_line(2, "2.1.1", "app.py", [3, 6])]
    assert note(repo, second) == [_note_line(3, "3.1.1", "NOTES.md", [1, 3])]
    # Importing again adds nothing.
    tip = repo.git("rev-parse", "refs/notes/opentraces").strip()
    assert _import(repo, path)["anchored"] == []
    assert repo.git("rev-parse", "refs/notes/opentraces").strip() == tip


def test_edits_that_never_landed_anchor_nothing(repo, tmp_path, monkeypatch):
    set_up(repo, False)
    # The session edited app.py and wrote NOTES.md; the human threw that
    # away and committed other work of their own.
    path = _farewell_session(str(repo.path)).save(tmp_path / "session.jsonl")
    repo.write("README.md", "readme\nmore\n")
    c = _commit_by_hand(repo, monkeypatch, "readme")
    out = _import(repo, path)
    assert out["anchored"] == []
    assert note(repo, c) is None
    assert blame(repo, "README.md") == [("readme", NOT_ANCHORED), ("more", HUMAN)]
    # A commit made before the session began is not looked at.
    later = _farewell_session(str(repo.path), t0=T0 + 1000)
    later.session = "d7a0c9b3-2f1e-4c55-8a6b-1f0e9c8d7b6a"
    later.lines = [{**line, "sessionId": later.session, "uuid": "x" + line["uuid"]} for line in later.lines]
    repo.write("app.py", BASE + FAREWELL)
    repo.write("NOTES.md", NOTES)
    c2 = _commit_by_hand(repo, monkeypatch, "before the second session")
    out = _import(repo, later.save(tmp_path / "later.jsonl"))
    assert out["anchored"] == [] and note(repo, c2) is None


def test_a_structured_patch_alone_gives_no_states(repo, tmp_path, monkeypatch):
    """An older transcript without the file's contents: its patch is kept,
    but the step has no snapshots, so nothing is anchored by it."""
    set_up(repo, False)
    tr = Transcript(str(repo.path), SESSION)
    tr.prompt(T0, "add a farewell")
    full = f"{repo.path}/app.py"
    tr.tool(T0 + 10, T0 + 11, "Edit", {"file_path": full, "old_string": "x", "new_string": "y"},
             {"filePath": full, "structuredPatch": [{"oldStart": 2, "oldLines": 1, "newStart": 2, "newLines": 5,
                                                     "lines": ['     return "hi " + name', "+", "+",
                                                               "+def farewell(name):",
                                                               '+    return "bye " + name']}]})
    path = tr.save(tmp_path / "old.jsonl")
    repo.write("app.py", BASE + FAREWELL)
    c = _commit_by_hand(repo, monkeypatch)
    out = _import(repo, path)
    assert out["anchored"] == [] and note(repo, c) is None
    trail = read_records(repo, SESSION)["trail"]
    assert trail["snapshots"] == {}
    assert [p["source"] for p in trail["patches"]] == ["transcript"]


def test_the_imported_note_is_the_one_the_hooks_write(repo, tmp_path, monkeypatch):
    """The same work captured live with the hooks, and imported after the fact."""
    from support.repo import Repo, git
    from support.trail import Agent

    set_up(repo, True)
    a = Agent(repo, SESSION, model=MODEL)
    a.prompt("add a farewell")
    a.write("app.py", BASE + FAREWELL)
    a.write("NOTES.md", NOTES)
    a.stop()
    repo.write("app.py", BASE + FAREWELL + "# by hand\n")
    live = _commit_by_hand(repo, monkeypatch)

    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q")
    imported = Repo(other)
    monkeypatch.setenv("GIT_COMMITTER_DATE", "1700000000 +0000")
    imported.write("app.py", BASE)
    imported.write("README.md", "readme\n")
    imported.commit("initial")
    set_up(imported, False)
    path = _farewell_session(str(other)).save(tmp_path / "session.jsonl")
    imported.write("app.py", BASE + FAREWELL + "# by hand\n")
    imported.write("NOTES.md", NOTES)
    c = _commit_by_hand(imported, monkeypatch)
    assert _import(imported, path)["anchored"] == [c]

    assert note(imported, c) == note(repo, live) == [_note_line(2, "2.1.1", "app.py", [3, 6]),
                                                     _note_line(3, "3.1.1", "NOTES.md", [1, 3])]
    for f in ("app.py", "NOTES.md"):
        assert blame(imported, f) == blame(repo, f)
    imported.fsck()
