"""Requests to vendors, the vendor portal, review of what vendors submit, reminders."""
