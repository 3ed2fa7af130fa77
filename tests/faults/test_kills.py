"""Hooks SIGKILLed at random points across replayed real sessions.

Each seed replays the harness's recorded sessions through its real hook
command, killing some hook processes at a crash point of git-ot's or at a
random moment (the process group, as a harness kills a hook past its
timeout), then checks the promises of support/faults.py. Seeds are fixed;
GIT_OT_FAULTS_LONG=1 runs many more of them, with more kills.
"""

from __future__ import annotations

import random

import pytest

from support import faults


@pytest.mark.parametrize("harness", faults.harnesses(), ids=lambda h: h.name)
@pytest.mark.parametrize("seed", faults.seeds(3, 40))
def test_kills_across_a_replayed_session(repo, harness, seed, monkeypatch):
    monkeypatch.delenv("GIT_COMMITTER_DATE", raising=False)
    repo.cli_json("init")
    base = repo.git("rev-parse", "HEAD").strip()
    rng = random.Random(seed)
    spooled = faults.Spooled(repo.path)
    killed = 0
    for i, scenario in enumerate(harness.scenarios):
        payloads = harness.payloads(scenario, session=f"f{seed:03d}-{i}-{scenario}")
        killed += faults.replay(harness, repo.path, payloads, spooled, rng,
                                kill_rate=0.5 if faults.LONG else 0.3)
    assert killed > 0  # the seeds are chosen so: a run without a fault would test nothing
    assert spooled.ids, "no event reached the spool"
    faults.check(repo, spooled, base)
