"""`git ot capsule replay`: pose an opened capsule's episode again.

The snapshot (or another revision, `--at`) is copied into a scratch
folder; a Python environment is rebuilt there from the recorded pins (one
of them replaced with `--with`); the setup command runs, then the verdict
command, each within the timeout. `decide` reads the outcome:

    reproduces    the verdict command fails, as it did when sealed
    fixed         it passes now: the verdict flipped
    inconclusive  it could not say: the environment could not be built,
                  the setup failed, the verdict timed out or could not
                  run (exit 126 or 127)
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import tempfile

import pygit2

from ..errors import BadReplaySpec
from ..store import git
from ..store.repository import Store
from . import capsule, pyenv

DEFAULT_TIMEOUT = 300.0
# A shell's "found but not executable" and "not found".
CANNOT_RUN = (126, 127)


def decide(problem: str | None, setup: dict | None, run: dict | None, timeout: float) -> tuple[str, str]:
    """The verdict of a replay and why, from what happened (plain data)."""
    if problem:
        return "inconclusive", problem
    if setup is not None:
        if setup["timed_out"]:
            return "inconclusive", f"the setup command did not finish in {timeout:g} s"
        if setup["exit_status"] != 0:
            return "inconclusive", f"the setup command failed (exit {setup['exit_status']})"
    if run["timed_out"]:
        return "inconclusive", f"the verdict command did not finish in {timeout:g} s"
    status = run["exit_status"]
    if status in CANNOT_RUN:
        return "inconclusive", f"the verdict command could not run (exit {status})"
    if status == 0:
        return "fixed", "the verdict command passes now (exit 0)"
    return "reproduces", f"the verdict command fails (exit {status})"


def _tree(store: Store, record: dict, at: str | None) -> str:
    repo = store.repo
    if at is None:
        return str(repo.revparse_single(capsule.SEALED_REF).peel(pygit2.Commit).tree[capsule.SNAPSHOT_DIR].id)
    found = _resolve(repo, at)
    source = record["source"].get("repository")
    if found is None and source:
        # Not here yet: ask the source repository (its origin, as recorded) for it.
        fetched = git.process(["fetch", "-q", "--no-tags", source, at], cwd=store.location.worktree)
        if fetched.returncode == 0:
            found = _resolve(repo, "FETCH_HEAD")
    if found is None:
        raise BadReplaySpec(f"revision '{at}' is not in the capsule's repository"
                            + (f" nor in '{source}'" if source else ""),
                            hint=f"fetch it first: git fetch {source or 'SOURCE'} {at}")
    return found


def _resolve(repo, rev: str) -> str | None:
    try:
        return str(repo.revparse_single(rev).peel(pygit2.Tree).id)
    except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
        return None


def _extract(store: Store, tree: str, into: str) -> None:
    data = git.run(["archive", "--format=tar", tree], cwd=store.location.worktree or store.location.common_dir)
    os.makedirs(into, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        if hasattr(tarfile, "tar_filter"):
            tar.extractall(into, filter="tar")
        else:  # pragma: no cover - Python before 3.11.4
            tar.extractall(into)


def replay(store: Store, with_specs: list[str] = (), at: str | None = None,
           timeout: float = DEFAULT_TIMEOUT, cwd: str | None = None, environ=os.environ) -> dict:
    """Replay the capsule opened in `store`'s repository; the outcome (see the module)."""
    record = capsule.load(store)
    if timeout <= 0:
        raise BadReplaySpec(f"invalid timeout {timeout:g}", hint="give --timeout a number of seconds above 0")
    replacements = pyenv.parse_with(list(with_specs), cwd or os.getcwd())
    env_record = record["environment"].get("python_env")
    if replacements and env_record is None:
        raise BadReplaySpec("the capsule records no Python environment to put a distribution in",
                            hint="--with replaces a pinned distribution of a Python project's environment")
    tree = _tree(store, record, at)
    scratch = tempfile.mkdtemp(prefix="git-ot-replay-")
    try:
        work = os.path.join(scratch, "work")
        _extract(store, tree, work)
        env = {k: v for k, v in environ.items() if k not in git.REPOSITORY_VARIABLES}
        problem, detail, venv = None, "", None
        pins = []
        if env_record is not None:
            pins = pyenv.with_replaced(env_record["pins"], replacements)
            venv, problem, detail = pyenv.build(env_record, pins, work, scratch, env, timeout)
            problem = problem or None
        run_env = pyenv.activated(env, venv)
        setup = run = None
        command = record["verdict"]["command"]
        if problem is None:
            if record["verdict"].get("setup"):
                setup = capsule.run_shell(record["verdict"]["setup"], work, run_env, timeout)
            if setup is None or (setup["exit_status"] == 0 and not setup["timed_out"]):
                run = capsule.run_shell(command, work, run_env, timeout)
        verdict, reason = decide(problem, setup, run, timeout)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {
        "verdict": verdict,
        "flipped": verdict == "fixed",
        "reason": reason,
        "session": record["session"],
        "step": record["step"],
        "command": command,
        "setup": record["verdict"].get("setup"),
        "recorded": {"exit_status": record["failure"].get("exit_status"),
                     "output": record["failure"].get("output")},
        "replayed": {"exit_status": run["exit_status"] if run else None,
                     "output": run["output"] if run else detail,
                     "timed_out": bool(run and run["timed_out"])},
        "setup_result": setup,
        "tree": tree,
        "at": at,
        "with": replacements,
        "environment": None if env_record is None else
        {"path": env_record.get("path"), "python": env_record.get("python"),
         "pins": [p if "path" not in p else {"name": p["name"], "path": p["path"]} for p in pins]},
        "timeout": timeout,
    }
