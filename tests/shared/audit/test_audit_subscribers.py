"""Per-figure suppression in the audit's subscribers section: each figure is withheld unless the subscribers it
aggregates reach the minimum, and the default is the dashboard's."""

from __future__ import annotations

import argparse

from dashboard.config import DashboardSettings
from shared.audit.cli import build_parser
from shared.audit.render import render_subscribers
from shared.audit.subscribers import DEFAULT_MIN_COHORT, build_subscribers, shown

from .conftest import make_callback, make_signal


def test_three_acking_and_one_resolving_shows_the_acks_and_withholds_the_pnl() -> None:
    signal = make_signal("S1", "kalshi_st", p=0.6, limit="0.50")
    callbacks = [make_callback(sub, "S1", "ack", {}) for sub in ("A", "B", "C")]
    callbacks.append(make_callback("A", "S1", "executed", {"fill_price": "0.51", "quantity": 10, "fees_cents": 2}))
    callbacks.append(make_callback("A", "S1", "resolved", {"pnl_cents": 490, "resolved_at": "2026-11-02T00:00:00Z"}))
    section = build_subscribers(callbacks, {"S1": signal}, min_cohort=3)
    cohort = {c.cohort: c for c in section.cohorts}["kalshi_st"]
    assert not cohort.suppressed and (cohort.subscribers, cohort.acks) == (3, 3)
    # Only A executed and resolved: every figure built from those callbacks would be A's own.
    assert (cohort.executions, cohort.fees_cents, cohort.slippage_n, cohort.slippage_median_bps) == (None,) * 4
    assert (cohort.resolutions, cohort.resolved_pnl_cents, cohort.wins, cohort.win_rate) == (None,) * 4
    text = render_subscribers(section)
    assert "490" not in text and "None" not in text
    assert "kalshi_st" in text and "fewer than 3 subscribers" in text


def test_figures_appear_once_enough_subscribers_stand_behind_them() -> None:
    signal = make_signal("S1", "fx", p=0.6, limit="1.0")
    callbacks = []
    for i, sub in enumerate(("A", "B", "C")):
        callbacks.append(make_callback(sub, "S1", "executed", {"fill_price": "1.01", "quantity": 1, "fees_cents": 1}))
        callbacks.append(make_callback(sub, "S1", "resolved", {"pnl_cents": 100 * (i - 1),
                                                               "resolved_at": "2026-11-02T00:00:00Z"}))
    cohort = {c.cohort: c for c in build_subscribers(callbacks, {"S1": signal}, min_cohort=3).cohorts}["fx"]
    assert (cohort.executions, cohort.fees_cents, cohort.resolutions, cohort.resolved_pnl_cents) == (3, 3, 3, 0)
    assert cohort.acks is None  # nobody acked: a 0 from no one is still withheld rather than shown as a figure
    assert cohort.slippage_n == 3 and cohort.wins == 1


def test_one_default_for_the_audit_and_the_dashboard() -> None:
    parser = argparse.ArgumentParser()
    build_parser(parser)
    assert parser.parse_args(["subscribers", "--since", "2026-11-01"]).min_cohort == DEFAULT_MIN_COHORT
    assert DashboardSettings().min_cohort == DEFAULT_MIN_COHORT
    assert shown(7, DEFAULT_MIN_COHORT, DEFAULT_MIN_COHORT) == 7
    assert shown(7, DEFAULT_MIN_COHORT - 1, DEFAULT_MIN_COHORT) is None


def test_the_total_is_withheld_when_subtracting_the_shown_surfaces_would_reveal_a_small_group() -> None:
    signals = {"F": make_signal("F", "fx", p=0.6, limit="1.0"), "K": make_signal("K", "kalshi_st", p=0.6)}
    resolved = {"resolved_at": "2026-11-02T00:00:00Z"}
    callbacks = []
    for i, sub in enumerate(("A", "B", "C")):  # three resolve on fx: shown
        callbacks.append(make_callback(sub, "F", "resolved", {**resolved, "pnl_cents": 10 * (i + 1)}))
    callbacks.append(make_callback("D", "K", "resolved", {**resolved, "pnl_cents": 777}))  # one on kalshi_st
    for sub in ("A", "B", "C", "D"):
        callbacks.append(make_callback(sub, "F", "ack", {}))
    cohorts = {c.cohort: c for c in build_subscribers(callbacks, signals, min_cohort=3).cohorts}
    assert cohorts["fx"].resolved_pnl_cents == 60 and cohorts["kalshi_st"].resolved_pnl_cents is None
    # Total 837 minus fx's 60 would be D's 777: the total's resolution figures are withheld as well.
    total = cohorts["*"]
    assert (total.resolutions, total.resolved_pnl_cents, total.wins, total.win_rate) == (None,) * 4
    assert total.acks == 4 and total.subscribers == 4  # figures with no small remainder are still shown


def test_a_remainder_of_enough_subscribers_leaves_the_total_shown() -> None:
    signals = {"F": make_signal("F", "fx", p=0.6, limit="1.0"), "K": make_signal("K", "kalshi_st", p=0.6),
               "L": make_signal("L", "kalshi_lt", p=0.6)}
    resolved = {"resolved_at": "2026-11-02T00:00:00Z", "pnl_cents": 5}
    callbacks = [make_callback(sub, "F", "resolved", resolved) for sub in ("A", "B", "C")]
    callbacks += [make_callback(sub, "K", "resolved", resolved) for sub in ("D", "E")]
    callbacks += [make_callback(sub, "L", "resolved", resolved) for sub in ("G", "H")]
    cohorts = {c.cohort: c for c in build_subscribers(callbacks, signals, min_cohort=3).cohorts}
    assert cohorts["kalshi_st"].resolved_pnl_cents is None and cohorts["kalshi_lt"].resolved_pnl_cents is None
    assert cohorts["*"].resolved_pnl_cents == 35  # the remainder is four subscribers' together
