"""Typed failures of git-ot; only the command line turns them into messages.

Every expected failure is one class with a one-line message (lowercase, no
trailing full stop, subject quoted, as git's own messages) and an optional
hint that names the way out.
"""

from __future__ import annotations


class GitOtError(Exception):
    """An expected failure: one line for the user, exit status 1."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


class NotARepository(GitOtError):
    """The current directory is not inside a git repository."""


class BareRepository(GitOtError):
    """The command needs a working tree and the repository has none."""


class UnknownSession(GitOtError):
    """No session matches the id or prefix given."""


class AmbiguousSession(GitOtError):
    """A session prefix matches more than one session."""

    def __init__(self, prefix: str, candidates: list[str]):
        shown = ", ".join(candidates[:10])
        more = f" and {len(candidates) - 10} more" if len(candidates) > 10 else ""
        super().__init__(
            f"session prefix '{prefix}' is ambiguous",
            hint=f"candidates: {shown}{more}",
        )
        self.candidates = candidates


class UnknownStep(GitOtError):
    """The session has no step with the number given."""


class InvalidSessionId(GitOtError):
    """A harness sent a session id that cannot name a ref."""


class CorruptRecord(GitOtError):
    """A stored record cannot be decoded."""


class UnsupportedVersion(GitOtError):
    """A stored record was written by a newer version of the format."""


class UnknownNamespace(GitOtError):
    """A record belongs to a namespace this version of git-ot does not know."""


class InvalidName(GitOtError):
    """A name (an entity's, a record's key) that cannot name a ref or a tree entry."""


class MissingObject(GitOtError):
    """A git object that a session refers to is not in the repository."""


class ConcurrentUpdate(GitOtError):
    """A ref moved while git-ot was updating it."""


class LockBusy(GitOtError):
    """A lock git-ot waits on for a bounded time was still held."""


class NotesPending(GitOtError):
    """Notes could not be written now; they wait for the next run."""


class HookInstallError(GitOtError):
    """The git hooks cannot be installed or removed as asked."""


class SettingsError(GitOtError):
    """A harness's settings file cannot be read, changed or written as asked."""


class BadPayload(GitOtError):
    """A hook payload is not what the harness is documented to send."""


class GitCommandError(GitOtError):
    """A git subprocess failed."""


class InvalidRemote(GitOtError):
    """A remote name that git-ot cannot use in a ref name."""


class NoRemote(GitOtError):
    """No remote is configured (or named) to share the sessions with."""


class UnknownRemote(GitOtError):
    """The remote named is not configured in this repository."""


class NotApproved(GitOtError):
    """Sessions asked to be pushed have not been approved for sharing."""


class EgressBlocked(GitOtError):
    """The security gate refused to let a session leave the machine."""


class PushFailed(GitOtError):
    """The remote refused the bucket, or kept moving after every retry."""


class UnsupportedHarness(GitOtError):
    """A command was asked for a harness it does not support."""


class NoTranscripts(GitOtError):
    """No transcript files were found where an import looked."""


class UnreadableFile(GitOtError):
    """A file named on the command line cannot be read."""


class BadJobs(GitOtError):
    """A number of processes to run at once that is not a positive number."""


class ProcessDied(GitOtError):
    """One of the processes a command started to share its work died."""


class NotATranscript(GitOtError):
    """A file given to an import is not a transcript of the harness named."""


class GateBlocked(GitOtError):
    """The security gate held a seal back: the policy blocks what it found."""


class BadPolicy(GitOtError):
    """A security setting (ot.security.*) has a value git-ot cannot use."""


class TruffleHogMissing(GitOtError):
    """The policy asks for TruffleHog and no trufflehog is on PATH."""


class TruffleHogFailed(GitOtError):
    """TruffleHog ran and failed."""


class UnknownRevision(GitOtError):
    """A revision given on the command line names no commit."""


class EmptyRange(GitOtError):
    """A range of commits that holds no commit."""


class BlameFailed(GitOtError):
    """git blame could not blame the file asked for."""


class BlameUsage(GitOtError):
    """`git ot blame` was given its file and revision in an arrangement git blame refuses."""


class UnusableDirectory(GitOtError):
    """A directory named on the command line cannot be used: not empty, not a directory, or not made."""


class BadDate(GitOtError):
    """A date or age given on the command line (such as --since) cannot be read."""


class ReceiverError(GitOtError):
    """The OTLP receiver cannot start as asked (a port in use, one already running)."""


class NoContext(GitOtError):
    """A session, or a step of it, has no recorded context (what the model saw)."""


class WatcherError(GitOtError):
    """The watcher cannot start (one already runs) or its working tree went away."""


class NotACapsule(GitOtError):
    """A file is not a capsule (not a git bundle, or a bundle without capsule.json), or a directory is not an opened one."""


class BadReplaySpec(GitOtError):
    """A replay option names no usable dependency or revision (--with, --at)."""
class UnknownDataset(GitOtError):
    """No dataset workflow, or no stored rows, of the name given."""


class DatasetExists(GitOtError):
    """`dataset new` would overwrite a workflow folder."""


class BadWorkflow(GitOtError):
    """A dataset workflow folder that cannot be run as it is (a missing file, a bad schema)."""


class WorkflowFailed(GitOtError):
    """A dataset workflow crashed, hung, or wrote what is not JSON Lines; nothing was stored."""


class InvalidRows(GitOtError):
    """Rows a dataset workflow wrote that its schema refuses; nothing was stored."""


class UnknownRow(GitOtError):
    """No row of the dataset matches the id or prefix given."""


class AmbiguousRow(GitOtError):
    """A row prefix matches more than one row."""


class PublishFailed(GitOtError):
    """A dataset could not be cloned, committed or pushed to its destination."""


class UnknownSkill(GitOtError):
    """No session ran a skill of the name given."""


class InvalidScore(GitOtError):
    """A rating's score is not a number from 0 to 1."""


class BadQuery(GitOtError):
    """A `trace query` text that the full-text search cannot parse."""
