"""No sim hands a strategy an edge (issue 14): per sim, over 500+ resolved markets,

- a strategy that reads everything a strategy may read (the sim's forecast, candles, order book, price history)
  has Brier skill against the market's own price that is not above zero within its 95 % interval;
- a strategy that copies the market's price and buys every market loses its spread and fees, no more, no less
  (within the interval);
- a strategy fed one peek at the outcome is caught by the same statistics (the tests have power).

The strategies are the real ones (surfaces/kalshi_st/weather.py, crypto.py, kalshi_lt's trend feature), asked for
their probability through a probe venue: everything is the sim's except the quote, which offers YES at a
near-zero price so the strategy always proposes YES and reports its own P(YES) as ``p_model``.

Run with ``-s`` to print the measured figures.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from shared.clock import SteppedClock
from shared.money.fees import kalshi_fee_cents
from shared.venues.base import Instrument, Quote
from shared.venues.sim import rng
from shared.venues.sim.binary import BinarySimVenue, MarketSource
from shared.venues.sim.btc import WINDOW, BtcMarkets
from shared.venues.sim.longterm import LongTermMarkets
from shared.venues.sim.weather import SimClimateReport, SimForecast, WeatherMarkets
from shared.venues.sim.weather_forecast import STATIONS, station_day
from surfaces.binary import integer_outcome_probability, normal_cdf
from surfaces.kalshi_lt.strategy import LongTermEnsembleStrategy
from surfaces.kalshi_st.crypto import Btc15mStrategy
from surfaces.kalshi_st.weather import WeatherHighStrategy
from surfaces.strategy import Proposal, TickContext, clamp_probability

SEED = 7
Z95 = 1.96
PROBE_ASK = Decimal("0.000001")


# ----------------------------------------------------------------------------------------------- statistics
@dataclass
class Sample:
    """Forecasts of resolved markets, clustered by event (an event's markets and decision times move together)."""

    ids: list[object] = field(default_factory=list)  # which market each decision is on
    outcome: list[float] = field(default_factory=list)
    market: list[float] = field(default_factory=list)
    cluster: list[object] = field(default_factory=list)
    strategies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    copy_pnl: list[float] = field(default_factory=list)  # buy the market at its price: outcome − price − fee ($)
    copy_cost: list[float] = field(default_factory=list)  # what that trade pays over the mid: half spread + fee

    def add(self, cluster: object, market_id: object, outcome: bool, market: float, strategies: dict[str, float],
            price: Decimal, fee_cents: int) -> None:
        self.cluster.append(cluster)
        self.ids.append(market_id)
        self.outcome.append(1.0 if outcome else 0.0)
        self.market.append(market)
        for name, p in strategies.items():
            self.strategies[name].append(p)
        self.copy_pnl.append(self.outcome[-1] - float(price) - fee_cents / 100)
        self.copy_cost.append(float(price) - market + fee_cents / 100)

    @property
    def markets(self) -> int:
        """Distinct resolved markets (a market may be decided on at several times)."""
        return len(set(self.ids))


def clustered_mean(values: Iterable[float], clusters: list[object]) -> tuple[float, float, float]:
    """Mean with a cluster-robust 95 % interval (normal approximation): (mean, low, high)."""
    sums: dict[object, float] = defaultdict(float)
    counts: dict[object, int] = defaultdict(int)
    total, n = 0.0, 0
    for value, key in zip(values, clusters, strict=True):
        sums[key] += value
        counts[key] += 1
        total += value
        n += 1
    mean = total / n
    g = len(sums)
    variance = sum((sums[k] - mean * counts[k]) ** 2 for k in sums) / n**2 * g / (g - 1)
    half = Z95 * math.sqrt(variance)
    return mean, mean - half, mean + half


@dataclass(frozen=True)
class Skill:
    brier_strategy: float
    brier_market: float
    skill: float  # 1 − Brier_strategy / Brier_market
    low: float  # its 95 % interval
    high: float


def skill_against_market(sample: Sample, name: str) -> Skill:
    p = sample.strategies[name]
    y, m = sample.outcome, sample.market
    brier_s = math.fsum((a - b) ** 2 for a, b in zip(p, y, strict=True)) / len(y)
    brier_m = math.fsum((a - b) ** 2 for a, b in zip(m, y, strict=True)) / len(y)
    # Skill = (B_m − B_s) / B_m; its interval from the clustered interval of the per-market Brier difference.
    diff = [(b - c) ** 2 - (a - c) ** 2 for a, b, c in zip(p, m, y, strict=True)]
    mean, low, high = clustered_mean(diff, sample.cluster)
    return Skill(brier_s, brier_m, mean / brier_m, low / brier_m, high / brier_m)


def report(sim: str, sample: Sample) -> None:
    print(f"\n[{sim}] {len(sample.outcome)} decisions on {sample.markets} resolved markets in "
          f"{len(set(sample.cluster))} events; "
          f"market Brier {skill_against_market(sample, next(iter(sample.strategies))).brier_market:.4f}")
    for name in sample.strategies:
        s = skill_against_market(sample, name)
        print(f"  {name:<24} Brier {s.brier_strategy:.4f}  skill {s.skill:+.4f}  95% CI [{s.low:+.4f}, {s.high:+.4f}]")
    pnl = clustered_mean(sample.copy_pnl, sample.cluster)
    cost = clustered_mean(sample.copy_cost, sample.cluster)
    print(f"  copy-market P&L per contract {pnl[0] * 100:+.2f}¢ [{pnl[1] * 100:+.2f}, {pnl[2] * 100:+.2f}]; "
          f"spread+fee paid {cost[0] * 100:.2f}¢")


def assert_no_free_edge(sample: Sample, honest: Iterable[str], leak: str) -> None:
    assert sample.markets >= 500
    for name in honest:
        s = skill_against_market(sample, name)
        assert s.low <= 0.0, f"{name} beats the market: skill {s.skill:+.4f} [{s.low:+.4f}, {s.high:+.4f}]"
    peek = skill_against_market(sample, leak)
    assert peek.low > 0.0, f"the statistics miss a leak: skill {peek.skill:+.4f} [{peek.low:+.4f}, {peek.high:+.4f}]"
    # Copying the market and buying everything loses what it pays over the mid, within the interval.
    pnl = clustered_mean(sample.copy_pnl, sample.cluster)
    assert pnl[2] < 0.0
    beyond_cost = clustered_mean([a + b for a, b in zip(sample.copy_pnl, sample.copy_cost, strict=True)],
                                 sample.cluster)
    assert beyond_cost[1] <= 0.0 <= beyond_cost[2], f"copying the market earns {beyond_cost} beyond its costs"


# ---------------------------------------------------------------------------------------------- harness
class ProbeVenue:
    """The sim venue as a strategy sees it, except that YES is always offered at a near-zero price: the strategy
    then proposes YES on every market it can price and reports its own P(YES) as ``p_model``."""

    def __init__(self, venue: BinarySimVenue) -> None:
        self._venue = venue

    def __getattr__(self, name: str) -> Any:
        return getattr(self._venue, name)

    def quote(self, symbol: str) -> Quote:
        return Quote(symbol, self._venue.clock.now(), None, PROBE_ASK, None, 100)


def probed(strategy: Any, venue: BinarySimVenue, now: datetime, instruments: tuple[Instrument, ...]) -> dict[
        str, Proposal]:
    tick = TickContext(ProbeVenue(venue), now, instruments)  # type: ignore[arg-type]
    out = {}
    for proposal in strategy.propose(tick):
        assert proposal.side == "yes" and proposal.price == PROBE_ASK
        out[proposal.instrument.symbol] = proposal
    return out


def market_view(venue: BinarySimVenue, symbol: str) -> tuple[float, Decimal, int] | None:
    """(the market's probability: the mid, the YES ask, the taker fee of one contract at it) or None if one-sided."""
    quote = venue.quote(symbol)
    if quote.bid is None or quote.ask is None:
        return None
    return float(quote.bid + quote.ask) / 2, quote.ask, kalshi_fee_cents(100, quote.ask * 100)


def make_venue(tmp_path: Path, clock: SteppedClock, source: MarketSource, surface: str = "kalshi_st") -> BinarySimVenue:
    return BinarySimVenue(surface, clock, tmp_path / surface, SEED, 1_000_000, (source,))


# --------------------------------------------------------------------------------------------------- weather
WEATHER_DAYS = [date(2025, 12, 5) + timedelta(days=k) for k in range(0, 120, 2)]
WEATHER_HOURS = (3, 15, 27)  # after listing: 13:00 LST the day before, 01:00 and 13:00 LST on the day


def recent_errors(forecast: SimForecast, climate: SimClimateReport, station: str, day: date) -> float:
    """What a strategy can learn from history: the mean error of its forecast (the member mean it can still read
    for a past day) against the published high, over the last five published days; 0 without history."""
    errors = []
    for back in range(1, 12):
        past = day - timedelta(days=back)
        high = climate.daily_high(station, past)
        if high is None or station_day(station, past) is None:
            continue
        members = forecast.daily_high_members(station, past)
        errors.append(high - math.fsum(members) / len(members))
        if len(errors) == 5:
            break
    return math.fsum(errors) / len(errors) if errors else 0.0


def weather_sample(tmp_path: Path) -> Sample:
    markets = WeatherMarkets(SEED)
    clock = SteppedClock(datetime(2025, 12, 5, tzinfo=UTC))
    venue = make_venue(tmp_path, clock, markets)
    forecast, climate = SimForecast(clock, SEED), SimClimateReport(clock)
    strategy = WeatherHighStrategy(forecast)
    sample = Sample()
    for day in WEATHER_DAYS:
        for station in STATIONS:
            specs = markets.event(station, day)
            if not specs:
                continue
            plan = station_day(station, day)
            assert plan is not None
            for hours in WEATHER_HOURS:
                now = specs[0].open_time + timedelta(hours=hours)
                clock.set(now)
                instruments = tuple(venue.instrument(s.symbol) for s in specs)
                proposals = probed(strategy, venue, now, instruments)
                issue = plan.latest(now)
                assert issue is not None
                bias = recent_errors(forecast, climate, station, day)
                for spec, instrument in zip(specs, instruments, strict=True):
                    view = market_view(venue, spec.symbol)
                    if view is None or spec.symbol not in proposals:
                        continue
                    context = proposals[spec.symbol].context
                    # Everything the forecast says: a normal around the member mean, as wide as the members imply
                    # the issue's error to be (members are 0.6 of it, see SimForecast).
                    sd = max(0.5, context["member_sd"] / SimForecast.SPREAD)
                    informed = integer_outcome_probability(instrument, context["member_mean"], sd)
                    # ... and corrected by the forecast's recent errors, as a forecaster de-biases a model.
                    debiased = integer_outcome_probability(instrument, context["member_mean"] + bias, sd)
                    # The peek: the old sim's forecast, centred on the outcome with 80 % of the market's error.
                    noise = rng.normal(99, station, day, hours)
                    peek = integer_outcome_probability(instrument, plan.high + 0.8 * issue.error_sd * noise,
                                                       0.8 * issue.error_sd)
                    assert informed is not None and debiased is not None and peek is not None
                    sample.add((station, day), spec.symbol, spec.result == "yes", view[0],
                               {"weather_high (real)": proposals[spec.symbol].p_model,
                                "forecast-normal": clamp_probability(informed),
                                "forecast + recent errors": clamp_probability(debiased),
                                "peek (old sim)": clamp_probability(peek)}, view[1], view[2])
    return sample


def test_weather_sim_gives_no_free_edge(tmp_path: Path) -> None:
    sample = weather_sample(tmp_path)
    report("weather", sample)
    honest = ("weather_high (real)", "forecast-normal", "forecast + recent errors")
    assert_no_free_edge(sample, honest, "peek (old sim)")


# ------------------------------------------------------------------------------------------------------- BTC
BTC_START = datetime(2025, 12, 5, 15, 0, tzinfo=UTC)
BTC_WINDOWS = 640


def btc_sample(tmp_path: Path) -> Sample:
    markets = BtcMarkets(SEED)
    clock = SteppedClock(BTC_START)
    venue = make_venue(tmp_path, clock, markets)
    strategy = Btc15mStrategy()
    sample = Sample()
    for k in range(BTC_WINDOWS):
        close = BTC_START + (k + 1) * WINDOW
        spec = markets.spec(markets.markets(close - timedelta(seconds=1))[0].symbol)
        assert spec is not None and spec.close_time == close and spec.floor_strike is not None
        # One decision per window at a random instant (not on a minute boundary), 1-14 minutes in.
        offset = timedelta(seconds=60 + int(rng.unit(SEED, "t", k) * 13 * 60))
        now = spec.open_time + offset
        clock.set(now)
        instrument = venue.instrument(spec.symbol)
        proposals = probed(strategy, venue, now, (instrument,))
        view = market_view(venue, spec.symbol)
        if view is None or spec.symbol not in proposals:
            continue
        candles = venue.candles("BTCUSDT", 60, 61)
        closes = [float(c.close) for c in candles]
        returns = [math.log(closes[i + 1] / closes[i]) for i in range(len(closes) - 1)]
        mean = sum(returns) / len(returns)
        sigma = math.sqrt(sum((r - mean) ** 2 for r in returns) / (len(returns) - 1))
        minutes_left = (close - now).total_seconds() / 60
        strike = float(spec.floor_strike)
        # The market's own model on everything the candles say (the last close, the last hour's volatility).
        candle_model = normal_cdf(math.log(closes[-1] / strike) / (sigma * math.sqrt(minutes_left)))
        # The peek: the spot one minute ahead of the market.
        ahead = float(markets.price_at(now + timedelta(minutes=1)))
        peek = normal_cdf(math.log(ahead / strike) / (sigma * math.sqrt(max(minutes_left - 1, 0.05))))
        sample.add(k, spec.symbol, spec.result == "yes", view[0],
                   {"btc_15m (real)": proposals[spec.symbol].p_model,
                    "candle spot model": clamp_probability(candle_model),
                    "peek (+1 min)": clamp_probability(peek)}, view[1], view[2])
    return sample


def test_btc_sim_gives_no_free_edge(tmp_path: Path) -> None:
    sample = btc_sample(tmp_path)
    report("btc", sample)
    assert_no_free_edge(sample, ("btc_15m (real)", "candle spot model"), "peek (+1 min)")


# ------------------------------------------------------------------------------------------------- long-term
LT_SEEDS = range(1, 13)
LT_FRACTIONS = (0.3, 0.5, 0.7, 0.9)


class _NoModel:
    def predict(self, question: Any) -> Any:
        raise AssertionError("the trend feature needs no model")


def lt_sample(tmp_path: Path) -> Sample:
    sample = Sample()
    for seed in LT_SEEDS:
        markets = LongTermMarkets(seed)
        clock = SteppedClock(datetime(2025, 7, 30, tzinfo=UTC))
        venue = BinarySimVenue("kalshi_lt", clock, tmp_path / f"lt{seed}", seed, 1_000_000, (markets,))
        for event, info in markets._events.items():
            for fraction in LT_FRACTIONS:
                now = info.open_time + (info.close_time - info.open_time) * fraction
                for symbol in info.symbols:
                    spec = markets.spec(symbol)
                    assert spec is not None
                    if not spec.open_time <= now < spec.close_time:
                        continue
                    # The strategy's own trend feature, fed the market's mid every 30 sim minutes for 6 hours.
                    strategy = LongTermEnsembleStrategy(_NoModel(), ("macro", "weather"))
                    trend = 0.0
                    for back in range(12, -1, -1):
                        clock.set(now - timedelta(minutes=30 * back))
                        if clock.now() < spec.open_time:
                            continue
                        mid = venue.quote(symbol).mid
                        if mid is not None and 0 < mid < 1:
                            trend = strategy.trend(symbol, clock.now(), mid)
                    view = market_view(venue, symbol)
                    if view is None:
                        continue
                    step = markets.step_at(event, now)
                    ahead = markets.prices(event, min(info.steps, step + info.steps // 10))
                    peek = ahead[info.symbols.index(symbol)]
                    sample.add((seed, event), (seed, symbol), spec.result == "yes", view[0],
                               {"trend tilt 0.05": clamp_probability(view[0] + 0.05 * trend),
                                "trend tilt 0.10": clamp_probability(view[0] + 0.10 * trend),
                                "peek (+10 % of life)": clamp_probability(peek)}, view[1], view[2])
    return sample


def test_longterm_sim_gives_no_free_edge(tmp_path: Path) -> None:
    sample = lt_sample(tmp_path)
    report("long-term", sample)
    assert_no_free_edge(sample, ("trend tilt 0.05", "trend tilt 0.10"), "peek (+10 % of life)")


# ------------------------------------------------------------------------------ counterfactual invariance
def _visible(venue: BinarySimVenue, forecast: Callable[[], object], now: datetime) -> list[object]:
    """Everything a strategy can read at ``now``: listed instruments (with results only once settled), books,
    the forecast and climate reports, candles."""
    out: list[object] = [forecast()]
    for instrument in venue.instruments(status=None):
        out.append(instrument)
        out.append(venue.orderbook(instrument.symbol))
    return out


@pytest.mark.parametrize("station", sorted(STATIONS))
def test_weather_values_a_strategy_reads_do_not_depend_on_the_outcome(
        tmp_path: Path, station: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.venues.sim import data, weather_forecast

    day = date(2026, 1, 20)
    close = weather_forecast.event_times(STATIONS[station], day)[1]
    times = [close - timedelta(hours=h) for h in range(0, 40, 3)]

    def observe() -> tuple[list[list[object]], int]:
        weather_forecast.clear_caches()
        clock = SteppedClock(times[-1])
        markets = WeatherMarkets(SEED)
        venue = make_venue(tmp_path, clock, markets)
        forecast, report_ = SimForecast(clock, SEED), SimClimateReport(clock)
        days = [day + timedelta(days=k) for k in range(-3, 3)]

        def forecasts_and_reports() -> list[object]:
            out: list[object] = []
            for s in STATIONS:
                for d in days:
                    plan = station_day(s, d)
                    issued = plan is not None and plan.latest(clock.now()) is not None
                    out.append((forecast.daily_high_members(s, d) if issued else None, report_.daily_high(s, d)))
            return out

        seen = []
        for now in times:
            clock.set(now - timedelta(seconds=1))
            seen.append(_visible(venue, forecasts_and_reports, now))
        plan = station_day(station, day)
        assert plan is not None
        return seen, plan.high

    before, high = observe()
    # The counterfactual: the real high this station-day settles on is 6 °F higher.
    real = dict(data.knyc_cli_highs())
    borrowed = weather_forecast.replayed_nyc_day(day + weather_forecast.BORROWED.get(station, (timedelta(0), 1.0))[0])
    real[borrowed] += 6
    monkeypatch.setattr(data, "knyc_cli_highs", lambda: real)
    after, changed = observe()
    weather_forecast.clear_caches()
    assert changed != high  # the outcome did change
    assert after == before  # and nothing a strategy could read before the close did


def test_btc_values_a_strategy_reads_do_not_depend_on_later_candles(tmp_path: Path) -> None:
    from shared.venues.sim.btc import data_time
    from shared.venues.sim.data import Bar

    now = BTC_START + timedelta(minutes=37, seconds=23)

    def observe(markets: BtcMarkets) -> tuple[list[object], list[str]]:
        clock = SteppedClock(now)
        venue = make_venue(tmp_path, clock, markets)
        seen = _visible(venue, lambda: [venue.candles("BTCUSDT", g, 30) for g in (60, 300, 900)], now)
        results = [s.result for s in (markets.spec(i.symbol) for i in venue.instruments("open")) if s is not None]
        return seen, results

    honest = BtcMarkets(SEED)
    before, results = observe(honest)
    # The counterfactual: every bar after the current minute moves 2 %, the way that flips the open market's result.
    factor = Decimal("0.98") if results[0] == "yes" else Decimal("1.02")
    cut = data_time(now.replace(second=0)) + timedelta(minutes=1)
    shifted = BtcMarkets(SEED)
    shifted._bars = tuple(b if b.start < cut else Bar(b.start, b.seconds, b.open * factor, b.high * factor,
                                                       b.low * factor, b.close * factor) for b in honest._bars)
    after, changed = observe(shifted)
    assert changed != results
    assert after == before


def test_longterm_values_a_strategy_reads_do_not_depend_on_later_moves(tmp_path: Path) -> None:
    event = "KXFEDDECISION-25OCT"

    class Shaken(LongTermMarkets):
        """The same markets with every latent move after step ``cut`` of ``event`` replaced."""

        cut = 60

        def _shock(self, ev: str, symbol: str, step: int) -> float:
            if ev == event and step >= self.cut:
                return rng.normal(12345, symbol, step) / math.sqrt(self._events[ev].steps)
            return super()._shock(ev, symbol, step)

    honest, shaken = LongTermMarkets(SEED), Shaken(SEED)
    info = honest._events[event]
    assert [honest.spec(s).result for s in info.symbols] != [  # type: ignore[union-attr]
        shaken.spec(s).result for s in info.symbols]  # type: ignore[union-attr]
    last_seen = info.open_time + (info.close_time - info.open_time) * (Shaken.cut / info.steps) - timedelta(seconds=1)
    for markets, name in ((honest, "a"), (shaken, "b")):
        clock = SteppedClock(last_seen)
        venue = BinarySimVenue("kalshi_lt", clock, tmp_path / name, SEED, 1_000_000, (markets,))
        seen = []
        for back in range(0, 48):
            clock.set(last_seen - timedelta(minutes=15 * back))
            seen.append(_visible(venue, lambda: None, clock.now()))
        if name == "a":
            before = seen
    assert seen == before
