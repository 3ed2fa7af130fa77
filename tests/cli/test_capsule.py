"""`git ot capsule` on an imported Claude Code session: the record, bad input, the verdict's rules.

The end-to-end story with the real Claude Code CLI and a Python
environment rebuilt by pip is tests/e2e/test_capsule.py; here the verdict
commands are plain shell, so every outcome and every refusal is cheap to
reach.
"""

from __future__ import annotations

import json
import subprocess

import jsonschema
import pytest

from git_ot.domain.replay import decide
from support.cli import run_here
from support.repo import RECORDED, git
from support.spec import load_schema

SID = "ccb0e11c-0fc0-4092-9003-508fc775c0f5"
TRANSCRIPT = RECORDED / "bash-writes" / "transcript.jsonl"


def imported(repo):
    proc = repo.cli("import", "claude-code", str(TRANSCRIPT), "--json")
    assert proc.returncode == 0, proc.stderr.decode()


def sealed(repo, tmp_path, *args, name="c.capsule"):
    imported(repo)
    proc = repo.cli("capsule", "seal", SID[:8], *args, "--output", str(tmp_path / name), "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    return tmp_path / name, json.loads(proc.stdout)


def opened(tmp_path, capsule, name="opened"):
    proc = run_here(tmp_path, "capsule", "open", str(capsule), name)
    assert proc.returncode == 0, proc.stderr.decode()
    return tmp_path / name


def error(proc) -> list[str]:
    assert proc.returncode == 1, proc.stdout.decode() + proc.stderr.decode()
    assert proc.stdout.decode() == ""
    return proc.stderr.decode().splitlines()


def objects(path) -> set[str]:
    out = git(path, "cat-file", "--batch-all-objects", "--batch-check=%(objectname)")
    return set(out.split())


def test_seal_writes_a_bundle_of_one_commit_whose_record_matches_the_schema(repo, tmp_path):
    imported(repo)
    before = objects(repo.path)
    capsule, seal = sealed(repo, tmp_path, "--verdict", "grep -q hey app.py", "--setup", "true")
    # Nothing was added to the user's repository: the commit was made beside it.
    assert objects(repo.path) == before
    assert seal["session"] == SID and seal["step"] == 6  # no failing tool call: the last step
    assert seal["bytes"] == capsule.stat().st_size and seal["pins"] == 0
    heads = git(tmp_path, "bundle", "list-heads", str(capsule)).split()
    assert heads == [seal["commit"], "refs/heads/capsule"]
    unpacked = tmp_path / "unpacked.git"
    git(tmp_path, "init", "-q", "--bare", str(unpacked))
    git(unpacked, "bundle", "unbundle", str(capsule))
    assert git(unpacked, "rev-list", "--parents", seal["commit"]).split() == [seal["commit"]]
    names = git(unpacked, "ls-tree", "--name-only", seal["commit"]).split()
    assert names == ["CAPSULE.md", "capsule.json", "ctx.json", "snapshot"]
    record = json.loads(git(unpacked, "show", f"{seal['commit']}:capsule.json"))
    jsonschema.validate(record, load_schema("capsule"))
    jsonschema.validate(record, load_schema("record"))
    base = git(repo.path, "rev-parse", "HEAD").strip()
    assert record["snapshot"] == {"tree": git(repo.path, "rev-parse", "HEAD^{tree}").strip(),
                                  "from": f"commit {base}"}
    assert git(unpacked, "rev-parse", f"{seal['commit']}:snapshot").strip() == record["snapshot"]["tree"]
    assert record["source"]["commit"] == base
    assert record["intent"] == ["create a settings module and a pkg package using the shell"]
    assert [i["n"] for i in record["trajectory"]] == [1, 2, 3, 4, 5, 6]
    assert record["verdict"] == {"command": "grep -q hey app.py", "setup": "true"}
    assert record["environment"]["python_env"] is None
    assert record["ctx"] == "ctx.json"
    ctx = json.loads(git(unpacked, "show", f"{seal['commit']}:ctx.json"))
    shown = repo.cli_json("ctx", "show", f"{SID}:6")
    assert ctx["messages"] == shown["messages"] and ctx["step"] == 6
    # A named step: the failing step's command and output.
    proc = repo.cli("capsule", "seal", f"{SID}:5", "--verdict", "false", "--output", str(tmp_path / "s5.capsule"),
                    "--json")
    assert json.loads(proc.stdout)["failure"]["command"] == "cat settings.py app.py"
    # An existing file is not overwritten.
    assert error(repo.cli("capsule", "seal", SID, "--verdict", "false", "--output", str(capsule))) == [
        f"error: '{capsule}' already exists", "hint: name another file with --output FILE"]


def test_open_show_and_replay_reproduces_fixed_and_at_another_revision(repo, tmp_path):
    capsule, _ = sealed(repo, tmp_path, "--verdict", "grep -q hey app.py")
    where = opened(tmp_path, capsule)
    assert (where / "app.py").read_text() == 'def greet(name):\n    return "hi " + name\n'
    assert git(where, "status", "--porcelain") == ""
    assert git(where, "symbolic-ref", "HEAD").strip() == "refs/heads/capsule"
    shown = json.loads(run_here(where, "capsule", "show", "--json").stdout)
    assert shown["directory"] == str(where) and shown["session"] == SID
    text = run_here(tmp_path, "capsule", "show", "opened").stdout.decode().splitlines()
    assert text[:5] == [f"capsule of session {SID} at step 6", "harness claude-code 2.1.328, model claude-opus-5-5",
                        "", "intent:", "  1. create a settings module and a pkg package using the shell"]
    assert text[-1] == "verdict: grep -q hey app.py"

    proc = run_here(where, "capsule", "replay")
    assert proc.returncode == 0
    assert proc.stdout.decode().splitlines() == ["reproduces: the verdict command fails (exit 1)",
                                                 "recorded exit -, replayed exit 1"]
    # The fix lands in the source repository; the maintainer fetches it and replays there.
    repo.write("app.py", 'def greet(name):\n    return "hey " + name\n')
    fix = repo.commit("say hey")
    assert error(run_here(where, "capsule", "replay", "--at", fix)) == [
        f"error: revision '{fix}' is not in the capsule's repository",
        f"hint: fetch it first: git fetch SOURCE {fix}"]
    git(where, "fetch", "-q", str(repo.path), "main")
    result = json.loads(run_here(where, "capsule", "replay", "--at", fix, "--json").stdout)
    assert (result["verdict"], result["flipped"], result["at"]) == ("fixed", True, fix)
    assert result["tree"] == git(repo.path, "rev-parse", f"{fix}^{{tree}}").strip()
    assert result["replayed"] == {"exit_status": 0, "output": "", "timed_out": False}
    assert git(where, "status", "--porcelain") == ""


def test_replay_at_fetches_the_revision_from_the_recorded_origin(repo, tmp_path):
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo.path), str(origin))
    git(repo.path, "remote", "add", "origin", str(origin))
    capsule, seal = sealed(repo, tmp_path, "--verdict", "grep -q hey app.py")
    where = opened(tmp_path, capsule)
    assert json.loads(run_here(where, "capsule", "show", "--json").stdout)["source"]["repository"] == str(origin)
    repo.write("app.py", 'def greet(name):\n    return "hey " + name\n')
    fix = repo.commit("say hey")
    assert error(run_here(where, "capsule", "replay", "--at", fix)) == [
        f"error: revision '{fix}' is not in the capsule's repository nor in '{origin}'",
        f"hint: fetch it first: git fetch {origin} {fix}"]
    git(repo.path, "push", "-q", "origin", "main")
    proc = run_here(where, "capsule", "replay", "--at", fix)
    assert proc.returncode == 0
    assert proc.stdout.decode().splitlines() == ["fixed (flipped): the verdict command passes now (exit 0)",
                                                 f"recorded exit -, replayed exit 0, at {fix}"]


def test_a_hanging_verdict_a_failing_setup_and_a_missing_command_are_inconclusive(repo, tmp_path):
    capsule, _ = sealed(repo, tmp_path, "--verdict", "sleep 60")
    where = opened(tmp_path, capsule)
    proc = run_here(where, "capsule", "replay", "--timeout", "0.5")
    assert proc.returncode == 2
    assert proc.stdout.decode().splitlines()[0] == "inconclusive: the verdict command did not finish in 0.5 s"
    capsule, _ = sealed(repo, tmp_path, "--verdict", "true", "--setup", "echo building; exit 3", name="s.capsule")
    where = opened(tmp_path, capsule, "setup")
    proc = run_here(where, "capsule", "replay", "--json")
    assert proc.returncode == 2
    result = json.loads(proc.stdout)
    assert (result["verdict"], result["reason"]) == ("inconclusive", "the setup command failed (exit 3)")
    assert result["setup_result"] == {"exit_status": 3, "output": "building\n", "timed_out": False}
    assert result["replayed"]["exit_status"] is None
    capsule, _ = sealed(repo, tmp_path, "--verdict", "no-such-command-here", name="m.capsule")
    where = opened(tmp_path, capsule, "missing")
    proc = run_here(where, "capsule", "replay")
    assert proc.returncode == 2
    assert proc.stdout.decode().splitlines()[0] == "inconclusive: the verdict command could not run (exit 127)"


@pytest.mark.parametrize("case", ["text", "bundle", "newer"])
def test_open_refuses_what_is_not_a_capsule_of_this_version(repo, tmp_path, case):
    if case == "text":
        path = tmp_path / "notes.capsule"
        path.write_text("not a bundle\n")
        expected = [f"error: '{path}' is not a capsule: not a git bundle",
                    "hint: a capsule is the file 'git ot capsule seal' writes"]
    elif case == "bundle":
        path = tmp_path / "repo.bundle"
        git(repo.path, "bundle", "create", "-q", str(path), "main")
        expected = [f"error: '{path}' is a git bundle but not a capsule: it has no refs/heads/capsule",
                    "hint: a capsule is the file 'git ot capsule seal' writes"]
    else:
        capsule, seal = sealed(repo, tmp_path, "--verdict", "false")
        work = tmp_path / "rewrite.git"
        git(tmp_path, "init", "-q", "--bare", str(work))
        git(work, "bundle", "unbundle", str(capsule))
        record = json.loads(git(work, "show", f"{seal['commit']}:capsule.json"))
        record["v"] = 2
        blob = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=work, input=json.dumps(record),
                              capture_output=True, text=True, check=True).stdout.strip()
        entries = git(work, "ls-tree", seal["commit"]).replace(
            git(work, "rev-parse", f"{seal['commit']}:capsule.json").strip(), blob)
        tree = subprocess.run(["git", "mktree"], cwd=work, input=entries, capture_output=True, text=True,
                              check=True).stdout.strip()
        commit = git(work, "commit-tree", tree, "-m", "a capsule from the future").strip()
        git(work, "update-ref", "refs/heads/capsule", commit)
        path = tmp_path / "future.capsule"
        git(work, "bundle", "create", "-q", str(path), "refs/heads/capsule")
        expected = [f"error: '{path}' has capsule format version 2; this git-ot reads up to version 1",
                    "hint: upgrade git-ot to open it"]
    assert error(run_here(tmp_path, "capsule", "open", str(path), "out")) == expected
    assert not (tmp_path / "out").exists()  # nothing half made is left


def test_bad_input_is_one_clear_line(repo, tmp_path):
    capsule, _ = sealed(repo, tmp_path, "--verdict", "false")
    where = opened(tmp_path, capsule)
    assert error(run_here(tmp_path, "capsule", "open", str(capsule), "opened")) == [
        f"error: '{where}' already exists", "hint: name another directory: capsule open FILE DIR"]
    assert error(repo.cli("capsule", "show")) == [
        f"error: '{repo.path}' is not an opened capsule", "hint: open one with 'git ot capsule open FILE DIR'"]
    assert error(repo.cli("capsule", "replay")) == [
        f"error: '{repo.path}' is not an opened capsule", "hint: open one with 'git ot capsule open FILE DIR'"]
    assert error(run_here(where, "capsule", "replay", "--with", "tinylib")) == [
        "error: cannot read --with 'tinylib'",
        "hint: name a distribution as NAME==VERSION or NAME@PATH (a wheel or a folder)"]
    assert error(run_here(where, "capsule", "replay", "--with", "tinylib==1.1")) == [
        "error: the capsule records no Python environment to put a distribution in",
        "hint: --with replaces a pinned distribution of a Python project's environment"]
    assert error(run_here(where, "capsule", "replay", "--timeout", "0")) == [
        "error: invalid timeout 0", "hint: give --timeout a number of seconds above 0"]
    assert error(repo.cli("capsule", "seal", "nosuchsession", "--verdict", "false")) == [
        "error: no session matches 'nosuchsession'",
        "hint: 'git ot trace list' shows the sessions of this repository"]
    assert error(repo.cli("capsule", "seal", f"{SID}:99", "--verdict", "false"))[0] == \
        f"error: session {SID[:12]} has no step 99"
    # The capsule carries one step's context.
    assert error(run_here(where, "ctx", "show", f"{SID}:5")) == [
        "error: the capsule holds the context of step 6 only, not of step 5",
        f"hint: name it as {SID}:6"]
    assert run_here(where, "ctx", "show", f"{SID[:8]}:6").returncode == 0


def test_the_gate_blocks_a_capsule_under_the_block_policy(repo, tmp_path):
    imported(repo)
    git(repo.path, "config", "ot.security.action", "block")
    secret = "AKIAQ7ZK2M4XWTB9RJ5N"
    lines = error(repo.cli("capsule", "seal", SID, "--verdict", f"deploy --key {secret}",
                           "--output", str(tmp_path / "c.capsule")))
    assert lines[0] == "error: the security gate holds back the capsule: aws-access-key in the capsule's record"
    assert not (tmp_path / "c.capsule").exists()
    git(repo.path, "config", "ot.security.action", "redact")
    _, seal = sealed(repo, tmp_path, "--verdict", f"deploy --key {secret}", name="r.capsule")
    assert secret.encode() not in (tmp_path / "r.capsule").read_bytes()


@pytest.mark.parametrize("problem,setup,run,expected", [
    ("could not make the environment (exit 1)", None, None,
     ("inconclusive", "could not make the environment (exit 1)")),
    (None, {"exit_status": None, "timed_out": True}, None,
     ("inconclusive", "the setup command did not finish in 5 s")),
    (None, {"exit_status": 2, "timed_out": False}, None, ("inconclusive", "the setup command failed (exit 2)")),
    (None, {"exit_status": 0, "timed_out": False}, {"exit_status": None, "timed_out": True},
     ("inconclusive", "the verdict command did not finish in 5 s")),
    (None, None, {"exit_status": 126, "timed_out": False},
     ("inconclusive", "the verdict command could not run (exit 126)")),
    (None, None, {"exit_status": 127, "timed_out": False},
     ("inconclusive", "the verdict command could not run (exit 127)")),
    (None, None, {"exit_status": 0, "timed_out": False}, ("fixed", "the verdict command passes now (exit 0)")),
    (None, None, {"exit_status": 1, "timed_out": False}, ("reproduces", "the verdict command fails (exit 1)")),
    (None, None, {"exit_status": 139, "timed_out": False}, ("reproduces", "the verdict command fails (exit 139)")),
])
def test_decide(problem, setup, run, expected):
    assert decide(problem, setup, run, 5.0) == expected


# -- the Python environment: which one, and its pins ------------------------------------

def fake_venv(path, dists: dict, version="3.11.7", editable: dict | None = None):
    """A virtual environment as far as recording it goes: pyvenv.cfg and dist-info folders."""
    site = path / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    (path / "pyvenv.cfg").write_text(f"home = /usr/bin\ninclude-system-site-packages = false\nversion = {version}\n")
    (path / "bin").mkdir()
    for name, ver in dists.items():
        info = site / f"{name.replace('-', '_')}-{ver}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {ver}\n")
        if editable and name in editable:
            (info / "direct_url.json").write_text(json.dumps(
                {"url": editable[name].as_uri(), "dir_info": {"editable": True}}))
    return path


def test_the_environment_is_the_verdicts_else_the_active_one_else_the_projects(tmp_path):
    from git_ot.domain import pyenv

    top = tmp_path / "project"
    (top / "lib").mkdir(parents=True)
    fake_venv(top / "venv", {"a": "1"})
    fake_venv(top / "tools" / "env", {"b": "2"})
    outside = fake_venv(tmp_path / "elsewhere", {"c": "3"})
    assert pyenv.find(str(top), "tools/env/bin/pytest -x", {}) == str(top / "tools" / "env")
    assert pyenv.find(str(top), "pytest -x", {"VIRTUAL_ENV": str(outside)}) == str(outside)
    assert pyenv.find(str(top), "pytest -x", {}) == str(top / "venv")
    assert pyenv.find(str(top), "'unbalanced", {}) == str(top / "venv")
    assert pyenv.find(str(tmp_path / "project" / "lib"), "make test", {}) is None
    assert pyenv.record(str(top), "pytest", {"VIRTUAL_ENV": str(outside)}) == {
        "path": None, "python": "3.11.7", "pins": [{"name": "c", "version": "3"}]}


def test_the_pins_are_every_distribution_but_pip_sorted_with_editable_folders(tmp_path):
    from git_ot.domain import pyenv

    top = tmp_path / "project"
    (top / "src" / "app").mkdir(parents=True)
    fake_venv(top / ".venv", {"Zlib_Tool": "0.1", "pip": "24.0", "app": "0.0.1", "attrs": "23.2.0"},
              version="3.12.1", editable={"app": top / "src" / "app"})
    assert pyenv.record(str(top), ".venv/bin/python -m pytest", {}) == {
        "path": ".venv", "python": "3.12.1",
        "pins": [{"name": "app", "version": "0.0.1", "editable": "src/app"},
                 {"name": "attrs", "version": "23.2.0"}, {"name": "Zlib_Tool", "version": "0.1"}]}
    pins = pyenv.record(str(top), "pytest", {})["pins"]
    wheel = tmp_path / "zlib_tool-0.2-py3-none-any.whl"
    wheel.write_bytes(b"")
    replaced = pyenv.with_replaced(pins, pyenv.parse_with(["zlib-tool@" + wheel.name, "attrs==24.1.0",
                                                           "new==1"], str(tmp_path)))
    assert replaced == [{"name": "app", "version": "0.0.1", "editable": "src/app"},
                        {"name": "attrs", "version": "24.1.0"}, {"name": "new", "version": "1"},
                        {"name": "zlib-tool", "path": str(wheel)}]
    assert [a for p in replaced for a in pyenv.requirement(p, "/copy")] == [
        "-e", "/copy/src/app", "attrs==24.1.0", "new==1", str(wheel)]
    with pytest.raises(Exception) as info:
        pyenv.parse_with(["x@missing.whl"], str(tmp_path))
    assert info.value.message == f"no such file or folder '{tmp_path / 'missing.whl'}' in --with 'x@missing.whl'"


def test_a_secret_in_a_committed_file_of_the_snapshot_is_redacted_or_refused(repo, tmp_path):
    secret = "ghp_" + "R8a2Kd9ZqL4mX7vN1cT6wB3yH5pJ0sEfGuQi"
    repo.write("deploy.sh", f"#!/bin/sh\nTOKEN={secret}\necho deploying\n")
    repo.commit("deploy script")
    imported(repo)
    git(repo.path, "config", "ot.security.action", "block")
    assert error(repo.cli("capsule", "seal", SID, "--verdict", "sh deploy.sh",
                          "--output", str(tmp_path / "b.capsule")))[0] == \
        "error: the security gate holds back the capsule: github-token in 'deploy.sh' of the snapshot"
    assert not (tmp_path / "b.capsule").exists()
    git(repo.path, "config", "ot.security.action", "redact")
    capsule, seal = sealed(repo, tmp_path, "--verdict", "sh deploy.sh")
    assert secret.encode() not in capsule.read_bytes()
    where = opened(tmp_path, capsule)
    assert (where / "deploy.sh").read_text() == "#!/bin/sh\nTOKEN=[REDACTED:github-token]\necho deploying\n"
    assert (where / "app.py").read_text() == 'def greet(name):\n    return "hi " + name\n'
    record = json.loads(run_here(where, "capsule", "show", "--json").stdout)
    assert record["snapshot"]["redacted"] == ["deploy.sh"]
    assert record["snapshot"]["tree"] == seal["snapshot"] != git(repo.path, "rev-parse", "HEAD^{tree}").strip()
    jsonschema.validate({k: v for k, v in record.items() if k != "directory"}, load_schema("capsule"))
