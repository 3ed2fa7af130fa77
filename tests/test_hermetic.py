"""The hermetic set-up of conftest.py: the guard on the real $HOME, and the HOME processes get."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from support import home as home_guard


def test_the_guard_records_writes_under_the_home_and_nothing_else(tmp_path):
    home, allowed, outside = tmp_path / "home", tmp_path / "home" / "checkout", tmp_path / "elsewhere"
    for d in (home, allowed, outside):
        d.mkdir(parents=True, exist_ok=True)
    (home / "kept").write_text("x\n")
    (outside / "file").write_text("x\n")
    with home_guard.Recorder([str(home)], [str(allowed)]) as guard:
        (home / "kept").read_text()
        os.close(os.open(home / "kept", os.O_RDONLY))
        (allowed / "ok").write_text("x\n")
        (outside / "file").write_text("y\n")
        assert guard.seen == []
        (home / "new").write_text("x\n")
        os.close(os.open(home / "made", os.O_CREAT | os.O_WRONLY))
        os.mkdir(home / "dir")
        os.rename(home / "new", home / "renamed")
        os.chmod(home / "renamed", 0o600)
        os.utime(home / "renamed")
        shutil.copyfile(outside / "file", home / "copy")
        os.remove(home / "copy")
        shutil.rmtree(home / "dir")
        os.symlink(outside / "file", home / "link")
    assert [(event, Path(path).relative_to(home).as_posix()) for event, path in guard.seen] == [
        ("open", "new"), ("open", "made"), ("os.mkdir", "dir"),
        ("os.rename", "new"), ("os.rename", "renamed"), ("os.chmod", "renamed"), ("os.utime", "renamed"),
        ("shutil.copyfile", "copy"), ("open", "copy"), ("os.remove", "copy"),
        ("shutil.rmtree", "dir"), ("os.rmdir", "dir"), ("os.symlink", "link")]
    (home / "after").write_text("x\n")  # no longer recording
    assert len(guard.seen) == 13


def test_every_test_runs_under_the_guard():
    """A write into the real home is seen even when it fails: the audit event
    comes before the system call (this one fails, so nothing is written)."""
    [guard] = home_guard._active  # the hermetic fixture's
    if not guard.homes:
        pytest.skip("no real home to guard")
    target = Path(guard.homes[0]) / f"git-ot-test-{uuid.uuid4().hex}" / "x"
    with pytest.raises(FileNotFoundError):
        os.mkdir(target)
    assert guard.seen == [("os.mkdir", str(target))]
    guard.seen.clear()  # the one write this test made on purpose


def test_processes_get_the_tests_home(hermetic):
    out = subprocess.run(["sh", "-c", 'echo "$HOME"; git config --global init.defaultBranch'],
                         capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == [str(hermetic), "main"]
