"""A denial that repeats the last decision for its market, side and sub-strategy is a count, not a new line.

Unit tests of :class:`surfaces.decision_log.DecisionWriter`, then the paper fleet replayed twice (folding off and
on, seed 7): the same trades, the same evaluations counted by the audit's gate funnel and the dashboard's gate
counts, in a fraction of the lines.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dashboard.operator_state import SurfaceView
from shared.audit.gates import build_gates
from shared.bus import DiskFullError, JsonlLog
from shared.records import Decision, GateOutcome, parse_record
from shared.risk.overrides import OverrideSet
from surfaces.decision_log import ACCOUNT_REASONS, DecisionWriter
from surfaces.replay import FleetReplay

T0 = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def decision(at: int, *, instrument: str = "KXHIGHNY-T40", side: str = "yes", stopped_by: str | None = "min_edge",
             reason: str | None = "min_edge", edge: float = 0.01, sub: str = "weather_high") -> Decision:
    accepted = stopped_by is None
    gates = (GateOutcome(gate="stop", passed=True),
             GateOutcome(gate=stopped_by or "min_edge", passed=accepted, reason_code=reason))
    return Decision(decided_at=T0 + timedelta(seconds=at), surface="kalshi_st", sub_strategy=sub,
                    instrument=instrument, side=side, candidate_id=f"c{at}", accepted=accepted,  # type: ignore[arg-type]
                    stopped_by=stopped_by, reason_code=reason, gates=gates, edge=edge)


def lines(path: Path) -> list[Decision]:
    return [parse_record(Decision, e.data, e.ts) for e in JsonlLog(path).read_all()]


@pytest.fixture
def log(tmp_path: Path) -> JsonlLog:
    return JsonlLog(tmp_path / "decisions.jsonl")


def test_a_streak_of_denials_is_its_first_line_and_one_summary(log: JsonlLog) -> None:
    writer = DecisionWriter(log, summary_seconds=300)
    written = [writer.write(decision(i, edge=0.01 * i)) for i in range(1, 6)]
    assert written == [True, False, False, False, False]
    writer.write(decision(6, stopped_by=None, reason=None, edge=0.05))  # accepted: always written, ends the streak
    got = lines(log.path)
    assert [(d.accepted, d.repeats) for d in got] == [(False, 1), (False, 4), (True, 1)]
    summary = got[1]
    assert summary.first_at == T0 + timedelta(seconds=2) and summary.last_at == T0 + timedelta(seconds=5)
    assert summary.decided_at == summary.last_at and summary.candidate_id == "c5"  # the streak's latest record
    assert summary.context["repeat_edge_range"] == [pytest.approx(0.02), pytest.approx(0.05)]
    assert sum(d.repeats for d in got) == 6  # every evaluation is counted
    assert (writer.written, writer.folded) == (3, 4)


def test_a_different_gate_or_reason_ends_the_streak(log: JsonlLog) -> None:
    writer = DecisionWriter(log, summary_seconds=300)
    for i, (gate, reason) in enumerate([("min_edge", "min_edge")] * 3 + [("dedup", "market_open")] * 2
                                       + [("dedup", "reentry_cooldown"), ("min_edge", "min_edge")]):
        writer.write(decision(i, stopped_by=gate, reason=reason))
    got = [(d.stopped_by, d.reason_code, d.repeats) for d in lines(log.path)]
    assert got == [("min_edge", "min_edge", 1), ("min_edge", "min_edge", 2), ("dedup", "market_open", 1),
                   ("dedup", "market_open", 1), ("dedup", "reentry_cooldown", 1), ("min_edge", "min_edge", 1)]


def test_streaks_are_per_instrument_side_and_sub_strategy(log: JsonlLog) -> None:
    writer = DecisionWriter(log, summary_seconds=300)
    for i in range(3):
        writer.write(decision(i))
        writer.write(decision(i, side="no"))
        writer.write(decision(i, instrument="KXHIGHNY-T41"))
        writer.write(decision(i, sub="other"))
    assert len(lines(log.path)) == 4 and writer.pending_repeats == 8
    writer.flush()  # shutdown
    got = lines(log.path)
    assert len(got) == 8 and sum(d.repeats for d in got) == 12 and writer.pending_repeats == 0


def test_a_long_streak_is_summarised_at_least_every_period(log: JsonlLog) -> None:
    writer = DecisionWriter(log, summary_seconds=60)
    for i in range(0, 200, 10):  # a denial every 10 s for 200 s
        writer.write(decision(i))
        writer.flush_due(T0 + timedelta(seconds=i))
    got = lines(log.path)
    assert [d.repeats for d in got] == [1, 7, 7]  # first line, then a summary once the oldest repeat is 60 s old
    assert all(d.last_at is not None and d.first_at is not None and (d.last_at - d.first_at).total_seconds() <= 60
               for d in got[1:])
    writer.flush()
    assert sum(d.repeats for d in lines(log.path)) == 20


def test_folding_off_writes_every_decision(log: JsonlLog) -> None:
    writer = DecisionWriter(log, summary_seconds=0)
    for i in range(5):
        writer.write(decision(i))
    assert [d.repeats for d in lines(log.path)] == [1] * 5


def test_a_refused_write_keeps_the_count(log: JsonlLog, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    writer = DecisionWriter(log, summary_seconds=300)
    for i in range(4):
        writer.write(decision(i))

    def full(records: Any) -> list[str]:
        raise DiskFullError(errno.ENOSPC, log.path)

    monkeypatch.setattr(log, "append_many", full)
    with pytest.raises(DiskFullError):
        writer.write(decision(10, stopped_by=None, reason=None))
    with pytest.raises(DiskFullError):
        writer.flush()
    assert writer.pending_repeats == 3
    monkeypatch.undo()
    writer.write(decision(11, stopped_by=None, reason=None))
    assert [(d.accepted, d.repeats) for d in lines(log.path)] == [(False, 1), (False, 3), (True, 1)]


def test_old_lines_without_the_fields_read_as_one() -> None:
    data = json.loads(decision(1).model_dump_json())
    for key in ("repeats", "first_at", "last_at"):
        data.pop(key)
    assert parse_record(Decision, data, "2026-12-05T12:00:01.000000Z").repeats == 1


# ---------------------------------------------------------------------------------------------- the fleet
TICKS = 150


def replay(log_dir: Path, summary_seconds: float) -> None:
    overrides = {name: {"decision_repeat_summary_seconds": summary_seconds}
                 for name in ("kalshi_st", "kalshi_lt", "fx", "stocks")}
    fleet = FleetReplay(log_dir, seed=7, overrides=overrides)
    fleet.run(TICKS)
    fleet.close()


def read_decisions(log_dir: Path, surface: str) -> list[Decision]:
    path = log_dir / surface / "decisions.jsonl"
    return lines(path) if path.exists() else []


def trades(log_dir: Path, surface: str) -> list[tuple[str, str]]:
    path = log_dir / surface / "trades.jsonl"
    if not path.exists():
        return []
    return [(e.data["id"], e.data["status"]) for e in JsonlLog(path).read_all()]


@pytest.fixture(scope="module")
def fleets(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    off, on = tmp_path_factory.mktemp("off"), tmp_path_factory.mktemp("on")
    replay(off, 0)
    replay(on, 300)
    return off, on


@pytest.mark.parametrize("surface", ["kalshi_st", "fx", "stocks"])
def test_the_fleet_trades_the_same_and_counts_every_evaluation(fleets: tuple[Path, Path], surface: str) -> None:
    off, on = fleets
    assert trades(on, surface) == trades(off, surface)  # folding changes what is written, never what is done
    every, folded = read_decisions(off, surface), read_decisions(on, surface)
    assert all(d.repeats == 1 for d in every)
    assert sum(d.repeats for d in folded) == len(every)

    def tally(ds: list[Decision]) -> Counter[tuple[str, str, str, str | None, str | None]]:
        out: Counter[tuple[str, str, str, str | None, str | None]] = Counter()
        for d in ds:
            # An account-wide denial (a breaker, the open-positions cap) folds across markets: counted per
            # sub-strategy; every other one per market and side.
            market = ("*", "*") if d.reason_code in ACCOUNT_REASONS else (d.instrument, d.side)
            out[(*market, d.sub_strategy, d.stopped_by, d.reason_code)] += d.repeats
        return out

    assert tally(folded) == tally(every)
    assert [d.candidate_id for d in folded if d.accepted] == [d.candidate_id for d in every if d.accepted]
    # The audit's gate funnel and the dashboard's gate counts read the same totals from both logs.
    assert build_gates(folded) == build_gates(every)
    views = []
    for log_dir in (off, on):
        view = SurfaceView(surface, OverrideSet(_settings(log_dir, surface)))
        view.apply_decisions(JsonlLog(log_dir / surface / "decisions.jsonl").read_all())
        views.append(view.gate_counts)
    assert views[0] == views[1]


def _settings(log_dir: Path, surface: str) -> Any:
    from surfaces.replay import replay_settings

    return replay_settings(surface, log_dir, 7, {})


def test_the_fleet_writes_far_fewer_decision_lines(fleets: tuple[Path, Path]) -> None:
    off, on = fleets
    before = sum((off / s / "decisions.jsonl").stat().st_size for s in ("kalshi_st", "fx", "stocks"))
    after = sum((on / s / "decisions.jsonl").stat().st_size for s in ("kalshi_st", "fx", "stocks"))
    assert after * 3 < before, (before, after)


def test_an_account_wide_denial_folds_across_markets(log: JsonlLog) -> None:
    writer = DecisionWriter(log, summary_seconds=300)
    for i, market in enumerate(["A", "B", "C", "A", "D"]):
        writer.write(decision(i, instrument=market, stopped_by="risk_validation", reason="daily_loss_breaker"))
    writer.write(decision(5, instrument="E"))  # a market's own denial (an earlier gate): the account streak goes on
    writer.write(decision(6, instrument="F", stopped_by="risk_validation", reason="daily_loss_breaker"))
    assert writer.pending_repeats == 5
    writer.write(decision(7, instrument="G", stopped_by=None, reason=None))  # accepted: the account let it through
    got = lines(log.path)
    assert [(d.instrument, d.reason_code, d.repeats) for d in got] == [
        ("A", "daily_loss_breaker", 1), ("E", "min_edge", 1), ("F", "daily_loss_breaker", 5), ("G", None, 1)]
    assert got[2].context["repeat_instruments"] == 5  # B, C, A, D, F (A was the first, written line)
    assert got[2].first_at == T0 + timedelta(seconds=1) and got[2].last_at == T0 + timedelta(seconds=6)


def test_a_summary_leaves_the_bulky_context_to_the_first_line(log: JsonlLog) -> None:
    writer = DecisionWriter(log, summary_seconds=300)
    for i in range(3):
        d = decision(i)
        writer.write(d.model_copy(update={"context": {"price": "0.41", "model_answers": [{"p": 0.5}] * 20,
                                                      "sub_strategy_context": {"f": i}}}))
    writer.flush()
    first, summary = lines(log.path)
    assert "model_answers" in first.context and "model_answers" not in summary.context
    assert "sub_strategy_context" not in summary.context and summary.context["price"] == "0.41"


def test_a_single_repeat_is_written_whole(log: JsonlLog) -> None:
    writer = DecisionWriter(log, summary_seconds=300)
    for i in range(2):
        writer.write(decision(i).model_copy(update={"context": {"model_answers": [{"p": 0.5}]}}))
    writer.flush()
    _first, second = lines(log.path)
    assert second.repeats == 1 and second.first_at is None and second.candidate_id == "c1"
    assert second.context["model_answers"] == [{"p": 0.5}]
