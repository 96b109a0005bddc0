"""Deterministic noise for the sim venues.

Every random draw is a pure function of (seed, keys): the same market at the same sim minute gets the same noise
whichever process asks and in whatever order, so two replays with one seed produce identical quotes and fills,
and the surface loop and the resolver (separate processes) see one market.
"""

from __future__ import annotations

import hashlib
import math
from statistics import NormalDist

_NORMAL = NormalDist()


def unit(seed: int, *keys: object) -> float:
    """A uniform draw in (0, 1) keyed by ``seed`` and ``keys``."""
    digest = hashlib.blake2b(repr((seed, *keys)).encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") + 0.5) / 2.0**64


def normal(seed: int, *keys: object) -> float:
    """A standard normal draw keyed by ``seed`` and ``keys`` (inverse CDF of :func:`unit`)."""
    return _NORMAL.inv_cdf(unit(seed, *keys))


def norm_cdf(x: float) -> float:
    """The standard normal CDF."""
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))
