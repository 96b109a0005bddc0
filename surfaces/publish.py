"""Publishing: every trade a surface takes becomes a signed signal on the bus for subscribers.

Each published signal carries ``prev_hash``, the hash of the signal published before it on the same surface (set,
and the signal re-signed, at publication: the order of the log is the order of the chain), so anyone holding the
public key can check the published history was not edited, pruned or back-filled (``shared.signing.ChainCheck``).
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.bus import JsonlLog
from shared.clock import Clock
from shared.records import Signal, Surface, parse_record
from shared.signing import chain, sign_signal
from surfaces.strategy import Proposal

SIGNAL_TTL = timedelta(seconds=600)


class SignalPublisher:
    def __init__(self, log: JsonlLog, key: Ed25519PrivateKey, wall: Clock, *, dry_run: bool, venue: str) -> None:
        self.log = log
        self.key = key
        self.wall = wall
        self.dry_run = dry_run
        self.venue = venue
        self._previous: Signal | None = None
        self._previous_read = False

    def build(self, signal_id: str, surface: Surface, proposal: Proposal, *, edge: float,
              size_fraction: Decimal, limit_price: Decimal) -> Signal:
        """The signed signal for a trade; published_at is wall time (subscribers act in real time)."""
        now = self.wall.now()
        signal = Signal(
            id=signal_id,
            published_at=now,
            expires_at=now + SIGNAL_TTL,
            surface=surface,
            sub_strategy=proposal.sub_strategy,
            venue=self.venue,  # type: ignore[arg-type]
            instrument=proposal.instrument.symbol,
            title=proposal.instrument.title[:200],
            side=proposal.side,
            limit_price=limit_price,
            size_fraction=min(Decimal(1), max(Decimal(0), size_fraction)),
            p_model=proposal.p_model,
            p_market=proposal.p_market,
            edge=edge,
            confidence=proposal.confidence,
            model_spread=proposal.model_spread,
            models=proposal.models,
            eta_hours=proposal.eta_hours,
            stop_loss=proposal.stop_loss,
            take_profit=proposal.take_profit,
            dry_run=self.dry_run,
        )
        return sign_signal(signal, self.key)

    def publish(self, signal: Signal) -> Signal:
        """Link ``signal`` after the surface's last published signal, re-sign it, append it; returns what was
        appended. A failed append (a full disk) leaves the chain where it was, so the retry links the same way."""
        if not self._previous_read:
            self._previous = _last_signal(self.log)
            self._previous_read = True
        linked = chain(signal, self._previous, self.key)
        self.log.append(linked)
        self._previous = linked
        return linked


def _last_signal(log: JsonlLog, window: int = 1 << 16) -> Signal | None:
    """The last signal in the log (read from its tail, never the whole file): the chain's previous link."""
    try:
        with log.path.open("rb") as handle:
            size = handle.seek(0, 2)
            handle.seek(max(0, size - window))
            tail = handle.read()
    except FileNotFoundError:
        return None
    for line in reversed(tail.splitlines()):
        try:
            data = json.loads(line)
        except ValueError:
            continue  # the first, cut line of the window, or a torn one
        if isinstance(data, dict) and data.get("kind") == "signal":
            return parse_record(Signal, data)
    return None
