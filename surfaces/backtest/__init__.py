"""``tbot backtest``: one surface's own loop over a chosen window of replayed data, in venue time.

The runner generalises the fleet replay (surfaces/replay.py): the same ``build`` of the surface, the same sim venue,
risk chain, lifecycle and resolver, driven by a clock that jumps from one decision point to the next
(surfaces/backtest/clock.py). Its output is ordinary bus logs under ``logs/backtests/<id>/``.
"""
