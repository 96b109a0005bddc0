"""Losses on one surface leave every other surface's bankroll, caps and breakers untouched."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from shared.money.ledger import Ledger
from shared.paths import open_stream
from shared.records import SURFACES
from shared.risk.candidate import Candidate

MakeCandidate = Callable[..., Candidate]


def test_losses_on_one_surface_leave_the_others_untouched(
    rig_factory: Any, make_candidate: MakeCandidate, make_trade: Any
) -> None:
    rigs = {surface: rig_factory(surface) for surface in SURFACES}
    before = {s: (r.ledger.cash_cents, r.ledger.equity_cents, r.ledger.peak_equity_cents) for s, r in rigs.items()}
    st = rigs["kalshi_st"]
    now = st.clock.now()
    with open_stream(st.log_dir, "kalshi_st", "trades") as log:
        for i in range(3):
            log.append(make_trade(f"L{i}", "resolved", pnl=-40_000, resolved_at=now))
    for rig in rigs.values():
        rig.chain.begin_tick()

    assert st.ledger.realized_cents == -120_000
    assert st.chain.evaluate(make_candidate()).reason_code == "daily_loss_breaker"
    assert open_stream(st.log_dir, "kalshi_st", "events").read_all()
    for surface, rig in rigs.items():
        if surface == "kalshi_st":
            continue
        cash, equity, peak = before[surface]
        assert (rig.ledger.cash_cents, rig.ledger.equity_cents, rig.ledger.peak_equity_cents) == (cash, equity, peak)
        assert rig.ledger.realized_today(now) == 0 and rig.ledger.drawdown == 0
        assert not rig.chain.breakers.tripped_names
        assert not open_stream(rig.log_dir, surface, "events").read_all()
        side, price, extra = (
            ("yes", Decimal("0.40"), {})
            if surface == "kalshi_lt"
            else (
                "long",
                Decimal("100"),
                {
                    "take_profit": Decimal("103"),
                    "stop_loss": Decimal("98"),
                    "quantity": 2,
                    "cost_cents": 20_000,
                    "fee_cents": 200,
                    "p_model": 0.7,
                },
            )
        )
        candidate = make_candidate(
            surface=surface, side=side, price=price, current_price=price, candidate_id=f"C-{surface}", **extra
        )
        decision = rig.chain.evaluate(candidate)
        assert decision.accepted, (surface, decision.reason_code)
    # A rebuilt ledger of another surface never sees kalshi_st's trades.
    assert Ledger.rebuild(st.log_dir, "fx").state() == Ledger("fx").state()
