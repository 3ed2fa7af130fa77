#!/usr/bin/env python3
"""Blame benchmark: `git ot blame` against `git blame --porcelain`.

Run it as

    python tests/benchmarks/bench_blame.py [--lines 3000] [--commits 500] [--runs 15] [--json]

It builds, in a temporary directory, a repository whose one file of
`--lines` lines has a history of `--commits` commits (each rewrites 1 to 6
random lines), plus one captured session (ten prompts, each followed by a
tool step). A third of the commits get a note whose lines attribute the
lines the commit introduced to that session's steps, a third an empty note
(anchored, no agent work), and a third no note, so every kind of look-up
happens. Then it times, as whole processes, alternately (A B, then B A):

  git ot blame FILE            against   git blame --porcelain FILE
  git ot blame FILE --json     against   git blame --porcelain FILE
  git ot blame -M -C FILE      against   git blame --porcelain -M -C FILE

and prints the medians and their ratio (the target for the first row is at
most 1.2). `git ot blame` runs one `git blame --porcelain` itself, so the
ratio is the price of Python (start-up, imports, the note look-ups and the
output) on top of git's own work.

The processes run as an installed git-ot runs: with compiled bytecode (in a
temporary PYTHONPYCACHEPREFIX; a PYTHONDONTWRITEBYTECODE in the environment
would make every process compile git-ot anew). It is a report, not a test:
it exits 0 whatever the figures. Timings use Python's time.perf_counter.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_snapshot import git_ot_command  # noqa: E402
from common import hermetic_env, log, p95, scratch  # noqa: E402

SESSION = "b3c1f0e2-5a4d-4e1b-9c7a-benchsession"


def python_env(env: dict, tmp: Path) -> dict:
    """Child processes run git-ot from compiled bytecode, as an installed copy does."""
    env = dict(env)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    return env


def make_history(repo: Path, lines: int, commits: int, seed: int) -> None:
    """One file, `commits` commits of 1 to 6 changed lines each, via git fast-import."""
    rng = random.Random(seed)
    text = [f"line {i:05d} " + "x" * rng.randint(10, 60) for i in range(lines)]
    out = ["reset refs/heads/main"]
    when = 1700000000
    for c in range(commits + 1):
        if c:
            for _ in range(rng.randint(1, 6)):
                i = rng.randrange(len(text))
                text[i] = f"c{c} line {i} " + "y" * rng.randint(5, 50)
        data = ("\n".join(text) + "\n").encode()
        out += ["commit refs/heads/main", f"author Bench <bench@example.com> {when + c} +0000",
                f"committer Bench <bench@example.com> {when + c} +0000",
                f"data {len(f'c{c}')}", f"c{c}"]
        out += ["M 100644 inline big.py", f"data {len(data)}"]
        out.append(data.decode())
    stream = "\n".join(out) + "\n"
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input=stream.encode(), check=True)
    subprocess.run(["git", "reset", "-q", "--hard", "main"], cwd=repo, check=True)


def make_session(repo: Path, steps: int) -> None:
    """A real captured session (prompts and tool steps), through the hook process."""
    cmd = git_ot_command()
    for n in range(steps):
        for event, payload in (
            ("UserPromptSubmit", {"prompt": f"prompt number {n}: change some lines of big.py please"}),
            ("PreToolUse", {"tool_name": "Bash", "tool_use_id": f"t{n}", "tool_input": {"command": "true"}}),
            ("PostToolUse", {"tool_name": "Bash", "tool_use_id": f"t{n}", "tool_input": {"command": "true"},
                             "tool_response": {}}),
        ):
            body = {"session_id": SESSION, "cwd": str(repo), "hook_event_name": event, **payload}
            subprocess.run([*cmd, "hook", "claude-code", event], cwd=repo, input=json.dumps(body).encode(),
                           check=True, capture_output=True)
    subprocess.run([*cmd, "hook", "claude-code", "Stop"], cwd=repo, check=True, capture_output=True,
                   input=json.dumps({"session_id": SESSION, "cwd": str(repo)}).encode())


def write_notes(repo: Path, steps: int, seed: int) -> dict:
    """Notes on two thirds of the commits: agent ranges, or empty (anchored by hand)."""
    from git_ot.domain.trail.anchor import Anchorer
    from git_ot.store import notes as notes_store
    from git_ot.store.repository import Store
    from git_ot.domain.trail import lines as L

    rng = random.Random(seed + 1)
    store = Store.open(str(repo))
    anchorer = Anchorer(store)
    shas = subprocess.run(["git", "rev-list", "HEAD"], cwd=repo, capture_output=True,
                          check=True, text=True).stdout.split()
    notes: dict[str, bytes] = {}
    counts = {"agent": 0, "empty": 0, "none": 0}
    for sha in shas:
        kind = rng.choice(("agent", "empty", "none"))
        counts[kind] += 1
        if kind == "none":
            continue
        lines = []
        if kind == "agent":
            for path, change in anchorer.changes(sha).items():
                for first, last in L.ranges(i + 1 for i in change.introduced):
                    step = 2 * rng.randint(1, steps)
                    lines.append({"v": 1, "session": SESSION, "step": step, "hunk": f"{step}.1.1",
                                  "path": path, "lines": [first, last], "harness": "claude-code",
                                  "model": "claude-opus-4-5"})
        notes[sha] = notes_store.encode(lines)
    notes_store.Notes(store).write(notes, "bench notes")
    return counts


CPU: dict[str, list[float]] = {}


def timed(argv: list[str], cwd: Path, env: dict) -> tuple[float, bytes]:
    """Wall time of a whole process (ms); its CPU time (user + system) is noted in CPU."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = (time.perf_counter() - start) * 1000.0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv!r} failed: {proc.stderr.decode(errors='replace').strip()}")
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000.0
    CPU.setdefault(" ".join(argv), []).append(cpu)
    return elapsed, proc.stdout


def pair(name: str, a_argv, b_argv, cwd: Path, env: dict, runs: int) -> dict:
    timed(a_argv, cwd, env), timed(b_argv, cwd, env)  # warm the caches
    a: list[float] = []
    b: list[float] = []
    for i in range(runs):
        if i % 2 == 0:
            a.append(timed(a_argv, cwd, env)[0])
            b.append(timed(b_argv, cwd, env)[0])
        else:
            b.append(timed(b_argv, cwd, env)[0])
            a.append(timed(a_argv, cwd, env)[0])
    cpu_a = statistics.median(CPU[" ".join(a_argv)][-runs:])
    cpu_b = statistics.median(CPU[" ".join(b_argv)][-runs:])
    row = {"figure": name, "median_ms": statistics.median(a), "p95_ms": p95(a),
           "cpu_median_ms": cpu_a, "baseline_cpu_median_ms": cpu_b,
           "baseline": " ".join(b_argv), "baseline_median_ms": statistics.median(b),
           "baseline_p95_ms": p95(b), "ratio": statistics.median(a) / statistics.median(b),
           "paired_ratio_median": statistics.median(x / y for x, y in zip(a, b)),
           "samples_ms": [round(x, 3) for x in a], "baseline_samples_ms": [round(x, 3) for x in b]}
    log(f"  {name:<36} {row['median_ms']:8.1f} ms  vs {row['baseline_median_ms']:8.1f} ms"
        f"  ratio {row['ratio']:.2f}")
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=3000, help="lines of the file (default 3000)")
    parser.add_argument("--commits", type=int, default=500, help="commits of history (default 500)")
    parser.add_argument("--runs", type=int, default=15, help="runs of each figure (default 15)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated history")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the temporary repository")
    args = parser.parse_args(argv)

    with scratch("git-ot-bench-blame-", args.keep) as tmp:
        home = tmp / "home"
        home.mkdir()
        env = python_env(hermetic_env(home), tmp)
        os.environ.clear()
        os.environ.update(env)
        repo = tmp / "repo"
        repo.mkdir()
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        subprocess.run(["git", "config", "gc.auto", "0"], cwd=repo, check=True)
        start = time.perf_counter()
        log(f"generating {args.commits} commits of a {args.lines}-line file in {tmp} ...")
        make_history(repo, args.lines, args.commits, args.seed)
        make_session(repo, 10)
        counts = write_notes(repo, 10, args.seed)
        log(f"  done in {time.perf_counter() - start:.1f} s; notes: {counts}")
        ot = git_ot_command()
        # What is compared is checked first: the same lines, agent ones among them.
        _, out = timed([*ot, "blame", "big.py", "--json"], repo, env)
        got = json.loads(out)["lines"]
        kinds = {k: sum(1 for ln in got if ln["attribution"]["kind"] == k)
                 for k in ("agent", "human", "unknown")}
        problems = []
        if len(got) != args.lines:
            problems.append(f"git ot blame gave {len(got)} lines, not {args.lines}")
        if not kinds["agent"] or not any(ln["attribution"].get("prompt") for ln in got):
            problems.append("no agent line with its prompt in the output")
        rows = [
            pair("git ot blame FILE", [*ot, "blame", "big.py"],
                 ["git", "blame", "--porcelain", "big.py"], repo, env, args.runs),
            pair("git ot blame FILE --json", [*ot, "blame", "big.py", "--json"],
                 ["git", "blame", "--porcelain", "big.py"], repo, env, args.runs),
            pair("git ot blame -M -C FILE", [*ot, "blame", "-M", "-C", "big.py"],
                 ["git", "blame", "--porcelain", "-M", "-C", "big.py"], repo, env, args.runs),
        ]
        result = {"lines": args.lines, "commits": args.commits, "runs": args.runs,
                  "notes": counts, "kinds": kinds,
                  "git": subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip(),
                  "python": platform.python_version(), "cpus": os.cpu_count(),
                  "rows": rows, "problems": problems}
        if args.json:
            json.dump(result, sys.stdout, indent=2)
            sys.stdout.write("\n")
        else:
            print(f"git-ot blame benchmark: {args.lines}-line file, {args.commits} commits, "
                  f"{args.runs} runs, {result['git']}, Python {result['python']}, {result['cpus']} CPUs")
            print(f"notes: {counts['agent']} commits with agent lines, {counts['empty']} empty, "
                  f"{counts['none']} none; lines blamed: {kinds}")
            head = (f"{'figure':<28} {'median ms':>10} {'p95 ms':>8} {'baseline ms':>12} {'ratio':>6}"
                    f" {'cpu ms':>7} {'base cpu':>8}  baseline")
            print()
            print(head)
            print("-" * len(head))
            for row in rows:
                print(f"{row['figure']:<28} {row['median_ms']:>10.1f} {row['p95_ms']:>8.1f} "
                      f"{row['baseline_median_ms']:>12.1f} {row['ratio']:>6.2f} {row['cpu_median_ms']:>7.1f} "
                      f"{row['baseline_cpu_median_ms']:>8.1f}  {row['baseline']}")
            print()
            print("both whole processes, interleaved; ratio = median / baseline median; cpu = user +"
                  " system time of the process and its children (git-ot's includes its git blame)")
            print(f"load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
            for problem in problems:
                print(f"warning: {problem}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
