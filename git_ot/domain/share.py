"""Sharing the bucket: the remote, approvals, push, fetch and their merges.

What moves: `refs/opentraces/sessions/<id>`, `refs/notes/opentraces` and
the entities of the namespaces entity_share.py shares, nothing else. Both commands start from what the remote holds now (`git
ls-remote`); what it holds that this clone lacks is fetched into the
remote's own namespace, `refs/opentraces/remotes/<remote>/...`
(store/refs.py), and merged into the local refs, never forced over them:

- a session ref moves forward when one side contains the other; when the
  two copies diverged they are joined in a merge commit (domain/merge.py);
- the notes are merged with `git notes merge -s cat_sort_uniq`, which for
  JSON Lines notes is the union of their lines.

So a push is a fast-forward for the remote, and is never forced. When
another clone pushes in between and the remote rejects a ref, the round
starts again, a bounded number of times. The user's own `git push` of
code never carries the bucket, and the remote's refspecs are left alone
unless `git ot remote set --plain-git` adds fetch refspecs; then the
pre-push hook also starts `git ot push` beside the code's push, which
never waits for it (domain/prepush.py).
"""

from __future__ import annotations

import os
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pygit2

from ..errors import (ConcurrentUpdate, EgressBlocked, GitCommandError, GitOtError, InvalidSessionId,
                      NoRemote, NotApproved, PushFailed, UnknownRemote)
from ..store import approvals, notes, refs, transport
from ..store.faults import crash_point
from ..store.repository import Store
from . import entity_share, install, prepush
from .merge import merge_message, merge_sessions, primary_first
from .sessions import resolve

CONFIG_REMOTE = prepush.CONFIG_REMOTE
CONFIG_REQUIRE_APPROVAL = "ot.requireApproval"
# Rounds of push, fetch-and-merge, push again, when other clones keep
# pushing at the same time; each round at least one of them gets through.
MAX_ROUNDS = 20
# After creating this many refs, pack them: thousands of sessions then cost
# one packed-refs file instead of thousands of files.
PACK_REFS_AFTER = 100
# What the remote says when a ref moved under us: fetch, merge, try again.
_RETRYABLE = transport.RETRYABLE


# -- the remote -----------------------------------------------------------------

def remote_info(store: Store) -> dict:
    """The remote sessions are shared with, as configured."""
    location = store.location
    name = transport.config_get(location, CONFIG_REMOTE)
    out = {"remote": name or None, "url": None, "plain_git": False,
           "require_approval": _require_approval(store)}
    if name:
        out["url"] = transport.config_get(location, f"remote.{name}.url")
        try:
            out["plain_git"] = _plain_git(store, name)
        except GitOtError:  # a name git-ot cannot use; `remote set` says so
            pass
    return out


def set_remote(store: Store, name: str, url: str | None = None,
               plain_git: bool | None = None) -> dict:
    """Share sessions with remote `name` (added with `url` if git has no such remote)."""
    location = store.location
    refs.validate_remote_name(name)
    existing = transport.config_get(location, f"remote.{name}.url")
    if existing is None:
        if url is None:
            raise UnknownRemote(f"no such remote '{name}'",
                                hint=f"give its URL: 'git ot remote set {name} <url>'")
        transport.checked(location, ["remote", "add", name, url])
    elif url is not None and url != existing:
        raise UnknownRemote(
            f"remote '{name}' already has the URL '{existing}'",
            hint=f"leave out the URL to use it as it is, or change it with "
                 f"'git remote set-url {name} {url}'")
    transport.config_set(location, CONFIG_REMOTE, name)
    key = f"remote.{name}.fetch"
    if plain_git is True:
        have = transport.config_get_all(location, key)
        for spec in refs.fetch_refspecs(name):
            if spec not in have:
                transport.config_add(location, key, spec)
    elif plain_git is False:
        for spec in refs.fetch_refspecs(name):
            transport.config_unset_value(location, key, spec)
    # The pre-push hook is there exactly while plain pushes carry the bucket.
    install.set_push_hook(location, prepush.enabled(location))
    return remote_info(store)


# Told which remote git-ot chose when none was named or set, and why
# (`chosen(remote, reason)`), before anything is sent or fetched.
Chosen = Callable[[str, str], None]


def resolve_remote(store: Store, name: str | None, chosen: Chosen | None = None) -> str:
    """The remote to use: the one named, else the configured one, else the
    one git itself would use (`default_remote`), told to `chosen`."""
    location = store.location
    if name is None:
        name = transport.config_get(location, CONFIG_REMOTE)
        if not name:
            found = default_remote(store)
            if found is None:
                raise NoRemote("no remote is set for sharing sessions",
                               hint="choose one with 'git ot remote set NAME URL'")
            name, reason = found
            if chosen is not None:
                chosen(name, reason)
    refs.validate_remote_name(name)
    if transport.config_get(location, f"remote.{name}.url") is None:
        raise UnknownRemote(f"no such remote '{name}'",
                            hint=f"add it with 'git ot remote set {name} <url>'")
    return name


def default_remote(store: Store) -> tuple[str, str] | None:
    """The remote `git fetch` would use with none named, and why: the current
    branch's (`branch.<name>.remote`), else `origin`, else the only remote
    there is; None when there is none, or several and none of them obvious."""
    location = store.location
    remotes = [r for r in transport.checked(location, ["remote"]).splitlines() if r]
    try:
        branch = None if store.repo.head_is_detached else store.repo.head.shorthand
    except pygit2.GitError:  # unborn: HEAD names a branch with no commit yet
        target = store.repo.references.get("HEAD")
        branch = target.target.removeprefix("refs/heads/") if target is not None and \
            isinstance(target.target, str) else None
    if branch:
        upstream = transport.config_get(location, f"branch.{branch}.remote")
        if upstream in remotes:
            return upstream, f"the remote of branch '{branch}'"
    if "origin" in remotes:
        return "origin", "the remote this clone came from"
    if len(remotes) == 1:
        return remotes[0], "the only remote"
    return None


# -- approvals ------------------------------------------------------------------

def approval_list(store: Store) -> approvals.SessionList:
    """The sessions approved for sharing here (store/approvals.py)."""
    return approvals.approvals(store.location.state_dir)


def approve(store: Store, specs: list[str], everything: bool = False) -> dict:
    """Approve sessions for sharing: those named, or every session there is now."""
    ids = store.session_ids() if everything else sorted({resolve(store, s) for s in specs})
    new = approval_list(store).add(ids)
    return {"approved": new, "already": sorted(set(ids) - set(new))}


def _require_approval(store: Store) -> bool:
    value = transport.config_get(store.location, CONFIG_REQUIRE_APPROVAL)
    return (value or "true").lower() not in ("false", "no", "off", "0")


# -- the security gate ------------------------------------------------------------

def held_back_at_egress(store: Store, session_ids: list[str]) -> dict[str, list[str]]:
    """The sessions the security gate holds back, with its reasons; every
    other session passed. The one place where sessions are checked before
    they leave the machine.
    """
    if not session_ids:
        return {}
    from .gate.egress import egress_report  # not at the top: every `git ot` command would pay for it

    report = egress_report(store, session_ids)
    return {s["session"]: s["reasons"] for s in report["sessions"] if s["verdict"] != "pass"}


# -- what the remote holds ------------------------------------------------------------

@dataclass
class RemoteState:
    """The remote's session tips and notes tip, as `git ls-remote` lists them
    now; sessions forgotten here (`git ot forget`) are left out, and named."""

    sessions: dict[str, str]
    notes: str | None
    forgotten: list[str] = field(default_factory=list)


def remote_state(store: Store, remote: str) -> RemoteState:
    listed = transport.ls_remote(store.location, remote,
                                 [refs.SESSIONS_PREFIX + "*", refs.NOTES_REF])
    gone = _forgotten(store)
    sessions = {}
    for ref, oid in listed.items():
        sid = refs.session_id_from_ref(ref)
        if sid is None:
            continue
        try:
            refs.validate_session_id(sid)
        except InvalidSessionId:
            continue  # not a name git-ot writes; leave it on the remote
        sessions[sid] = oid
    return RemoteState({s: t for s, t in sessions.items() if s not in gone}, listed.get(refs.NOTES_REF),
                       sorted(gone & sessions.keys()))


def _forgotten(store: Store) -> set[str]:
    """The sessions `git ot forget` deleted here that have not been recorded
    or imported here again since (then they are sessions like any other)."""
    return {s for s in approvals.forgotten(store.location.state_dir).read() if store.tip(s) is None}


def _bring_in(store: Store, remote: str, state: RemoteState, sids, notes: bool) -> None:
    """Fetch, into the remote's namespace, the remote tips whose objects this clone lacks."""
    missing = [s for s in sids if not store.has_object(state.sessions[s])]
    need_notes = notes and state.notes is not None and not _whole(store, state.notes)
    if not missing and not need_notes:
        return
    if len(missing) > transport.REFSPEC_BATCH:
        specs = refs.fetch_refspecs(remote)  # most of the bucket: one glob is cheaper
    else:
        specs = [refs.session_fetch_refspec(remote, s) for s in missing]
        if need_notes:
            specs.append(refs.notes_fetch_refspec(remote))
    try:
        transport.fetch(store.location, remote, specs)
    except GitCommandError:
        # A ref listed a moment ago is gone (deleted on the remote): an
        # exact refspec for it fails the whole fetch, a glob does not.
        transport.fetch(store.location, remote, refs.fetch_refspecs(remote))


def _whole(store: Store, commit: str) -> bool:
    """Whether a commit and its tree are here. A notes commit a push made
    is not kept by any ref here, and `git ot forget` may have deleted the
    tree it shares with the old notes; such a commit is fetched again."""
    if not store.has_object(commit):
        return False
    return store.has_object(str(store.repo[commit].tree_id))


def _clear_staging(store: Store, remote: str) -> None:
    """Drop what was staged under the remote's namespace once it is merged.

    Every ref costs the user's own `git fetch` a little (git checks them
    all), so thousands of staged copies of merged sessions are not kept;
    with `--plain-git` they stay, since a plain `git fetch` keeps them up to
    date and would otherwise write them all again.
    """
    if _plain_git(store, remote):
        return
    staged = store.refs_under(refs.REMOTES_PREFIX + remote + "/")
    if staged:
        transport.delete_refs(store.location, sorted(staged), "git-ot: merged")


def _plain_git(store: Store, remote: str) -> bool:
    return prepush.plain_git(store.location, remote)


# -- fetch and merge ---------------------------------------------------------------

def fetch(store: Store, remote: str | None = None,
          progress: Callable[[int, int], None] | None = None, chosen: Chosen | None = None) -> dict:
    """Fetch the remote's sessions and notes that are missing here, then merge them;
    `progress(done, total)` is told how many of the changed sessions are merged,
    `chosen` which remote was used when none was named or set."""
    remote = resolve_remote(store, remote, chosen)
    state = remote_state(store, remote)
    local = store.refs_under(refs.SESSIONS_PREFIX)
    changed = [s for s, tip in state.sessions.items() if local.get(refs.session_ref(s)) != tip]
    _bring_in(store, remote, state, changed, notes=True)
    result = integrate(store, state, only=set(changed), progress=progress)
    result["unchanged"] += len(state.sessions) - len(changed)
    result["forgotten"] = state.forgotten
    result["entities"] = entity_share.bring_in(store, remote, forgotten=_forgotten(store))
    _clear_staging(store, remote)
    _tidy(store, len(result["new"]))
    return {"remote": remote, **result}


def integrate(store: Store, state: RemoteState, only: set[str] | None = None,
              progress: Callable[[int, int], None] | None = None) -> dict:
    """Merge the remote's tips (their objects already here) into the local sessions and notes."""
    local = store.refs_under(refs.SESSIONS_PREFIX)
    creates: dict[str, str] = {}
    out = {"new": [], "updated": [], "merged": [], "unchanged": 0}
    chosen = [(sid, theirs) for sid, theirs in sorted(state.sessions.items())
              if only is None or sid in only]
    for done, (sid, theirs) in enumerate(chosen):
        if progress is not None:
            progress(done, len(chosen))
        ref = refs.session_ref(sid)
        ours = local.get(ref)
        if ours is None:
            creates[ref] = theirs
            out["new"].append(sid)
        elif ours == theirs or store.is_ancestor(theirs, ours):
            out["unchanged"] += 1
        else:
            _tally(out, sid, _join(store, sid, theirs))
    if creates:
        try:
            store.create_refs(creates, "git-ot: fetched")
        except ConcurrentUpdate:
            # A session sealed locally meanwhile: take them one at a time.
            for ref, theirs in creates.items():
                sid = refs.session_id_from_ref(ref)
                out["new"].remove(sid)
                _tally(out, sid, _join(store, sid, theirs))
    if progress is not None:
        progress(len(chosen), len(chosen))
    out["notes"] = merge_notes(store, state.notes)
    return out


def _tidy(store: Store, created: int) -> None:
    """After many new refs, what `git gc` would do for them: pack the refs and
    extend the commit-graph, so the user's own git commands stay fast."""
    if created >= PACK_REFS_AFTER:
        transport.pack_refs(store.location)
        transport.write_commit_graph(store.location)


def _tally(out: dict, sid: str, what: str) -> None:
    if what == "unchanged":
        out["unchanged"] += 1
    else:
        out[what].append(sid)


def _join(store: Store, sid: str, theirs: str) -> str:
    """Bring a remote tip into the local session: 'new', 'updated', 'merged' or 'unchanged'."""
    ref = refs.session_ref(sid)
    for _ in range(5):
        ours = store.tip(sid)
        try:
            if ours is None:
                store.move_ref(ref, None, theirs, "git-ot: fetched")
                return "new"
            if ours == theirs or store.is_ancestor(theirs, ours):
                return "unchanged"
            if store.is_ancestor(ours, theirs):
                store.move_ref(ref, ours, theirs, "git-ot: fast-forward")
                return "updated"
            primary, other = primary_first(store, store.session(sid, ours), store.session(sid, theirs))
            merged = merge_sessions(store, sid, primary, other)
            store.write_merge(sid, ours, primary, merged.records, merged.new_blobs,
                              merged.snapshots, [primary.tip, other.tip],
                              merge_message(sid, merged, other.tip))
            return "merged"
        except ConcurrentUpdate:
            continue  # sealed meanwhile: start again from the new tip
    raise ConcurrentUpdate(f"session '{sid}' kept moving while it was merged",
                           hint="run the command again")


def merge_notes(store: Store, theirs: str | None) -> str:
    """Merge a notes tip into refs/notes/opentraces; what happened, in a word."""
    if theirs is None:
        return "none"
    theirs = _without_forgotten(store, theirs)
    for _ in range(5):
        ours = store.ref_target(refs.NOTES_REF)
        try:
            if ours == theirs or (ours is not None and store.is_ancestor(theirs, ours)):
                return "up to date"
            if ours is None:
                store.move_ref(refs.NOTES_REF, None, theirs, "git-ot: notes fetched")
                return "created"
            if store.is_ancestor(ours, theirs):
                store.move_ref(refs.NOTES_REF, ours, theirs, "git-ot: notes fast-forward")
                return "fast-forward"
            store.move_ref(refs.NOTES_REF, ours, _merged_notes(store, ours, theirs),
                           "git-ot: notes merged")
            return "merged"
        except ConcurrentUpdate:
            continue  # a note was written meanwhile: merge again onto it
    raise ConcurrentUpdate(f"'{refs.NOTES_REF}' kept moving while it was merged",
                           hint="run the command again")


def _without_forgotten(store: Store, theirs: str) -> str:
    """The remote's notes, or, when they hold lines of sessions forgotten
    here, a copy without those lines and without history (which would keep
    them), so a merge does not bring them back.

    The copy is a function of the remote's tip alone (fixed identity, its
    tip's time), so merging the same tip again finds it merged already.
    """
    gone = _forgotten(store)
    if not gone:
        return theirs
    repo = store.repo
    ours = store.ref_target(refs.NOTES_REF)
    theirs_tree = repo[theirs].tree
    drop = notes.of_sessions(gone)
    cut: dict[str, object] = {}
    for commit, (_, yours) in notes.differing(repo, repo[ours].tree if ours else None,
                                              theirs_tree).items():
        if yours is None:
            continue
        lines = repo[yours].data.splitlines(keepends=True)
        keep = [line for line in lines if not drop(line)]
        if len(keep) != len(lines):
            cut[commit] = repo.create_blob(b"".join(keep)) if keep else None
    if not cut:
        return theirs
    tree = notes.overlay(repo, theirs_tree, cut)
    when = repo[theirs].commit_time
    sig = pygit2.Signature("git-ot", "git-ot@localhost", when, 0)
    return str(repo.create_commit(None, sig, sig, "Notes without forgotten sessions\n", tree, []))


def _merged_notes(store: Store, ours: str, theirs: str) -> str:
    """The notes commit joining two notes tips, made by `git notes merge`.

    The merge runs on a scratch ref so the real notes ref moves only by
    compare-and-swap: `git notes merge` itself would overwrite a note that a
    hook wrote while it ran.
    """
    location = store.location
    scratch = refs.notes_merge_scratch_ref(f"{os.getpid()}-{secrets.token_hex(4)}")
    store.set_refs({scratch: ours}, "git-ot: notes merge")
    try:
        env = transport.identity_env(location, "git-ot", "git-ot@localhost")
        transport.notes_merge(location, scratch, theirs, env=env)
        merged = store.ref_target(scratch)
    finally:
        store.set_refs({scratch: None}, "git-ot: notes merge")
    return merged


# -- push ---------------------------------------------------------------------------

def push(store: Store, remote: str | None = None, specs: list[str] = (),
         chosen: Chosen | None = None) -> dict:
    """Push approved sessions (or those named) and the notes; when the remote
    moved, merge what it holds and push again. `chosen` is told which remote
    was used when none was named or set."""
    remote = resolve_remote(store, remote, chosen)
    location = store.location
    wanted = sorted({resolve(store, s) for s in specs}) if specs else None
    approved = approval_list(store).read() if _require_approval(store) else None
    if wanted is not None and approved is not None:
        held = [s for s in wanted if s not in approved]
        if held:
            raise _not_approved(held)

    out = {"remote": remote, "pushed": [], "merged": [], "notes": "up to date",
           "notes_held_back": [], "unapproved": [], "blocked": [], "rounds": 0}
    checked: set[tuple[str, str]] = set()
    blocked: dict[str, list[str]] = {}
    for round_no in range(MAX_ROUNDS):
        out["rounds"] = round_no + 1
        state = remote_state(store, remote)
        # First take in what the remote has of these sessions and notes, so
        # that what is pushed contains it (a fast-forward, never a force).
        mine = _local_sessions(store, wanted)
        theirs_too = [s for s, tip in mine.items() if s in state.sessions and state.sessions[s] != tip]
        ours_notes = store.ref_target(refs.NOTES_REF)
        _bring_in(store, remote, state, theirs_too, notes=ours_notes != state.notes)
        merged = integrate(store, state, only=set(theirs_too))
        out["merged"] += [s for s in merged["merged"] if s not in out["merged"]]

        pending = {s: tip for s, tip in _local_sessions(store, wanted).items()
                   if not _remote_has(store, state.sessions.get(s), tip)}
        if approved is not None:
            if round_no == 0:
                out["unapproved"] = sorted(s for s in pending if s not in approved)
            pending = {s: t for s, t in pending.items() if s in approved}
        unchecked = [s for s, t in sorted(pending.items()) if (s, t) not in checked]
        blocked.update(held_back_at_egress(store, unchecked))
        checked.update((s, pending[s]) for s in unchecked)
        pending = {s: t for s, t in pending.items() if s not in blocked}
        notes_tip, held_notes = _egress_notes(store, state.notes, set(state.sessions) | set(pending))
        out["notes_held_back"] = held_notes
        if not pending and notes_tip is None:
            break

        specs_out = [refs.session_push_refspec(t, s) for s, t in sorted(pending.items())]
        if notes_tip is not None:
            specs_out.append(refs.notes_push_refspec(notes_tip))  # last: after its sessions
        statuses = transport.push(location, remote, specs_out)
        crash_point("push-after-send")
        rejected = _record(statuses, pending, notes_tip, out)
        if not rejected:
            break
        fatal = [st for st in rejected if not any(r in st.reason for r in _RETRYABLE)]
        if fatal:
            st = fatal[0]
            raise PushFailed(f"'{remote}' rejected '{st.ref}': {st.reason}",
                             hint="the remote refuses git-ot's refs; ask its administrator")
        # Another clone pushed first: back off a little, then merge and retry.
        time.sleep(random.uniform(0, min(1.0, 0.05 * 2 ** round_no)))
    else:
        raise PushFailed(f"'{remote}' kept moving: gave up after {MAX_ROUNDS} attempts",
                         hint="run 'git ot push' again")
    out["entities"] = entity_share.push(store, remote, lambda: set(remote_state(store, remote).sessions),
                                        _forgotten(store))
    _clear_staging(store, remote)
    out["pushed"].sort()
    out["blocked"] = [{"session": s, "reasons": r} for s, r in sorted(blocked.items())]
    return out


def _egress_notes(store: Store, theirs: str | None, shared: set[str]) -> tuple[str | None, list[str]]:
    """The notes commit to push, and the commits whose notes stay here.

    A note leaves only when every line of it names sessions the remote holds
    or is being sent (`shared`): a line of an unapproved or blocked session
    would otherwise tell the remote its id, its paths and its model. Such a
    note is held back whole, never cut down: a note without that line would
    claim its lines for the human. The commit pushed has the remote's notes
    commit as its only parent and the remote's notes plus the shareable ones
    (a line-wise union where both have a note) as its tree, so neither the
    held-back notes nor any history that holds them become reachable from
    it; the local notes ref merges it back at the next push or fetch.
    """
    ours = store.ref_target(refs.NOTES_REF)
    if _remote_has(store, theirs, ours):
        return None, []
    repo = store.repo
    ours_tree = repo[ours].tree
    theirs_tree = repo[theirs].tree if theirs is not None else None
    take: dict[str, object] = {}
    held = []
    for commit, (mine, yours) in sorted(notes.differing(repo, ours_tree, theirs_tree).items()):
        if mine is None:
            continue  # gone here (forgotten): the remote keeps its own
        data = repo[mine].data
        if not all((named := notes.sessions_named(line)) is not None and named <= shared
                   for line in data.split(b"\n") if line.strip()):
            held.append(commit)
            continue
        if yours is not None:
            data = notes.union(data, repo[yours].data)
        take[commit] = repo.create_blob(data)
    tree = notes.overlay(repo, theirs_tree, take)
    if tree is None:
        return None, held
    sig = store.signature()
    parents = [pygit2.Oid(hex=theirs)] if theirs is not None else []
    return str(repo.create_commit(None, sig, sig, "Notes shared by git-ot\n", tree, parents)), held


def forget_on_remote(store: Store, remote: str | None, session_ids: list[str]) -> dict:
    """Delete sessions on the remote: their refs, and their lines in its notes.

    This is the one place git-ot rewrites what a remote holds, and only
    because the user asked to delete something there for good. The session
    refs are deleted (`git push --delete`). When the remote's notes or their
    history hold a line of the sessions, they are replaced by a copy without
    those lines and without history (as `forget` does here), pushed with
    `--force-with-lease`: if another clone pushed notes meanwhile, the lease
    fails and the rewrite starts again from theirs, so no line of anyone
    else's is lost.
    """
    remote = resolve_remote(store, remote)
    location = store.location
    drop = notes.of_sessions(set(session_ids))
    staged = refs.remote_notes_ref(remote)
    out = {"remote": remote, "deleted": [], "notes": "unchanged", "note_lines": 0}
    wanted = [refs.session_ref(s) for s in session_ids]
    for _ in range(MAX_ROUNDS):
        listed = transport.ls_remote(location, remote, wanted + [refs.NOTES_REF])
        specs = [refs.delete_refspec(ref) for ref in wanted if ref in listed]
        lease = {}
        theirs = listed.get(refs.NOTES_REF)
        if theirs is not None:
            transport.fetch(location, remote, [refs.notes_fetch_refspec(remote)])
            removed = notes.rewrite_without(store, staged, drop, "forget sessions")
            if removed is not None:
                new = store.ref_target(staged)
                specs.append(refs.notes_push_refspec(new) if new else refs.delete_refspec(refs.NOTES_REF))
                lease[refs.NOTES_REF] = theirs
                out["note_lines"] = removed
        if not specs:
            break
        statuses = transport.push(location, remote, specs, lease=lease)
        rejected = [st for st in statuses if not st.ok]
        out["deleted"] += sorted(st.ref for st in statuses if st.ok and st.ref != refs.NOTES_REF)
        if any(st.ok and st.ref == refs.NOTES_REF for st in statuses):
            out["notes"] = "rewritten"
        if not rejected:
            break
        if any(st.ref != refs.NOTES_REF or "stale info" not in st.reason for st in rejected):
            st = rejected[0]
            raise PushFailed(f"'{remote}' rejected '{st.ref}': {st.reason}",
                             hint="the remote refuses to delete git-ot's refs; ask its administrator")
        # Another clone pushed notes meanwhile: rewrite from theirs.
    else:
        raise PushFailed(f"'{remote}' kept moving: gave up after {MAX_ROUNDS} attempts",
                         hint=f"run 'git ot forget --remote {remote} ...' again")
    _clear_staging(store, remote)
    out["deleted"] = sorted(set(out["deleted"]))
    return out


def _local_sessions(store: Store, wanted: list[str] | None) -> dict[str, str]:
    out = {}
    for ref, tip in store.refs_under(refs.SESSIONS_PREFIX).items():
        sid = refs.session_id_from_ref(ref)
        if wanted is None or sid in wanted:
            out[sid] = tip
    return out


def _remote_has(store: Store, theirs: str | None, ours: str | None) -> bool:
    """Whether the remote's tip already contains ours (nothing to push)."""
    if ours is None:
        return True
    if theirs is None:
        return False
    return theirs == ours or (store.has_object(theirs) and store.is_ancestor(ours, theirs))


def _record(statuses, pending: dict[str, str], notes_tip: str | None, out: dict) -> list:
    """Note what the remote took; the statuses it rejected."""
    rejected = []
    for st in statuses:
        if not st.ok:
            rejected.append(st)
            continue
        sid = refs.session_id_from_ref(st.ref)
        if sid is not None and sid in pending:
            if st.flag != "=" and sid not in out["pushed"]:
                out["pushed"].append(sid)
        elif st.ref == refs.NOTES_REF and notes_tip is not None and st.flag != "=":
            out["notes"] = "pushed"
    return rejected


def _not_approved(held: list[str]) -> NotApproved:
    n = len(held)
    shown = ", ".join(h[:12] for h in held[:5]) + (f" and {n - 5} more" if n > 5 else "")
    return NotApproved(
        f"{n} session{'s are' if n != 1 else ' is'} not approved for sharing: {shown}",
        hint="review with 'git ot trace show SESSION', then 'git ot approve SESSION...' "
             "(or 'git ot approve --all')")


def held_back_error(result: dict) -> GitOtError | None:
    """The error for what a push left behind: blocked by the gate, or not approved."""
    if result["blocked"]:
        from .gate.egress import raise_if_blocked

        report = {"sessions": [{**b, "verdict": "block"} for b in result["blocked"]]}
        try:
            raise_if_blocked(report)
        except EgressBlocked as exc:
            return exc
    if result["unapproved"]:
        return _not_approved(result["unapproved"])
    return None
