#!/usr/bin/env python3
"""Snapshot benchmark: git-ot snapshots against `git stash create`.

Run it as

    python tests/benchmarks/bench_snapshot.py [--files 5000] [--runs 15] [--json]

It builds, in a temporary directory, a committed repository of `--files`
code-like text files (0.5-8 KB each, in directories about three levels deep)
with a `.gitignore` that ignores a `build/` directory holding some files, and
times, each over `--runs` runs, in the same process and on the same tree:

  cold           the first snapshot: the private index
                 (`<git-dir>/opentraces/snapshot.index`) is deleted before
                 every run, so it is copied from the user's index again;
  no change      a snapshot with nothing changed since the previous one;
  with changes   a snapshot after 10 tracked files were rewritten and 5 new
                 untracked files were added (anew before every run; the 5 of
                 the previous run are removed, so the tree keeps its size).

Each is timed four ways: `snapshot.take()` called in this process (the
repository already located); a Python process that imports the hook path
(`git_ot.capture.hook`, as `git ot hook ...` does) and takes a snapshot; the
real hook, `git-ot hook claude-code PreToolUse` for a Write tool call (reads
the payload, locates the repository, snapshots, appends to the spool); and
the `git-ot snapshot` command (which goes through click).

The baseline is `git stash create`, a subprocess, run in the same state. The
tree always has uncommitted changes to tracked files (the 10 files above
differ from HEAD), so `git stash create` does real work and prints a commit
id. Runs are interleaved, figure and baseline alternately (A B, then B A), so
that a noisy shared machine slows both alike; the ratio is the figure's
median over its baseline's median. `git status --porcelain` (and with
`-uall`, which lists every untracked file as a snapshot must) is timed on
the same tree as a reference floor.

It is a report, not a test: it exits 0 whatever the figures. Timings use
Python's time.perf_counter around each call.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

# Make the package importable when run from a checkout without installing.
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import git, hermetic_env, log, p95, run_timed, scratch  # noqa: E402,F401  (others import them from here too)
from git_ot.store import snapshot  # noqa: E402
from git_ot.store.gitdir import locate  # noqa: E402

MODIFIED = 10
UNTRACKED = 5
IGNORED = 200

WORDS = (
    "value count index result buffer config parser token stream node tree "
    "item entry state cache handle request response client server record "
    "offset length size path name key data event batch queue worker task "
    "limit reader writer flag mode error status message payload context"
).split()
EXTENSIONS = (".py", ".py", ".py", ".js", ".ts", ".c", ".h", ".go", ".rs", ".md")


# ---------------------------------------------------------------------------
# The repository


def code_text(rng: random.Random, size: int) -> str:
    """Code-like lines up to about `size` bytes."""
    lines: list[str] = []
    total = 0
    while total < size:
        kind = rng.random()
        a, b, c = rng.choice(WORDS), rng.choice(WORDS), rng.choice(WORDS)
        indent = "    " * rng.randint(0, 3)
        if kind < 0.12:
            line = f"def {a}_{b}({c}, {a}=None):"
        elif kind < 0.2:
            line = f"{indent}# {a} the {b} before the {c} is read"
        elif kind < 0.45:
            line = f"{indent}{a}_{b} = {c}.{a}({b}, {rng.randint(0, 4096)})"
        elif kind < 0.6:
            line = f"{indent}if {a} > {rng.randint(0, 99)} and not {b}_{c}:"
        elif kind < 0.7:
            line = f"{indent}return {a}[{b}:{c}]"
        elif kind < 0.8:
            line = f"{indent}for {a} in {b}_{c}:"
        else:
            line = f"{indent}{a}.{b}_{c}({rng.choice(WORDS)!r}, {rng.random():.4f})"
        lines.append(line)
        total += len(line) + 1
    return "\n".join(lines) + "\n"


def make_repo(root: Path, files: int, seed: int) -> tuple[Path, list[Path], list[Path]]:
    """A committed repository; returns it, its files and the files to modify."""
    rng = random.Random(seed)
    repo = root / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    # No automatic gc while loose objects pile up over the runs.
    git(repo, "config", "gc.auto", "0")
    tops = ["src", "lib", "pkg", "app", "tools", "docs", "tests", "internal"]
    dirs: list[Path] = []
    for top in tops:
        for i in range(rng.randint(5, 9)):
            mid = Path(top) / f"{rng.choice(WORDS)}_{i}"
            dirs.append(mid)
            for j in range(rng.randint(3, 8)):
                dirs.append(mid / f"{rng.choice(WORDS)}{j}")
    paths: list[Path] = []
    for n in range(files):
        # Most files sit at the deepest level, as in real trees.
        where = Path(rng.choice(tops)) if rng.random() < 0.03 else rng.choice(dirs)
        name = f"{rng.choice(WORDS)}_{n}{rng.choice(EXTENSIONS)}"
        path = repo / where / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(code_text(rng, rng.randint(512, 8192)))
        paths.append(path)
    (repo / ".gitignore").write_text("build/\n*.pyc\n__pycache__/\n")
    for n in range(IGNORED):
        out = repo / "build" / ("obj" if n % 2 else "gen") / f"out_{n}.o"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(os.urandom(rng.randint(512, 4096)))
    # Files written in the second the index is written are "racily clean":
    # git would re-hash them on every refresh until the index is rewritten
    # later. A real tree is older than its index, so date the files back.
    past = time.time() - 60
    for path in [*paths, repo / ".gitignore"]:
        os.utime(path, (past, past))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial")
    modified = rng.sample(paths, MODIFIED)
    return repo, paths, modified


class Tree:
    """The working tree's changing part: 10 tracked files and 5 untracked."""

    def __init__(self, repo: Path, paths: list[Path], modified: list[Path], seed: int):
        self.repo = repo
        self.rng = random.Random(seed + 1)
        self.dirs = sorted({p.parent for p in paths})
        self.modified = modified
        self.untracked: list[Path] = []
        self.generation = 0

    def change(self) -> None:
        """Rewrite the 10 tracked files and replace the untracked ones, anew."""
        self.generation += 1
        for path in self.modified:
            path.write_text(f"# generation {self.generation}\n"
                            + code_text(self.rng, self.rng.randint(512, 8192)))
        for path in self.untracked:
            path.unlink()
        self.untracked = []
        for n in range(UNTRACKED):
            path = self.rng.choice(self.dirs) / f"scratch_{self.generation}_{n}.py"
            path.write_text(code_text(self.rng, self.rng.randint(512, 8192)))
            self.untracked.append(path)


# ---------------------------------------------------------------------------
# Timing


def git_ot_command() -> list[str]:
    sibling = Path(sys.executable).parent / "git-ot"
    if sibling.exists():
        return [str(sibling)]
    found = shutil.which("git-ot")
    return [found] if found else [sys.executable, "-m", "git_ot"]


HOOK_PATH_CODE = (
    "import sys\n"
    "import git_ot.capture.hook\n"  # everything `git ot hook` imports
    "from git_ot.store import snapshot\n"
    "from git_ot.store.gitdir import locate\n"
    "sys.stdout.write(snapshot.take(locate(), snapshot.configured_max_file_size()) + '\\n')\n"
)


class Bench:
    def __init__(self, repo: Path, tree: Tree, runs: int):
        self.repo = repo
        self.tree = tree
        self.runs = runs
        self.location = locate(str(repo))
        self.index_file = Path(self.location.worktree_state_dir) / "snapshot.index"
        self.max_size = snapshot.configured_max_file_size()
        self.rows: list[dict] = []
        self.stash_empty = 0
        self.hook_calls = 0

    # The operations; each returns milliseconds.

    def take(self) -> float:
        start = time.perf_counter()
        snapshot.take(self.location, self.max_size)
        return (time.perf_counter() - start) * 1000.0

    def hook_process(self) -> float:
        return run_timed([sys.executable, "-c", HOOK_PATH_CODE], self.repo)[0]

    def hook(self) -> float:
        """The real hook: `git-ot hook claude-code PreToolUse` for a Write."""
        self.hook_calls += 1
        payload = {
            "hook_event_name": "PreToolUse", "session_id": "bench-session",
            "cwd": str(self.repo), "transcript_path": None, "tool_name": "Write",
            "tool_use_id": f"toolu_{self.hook_calls:06d}",
            "tool_input": {"file_path": str(self.repo / "README.md"), "content": "x"},
        }
        start = time.perf_counter()
        proc = subprocess.run([*git_ot_command(), "hook", "claude-code", "PreToolUse"],
                              cwd=self.repo, input=json.dumps(payload).encode(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        elapsed = (time.perf_counter() - start) * 1000.0
        if proc.returncode != 0:
            raise RuntimeError(f"git-ot hook failed: {proc.stderr.decode(errors='replace')}")
        return elapsed

    def command(self) -> float:
        return run_timed([*git_ot_command(), "snapshot"], self.repo)[0]

    def stash_create(self) -> float:
        ms, out = run_timed(["git", "stash", "create"], self.repo)
        if not out.strip():
            self.stash_empty += 1
        return ms

    def status(self) -> float:
        return run_timed(["git", "status", "--porcelain"], self.repo)[0]

    def status_all(self) -> float:
        return run_timed(["git", "status", "--porcelain", "-uall"], self.repo)[0]

    # Phases: what to do before each pair of runs, and before the figure.

    def settle(self) -> None:
        """No change since the last snapshot."""
        snapshot.take(self.location, self.max_size)

    def drop_index(self) -> None:
        try:
            self.index_file.unlink()
        except FileNotFoundError:
            pass

    def pair(self, name: str, figure, baseline, baseline_name: str,
             before_pair=None, before_figure=None) -> dict:
        """Time `figure` and `baseline` alternately, each `runs` times."""
        # One untimed round warms the caches.
        for warm in range(1):
            if before_pair:
                before_pair()
            if before_figure:
                before_figure()
            figure()
            baseline()
        a: list[float] = []
        b: list[float] = []
        for i in range(self.runs):
            if before_pair:
                before_pair()
            if i % 2 == 0:
                if before_figure:
                    before_figure()
                a.append(figure())
                b.append(baseline())
            else:
                b.append(baseline())
                if before_figure:
                    before_figure()
                a.append(figure())
        row = {
            "figure": name,
            "median_ms": statistics.median(a),
            "p95_ms": p95(a),
            "baseline": baseline_name,
            "baseline_median_ms": statistics.median(b),
            "baseline_p95_ms": p95(b),
            "ratio": statistics.median(a) / statistics.median(b),
            "paired_ratio_median": statistics.median(x / y for x, y in zip(a, b)),
            "samples_ms": [round(x, 3) for x in a],
            "baseline_samples_ms": [round(x, 3) for x in b],
        }
        self.rows.append(row)
        log(f"  {name:<40} {row['median_ms']:8.1f} ms  vs {row['baseline_median_ms']:8.1f} ms"
            f"  ratio {row['ratio']:.2f}")
        return row

    def run(self) -> None:
        stash = "git stash create"
        ways = [
            ("take()", self.take),
            ("hook-path process", self.hook_process),
            ("git-ot hook process", self.hook),
            ("git-ot snapshot process", self.command),
        ]
        self.settle()
        for label, figure in ways:
            self.pair(f"cold, {label}", figure, self.stash_create, stash,
                      before_figure=self.drop_index)
        for label, figure in ways:
            self.pair(f"no change, {label}", figure, self.stash_create, stash,
                      before_pair=self.settle)
        for label, figure in ways:
            self.pair(f"with changes, {label}", figure, self.stash_create, stash,
                      before_pair=self.tree.change)
        self.settle()
        self.pair("reference: git status --porcelain", self.status, self.stash_create, stash)
        self.pair("reference: git status --porcelain -uall", self.status_all,
                  self.stash_create, stash)

    def check(self) -> list[str]:
        """The snapshot holds the untracked files and no ignored one."""
        problems = []
        tree = snapshot.take(self.location, self.max_size)
        names = set(git(self.repo, "ls-tree", "-r", "-z", "--name-only", tree).split(b"\0"))
        for path in self.tree.untracked:
            if os.fsencode(path.relative_to(self.repo)) not in names:
                problems.append(f"untracked file missing from the snapshot: {path}")
        if any(n.startswith(b"build/") for n in names):
            problems.append("an ignored file under build/ is in the snapshot")
        spooled = failed = 0
        spool = Path(self.location.state_dir)
        for journal in spool.rglob("*.jsonl"):
            for line in journal.read_text(errors="replace").splitlines():
                event = json.loads(line)
                if event.get("writes"):
                    spooled += 1
                    failed += "snapshot" not in event
        if spooled != self.hook_calls:
            problems.append(f"{self.hook_calls} hook calls but {spooled} spooled events")
        if failed:
            problems.append(f"{failed} hook events have no snapshot (see the spool)")
        if self.stash_empty:
            problems.append(f"git stash create printed nothing {self.stash_empty} times")
        return problems


def print_table(result: dict) -> None:
    print(f"git-ot snapshot benchmark: {result['files']} files, {result['runs']} runs, "
          f"{result['git']}, Python {result['python']}, {result['cpus']} CPUs")
    print(f"tree: {result['tree_files']} tracked files, {IGNORED} ignored under build/, "
          f"{MODIFIED} tracked files differ from HEAD")
    head = f"{'figure':<42} {'median ms':>10} {'p95 ms':>8} {'baseline ms':>12} {'ratio':>6}"
    print()
    print(head)
    print("-" * len(head))
    for row in result["rows"]:
        print(f"{row['figure']:<42} {row['median_ms']:>10.1f} {row['p95_ms']:>8.1f} "
              f"{row['baseline_median_ms']:>12.1f} {row['ratio']:>6.2f}")
    print()
    print("baseline: `git stash create` (subprocess) in the same state, interleaved; "
          "ratio = median / baseline median")
    for problem in result["problems"]:
        print(f"warning: {problem}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=5000, help="tracked files (default 5000)")
    parser.add_argument("--runs", type=int, default=15, help="runs of each figure (default 15)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated tree")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the temporary repository")
    args = parser.parse_args(argv)

    with scratch("git-ot-bench-", args.keep) as tmp:
        home = tmp / "home"
        home.mkdir()
        env = hermetic_env(home)
        os.environ.clear()
        os.environ.update(env)
        log(f"generating {args.files} files in {tmp} ...")
        start = time.perf_counter()
        repo, paths, modified = make_repo(tmp, args.files, args.seed)
        tree = Tree(repo, paths, modified, args.seed)
        tree.change()  # uncommitted changes, so `git stash create` has work
        log(f"  done in {time.perf_counter() - start:.1f} s")
        bench = Bench(repo, tree, args.runs)
        bench.run()
        result = {
            "files": args.files,
            "runs": args.runs,
            "tree_files": len(git(repo, "ls-files", "-z").split(b"\0")) - 1,
            "git": git(repo, "--version").decode().strip(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "rows": bench.rows,
            "problems": bench.check(),
        }
        if args.json:
            json.dump(result, sys.stdout, indent=2)
            sys.stdout.write("\n")
        else:
            print_table(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
