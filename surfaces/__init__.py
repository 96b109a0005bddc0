"""The surfaces: one package per market surface plus the resolver. Strategies and loop wiring live here."""
