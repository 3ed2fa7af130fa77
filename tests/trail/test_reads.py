"""What the walks of one run keep for each other (domain/trail/attribution.py, Reads)."""

from __future__ import annotations

from git_ot.domain.trail import lines as L
from git_ot.domain.trail.attribution import Attribution, Reads
from git_ot.domain.trail.windows import WindowIndex
from git_ot.store.repository import Store


def test_the_attributions_of_one_run_share_the_diffs_of_the_states_they_walk(repo):
    store = Store.open(str(repo.path))
    index = WindowIndex(store)
    reads = Reads()
    first, later = (Attribution(store, index, now, reads=reads) for now in (1.0, 2.0))
    old, new = b"a\nb\nc\n", b"a\nx\nc\nd\n"
    got = first._align(old, new)
    assert got == L.align(old, new, L.STEP) == [0, None, 2, None]
    assert later._align(bytes(bytearray(old)), bytes(bytearray(new))) is got  # equal states: the same diff
    assert later._align(new, old) == L.align(new, old, L.STEP) == [0, None, 2]
    assert Attribution(store, index, 3.0)._align(old, new) is not got  # another run's: its own
