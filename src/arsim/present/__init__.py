"""Charts (and reports) built from the typed results."""
