"""The risk chain: ten gates every new position passes, circuit breakers, live overrides.

Start at :mod:`shared.risk.chain` (``RiskChain``); gates are in :mod:`shared.risk.gates`, the candidate types in
:mod:`shared.risk.candidate`, breakers in :mod:`shared.risk.breakers`, live overrides in :mod:`shared.risk.overrides`.
"""
