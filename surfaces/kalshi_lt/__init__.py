"""Kalshi long-term: politics and macro, priced by the LLM ensemble."""
