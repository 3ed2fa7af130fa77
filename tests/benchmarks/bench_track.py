#!/usr/bin/env python3
"""Track benchmark: `git ot track` over 1,000 anchored hunks in a 20,000-commit history.

Run it as

    python tests/benchmarks/bench_track.py [--commits 20000] [--hunks 1000] [--files 100] [--runs 5]
                                           [--changed-paths] [--json]

It builds, in a temporary directory, with `git fast-import`, a history of
`--commits` commits over `--files` Python files (about 30 lines each at
the start). `--hunks` of the commits are an agent's: each inserts one hunk
of 2 to 6 new lines into one file. Every other commit is a person's edit of
one file: mostly a new line inserted, sometimes a line rewritten (which may
hit an agent's line: partly kept hunks), and now and then an earlier agent
hunk taken out exactly (its inverse patch: reverted), or moved whole into
another file (moved). `git gc` then packs the repository and writes its
commit-graph, as git's automatic maintenance leaves a repository; with
`--changed-paths` the commit-graph also gets git's changed-path Bloom
filters (`git commit-graph write --changed-paths`), which `git blame` and
`git log -- PATH` use to skip commits that did not touch the path.

The sessions and notes are written through the store's own APIs, as the
hooks would have written them: one real session is captured first through
the hook process (its records serve as the template), then 50 sessions of
20 steps, each step's patch one file with one hunk, with the anchors of the
commits that took them in their trails; and a note on every commit (the
agent ranges on the agents' commits, an empty note, anchored with no agent
work, on every other), written in one notes commit.

Timed, as whole processes, alternately (A B, then B A) after one untimed
round: `git ot track --json` against the baseline, git's own commands on the
same input in one process each, one after the other: `git rev-list HEAD`
and `git blame --porcelain HEAD -- FILE` for every file that holds an
anchored hunk (what one would run to see by hand which lines survive; it
does not find removals, reverts or moves). Before timing, the output is
checked: every hunk is listed, and states other than `alive_on_path` are
among them. Target: under 10 s.

The processes run as an installed git-ot runs: with compiled bytecode (in a
temporary PYTHONPYCACHEPREFIX). It is a report, not a test: it exits 0
whatever the figures. Timings use Python's time.perf_counter.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
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
from common import git, hermetic_env, log, p95, run_timed, scratch  # noqa: E402

SESSIONS = 50
MODEL = "claude-opus-4-5"
TEMPLATE = "b3c1f0e2-5a4d-4e1b-9c7a-tracktemplate"


def make_history(repo: Path, commits: int, hunks: int, files: int, seed: int,
                 changed_paths: bool = False) -> list[dict]:
    """The history, via git fast-import; returns the agents' hunks (mark, path, first, last)."""
    rng = random.Random(seed)
    paths = [f"src/pkg{n // 20}/mod_{n:03d}.py" for n in range(files)]
    text = {p: [f"def f_{n}_{i}(x):  # {rng.randint(0, 10**6)}" for i in range(30)]
            for n, p in enumerate(paths)}
    agent_at = set(rng.sample(range(1, commits), hunks))
    landed: list[dict] = []   # every agent hunk, as committed
    live: list[dict] = []     # hunks still whole in their file, for reverts and moves
    out: list[bytes] = []
    when = 1700000000

    def emit(mark: int, message: str, changed: dict[str, list[str]]) -> None:
        out.append(f"commit refs/heads/main\nmark :{mark}\n"
                   f"author Bench <bench@example.com> {when + mark} +0000\n"
                   f"committer Bench <bench@example.com> {when + mark} +0000\n"
                   f"data {len(message.encode())}\n{message}\n".encode())
        if mark > 1:
            out.append(f"from :{mark - 1}\n".encode())
        for path, lines in changed.items():
            data = ("\n".join(lines) + "\n").encode()
            out.append(f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n")

    emit(1, "initial", dict(text))
    for c in range(2, commits + 1):
        if c - 1 in agent_at:
            path = rng.choice(paths)
            k = rng.randint(2, 6)
            at = rng.randint(0, len(text[path]))
            new = [f"    agent_{c}_{j} = compute({rng.randint(0, 10**6)})" for j in range(k)]
            text[path][at:at] = new
            h = {"mark": c, "path": path, "first": at + 1, "last": at + k, "lines": new}
            landed.append(h)
            live.append(h)
            emit(c, f"agent change {c}", {path: text[path]})
            continue
        roll = rng.random()
        if roll < 0.004 and live:
            # Take out an earlier agent hunk exactly: its inverse patch.
            h = live.pop(rng.randrange(len(live)))
            lines = text[h["path"]]
            if all(line in lines for line in h["lines"]):
                text[h["path"]] = [line for line in lines if line not in h["lines"]]
                emit(c, f"take out change {h['mark']}", {h["path"]: text[h["path"]]})
                continue
        if roll < 0.008 and live:
            # Move an earlier agent hunk, whole, to the end of another file.
            h = live.pop(rng.randrange(len(live)))
            lines = text[h["path"]]
            if all(line in lines for line in h["lines"]):
                to = rng.choice([p for p in paths if p != h["path"]])
                text[h["path"]] = [line for line in lines if line not in h["lines"]]
                text[to] = text[to] + h["lines"]
                emit(c, f"move change {h['mark']}", {h["path"]: text[h["path"]], to: text[to]})
                continue
        path = rng.choice(paths)
        lines = text[path]
        if rng.random() < 0.75:
            lines.insert(rng.randint(0, len(lines)), f"    human_{c} = value({rng.randint(0, 10**6)})")
        else:
            i = rng.randrange(len(lines))
            lines[i] = f"    rewritten_{c} = value({rng.randint(0, 10**6)})"
        emit(c, f"human change {c}", {path: lines})
    marks = repo / "marks"
    subprocess.run(["git", "fast-import", "--quiet", f"--export-marks={marks}"], cwd=repo,
                   input=b"".join(out), check=True)
    sha = {}
    for row in marks.read_text().splitlines():
        mark, commit = row.split()
        sha[int(mark[1:])] = commit
    for h in landed:
        h["commit"] = sha[h["mark"]]
    git(repo, "reset", "-q", "--hard", "main")
    git(repo, "gc", "-q")
    if changed_paths:  # git's changed-path Bloom filters, which blame and log -- PATH use
        git(repo, "commit-graph", "write", "--reachable", "--changed-paths")
    return landed


def template_session(repo: Path) -> None:
    """One real session through the hook process: its records are the template."""
    cmd = git_ot_command()
    for event, payload in (
        ("SessionStart", {"source": "startup", "model": MODEL}),
        ("UserPromptSubmit", {"prompt": "change the modules"}),
        ("PreToolUse", {"tool_name": "Bash", "tool_use_id": "t1", "tool_input": {"command": "true"}}),
        ("PostToolUse", {"tool_name": "Bash", "tool_use_id": "t1", "tool_input": {"command": "true"},
                         "tool_response": {}}),
        ("Stop", {}),
    ):
        body = {"session_id": TEMPLATE, "cwd": str(repo), "hook_event_name": event, **payload}
        subprocess.run([*cmd, "hook", "claude-code", event], cwd=repo, input=json.dumps(body).encode(),
                       check=True, capture_output=True)
    # The turn's end is sealed in the background; a command that reads
    # sessions seals what is still spooled first.
    subprocess.run([*cmd, "trace", "list"], cwd=repo, check=True, capture_output=True)


def write_sessions_and_notes(repo: Path, landed: list[dict]) -> int:
    """50 sessions of 20 one-hunk steps, anchors in their trails, and a note on every commit."""
    from git_ot.store import notes as notes_store
    from git_ot.store import refs
    from git_ot.store.repository import Store

    store = Store.open(str(repo))
    template = store.session(TEMPLATE)
    records = {kind: template.record(kind) for kind in ("manifest", "trace", "trail", "ctx")}
    per = -(-len(landed) // SESSIONS)
    notes: dict[str, bytes] = {c: b"" for c in git(repo, "rev-list", "HEAD").decode().split()}
    for s in range(SESSIONS):
        sid = f"bench-track-{s:03d}"
        patches, anchors, by_commit = [], [], {}
        for n, h in enumerate(landed[s * per:(s + 1) * per]):
            step = 2 + 2 * n
            k = h["last"] - h["first"] + 1
            patches.append({"step": step, "before": f"{step}-before", "after": f"{step}-after",
                            "files": [{"status": "M", "path": h["path"], "added": k, "removed": 0,
                                       "hunks": [[h["first"] - 1, 0, h["first"], k]]}]})
            anchors.append({"commit": h["commit"], "path": h["path"], "lines": [h["first"], h["last"]],
                            "step": step, "hunk": f"{step}.1.1", "via": "commit"})
            by_commit.setdefault(h["commit"], []).append(
                {"v": 1, "session": sid, "step": step, "hunk": f"{step}.1.1", "path": h["path"],
                 "lines": [h["first"], h["last"]], "harness": "claude-code", "model": MODEL})
        trail = {**records["trail"], "patches": patches, "anchors": anchors}
        manifest = {**records["manifest"], "session": sid,
                    "counts": {**records["manifest"]["counts"], "commits": len(by_commit)}}
        store.write_session(sid, None, {"manifest": manifest, "trace": records["trace"], "trail": trail,
                                        "ctx": records["ctx"]}, [], {}, f"bench session {sid}\n")
        for commit, lines in by_commit.items():
            notes[commit] = notes_store.encode(lines)
    notes_store.Notes(store).write(notes, "bench notes")
    git(repo, "update-ref", "-d", refs.session_ref(TEMPLATE))
    return len(notes)


def timed(argvs: list[list[str]], cwd: Path, env: dict) -> tuple[float, bytes]:
    """Wall time (ms) of running the commands one after the other; the last one's output."""
    total, out = 0.0, b""
    for argv in argvs:
        ms, out = run_timed(argv, cwd, env)
        total += ms
    return total, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commits", type=int, default=20000, help="commits of history (default 20000)")
    parser.add_argument("--hunks", type=int, default=1000, help="anchored agent hunks (default 1000)")
    parser.add_argument("--files", type=int, default=100, help="files of the repository (default 100)")
    parser.add_argument("--runs", type=int, default=5, help="runs of each figure (default 5)")
    parser.add_argument("--changed-paths", action="store_true",
                        help="write the commit-graph with changed-path Bloom filters after gc")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the temporary repository")
    args = parser.parse_args(argv)

    with scratch("git-ot-bench-track-", args.keep) as tmp:
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
        log(f"generating {args.commits} commits with {args.hunks} agent hunks over {args.files} files ...")
        landed = make_history(repo, args.commits, args.hunks, args.files, args.seed, args.changed_paths)
        template_session(repo)
        noted = write_sessions_and_notes(repo, landed)
        log(f"  done in {time.perf_counter() - start:.1f} s ({noted} notes)")

        ot = [*git_ot_command(), "track", "--json"]
        files = sorted({h["path"] for h in landed})
        theirs = [["git", "rev-list", "HEAD"]] + [["git", "blame", "--porcelain", "HEAD", "--", f]
                                                  for f in files]
        _, out = timed([ot], repo, env)
        result = json.loads(out)
        total = result["total"]
        problems = []
        if total["hunks"] != len(landed):
            problems.append(f"git ot track listed {total['hunks']} hunks, not {len(landed)}")
        if total["states"]["alive_on_path"] == total["hunks"]:
            problems.append("every hunk is alive_on_path: the history exercises nothing else")
        timed(theirs, repo, env)
        a: list[float] = []
        b: list[float] = []
        for i in range(args.runs):
            if i % 2 == 0:
                a.append(timed([ot], repo, env)[0])
                b.append(timed(theirs, repo, env)[0])
            else:
                b.append(timed(theirs, repo, env)[0])
                a.append(timed([ot], repo, env)[0])
        row = {"figure": "git ot track --json", "median_ms": statistics.median(a), "p95_ms": p95(a),
               "baseline": f"git rev-list HEAD + git blame --porcelain HEAD -- FILE x {len(files)}",
               "baseline_median_ms": statistics.median(b), "baseline_p95_ms": p95(b),
               "ratio": statistics.median(a) / statistics.median(b),
               "samples_ms": [round(x, 1) for x in a], "baseline_samples_ms": [round(x, 1) for x in b]}
        report = {"commits": args.commits, "hunks": len(landed), "files": len(files), "runs": args.runs,
                  "changed_paths": args.changed_paths,
                  "states": total["states"], "lines": total["lines"],
                  "git": git(tmp, "--version").decode().strip(), "python": platform.python_version(),
                  "cpus": os.cpu_count(), "load_average": os.getloadavg()[0],
                  "rows": [row], "problems": problems}
        if args.json:
            json.dump(report, sys.stdout, indent=2)
            sys.stdout.write("\n")
        else:
            print(f"git-ot track benchmark: {args.commits} commits, {len(landed)} anchored hunks in "
                  f"{len(files)} files{' (changed-path Bloom filters)' if args.changed_paths else ''}, "
                  f"{args.runs} runs, {report['git']}, Python {report['python']}, "
                  f"{report['cpus']} CPUs, load average {report['load_average']:.2f}")
            print("states: " + ", ".join(f"{k} {v}" for k, v in total["states"].items() if v))
            print("lines: " + ", ".join(f"{k} {v}" for k, v in total["lines"].items()))
            head = f"{'figure':<22} {'median ms':>10} {'p95 ms':>9} {'baseline ms':>12} {'ratio':>6}  baseline"
            print()
            print(head)
            print("-" * len(head))
            print(f"{row['figure']:<22} {row['median_ms']:>10.1f} {row['p95_ms']:>9.1f} "
                  f"{row['baseline_median_ms']:>12.1f} {row['ratio']:>6.2f}  {row['baseline']}")
            print()
            verdict = "met" if row["median_ms"] < 10000 else "NOT met"
            print(f"target: under 10 s -- {verdict}")
            for problem in problems:
                print(f"warning: {problem}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
