"""Secrets that travel in URL paths never reach a log: a vendor portal path holds its token, so every
logged path says ``/portal/<token>`` instead (errors.py, and uvicorn's access log through the filter);
so do a subscriber's links (``/public/confirm/<token>``, ``/public/unsubscribe/…``, ``/public/object/…``)."""

import logging
import re

_PORTAL = re.compile(r"^/portal/[^/?#]+")
_SUBSCRIBER = re.compile(r"^/public/(confirm|unsubscribe|object)/[^/?#]+")


def redact_path(path: str) -> str:
    return _SUBSCRIBER.sub(r"/public/\1/<token>", _PORTAL.sub("/portal/<token>", path))


class RedactedPaths(logging.Filter):
    """Rewrites the path of uvicorn's access-log records ("%s - "%s %s HTTP/%s" %d": the third argument)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_path(args[2]), *args[3:])
        return True


def install() -> None:
    """Once per process, before uvicorn serves (its access and error loggers log paths)."""
    for name in ("uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactedPaths) for f in logger.filters):
            logger.addFilter(RedactedPaths())
