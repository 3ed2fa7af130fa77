#!/usr/bin/env python3
"""Pi benchmark: what git-ot's extension adds to a whole `pi -p` run.

Run it as

    python tests/benchmarks/bench_pi.py [--runs 5] [--json] [--keep]

It needs the pinned Pi CLI (tests/support/agents.py; node_modules/.bin/pi
at the top of the source tree, or `pi` on PATH). Each run makes a fresh
repository with `app.py` committed, runs `git ot init` and `git ot install
pi` (the project extension, as a team commits it), and plays the two
prompts of tests/e2e/test_pi.py (`pi -p`, then `pi -p -c`: a read, an
edit, a write and a bash command, then two edits; 16 steps) against the
scripted model of tests/support/scripted_model.py on loopback, with a
scratch HOME and agent folder.

It is timed twice per run, alternately (A B, then B A): with the
interpreter git-ot is installed in on PATH, so every event reaches
`git ot hook pi` and the session is sealed at each prompt's end and at
shutdown; and without it, so the same extension finds no git-ot and
registers nothing (the baseline: Pi itself, with the extension loaded).
The figure is the median wall time of the two `pi -p` processes, and the
difference and ratio of the medians.

It is a report, not a test: it exits 0 whatever the figures.
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

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for path in (str(ROOT / "tests"), str(HERE)):
    if path not in sys.path:
        sys.path.insert(0, path)

from common import hermetic_env, log, scratch  # noqa: E402
from support import agents  # noqa: E402
from support.scripted_model import ScriptedModel  # noqa: E402


def scenario() -> tuple[list, tuple]:
    """The script and prompts of tests/e2e/test_pi.py (read from it, so the two agree)."""
    source = (ROOT / "tests" / "e2e" / "test_pi.py").read_text()
    names: dict = {}
    exec(source[source.index("TEST_APP = "):source.index("def run_two_prompts")], names)
    return names["SCRIPT"], names["PROMPTS"]


def one_run(pi: str, base: Path, capture: bool) -> float:
    """Seconds of the two `pi -p` processes in a fresh repository."""
    shutil.rmtree(base, ignore_errors=True)
    repo, agent_dir = base / "app", base / "agent"
    repo.mkdir(parents=True)
    agent_dir.mkdir()
    env = hermetic_env(base / "home")
    env = {k: v for k, v in env.items() if not k.startswith(agents.FOREIGN_ENV)}
    bindir = os.path.dirname(sys.executable)
    others = [p for p in env.get("PATH", "").split(os.pathsep) if p and os.path.realpath(p) != os.path.realpath(bindir)]
    env["PATH"] = os.pathsep.join([bindir] + others)
    (repo / "app.py").write_text('def greet(name):\n    return "hi " + name\n')
    for argv in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "initial"],
                 ["git", "ot", "init"], ["git", "ot", "install", "pi"]):
        subprocess.run(argv, cwd=repo, env=env, check=True, capture_output=True)
    if not capture:
        env["PATH"] = os.pathsep.join(others)
    env.update(PI_CODING_AGENT_DIR=str(agent_dir), PI_OFFLINE="1")
    script, prompts = scenario()
    total = 0.0
    for i, prompt in enumerate(prompts):
        with ScriptedModel(script) as model:
            (agent_dir / "models.json").write_text(json.dumps({"providers": {"fake": {
                "baseUrl": model.url, "api": "anthropic-messages", "apiKey": "sk-ant-test",
                "models": [{"id": "claude-scripted", "name": "Claude Scripted", "reasoning": False,
                            "contextWindow": 200000, "maxTokens": 8192}]}}}))
            argv = [pi, "-p", *(["-c"] if i else []), "--provider", "fake", "--model", "claude-scripted", prompt]
            start = time.perf_counter()
            proc = subprocess.run(argv, cwd=repo, env=env, capture_output=True, stdin=subprocess.DEVNULL,
                                  timeout=300)
            total += time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(f"pi failed: {proc.stderr.decode(errors='replace')}")
    sessions = subprocess.run(["git", "for-each-ref", "refs/opentraces/sessions/"], cwd=repo, env=env,
                              capture_output=True, text=True, check=True).stdout.split("\n")
    if capture != bool(sessions[0]):
        raise RuntimeError(f"capture={capture} but sessions: {sessions}")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    pi = agents.find("pi")
    if pi is None:
        log("the Pi CLI is not installed: " + agents.npm_install_command())
        return
    with scratch("bench-pi-", args.keep) as tmp:
        times: dict[str, list[float]] = {"capture": [], "baseline": []}
        for n in range(args.runs):
            order = ("capture", "baseline") if n % 2 == 0 else ("baseline", "capture")
            for which in order:
                times[which].append(one_run(pi, tmp / which, which == "capture"))
            log(f"run {n + 1}/{args.runs}: capture {times['capture'][-1]:.2f} s, "
                f"baseline {times['baseline'][-1]:.2f} s")
        capture, baseline = statistics.median(times["capture"]), statistics.median(times["baseline"])
        result = {"runs": args.runs, "capture_s": round(capture, 3), "baseline_s": round(baseline, 3),
                  "added_s": round(capture - baseline, 3), "ratio": round(capture / baseline, 2),
                  "cpus": os.cpu_count(), "python": platform.python_version()}
        if args.json:
            print(json.dumps(result))
            return
        print(f"two `pi -p` prompts, 16 steps, median of {args.runs} interleaved runs")
        print(f"  with git-ot capturing        {capture:7.2f} s")
        print(f"  extension without git-ot     {baseline:7.2f} s")
        print(f"  added                        {capture - baseline:7.2f} s  (ratio {capture / baseline:.2f})")


if __name__ == "__main__":
    main()
