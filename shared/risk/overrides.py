"""Live threshold changes: SettingsOverride records from ``logs/<surface>/overrides.jsonl`` applied on top of the
surface's env-file settings.

Record format (the dashboard writes these; ``key`` is case-insensitive):
- ``{"key": "<setting>", "value": <new value>}`` for any key in :data:`OVERRIDABLE` (risk thresholds and sizing).
  Values are validated exactly like the env file's (``"0.05"``, ``5``, ``"politics,sports"`` all work);
  ``value: null`` reverts the key to the env file's value.
- ``{"key": "suspend_category" | "resume_category" | "suspend_sub_strategy" | "resume_sub_strategy",
  "value": "<name>"}`` adds or removes one name from the suspended set.
An override that is not allowed or does not validate is skipped and logged; it never stops the loop and never
changes the other overrides. Later records win.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from shared.bus import LogReader
from shared.config import SurfaceSettings
from shared.paths import stream_path
from shared.records import SettingsOverride, parse_record
from shared.risk.gates import parse_strategy_sides

log = logging.getLogger(__name__)

OVERRIDABLE: frozenset[str] = frozenset(
    {
        "kelly_fraction",
        "risk_per_trade_pct",
        "max_position_pct",
        "max_position_cents",
        "per_market_cap_cents",
        "max_open_positions",
        "daily_loss_limit_cents",
        "weekly_loss_limit_cents",
        "max_drawdown_pct",
        "category_concentration_pct",
        "underlying_concentration_pct",
        "allowed_sides",
        "strategy_sides",
        "suspended_categories",
        "suspended_sub_strategies",
        "reentry_cooldown_seconds",
        "slippage_tolerance",
        "min_edge",
        "min_confidence",
        "max_model_spread",
        "api_cost_cap_cents",
        "rapid_exit_count",
        "rapid_exit_window_seconds",
    }
)
_LIST_ACTIONS = {
    "suspend_category": ("suspended_categories", True),
    "resume_category": ("suspended_categories", False),
    "suspend_sub_strategy": ("suspended_sub_strategies", True),
    "resume_sub_strategy": ("suspended_sub_strategies", False),
}


class OverrideError(ValueError):
    """An override that cannot be applied (unknown key or invalid value)."""


class OverrideSet:
    """The env-file settings plus the overrides applied so far; :attr:`settings` is the effective result."""

    def __init__(self, base: SurfaceSettings) -> None:
        self.base = base
        self.values: dict[str, Any] = {}
        self.settings = base

    def apply(self, key: str, value: Any) -> SurfaceSettings:
        """Apply one override; raises :class:`OverrideError` (leaving the settings unchanged) if it is invalid."""
        name = key.strip().lower()
        values = dict(self.values)
        if name in _LIST_ACTIONS:
            target, add = _LIST_ACTIONS[name]
            if not isinstance(value, str) or not value.strip():
                raise OverrideError(f"{name}: value must be a non-empty name")
            current = list(getattr(self.settings, target))
            item = value.strip()
            if add and item not in current:
                current.append(item)
            elif not add and item in current:
                current.remove(item)
            values[target] = tuple(current)
        elif name in OVERRIDABLE:
            if value is None:
                values.pop(name, None)
            else:
                values[name] = value
        else:
            raise OverrideError(f"{name}: not a setting that can be overridden at run time")
        try:
            # model_validate runs the same validators as the env file but reads no environment variables. It must be
            # the surface's own class (FxSettings, ...): the base class would refuse the surface's extra keys.
            settings = type(self.base).model_validate({**self.base.model_dump(), **values})
        except ValidationError as exc:
            error = exc.errors()[0]
            raise OverrideError(f"{name}: {error.get('msg', 'invalid value')}") from None
        try:
            parse_strategy_sides(settings.strategy_sides)
        except ValueError as exc:
            raise OverrideError(str(exc)) from None
        self.values = values
        self.settings = settings
        return settings


class OverrideFeed:
    """Follows one surface's overrides log and folds each new record into an :class:`OverrideSet`."""

    def __init__(self, log_dir: Path, surface: str, overrides: OverrideSet) -> None:
        self.surface = surface
        self.overrides = overrides
        self.rejected: list[tuple[SettingsOverride, str]] = []
        self._reader = LogReader(stream_path(log_dir, surface, "overrides"))

    def poll(self) -> bool:
        """Apply overrides appended since the last call; True if the effective settings changed."""
        changed = False
        for entry in self._reader.read():
            if entry.data.get("kind") != "override":
                continue
            try:
                record = parse_record(SettingsOverride, entry.data, entry.ts)
            except ValidationError as exc:
                log.warning("%s overrides: skipped invalid record at byte %d: %s", self.surface, entry.offset, exc)
                continue
            if record.surface != self.surface:
                continue
            try:
                self.overrides.apply(record.key, record.value)
            except OverrideError as exc:
                self.rejected.append((record, str(exc)))
                log.warning("%s overrides: rejected %s", self.surface, exc)
                continue
            changed = True
        return changed
