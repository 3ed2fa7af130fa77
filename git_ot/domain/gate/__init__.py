"""The security gate: nothing sensitive reaches a ref unchecked.

It runs where records become reachable (at seal) and again before anything
leaves the machine (at egress), each time with the policy then in force.

    policy.py     what it looks for and does: ot.security.* (git config)
    detectors.py  patterns, entropy, personal data, TruffleHog
    transform.py  placeholders and stable tokens, and the salt behind them
    judge.py      the residual risk of what is left
    engine.py     `Gate`: the above over texts and snapshot blobs
    cache.py      what each blob held, once per blob and policy
    seal.py       `SealGate`: redact while folding, check snapshots (sealing.py)
    scan.py       `git ot scan`: findings, sealed and still spooled
    egress.py     may sessions leave as stored (share.py's push)

This package holds no code: import the module you need, so that a seal
loads neither scan nor egress.
"""
