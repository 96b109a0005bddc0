"""The commission rule, exact to the cent: 15% of realized profit above the high-water mark, on withdrawal only."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from client.commission import crystallize
from client.config import ClientConfig
from client.ledger import Ledger, LedgerError, MoneyEvent, format_cents
from client.money import deposit, load_ledger, parse_dollars, withdraw
from client.store import StatePaths
from shared.records import Trade

AT = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def realize(config: ClientConfig, name: str, pnl_cents: int) -> None:
    """Append a filled-then-resolved trade realizing ``pnl_cents`` (fees included) to the client's records."""
    log = StatePaths(config.state_dir).log("orders")
    common = dict(id=f"trade-{name}", signal_id=name, client_order_id=f"coid-{name}", surface="kalshi_st",
                  venue="sim", instrument="KXTEST", side="yes", count=100, fill_price=Decimal("0.50"),
                  cost_cents=50, opened_at=AT)
    log.append(Trade(status="intent", **common))
    log.append(Trade(status="filled", fees=2, **common))
    log.append(Trade(status="resolved", fees=2, pnl=pnl_cents, resolved_at=AT, **common))


def test_worked_example_from_the_readme(make_config) -> None:
    config = make_config()
    StatePaths(config.state_dir).ensure()
    deposit(config, parse_dollars("1000"))

    realize(config, "a", 20_000)  # +$200.00
    first = withdraw(config, parse_dollars("100"))
    assert first.commission is not None and first.commission.amount_cents == 3_000  # 15% × $200.00 = $30.00
    assert first.ledger_after.hwm_cents == 20_000
    assert first.ledger_after.cash_cents == 100_000 + 20_000 - 3_000 - 10_000 == 107_000

    realize(config, "b", -5_000)  # −$50.00: below the high-water mark now
    second = withdraw(config, parse_dollars("100"))
    assert second.commission is None  # nothing above the HWM: nothing due, no commission line at all
    assert second.ledger_after.hwm_cents == 20_000
    assert second.ledger_after.cash_cents == 92_000

    realize(config, "c", 8_000)  # +$80.00: cumulative $230.00, $30.00 above the HWM
    third = withdraw(config, parse_dollars("50"))
    assert third.commission is not None and third.commission.amount_cents == 450  # 15% × $30.00 = $4.50
    assert third.ledger_after.hwm_cents == 23_000
    assert third.ledger_after.cash_cents == 92_000 + 8_000 - 450 - 5_000 == 94_550

    realize(config, "d", 333)  # +$3.33 above the HWM: 15% = 49.95 cents, rounded down to 49
    fourth = withdraw(config, parse_dollars("10"))
    assert fourth.commission is not None and fourth.commission.amount_cents == 49
    assert fourth.ledger_after.hwm_cents == 23_333
    assert fourth.ledger_after.cash_cents == 94_550 + 333 - 49 - 1_000 == 93_834
    assert fourth.ledger_after.commission_cents == 3_000 + 450 + 49

    # The ledger is a pure fold of the records: rebuilding it from disk gives the same figures.
    assert load_ledger(StatePaths(config.state_dir), config).snapshot() == fourth.ledger_after.snapshot()


def test_withdrawal_needs_the_cash_after_commission(make_config) -> None:
    config = make_config()
    StatePaths(config.state_dir).ensure()
    deposit(config, 10_000)
    realize(config, "a", 1_000)  # cash 11,000; a withdrawal would crystallize 150
    with pytest.raises(LedgerError, match="commission"):
        withdraw(config, 10_900)
    done = withdraw(config, 10_850)
    assert done.ledger_after.cash_cents == 0
    with pytest.raises(LedgerError):
        withdraw(config, 1)


def test_no_commission_before_any_profit_and_losses_first_must_be_recovered() -> None:
    assert crystallize(-5_000, 0).amount_cents == 0
    assert crystallize(0, 0).amount_cents == 0
    # A subscriber down $50 who then makes $80 owes commission on $30 only (the HWM starts at zero).
    assert crystallize(3_000, 0).amount_cents == 450


def test_commission_lines_raise_the_ledger_hwm() -> None:
    due = crystallize(12_345, 0)
    assert (due.amount_cents, due.hwm_after_cents) == (1_851, 12_345)  # 1,851.75 rounded down
    ledger = Ledger()
    ledger.apply_money(MoneyEvent(id="c1", type="commission", amount_cents=due.amount_cents, at=AT,
                                  hwm_before_cents=0, hwm_after_cents=due.hwm_after_cents))
    ledger.apply_money(MoneyEvent(id="c1", type="commission", amount_cents=due.amount_cents, at=AT,
                                  hwm_before_cents=0, hwm_after_cents=due.hwm_after_cents))  # replayed: once
    assert (ledger.hwm_cents, ledger.commission_cents) == (12_345, 1_851)
    assert format_cents(-123_456) == "-$1,234.56"


@given(
    pnls=st.lists(st.integers(min_value=-100_000, max_value=100_000), min_size=1, max_size=30),
    withdraw_after=st.lists(st.booleans(), min_size=30, max_size=30),
)
def test_commission_never_exceeds_the_rate_of_peak_profit(pnls: list[int], withdraw_after: list[bool]) -> None:
    """Over any path, total commission = floor-sums of 15% of each new peak's increment: never negative, never
    more than 15% of the highest cumulative profit ever crystallized, and the HWM never falls."""
    cumulative, hwm, total = 0, 0, 0
    for pnl, crystallizes in zip(pnls, withdraw_after, strict=False):
        cumulative += pnl
        if crystallizes:
            due = crystallize(cumulative, hwm, Decimal("0.15"))
            assert due.amount_cents >= 0
            assert due.hwm_after_cents >= hwm
            total += due.amount_cents
            hwm = due.hwm_after_cents
    assert 0 <= total <= (Decimal("0.15") * max(hwm, 0))


@pytest.mark.parametrize("text,cents", [("100", 10_000), ("0.01", 1), ("$1,234.56", 123_456), ("12.5", 1_250)])
def test_parse_dollars(text: str, cents: int) -> None:
    assert parse_dollars(text) == cents


@pytest.mark.parametrize("text", ["-5", "0", "1.001", "abc", "nan", "inf"])
def test_parse_dollars_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_dollars(text)
