"""Every registered harness implements the one Harness interface."""

from __future__ import annotations

import pytest

from git_ot.capture import registry
from git_ot.capture.harness import Harness
from git_ot.errors import UnsupportedHarness


@pytest.mark.parametrize("name", registry.names())
def test_registered_harness_implements_the_protocol(name):
    harness = registry.find(name)
    assert isinstance(harness, Harness)
    assert harness.name == name
    assert harness.scopes and harness.seal_kinds
    for scope in harness.scopes:
        assert name in harness.hook_command("Stop", scope)


def test_unknown_harness():
    assert registry.find("no-such-agent") is None
    assert registry.find(None) is None
    with pytest.raises(UnsupportedHarness) as exc:
        registry.get("no-such-agent", "import", "import transcripts of")
    assert exc.value.message == "cannot import transcripts of 'no-such-agent'"
    assert exc.value.hint == "'git ot import' supports: claude-code, codex, pi"


@pytest.mark.parametrize("name,package,event,payload", [
    ("claude-code", "claude_code", "Stop", {"session_id": "s"}),
    ("codex", "codex", "Stop", {"session_id": "s"}),
    ("pi", "pi", "agent_end", {"sessionId": "s"}),
])
def test_the_hook_path_loads_only_its_harness_half(name, package, event, payload):
    """`git ot hook <harness>` must not import the transcript or settings code,
    nor any other harness."""
    import json
    import subprocess
    import sys

    code = ("import sys; from git_ot.capture import registry; "
            f"h = registry.find({name!r}); h.normalise({event!r}, {json.dumps(payload)}); "
            "print(sorted(m for m in sys.modules if m.startswith('git_ot.capture')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == str(sorted(["git_ot.capture", "git_ot.capture.registry", "git_ot.capture.readonly",
                                       f"git_ot.capture.{package}", f"git_ot.capture.{package}.hooks",
                                       "git_ot.capture.modular"]))
