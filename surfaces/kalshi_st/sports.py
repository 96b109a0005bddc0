"""Sports: de-vigged bookmaker consensus against the Kalshi price.

Each bookmaker quotes decimal odds on both outcomes; 1/odds overstates each probability by the bookmaker's margin
(the vig). Normalising a book's two implied probabilities to sum to one removes it; the median over books is the
consensus. The sim has no sports data, so on sim this strategy finds no markets; live it needs an OddsSource.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from shared.venues.base import Instrument, VenueError
from surfaces.binary import best_side
from surfaces.strategy import Proposal, TickContext, clamp_probability


@dataclass(frozen=True, slots=True)
class BookOdds:
    bookmaker: str
    yes_odds: Decimal  # decimal odds on the market's YES outcome
    no_odds: Decimal


class OddsSource(Protocol):
    def odds_for(self, instrument: Instrument) -> list[BookOdds]:
        """Current odds on the event behind a Kalshi sports market, one entry per bookmaker."""
        ...


def devig(odds: BookOdds) -> float | None:
    """The fair YES probability from one book's two-way odds (multiplicative de-vig)."""
    if odds.yes_odds <= 1 or odds.no_odds <= 1:
        return None
    q_yes, q_no = 1 / odds.yes_odds, 1 / odds.no_odds
    return float(q_yes / (q_yes + q_no))


class SportsConsensusStrategy:
    name = "sports_devig"

    def __init__(self, odds: OddsSource, min_books: int = 3) -> None:
        self.odds = odds
        self.min_books = min_books

    def propose(self, tick: TickContext) -> Iterator[Proposal]:
        for instrument in tick.instruments:
            if instrument.category != "sports" or instrument.status != "open":
                continue
            fair = [p for p in (devig(o) for o in self.odds.odds_for(instrument)) if p is not None]
            if len(fair) < self.min_books:
                continue
            p_yes = clamp_probability(statistics.median(fair))
            try:
                quote = tick.venue.quote(instrument.symbol)
            except VenueError:
                continue
            chosen = best_side(p_yes, quote)
            if chosen is None:
                continue
            side, price, p_model, p_market = chosen
            disagreement = statistics.pstdev(fair)
            yield Proposal(
                sub_strategy=self.name, instrument=instrument, side=side,  # type: ignore[arg-type]
                price=price, p_model=p_model, p_market=p_market,
                confidence=max(0.0, min(1.0, 1.0 - 4 * disagreement)), model_spread=disagreement,
                models=("strategy:sports_devig",), context={"books": len(fair), "consensus_yes": round(p_yes, 4)},
            )
