"""Sharing entities: the generic records that travel with `git ot push` and `fetch`.

Sharing is opt-in per namespace: only the namespaces in `SHARED` move, each
with the rule that joins two clones' versions of one record and the
sessions its records name. Every other namespace (a dataset's rows, under
review until approved) stays in the clone that wrote it.

As for sessions (share.py): what the remote holds that is missing here is
fetched into `refs/opentraces/remotes/<remote>/entities/<namespace>/<name>`
and merged into the local ref: a fast-forward when one side contains the
other, else a merge commit (store/entities.py `merge`). So a push is a
fast-forward for the remote, never forced. An entity leaves only when
every session its records name is on the remote: otherwise it is held back
whole, as a note is, so a rating never tells the remote of a session that
was not shared.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import ConcurrentUpdate, PushFailed
from ..store import entities, refs, transport
from ..store.repository import Store
from .skills import ratings

MAX_ROUNDS = 20


@dataclass(frozen=True)
class Shared:
    """How one namespace's entities are shared."""

    combine: Callable[[str, dict, dict], dict]  # two versions of a record -> one
    sessions: Callable[[str], set]  # the sessions the record under a key names


SHARED = {
    ratings.NAMESPACE: Shared(ratings.combine, lambda key: {key}),
}


def _listed(store: Store, remote: str) -> dict[tuple[str, str], str]:
    """The remote's tips of shared entities: {(namespace, name): tip}."""
    patterns = [refs.entity_prefix(ns) + "*" for ns in sorted(SHARED)]
    out = {}
    for ref, oid in transport.ls_remote(store.location, remote, patterns).items():
        for ns in SHARED:
            name = refs.entity_name_from_ref(ns, ref)
            if name is not None:
                out[(ns, name)] = oid
    return out


def _local(store: Store) -> dict[tuple[str, str], str]:
    out = {}
    for ns in sorted(SHARED):
        for name in entities.names(store, ns):
            out[(ns, name)] = store.ref_target(refs.entity_ref(ns, name))
    return out


def bring_in(store: Store, remote: str, listed: dict | None = None,
             forgotten: set | None = None) -> dict:
    """Fetch the remote's shared entities this clone lacks and merge them in,
    leaving out the records of `forgotten` sessions."""
    listed = _listed(store, remote) if listed is None else listed
    missing = [(ns, name) for (ns, name), tip in sorted(listed.items()) if not store.has_object(tip)]
    if missing:
        transport.fetch(store.location, remote,
                        [refs.entity_fetch_refspec(remote, ns, name) for ns, name in missing])
    out = {"new": [], "updated": [], "merged": []}
    for (ns, name), theirs in sorted(listed.items()):
        what = _integrate(store, ns, name, theirs, forgotten or set())
        if what != "unchanged":
            out[what].append(f"{ns}/{name}")
    return out


def _integrate(store: Store, ns: str, name: str, theirs: str, forgotten: set) -> str:
    ref = refs.entity_ref(ns, name)
    sessions = SHARED[ns].sessions

    def drop(key: str) -> bool:
        named = sessions(key)
        return bool(named) and named <= forgotten

    keep_out = bool(forgotten) and any(drop(k) for k in entities.read(store, ns, name, theirs).keys())
    for _ in range(5):
        ours = store.ref_target(ref)
        try:
            if ours == theirs or (ours is not None and store.is_ancestor(theirs, ours)):
                return "unchanged"
            if ours is None and not keep_out:
                store.move_ref(ref, None, theirs, "git-ot: fetched")
                return "new"
            if ours is not None and store.is_ancestor(ours, theirs) and not keep_out:
                store.move_ref(ref, ours, theirs, "git-ot: fast-forward")
                return "updated"
            if ours is None:  # all theirs but a forgotten session's records
                store.move_ref(ref, None, _without(store, ns, name, theirs, drop), "git-ot: fetched")
                return "new"
            first, second = sorted((ours, theirs))
            entities.merge(store, ns, name, ours, theirs, SHARED[ns].combine,
                           f"merge {ns}/{name}: {first[:12]} and {second[:12]}", drop=drop)
            return "merged"
        except ConcurrentUpdate:
            continue  # written meanwhile: merge onto the new tip
    raise ConcurrentUpdate(f"'{ref}' kept moving while it was merged", hint="run the command again")


def _without(store: Store, ns: str, name: str, theirs: str, drop) -> str:
    """A commit on top of `theirs` without the records `drop` names."""
    entity = entities.read(store, ns, name, theirs)
    return entities.write_commit(store, ns, name, theirs, {k: None for k in entity.keys() if drop(k)},
                                 f"{ns}/{name} without forgotten sessions")


def push(store: Store, remote: str, remote_sessions: Callable[[], set], forgotten: set = frozenset()) -> dict:
    """Push the shared entities the remote lacks, after merging what it holds.

    `remote_sessions()` gives the sessions the remote holds now; an entity
    with a record naming any other session is held back.
    """
    out = {"pushed": [], "merged": [], "held_back": []}
    for round_no in range(MAX_ROUNDS):
        listed = _listed(store, remote)
        got = bring_in(store, remote, listed, set(forgotten))
        out["merged"] += [n for n in got["merged"] if n not in out["merged"]]
        on_remote = None
        specs, sending = [], []
        held = []
        for (ns, name), tip in sorted(_local(store).items()):
            theirs = listed.get((ns, name))
            if theirs == tip or (theirs is not None and store.has_object(theirs)
                                 and store.is_ancestor(tip, theirs)):
                continue
            if on_remote is None:
                on_remote = remote_sessions()
            # Every commit sent, not the tip alone: the history goes too.
            sent = entities.keys_sent(store, ns, name, tip, theirs)
            named = set().union(*(SHARED[ns].sessions(k) for k in sent))
            if not named <= on_remote:
                held.append(f"{ns}/{name}")
                continue
            specs.append(refs.entity_push_refspec(tip, ns, name))
            sending.append(f"{ns}/{name}")
        out["held_back"] = held
        if not specs:
            break
        statuses = transport.push(store.location, remote, specs)
        rejected = [st for st in statuses if not st.ok]
        for st in statuses:
            if st.ok and st.flag != "=":
                name = st.ref[len(refs.NAMESPACE):]
                if name not in out["pushed"]:
                    out["pushed"].append(name)
        if not rejected:
            break
        fatal = [st for st in rejected if not any(r in st.reason for r in transport.RETRYABLE)]
        if fatal:
            raise PushFailed(f"'{remote}' rejected '{fatal[0].ref}': {fatal[0].reason}",
                             hint="the remote refuses git-ot's refs; ask its administrator")
        time.sleep(random.uniform(0, min(1.0, 0.05 * 2 ** round_no)))
    else:
        raise PushFailed(f"'{remote}' kept moving: gave up after {MAX_ROUNDS} attempts",
                         hint="run 'git ot push' again")
    out["pushed"].sort()
    return out
