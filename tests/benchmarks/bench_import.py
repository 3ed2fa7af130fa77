#!/usr/bin/env python3
"""Import benchmark: transcript throughput, and the size of a sealed session.

Run it as

    python tests/benchmarks/bench_import.py [--runs 5] [--json] [--keep]
    python tests/benchmarks/bench_import.py --corpus DIR [--runs 3] [--profile]
    python tests/benchmarks/bench_import.py --corpus DIR --against CHECKOUT [--runs 5]

For each transcript case (the four recorded scenarios, the spotter sessions
in tests/fixtures/, and the large spotter session with its subagents/
folder) it imports
the case's files into a fresh repository, `--runs` times, each time in a new
repository, by the same domain call `git ot import claude-code` makes (in
this process, so Python's start-up and imports are not counted). The
baseline, timed in the same run and interleaved with the import (A B, then
B A), is reading the same files and `json.loads` of every line: the least
any importer must do. Throughput is the transcript's bytes over the median
time, in MB/s (10^6 bytes).

The size figure is what the sealed session costs in the object store once
packed: the objects reachable from `refs/opentraces/sessions/<id>` and not
from any branch (`git rev-list --objects <ref> --not --branches`), packed
alone by `git pack-objects`, once with git gc's default delta window and
depth (10, 50) and once with `git gc --aggressive`'s (250, 50). It is given
as a fraction of the transcript's bytes; the project's target is at most
15%. For reference, the last column is the transcript itself compressed
with zstd at level 19, which keeps every byte of it. A last row imports
every case into one repository, where sessions share payload blobs (the
harness's system prompt and tool descriptions) and deltas.

The marginal figure is what a case costs a repository that already holds
the other cases' sessions: the other cases' files are imported into a new
repository, then the case's own; the sessions' objects (every ref under
refs/opentraces/) are packed before and after its import with git gc's
window and depth (10, 50). The figure is the bytes, in the pack made after
its import, of the objects its import added (those reachable from a
session ref after it and not before), as a fraction of the case's
transcript bytes: what a user with more than one session pays for one
more. The growth of the pack (after minus before) is in the JSON output;
it is the difference of two packs whose delta choices each depend on
every object in them, and moves by several kilobytes either way.

With `--corpus DIR`, the figure is throughput alone, on a folder of real
transcripts (every `*.jsonl` under DIR, e.g. sessions taken from a clone
of entireio/cli's `entire/checkpoints/v1` branch): they are imported
together into a new repository, `--runs` times, by the same domain call,
beside `json.loads` of every line of the same files in the same run; the
target is at least 20 MB/s of transcript end to end. Both are also given
by CPU time: the process's and that of every process it ran (git, and the
import's own processes, `--jobs`), which other work on a shared machine
moves far less than the wall clock (disk waits are not in it; an import
in several processes takes more CPU time than wall clock). `--profile`
then prints where one more import spends its time (cProfile, by own time;
`--jobs 1`).

With `--against CHECKOUT` (another checkout of git-ot, e.g. a worktree of
main: the code before a change), the corpus is imported by each checkout's
code in turn, `--runs` times each, every import in a new process (this
script, with that checkout's `git_ot` first on its path), in the order A
B, B A, ...; each import's wall clock and CPU time are given, and their
medians: a before and after measured in one sitting, under the same load.

It is a report, not a test: it exits 0 whatever the figures. Timings use
Python's time.perf_counter around each call.
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
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The checkout whose code an import of --against times (set for the child).
SOURCE = os.environ.get("GIT_OT_BENCH_SOURCE")
if SOURCE:
    sys.path.insert(0, SOURCE)
elif str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import zstandard  # noqa: E402

from git_ot.capture import registry  # noqa: E402
from git_ot.domain.importing import import_transcripts  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import git, log  # noqa: E402
from git_ot.store.gitdir import locate  # noqa: E402
from git_ot.store.repository import Store  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "claude-code"
LARGE_DIR = FIXTURES / "spotter-large"
LARGE = "4d5611e5-241a-462a-8d15-5122611a9569"
TARGET = 0.15
TARGET_MB_S = 20.0
CLAUDE_CODE = registry.get("claude-code", "import", "import transcripts of")


def cases() -> list[tuple[str, list[Path]]]:
    out = []
    for scenario in ("linear-edit", "bash-writes", "parallel-tools", "commit-mid-turn"):
        out.append((f"recorded/{scenario}", [FIXTURES / "recorded-2.1.328" / scenario / "transcript.jsonl"]))
    spotter = FIXTURES / "spotter"
    for name in ("short", "tool_heavy", "subagent"):
        out.append((f"spotter/{name}", [spotter / f"{name}.jsonl"]))
    out.append((f"spotter/{LARGE[:8]}/subagents", sorted((spotter / LARGE / "subagents").glob("*.jsonl"))))
    files = [LARGE_DIR / f"{LARGE}.jsonl"] + sorted((spotter / LARGE / "subagents").glob("*.jsonl"))
    out.append((f"spotter/{LARGE[:8]} + subagents", files))
    return out


def hermetic_env(home: Path) -> None:
    """This process and its git children read no user or system git config."""
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
    os.environ.update({
        "HOME": str(home), "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"), "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com",
        "GIT_AUTHOR_DATE": "1700000000 +0000", "GIT_COMMITTER_DATE": "1700000000 +0000",
    })
    for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "CLAUDE_CONFIG_DIR"):
        os.environ.pop(key, None)


def new_repo(root: Path, n: int) -> Path:
    repo = root / f"repo-{n}"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "README.md").write_text("bench\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial")
    return repo


def time_import(repo: Path, files: list[Path], **options) -> tuple[float, dict]:
    store = Store(locate(str(repo)))
    try:  # every import sees each line for the first time, as `git ot import` in a new process does
        from git_ot.domain.gate import memo
        memo.forget()
    except ImportError:  # --against: code from before the gate kept lines
        pass
    start = time.perf_counter()
    result = import_transcripts(store, CLAUDE_CODE, [str(f) for f in files], **options)
    return time.perf_counter() - start, result


def cpu_now() -> float:
    """CPU seconds (user and system) of this process and of the processes it
    started and waited for: git, and an import's other processes (--jobs)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def time_parse(files: list[Path]) -> float:
    start = time.perf_counter()
    for path in files:
        with open(path, "rb") as fh:
            for line in fh:
                if line.strip():
                    json.loads(line)
    return time.perf_counter() - start


def packed_size(repo: Path, ref: str, window: int) -> int:
    objects = git(repo, "rev-list", "--objects", ref, "--not", "--branches")
    pack = git(repo, "pack-objects", "--stdout", "-q", f"--window={window}", "--depth=50", input=objects)
    return len(pack)


def sessions_pack(repo: Path, window: int = 10) -> int:
    objects = git(repo, "rev-list", "--objects", "--glob=refs/opentraces/*", "--not", "--branches")
    return len(git(repo, "pack-objects", "--stdout", "-q", f"--window={window}", "--depth=50", input=objects))


def session_objects(repo: Path) -> set[str]:
    out = git(repo, "rev-list", "--objects", "--glob=refs/opentraces/*", "--not", "--branches")
    return {line.split(b" ", 1)[0].decode() for line in out.splitlines() if line}


def marginal(files: list[Path], all_files: list[Path], root: Path) -> tuple[int, int]:
    """What the import of `files` adds to a repository holding the other files' sessions:
    its new objects' bytes in the sessions' pack, and the growth of that pack."""
    repo = new_repo(root, len(list(root.iterdir())))
    store = Store(locate(str(repo)))
    others = [f for f in all_files if f not in files]
    import_transcripts(store, CLAUDE_CODE, [str(f) for f in others])
    before, objects = sessions_pack(repo), session_objects(repo)
    import_transcripts(store, CLAUDE_CODE, [str(f) for f in files])
    added = session_objects(repo) - objects
    listing = git(repo, "rev-list", "--objects", "--glob=refs/opentraces/*", "--not", "--branches")
    base = root / f"pack-{repo.name}"
    name = git(repo, "pack-objects", "-q", "--window=10", "--depth=50", str(base), input=listing).decode().strip()
    verify = git(repo, "verify-pack", "-v", f"{base}-{name}.idx").decode()
    in_pack = 0
    for line in verify.splitlines():
        cols = line.split()  # <oid> <type> <size> <size in pack> <offset> [<depth> <base>]
        if len(cols) >= 5 and cols[1] in ("commit", "tree", "blob", "tag") and cols[0] in added:
            in_pack += int(cols[3])
    for suffix in (".pack", ".idx"):
        Path(f"{base}-{name}{suffix}").unlink()
    return in_pack, sessions_pack(repo) - before


def run_case(name: str, files: list[Path], runs: int, root: Path, all_files: list[Path]) -> dict:
    size = sum(f.stat().st_size for f in files)
    imports, parses = [], []
    result = repo = None
    time_parse(files)  # warm the page cache
    for i in range(runs):
        repo = new_repo(root, len(list(root.iterdir())))
        order = (0, 1) if i % 2 == 0 else (1, 0)
        for which in order:
            if which == 0:
                t, result = time_import(repo, files)
                imports.append(t)
            else:
                parses.append(time_parse(files))
    sessions = []
    for s in result["sessions"]:
        ref = f"refs/opentraces/sessions/{s['session']}"
        sessions.append({"session": s["session"], "steps": s["steps"], "kept_raw": s["kept_raw"],
                         "skipped": sum(s["skipped"].values()),
                         "gc": packed_size(repo, ref, 10), "aggressive": packed_size(repo, ref, 250)})
    imp, base = statistics.median(imports), statistics.median(parses)
    packed_gc = sum(s["gc"] for s in sessions)
    packed_aggr = sum(s["aggressive"] for s in sessions)
    added, growth = marginal(files, all_files, root)
    return {
        "case": name, "files": len(files), "bytes": size, "lines": sum(s["lines"] for s in result["sessions"]),
        "import_s": imports, "parse_s": parses,
        "import_mb_s": size / imp / 1e6, "parse_mb_s": size / base / 1e6, "ratio": imp / base,
        "sealed_gc_bytes": packed_gc, "sealed_aggressive_bytes": packed_aggr,
        "fraction_gc": packed_gc / size, "fraction_aggressive": packed_aggr / size,
        "marginal_gc_bytes": added, "fraction_marginal": added / size,
        "pack_growth_gc_bytes": growth,
        "zstd19_fraction": sum(len(zstandard.ZstdCompressor(level=19).compress(f.read_bytes()))
                               for f in files) / size,
        "sessions": sessions,
    }


def one_bucket(all_cases: list[tuple[str, list[Path]]], root: Path) -> dict:
    """Every case imported into one repository: what a project's sessions cost together.

    Sessions of one harness share much (its system prompt, tool
    descriptions): their payload blobs are stored once, and packing finds
    deltas between sessions."""
    repo = new_repo(root, len(list(root.iterdir())))
    files = list(dict.fromkeys(f for _, fs in all_cases for f in fs))
    import_transcripts(Store(locate(str(repo))), CLAUDE_CODE, [str(f) for f in files])
    size = sum(f.stat().st_size for f in files)
    objects = git(repo, "rev-list", "--objects", "--glob=refs/opentraces/*", "--not", "--branches")
    packed = {w: len(git(repo, "pack-objects", "--stdout", "-q", f"--window={w}", "--depth=50", input=objects))
              for w in (10, 250)}
    return {"bytes": size, "sealed_gc_bytes": packed[10], "sealed_aggressive_bytes": packed[250],
            "fraction_gc": packed[10] / size, "fraction_aggressive": packed[250] / size}


def print_table(rows: list[dict], bucket: dict) -> None:
    head = ["case", "KB", "import MB/s", "json.loads MB/s", "ratio", "sealed KB (gc)",
            "sealed KB (aggressive)", "fraction (gc)", "fraction (aggressive)", "marginal KB (gc)",
            "marginal fraction", "transcript zstd -19"]
    body = [[r["case"], f"{r['bytes'] / 1e3:.1f}", f"{r['import_mb_s']:.2f}", f"{r['parse_mb_s']:.1f}",
             f"{r['ratio']:.1f}", f"{r['sealed_gc_bytes'] / 1e3:.1f}",
             f"{r['sealed_aggressive_bytes'] / 1e3:.1f}", f"{100 * r['fraction_gc']:.1f}%",
             f"{100 * r['fraction_aggressive']:.1f}%", f"{r['marginal_gc_bytes'] / 1e3:.1f}",
             f"{100 * r['fraction_marginal']:.1f}%", f"{100 * r['zstd19_fraction']:.1f}%"]
            for r in rows]
    total = sum(r["bytes"] for r in rows)
    sealed = sum(r["sealed_aggressive_bytes"] for r in rows)
    sealed_gc = sum(r["sealed_gc_bytes"] for r in rows)
    body.append(["sum of the above", f"{total / 1e3:.1f}", "", "", "",
                 f"{sealed_gc / 1e3:.1f}", f"{sealed / 1e3:.1f}", f"{100 * sealed_gc / total:.1f}%",
                 f"{100 * sealed / total:.1f}%", "", "", ""])
    body.append(["all in one repository", f"{bucket['bytes'] / 1e3:.1f}", "", "", "",
                 f"{bucket['sealed_gc_bytes'] / 1e3:.1f}", f"{bucket['sealed_aggressive_bytes'] / 1e3:.1f}",
                 f"{100 * bucket['fraction_gc']:.1f}%", f"{100 * bucket['fraction_aggressive']:.1f}%",
                 "", "", ""])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(head, widths)) + " |")
    print("|" + "|".join("-" * (w + 1) + (":" if i else "-") for i, w in enumerate(widths)) + "|")
    for row in body:
        print("| " + " | ".join((c.ljust(w) if i == 0 else c.rjust(w))
                               for i, (c, w) in enumerate(zip(row, widths))) + " |")
    worst = max(rows, key=lambda r: r["fraction_aggressive"])
    print(f"\nsealed size over transcript size, all cases: {100 * sealed / total:.1f}% "
          f"(target <= {100 * TARGET:.0f}%: {'met' if sealed / total <= TARGET else 'NOT met'}); "
          f"largest single case: {worst['case']} {100 * worst['fraction_aggressive']:.1f}%; "
          f"cases over the target: {sum(r['fraction_aggressive'] > TARGET for r in rows)} of {len(rows)} "
          f"packed alone, {sum(r['fraction_marginal'] > TARGET for r in rows)} of {len(rows)} marginal")


def corpus_run(folder: Path, runs: int, root: Path, profile: bool) -> dict:
    """Every transcript under `folder` imported into a new repository, `runs` times,
    interleaved with json.loads of the same files (A B, then B A)."""
    files = sorted(folder.rglob("*.jsonl"))
    size = sum(f.stat().st_size for f in files)
    imports, parses, cpu_imports, cpu_parses = [], [], [], []
    time_parse(files)  # warm the page cache
    result = None
    for i in range(runs):
        repo = new_repo(root, len(list(root.iterdir())))
        for which in ((0, 1) if i % 2 == 0 else (1, 0)):
            cpu = cpu_now()
            if which == 0:
                t, result = time_import(repo, files)
                imports.append(t)
                cpu_imports.append(cpu_now() - cpu)
            else:
                parses.append(time_parse(files))
                cpu_parses.append(cpu_now() - cpu)
    imp, base = statistics.median(imports), statistics.median(parses)
    cpu_imp, cpu_base = statistics.median(cpu_imports), statistics.median(cpu_parses)
    out = {"folder": str(folder), "files": len(files), "bytes": size, "sessions": len(result["sessions"]),
           "import_s": imports, "parse_s": parses, "import_cpu_s": cpu_imports, "parse_cpu_s": cpu_parses,
           "import_mb_s": size / imp / 1e6, "parse_mb_s": size / base / 1e6, "ratio": imp / base,
           "import_cpu_mb_s": size / cpu_imp / 1e6, "parse_cpu_mb_s": size / cpu_base / 1e6}
    if profile:
        import cProfile
        import io
        import pstats
        repo = new_repo(root, len(list(root.iterdir())))
        prof = cProfile.Profile()
        prof.enable()
        time_import(repo, files, jobs=1)  # the profile sees this process alone
        prof.disable()
        text = io.StringIO()
        pstats.Stats(prof, stream=text).sort_stats("tottime").print_stats(25)
        out["profile"] = text.getvalue()
    return out


def one_import(folder: Path, root: Path) -> dict:
    """One import of every transcript under `folder` into a new repository
    (a child of --against): its wall clock and CPU time, and whose code ran."""
    import git_ot

    files = sorted(folder.rglob("*.jsonl"))
    time_parse(files)  # warm the page cache
    repo = new_repo(root, 0)
    cpu = cpu_now()
    t, _ = time_import(repo, files)
    return {"wall_s": t, "cpu_s": cpu_now() - cpu, "bytes": sum(f.stat().st_size for f in files),
            "code": str(Path(git_ot.__file__).resolve().parents[1])}


def against_run(folder: Path, other: Path, runs: int) -> dict:
    """This checkout's import and `other`'s, alternated, each in a new process."""
    out: dict = {"this": [], "other": []}
    for i in range(runs):
        for which in (("this", "other") if i % 2 == 0 else ("other", "this")):
            source = ROOT if which == "this" else other.resolve()
            env = {**os.environ, "GIT_OT_BENCH_SOURCE": str(source)}
            proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--one", str(folder)],
                                  env=env, capture_output=True, check=True, cwd=tempfile.gettempdir())
            row = json.loads(proc.stdout)
            if Path(row["code"]) != source:
                raise SystemExit(f"the import ran {row['code']}'s code, not {source}'s")
            out[which].append(row)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="imports of each case (default 5)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the temporary repositories")
    parser.add_argument("--corpus", type=Path, metavar="DIR",
                        help="measure throughput on every *.jsonl under DIR instead of the cases")
    parser.add_argument("--profile", action="store_true", help="with --corpus, profile one more import")
    parser.add_argument("--against", type=Path, metavar="CHECKOUT",
                        help="with --corpus, time another checkout's import too, alternating, each in a new process")
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one is not None:
        root = Path(tempfile.mkdtemp(prefix="git-ot-bench-import-"))
        try:
            hermetic_env(root / "home")
            (root / "repos").mkdir()
            print(json.dumps(one_import(args.one, root / "repos")))
        finally:
            shutil.rmtree(root, ignore_errors=True)
        return 0
    if args.corpus is not None and args.against is not None:
        log(f"{args.corpus}: {args.runs} run(s) of this checkout and of {args.against}, alternating")
        rows = against_run(args.corpus, args.against, args.runs)
        if args.json:
            print(json.dumps(rows, indent=2))
            return 0
        size = rows["this"][0]["bytes"]
        print(f"{size / 1e6:.1f} MB of transcripts; {args.runs} imports each, alternating, each in a new "
              f"process; Python {platform.python_version()}, {os.cpu_count()} CPUs")
        medians = {}
        for which, name in (("other", str(args.against)), ("this", "this checkout")):
            walls = [size / r["wall_s"] / 1e6 for r in rows[which]]
            cpus = [size / r["cpu_s"] / 1e6 for r in rows[which]]
            medians[which] = (statistics.median(walls), statistics.median(cpus))
            print(f"  {name}: wall clock {medians[which][0]:.2f} MB/s (runs: "
                  f"{', '.join(f'{w:.1f}' for w in walls)}), CPU {medians[which][1]:.2f} MB/s "
                  f"(runs: {', '.join(f'{c:.1f}' for c in cpus)})")
        print(f"  this checkout over the other: {medians['this'][0] / medians['other'][0]:.2f}x by the wall "
              f"clock, {medians['this'][1] / medians['other'][1]:.2f}x by CPU time "
              f"(target >= {TARGET_MB_S:.0f} MB/s: {'met' if medians['this'][0] >= TARGET_MB_S else 'NOT met'})")
        return 0
    root = Path(tempfile.mkdtemp(prefix="git-ot-bench-import-"))
    hermetic_env(root / "home")
    work = root / "repos"
    work.mkdir()
    if args.corpus is not None:
        try:
            log(f"{args.corpus}: {args.runs} run(s)")
            row = corpus_run(args.corpus, args.runs, work, args.profile)
        finally:
            if not args.keep:
                shutil.rmtree(root, ignore_errors=True)
        if args.json:
            print(json.dumps(row, indent=2))
            return 0
        print(f"{row['files']} transcripts, {row['bytes'] / 1e6:.1f} MB, {row['sessions']} sessions; "
              f"median of {args.runs} runs, Python {platform.python_version()}, {os.cpu_count()} CPUs")
        print(f"  git ot import claude-code  {row['import_mb_s']:7.2f} MB/s  "
              f"(target >= {TARGET_MB_S:.0f}: {'met' if row['import_mb_s'] >= TARGET_MB_S else 'NOT met'})")
        print(f"  json.loads of every line   {row['parse_mb_s']:7.1f} MB/s  (baseline, same run)")
        print(f"  import / json.loads time   {row['ratio']:7.1f}x")
        print(f"  by CPU time (user + system, with the processes it ran; what a loaded machine's other work "
              f"does not change): import {row['import_cpu_mb_s']:.2f} MB/s, "
              f"json.loads {row['parse_cpu_mb_s']:.1f} MB/s")
        if args.profile:
            print(row["profile"])
        return 0
    rows = []
    all_files = list(dict.fromkeys(f for _, fs in cases() for f in fs))
    try:
        for name, files in cases():
            log(f"{name}: {len(files)} file(s), {args.runs} run(s)")
            rows.append(run_case(name, files, args.runs, work, all_files))
        log("every case into one repository")
        bucket = one_bucket(cases(), work)
    finally:
        if args.keep:
            log(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    meta = {"python": platform.python_version(), "machine": platform.machine(),
            "git": git(Path("."), "--version").decode().strip(), "cpus": os.cpu_count(), "runs": args.runs}
    if args.json:
        print(json.dumps({"meta": meta, "cases": rows, "one_repository": bucket}, indent=2))
    else:
        print(f"{meta['git']}, Python {meta['python']}, {meta['cpus']} CPUs, median of {args.runs} runs\n")
        print_table(rows, bucket)
    return 0


if __name__ == "__main__":
    sys.exit(main())
