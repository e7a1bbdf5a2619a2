"""Processor Registry: the register of third parties that receive personal data."""

__version__ = "0.1.0"
