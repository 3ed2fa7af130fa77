#!/usr/bin/env python3
"""Ctx benchmark: what keeping the model's view costs a large session, and
how fast `git ot ctx` reads it back.

Run it as

    python tests/benchmarks/bench_ctx.py [--runs 7] [--json] [--keep]

It imports the fixtures' large Claude Code session (spotter-large: a
compaction and its subagents) into a new repository twice: with this
source tree's git-ot, and with the git-ot at `--base` (default: the `main`
branch, extracted with `git archive`) for the reference. The sealed size
of each is the size of a pack of every object the session ref reaches
(`git pack-objects`, as a push or a `gc` stores them), and of its
`ctx.cbor.zst` alone; the figure is what Ctx adds, the target at most 10%
of the sealed size.

Then it times, `--runs` times each, alternating, as whole processes:
`git ot trace show SESSION` (the reference), `git ot ctx show SESSION:STEP`
at the step with the most messages in view, and `git ot ctx resume` at that
step (a new transcript under a scratch CLAUDE_CONFIG_DIR and a new linked
worktree, removed after each run). The target is under 0.5 s for both.

It is a report, not a test: it exits 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for path in (str(ROOT), str(HERE)):
    if path not in sys.path:
        sys.path.insert(0, path)

from common import git, hermetic_env, log, run_timed, scratch  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "claude-code"
LARGE = "4d5611e5-241a-462a-8d15-5122611a9569"


def make_repo(path: Path, env: dict) -> None:
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q"], cwd=path, env=env, check=True)
    (path / "README.md").write_text("bench\n")
    subprocess.run(["git", "add", "."], cwd=path, env=env, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "initial"], cwd=path, env=env, check=True)


def git_ot(src: Path, repo: Path, env: dict, *args: str) -> tuple[float, bytes]:
    return run_timed([sys.executable, "-m", "git_ot", *args], repo,
                     env={**env, "PYTHONPATH": str(src), "PYTHONDONTWRITEBYTECODE": "1"})


def sealed_size(repo: Path) -> int:
    objects = git(repo, "rev-list", "--objects", f"refs/opentraces/sessions/{LARGE}")
    return len(git(repo, "pack-objects", "--stdout", "-q", input=objects))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--base", default="main", help="the git-ot to compare the size with")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    out: dict = {}
    with scratch("git-ot-bench-ctx-", args.keep) as tmp:
        env = hermetic_env(tmp / "home")
        base_src = tmp / "base-src"
        base_src.mkdir()
        archive = git(ROOT, "archive", args.base, "git_ot")
        subprocess.run(["tar", "-x", "-C", str(base_src)], input=archive, check=True)
        files = [str(FIXTURES / "spotter-large" / f"{LARGE}.jsonl"), str(FIXTURES / "spotter" / LARGE)]
        sizes, ctx_sizes = {}, {}
        for name, src in (("base", base_src), ("ctx", ROOT)):
            repo = tmp / f"repo-{name}"
            make_repo(repo, env)
            git_ot(src, repo, env, "import", "claude-code", *files)
            sizes[name] = sealed_size(repo)
            ctx_blob = git(repo, "rev-parse", f"refs/opentraces/sessions/{LARGE}:ctx.cbor.zst").strip()
            ctx_sizes[name] = len(git(repo, "pack-objects", "--stdout", "-q", input=ctx_blob + b"\n"))
        repo = tmp / "repo-ctx"
        growth = sizes["ctx"] / sizes["base"] - 1.0
        share = ctx_sizes["ctx"] / sizes["ctx"]
        out["sealed_bytes"] = {"base": sizes["base"], "this": sizes["ctx"], "growth": round(growth, 4),
                               "ctx_record_packed": ctx_sizes["ctx"], "ctx_share": round(share, 4)}
        log(f"sealed size: {sizes['base']} bytes ({args.base}), {sizes['ctx']} bytes here "
            f"({growth:+.1%}); ctx.cbor.zst packed: {ctx_sizes['ctx']} bytes, {share:.1%} of the "
            f"sealed size (target at most 10%)")

        _, shown = git_ot(ROOT, repo, env, "trace", "show", LARGE, "--json")
        steps = json.loads(shown)["steps"]
        best_step, best = 1, -1
        # The step with the most messages in view: read from the record, not timed.
        sys.path.insert(0, str(ROOT))
        from git_ot.store.repository import Store
        ctx_record = Store.open(str(repo)).session(LARGE).record("ctx")
        for v in ctx_record["views"]:
            if v["to"] - v["from"] + 1 > best:
                best_step, best = v["step"], v["to"] - v["from"] + 1
        out["messages"] = {"steps": len(steps), "messages": len(ctx_record["messages"]),
                           "largest_view": {"step": best_step, "messages": best}}
        log(f"{len(steps)} steps, {len(ctx_record['messages'])} messages; "
            f"the largest view: {best} messages at step {best_step}")

        spec = f"{LARGE}:{best_step}"
        config = tmp / "claude-config"
        times: dict[str, list[float]] = {"trace show": [], "ctx show": [], "ctx resume": []}
        for i in range(args.runs):
            times["trace show"].append(git_ot(ROOT, repo, env, "trace", "show", LARGE, "--json")[0])
            times["ctx show"].append(git_ot(ROOT, repo, env, "ctx", "show", spec, "--json")[0])
            wt = tmp / f"resumed-{i}"
            elapsed, _ = run_timed([sys.executable, "-m", "git_ot", "ctx", "resume", spec, "--worktree",
                                    str(wt), "--json"], repo,
                                   env={**env, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1",
                                        "CLAUDE_CONFIG_DIR": str(config)})
            times["ctx resume"].append(elapsed)
            git(repo, "worktree", "remove", "--force", str(wt))
            shutil.rmtree(config, ignore_errors=True)
        out["ms"] = {k: round(statistics.median(v), 1) for k, v in times.items()}
        for k, v in out["ms"].items():
            log(f"{k:12} median {v:8.1f} ms over {args.runs} runs")
    if args.json:
        print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
