"""The public sub-processor list and its feed of additions and removals (no key needed)."""
