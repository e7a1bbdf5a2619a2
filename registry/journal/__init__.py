"""Journal: append-only notes on vendors, contracts, deletions and attestations."""
