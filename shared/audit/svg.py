"""Inline SVG charts, generated in Python: no scripts, no fonts, no external assets.

Every chart is a self-contained ``<svg>`` element with a viewBox, so it scales with the page. Labels are
escaped; numbers are formatted here, never by the browser.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape

from shared.audit.calibration import BucketRow
from shared.audit.gates import GateStats

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")
WIDTH, HEIGHT = 640, 320
MARKERS_UP_TO = 60
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 64, 16, 28, 40


def _open(title: str, width: int = WIDTH, height: int = HEIGHT) -> list[str]:
    return [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{escape(title)}" class="chart">',
            f'<text x="{width / 2:.0f}" y="18" text-anchor="middle" class="title">{escape(title)}</text>']


def _text(x: float, y: float, label: str, anchor: str = "middle", cls: str = "tick") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" class="{cls}">{escape(label)}</text>'


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] (1, 2 or 5 times a power of ten apart)."""
    if not math.isfinite(low) or not math.isfinite(high):
        return [0.0]
    if high <= low:
        high = low + 1.0
    raw = (high - low) / max(1, count)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    start = math.floor(low / step) * step
    ticks = [round(start, 10)]
    while ticks[-1] < high - step * 1e-9:  # the last tick must reach the top of the data
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


class _Frame:
    """Maps data coordinates to the plot area and draws its axes."""

    def __init__(self, xs: tuple[float, float], ys: tuple[float, float],
                 width: int = WIDTH, height: int = HEIGHT) -> None:
        self.x0, self.x1 = xs if xs[1] > xs[0] else (xs[0], xs[0] + 1.0)
        self.y0, self.y1 = ys if ys[1] > ys[0] else (ys[0] - 1.0, ys[0] + 1.0)
        self.left, self.right = MARGIN_LEFT, width - MARGIN_RIGHT
        self.top, self.bottom = MARGIN_TOP, height - MARGIN_BOTTOM

    def x(self, value: float) -> float:
        return self.left + (value - self.x0) / (self.x1 - self.x0) * (self.right - self.left)

    def y(self, value: float) -> float:
        return self.bottom - (value - self.y0) / (self.y1 - self.y0) * (self.bottom - self.top)

    def axes(self, x_ticks: Sequence[tuple[float, str]], y_ticks: Sequence[tuple[float, str]],
             x_label: str, y_label: str) -> list[str]:
        out = [f'<rect x="{self.left}" y="{self.top}" width="{self.right - self.left}" '
               f'height="{self.bottom - self.top}" class="plot"/>']
        for value, label in y_ticks:
            y = self.y(value)
            out.append(f'<line x1="{self.left}" y1="{y:.1f}" x2="{self.right}" y2="{y:.1f}" class="grid"/>')
            out.append(_text(self.left - 6, y + 4, label, "end"))
        for value, label in x_ticks:
            out.append(_text(self.x(value), self.bottom + 16, label))
        out.append(_text((self.left + self.right) / 2, self.bottom + 34, x_label, cls="axis"))
        out.append(f'<text x="14" y="{(self.top + self.bottom) / 2:.1f}" text-anchor="middle" class="axis" '
                   f'transform="rotate(-90 14 {(self.top + self.bottom) / 2:.1f})">{escape(y_label)}</text>')
        return out


def _legend(names: Sequence[str], width: int = WIDTH) -> list[str]:
    out = []
    for i, name in enumerate(names):
        x = MARGIN_LEFT + 8 + (i % 3) * 190
        y = MARGIN_TOP + 14 + (i // 3) * 14
        colour = PALETTE[i % len(PALETTE)]
        out.append(f'<rect x="{x}" y="{y - 8}" width="10" height="10" fill="{colour}"/>')
        out.append(_text(x + 14, y + 1, name, "start", "legend"))
    return out


def _empty(title: str, note: str) -> str:
    parts = _open(title)
    parts.append(_text(WIDTH / 2, HEIGHT / 2, note, cls="axis"))
    parts.append("</svg>")
    return "\n".join(parts)


def line_chart(title: str, series: dict[str, list[tuple[float, float]]], x_label: str, y_label: str,
               x_format: str = "number") -> str:
    """Step-free polylines, one per series (e.g. cumulative net P&L against time). x_format: number | epoch."""
    points = [p for s in series.values() for p in s]
    if not points:
        return _empty(title, "no data in this window")
    xs = (min(p[0] for p in points), max(p[0] for p in points))
    y_ticks = nice_ticks(min(0.0, *(p[1] for p in points)), max(0.0, *(p[1] for p in points)))
    frame = _Frame(xs, (y_ticks[0], y_ticks[-1]))
    x_ticks = [(xs[0] + (xs[1] - xs[0]) * i / 4, "") for i in range(5)]
    if x_format == "epoch":
        x_ticks = [(v, datetime.fromtimestamp(v, UTC).strftime("%m-%d %H:%M")) for v, _ in x_ticks]
    else:
        x_ticks = [(v, f"{v:g}") for v, _ in x_ticks]
    parts = _open(title)
    parts += frame.axes(x_ticks, [(v, f"{v:,.2f}".rstrip("0").rstrip(".")) for v in y_ticks], x_label, y_label)
    for i, (_, data) in enumerate(series.items()):
        coords = " ".join(f"{frame.x(x):.1f},{frame.y(y):.1f}" for x, y in data)
        colour = PALETTE[i % len(PALETTE)]
        parts.append(f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
        if len(data) <= MARKERS_UP_TO:  # a short series (one trade) would otherwise draw nothing
            parts += [f'<circle cx="{frame.x(x):.1f}" cy="{frame.y(y):.1f}" r="2.5" fill="{colour}"/>'
                      for x, y in data]
    parts += _legend(list(series))
    parts.append("</svg>")
    return "\n".join(parts)


def reliability_diagram(title: str, table: Sequence[BucketRow]) -> str:
    """Predicted vs realized per bucket: the diagonal is perfect calibration; dot area grows with the count."""
    filled = [b for b in table if b.count and b.mean_predicted is not None and b.realized_frequency is not None]
    if not filled:
        return _empty(title, "no resolved forecasts in this window")
    frame = _Frame((0.0, 1.0), (0.0, 1.0), WIDTH, HEIGHT)
    ticks = [(v / 5, f"{v / 5:.1f}") for v in range(6)]
    parts = _open(title)
    parts += frame.axes(ticks, ticks, "predicted probability", "realized frequency")
    parts.append(f'<line x1="{frame.x(0):.1f}" y1="{frame.y(0):.1f}" x2="{frame.x(1):.1f}" y2="{frame.y(1):.1f}" '
                 f'class="ideal"/>')
    largest = max(b.count for b in filled)
    coords = []
    for b in filled:
        assert b.mean_predicted is not None and b.realized_frequency is not None
        x, y = frame.x(b.mean_predicted), frame.y(b.realized_frequency)
        coords.append(f"{x:.1f},{y:.1f}")
        radius = 3 + 7 * math.sqrt(b.count / largest)
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius:.1f}" fill="{PALETTE[0]}" fill-opacity="0.6">'
                     f'<title>{escape(f"{b.lower:.1f}-{b.upper:.1f}: n={b.count}")}</title></circle>')
    parts.append(f'<polyline points="{" ".join(coords)}" fill="none" stroke="{PALETTE[0]}" stroke-width="1"/>')
    parts.append("</svg>")
    return "\n".join(parts)


def scatter(title: str, points: Sequence[tuple[float, float]], x_label: str, y_label: str) -> str:
    """Points with the y = x line (for ETA: above the line resolved later than promised)."""
    if not points:
        return _empty(title, "no resolved trades with an ETA in this window")
    top = max(max(x for x, _ in points), max(y for _, y in points))
    ticks = nice_ticks(0.0, top)
    frame = _Frame((0.0, ticks[-1]), (0.0, ticks[-1]))
    labelled = [(v, f"{v:g}") for v in ticks]
    parts = _open(title)
    parts += frame.axes(labelled, labelled, x_label, y_label)
    parts.append(f'<line x1="{frame.x(0):.1f}" y1="{frame.y(0):.1f}" x2="{frame.x(ticks[-1]):.1f}" '
                 f'y2="{frame.y(ticks[-1]):.1f}" class="ideal"/>')
    for x, y in points:
        colour = PALETTE[1] if y > x else PALETTE[0]
        parts.append(f'<circle cx="{frame.x(x):.1f}" cy="{frame.y(y):.1f}" r="2.5" fill="{colour}" '
                     f'fill-opacity="0.7"/>')
    parts.append("</svg>")
    return "\n".join(parts)


def funnel(title: str, decisions: int, gates: Sequence[GateStats]) -> str:
    """Horizontal bars: candidates alive after each gate, in chain order, from all decisions down."""
    if decisions == 0:
        return _empty(title, "no decisions in this window")
    rows = [("decisions", decisions, 0), *((g.gate, g.survivors, g.stopped) for g in gates)]
    bar_height, gap = 18, 6
    height = MARGIN_TOP + len(rows) * (bar_height + gap) + 12
    left, right = 150, WIDTH - 90
    parts = _open(title, WIDTH, height)
    for i, (name, alive, stopped) in enumerate(rows):
        y = MARGIN_TOP + i * (bar_height + gap)
        length = (right - left) * alive / decisions
        parts.append(_text(left - 8, y + 13, name, "end"))
        parts.append(f'<rect x="{left}" y="{y}" width="{length:.1f}" height="{bar_height}" fill="{PALETTE[2]}"/>')
        label = f"{alive:,}" + (f" (-{stopped:,})" if stopped else "")
        parts.append(_text(left + length + 6, y + 13, label, "start"))
    parts.append("</svg>")
    return "\n".join(parts)
