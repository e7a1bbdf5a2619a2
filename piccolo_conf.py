"""Lets Piccolo's own CLI (``piccolo migrations ...``) find the registry's engine and app."""

from registry.conf import APP_REGISTRY, DB

__all__ = ["APP_REGISTRY", "DB"]
