#!/usr/bin/env python3
"""Seal benchmark: sealing a session with large tool outputs, time and peak memory.

Run it as

    python tests/benchmarks/bench_seal.py [--mb 20] [--calls 20] [--runs 3] [--json]

It builds a small committed repository in a temporary directory, runs
`git ot init` there, and spools one session through the real hook process
(`<python> -m git_ot hook claude-code <Event>`): a prompt, then `--calls`
Bash tool calls whose PostToolUse payload carries `--mb` MB of output in
all (build-log-like text lines, split evenly between the calls). Nothing is
sealed until the timed call: `<python> -m git_ot hook seal <session>`, the
seal a turn's last hook starts in the background, which seals the whole
session.

Each run times that seal (wall time, from start to exit) and reads its
peak resident memory (the child's ru_maxrss from wait4, the child started by a small
launcher process, as a child's peak counts what it inherited at fork), beside two floors
taken in the same run: the seal of a session with the same calls and
no output to speak of (what the seal costs without the large outputs), and
`<python> -c "import git_ot.domain.sealing"` (what the interpreter and the
sealing code take before any work). Figures are medians over `--runs`.

It is a report, not a test: it exits 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for path in (str(ROOT), str(HERE)):
    if path not in sys.path:
        sys.path.insert(0, path)

from common import git, hermetic_env, log, scratch  # noqa: E402


def output_text(size: int, seed: int) -> str:
    """About `size` bytes of build-log-like lines."""
    lines = []
    total = 0
    i = 0
    while total < size:
        line = f"[{seed}:{i:07d}] compiling src/module_{(i * 7919 + seed) % 4099}.c -> build/obj_{i}.o ... ok\n"
        lines.append(line)
        total += len(line)
        i += 1
    return "".join(lines)[:size]


def hook(repo: Path, env: dict, event: str, payload: dict) -> None:
    """Run one hook process, untimed."""
    data = json.dumps({**payload, "cwd": str(repo), "hook_event_name": event}).encode()
    subprocess.run([sys.executable, "-m", "git_ot", "hook", "claude-code", event], cwd=repo,
                   env=env, input=data, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# A child's peak RSS counts what it inherited at fork (Linux keeps the high
# water mark across exec): the timed processes are started by this small
# launcher, started before the benchmark holds any large output.
LAUNCHER = r"""
import json, os, subprocess, sys, time
for line in sys.stdin:
    job = json.loads(line)
    with open(job["stdin"], "rb") as fh:
        start = time.perf_counter()
        proc = subprocess.Popen(job["argv"], cwd=job["cwd"], env=job["env"], stdin=fh,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
    print(json.dumps([time.perf_counter() - start, usage.ru_maxrss / 1024.0]), flush=True)
"""


class Launcher:
    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, "-c", LAUNCHER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)

    def run(self, argv: list[str], cwd: Path, env: dict, data: bytes, tmp: Path) -> tuple[float, float]:
        """Wall time (s) and peak RSS (MB) of one process run by the launcher."""
        stdin = tmp / "stdin"
        stdin.write_bytes(data)
        self.proc.stdin.write(json.dumps({"argv": argv, "cwd": str(cwd), "env": env,
                                          "stdin": str(stdin)}) + "\n")
        self.proc.stdin.flush()
        elapsed, peak = json.loads(self.proc.stdout.readline())
        return elapsed, peak

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def timed_hook(launcher: Launcher, repo: Path, env: dict, event: str, payload: dict,
               tmp: Path) -> tuple[float, float]:
    data = json.dumps({**payload, "cwd": str(repo), "hook_event_name": event}).encode()
    return launcher.run([sys.executable, "-m", "git_ot", "hook", "claude-code", event], repo, env, data, tmp)


def timed_seal(launcher: Launcher, repo: Path, env: dict, session: str, tmp: Path) -> tuple[float, float]:
    return launcher.run([sys.executable, "-m", "git_ot", "hook", "seal", session], repo, env, b"", tmp)


def floor(launcher: Launcher, repo: Path, env: dict, tmp: Path) -> tuple[float, float]:
    return launcher.run([sys.executable, "-c", "import git_ot.domain.sealing"], repo, env, b"", tmp)


def spool_session(repo: Path, env: dict, session: str, calls: int, size: int) -> None:
    hook(repo, env, "SessionStart", {"session_id": session, "source": "startup"})
    hook(repo, env, "UserPromptSubmit", {"session_id": session, "prompt": "build it"})
    per_call = size // calls
    for i in range(calls):
        payload = {"session_id": session, "tool_name": "Bash", "tool_use_id": f"{session}-{i}",
                   "tool_input": {"command": f"make -C part{i}"}}
        hook(repo, env, "PreToolUse", payload)
        out = output_text(per_call, i) if per_call else "ok\n"
        hook(repo, env, "PostToolUse", {**payload, "tool_response": {
            "stdout": out, "stderr": "", "interrupted": False, "isImage": False}})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=20.0)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    size = int(args.mb * 1024 * 1024)
    rows: dict[str, list[tuple[float, float]]] = {"large": [], "small": [], "floor": []}
    launcher = Launcher()
    with scratch("bench-seal-", args.keep) as tmp:
        env = hermetic_env(tmp / "home")
        repo = tmp / "repo"
        repo.mkdir()
        git(repo, "init", "-q")
        git(repo, "config", "gc.auto", "0")
        (repo / "Makefile").write_text("all:\n\ttrue\n")
        subprocess.run(["git", "add", "-A"], cwd=repo, env=env, check=True)
        subprocess.run(["git", "commit", "-q", "-m", "initial"], cwd=repo, env=env, check=True)
        subprocess.run([sys.executable, "-m", "git_ot", "init"], cwd=repo, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        for run in range(args.runs):
            log(f"run {run + 1}/{args.runs}: spooling {args.mb:g} MB over {args.calls} calls")
            for kind, total in (("large", size), ("small", 0)):
                session = f"bench-seal-{kind}-{run:04d}-0000-000000000000"
                spool_session(repo, env, session, args.calls, total)
                rows[kind].append(timed_seal(launcher, repo, env, session, tmp))
            rows["floor"].append(floor(launcher, repo, env, tmp))
    launcher.close()
    figures = {kind: {"seconds": statistics.median(t for t, _ in v), "peak_mb": statistics.median(m for _, m in v)}
               for kind, v in rows.items() if v}
    if args.json:
        print(json.dumps({"mb": args.mb, "calls": args.calls, "runs": args.runs, "figures": figures}, indent=2))
        return
    labels = {"large": f"seal, {args.mb:g} MB of tool output in {args.calls} calls",
              "small": f"baseline: seal, the same {args.calls} calls without output",
              "floor": "floor: python -c 'import git_ot.domain.sealing'"}
    print(f"{'figure':<58} {'time (s)':>9} {'peak RSS (MB)':>14}")
    for kind, fig in figures.items():
        print(f"{labels[kind]:<58} {fig['seconds']:>9.2f} {fig['peak_mb']:>14.1f}")


if __name__ == "__main__":
    main()
