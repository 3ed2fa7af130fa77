"""`git ot ctx resume`: a step's context as a new session of a harness.

The context and the working files come from the session in git alone
(domain/ctx.py); the harness's own resume writer (capture/<harness>/resume.py)
writes the new session where that harness looks for it.
"""

from __future__ import annotations

import os

from ..domain import ctx as ctx_domain
from ..errors import UnsupportedHarness, UnusableDirectory
from ..store.repository import Store

WRITERS = ("claude-code", "codex", "pi")


def resume(store: Store, spec: str, into: str | None = None, worktree: str | None = None,
           env=os.environ) -> dict:
    """Write a new session of `into` (default: the session's own harness)
    holding the context at the step `spec` names, bound to a new linked
    worktree with that step's files; what runs it."""
    context = ctx_domain.context(store, spec)
    harness = into or context["info"].get("harness") or "claude-code"
    if harness not in WRITERS:
        raise UnsupportedHarness(f"cannot resume into '{harness}' yet",
                                 hint="resume into " + ", ".join(WRITERS))
    path = ctx_domain.add_worktree(store, context["session"], context["step"], worktree)
    cwd = os.path.realpath(path)
    if harness == "pi":
        from .pi import resume as writer
    elif harness == "codex":
        from .codex import resume as writer
    else:
        from .claude_code import resume as writer
    try:
        out = writer.write(ctx_domain.rebase(context, cwd), cwd, env)
    except OSError as exc:
        ctx_domain.remove_worktree(store, path)  # nothing half-made is left
        raise UnusableDirectory(f"cannot write the {harness} session: {exc.strerror or exc}"
                                + (f": '{exc.filename}'" if exc.filename else ""),
                                hint="check the harness's folder (CLAUDE_CONFIG_DIR, CODEX_HOME, "
                                     "PI_CODING_AGENT_DIR)") from exc
    except BaseException:
        ctx_domain.remove_worktree(store, path)
        raise
    out.update(source_session=context["session"], step=context["step"])
    return out
