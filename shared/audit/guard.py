"""The live-start gate: a surface may trade real money only on evidence from real data that it beats the market.

A surface loop calls :func:`live_start_check` at start (it adds the mode and the operator's
``--allow-uncalibrated`` override to :func:`calibration_gate`). The evidence is the surface's resolved trades from
*real* data only (real-data paper or live; shared/audit/provenance.py): a sim's market knows at least as much as
any strategy, so sim results say nothing about skill and never count, however good they look. The surface passes
iff, over at least ``min_samples`` such trades, all of these hold:

- the realized edge's lower 95 % bound is above zero (mean of pnl per $1 of payoff range, shared/audit/skill.py);
- skill against the market is positive (``1 − Brier(p_model) / Brier(p_market)`` > 0);
- the expected calibration error is within ``tolerance``.

Every failing reason is named in the message with its figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from shared.audit.calibration import DEFAULT_MIN_SAMPLES, DEFAULT_TOLERANCE, assess
from shared.audit.load import Loader
from shared.audit.provenance import REAL_KINDS
from shared.audit.skill import Scored, SkillStats, points, real_evidence, score_all
from shared.audit.window import Window

OVERRIDE_FLAG = "--allow-uncalibrated"
Reason = Literal["too_few_real_samples", "realized_edge_not_positive", "skill_not_positive", "ece_too_high"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """The gate's answer: ``reasons`` is empty iff the surface may go live."""

    surface: str
    reasons: tuple[Reason, ...]
    message: str
    evidence: SkillStats | None
    ece: float | None

    @property
    def ok(self) -> bool:
        return not self.reasons


def judge(scored: list[Scored], surface: str, tolerance: float = DEFAULT_TOLERANCE,
          min_samples: int = DEFAULT_MIN_SAMPLES, notes: tuple[str, ...] = ()) -> Verdict:
    """The verdict over already scored trades (pure: the loading is :func:`calibration_gate`'s)."""
    evidence, sim = real_evidence(scored, surface)
    tail = f" ({'; '.join(notes)})" if notes else ""
    n = 0 if evidence is None else evidence.n
    left_out = f"{sim} synthetic (sim) results are never counted" if sim else "no synthetic (sim) results among them"
    if evidence is None or n < min_samples:
        return Verdict(surface, ("too_few_real_samples",),
                       f"{surface}: too few real-data samples: {n} resolved trades from real data (real-data paper "
                       f"or live), fewer than the minimum {min_samples}; {left_out}{tail}", evidence, None)
    real_pairs = [(s.p_model, s.won) for s in scored if s.surface == surface and s.kind in REAL_KINDS]
    calibration = assess(surface, real_pairs, tolerance, min_samples)
    ece = calibration.ece
    reasons: list[Reason] = []
    figures: list[str] = []
    low = evidence.realized_edge_low
    edge = (f"realized edge {points(evidence.realized_edge)} per $1 of payoff (95% CI {points(low)} to "
            f"{points(evidence.realized_edge_high)}, over {evidence.edge_n} trades) vs claimed "
            f"{points(evidence.claimed_edge)}")
    if low is None or low <= 0:
        reasons.append("realized_edge_not_positive")
        figures.append(f"{edge}: lower bound not above zero")
    else:
        figures.append(edge)
    skill = (f"skill against the market {_signed(evidence.skill)} (Brier {evidence.brier_model:.4f} vs the "
             f"market's {evidence.brier_market:.4f}; won {evidence.win_rate:.1%} vs market "
             f"{evidence.mean_p_market:.1%}, model {evidence.mean_p_model:.1%})")
    if evidence.skill is None or evidence.skill <= 0:
        reasons.append("skill_not_positive")
        figures.append(f"{skill}: not positive")
    else:
        figures.append(skill)
    ece_text = f"ECE {ece:.3f}" if ece is not None else "ECE -"
    if ece is None or ece > tolerance:
        reasons.append("ece_too_high")
        figures.append(f"{ece_text} exceeds tolerance {tolerance:.3f}")
    else:
        figures.append(f"{ece_text} within tolerance {tolerance:.3f}")
    over = f"over {n} resolved trades from real data ({left_out})"
    if reasons:
        names = ", ".join(_REASON_WORDS[r] for r in reasons)
        message = (f"{surface}: not shown to beat the market ({names}) {over}: {'; '.join(figures)}{tail}; see "
                   f"`tbot audit calibration --since YYYY-MM-DD --surface {surface} --source real`")
    else:
        message = f"{surface}: beats the market on real data {over}: {'; '.join(figures)}{tail}"
    return Verdict(surface, tuple(reasons), message, evidence, ece)


_REASON_WORDS: dict[Reason, str] = {
    "too_few_real_samples": "too few real-data samples",
    "realized_edge_not_positive": "realized edge lower bound <= 0",
    "skill_not_positive": "skill <= 0",
    "ece_too_high": "ECE too high",
}


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{value:+.3f}"


def evidence_verdict(log_dir: Path, surface: str, tolerance: float = DEFAULT_TOLERANCE,
                     min_samples: int = DEFAULT_MIN_SAMPLES, *, since: datetime | None = None) -> Verdict:
    """Read the surface's resolved trades and their signals from ``log_dir`` and judge them.

    ``since`` limits the evidence to trades resolved from that moment on (default: the whole log).
    """
    window = Window.everything() if since is None else Window(since)
    loader = Loader(Path(log_dir), window, (surface,))
    trades = loader.resolved_trades()
    signals = loader.signals({t.signal_id for t in trades})
    scored, missing = score_all(trades, signals)
    skipped = loader.sources.corrupt_lines + loader.sources.invalid_records
    notes = []
    if missing:
        notes.append(f"{missing} resolved trades had no signal to score")
    if skipped:
        notes.append(f"{skipped} corrupt or invalid log lines skipped")
    return judge(scored, surface, tolerance, min_samples, tuple(notes))


def calibration_gate(log_dir: Path, surface: str, tolerance: float = DEFAULT_TOLERANCE,
                     min_samples: int = DEFAULT_MIN_SAMPLES, *, since: datetime | None = None) -> tuple[bool, str]:
    """(ok, message): ok iff the real-data evidence shows edge and skill against the market (module docstring)."""
    verdict = evidence_verdict(log_dir, surface, tolerance, min_samples, since=since)
    return verdict.ok, verdict.message


def live_start_check(log_dir: Path, surface: str, trading_mode: str, allow_uncalibrated: bool,
                     tolerance: float = DEFAULT_TOLERANCE,
                     min_samples: int = DEFAULT_MIN_SAMPLES) -> tuple[bool, str]:
    """(may_start, message) for a loop about to start: only live mode is gated, and the override lets it pass."""
    if trading_mode != "live":
        return True, f"{surface}: {trading_mode} mode: the evidence gate applies to live trading only"
    ok, message = calibration_gate(log_dir, surface, tolerance, min_samples)
    if ok:
        return True, message
    if allow_uncalibrated:
        return True, f"{message}; starting live anyway because {OVERRIDE_FLAG} was given"
    return False, f"refusing to start in TRADING_MODE=live: {message}; to override, pass {OVERRIDE_FLAG}"
