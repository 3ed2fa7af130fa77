"""The trail: which agent step wrote each committed line (anchoring), how
that survives amend and rebase, and `git ot blame`, which reads it back."""
