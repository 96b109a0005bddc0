"""``verify-history``: is the operator's published history the one that was signed, in sequence?

Every signal carries the hash of the previous signal on its surface, under the operator's signature
(``shared.signing.ChainCheck``). This fetches the history the operator serves (``GET /api/signals/history``, every
page), checks each signature against the pinned key and the chain per surface, and also compares it with the
signals this client received at the time (its own ``signals.jsonl``): those are witnesses the operator cannot
take back.

What it proves and what it cannot:
- An edited signal (re-signed or not), a signal inserted after the fact (back-filled) and a restarted chain are
  breaks, named by signal id.
- The history endpoint serves *resolved* signals only, so a signal still open is absent, and so is one the
  operator removed. Both show as a gap (the next signal links to a hash not in the history) until the signal
  resolves or this client holds a copy; a gap that never closes is a removed signal. The operator's whole log
  is checked server-side and shown on the public ``/demo`` page.
- A chain rewritten from some point on (every later signal re-signed) is consistent in itself; only copies held
  from before the rewrite (this client's witnesses, anyone's saved history) expose it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from client.feed import FeedApi
from client.store import StatePaths
from shared.records import Signal, parse_record
from shared.signing import ChainCheck


@dataclass(frozen=True, slots=True)
class HistoryCheck:
    check: ChainCheck
    malformed: int
    witnesses: int

    @property
    def ok(self) -> bool:
        return not self.check.breaks()

    def as_json(self) -> dict[str, Any]:
        breaks = self.check.breaks()
        return {
            "ok": self.ok,
            "summary": self.check.summary(),
            "signals": self.check.signals,
            "linked": self.check.linked,
            "first_break": None if not breaks else {"signal_id": breaks[0].signal_id, "surface": breaks[0].surface,
                                                    "reason": breaks[0].reason},
            "breaks": [{"signal_id": b.signal_id, "surface": b.surface, "reason": b.reason} for b in breaks],
            "gaps": [{"surface": s, "signal_id": i} for s, i in self.check.gaps()],
            "malformed": self.malformed,
            "witnesses": self.witnesses,
            "surfaces": {name: {"signals": state.signals, "linked": state.linked}
                         for name, state in sorted(self.check.surfaces.items())},
        }

    def render(self) -> str:
        lines = [self.check.summary(), ""]
        lines.append(f"{'surface':<10} {'signals':>7} {'linked':>7}")
        for name, state in sorted(self.check.surfaces.items()):
            lines.append(f"{name:<10} {state.signals:>7} {state.linked:>7}")
        for found in self.check.breaks():
            lines.append(f"BREAK  {found.surface:<10} {found.signal_id}  {found.reason}")
        for surface, signal_id in self.check.gaps():
            lines.append(f"gap    {surface:<10} {signal_id}  follows a signal not in the resolved history "
                         "(still open, or removed)")
        if self.malformed:
            lines.append(f"({self.malformed} history items without a valid signal)")
        lines.append(f"(checked against {self.witnesses} signals this client received when they were published)")
        return "\n".join(lines)


def witnesses(paths: StatePaths) -> list[Signal]:
    """The signals this client accepted from the feed, as it received them."""
    out: list[Signal] = []
    for entry in paths.log("signals").read_all():
        data = entry.data
        if data.get("verdict") == "accepted" and isinstance(data.get("signal"), dict):
            try:
                out.append(parse_record(Signal, data["signal"]))
            except ValidationError:
                continue
    return out


def check_history(items: Iterable[dict[str, Any]], public_key: Ed25519PublicKey,
                  received: list[Signal]) -> HistoryCheck:
    """Check history items (``{"signal": {...}, ...}``) against the key, the chain and the witnesses."""
    check = ChainCheck(public_key, complete=False, witnesses=received)
    malformed = 0
    for item in items:
        raw = item.get("signal")
        try:
            signal = parse_record(Signal, raw) if isinstance(raw, dict) else None
        except ValidationError:
            signal = None
        if signal is None:
            malformed += 1
            continue
        check.add(signal)
    return HistoryCheck(check, malformed, len(received))


def verify_history(api: FeedApi, public_key: Ed25519PublicKey, since: date, paths: StatePaths) -> HistoryCheck:
    """Fetch every page of the operator's history since ``since`` and check it."""
    return check_history(api.history_all(since), public_key, witnesses(paths))
