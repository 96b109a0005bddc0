"""IBKR US equities through the ibeam gateway, ATR-bracketed, within market hours."""
