"""Hypothesis profiles for the property tests, chosen by GIT_OT_HYPOTHESIS_PROFILE.

- `ci` (the default): derandomized, so every run plays the same histories,
  and bounded, so the suite stays well inside CI's time: 60 histories for
  the blame property test (about a minute and a half on two cores) and 12
  for the sharing one.
- `long`: for a local run before a change to the trail or sharing code:
  1,000 blame histories and 200 sharing ones (hours, not minutes), drawn at
  random, so each long run explores histories no earlier run played; a
  failure prints its minimal history and a @reproduce_failure blob, and
  `--hypothesis-seed=N` repeats a run.

Each profile's max_examples is the blame test's count; the sharing test,
about ten times slower per history, plays a fifth of it.
"""

from __future__ import annotations

import os

from hypothesis import settings

VARIABLE = "GIT_OT_HYPOTHESIS_PROFILE"

settings.register_profile("ci", max_examples=60, derandomize=True, database=None, deadline=None,
                          print_blob=True)
settings.register_profile("long", max_examples=1000, derandomize=False, database=None, deadline=None,
                          print_blob=True)
PROFILE = os.environ.get(VARIABLE, "ci")
settings.load_profile(PROFILE)
