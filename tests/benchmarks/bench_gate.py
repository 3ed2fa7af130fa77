#!/usr/bin/env python3
"""Security gate benchmark: throughput, false positives, and the hooks around it.

Run it as

    python tests/benchmarks/bench_gate.py [--runs 5] [--files 2000] [--stdlib DIR] [--corpus DIR] [--json]

Three parts, each printed next to what it is measured against:

1. Throughput on real transcripts: every `*.jsonl` transcript under
   tests/fixtures/ (or under `--corpus DIR`, e.g. sessions of entireio/cli).
   Each line is parsed once, outside the timing; then
     gate on values   the seal-time gate (`SealGate.redact`: detectors,
                      tokens, judge) over every parsed line, as the fold
                      hands values to it;
     detectors only   `Gate.hits` (patterns and entropy) over each file's text;
     full scan        the same detectors with no prefilter (every
                      expression over every text; detectors.Probe), the
                      baseline of the prefilter, finding the same;
   against two baselines over the same bytes: `json.loads` of every line,
   and zstandard compression of each file at level 3 and at level 10 (the
   level of git-ot's records). Figures are MB/s of transcript bytes, the
   median of `--runs` runs.

2. False positives of the default detectors (patterns and entropy) on real
   code: the project's own source (git_ot/) and a large code base with no
   real secrets, the Python standard library of the interpreter running
   this script (or `--stdlib DIR`), site-packages and caches left out.
   Every finding there is a false positive; reported per MB and per file,
   by kind, with the files that have the most.

3. The hooks: in a generated repository of `--files` files, the real
   `git-ot hook claude-code PostToolUse` of a Write tool call (the gate is
   not on this path; the script checks that the process never imports it)
   and the `Stop` hook that seals the turn, gate included, timed over
   `--runs` turns; against the 100 ms a capture hook may add (DESIGN.md).

It is a report, not a test: it exits 0 whatever the figures. The
throughput figures are this process's CPU time (time.process_time), which
other work on a shared machine moves far less than the wall clock; the
hooks, which are processes of their own, are timed with time.perf_counter.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import zstandard  # noqa: E402

from git_ot.domain.gate import detectors as d  # noqa: E402
from git_ot.domain.gate import memo  # noqa: E402
from git_ot.domain.gate.engine import Gate  # noqa: E402
from git_ot.domain.gate.seal import SealGate  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import log  # noqa: E402
from git_ot.store.repository import Store  # noqa: E402

TEXT_SUFFIXES = {".py", ".pyi", ".txt", ".rst", ".md", ".cfg", ".ini", ".toml", ".json", ".xml", ".html",
                 ".css", ".js", ".c", ".h", ".sh", ".bat", ".ps1", ".yaml", ".yml", ".csv", ".pem", ".key",
                 ".crt", ".in", ".tcl", ".decTest", ".lst"}


def median_time(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        memo.forget()  # every run sees each line for the first time, as a new process does
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return statistics.median(times)


def scratch_repo(base: Path, name: str) -> Path:
    path = base / name
    path.mkdir()
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    return path


def isolated_env(base: Path) -> dict:
    home = base / "home"
    home.mkdir(exist_ok=True)
    (home / ".gitconfig").write_text("[user]\n\tname = bench\n\temail = bench@example.com\n")
    env = dict(os.environ, HOME=str(home), GIT_CONFIG_GLOBAL=str(home / ".gitconfig"), GIT_CONFIG_NOSYSTEM="1")
    for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        env.pop(key, None)
    return env


# -- 1. throughput --------------------------------------------------------------------

def transcripts(corpus: Path | None = None) -> list[Path]:
    files = sorted(p for p in (corpus or ROOT / "tests" / "fixtures").rglob("*.jsonl") if p.name != "hooks.jsonl")
    seen, out = set(), []
    for path in files:
        digest = hashlib.sha1(path.read_bytes()).hexdigest()
        if digest not in seen:
            seen.add(digest)
            out.append(path)
    return out


def throughput(base: Path, runs: int, corpus: Path | None = None) -> dict:
    files = transcripts(corpus)
    blobs = [p.read_bytes() for p in files]
    total = sum(len(b) for b in blobs)
    mb = total / 1e6
    lines = [line for b in blobs for line in b.splitlines() if line.strip()]
    values = []
    for line in lines:
        try:
            values.append(json.loads(line))
        except ValueError:
            values.append(line.decode("utf-8", "replace"))
    texts = [b.decode("utf-8", "surrogateescape") for b in blobs]
    store = Store.open(str(scratch_repo(base, "throughput")))

    def gate_values():
        g = SealGate(store, "bench", [])
        for v in values:
            g.redact(v)

    g = Gate(store)
    results = {
        "gate on values": median_time(gate_values, runs),
        "detectors only": median_time(lambda: [g.hits(t) for t in texts], runs),
        "full scan (no prefilter)": median_time(
            lambda: [d.pattern_hits(t, prefilter=False) + d.entropy_hits(t, prefilter=False) for t in texts], runs),
        "json.loads (baseline)": median_time(lambda: [json.loads(x) for x in lines], runs),
        "zstd level 3 (baseline)": median_time(
            lambda: [zstandard.ZstdCompressor(level=3).compress(b) for b in blobs], runs),
        "zstd level 10 (baseline)": median_time(
            lambda: [zstandard.ZstdCompressor(level=10).compress(b) for b in blobs], runs),
    }
    kinds = Counter(h.kind for t in texts for h in g.hits(t))
    return {"files": [str(p) for p in files], "bytes": total,
            "mb_per_s": {k: mb / v for k, v in results.items()}, "seconds": results,
            "findings": dict(kinds.most_common())}


# -- 2. false positives -------------------------------------------------------------------

def code_files(root: Path):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in ("site-packages", "__pycache__", "dist-packages"))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.suffix in TEXT_SUFFIXES or (not path.suffix and path.is_file()):
                yield path


def false_positives(store: Store, root: Path) -> dict:
    g = Gate(store)
    kinds, per_file = Counter(), Counter()
    nbytes = nfiles = 0
    t0 = time.perf_counter()
    for path in code_files(root):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if len(data) > 10 * 1024 * 1024:
            continue
        nfiles += 1
        nbytes += len(data)
        binary = b"\0" in data[:8000]
        hits = g.hits(data.decode("utf-8", "surrogateescape"), binary)
        for h in hits:
            kinds[h.kind] += 1
        if hits:
            per_file[str(path.relative_to(root))] = len(hits)
    seconds = time.perf_counter() - t0
    total = sum(kinds.values())
    return {"root": str(root), "files": nfiles, "bytes": nbytes, "findings": total,
            "per_mb": total / (nbytes / 1e6) if nbytes else 0.0,
            "files_with_findings": len(per_file),
            "per_file": len(per_file) / nfiles if nfiles else 0.0,
            "by_kind": dict(kinds.most_common()), "top_files": dict(per_file.most_common(8)),
            "mb_per_s": nbytes / 1e6 / seconds if seconds else 0.0}


# -- 3. the hooks ---------------------------------------------------------------------------

def make_tree(path: Path, files: int, seed: int = 1) -> None:
    r = random.Random(seed)
    words = "value index result config parser token stream node item entry state cache".split()
    for i in range(files):
        sub = path / f"d{i % 17}" / f"e{i % 5}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{i}.py").write_text("\n".join(
            f"def {r.choice(words)}_{j}(x):\n    return x + {j}" for j in range(r.randint(5, 60))) + "\n")


def hooks(base: Path, files: int, runs: int) -> dict:
    env = isolated_env(base)
    repo = scratch_repo(base, "hooks")
    make_tree(repo, files)
    subprocess.run(["git", "add", "-A"], cwd=repo, env=env, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "tree"], cwd=repo, env=env, check=True)
    cmd = [sys.executable, "-m", "git_ot", "hook", "claude-code"]

    def hook(event: str, payload: dict, importtime: bool = False):
        payload = {**payload, "session_id": "bench-1", "cwd": str(repo), "hook_event_name": event}
        argv = [sys.executable, "-X", "importtime", *cmd[1:]] if importtime else cmd
        t0 = time.perf_counter()
        proc = subprocess.run(argv + [event], cwd=repo, env=env, input=json.dumps(payload).encode(),
                              capture_output=True)
        return time.perf_counter() - t0, proc

    post, stop = [], []
    hook("UserPromptSubmit", {"prompt": "warm up"})
    gate_imported = False
    for run in range(runs + 1):
        rel = f"out/gen_{run}.py"
        tool = {"tool_name": "Write", "tool_use_id": f"toolu_{run:04d}",
                "tool_input": {"file_path": str(repo / rel), "content": "x = 1\n"}}
        hook("PreToolUse", tool)
        (repo / "out").mkdir(exist_ok=True)
        (repo / rel).write_text(f"x = {run}\nAPI_TOKEN = 'tok_{run:04d}_" + "a1B2c3D4e5F6g7H8" + "'\n")
        elapsed, proc = hook("PostToolUse", {**tool, "tool_response": {"type": "create"}}, importtime=run == 0)
        if run == 0:
            gate_imported = "git_ot.domain.gate" in proc.stderr.decode()
            continue  # the warm-up
        post.append(elapsed)
        elapsed, _ = hook("Stop", {"last_assistant_message": f"turn {run} done"})
        stop.append(elapsed)
    sealed = subprocess.run(["git", "show", "refs/opentraces/sessions/bench-1:manifest.json"], cwd=repo,
                            env=env, capture_output=True)
    report = json.loads(sealed.stdout).get("gate", {}) if sealed.returncode == 0 else {}

    def p95(xs):
        xs = sorted(xs)
        return xs[max(0, math.ceil(0.95 * len(xs)) - 1)]

    return {"files": files, "runs": runs, "gate_imported_on_post_tool_use": gate_imported,
            "post_tool_use_ms": {"median": statistics.median(post) * 1e3, "p95": p95(post) * 1e3},
            "stop_seal_ms": {"median": statistics.median(stop) * 1e3, "p95": p95(stop) * 1e3},
            "gate_report": report}


# -- the report -------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--files", type=int, default=2000, help="files in the repository the hooks run in")
    parser.add_argument("--stdlib", default=sysconfig.get_paths()["stdlib"],
                        help="the large code base to count false positives on")
    parser.add_argument("--json", action="store_true", help="print every figure as JSON")
    parser.add_argument("--skip-hooks", action="store_true")
    parser.add_argument("--corpus", type=Path, metavar="DIR",
                        help="measure throughput on every *.jsonl under DIR instead of tests/fixtures/")
    parser.add_argument("--throughput-only", action="store_true", help="skip the false positives and hooks")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="git-ot-bench-gate-") as tmp:
        base = Path(tmp)
        os.environ.update(isolated_env(base))
        log("throughput on transcripts ...")
        tp = throughput(base, args.runs, args.corpus)
        if args.throughput_only:
            print(f"Throughput on {len(tp['files'])} real transcripts, {tp['bytes'] / 1e6:.2f} MB "
                  f"(median of {args.runs} runs)")
            for name, rate in tp["mb_per_s"].items():
                print(f"  {name:28} {rate:8.1f} MB/s")
            return 0
        store = Store.open(str(scratch_repo(base, "fp")))
        log("false positives on git_ot/ ...")
        own = false_positives(store, ROOT / "git_ot")
        log(f"false positives on {args.stdlib} ...")
        std = false_positives(store, Path(args.stdlib))
        hk = None
        if not args.skip_hooks:
            log(f"hooks in a repository of {args.files} files ...")
            hk = hooks(base, args.files, args.runs * 3)

    result = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                          "system": platform.system()},
              "throughput": tp, "false_positives": {"git_ot": own, "stdlib": std}, "hooks": hk}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0

    print(f"Throughput on {len(tp['files'])} real transcripts, {tp['bytes'] / 1e6:.2f} MB "
          f"(median of {args.runs} runs; Python {platform.python_version()}, {os.cpu_count()} CPUs)")
    print(f"  {'':28} {'MB/s':>8}")
    for name, rate in tp["mb_per_s"].items():
        print(f"  {name:28} {rate:8.1f}")
    gate_rate = tp["mb_per_s"]["gate on values"]
    print(f"  gate / json.loads: {gate_rate / tp['mb_per_s']['json.loads (baseline)']:.2f}x, "
          f"gate / zstd level 10: {gate_rate / tp['mb_per_s']['zstd level 10 (baseline)']:.2f}x")
    print(f"  findings in the transcripts: {tp['findings'] or 'none'}")
    print()
    print("False positives of the default detectors (patterns, entropy) on code without secrets")
    print(f"  {'code base':36} {'files':>6} {'MB':>7} {'findings':>9} {'per MB':>7} {'files hit':>10}")
    for label, fp in (("git_ot/", own), (std["root"], std)):
        print(f"  {label[-36:]:36} {fp['files']:6d} {fp['bytes'] / 1e6:7.2f} {fp['findings']:9d} "
              f"{fp['per_mb']:7.2f} {fp['files_with_findings']:5d} ({fp['per_file'] * 100:.1f}%)")
    print(f"  stdlib by kind: {std['by_kind']}")
    print(f"  stdlib files with the most: {std['top_files']}")
    if hk:
        print()
        print(f"Hooks in a repository of {hk['files']} files, {hk['runs']} turns "
              f"(target: a capture hook adds at most 100 ms, p95)")
        print(f"  PostToolUse (Write, snapshot; no gate): median {hk['post_tool_use_ms']['median']:.1f} ms, "
              f"p95 {hk['post_tool_use_ms']['p95']:.1f} ms; gate imported: {hk['gate_imported_on_post_tool_use']}")
        print(f"  Stop (seals the turn, gate included):    median {hk['stop_seal_ms']['median']:.1f} ms, "
              f"p95 {hk['stop_seal_ms']['p95']:.1f} ms")
        print(f"  the session's gate report: {hk['gate_report']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
