"""git-ot: keep the evidence of coding-agent sessions inside the git repository."""

__version__ = "0.1.0"
