"""Money: fees, edge, sizing and per-surface ledgers. Integer cents and Decimal only, never float."""
