"""tbot's shared library: bus, records, config, money, risk, venues, AI ensemble and audit."""
