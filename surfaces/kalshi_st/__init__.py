"""Kalshi short-term: weather highs, BTC 15-minute up/down, sports."""
