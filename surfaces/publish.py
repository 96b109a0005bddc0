"""Publishing: every trade a surface takes becomes a signed signal on the bus for subscribers."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.bus import JsonlLog
from shared.clock import Clock
from shared.records import Signal, Surface
from shared.signing import sign_signal
from surfaces.strategy import Proposal

SIGNAL_TTL = timedelta(seconds=600)


class SignalPublisher:
    def __init__(self, log: JsonlLog, key: Ed25519PrivateKey, wall: Clock, *, dry_run: bool, venue: str) -> None:
        self.log = log
        self.key = key
        self.wall = wall
        self.dry_run = dry_run
        self.venue = venue

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

    def publish(self, signal: Signal) -> None:
        self.log.append(signal)
