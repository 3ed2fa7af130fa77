#!/usr/bin/env python3
"""Start-up benchmark: what `git ot` costs before it does any work.

Run it as

    python tests/benchmarks/bench_startup.py [--runs 21] [--lines 500] [--commits 50] [--other SRC] [--json]

It times whole processes, as a user waits for them: `git ot --version`
(click and the group only: no command module), `git ot --help`, and
`git ot blame FILE` on a small file of a small history (start-up, imports
and one `git blame --porcelain`), beside the floors measured in the same
run: `python -c pass` (the interpreter alone) and `python -c "import click"`
(the least a click program imports), and `git blame --porcelain FILE` for
blame. Every command runs once in each round, the order rotating from round
to round, so a noisy neighbour slows all alike; medians are printed.

`--other SRC` adds the same git-ot rows run from another source tree (a
checkout's top folder, put first on PYTHONPATH), interleaved with the rest:
a before/after in one run, e.g. with `git worktree add /tmp/before HEAD~1`.

The processes run as an installed git-ot runs: with compiled bytecode (in a
temporary PYTHONPYCACHEPREFIX). It is a report, not a test: it exits 0
whatever the figures. Timings use Python's time.perf_counter.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_blame import make_history, python_env  # noqa: E402
from bench_snapshot import git_ot_command  # noqa: E402
from common import hermetic_env, log, p95, run_timed, scratch  # noqa: E402


def commands(ot: list[str], env: dict, other: Path | None) -> list[dict]:
    """Every timed command: its figure, argv, environment and baseline figure."""
    py = sys.executable
    rows = [
        {"figure": "python -c pass", "argv": [py, "-c", "pass"], "baseline": None},
        {"figure": "python -c 'import click'", "argv": [py, "-c", "import click"], "baseline": None},
        {"figure": "git blame --porcelain FILE", "argv": ["git", "blame", "--porcelain", "big.py"],
         "baseline": None},
    ]
    builds = [("", env)]
    if other is not None:
        builds.append((f" ({other.name})", {**env, "PYTHONPATH": str(other)}))
    for suffix, build_env in builds:
        rows += [
            {"figure": "git ot --version" + suffix, "argv": [*ot, "--version"], "env": build_env,
             "baseline": "python -c 'import click'"},
            {"figure": "git ot --help" + suffix, "argv": [*ot, "--help"], "env": build_env,
             "baseline": "python -c 'import click'"},
            {"figure": "git ot blame FILE" + suffix, "argv": [*ot, "blame", "big.py"], "env": build_env,
             "baseline": "git blame --porcelain FILE"},
        ]
    for row in rows:
        row.setdefault("env", env)
    return rows


def measure(rows: list[dict], cwd: Path, runs: int) -> None:
    """Each row's samples (ms): one run of every command a round, the order rotating."""
    for row in rows:  # one untimed round warms the caches (and writes the bytecode)
        run_timed(row["argv"], cwd, row["env"])
        row["samples_ms"] = []
    for i in range(runs):
        shift = i % len(rows)
        for row in rows[shift:] + rows[:shift]:
            row["samples_ms"].append(run_timed(row["argv"], cwd, row["env"])[0])
    for row in rows:
        row["median_ms"] = statistics.median(row["samples_ms"])
        row["p95_ms"] = p95(row["samples_ms"])
    by_name = {row["figure"]: row for row in rows}
    floor = by_name["python -c pass"]["median_ms"]
    for row in rows:
        if row["argv"][0] != "git":
            row["over_python_ms"] = row["median_ms"] - floor
        if row["baseline"]:
            row["baseline_median_ms"] = by_name[row["baseline"]]["median_ms"]
            row["ratio"] = row["median_ms"] / row["baseline_median_ms"]
        row["samples_ms"] = [round(x, 3) for x in row["samples_ms"]]
        del row["env"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=21, help="rounds of every command (default 21)")
    parser.add_argument("--lines", type=int, default=500, help="lines of the blamed file (default 500)")
    parser.add_argument("--commits", type=int, default=50, help="commits of its history (default 50)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated history")
    parser.add_argument("--other", type=Path, metavar="SRC",
                        help="also time git-ot from this source tree (put first on PYTHONPATH)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the temporary repository")
    args = parser.parse_args(argv)
    other = args.other.resolve() if args.other else None
    if other is not None and not (other / "git_ot" / "__init__.py").is_file():
        parser.error(f"'{other}' has no git_ot package")

    with scratch("git-ot-bench-startup-", args.keep) as tmp:
        home = tmp / "home"
        home.mkdir()
        env = python_env(hermetic_env(home), tmp)
        env.pop("PYTHONPATH", None)
        os.environ.clear()
        os.environ.update(env)
        repo = tmp / "repo"
        repo.mkdir()
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        subprocess.run(["git", "config", "gc.auto", "0"], cwd=repo, check=True)
        log(f"generating {args.commits} commits of a {args.lines}-line file in {tmp} ...")
        make_history(repo, args.lines, args.commits, args.seed)
        rows = commands(git_ot_command(), env, other)
        log(f"timing {len(rows)} commands, {args.runs} rounds ...")
        measure(rows, repo, args.runs)
        result = {"lines": args.lines, "commits": args.commits, "runs": args.runs,
                  "other": str(other) if other else None,
                  "git": subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip(),
                  "python": platform.python_version(), "cpus": os.cpu_count(), "rows": rows}
        if args.json:
            json.dump(result, sys.stdout, indent=2)
            sys.stdout.write("\n")
        else:
            print(f"git-ot start-up benchmark: {args.runs} rounds, a {args.lines}-line file of "
                  f"{args.commits} commits, {result['git']}, Python {result['python']}, {result['cpus']} CPUs")
            head = (f"{'figure':<34} {'median ms':>10} {'p95 ms':>8} {'- python':>9} "
                    f"{'baseline ms':>12} {'ratio':>6}  baseline")
            print()
            print(head)
            print("-" * len(head))
            for row in rows:
                base = (f"{row['baseline_median_ms']:>12.1f} {row['ratio']:>6.2f}  {row['baseline']}"
                        if row["baseline"] else f"{'':>12} {'':>6}  (floor)")
                over = f"{row['over_python_ms']:>9.1f}" if "over_python_ms" in row else f"{'':>9}"
                print(f"{row['figure']:<34} {row['median_ms']:>10.1f} {row['p95_ms']:>8.1f} {over} {base}")
            print()
            print("whole processes, one of each a round in rotating order; - python = median minus the"
                  " median of 'python -c pass'; ratio = median / baseline median")
            print(f"load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
