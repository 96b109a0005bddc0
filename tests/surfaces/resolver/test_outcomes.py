from decimal import Decimal as D

from surfaces.resolver.outcomes import binary_pnl_cents, exit_reason, price_pnl, to_cents


def test_an_exit_is_named_from_its_fill_against_the_levels() -> None:
    sl, tp = D("1.0950"), D("1.1050")
    assert exit_reason("long", sl, tp, D("1.0950")) == "stop_loss"
    assert exit_reason("long", sl, tp, D("1.0900")) == "stop_loss_gap"  # filled beyond: the market gapped
    assert exit_reason("long", sl, tp, D("1.1050")) == "take_profit"
    assert exit_reason("long", sl, tp, D("1.1080")) == "take_profit_gap"
    assert exit_reason("long", sl, tp, D("1.1000")) == "closed"  # between the levels: a close at market


def test_a_short_mirrors_a_long() -> None:
    sl, tp = D("1.1050"), D("1.0950")
    assert exit_reason("short", sl, tp, D("1.1050")) == "stop_loss"
    assert exit_reason("short", sl, tp, D("1.1100")) == "stop_loss_gap"
    assert exit_reason("short", sl, tp, D("1.0950")) == "take_profit"
    assert exit_reason("short", sl, tp, D("1.0900")) == "take_profit_gap"
    assert exit_reason("short", None, None, D("1.1000")) == "closed"


def test_binary_pnl_after_fees_for_win_loss_and_void() -> None:
    # 3 contracts (300 centi) of YES at $0.40 cost 120 cents, fees 5 cents.
    assert binary_pnl_cents(300, 120, 5, "yes", "yes") == 300 - 120 - 5
    assert binary_pnl_cents(300, 120, 5, "no", "yes") == -125
    assert binary_pnl_cents(300, 120, 5, "no", "no") == 175
    assert binary_pnl_cents(300, 120, 5, "void", "yes") == -5


def test_price_pnl_and_rounding_to_cents() -> None:
    assert price_pnl("long", 10_000, D("1.1000"), D("1.1050")) == D("50.0000")
    assert price_pnl("short", 10_000, D("1.1000"), D("1.1050")) == D("-50.0000")
    assert to_cents(D("0.125")) == 12 and to_cents(D("0.135")) == 14 and to_cents(D("-1.005")) == -100
