"""OANDA FX: the major pairs with ATR-bracketed entries."""
