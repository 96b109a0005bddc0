"""Writes envs/*.env.example from the settings classes, so every key is listed with its default and meaning.

``python -m surfaces.envdoc`` rewrites the examples; the test suite fails if a committed example differs from what
this renders (a key added to a settings class without documentation, or a changed default).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from shared.config import ProcessSettings, SurfaceSettings

DOCS: dict[str, str] = {
    "trading_mode": "paper (default: sim fills, signals marked dry_run) or live (real orders; needs credentials)",
    "log_dir": "where the append-only JSONL logs live",
    "log_level": "DEBUG | INFO | WARNING | ERROR",
    "discord_webhook_url": "optional Discord webhook for trades, breaker trips, quarantines and errors (secret)",
    "telegram_bot_token": "optional Telegram bot token (secret); needs TELEGRAM_CHAT_ID",
    "telegram_chat_id": "Telegram chat to notify",
    "notify_timeout_seconds": "per notification attempt; an unreachable webhook never stalls a loop",
    "venue": "sim (default, replays real data) or the live venue: kalshi | oanda | ibkr",
    "tick_seconds": "loop cadence",
    "sim_seed": "seed of the sim venue's noise: the same seed replays the same market",
    "signal_key_path": "operator's Ed25519 signing key (created 0600 on first run)",
    "market_record": "auto (record on live venues and paper on live data, not on the sim) | on | off: append the "
                     "market data this surface sees (listings, quotes, books, candles, results) to "
                     "logs/<surface>/market.jsonl; unchanged quotes and books are not written again",
    "market_record_depth": "book levels per side kept by the market recorder",
    "bankroll_cents": "this surface's own bankroll; one surface can never spend another's",
    "kelly_fraction": "fraction of full Kelly for binary contracts",
    "risk_per_trade_pct": "FX/stocks: bankroll fraction lost if the stop is hit",
    "max_position_pct": "cap on one position's cost as a fraction of equity",
    "max_position_cents": "absolute cap on one position's cost",
    "per_market_cap_cents": "gate 3: total exposure on one market",
    "max_open_positions": "gate 6: open positions at once",
    "daily_loss_limit_cents": "gate 6: daily-loss breaker (resets on the day boundary)",
    "weekly_loss_limit_cents": "gate 6: weekly-loss breaker",
    "max_drawdown_pct": "gate 6: drawdown from peak equity that halts new risk",
    "category_concentration_pct": "gate 6: exposure per category as a fraction of equity",
    "underlying_concentration_pct": "gate 6: exposure per underlying (event, pair, symbol) as a fraction of equity",
    "allowed_sides": "gate 4: sides this surface may take",
    "suspended_categories": "gate 5: categories suspended by the operator",
    "suspended_sub_strategies": "gate 5: sub-strategies suspended by the operator",
    "reentry_cooldown_seconds": "gate 2: wait after closing a market before re-entering it",
    "min_edge": "gate 8: minimum edge after fees in probability points (0.03 = 3¢ a contract)",
    "min_confidence": "gate 9: minimum model confidence",
    "max_model_spread": "gate 9: maximum model disagreement (weighted std of the ensemble)",
    "day_boundary_tz": "time zone whose midnight resets the daily breakers (IANA name)",
    "rapid_exit_count": "exits within RAPID_EXIT_WINDOW_SECONDS that quarantine the surface until `tbot resume`",
    "rapid_exit_window_seconds": "window of the rapid-exit protection",
    "kalshi_env": "demo | prod base URL",
    "kalshi_base_url": "overrides the demo/prod base URL (tests point it at loopback)",
    "kalshi_order_api": "v2 (/portfolio/events/orders; V1 order writes left the spec in 3.22) or v1",
    "kalshi_series": "Kalshi series this surface scans live (the sim lists its own markets)",
    "kalshi_api_key_id": "Kalshi API key id (secret; live only)",
    "kalshi_private_key_path": "path to the Kalshi RSA private key PEM (chmod 600; live only)",
    "kalshi_ws": "on: Kalshi order books and quotes from the WebSocket's local books (snapshot + deltas, seq "
                 "checked) while in sync and fresh, REST otherwise; off (default): REST only",
    "kalshi_ws_url": "overrides the WebSocket URL (default: the base URL's host + /trade-api/ws/v2)",
    "kalshi_ws_stale_seconds": "a WebSocket book is served only if the socket answered within this many seconds "
                               "(pinged every third of it); else REST",
    "oanda_env": "practice | live base URL",
    "oanda_base_url": "overrides the practice/live base URL",
    "oanda_api_token": "OANDA API token (secret; live only)",
    "oanda_account_id": "OANDA account id (live only)",
    "ibkr_gateway_url": "the ibeam / Client Portal gateway",
    "ibkr_account_id": "IBKR account id (live only)",
    "ibkr_verify_tls": "verify the gateway's TLS certificate (ibeam ships a self-signed one)",
    "anthropic_api_key": "optional (secret): without LLM keys the offline model answers, labelled offline-baseline",
    "openai_api_key": "optional (secret): GPT-4o",
    "gemini_api_key": "optional (secret): Gemini through google-genai",
    "deepseek_api_key": "optional (secret): DeepSeek through the openai SDK",
    "llm_models": "provider:model entries asked in parallel (only providers with a key are asked)",
    "llm_max_output_tokens": "per model answer",
    "llm_learned_weights_min_resolved": "resolved answers a model needs before its learned weight is used",
    "llm_offline_base_rate": "offline baseline: the base rate LLM_OFFLINE_SLOPE moves the market price around",
    "llm_offline_confidence": "offline baseline: the confidence it reports (below MIN_CONFIDENCE: it is no opinion)",
    "anthropic_base_url": "overrides Anthropic's API URL (tests)",
    "openai_base_url": "overrides OpenAI's API URL (tests)",
    "gemini_base_url": "overrides Gemini's API URL (tests)",
    "deepseek_base_url": "DeepSeek's OpenAI-compatible API URL",
    "st_strategies": "sub-strategies to run: weather_high, btc_15m, sports_devig",
    "weather_kernel_sd": "°F of error attached to each forecast ensemble member",
    "weather_horizon_days": "trade weather events up to this many days ahead",
    "btc_reference_symbol": "the candles BTC 15-minute markets are priced from",
    "btc_min_atr_fraction": "volatility regime gate: no trades when 1-minute ATR/price is below this",
    "btc_max_atr_fraction": "volatility regime gate: no trades when 1-minute ATR/price is above this",
    "sports_min_books": "bookmakers needed for a de-vigged consensus",
    "lt_categories": "market categories the long-term surface trades",
    "lt_max_markets_per_tick": "markets put to the ensemble per tick",
    "lt_trend_window_hours": "market's own move over this window, recorded per decision (no model sees it)",
    "lt_trend_scale": "a move of this size (in probability) over the window counts as a full-strength trend",
    "bracket_granularity_s": "candle size for ATR, EMAs and the resolver's SL/TP checks",
    "atr_period": "bars in the ATR",
    "ema_fast": "fast EMA bars (trend filter)",
    "ema_slow": "slow EMA bars (trend filter)",
    "roc_lookback": "bars of the momentum confirmation",
    "sl_atr_mult": "stop-loss distance in ATRs",
    "tp_atr_mult": "take-profit distance in ATRs",
    "max_tilt": "most the trend may move P(TP first) above the driftless sl/(sl+tp)",
    "fx_pairs": "OANDA instruments traded",
    "strategy_weight": "weight of the bracket strategy's probability in the blend with the ensemble",
    "ensemble_weight": "weight of the LLM ensemble's probability in the blend",
    "stock_symbols": "US equities traded (quoted only within market hours)",
    "tick_seconds@resolver": "how often the resolver checks open positions",
    "surface_envs": "surface=env-file pairs: the resolver reaches each venue with that surface's settings",
    "weather_settlement": "kalshi (the venue's settlement) or nws (the NWS Daily Climate Report)",
    "nws_user_agent": "User-Agent api.weather.gov requires (name and contact)",
}

EXAMPLES: dict[str, tuple[str, str, dict[str, str]]] = {
    # file: (settings class path, heading, values that differ from the class default in the example)
    "st.env.example": ("surfaces.kalshi_st.config:StSettings", "Kalshi short-term (st-bot-loop)", {}),
    "lt.env.example": ("surfaces.kalshi_lt.config:LtSettings", "Kalshi long-term (st-lt-loop)", {}),
    "fx.env.example": ("surfaces.fx.config:FxSettings", "OANDA FX (st-forex-loop)", {}),
    "stk.env.example": ("surfaces.stocks.config:StkSettings", "IBKR US equities (st-stocks-loop)", {}),
    "resolver.env.example": ("surfaces.resolver.config:ResolverSettings", "Resolver (st-resolver)", {}),
}


def _value(default: Any) -> str:
    if default is None:
        return ""
    if isinstance(default, tuple):
        return ",".join(str(v) for v in default)
    if isinstance(default, bool):
        return "true" if default else "false"
    return str(default)


def _doc(name: str, info: FieldInfo, process: str) -> str:
    return DOCS.get(f"{name}@{process}") or DOCS.get(name) or info.description or ""


def render(cls: type[BaseSettings], heading: str, values: dict[str, str]) -> str:
    process = "resolver" if not issubclass(cls, SurfaceSettings) else "surface"
    lines = [f"# {heading}: every key this process reads, with its safe paper default.",
             "# Copy to the same name without .example (make up does it once); keep it chmod 600 if it holds secrets.",
             "# An unknown, malformed or invalid key stops the process with exit code 2 naming the key.", ""]
    groups = [("Process", ProcessSettings)] + ([("Surface, bankroll, risk gates, venues", SurfaceSettings)]
                                               if process == "surface" else [])
    done: set[str] = set()
    for title, base in [*groups, ("This process", cls)]:
        names = [n for n in base.model_fields if n in cls.model_fields and n not in done]
        if not names:
            continue
        lines.append(f"# --- {title}")
        for name in names:
            info = cls.model_fields[name]
            doc = _doc(name, info, process)
            if not doc:
                raise ValueError(f"{cls.__name__}.{name} has no documentation: add it to surfaces/envdoc.DOCS")
            lines.append(f"# {doc}")
            lines.append(f"{name.upper()}={values.get(name, _value(info.default))}")
            done.add(name)
        lines.append("")
    return "\n".join(lines)


def _load(path: str) -> type[BaseSettings]:
    import importlib

    module, _, attr = path.partition(":")
    cls: type[BaseSettings] = getattr(importlib.import_module(module), attr)
    return cls


def rendered() -> dict[str, str]:
    return {name: render(_load(path), heading, values) for name, (path, heading, values) in EXAMPLES.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m surfaces.envdoc", description=__doc__)
    parser.add_argument("--envs", type=Path, default=Path("envs"))
    parser.add_argument("--check", action="store_true", help="exit 1 if a committed example is out of date")
    args = parser.parse_args(argv)
    stale = []
    for name, text in rendered().items():
        path = args.envs / name
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        print("out of date: " + ", ".join(stale) + " (run python -m surfaces.envdoc)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
