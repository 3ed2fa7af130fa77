"""Codex's apply_patch calls cost the agent no Python: their files go to the inbox from sh.

Each command here is the one `git ot install codex` writes for PreToolUse
and PostToolUse (capture/codex/config.py, `patch_command`), run through
`/bin/bash -c` in the repository with the payload on stdin, as Codex 0.169
runs it, compact JSON as Codex writes it; and through `/bin/sh -c`, since
the line is POSIX sh and must not depend on bash. Where the sh line cannot be sure of what
the patch changes, it hands the payload to git-ot; here that runner is
replaced by one that only leaves a mark, so each test sees which way the
call went. The real Codex CLI runs the same hooks in tests/e2e/test_codex.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

from git_ot.capture.codex.config import command_for
from git_ot.store import inbox
from support import hookcommands
from support.trail import read_records

SID = "01a24356-cad1-7870-916c-0a418c1d6cb8"
UPDATE = "*** Begin Patch\n*** Update File: app.py\n@@\n-    return \"hi \" + name\n+    return \"hello \" + name\n"
ADD = "*** Add File: lib/new mod.py\n+X = 1\n"


SHELL = ["/bin/bash"]


@pytest.fixture(autouse=True, params=["/bin/bash", "/bin/sh"])
def shell(request):
    SHELL[0] = request.param
    yield request.param
    SHELL[0] = "/bin/bash"


def _run(repo, event: str, patch, call: str = "call_1", tool: str = "apply_patch", cwd=None) -> bool:
    """The event's hook command on a payload; whether it handed the payload to git-ot."""
    mark = repo.path.parent / f"ran-{event}"
    command = command_for(event, "user").replace(hookcommands.runner("codex", event, "user"),
                                                 f"cat >'{mark}'")
    payload = {"session_id": SID, "turn_id": "t1", "transcript_path": None, "cwd": str(cwd or repo.path),
               "hook_event_name": event, "model": "gpt-5.5", "tool_name": tool,
               "tool_input": {"command": patch}, "tool_use_id": call}
    if event == "PostToolUse":
        payload["tool_response"] = "Success."
    raw = json.dumps(payload, separators=(",", ":"))
    proc = subprocess.run([SHELL[0], "-c", command], cwd=repo.path, input=raw.encode(), capture_output=True)
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr
    ran = mark.exists()
    if ran:
        assert mark.read_text() == raw  # the payload, whole, to git-ot
        mark.unlink()
    return ran


def _inbox(repo):
    return repo.path / ".git" / "opentraces" / "inbox"


def _names(repo) -> list[str]:
    return sorted(n.split(".", 2)[2] if n[0].isdigit() else n for n in os.listdir(_inbox(repo))
                  if not n.startswith("."))


def _blob(repo, text: str) -> str:
    return repo.git("hash-object", "--stdin", input=text).strip()


def test_an_update_goes_to_the_inbox_with_its_file(repo):
    repo.ot("init")
    old = (repo.path / "app.py").read_text()
    patch = UPDATE + "*** End Patch\n"
    assert not _run(repo, "PreToolUse", patch)
    assert _names(repo) == ["call_1.codex.before", "codex.PreToolUse.json"]
    assert (_inbox(repo) / "call_1.codex.before").read_text() == f"before {_blob(repo, old)} app.py\n"
    new = old.replace('"hi "', '"hello "')
    (repo.path / "app.py").write_text(new)  # the call: what Codex's apply_patch does
    assert not _run(repo, "PostToolUse", patch)
    # The start's line is in the end's .files; the drain deletes the two.
    assert _names(repo) == ["call_1.codex.before", "codex.PostToolUse.files", "codex.PostToolUse.json",
                            "codex.PreToolUse.json"]
    [files] = [n for n in os.listdir(_inbox(repo)) if n.endswith(".files")]
    assert (_inbox(repo) / files).read_text() == (
        f"before {_blob(repo, old)} app.py\nafter {_blob(repo, new)} app.py\n")
    # The blobs are in git already: the drain reads them, and the seal makes
    # the step's patch and the states of its file, which blame follows.
    repo.cli_json("trace", "list")
    assert _names(repo) == []
    records = read_records(repo, SID)
    [step] = records["trace"]["steps"]
    assert (step["kind"], step["name"], step["tool_use_id"]) == ("tool", "apply_patch", "call_1")
    [patch_record] = records["trail"]["patches"]
    assert [(f["status"], f["path"], f["added"], f["removed"], f["hunks"]) for f in patch_record["files"]] == [
        ("M", "app.py", 1, 1, [[2, 1, 2, 1]])]
    assert sorted(records["trail"]["snapshots"]) == ["1-after", "1-before"]
    blame = repo.cli_json("blame", "app.py")["lines"]
    assert [(ln["content"], ln["attribution"]["kind"], ln["attribution"].get("step")) for ln in blame] == [
        ("def greet(name):", "unknown", None), ('    return "hello " + name', "agent", 1)]


def test_an_added_file_has_no_state_before(repo):
    repo.ot("init")
    patch = "*** Begin Patch\n" + ADD + "*** End Patch\n"
    assert not _run(repo, "PreToolUse", patch)
    assert (_inbox(repo) / "call_1.codex.before").read_text() == "before - lib/new mod.py\n"
    (repo.path / "lib").mkdir()
    (repo.path / "lib" / "new mod.py").write_text("X = 1\n")
    assert not _run(repo, "PostToolUse", patch)
    repo.cli_json("trace", "list")
    records = read_records(repo, SID)
    [patch_record] = records["trail"]["patches"]
    assert [(f["status"], f["path"], f["hunks"]) for f in patch_record["files"]] == [
        ("A", "lib/new mod.py", [[0, 0, 1, 1]])]
    repo.git("add", "lib")
    repo.git("commit", "-q", "-m", "new module")  # git-ot's post-commit hook anchors it
    blame = repo.cli_json("blame", "lib/new mod.py")["lines"]
    assert [(ln["content"], ln["attribution"]["kind"], ln["attribution"].get("step")) for ln in blame] == [
        ("X = 1", "agent", 1)]


@pytest.mark.parametrize("why, patch, tool, cwd", [
    ("another tool", UPDATE, "Bash", None),
    ("a file deleted", "*** Begin Patch\n*** Delete File: README.md\n*** End Patch\n", "apply_patch", None),
    ("a file moved", UPDATE + "*** Move to: app2.py\n*** End Patch\n", "apply_patch", None),
    ("a path JSON escapes", "*** Begin Patch\n*** Add File: say \"hi\".py\n+X = 1\n*** End Patch\n", "apply_patch",
     None),
    ("an update of a file not there", "*** Begin Patch\n*** Update File: nope.py\n@@\n-a\n+b\n*** End Patch\n",
     "apply_patch", None),
    ("no file named", "*** Begin Patch\n*** End Patch\n", "apply_patch", None),
    ("two files", UPDATE + ADD + "*** End Patch\n", "apply_patch", None),
    ("an added file, then an updated one", "*** Begin Patch\n" + ADD + UPDATE[len("*** Begin Patch\n"):]
     + "*** End Patch\n", "apply_patch", None),
    ("two updated files", UPDATE + UPDATE[len("*** Begin Patch\n"):].replace("app.py", "lib.py")
     + "*** End Patch\n", "apply_patch", None),
    ("a path with a backslash", "*** Begin Patch\n*** Add File: a\\b.py\n+X = 1\n*** End Patch\n",
     "apply_patch", None),
    ("another directory", UPDATE + "*** End Patch\n", "apply_patch", "/tmp"),
])
def test_what_sh_cannot_be_sure_of_goes_to_git_ot(repo, why, patch, tool, cwd):
    repo.ot("init")
    assert _run(repo, "PreToolUse", patch, tool=tool, cwd=cwd), why
    assert _run(repo, "PostToolUse", patch, tool=tool, cwd=cwd), why
    assert _names(repo) == []


def test_a_symbolic_link_goes_to_git_ot(repo):
    """git keeps a link's target path, not the file it points at."""
    repo.ot("init")
    os.symlink("app.py", repo.path / "link.py")
    patch = "*** Begin Patch\n*** Update File: link.py\n@@\n-    return \"hi \" + name\n+    return 1\n*** End Patch\n"
    assert _run(repo, "PreToolUse", patch)
    assert _run(repo, "PostToolUse", patch)
    assert _names(repo) == []


def test_an_end_whose_start_left_nothing_goes_to_git_ot(repo):
    """A start that went to git-ot (a full snapshot) has its end go there too."""
    repo.ot("init")
    assert _run(repo, "PostToolUse", UPDATE + "*** End Patch\n", call="call_9")
    assert _names(repo) == []


@pytest.mark.parametrize("left", [
    "before {old} app.p",  # its writer killed mid-line
    "before {old} app.py",  # ... or before the line's end
    "before {old} lib/app.py\n",  # another call's file, under the same id
    "",
])
def test_an_end_whose_start_left_no_whole_line_for_its_file_goes_to_git_ot(repo, left):
    repo.ot("init")
    patch = UPDATE + "*** End Patch\n"
    assert not _run(repo, "PreToolUse", patch)
    before = _inbox(repo) / "call_1.codex.before"
    before.write_text(left.format(old=_blob(repo, (repo.path / "app.py").read_text())))
    assert _run(repo, "PostToolUse", patch)
    assert _names(repo) == ["call_1.codex.before", "codex.PreToolUse.json"]


def test_files_of_no_entry_and_a_start_no_end_took_are_removed_in_time(repo):
    repo.ot("init")
    folder = _inbox(repo)
    orphan = folder / "1.2.codex.PostToolUse.files"
    orphan.write_text("after - x\n")
    pending = folder / "call_7.codex.before"
    pending.write_text("before - x\n")
    now = time.time()
    inbox.entries(str(repo.path / ".git" / "opentraces"), now)
    assert orphan.exists() and pending.exists()  # a writer may still be at work
    os.utime(orphan, (now - inbox.STALE_TMP, now - inbox.STALE_TMP))
    os.utime(pending, (now - inbox.STALE_TMP, now - inbox.STALE_TMP))
    inbox.entries(str(repo.path / ".git" / "opentraces"), now)
    assert not orphan.exists() and pending.exists()  # a call may run long
    os.utime(pending, (now - inbox.BEFORE_KEPT, now - inbox.BEFORE_KEPT))
    inbox.entries(str(repo.path / ".git" / "opentraces"), now)
    assert not pending.exists()


@pytest.mark.parametrize("files", [
    "after 0123 app.py\n",  # not a blob id
    "after - app.py\n",  # no file after
    "before - other.py\nafter {new} app.py\n",  # no state before of app.py
])
def test_files_the_drain_cannot_use_give_no_edits(repo, files):
    from git_ot.capture.hook import _edits
    from git_ot.store.gitdir import locate

    new = _blob(repo, "x\n")
    repo.git("hash-object", "-w", "--stdin", input="x\n")
    path = repo.path / ".git" / "opentraces" / "inbox"
    path.mkdir(parents=True, exist_ok=True)
    (path / "1.2.codex.PostToolUse.json").write_text("{}")
    (path / "1.2.codex.PostToolUse.files").write_text(files.format(new=new))
    [entry] = inbox.entries(str(repo.path / ".git" / "opentraces"), time.time())
    assert _edits(locate(str(repo.path)), str(repo.path), entry.files()) is None
    (path / "1.2.codex.PostToolUse.files").write_text(f"before - app.py\nafter {new} app.py\n")
    assert _edits(locate(str(repo.path)), str(repo.path), entry.files()) == [
        {"file": str(repo.path / "app.py"), "before": None, "after": "x\n"}]
