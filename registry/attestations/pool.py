"""The process pool that renders, signs and checks PDFs, so the event loop never does."""

import asyncio
import contextlib
import importlib
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from registry.attestations import pades
from registry.errors import unavailable
from registry.settings import Settings
from registry.timestamps import tsa_unavailable


def _start_worker(parent: int) -> None:
    """PDF workers yield the CPU to the API workers: a lookup on a data transfer's path should not wait
    behind a batch of attestations (on a busy machine, attestations take longer instead). Linux's
    SCHED_IDLE lets any API worker that wakes up preempt a PDF worker at once; elsewhere, nice 19.

    And they end with their API worker: one killed outright (SIGKILL, the OOM killer) used to leave its
    PDF workers behind, idle, for good."""
    threading.Thread(target=_exit_with, args=(parent,), name="exit-with-parent", daemon=True).start()
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        with contextlib.suppress(OSError):
            os.nice(19)


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


def _call(target: str, *args):
    """Runs ``module:function`` in a worker. The API process names what to run instead of importing it:
    it never imports WeasyPrint, a third of its start-up (every `registry serve` and CLI command)."""
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)(*args)


class PdfPool:
    """Started with the app; worker processes start on first use and keep fonts and the key loaded."""

    def __init__(self, settings: Settings):
        self.settings = settings
        # spawn, not fork: the parent holds database connections and threads.
        self.executor = ProcessPoolExecutor(
            max_workers=settings.pdf_workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(os.getpid(),),
        )

    def _signing_files(self) -> tuple[str, str]:
        key, cert = self.settings.signing_key_file, self.settings.signing_cert_file
        if not (Path(key).is_file() and Path(cert).is_file()):
            raise unavailable(
                "No signing key and certificate: run `registry signing init` for a trial key, or set "
                "REGISTRY_SIGNING_KEY_FILE and REGISTRY_SIGNING_CERT_FILE.",
            )
        return str(Path(key).resolve()), str(Path(cert).resolve())

    def _timestamping(self) -> pades.Timestamping | None:
        url = self.settings.tsa_url
        if not url:
            return None
        ca_file = pades.trusted_file(self.settings.tsa_ca_file)
        return pades.Timestamping(url, self.settings.tsa_timeout_seconds, ca_file)

    async def render(self, facts: dict) -> bytes:
        key, cert = self._signing_files()
        secret = self.settings.signing_key_passphrase
        passphrase = secret.get_secret_value().encode() if secret else None
        tsa = self._timestamping()
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                self.executor,
                _call,
                "registry.attestations.pdf:render_and_sign",
                facts,
                key,
                cert,
                passphrase,
                tsa,
            )
        except pades.SigningKeyError:
            raise unavailable(
                "The signing key or certificate could not be loaded: check the files, that they "
                "belong together, and REGISTRY_SIGNING_KEY_PASSPHRASE.",
            ) from None
        except pades.TimestampUnavailable as failure:
            # Never a silently untimestamped attestation while a TSA is configured: nothing is issued.
            raise tsa_unavailable(tsa.url, str(failure)) from None

    async def check_signature(self, document: bytes) -> dict:
        """pades.SignatureReport of the document, as a dict."""
        _, cert = self._signing_files()
        ca_file = pades.trusted_file(self.settings.tsa_ca_file)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.executor, _call, "registry.attestations.pdf:check_signature", document, cert, ca_file
        )

    async def run(self, target: str, *args):
        """Any other rendering (a report), named ``module:function``, in the same worker processes."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, _call, target, *args)

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
