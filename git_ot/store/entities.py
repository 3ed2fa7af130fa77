"""Entities: named sets of generic records, one ref and one commit chain each.

An entity (a dataset's rows, a skill's ratings, a capsule) is one ref whose
tip commit's tree holds its records, one file per record:

    refs/opentraces/<namespace>/<name>   -> commit (chain: each write appends)
      <key>.cbor.zst                      a record of <namespace>

The records are in the one format of store/records.py, the session
records' own: the envelope `{"schema": "git-ot/<namespace>", "v": N}` first,
CBOR in a zstandard frame, the version checked when read. Written as
sessions are: trees with TreeBuilder, the commit with create_commit(None,
...), and the ref moved by compare-and-swap inside a reference transaction
with a reflog message (refs/README.md section 15).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pygit2

from . import records, refs
from .repository import Store

BLOB_MODE = pygit2.GIT_FILEMODE_BLOB


class Entity:
    """One entity at one commit of its chain; a record is decoded when first read."""

    def __init__(self, store: Store, namespace: str, name: str, tip: str, tree: pygit2.Tree):
        self.store = store
        self.namespace = namespace
        self.name = name
        self.tip = tip
        self._tree = tree
        self._where = f"'{refs.entity_ref(namespace, name)}'"
        self._cache: dict[str, dict] = {}

    def keys(self) -> list[str]:
        """The keys of the entity's records, sorted."""
        suffix = records.ENTITY_SUFFIX
        return sorted(e.name[:-len(suffix)] for e in self._tree
                      if e.name.endswith(suffix) and len(e.name) > len(suffix))

    def record(self, key: str) -> dict | None:
        """The record stored under `key` (its envelope first), or None."""
        if key not in self._cache:
            filename = refs.validate_name(key, "record key") + records.ENTITY_SUFFIX
            try:
                entry = self._tree[filename]
            except KeyError:
                return None
            data = self.store.read_blob(entry.id, self._where)
            self._cache[key] = records.decode(self.namespace, data, self._where, name=filename)
        return self._cache[key]

    def records(self) -> dict[str, dict]:
        """Every record, by key."""
        return {key: self.record(key) for key in self.keys()}


def names(store: Store, namespace: str) -> list[str]:
    """The names of the entities of `namespace` in this repository, sorted."""
    _entity_namespace(namespace)
    found = (refs.entity_name_from_ref(namespace, ref)
             for ref in store.refs_under(refs.entity_prefix(namespace)))
    return sorted(name for name in found if name is not None)


def read(store: Store, namespace: str, name: str, tip: str | None = None) -> Entity | None:
    """The entity `name` of `namespace` at `tip` (default: its ref's), or None
    when there is no such entity."""
    _entity_namespace(namespace)
    ref = refs.entity_ref(namespace, name)
    tip = tip or store.ref_target(ref)
    if tip is None:
        return None
    tree = store.tree_at(tip, f"'{ref}'", f"'{ref}'", hint="'git fsck' checks the objects")
    return Entity(store, namespace, name, tip, tree)


def write(store: Store, namespace: str, name: str, expected_tip: str | None,
          changes: Mapping[str, dict | None], message: str) -> str:
    """Append a commit to the entity's chain and move its ref (CAS); its id.

    `changes` maps a record's key to its body (the fields after the
    envelope, which is added here at this git-ot's version) or to None,
    which removes the record. Every other record of `expected_tip` (None:
    the entity does not exist yet) is kept. If the ref no longer points at
    `expected_tip`, nothing moves and ConcurrentUpdate is raised.
    """
    commit = write_commit(store, namespace, name, expected_tip, changes, message)
    store.move_ref(refs.entity_ref(namespace, name), expected_tip, commit,
                   f"git-ot: {message.splitlines()[0]}")
    return commit


def write_commit(store: Store, namespace: str, name: str, parent: str | None,
                 changes: Mapping[str, dict | None], message: str) -> str:
    """The commit `write` appends, made and not yet pointed at by any ref."""
    _entity_namespace(namespace)
    repo = store.repo
    expected_tip = parent
    base = read(store, namespace, name, expected_tip) if expected_tip else None
    builder = repo.TreeBuilder(base._tree) if base else repo.TreeBuilder()
    for key, body in changes.items():
        filename = refs.validate_name(key, "record key") + records.ENTITY_SUFFIX
        if body is None:
            if builder.get(filename) is not None:
                builder.remove(filename)
            continue
        if "schema" in body or "v" in body:
            raise ValueError(f"the body of record {key!r} carries an envelope field; "
                             "pass the fields after it")
        data = records.encode(namespace, records.envelope(namespace, body))
        builder.insert(filename, repo.create_blob(data), BLOB_MODE)
    sig = store.signature()
    parents = [pygit2.Oid(hex=expected_tip)] if expected_tip else []
    return str(repo.create_commit(None, sig, sig, message, builder.write(), parents))


def _entity_namespace(namespace: str) -> None:
    records.check_namespace(namespace)
    if namespace in records.FILENAMES:
        raise ValueError(f"'{namespace}' records belong to a session tree, not to an entity")


def merge(store: Store, namespace: str, name: str, ours: str, theirs: str,
          combine: Callable[[str, dict, dict], dict], message: str,
          drop: Callable[[str], bool] = lambda key: False) -> str:
    """Join two tips of an entity that diverged (neither contains the
    other) in a merge commit, move the ref from `ours` to it (CAS); its id.

    Record by record, against the tips' merge base (as a three-way merge):
    a record both sides hold alike, or that only one side changed since the
    base (added, replaced or removed), is taken as that side has it; one
    that both changed differently is `combine(key, a, b)` (the fields after
    the envelope), or the side that still has it when the other removed
    it. A record whose key `drop` names is left out (a forgotten
    session's). The commit depends on nothing but the two tips (parents in
    object-id order, `git-ot <git-ot@localhost>` at the later of their
    commit times), so two clones that merge the same tips write the same
    commit.
    """
    _entity_namespace(namespace)
    ref = refs.entity_ref(namespace, name)
    repo = store.repo
    a = read(store, namespace, name, ours)
    b = read(store, namespace, name, theirs)
    base_id = repo.merge_base(ours, theirs)
    o = read(store, namespace, name, str(base_id)) if base_id is not None else None
    builder = repo.TreeBuilder()
    suffix = records.ENTITY_SUFFIX

    def entry(entity, key):
        if entity is None or key not in entity.keys():
            return None
        return entity._tree[key + suffix].id

    for key in sorted(set(a.keys()) | set(b.keys())):
        if drop(key):
            continue
        ea, eb, eo = entry(a, key), entry(b, key), entry(o, key)
        if ea == eb or eb == eo:
            chosen = ea
        elif ea == eo:
            chosen = eb
        elif ea is None or eb is None:
            chosen = ea or eb  # removed on one side, changed on the other: keep it
        else:
            body = combine(key, _body(a.record(key)), _body(b.record(key)))
            chosen = repo.create_blob(records.encode(namespace, records.envelope(namespace, body)))
        if chosen is not None:
            builder.insert(key + suffix, chosen, BLOB_MODE)
    when = max(repo[ours].commit_time, repo[theirs].commit_time)
    sig = pygit2.Signature("git-ot", "git-ot@localhost", when, 0)
    parents = [pygit2.Oid(hex=p) for p in sorted((ours, theirs))]
    commit = str(repo.create_commit(None, sig, sig, message, builder.write(), parents))
    store.move_ref(ref, ours, commit, f"git-ot: {message.splitlines()[0]}")
    return commit


def _body(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in ("schema", "v")}


def keys_sent(store: Store, namespace: str, name: str, tip: str, theirs: str | None) -> set[str]:
    """The record keys in every commit of the chain from `tip` that `theirs`
    (a tip the receiver holds, or None) does not contain: what a push of
    `tip` would make the receiver hold, history included."""
    repo = store.repo
    walker = repo.walk(pygit2.Oid(hex=tip), pygit2.GIT_SORT_NONE)
    if theirs is not None and store.has_object(theirs):
        walker.hide(pygit2.Oid(hex=theirs))
    suffix = records.ENTITY_SUFFIX
    out: set[str] = set()
    for commit in walker:
        out.update(e.name[:-len(suffix)] for e in commit.tree
                   if e.name.endswith(suffix) and len(e.name) > len(suffix))
    return out


def history_keys(store: Store, namespace: str, name: str) -> set[str]:
    """The record keys of every commit of the entity's chain."""
    tip = store.ref_target(refs.entity_ref(namespace, name))
    return keys_sent(store, namespace, name, tip, None) if tip else set()


def rewrite_without(store: Store, namespace: str, name: str, keys: set[str], message: str) -> str | None:
    """Replace the entity's chain by one commit without history holding its
    tip's records but those of `keys` (None: the ref is deleted when none is
    left); the old tip, or None when no commit of the chain held any of them."""
    ref = refs.entity_ref(namespace, name)
    old = store.ref_target(ref)
    if old is None or not (history_keys(store, namespace, name) & keys):
        return None
    repo = store.repo
    builder = repo.TreeBuilder(repo[old].peel(pygit2.Commit).tree)
    for key in keys:
        if builder.get(key + records.ENTITY_SUFFIX) is not None:
            builder.remove(key + records.ENTITY_SUFFIX)
    if len(builder) == 0:
        store.set_refs({ref: None}, f"git-ot: {message}")
        return old
    sig = store.signature()
    commit = str(repo.create_commit(None, sig, sig, message, builder.write(), []))
    store.move_ref(ref, old, commit, f"git-ot: {message}")
    return old
