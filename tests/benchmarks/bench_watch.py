#!/usr/bin/env python3
"""Watcher benchmark: `git ot watch` idle, and from a change to its snapshot.

Run it as

    python tests/benchmarks/bench_watch.py [--idle 10] [--changes 20] [--files 2000] [--checkout 10000] [--json]

It makes a scratch repository of `--files` committed files (in 40 folders)
and starts `git-ot watch` there (a process of its own, as a service
manager starts it), beside a baseline process that does nothing: `sleep`.

Idle: both processes are left alone for `--idle` seconds; the figure is
the CPU time (user + system, from /proc/<pid>/stat) each spent over that
interval, and as a share of one core.

Checkout: `git checkout` of a branch that adds `--checkout` files (in 100
folders); the figure is how many snapshots the watcher recorded for it
(one is the aim: the watcher waits while git holds the index lock) and
its peak resident memory (VmHWM) by then.

Change to snapshot: `--changes` times, one file is rewritten, and the
time is taken from the write to the moment the watch journal holds a line
whose tree has the new content (the journal is polled every 2 ms; the
watcher waits for 200 ms of quiet before it snapshots, which is part of
the figure). Median and 95th percentile, in ms; the baseline is the time
one `git ot snapshot` (the hooks' snapshot, the same machinery) takes in
the same repository, measured the same number of times.

It is a report, not a test: it exits 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import git, hermetic_env, log, p95, run_timed, scratch  # noqa: E402


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, from /proc."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14 and 15)


def peak_rss(pid: int) -> int:
    """The peak resident set size of a process so far, in KiB (VmHWM)."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def journal_trees(journal: Path) -> list[str]:
    try:
        return [json.loads(line)["tree"] for line in journal.read_text().splitlines()]
    except (FileNotFoundError, ValueError):
        return []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle measured")
    parser.add_argument("--changes", type=int, default=20, help="changes timed")
    parser.add_argument("--files", type=int, default=2000, help="files in the repository")
    parser.add_argument("--checkout", type=int, default=10000,
                        help="files a timed git checkout adds (0: no checkout)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args()

    with scratch("bench-watch", args.keep) as tmp:
        report(args, tmp)
    return 0


def report(args, tmp: Path) -> None:
    env = hermetic_env(tmp / "home")
    repo = tmp / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    # No background gc after the large commit: its writes under .git would
    # wake the watcher (it filters .git by name) during the idle interval.
    git(repo, "config", "gc.auto", "0")
    for i in range(args.files):
        path = repo / f"d{i % 40}" / f"f{i}.txt"
        path.parent.mkdir(exist_ok=True)
        path.write_text(f"file {i}\n")
    git(repo, "add", "-A")
    subprocess.run(["git", "commit", "-qm", "files"], cwd=repo, env=env, check=True)
    if args.checkout:
        git(repo, "checkout", "-q", "-b", "big")
        for i in range(args.checkout):
            path = repo / "gen" / f"g{i % 100}" / f"f{i}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"generated {i}\n")
        git(repo, "add", "-A")
        subprocess.run(["git", "commit", "-qm", "generated"], cwd=repo, env=env, check=True)
        git(repo, "checkout", "-q", "-")
    git_ot = [sys.executable, "-m", "git_ot"]
    watcher = subprocess.Popen([*git_ot, "watch", "--json"], cwd=repo, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    baseline = subprocess.Popen(["sleep", str(args.idle + 3600)])
    try:
        assert watcher.stdout.readline(), watcher.stderr.read()
        time.sleep(1.0)  # let start-up work finish
        log(f"idle for {args.idle:g} s ...")
        w0, b0 = cpu_seconds(watcher.pid), cpu_seconds(baseline.pid)
        time.sleep(args.idle)
        w_idle = cpu_seconds(watcher.pid) - w0
        b_idle = cpu_seconds(baseline.pid) - b0

        journal = repo / ".git" / "opentraces" / "watch.jsonl"
        latencies = []
        target = repo / "d0" / "f0.txt"
        for n in range(args.changes):
            before = len(journal_trees(journal))
            start = time.perf_counter()
            target.write_text(f"change {n}\n")
            deadline = start + 30
            while len(journal_trees(journal)) == before:
                if time.perf_counter() > deadline:
                    raise RuntimeError("the watcher recorded no snapshot within 30 s")
                time.sleep(0.002)
            latencies.append((time.perf_counter() - start) * 1000.0)
            time.sleep(0.3)  # apart: each change its own burst
        checkout = None
        if args.checkout:
            big = git(repo, "rev-parse", "big^{tree}").decode().strip()
            target.write_text("file 0\n")  # as committed: the checkout's tree is big's
            time.sleep(0.5)
            before = len(journal_trees(journal))
            start = time.perf_counter()
            git(repo, "checkout", "-q", "big")
            took = time.perf_counter() - start
            deadline = time.perf_counter() + 120
            while big not in journal_trees(journal)[before:]:
                if time.perf_counter() > deadline:
                    raise RuntimeError("the watcher recorded no snapshot of the checkout within 120 s")
                time.sleep(0.01)
            time.sleep(1.0)  # anything it would record after
            checkout = {"files": args.checkout, "git_checkout_s": round(took, 2),
                        "snapshots": len(journal_trees(journal)) - before,
                        "watcher_peak_rss_mb": round(peak_rss(watcher.pid) / 1024, 1)}
    finally:
        baseline.kill()
        baseline.wait()
        watcher.send_signal(signal.SIGTERM)
        watcher.communicate(timeout=60)
    snapshots = [run_timed([*git_ot, "snapshot"], cwd=repo, env=env)[0] for _ in range(args.changes)]

    figures = {
        "files": args.files,
        "idle_seconds": args.idle,
        "idle_cpu_seconds": {"watcher": round(w_idle, 3), "sleep": round(b_idle, 3)},
        "idle_cpu_share": {"watcher": round(w_idle / args.idle, 5), "sleep": round(b_idle / args.idle, 5)},
        "change_to_snapshot_ms": {"p50": round(statistics.median(latencies), 1),
                                  "p95": round(p95(latencies), 1)},
        "git_ot_snapshot_ms": {"p50": round(statistics.median(snapshots), 1), "p95": round(p95(snapshots), 1)},
        "checkout": checkout,
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"repository of {args.files} files; idle {args.idle:g} s")
    print(f"idle CPU:           watcher {w_idle:.3f} s ({100 * w_idle / args.idle:.2f}% of a core), "
          f"baseline sleep {b_idle:.3f} s")
    print(f"change to snapshot: p50 {figures['change_to_snapshot_ms']['p50']} ms, "
          f"p95 {figures['change_to_snapshot_ms']['p95']} ms ({args.changes} changes; "
          f"200 ms of it the wait for quiet)")
    print(f"baseline, one 'git ot snapshot' process: p50 {figures['git_ot_snapshot_ms']['p50']} ms, "
          f"p95 {figures['git_ot_snapshot_ms']['p95']} ms")
    if checkout:
        print(f"git checkout adding {checkout['files']} files ({checkout['git_checkout_s']} s): "
              f"{checkout['snapshots']} snapshot(s); watcher peak RSS {checkout['watcher_peak_rss_mb']} MB")


if __name__ == "__main__":
    sys.exit(main())
