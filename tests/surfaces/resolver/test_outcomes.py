from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from shared.venues.base import Candle
from surfaces.resolver.outcomes import binary_pnl_cents, bracket_exit, price_pnl, to_cents

T0 = datetime(2024, 3, 4, 10, tzinfo=UTC)


def bar(hour: int, o: str, h: str, low: str, c: str) -> Candle:
    return Candle("EUR_USD", T0 + timedelta(hours=hour), 3600, D(o), D(h), D(low), D(c))


def test_long_take_profit_inside_a_bar_exits_at_the_level() -> None:
    candles = [bar(1, "1.1000", "1.1020", "1.0990", "1.1010"), bar(2, "1.1010", "1.1060", "1.1000", "1.1050")]
    hit = bracket_exit("long", D("1.0950"), D("1.1050"), candles, T0)
    assert hit is not None and hit.price == D("1.1050") and hit.reason == "take_profit"
    assert hit.at == T0 + timedelta(hours=3)


def test_long_stop_gapped_through_exits_at_the_open_not_the_level() -> None:
    candles = [bar(1, "1.1000", "1.1010", "1.0990", "1.1000"), bar(2, "1.0900", "1.0920", "1.0880", "1.0910")]
    hit = bracket_exit("long", D("1.0950"), D("1.1100"), candles, T0)
    assert hit is not None and hit.price == D("1.0900") and hit.reason == "stop_loss_gap"


def test_short_mirrors_long_and_both_levels_in_one_bar_count_as_the_stop() -> None:
    both = [bar(1, "1.1000", "1.1100", "1.0900", "1.1000")]
    hit = bracket_exit("short", D("1.1050"), D("1.0950"), both, T0)
    assert hit is not None and hit.reason == "stop_loss" and hit.price == D("1.1050")
    gap = [bar(1, "1.0900", "1.0910", "1.0890", "1.0900")]
    hit = bracket_exit("short", D("1.1050"), D("1.0950"), gap, T0)
    assert hit is not None and hit.reason == "take_profit_gap" and hit.price == D("1.0900")


def test_bars_before_or_containing_the_entry_are_ignored_and_untouched_levels_give_none() -> None:
    early = [bar(0, "1.1000", "1.2000", "1.0000", "1.1000")]
    assert bracket_exit("long", D("1.0950"), D("1.1050"), early, T0 + timedelta(minutes=30)) is None
    calm = [bar(1, "1.1000", "1.1010", "1.0990", "1.1000")]
    assert bracket_exit("long", D("1.0950"), D("1.1050"), calm, T0) is None


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
