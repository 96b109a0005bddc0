"""Assembly of a surface loop from its settings: the one place that knows how the parts fit together."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from shared.ai.ensemble import Ensemble, build_ensemble
from shared.ai.settings import EnsembleSettings
from shared.audit.guard import live_start_check
from shared.clock import Clock, WallClock
from shared.config import SurfaceSettings
from shared.execution import OrderLifecycle
from shared.ids import new_id
from shared.money.ledger import Ledger
from shared.notify import Notifier, NotifyTargets
from shared.paths import open_stream
from shared.records import Surface
from shared.risk.chain import RiskChain
from shared.signing import load_or_create_key
from shared.venues.base import Venue
from shared.venues.factory import build_venue
from surfaces.decide import Decider, Kind
from surfaces.loop import SurfaceLoop
from surfaces.publish import SignalPublisher
from surfaces.strategy import Strategy

log = logging.getLogger(__name__)


class CalibrationRefused(SystemExit):
    """A live start refused because the surface's calibration audit fails (exit code 3)."""


def refuse_uncalibrated_live(settings: SurfaceSettings, surface: str, allow_uncalibrated: bool) -> None:
    """Live trading needs a calibrated surface (the audit's calibration gate) unless the operator overrides.

    Exits with code 3 (not 2: the env file is valid, the surface's record is not good enough)."""
    tolerance = float(getattr(settings, "calibration_tolerance", 0.10))
    min_samples = int(getattr(settings, "calibration_min_samples", 50))
    may_start, message = live_start_check(settings.log_dir, surface, settings.trading_mode, allow_uncalibrated,
                                          tolerance, min_samples)
    if not may_start:
        print(f"{surface}: {message}", flush=True)
        raise CalibrationRefused(3)
    if settings.trading_mode == "live":
        log.warning("%s: %s", surface, message)


def notifier_for(settings: SurfaceSettings) -> Notifier:
    return Notifier(
        NotifyTargets(settings.discord_webhook_url, settings.telegram_bot_token, settings.telegram_chat_id),
        timeout=settings.notify_timeout_seconds,
    )


def ensemble_for(settings: SurfaceSettings, surface: str, wall: Clock) -> Ensemble:
    assert isinstance(settings, EnsembleSettings)
    return build_ensemble(settings, settings.log_dir, surface, wall)


def assemble(
    settings: SurfaceSettings,
    *,
    surface: Surface,
    kind: Kind,
    process_name: str,
    strategies: Callable[[Venue], Sequence[Strategy]],
    api_spend_cents: Callable[[], int] = lambda: 0,
    venue: Venue | None = None,
    wall: Clock | None = None,
    new_signal_id: Callable[[], str] | None = None,
    fx_margin_rate: object = None,
) -> SurfaceLoop:
    """Build the loop: venue, ledger (rebuilt from the surface's own trade log), chain, lifecycle, publisher."""
    wall = wall or WallClock()
    venue = venue or build_venue(surface, settings)
    log_dir: Path = settings.log_dir
    ledger = Ledger.rebuild(log_dir, surface, settings.trading_mode, bankroll_cents=settings.bankroll_cents,
                            day_boundary_tz=settings.day_boundary_tz)
    chain = RiskChain(settings, ledger, log_dir, venue.clock, wall=wall, write_decisions=False)
    key = load_or_create_key(settings.signal_key_path)
    publisher = SignalPublisher(open_stream(log_dir, surface, "signals"), key, wall,
                                dry_run=settings.trading_mode == "paper", venue=venue.name)
    decider_kwargs = {} if fx_margin_rate is None else {"fx_margin_rate": fx_margin_rate}
    decider = Decider(
        surface=surface, kind=kind, venue=venue, chain=chain, ledger=ledger, publisher=publisher,
        decisions=open_stream(log_dir, surface, "decisions"),
        new_signal_id=new_signal_id or (lambda: new_id(wall.now())), api_spend_cents=api_spend_cents,
        **decider_kwargs,  # type: ignore[arg-type]
    )
    lifecycle = OrderLifecycle(venue, open_stream(log_dir, surface, "trades"), settings.trading_mode,
                               binary=kind == "binary")
    return SurfaceLoop(
        surface=surface, process_name=process_name, strategies=strategies(venue), decider=decider,
        lifecycle=lifecycle, publisher=publisher, heartbeats=open_stream(log_dir, surface, "heartbeats"),
        wall=wall, tick_seconds=settings.tick_seconds, notifier=notifier_for(settings),
    )
