"""Supervision: what needs the legal team's attention before it becomes a breach."""
