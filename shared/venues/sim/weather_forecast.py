"""The sim's one weather forecast process: what a real forecaster knew, issue by issue, and the day's outcome.

Every sim station-day replays a real NYC day of the forecast archive (data/weather/SOURCE.txt): the as-issued
Open-Meteo forecasts of that day's maximum (a morning and an evening issue a day, leads 0-3) and the official CLI
high that KXHIGHNY settles on.

- KNYC replays the same calendar day (sim 2025-12-10 is real 2025-12-10; outside the archive, days loop through
  2024 and 2025): the forecasts are the real as-issued ones and the outcome is the real CLI high. No synthetic error.
- KMDW, KAUS and KLAX have no archived forecasts. Each borrows a real NYC day one to three weeks later (same season):
  its forecast revisions and final error, scaled to the station's error climate (×1.2 inland, ×0.8 at LAX), are
  laid on an anchor, the station's real high on the same calendar day of 2018/2019. The listing-time forecast is
  the anchor, later issues move with the borrowed real revisions, and the outcome is the anchor plus the scaled real
  error (a sim outcome, labelled so). The borrowed day settles in the sim after the station's market has closed.

An issue counts as known one hour after its file-name hour (SOURCE.txt's no-lookahead rule). At any instant the
market prices from the latest known issue with the empirical distribution of (outcome − forecast) for that issue
kind (morning/evening) and lead, over archived days of other years within 45 days of the same day of the year.
Leaving out the replayed day's own year keeps this day's error, and the errors of the days trading beside it, out
of every market's error model: no price, today's or a neighbour's, carries an outcome not yet published.

Forecast errors persist (the deseasonalised errors of consecutive days correlate by 0.2-0.3), and the last days'
errors are public: a strategy can read past forecasts and climate reports. So the market also conditions on them,
as a forecaster's bias correction would: the error sample is regression-adjusted to the mean error of the
final forecast over the last five days published at that instant (a residual bootstrap: each sample day's error
minus beta times its own recent mean, plus beta times today's).

The strategy's forecast (``SimForecast``) comes from the same latest issue, never a fresher one. The outcome
therefore reaches nothing a strategy can read except through information the market already prices.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache

from shared.venues.kalshi.tickers import EASTERN
from shared.venues.sim import data, rng

FIRST_SIM_YEAR = 2025
SOURCE_YEARS = (2018, 2019)
ARCHIVE_FIRST = date(2023, 10, 4)  # the first target day with issues at every lead 0-3
ARCHIVE_LAST = date(2026, 8, 22)  # the last with both a CLI high and an evening issue
LOOP_YEARS = (2024, 2025)  # even sim years outside the archive replay 2024, odd ones 2025
KNOWN_AFTER = timedelta(hours=1)
SEASON_DAYS = 45
OTHER_YEAR = timedelta(days=2 * SEASON_DAYS)  # a same-season day this far away lies in another year
BANDWIDTH_F = 0.6  # kernel on the empirical error sample: the sample is ~180 days, whole-degree outcomes
RECENT_DAYS = 5  # the published days whose forecast errors the market learns from
LAGS = (1, 2)  # days back to the latest published outcome while a market trades (2 at listing, 1 from 01:00 LST)


@dataclass(frozen=True, slots=True)
class Station:
    icao: str
    series: str
    city: str
    std_offset_h: int  # local standard time minus UTC (the climate day is in standard time all year)


STATIONS = {
    "KNYC": Station("KNYC", "KXHIGHNY", "NYC (Central Park)", -5),
    "KMDW": Station("KMDW", "KXHIGHCHI", "Chicago (Midway)", -6),
    "KAUS": Station("KAUS", "KXHIGHAUS", "Austin", -6),
    "KLAX": Station("KLAX", "KXHIGHLAX", "Los Angeles (LAX)", -8),
}
NYC = "KNYC"
# Stations without archived forecasts: (how much later the borrowed NYC day is, error scale). Scales from
# references/data-candidates.md §2 (×1.2 cool-season/inland, ×0.8 LAX).
BORROWED = {"KMDW": (timedelta(days=7), 1.2), "KAUS": (timedelta(days=14), 1.2), "KLAX": (timedelta(days=21), 0.8)}


def _local(station: Station, day: date, at: time) -> datetime:
    return datetime.combine(day, at, UTC) - timedelta(hours=station.std_offset_h)


def event_times(station: Station, day: date) -> tuple[datetime, datetime, datetime]:
    """(listing, close, settlement) of the event for ``day``: 10:00 LST the day before, 23:59 LST, an hour later."""
    opens = _local(station, day - timedelta(days=1), time(10, 0))
    closes = _local(station, day, time(23, 59))
    return opens, closes, closes + timedelta(hours=1)


def source_day(day: date) -> date | None:
    """The real day whose station high anchors sim ``day`` off NYC: the same calendar day of 2018 for odd offsets
    from 2025, of 2019 for even ones; None before 2025 and for Feb 29."""
    if day.year < FIRST_SIM_YEAR:
        return None
    try:
        return day.replace(year=SOURCE_YEARS[(day.year - FIRST_SIM_YEAR) % len(SOURCE_YEARS)])
    except ValueError:
        return None


def replayed_nyc_day(day: date) -> date:
    """The archived NYC day replayed on sim ``day``: the day itself inside the archive, else its calendar day of
    2024 (even years) or 2025 (odd years); Feb 29 always 2024."""
    if ARCHIVE_FIRST <= day <= ARCHIVE_LAST:
        return day
    try:
        return day.replace(year=LOOP_YEARS[day.year % 2])
    except ValueError:
        return day.replace(year=LOOP_YEARS[0])


@dataclass(frozen=True, slots=True)
class Issue:
    """One forecast issue for a station-day, as the sim publishes it."""

    known_at: datetime  # sim time from which market and strategy may use it
    kind: str  # "am" or "pm" (the archive's morning and evening issues)
    lead_days: int
    forecast_f: float
    residuals: tuple[float, ...]  # this issue's seasonal error sample: outcome − forecast, °F, station-scaled
    conditional: tuple[tuple[float, ...], ...]  # the sample given the recent errors published at lag 1, 2 (LAGS)

    @property
    def error_sd(self) -> float:
        """Standard deviation of the seasonal error sample (what this issue's forecast is worth on its own)."""
        mean = math.fsum(self.residuals) / len(self.residuals)
        return math.sqrt(math.fsum((r - mean) ** 2 for r in self.residuals) / (len(self.residuals) - 1))

    def cdf(self, edge: float, lag: int) -> float:
        """P(outcome < edge) from this issue and the recent errors published ``lag`` days back: the forecast plus
        the kernel-smoothed conditional error sample."""
        sample = self.conditional[LAGS.index(lag)]
        return math.fsum(rng.norm_cdf((edge - self.forecast_f - r) / BANDWIDTH_F) for r in sample) / len(sample)

    def bucket_probability(self, low: int | None, high: int | None, lag: int) -> float:
        """P(low <= whole-degree outcome <= high) (None = open end)."""
        upper = 1.0 if high is None else self.cdf(high + 0.5, lag)
        lower = 0.0 if low is None else self.cdf(low - 0.5, lag)
        return min(1.0, max(0.0, upper - lower))


@dataclass(frozen=True, slots=True)
class StationDay:
    """Everything the sim knows about one station's day: its forecast issues in publication order, and the outcome."""

    station: str
    day: date
    issues: tuple[Issue, ...]
    listing_issue: Issue  # the latest issue known when the event lists (it places the brackets)
    high: int  # the outcome, whole °F
    outcome: str  # "real" (the CLI high itself) or "sim" (anchor + borrowed real error)

    def latest(self, now: datetime) -> Issue | None:
        """The freshest issue known at ``now`` (None before the first)."""
        i = bisect.bisect_right([issue.known_at for issue in self.issues], now) - 1
        return self.issues[i] if i >= 0 else None

    def lag(self, now: datetime) -> int:
        """Days back to this station's latest outcome published at ``now`` (1 or 2 while the market trades)."""
        settled = event_times(STATIONS[self.station], self.day - timedelta(days=1))[2]
        return LAGS[0] if now >= settled else LAGS[1]

    def probability(self, now: datetime, low: int | None, high: int | None) -> float:
        """The market's P(low <= outcome <= high) at ``now``: the freshest issue (the listing issue before any) and
        the recent errors published by then."""
        issue = self.latest(now) or self.listing_issue
        return issue.bucket_probability(low, high, self.lag(now))


def _kind(issued_at: datetime) -> str:
    return "am" if issued_at.astimezone(EASTERN).hour < 12 else "pm"


@cache
def _errors(kind: str, lead: int) -> tuple[tuple[date, float], ...]:
    """(target day, CLI high − forecast) for every archived issue of this kind and lead."""
    highs = data.knyc_cli_highs()
    out = []
    for target, issues in data.knyc_forecasts().items():
        for issue in issues:
            if issue.lead_days == lead and _kind(issue.issued_at) == kind and target in highs:
                out.append((target, highs[target] - issue.forecast_f))
    return tuple(out)


def _season_gap(a: date, b: date) -> int:
    gap = abs(a.timetuple().tm_yday - b.timetuple().tm_yday)
    return min(gap, 365 - gap)


@lru_cache(maxsize=8192)
def error_sample(kind: str, lead: int, around: date) -> tuple[float, ...]:
    """The errors of this issue kind and lead over archived days within 45 days of ``around``'s day of the year, in
    other years than ``around``'s (more than ``OTHER_YEAR`` away)."""
    return tuple(e for d, e in _errors(kind, lead)
                 if abs(d - around) > OTHER_YEAR and _season_gap(d, around) <= SEASON_DAYS)


@cache
def _final_errors() -> dict[date, float]:
    """Per archived day, the final issue's (evening, lead 0) error: what the next days can learn from it."""
    return dict(_errors("pm", 0))


def recent_error(day: date, lag: int) -> float | None:
    """Mean final-issue error over the RECENT_DAYS archived days ending ``lag`` days before ``day``.

    Raw, not deseasonalised: a seasonal mean would mix in other years' errors, this day's own among them for the
    days a year away; the regression below fits on same-season days, so its intercept absorbs the season."""
    errors = _final_errors()
    found = [errors[d] for k in range(lag, lag + RECENT_DAYS) if (d := day - timedelta(days=k)) in errors]
    return math.fsum(found) / len(found) if found else None


@lru_cache(maxsize=8192)
def conditional_sample(kind: str, lead: int, around: date, lag: int) -> tuple[float, ...]:
    """``error_sample`` regression-adjusted to the recent errors published ``lag`` days before ``around``:
    r_d − beta·(x_d − x_now), x the recent mean error, beta fitted on the same sample days."""
    pairs = [(e, x) for d, e in _errors(kind, lead)
             if abs(d - around) > OTHER_YEAR and _season_gap(d, around) <= SEASON_DAYS
             and (x := recent_error(d, lag)) is not None]
    now = recent_error(around, lag)
    if len(pairs) < 30 or now is None:
        return error_sample(kind, lead, around)
    mean_e = math.fsum(e for e, _ in pairs) / len(pairs)
    mean_x = math.fsum(x for _, x in pairs) / len(pairs)
    var_x = math.fsum((x - mean_x) ** 2 for _, x in pairs)
    beta = math.fsum((e - mean_e) * (x - mean_x) for e, x in pairs) / var_x if var_x > 0 else 0.0
    return tuple(e - beta * (x - now) for e, x in pairs)


def _round_half_up(value: float) -> int:
    return math.floor(value + 0.5)


@lru_cache(maxsize=4096)
def station_day(station: str, day: date) -> StationDay | None:
    """The forecast process and outcome of ``station`` on sim ``day``; None without data (no event that day)."""
    info = STATIONS[station]
    if station == NYC:
        borrowed, scale = replayed_nyc_day(day), 1.0
    else:
        later, scale = BORROWED[station]
        borrowed = replayed_nyc_day(day + later)
    real_issues = data.knyc_forecasts().get(borrowed, ())
    real_high = data.knyc_cli_highs().get(borrowed)
    if not real_issues or real_high is None:
        return None
    # Sim time of each real issue: the same lead and local hour before the sim day, in the station's time zone.
    shift = (day - borrowed) + timedelta(hours=STATIONS[NYC].std_offset_h - info.std_offset_h)
    timed = [(issue.issued_at + KNOWN_AFTER + shift, issue) for issue in real_issues]
    opens = event_times(info, day)[0]
    known = [issue for at, issue in timed if at <= opens]
    if not known:
        return None
    anchor = known[-1]
    if station == NYC:
        base, outcome = anchor.forecast_f, "real"
    else:
        source = source_day(day)
        station_high = None if source is None else data.daily_highs(station).get(source)
        if station_high is None:
            return None
        base, outcome = float(station_high), "sim"
    issues = []
    for at, issue in timed:
        sample = error_sample(_kind(issue.issued_at), issue.lead_days, borrowed)
        if len(sample) < 30:
            return None
        conditional = tuple(tuple(scale * e for e in conditional_sample(_kind(issue.issued_at), issue.lead_days,
                                                                          borrowed, lag)) for lag in LAGS)
        issues.append(Issue(at, _kind(issue.issued_at), issue.lead_days,
                            round(base + scale * (issue.forecast_f - anchor.forecast_f), 1),
                            tuple(scale * e for e in sample), conditional))
    listing = issues[len(known) - 1]
    high = _round_half_up(base + scale * (real_high - anchor.forecast_f))
    return StationDay(station, day, tuple(issues), listing, high, outcome)


def clear_caches() -> None:
    """Forget every derived value (tests that swap the vendored data call this)."""
    for cached in (_errors, error_sample, _final_errors, conditional_sample, station_day):
        cached.cache_clear()
