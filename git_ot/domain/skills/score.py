"""Labels and verdicts: the rules of `git ot skill score`, as pure functions.

A run's *label* is a number from 0 to 1, from what became of its work
(`git ot track`'s hunk states, trail/survival.py) or from a person's rating:

| hunk state | value |
|---|---|
| `alive_on_path`, `moved`, `repaired` | 1 |
| `alive_transformed` | 0.5 (kept, but edited since) |
| `partially_preserved` | its alive lines / its landed lines (under 0.5) |
| `reverted`, `lost`, `unlanded` | 0 |
| `pending`, `unknown` | none: not settled yet |

A run's label is the mean of its hunks' values weighted by the lines each
wrote; a run with no hunk (no patch that adds a line), or with a hunk still
`pending` or `unknown`, has none. A rating of the run's session replaces
the label.

The verdict compares the last two versions (by their first run): the
difference of their mean labels against the *noise*, the standard error of
that difference, sqrt(s1^2/n1 + s2^2/n2) with each version's sample variance
of labels. A difference no larger than the noise is `inconclusive`; a
larger one is `keep` (the newer is better) or `revert`. This is a lenient
rule, one standard error, suited to a handful of runs; `--min-runs` asks
for more evidence.

A version with fewer labelled runs than the minimum (`--min-runs`, default
3) gets no mean, and a comparison with it is `inconclusive` for
`too_few_labels`.

No score at all when the labels cannot be trusted (checked in this order):
`blocked_unlabelled` (no run has a label), `blocked_insufficient_labels`
(no version has the minimum of labelled runs), `blocked_no_variation`
(every label of the skill is the same value: they tell nothing apart).
"""

from __future__ import annotations

import math

ONE = ("alive_on_path", "moved", "repaired")
ZERO = ("reverted", "lost", "unlanded")
UNSETTLED = ("pending", "unknown")
TRANSFORMED_VALUE = 0.5

DEFAULT_THRESHOLD = 0.7
DEFAULT_MIN_RUNS = 3
DIGITS = 4


def hunk_value(state: str, landed: int = 0, alive: int = 0) -> float | None:
    """The value of one hunk's state; None when it is not settled."""
    if state in ONE:
        return 1.0
    if state == "alive_transformed":
        return TRANSFORMED_VALUE
    if state == "partially_preserved":
        return alive / landed if landed else 0.0
    if state in ZERO:
        return 0.0
    return None


def run_label(hunks: list[dict]) -> float | None:
    """A run's label from its hunks ({"state", "written", "landed", "alive"}), or None."""
    if not hunks:
        return None
    total = weight = 0.0
    for h in hunks:
        value = hunk_value(h["state"], h.get("landed", 0), h.get("alive", 0))
        if value is None:
            return None
        w = max(1, h.get("written", 1))
        total += value * w
        weight += w
    return total / weight


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def _variance(xs: list[float]) -> float:
    if len(xs) < 2:
        return 0.0
    m = _mean(xs)
    return sum((x - m) ** 2 for x in xs) / (len(xs) - 1)


def status(versions: list[list[float]], min_runs: int) -> str:
    """`ok` or the blocked_* status, from the labels of each of a skill's versions."""
    every = [x for labels in versions for x in labels]
    if not every:
        return "blocked_unlabelled"
    if all(len(labels) < min_runs for labels in versions):
        return "blocked_insufficient_labels"
    if len(set(every)) == 1:
        return "blocked_no_variation"
    return "ok"


def version_row(labels: list[float], threshold: float, scored: bool, min_runs: int) -> dict:
    """The numbers of one version; no mean or count over the threshold unless
    the skill is `scored` and the version has `min_runs` labelled runs."""
    scored = scored and len(labels) >= min_runs
    return {"labelled": len(labels),
            "mean": round(_mean(labels), DIGITS) if scored and labels else None,
            "at_or_over_threshold": sum(1 for x in labels if x >= threshold) if scored else None}


def compare(old: list[float], new: list[float], min_runs: int) -> dict:
    """The delta of the means from `old` to `new`, the noise, and the verdict."""
    if len(old) < min_runs or len(new) < min_runs:
        return {"delta": None, "noise": None, "verdict": "inconclusive", "reason": "too_few_labels"}
    # Decided on the figures shown, so a difference equal to the noise in
    # exact arithmetic is within it whatever the floating point says.
    delta = round(_mean(new) - _mean(old), DIGITS)
    noise = round(math.sqrt(_variance(old) / len(old) + _variance(new) / len(new)), DIGITS)
    if abs(delta) <= noise:
        verdict, reason = "inconclusive", "within_noise"
    else:
        verdict, reason = ("keep" if delta > 0 else "revert"), None
    return {"delta": delta, "noise": noise,
            "verdict": verdict, "reason": reason}
