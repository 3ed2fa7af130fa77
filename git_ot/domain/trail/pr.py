"""`git ot blame pr`: the commits of a range with the intent and the agent work behind them.

Built from what the other answers already give, never from a model:

- each commit of the range, oldest first, is `git ot blame commit`'s
  answer (blame.py): its lines by agent, person and unknown, the sessions,
  steps and prompts behind its agent lines;
- the survival of every agent hunk the range's commits landed is `git ot
  track`'s answer at the range's head (track.py), for the sessions those
  commits name; a hunk's lines that a later commit removed, where that
  commit's note gives the path no line of the hunk's own session, are the
  places where someone else changed an agent's work (a person, when that
  commit's note gives the path to no agent at all);
- the sessions' wall time, steps, harness and models come from their
  manifests.

Everything is sorted and nothing depends on the time of the run, so the
same repository gives the same report, byte for byte.
"""

from __future__ import annotations

import pygit2

from ...errors import EmptyRange, UnknownRevision
from ...store import times
from ...store.repository import Store
from ..sessions import readable
from . import blame as blame_domain
from .survival import STATES
from .track import track

VERSION = 1
ALIVE = ("alive_on_path", "alive_transformed", "moved", "partially_preserved", "repaired")


def _commit(repo: pygit2.Repository, rev: str) -> pygit2.Commit:
    try:
        return repo.revparse_single(rev).peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
        raise UnknownRevision(f"unknown revision '{rev}'",
                              hint="name the range as for 'git log', as in 'main..HEAD'") from None


def default_base(store: Store) -> tuple[str, str]:
    """What a range with no base starts from: the current branch's upstream,
    else the default branch; as (revision, why)."""
    repo = store.repo
    branch = None
    if not repo.head_is_detached and not repo.head_is_unborn:
        branch = repo.head.shorthand
        try:
            upstream = repo.branches.local[branch].upstream
        except (KeyError, ValueError, pygit2.GitError):
            upstream = None
        if upstream is not None:
            return upstream.shorthand, f"the upstream of branch '{branch}'"
    ref = repo.references.get("refs/remotes/origin/HEAD")
    if ref is not None and ref.type == pygit2.GIT_REF_SYMBOLIC:
        return ref.target.removeprefix("refs/remotes/"), "the default branch of 'origin'"
    try:
        configured = repo.config["init.defaultBranch"]
    except (KeyError, pygit2.GitError):
        configured = None
    for name in dict.fromkeys([configured, "main", "master"]):
        if name and name in repo.branches.local:
            return name, "the default branch"
    raise UnknownRevision("no upstream and no default branch to compare with",
                          hint="name the range, as in 'git ot blame pr main..HEAD'")


def resolve_range(store: Store, spec: str | None) -> dict:
    """The range's base and head commits and the commits between, oldest first."""
    repo = store.repo
    if repo.head_is_unborn and (spec is None or ".." not in spec or not spec.split("..", 1)[1]):
        raise EmptyRange("the current branch has no commit yet", hint="commit first, or name a range")
    why = "given"
    if spec is None:
        base_rev, why = default_base(store)
        head_rev = "HEAD"
        spec = f"{base_rev}..{repo.head.shorthand if not repo.head_is_detached else 'HEAD'}"
    elif ".." in spec:
        if "..." in spec:
            raise UnknownRevision(f"unsupported range '{spec}'",
                                  hint="name it as BASE..HEAD (the commits of HEAD not in BASE)")
        base_rev, head_rev = spec.split("..", 1)
        base_rev, head_rev = base_rev or "HEAD", head_rev or "HEAD"
    else:
        base_rev, head_rev = spec, "HEAD"
        spec = f"{spec}..HEAD"
    base, head = _commit(repo, base_rev), _commit(repo, head_rev)
    walker = repo.walk(head.id, pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.REVERSE)
    walker.hide(base.id)
    commits = [str(c.id) for c in walker]
    if not commits:
        raise EmptyRange(f"no commits in range '{spec}'",
                         hint=f"'{head_rev}' holds nothing '{base_rev}' does not; "
                              "name another range, as in 'git ot blame pr main..HEAD'")
    return {"spec": spec, "base": str(base.id), "head": str(head.id), "chosen": why,
            "commits": commits}


def _wall_seconds(manifest: dict, steps: list[dict]) -> float:
    start = times.parse_iso(manifest.get("start"))
    end = times.parse_iso(manifest.get("end"))
    if end is None:
        ts = [s["t"] for s in steps if isinstance(s.get("t"), (int, float))]
        end = max(ts) if ts else None
    if start is None or end is None:
        return 0.0
    return round(max(end - start, 0.0), 3)


def _session_facts(store: Store, sid: str) -> dict | None:
    def read(store, sid):
        tree = store.session(sid)
        if tree is None:
            return None
        return tree.record("manifest"), tree.record("trace").get("steps", [])
    got = readable(store, sid, read)
    if got is None:
        return None
    manifest, steps = got
    counts = manifest.get("counts") or {}
    return {
        "session": sid,
        "harness": (manifest.get("harness") or {}).get("name"),
        "harness_version": (manifest.get("harness") or {}).get("version"),
        "models": sorted(manifest.get("models") or []),
        "start": manifest.get("start"),
        "end": manifest.get("end"),
        "wall_seconds": _wall_seconds(manifest, steps),
        "steps": counts.get("steps", len(steps)),
        "prompts": counts.get("prompts", sum(1 for s in steps if s.get("kind") == "prompt")),
        "tools": counts.get("tools", sum(1 for s in steps if s.get("kind") == "tool")),
    }


def _who_changed(blame: blame_domain.Blame, commit: str, path: str, session: str) -> str:
    """Who a commit that removed an agent hunk's lines from `path` was, by its note."""
    ranges = blame.note_ranges(commit)
    if ranges is None or ranges is blame_domain.DAMAGED:
        return "unknown"
    sessions = {line.get("session") for _, _, line in ranges.get(path, ()) if "session" in line}
    if session in sessions:
        return "same-session"
    return "agent" if sessions else "person"


def blame_pr(store: Store, spec: str | None = None) -> dict:
    """The report of a range (default: the current branch against its upstream
    or the default branch): per commit and for the whole range."""
    rng = resolve_range(store, spec)
    repo = store.repo
    blame = blame_domain.Blame(store)
    per_commit = [blame_domain.blame_commit(store, sha, blame) for sha in rng["commits"]]
    involved = sorted({s["session"] for c in per_commit for s in c["sessions"]})
    known = [sid for sid in involved if store.session(sid) is not None]
    tracked = track(store, known, at=rng["head"]) if known else {"sessions": []}
    hunks = {(s["session"], h["hunk"]): h for s in tracked["sessions"] for h in s["hunks"]}
    sessions = {}
    for sid in involved:
        facts = _session_facts(store, sid)
        sessions[sid] = facts if facts is not None else {
            "session": sid, "harness": None, "harness_version": None, "models": [], "start": None,
            "end": None, "wall_seconds": 0.0, "steps": 0, "prompts": 0, "tools": 0}
        sessions[sid]["known"] = facts is not None
    for c in per_commit:
        for s in c["sessions"]:
            sessions[s["session"]]["continues"] = s["continues"]

    commits = []
    for sha, c in zip(rng["commits"], per_commit):
        obj = repo[sha]
        prompts: dict[tuple, dict] = {}
        commit_hunks = []
        harnesses: dict[str, dict] = {}
        for s in c["sessions"]:
            if s["harness"] or s["model"]:
                harnesses[f"{s['harness']}\0{s['model']}"] = {"harness": s["harness"], "model": s["model"]}
            for st in s["steps"]:
                if st["prompt"] is not None and st["lines"] > st["moved"]:  # not a move's intent
                    prompts[(s["session"], st["prompt_step"] or 0)] = {
                        "session": s["session"], "step": st["prompt_step"], "text": st["prompt"]}
                for h in st["hunks"]:
                    tracked_h = hunks.get((s["session"], h["hunk"]))
                    commit_hunks.append({
                        "session": s["session"], "hunk": h["hunk"], "step": st["step"],
                        "path": h["path"], "lines": list(h["lines"]),
                        "state": tracked_h["state"] if tracked_h else "unknown"})
        commit_hunks.sort(key=lambda h: (h["path"] or "", h["lines"], h["session"], h["hunk"] or ""))
        seen = set()
        unique_hunks = []
        for h in commit_hunks:
            key = (h["session"], h["hunk"])
            if key not in seen:
                seen.add(key)
                unique_hunks.append(key)
        changed = []
        for key in unique_hunks:
            th = hunks.get(key)
            if th is None:
                continue
            for r in th["removed"]:
                if r["commit"] is None or r["steps"]:
                    continue  # the session's own later steps edited it
                who = _who_changed(blame, r["commit"], th["path"], key[0])
                if who == "same-session":
                    continue
                changed.append({"session": key[0], "hunk": key[1], "path": th["path"],
                                "commit": r["commit"], "lines": r["lines"], "by": who,
                                "reverted": r["reverts"] is not None})
        changed.sort(key=lambda x: (x["path"] or "", x["hunk"], x["commit"], x["session"]))
        states = {st: 0 for st in STATES}
        for key in unique_hunks:
            th = hunks.get(key)
            states[th["state"] if th else "unknown"] += 1
        n = c["lines"]
        commits.append({
            "commit": sha,
            "subject": c["summary"],
            "author": c["author"],
            "anchored": c["anchored"],
            "lines": {"introduced": n["introduced"], "agent": n["agent"], "person": n["human"],
                      "unknown": n["unknown"]},
            "intent": {"prompts": [prompts[k] for k in sorted(prompts, key=lambda k: (k[0], k[1]))],
                       "message": obj.message},
            "sessions": sorted({s["session"] for s in c["sessions"]}),
            "agents": sorted(harnesses.values(), key=lambda a: (a["harness"] or "", a["model"] or "")),
            "hunks": commit_hunks,
            "states": states,
            "changed": changed,
        })

    all_hunks = {(h["session"], h["hunk"]): h["state"] for c in commits for h in c["hunks"]}
    states = {st: 0 for st in STATES}
    for state in all_hunks.values():
        states[state] += 1
    lines = {k: sum(c["lines"][k] for c in commits) for k in ("introduced", "agent", "person", "unknown")}
    agents: dict[tuple, dict] = {}
    for sid in involved:
        s = sessions[sid]
        for model in s["models"] or [None]:
            a = agents.setdefault((s["harness"] or "", model or ""),
                                  {"harness": s["harness"], "model": model, "sessions": 0})
            a["sessions"] += 1
    summary = {
        "commits": len(commits),
        "traced": sum(1 for c in commits if c["intent"]["prompts"]),
        "lines": lines,
        "hunks": {"total": len(all_hunks), "alive": sum(states[s] for s in ALIVE), "states": states},
        "sessions": len(involved),
        "steps": sum(sessions[sid]["steps"] for sid in involved),
        "wall_seconds": round(sum(sessions[sid]["wall_seconds"] for sid in involved), 3),
        "agents": [agents[k] for k in sorted(agents)],
        "agent_work": bool(involved),
    }
    return {
        "version": VERSION,
        "range": {"spec": rng["spec"], "base": rng["base"], "head": rng["head"], "chosen": rng["chosen"]},
        "summary": summary,
        "sessions": [sessions[sid] for sid in involved],
        "commits": commits,
    }
