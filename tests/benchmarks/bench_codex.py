#!/usr/bin/env python3
"""Codex benchmark: a whole `codex exec` session with capture, against the same without.

Run it as

    python tests/benchmarks/bench_codex.py [--files 5000] [--runs 7] [--json]

It builds, in a temporary directory, the committed repository of
bench_snapshot.py (`--files` code-like files), runs `git ot init` there and
`git ot install codex` into one CODEX_HOME (the hooks, and Codex's trust in
them, recorded through `codex app-server`), and leaves a second CODEX_HOME
without hooks. Then, `--runs` times each and alternating, it runs the real
Codex CLI (node_modules/.bin/codex, the pinned version) against the
scripted Responses server of tests/support/scripted_responses.py, one
session of one prompt whose model calls, one after the other:

  apply_patch (a tracked file changed), exec_command (a new file written),
  exec_command (a file read), apply_patch (a file added), then ends the turn,

and resets the working tree after each session. A third CODEX_HOME has a
hook on the same events that only reads its payload (`cat >/dev/null`, run
with `--dangerously-bypass-hook-trust`): the floor of what Codex itself
spends on a hook call. With capture, every hook
call (SessionStart, UserPromptSubmit, 4 x PreToolUse and PostToolUse, each
snapshotting, Stop sealing, SessionEnd sealing again) runs the installed
command line. The target is at most 1.3x the session's time without
capture.

It is a report, not a test: it exits 0 whatever the figures. Timings are
the wall time of the whole `codex exec` process (time.perf_counter).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for path in (str(ROOT), str(HERE), str(ROOT / "tests")):
    if path not in sys.path:
        sys.path.insert(0, path)

from bench_snapshot import make_repo  # noqa: E402
from common import git, hermetic_env, log, p95, scratch  # noqa: E402
from support.scripted_responses import ScriptedResponses, codex_config  # noqa: E402

CODEX = ROOT / "node_modules" / ".bin" / "codex"


def session_script(repo: Path, target: Path) -> list:
    rel = target.relative_to(repo).as_posix()
    first = target.read_text().split("\n", 1)[0]
    return [
        {"tool": "apply_patch", "input": f"*** Begin Patch\n*** Update File: {rel}\n@@\n-{first}\n"
                                         f"+{first}  # changed\n*** End Patch\n"},
        {"tool": "exec_command", "input": {"cmd": "printf 'PORT = 8080\\n' > settings_local.py"}},
        {"tool": "exec_command", "input": {"cmd": f"head -3 {rel}"}},
        {"tool": "apply_patch", "input": "*** Begin Patch\n*** Add File: NOTES.md\n+notes\n*** End Patch\n"},
        {"text": "Done."},
    ]


def run_session(repo: Path, env: dict, script: list, *flags: str) -> float:
    with ScriptedResponses(script) as model:
        argv = [str(CODEX), "exec", "-c", f'model_providers.scripted.base_url="{model.url}"',
                "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox", *flags,
                "make the changes"]
        start = time.perf_counter()
        proc = subprocess.run(argv, cwd=repo, env=env, stdin=subprocess.DEVNULL, capture_output=True)
        elapsed = (time.perf_counter() - start) * 1000.0
    if proc.returncode != 0:
        raise RuntimeError(f"codex failed: {proc.stderr.decode(errors='replace')[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args()
    with scratch("git-ot-bench-codex-", args.keep) as tmp:
        home = tmp / "home"
        base = hermetic_env(home)
        base = {k: v for k, v in base.items() if not k.startswith(("CODEX_", "OPENAI_"))}
        base["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), str(CODEX.parent), base["PATH"]])
        base["SCRIPTED_API_KEY"] = "sk-test"
        repo, files, _ = make_repo(tmp, args.files, args.seed)
        envs = {}
        for name in ("capture", "plain", "noop"):
            codex_home = tmp / f"codex-{name}"
            codex_home.mkdir()
            (codex_home / "config.toml").write_text(codex_config("http://127.0.0.1:9/v1"))
            envs[name] = {**base, "CODEX_HOME": str(codex_home)}
        from git_ot.capture.codex.config import EVENTS

        (tmp / "codex-noop" / "hooks.json").write_text(json.dumps({"hooks": {
            e: [{"hooks": [{"type": "command", "command": "cat >/dev/null"}]}] for e in EVENTS}}))
        subprocess.run(["git", "ot", "init"], cwd=repo, env=base, check=True, capture_output=True)
        out = subprocess.run(["git", "ot", "install", "codex"], cwd=repo, env=envs["capture"], check=True,
                             capture_output=True, text=True).stdout
        log(out.strip().splitlines()[-2])
        script = session_script(repo, files[0])
        times: dict[str, list[float]] = {"capture": [], "plain": [], "noop": []}
        for i in range(args.runs):
            order = ("capture", "plain", "noop") if i % 2 == 0 else ("noop", "plain", "capture")
            for name in order:
                flags = ("--dangerously-bypass-hook-trust",) if name == "noop" else ()
                times[name].append(run_session(repo, envs[name], script, *flags))
                git(repo, "reset", "-q", "--hard")
                git(repo, "clean", "-qfd")
            log(f"run {i + 1}: " + ", ".join(f"{k} {v[-1]:.0f} ms" for k, v in times.items()))
        sessions = git(repo, "for-each-ref", "refs/opentraces/sessions/").decode().splitlines()
        if len(sessions) != args.runs:
            raise RuntimeError(f"{len(sessions)} sessions captured, not {args.runs}")
        result = {"files": args.files, "runs": args.runs,
                  "codex": subprocess.run([str(CODEX), "--version"], capture_output=True, text=True,
                                          env=base).stdout.strip(),
                  "python": platform.python_version(),
                  "capture_ms": {"median": statistics.median(times["capture"]), "p95": p95(times["capture"])},
                  "plain_ms": {"median": statistics.median(times["plain"]), "p95": p95(times["plain"])},
                  "noop_hooks_ms": {"median": statistics.median(times["noop"]), "p95": p95(times["noop"])},
                  "load": os.getloadavg()[0]}
        result["ratio"] = result["capture_ms"]["median"] / result["plain_ms"]["median"]
        if args.json:
            print(json.dumps(result, indent=2))
            return
        print(f"{result['codex']}, {args.files} files, {args.runs} interleaved runs of each (Python {result['python']})")
        print("| session | median, ms | p95, ms |")
        print("|---|---:|---:|")
        print(f"| with capture | {result['capture_ms']['median']:.0f} | {result['capture_ms']['p95']:.0f} |")
        print(f"| without | {result['plain_ms']['median']:.0f} | {result['plain_ms']['p95']:.0f} |")
        print(f"| floor: hooks that only read their payload | {result['noop_hooks_ms']['median']:.0f} | "
              f"{result['noop_hooks_ms']['p95']:.0f} |")
        print(f"ratio {result['ratio']:.2f} (target: at most 1.3); load average {result['load']:.1f}")


if __name__ == "__main__":
    main()
