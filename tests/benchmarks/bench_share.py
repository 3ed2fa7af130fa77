#!/usr/bin/env python3
"""Sharing benchmark: a bucket of 10,000 sessions next to the code.

Run it as

    python tests/benchmarks/bench_share.py [--sessions 10000] [--runs 15] [--json] [--keep]

It builds, in a temporary directory (git reads neither the system's nor the
user's configuration there), a code repository of a few hundred files and
commits, one real session captured through the hook path, and `--sessions`
sessions made from it (its tree, with each session's own manifest, under
`refs/opentraces/sessions/<id>`), plus notes on the code's commits. Three
bare servers are served by one `git daemon` on loopback: `bucket.git` holds
the code and the bucket after a `git gc` (refs packed, a commit-graph, as
a server's maintenance leaves them), `bucket-loose.git` the same with its
refs loose and no commit-graph, `plain.git` the same
code and nothing else, after a `git gc`. Clones: one of each bucket server that never fetches
the bucket, one of `bucket.git` that runs `git ot remote set origin` and
`git ot fetch` (the first fetch is timed once) and `git ot init`, and one of
`plain.git`, the baseline.

Figures, each over `--runs` runs, interleaved with its baseline (A B, then
B A) so that a noisy machine slows both alike:

  no-op code fetch   `git fetch origin` (default refspecs, nothing new):
                     sessions on the server only, and on the server and in
                     the clone; against the clone of `plain.git`;
                     target: ratio <= 1.1
  code push          `git push` of one new commit, the same two ways,
                     against the same in the clone of `plain.git`
  incremental push   `git ot push` of one new session (recorded, untimed,
                     through the hook path and approved before each run),
                     against `git push` of one new code commit to the same
                     server; target: under 2 s
  no-op bucket fetch `git ot fetch` with nothing new (reference)

git-ot sets `fetch.hideRefs = refs/opentraces` in a repository that holds
sessions, so that git 2.41 and later leave the session refs out of a
fetch's connectivity check; the run also times the clone's fetch without
that setting. To time another git, put it first on PATH.

Every figure is the wall time of the whole process, from outside, as a user
waits for it. It is a report, not a test: it exits 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pygit2  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import hermetic_env, log  # noqa: E402

PY = sys.executable


def git(cwd: Path, *args: str, input: bytes | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, input=input, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args[:3])} failed: {proc.stderr.decode()}")
    return proc.stdout.decode()


def ot(cwd: Path, *args: str, input: str | None = None) -> str:
    proc = subprocess.run([PY, "-m", "git_ot", *args], cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, input=input.encode() if input else None)
    if proc.returncode != 0:
        raise RuntimeError(f"git ot {' '.join(args)} failed: {proc.stderr.decode()}")
    return proc.stdout.decode()


def hook(repo: Path, event: str, payload: dict) -> None:
    ot(repo, "hook", "claude-code", event,
       input=json.dumps({**payload, "cwd": str(repo), "hook_event_name": event}))


def record_session(repo: Path, sid: str, n: int) -> None:
    """One real session through the hook path: a prompt, a Write, a message."""
    hook(repo, "UserPromptSubmit", {"session_id": sid, "prompt": f"add module {n}"})
    tool = {"session_id": sid, "tool_name": "Write", "tool_use_id": f"w{n}",
            "tool_input": {"file_path": str(repo / f"gen/m{n}.py"), "content": f"X = {n}\n"}}
    hook(repo, "PreToolUse", tool)
    (repo / "gen").mkdir(exist_ok=True)
    (repo / f"gen/m{n}.py").write_text(f"X = {n}\n")
    hook(repo, "PostToolUse", {**tool, "tool_response": {"type": "create"}})
    hook(repo, "Stop", {"session_id": sid, "last_assistant_message": f"Added m{n}.py"})


# -- building the repositories -------------------------------------------------------

def build_code(src: Path, files: int, commits: int, rng: random.Random) -> list[str]:
    git(src.parent, "init", "-q", str(src))
    made = []
    for c in range(commits):
        for _ in range(max(1, files // commits)):
            path = src / f"pkg{rng.randrange(20)}" / f"mod{rng.randrange(files)}.py"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(f"value_{rng.randrange(10**6)} = {i}\n" for i in range(40)))
        git(src, "add", "-A")
        git(src, "commit", "-q", "-m", f"commit {c}")
        made.append(git(src, "rev-parse", "HEAD").strip())
    return made


def make_sessions(src: Path, count: int, code_commits: list[str]) -> None:
    """`count` sessions: the tree of one real session, each with its own manifest."""
    template_id = str(uuid.UUID(int=0))
    record_session(src, template_id, 0)
    repo = pygit2.Repository(str(src / ".git"))
    tip = repo.references[f"refs/opentraces/sessions/{template_id}"].target
    base_tree = repo[tip].tree
    manifest = json.loads(repo[base_tree["manifest.json"].id].data)
    sig = pygit2.Signature("Bench", "bench@example.com", 1700000000, 0)
    lines = []
    for i in range(count):
        sid = str(uuid.UUID(int=i + 1))
        m = dict(manifest, session=sid, start=f"2026-11-{1 + i % 28:02d}T10:00:00Z")
        blob = repo.create_blob((json.dumps(m, indent=2) + "\n").encode())
        tb = repo.TreeBuilder(base_tree)
        tb.insert("manifest.json", blob, pygit2.GIT_FILEMODE_BLOB)
        commit = repo.create_commit(None, sig, sig, f"seal {sid}: 6 events\n\nSteps: 3\n",
                                    tb.write(), [])
        lines.append(f"create refs/opentraces/sessions/{sid} {commit}\n")
    git(src, "update-ref", "--stdin", input="".join(lines).encode())
    git(src, "update-ref", "-d", f"refs/opentraces/sessions/{template_id}")
    for n, commit in enumerate(code_commits):
        sid = str(uuid.UUID(int=n + 1))
        line = json.dumps({"v": 1, "session": sid, "step": 2, "hunk": "2.1.1", "path": "gen/m0.py",
                           "lines": [1, 1], "harness": "claude-code", "model": None},
                          separators=(",", ":"))
        git(src, "notes", "--ref=opentraces", "add", "-f", "-m", line, commit)
    git(src, "pack-refs", "--all")


class Daemon:
    def __init__(self, base: Path, env: dict):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc = subprocess.Popen(
            ["git", "daemon", "--reuseaddr", "--export-all", "--enable=receive-pack",
             f"--base-path={base}", "--listen=127.0.0.1", f"--port={self.port}", str(base)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("git daemon did not start")
                time.sleep(0.05)

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=10)


# -- timing ----------------------------------------------------------------------------------

def wall(cmd: list[str], cwd: Path) -> float:
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr.decode()}")
    return elapsed


def interleaved(runs: int, a, b) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    a(), b()  # warm the caches, untimed
    for i in range(runs):
        if i % 2 == 0:
            xs.append(a())
            ys.append(b())
        else:
            ys.append(b())
            xs.append(a())
    return xs, ys


def row(name: str, xs: list[float], ys: list[float] | None, baseline: str | None,
        target: str) -> dict:
    out = {"figure": name, "median_ms": statistics.median(xs) * 1000,
           "p95_ms": sorted(xs)[max(0, -(-len(xs) * 95 // 100) - 1)] * 1000,
           "samples_ms": [x * 1000 for x in xs], "target": target}
    if ys is not None:
        out.update(baseline=baseline, baseline_ms=statistics.median(ys) * 1000,
                   ratio=statistics.median(xs) / statistics.median(ys),
                   baseline_samples_ms=[y * 1000 for y in ys])
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=10000)
    ap.add_argument("--files", type=int, default=600)
    ap.add_argument("--commits", type=int, default=60)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="git-ot-bench-share-"))
    env = hermetic_env(tmp / "home")
    os.environ.clear()
    os.environ.update(env)
    rng = random.Random(args.seed)
    daemon = None
    try:
        t0 = time.perf_counter()
        src = tmp / "src"
        code_commits = build_code(src, args.files, args.commits, rng)
        make_sessions(src, args.sessions, code_commits)
        log(f"built {args.sessions} sessions in {time.perf_counter() - t0:.1f} s")

        base = tmp / "srv"
        base.mkdir()
        for name in ("bucket.git", "bucket-loose.git", "plain.git"):
            git(base, "init", "-q", "--bare", name)
            git(src, "push", "-q", str(base / name), "main")
        for name in ("bucket.git", "bucket-loose.git"):
            git(src, "push", "-q", str(base / name),
                "refs/opentraces/sessions/*:refs/opentraces/sessions/*", "refs/notes/opentraces")
        for name in ("bucket.git", "plain.git"):  # refs packed and a commit-graph, as a server's gc leaves them
            git(base / name, "gc", "-q")
        daemon = Daemon(base, env)

        clones = {}
        for name, server in (("server-only", "bucket.git"), ("server-only-loose", "bucket-loose.git"),
                             ("bucket", "bucket.git"), ("plain", "plain.git")):
            path = tmp / ("clone-" + name)
            git(tmp, "clone", "-q", daemon.url(server), str(path))
            clones[name] = path
        bucket = clones["bucket"]
        ot(bucket, "remote", "set", "origin")
        t = time.perf_counter()
        ot(bucket, "fetch")
        first_fetch = time.perf_counter() - t
        ot(bucket, "init")
        have = len(git(bucket, "for-each-ref", "refs/opentraces/sessions/").splitlines())
        log(f"first git ot fetch of {have} sessions: {first_fetch:.1f} s")

        rows = []
        fetch = ["git", "fetch", "-q", "origin"]
        for name, label in (
                ("server-only", "no-op code fetch: sessions on the server (packed)"),
                ("server-only-loose", "no-op code fetch: sessions on the server (loose)"),
                ("bucket", "no-op code fetch: sessions on server and in clone")):
            xs, ys = interleaved(args.runs, lambda: wall(fetch, clones[name]),
                                 lambda: wall(fetch, clones["plain"]))
            rows.append(row(label, xs, ys, "git fetch, no bucket anywhere", "ratio <= 1.1"))
        # What fetch.hideRefs (set by git-ot, read by git 2.41 and later) saves.
        hidden = git(bucket, "config", "--get-all", "fetch.hideRefs").split()
        git(bucket, "config", "--unset-all", "fetch.hideRefs")
        xs, ys = interleaved(args.runs, lambda: wall(fetch, bucket),
                             lambda: wall(fetch, clones["plain"]))
        rows.append(row("the same without fetch.hideRefs", xs, ys,
                        "git fetch, no bucket anywhere", "-"))
        for value in hidden:
            git(bucket, "config", "--add", "fetch.hideRefs", value)

        def code_push_in(clone: Path) -> float:
            (clone / "pushed.txt").write_text(f"{time.perf_counter()}\n")
            git(clone, "add", "pushed.txt")
            git(clone, "commit", "-q", "-m", "one more")
            return wall(["git", "push", "-q", "origin", f"HEAD:refs/heads/{clone.name}"], clone)

        for name, label in (
                ("server-only", "code push of one commit: sessions on the server"),
                ("bucket", "code push of one commit: sessions on server and in clone")):
            xs, ys = interleaved(args.runs, lambda: code_push_in(clones[name]),
                                 lambda: code_push_in(clones["plain"]))
            rows.append(row(label, xs, ys, "git push, no bucket anywhere", "ratio <= 1.1"))

        counter = [0]

        def new_session():
            counter[0] += 1
            sid = f"bench-new-{counter[0]}"
            record_session(bucket, sid, 10_000 + counter[0])
            ot(bucket, "approve", sid)

        def ot_push() -> float:
            new_session()
            return wall([PY, "-m", "git_ot", "push"], bucket)

        xs, ys = interleaved(args.runs, ot_push, lambda: code_push_in(bucket))
        rows.append(row("incremental git ot push of one new session", xs, ys,
                        "git push of one new commit", "under 2000 ms"))
        xs = [wall([PY, "-m", "git_ot", "fetch"], bucket) for _ in range(args.runs)]
        rows.append(row("no-op git ot fetch", xs, None, None, "-"))

        pushed = len(git(base / "bucket.git", "for-each-ref", "refs/opentraces/sessions/").splitlines())
        git(base / "bucket.git", "fsck", "--strict", "--no-dangling")
        meta = {"sessions": args.sessions, "server_sessions_after": pushed, "runs": args.runs,
                "first_ot_fetch_s": first_fetch, "git": git(tmp, "--version").strip(),
                "python": platform.python_version(), "cpus": os.cpu_count()}
        if args.json:
            print(json.dumps({"meta": meta, "rows": rows}, indent=2))
        else:
            print(f"{args.sessions} sessions, {args.runs} runs, {meta['git']}, "
                  f"Python {meta['python']}, {meta['cpus']} cpus; medians")
            print(f"{'figure':<52} {'median ms':>10} {'p95 ms':>8} {'baseline ms':>12} {'ratio':>6}  target")
            for r in rows:
                base_ms = f"{r['baseline_ms']:.1f}" if "baseline_ms" in r else "-"
                ratio = f"{r['ratio']:.2f}" if "ratio" in r else "-"
                print(f"{r['figure']:<52} {r['median_ms']:>10.1f} {r['p95_ms']:>8.1f} "
                      f"{base_ms:>12} {ratio:>6}  {r['target']}")
                if "baseline" in r:
                    print(f"{'  baseline: ' + r['baseline']:<52}")
            print(f"first git ot fetch of all {args.sessions} sessions into the clone: "
                  f"{first_fetch:.1f} s")
        return 0
    finally:
        if daemon is not None:
            daemon.stop()
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
