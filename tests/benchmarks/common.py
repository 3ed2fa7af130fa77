"""What every benchmark script here shares: a hermetic git environment, a
log on stderr, git and a timed process, the 95th percentile, and a scratch
directory per run.

Not a benchmark itself (its name does not start with `bench_`).
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path


def log(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def hermetic_env(home: Path) -> dict:
    """The environment for git and git-ot: no system or user configuration,
    and Python's bytecode cached as in an installed git-ot (see `bytecode`)."""
    env = dict(os.environ)
    bytecode(env)
    for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
                "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_OT_MAX_FILE_SIZE",
                "GIT_TRACE", "GIT_TRACE2", "GIT_TRACE2_PERF", "GIT_TRACE_PERFORMANCE"):
        env.pop(key, None)
    env.update({
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        "GIT_AUTHOR_NAME": "Bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "Bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
        "GIT_TERMINAL_PROMPT": "0",
        "LC_ALL": "C",
    })
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
    return env


_COMPILED: set[tuple[str, str]] = set()


def bytecode(env: dict) -> None:
    """Let the git-ot a benchmark runs read its modules' bytecode, as an
    installed one does (pip compiles it at install), even where the
    environment says PYTHONDONTWRITEBYTECODE or the source tree is a fresh
    checkout: the bytecode goes to a cache of its own under the temporary
    directory, compiled once before anything is timed. Without it every
    process compiles every module it imports, which an installed git-ot
    never does."""
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    prefix = env.setdefault("PYTHONPYCACHEPREFIX",
                            os.path.join(tempfile.gettempdir(), "git-ot-bench-pycache"))
    found = subprocess.run([sys.executable, "-c", "import git_ot, os; print(os.path.dirname(git_ot.__file__))"],
                           env=env, capture_output=True, text=True)
    package = found.stdout.strip()
    if found.returncode == 0 and package and (prefix, package) not in _COMPILED:
        subprocess.run([sys.executable, "-m", "compileall", "-q", package], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _COMPILED.add((prefix, package))


def git(repo: Path, *args: str, input: bytes | None = None) -> bytes:
    """Run git in `repo`; its output (an error raises)."""
    return subprocess.run(["git", *args], cwd=repo, input=input, check=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE).stdout


def run_timed(argv: list[str], cwd: Path, env: dict | None = None,
              input: bytes | None = None) -> tuple[float, bytes]:
    """Wall time (ms) of a whole process, and its output; a failure raises."""
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, input=input, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
    elapsed = (time.perf_counter() - start) * 1000.0
    if proc.returncode != 0:
        raise RuntimeError(f"{argv!r} failed: {proc.stderr.decode(errors='replace').strip()}")
    return elapsed, proc.stdout


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


@contextlib.contextmanager
def scratch(prefix: str, keep: bool):
    """A temporary directory for one run, removed at the end unless `keep`.

    A benchmark is a report, not a test: a failure inside is printed with
    its traceback and the script still exits 0.
    """
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield tmp
        if keep:
            log(f"kept {tmp}")
    except Exception as exc:
        traceback.print_exc()
        log(f"benchmark failed: {exc!r}")
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)
