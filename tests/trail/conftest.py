"""The fixture of the trail tests that run each scenario with and without git hooks."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["hooks", "no-hooks"])
def hooks(request, monkeypatch):
    """Each scenario twice: with git-ot's git hooks, and without them (the
    harness hooks still capture), where blame recomputes what they would
    have written. Commits take real times, as the recomputation reads them."""
    monkeypatch.delenv("GIT_COMMITTER_DATE", raising=False)
    return request.param == "hooks"
