"""The resolver: closes FX/STK positions at SL/TP, settles Kalshi positions, tags the resolution source."""
