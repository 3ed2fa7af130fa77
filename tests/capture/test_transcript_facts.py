"""The model, Claude Code's version and the conversation's name, which no
hook payload carries, read from the end of the session's transcript when a
turn ends."""

from __future__ import annotations

import json


def _line(kind: str, model: str | None = None, version: str | None = "2.1.400",
          slug: str | None = None) -> str:
    obj = {"type": kind, "version": version, "message": {"role": kind}}
    if slug is not None:
        obj["slug"] = slug
    if model is not None:
        obj["message"]["model"] = model
    return json.dumps(obj) + "\n"


def _session(repo, sid: str, transcript: str | None) -> dict:
    payload = {"session_id": sid}
    if transcript is not None:
        payload["transcript_path"] = transcript
    repo.hook("UserPromptSubmit", {**payload, "prompt": "hello"})
    repo.hook("Stop", {**payload, "last_assistant_message": "done"})
    [found] = [s for s in repo.cli_json("trace", "list")["sessions"] if s["session"] == sid]
    return {"models": found["models"], "harness_version": found["harness_version"], "slug": found["slug"]}


def test_the_latest_real_reply_names_the_model(repo, tmp_path):
    transcript = tmp_path / "t.jsonl"
    transcript.write_text(
        _line("user", version="2.1.399")
        + _line("assistant", "claude-old-1")
        + _line("assistant", "claude-new-2")
        # A message Claude Code wrote itself, and a line being written.
        + _line("assistant", "<synthetic>")
        + '{"type": "assistant", "vers')
    assert _session(repo, "s-facts", str(transcript)) == \
        {"models": ["claude-new-2"], "harness_version": "2.1.400", "slug": None}


def test_no_transcript_leaves_them_unknown(repo, tmp_path):
    nothing = {"models": [], "harness_version": None, "slug": None}
    assert _session(repo, "s-none", str(tmp_path / "missing.jsonl")) == nothing
    assert _session(repo, "s-unnamed", None) == nothing


def test_a_named_conversation_keeps_its_name(repo, tmp_path):
    # Claude Code names a conversation with a plan (every one, in 2.1.3x)
    # on each line; the name is read from the latest that has it.
    transcript = tmp_path / "t.jsonl"
    transcript.write_text(_line("user", slug="nifty-sniffing-pelican")
                          + _line("assistant", "claude-new-2", slug="nifty-sniffing-pelican")
                          + _line("system"))
    assert _session(repo, "s-slug", str(transcript)) == \
        {"models": ["claude-new-2"], "harness_version": "2.1.400", "slug": "nifty-sniffing-pelican"}


def test_only_a_turns_end_reads_the_transcript_and_each_event_keeps_its_own_fields(tmp_path):
    from git_ot.capture.claude_code.hooks import normalise

    transcript = tmp_path / "t.jsonl"
    transcript.write_text(_line("assistant", "claude-new-2"))
    base = {"session_id": "s", "cwd": "/w", "transcript_path": str(transcript)}
    prompt = normalise("UserPromptSubmit", {**base, "prompt": "hi", "prompt_id": "p1"})
    assert prompt["data"] == {"cwd": "/w", "transcript_path": str(transcript), "text": "hi", "prompt_id": "p1"}
    stop = normalise("Stop", {**base, "last_assistant_message": "done"})
    assert stop["data"] == {"cwd": "/w", "transcript_path": str(transcript), "message": "done",
                            "model": "claude-new-2", "harness_version": "2.1.400"}
    end = normalise("SessionEnd", {**base, "reason": "exit"})
    assert end["data"] == {"cwd": "/w", "transcript_path": str(transcript), "reason": "exit",
                           "model": "claude-new-2", "harness_version": "2.1.400"}
    start = normalise("SessionStart", {**base, "source": "startup"})
    assert start["data"] == {"cwd": "/w", "transcript_path": str(transcript), "source": "startup",
                             "started_by": "startup"}
