"""Work split between processes: an import's seals, a range's recomputed notes.

`run(work, count, jobs)` calls `work(k)` for k in range(count) in `jobs`
processes forked from this one, so that they start with what it has read
(the transcripts, the windows of every session) without sending it; each
process opens the repository again (a Store of its own) and returns plain
data. An expected failure in one of them (GitOtError) is raised here as
itself, message and hint; the pool stops with it, as it does when one of
them dies (ProcessDied).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

from ..errors import BadJobs, GitOtError, ProcessDied

# As git's threads: one process per CPU, and no more than this.
MAX_JOBS = 8


def default_jobs() -> int:
    """One process per CPU this process may run on, at most MAX_JOBS."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_JOBS))


def check_jobs(jobs: int | None) -> int:
    """`jobs` as given (None: the default), or BadJobs."""
    if jobs is None:
        return default_jobs()
    if jobs < 1:
        raise BadJobs(f"bad number of jobs '{jobs}'", hint="give --jobs a number of at least 1")
    return jobs


# The work of the running pool, inherited by its processes when they fork.
_WORK: Callable | None = None


def run(work: Callable[[int], object], count: int, jobs: int) -> Iterator[tuple[int, object]]:
    """(k, work(k)) for each k in range(count), in the order they finish.

    A process that dies (killed, out of memory) stops the run with
    ProcessDied rather than leaving it waiting for a result that will not
    come."""
    import multiprocessing  # not for the commands that only read (blame and track import this module)
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    global _WORK
    _WORK = work
    try:
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
            pending = {pool.submit(_call, k) for k in range(count)}
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    try:
                        k, got, failure = future.result()
                    except BrokenProcessPool:
                        for other in pending:
                            other.cancel()
                        raise ProcessDied("a process of this command died before it finished its work",
                                          hint="run it again (with --jobs 1 to use one process)") from None
                    if failure is not None:
                        for other in pending:
                            other.cancel()
                        kind, message, hint = failure
                        exc = kind.__new__(kind)
                        GitOtError.__init__(exc, message, hint)
                        raise exc
                    yield k, got
    finally:
        _WORK = None


def _call(k: int):
    try:
        return k, _WORK(k), None
    except GitOtError as exc:  # sent back as what it is, hint and all
        return k, None, (type(exc), exc.message, exc.hint)
