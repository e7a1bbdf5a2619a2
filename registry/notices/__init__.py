"""Change notices to subscribers of the public sub-processor list, and their objections."""
