#!/usr/bin/env python3
"""Dataset benchmark: `git ot dataset run` over 1,000 sessions, and `publish` of 10,000 rows.

Run it as

    python tests/benchmarks/bench_dataset.py [--sessions 1000] [--commits 5000] [--rows 10000]
                                             [--runs 3] [--json] [--keep]

It builds, in a temporary directory, with `git fast-import`, a history of
`--commits` commits over 100 Python files in which `--sessions` commits
each land one agent hunk (bench_track.py's generator: people's edits in
between, now and then a hunk taken out or moved). One real session is
captured through the hook process; its records are the template of
`--sessions` sessions written through the store's own API, each with its
own prompt and one patch of one hunk, anchored to the commit that took it,
with a note on every commit. The example workflow (`git ot dataset new`)
is the workflow.

Timed, as whole processes, alternately (A B, then B A) after one untimed
round:

- `git ot dataset run bench --json`, the dataset's ref deleted before each
  run so that every run stores all its rows; the command's own `timings`
  give each phase (packet build, script, validation, gate, storage).
  Beside it: `git ot track --json` over the same sessions (the survival
  states the packet holds), the workflow itself run by hand on the same
  packet (`python build_rows.py`), and a bare `python -c pass`.
- `git ot dataset publish bench --to BARE --json` of `--rows` approved rows
  (written through the store's API) to a new empty bare repository each
  time; beside it, the same files (README.md and the data file, taken
  from the first publish) committed in a new repository and pushed with a
  plain `git push` to a new bare repository.

The processes run as an installed git-ot runs: with compiled bytecode (in a
temporary PYTHONPYCACHEPREFIX). It is a report, not a test: it exits 0
whatever the figures. Timings use Python's time.perf_counter.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
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
from bench_track import MODEL, TEMPLATE, make_history, template_session  # noqa: E402
from common import git, hermetic_env, log, p95, run_timed, scratch  # noqa: E402

PHASES = ("packet", "script", "validation", "gate", "storage")


def write_sessions(repo: Path, landed: list[dict]) -> None:
    """One session per landed hunk, its own prompt, its anchor and note."""
    from git_ot.store import notes as notes_store
    from git_ot.store import refs
    from git_ot.store.repository import Store

    store = Store.open(str(repo))
    template = store.session(TEMPLATE)
    records = {kind: template.record(kind) for kind in ("manifest", "trace", "trail", "ctx")}
    notes: dict[str, bytes] = {c: b"" for c in git(repo, "rev-list", "HEAD").decode().split()}
    by_commit: dict[str, list] = {}
    for i, h in enumerate(landed):
        sid = f"bench-dataset-{i:04d}"
        k = h["last"] - h["first"] + 1
        steps = [dict(s) for s in records["trace"]["steps"]]
        steps[0]["text"] = f"add {k} lines to {h['path']} (task {i})"
        trace = {**records["trace"], "session": sid, "steps": steps}
        patches = [{"step": 2, "before": "2-before", "after": "2-after",
                    "files": [{"status": "M", "path": h["path"], "added": k, "removed": 0,
                               "hunks": [[h["first"] - 1, 0, h["first"], k]]}]}]
        anchors = [{"commit": h["commit"], "path": h["path"], "lines": [h["first"], h["last"]],
                    "step": 2, "hunk": "2.1.1", "via": "commit"}]
        trail = {**records["trail"], "patches": patches, "anchors": anchors}
        manifest = {**records["manifest"], "session": sid,
                    "counts": {**records["manifest"]["counts"], "commits": 1}}
        store.write_session(sid, None, {"manifest": manifest, "trace": trace, "trail": trail,
                                        "ctx": records["ctx"]}, [], {}, f"bench session {sid}\n")
        by_commit.setdefault(h["commit"], []).append(
            {"v": 1, "session": sid, "step": 2, "hunk": "2.1.1", "path": h["path"],
             "lines": [h["first"], h["last"]], "harness": "claude-code", "model": MODEL})
    for commit, lines in by_commit.items():
        notes[commit] = notes_store.encode(lines)
    notes_store.Notes(store).write(notes, "bench notes")
    git(repo, "update-ref", "-d", refs.session_ref(TEMPLATE))


def write_approved_rows(repo: Path, name: str, n: int) -> None:
    """`n` approved rows of dataset `name`, in one commit, as a run and `approve --all` leave them."""
    from git_ot.domain.datasets import NAMESPACE, row_id
    from git_ot.store import entities
    from git_ot.store.repository import Store

    store = Store.open(str(repo))
    changes = {}
    for i in range(n):
        row = {"session": f"bench-publish-{i:05d}", "prompt": f"add a helper for case {i} to mod_{i % 100:03d}.py",
               "files": [f"src/pkg{i % 5}/mod_{i % 100:03d}.py"],
               "survival": ("alive_on_path", "reverted", "moved", "lost")[i % 4]}
        rid = row_id(row)
        changes[rid] = {"id": rid, "status": "approved", "run": "bench", "sessions": [], "row": row,
                        "findings": [], "added": "2026-01-01T00:00:00Z", "reviewed": "2026-01-01T00:00:01Z"}
    entities.write(store, NAMESPACE, name, None, changes, f"bench: {n} approved rows")


def alternate(a_fn, b_fn, runs: int) -> tuple[list[float], list[float]]:
    a: list[float] = []
    b: list[float] = []
    a_fn(), b_fn()  # one untimed round
    for i in range(runs):
        if i % 2 == 0:
            a.append(a_fn())
            b.append(b_fn())
        else:
            b.append(b_fn())
            a.append(a_fn())
    return a, b


def figure(name: str, a: list[float], baseline: str, b: list[float]) -> dict:
    return {"figure": name, "median_ms": statistics.median(a), "p95_ms": p95(a), "baseline": baseline,
            "baseline_median_ms": statistics.median(b), "baseline_p95_ms": p95(b),
            "ratio": statistics.median(a) / statistics.median(b),
            "samples_ms": [round(x, 1) for x in a], "baseline_samples_ms": [round(x, 1) for x in b]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=1000, help="sessions for dataset run (default 1000)")
    parser.add_argument("--commits", type=int, default=5000, help="commits of history (default 5000)")
    parser.add_argument("--rows", type=int, default=10000, help="approved rows to publish (default 10000)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each figure (default 3)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)

    with scratch("git-ot-bench-dataset-", args.keep) as tmp:
        home = tmp / "home"
        home.mkdir()
        env = hermetic_env(home)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
        os.environ.clear()
        os.environ.update(env)
        repo = tmp / "repo"
        repo.mkdir()
        git(repo, "init", "-q")
        git(repo, "config", "gc.auto", "0")
        start = time.perf_counter()
        log(f"generating {args.commits} commits with {args.sessions} agent hunks, one session each ...")
        landed = make_history(repo, args.commits, args.sessions, 100, args.seed)
        template_session(repo)
        ot = git_ot_command()
        # The turn's end seals in the background: `git ot scan` waits for that seal.
        subprocess.run([*ot, "scan"], cwd=repo, env=env, check=True, capture_output=True)
        write_sessions(repo, landed)
        subprocess.run([*ot, "dataset", "new", "bench"], cwd=repo, env=env, check=True, capture_output=True)
        log(f"  done in {time.perf_counter() - start:.1f} s")

        packet = tmp / "packet.json"
        phases: dict[str, list[float]] = {p: [] for p in PHASES}
        problems: list[str] = []
        last: dict = {}

        def run_dataset() -> float:
            git(repo, "update-ref", "-d", "refs/opentraces/datasets/bench")
            ms, out = run_timed([*ot, "dataset", "run", "bench", "--json", "--keep-packet", str(packet)],
                                repo, env)
            result = json.loads(out)
            last.update(result)
            for p in PHASES:
                phases[p].append(result["timings"][p] * 1000.0)
            return ms

        script_env = {**env, "OT_RUN_PACKET": str(packet), "OT_DATASET_OUTPUT": str(tmp / "rows.jsonl")}
        build_rows = str(repo / "datasets" / "bench" / "build_rows.py")
        rows: list[dict] = []
        log("timing dataset run ...")
        a, b = alternate(run_dataset, lambda: run_timed([*ot, "track", "--json"], repo, env)[0], args.runs)
        for p in PHASES:
            del phases[p][0]  # the untimed round
        rows.append(figure(f"dataset run ({args.sessions} sessions)", a, "git ot track --json", b))
        if last.get("new") != args.sessions:
            problems.append(f"dataset run stored {last.get('new')} rows, not {args.sessions}")
        a, b = alternate(lambda: run_timed([sys.executable, build_rows], tmp, script_env)[0],
                         lambda: run_timed([sys.executable, "-c", "pass"], tmp, env)[0], args.runs)
        rows.append(figure("build_rows.py by hand", a, "python -c pass", b))

        (repo / "datasets" / "publish").mkdir()
        shutil.copy(repo / "datasets" / "bench" / "SKILL.md", repo / "datasets" / "publish" / "SKILL.md")
        write_approved_rows(repo, "publish", args.rows)
        counter = [0]
        files_from: list[Path] = []

        def fresh_bare() -> Path:
            counter[0] += 1
            bare = tmp / f"hub-{counter[0]}.git"
            git(tmp, "init", "-q", "--bare", str(bare))
            return bare

        def publish() -> float:
            bare = fresh_bare()
            ms, out = run_timed([*ot, "dataset", "publish", "publish", "--to", str(bare), "--json"], repo, env)
            result = json.loads(out)
            if result["rows"] != args.rows:
                problems.append(f"publish sent {result['rows']} rows, not {args.rows}")
            if not files_from:
                clone = tmp / "published"
                git(tmp, "clone", "-q", str(bare), str(clone))
                files_from.append(clone)
                last["publish_file"] = result["file"]
            return ms

        def plain_push() -> float:
            if not files_from:
                publish()
            src = files_from[0]
            work = tmp / f"plain-{counter[0]}"
            bare = fresh_bare()
            start = time.perf_counter()
            shutil.copytree(src, work, ignore=shutil.ignore_patterns(".git"))
            git(work, "init", "-q")
            git(work, "add", "-A")
            git(work, "commit", "-q", "-m", "publish")
            git(work, "push", "-q", str(bare), "HEAD:refs/heads/main")
            ms = (time.perf_counter() - start) * 1000.0
            shutil.rmtree(work)
            return ms

        log("timing dataset publish ...")
        a, b = alternate(publish, plain_push, args.runs)
        rows.append(figure(f"dataset publish ({args.rows} rows)", a,
                           "git init + add + commit + push of the same files", b))

        report = {"sessions": args.sessions, "commits": args.commits, "rows_published": args.rows,
                  "runs": args.runs, "publish_file": last.get("publish_file"),
                  "phases_median_ms": {p: statistics.median(v) for p, v in phases.items()},
                  "git": git(tmp, "--version").decode().strip(), "python": platform.python_version(),
                  "cpus": os.cpu_count(), "load_average": os.getloadavg()[0], "rows": rows,
                  "problems": problems}
        if args.json:
            json.dump(report, sys.stdout, indent=2)
            sys.stdout.write("\n")
        else:
            print(f"git-ot dataset benchmark: {args.sessions} sessions over {args.commits} commits; "
                  f"publish of {args.rows} rows ({report['publish_file']}); {args.runs} runs, "
                  f"{report['git']}, Python {report['python']}, {report['cpus']} CPUs, "
                  f"load average {report['load_average']:.2f}")
            print("dataset run phases (median ms): "
                  + ", ".join(f"{p} {v:.0f}" for p, v in report["phases_median_ms"].items()))
            head = f"{'figure':<34} {'median ms':>10} {'p95 ms':>9} {'baseline ms':>12} {'ratio':>6}  baseline"
            print()
            print(head)
            print("-" * len(head))
            for row in rows:
                print(f"{row['figure']:<34} {row['median_ms']:>10.1f} {row['p95_ms']:>9.1f} "
                      f"{row['baseline_median_ms']:>12.1f} {row['ratio']:>6.2f}  {row['baseline']}")
            for problem in problems:
                print(f"warning: {problem}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
