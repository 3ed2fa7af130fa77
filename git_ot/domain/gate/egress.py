"""The gate at egress: the check `git ot push` makes before sessions leave the machine."""

from __future__ import annotations

from ...errors import EgressBlocked
from ...store.repository import Store
from .engine import Gate
from .policy import Policy
from .scan import scan_session


def egress_report(store: Store, session_ids: list[str], policy: Policy | None = None) -> dict:
    """The gate's report at egress: may these sessions leave the machine as stored?

    Every session is scanned again under `policy` (default: the one in
    force). A session passes when nothing is open (every finding was
    redacted at seal, or the allow-list lets it through) and its risk is at
    most `max_risk`; stored objects cannot be redacted after the fact, so at
    egress an open finding always holds the session back, whatever the
    action. Pending (unsealed) events do not leave and are not looked at.
    The result: `ok`, and per session `verdict` (`pass` or `block`),
    `reasons`, `risk` and the open `findings`.
    """
    gate = Gate(store, policy)
    out = []
    for sid in session_ids:
        result = scan_session(gate, sid, spool=False)
        reasons = []
        if not result["sealed"]:
            reasons.append("not sealed")
        if result["open"]:
            kinds = sorted({f["kind"] for f in result["findings"] if f["status"] == "open"})
            reasons.append(f"{result['open']} open finding{'s' if result['open'] != 1 else ''}: {', '.join(kinds)}")
        if result["risk"] > gate.policy.max_risk:
            reasons.append(f"risk {result['risk']} is above ot.security.maxRisk {gate.policy.max_risk}")
        out.append({"session": sid, "verdict": "block" if reasons else "pass", "reasons": reasons,
                    "risk": result["risk"],
                    "findings": [f for f in result["findings"] if f["status"] == "open"]})
    return {"ok": all(s["verdict"] == "pass" for s in out), "policy": gate.policy.describe(), "sessions": out}


def raise_if_blocked(report: dict) -> None:
    """Raise EgressBlocked when an egress report holds a session back."""
    blocked = [s for s in report["sessions"] if s["verdict"] == "block"]
    if not blocked:
        return
    first = blocked[0]
    more = f" and {len(blocked) - 1} more" if len(blocked) > 1 else ""
    raise EgressBlocked(
        f"the security gate holds back session '{first['session']}'{more}: {'; '.join(first['reasons'])}",
        hint=f"'git ot scan {first['session']}' shows the findings; 'git ot forget {first['session']}' "
             f"deletes it, or adjust ot.security.allow / ot.security.maxRisk")
