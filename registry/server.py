"""How `registry serve` runs uvicorn: settings chosen by measurement (bench/servers.py, docs/benchmarks.md).

- httptools parses HTTP in C; h11, uvicorn's pure-Python default, cost a third of a cached lookup's
  throughput.
- The event loop is asyncio's, named so that an installed uvloop does not change it: under load uvloop
  reads new requests before it finishes answered ones (MagicStack/uvloop#123); the lookups' p99 was
  200 ms with it against 23-60 ms with asyncio.
- With several workers uvicorn binds the listening socket itself, with ``proto`` 0; accepted sockets
  inherit it and asyncio then leaves Nagle's algorithm on, so every keep-alive response after the first
  waited for the client's delayed ACK, ~40 ms (Kludex/uvicorn#3149): every endpoint, the trivial one
  included, was capped at 64 connections / 44 ms. The socket is re-labelled as TCP before the workers
  get it, which turns TCP_NODELAY back on. Where SO_REUSEPORT exists (Linux), each worker listens on a
  socket of its own instead (``_PerWorkerSocket``): the kernel spreads connections over the workers.
- Timeouts: uvicorn closes a keep-alive connection idle for ``keep_alive_seconds``, but nothing bounds
  the wait for a request head (a connection that sends nothing, or half a head, stayed open for
  ever: slowloris). ``_TimedHttpToolsProtocol`` closes a connection whose head is not complete
  ``header_timeout_seconds`` after it opened or after its previous response. It also answers what
  the parser refuses (a bad Content-Length, a 0xFF byte in the path) with problem+json, not text.
- Once the app has started, everything it has built so far (modules, routes, schemas: ~160,000 objects
  the collector tracks) is moved out of the garbage collector's sight with ``gc.freeze()``. Otherwise
  a full collection walks all of it every several seconds under load: a 70-110 ms pause of the event
  loop, which was the lookups' whole p99 tail (seen with a loop-lag monitor and ``gc.callbacks``).
"""

import asyncio
import gc
import ipaddress
import json
import os
import socket
import sys
from typing import TYPE_CHECKING

import uvicorn
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.supervisors import Multiprocess

from registry import redact
from registry.settings import Settings, get_settings

if TYPE_CHECKING:
    from litestar import Litestar


def create_served_app(settings: Settings | None = None) -> "Litestar":
    """The app as `registry serve` runs it in each worker: its heap is frozen once it has started.

    The app is imported here, not at the top: a worker unpickles its config (which names this module)
    before it starts answering the supervisor's pings, and importing the whole app took longer than
    uvicorn's 5-second ping on a busy machine, so the supervisor killed and replaced workers for ever."""
    from registry.app import create_app

    redact.install()  # in each worker process too: uvicorn configures its loggers there again
    app = create_app(settings)
    app.on_startup.append(_freeze_heap)
    return app


def _freeze_heap() -> None:
    gc.collect()  # what startup left as garbage goes now: frozen objects are never collected
    gc.freeze()


class _Config(uvicorn.Config):
    header_timeout_seconds = 10.0  # read by _TimedHttpToolsProtocol; serve() sets the configured one

    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return sock
        if self.workers > 1 and hasattr(socket, "SO_REUSEPORT"):
            family, address = sock.family, sock.getsockname()
            sock.close()
            return _bound(_PerWorkerSocket, family, address)
        if sock.proto != socket.IPPROTO_TCP:
            # The same listening socket, labelled TCP: accepted connections copy the label, and asyncio
            # sets TCP_NODELAY only on sockets labelled TCP.
            sock = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
        return sock


class _PerWorkerSocket(socket.socket):
    """The supervisor's socket: bound with SO_REUSEPORT to hold the address, never listening. A worker
    process that receives it (unpickling it) gets a listening socket of its own on the same address, and
    the kernel spreads new connections over the workers' sockets.

    One socket shared by every worker left the spreading to whichever worker woke first, and asyncio
    accepts up to ``backlog`` waiting connections per wake-up: a client opening its connections at once
    (a proxy filling its pool, wrk) often had them all served by one worker while the other idled."""

    def __reduce__(self):
        return _bound, (socket.socket, self.family, self.getsockname())


def _bound(kind: type[socket.socket], family: int, address: tuple) -> socket.socket:
    """A TCP socket (labelled so: asyncio then sets TCP_NODELAY) bound to ``address`` with SO_REUSEPORT."""
    sock = kind(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    return sock


class _TimedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, which also closes a connection whose request head is late."""

    head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)  # cancels the keep-alive timer; may complete a head
        between_requests = self.cycle is None or self.cycle.response_complete
        if self.head_timer is None and between_requests and self.timeout_keep_alive_task is None:
            self._await_head()  # bytes of a next head arrived (or only blank lines): time them too

    def on_headers_complete(self) -> None:
        self._stop_head_timer()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def _await_head(self) -> None:
        if not self.transport.is_closing():
            timeout = self.config.header_timeout_seconds
            self.head_timer = self.loop.call_later(timeout, self._head_timed_out)

    def _stop_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_timed_out(self) -> None:
        self.head_timer = None
        self.transport.close()

    def send_400_response(self, msg: str) -> None:
        # What the parser refuses never reaches the app: answer in the API's error format all the same.
        detail = "The request is not valid HTTP/1.1 (request line, headers or Content-Length)."
        body = json.dumps({"type": "about:blank", "title": "Bad Request", "status": 400, "detail": detail})
        head = [STATUS_LINE[400]]
        for name, value in self.server_state.default_headers:
            head.extend([name, b": ", value, b"\r\n"])
        head.append(b"content-type: application/problem+json\r\ncontent-length: %d\r\n" % len(body))
        self.transport.write(b"".join([*head, b"connection: close\r\n\r\n", body.encode()]))
        self.transport.close()


def listening_url(host: str, port: int) -> str:
    """The address `registry serve` listens on as a URL; on every interface, this machine's name."""
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - naming the address, not binding
        host = socket.getfqdn()
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def is_loopback(url: str) -> bool:
    host = url.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0].strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _choose_public_url(host: str, port: int) -> Settings:
    """Unset, the public URL is the listening address; the workers read it from the environment."""
    settings = get_settings()
    if settings.public_base_url is None:
        os.environ["REGISTRY_PUBLIC_BASE_URL"] = listening_url(host, port)
        get_settings.cache_clear()
        settings = get_settings()
    if is_loopback(settings.document_base_url):
        print(
            f"registry: documents will link to {settings.document_base_url}, a loopback address nobody "
            "else can open; set REGISTRY_PUBLIC_BASE_URL to the address people reach this server at.",
            file=sys.stderr,
        )
    return settings


def served_config(settings: Settings, host: str, port: int, workers: int) -> "_Config":
    """uvicorn's configuration for `registry serve`."""
    config = _Config(
        "registry.server:create_served_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="asyncio",
        http=_TimedHttpToolsProtocol,
        timeout_keep_alive=settings.keep_alive_seconds,
        access_log=settings.access_log,
        proxy_headers=False,
        server_header=False,
        timeout_worker_healthcheck=settings.worker_healthcheck_seconds,
    )
    config.header_timeout_seconds = settings.header_timeout_seconds
    return config


def serve(host: str, port: int, workers: int) -> None:
    redact.install()  # portal paths hold tokens: the access log says /portal/<token>
    config = served_config(_choose_public_url(host, port), host, port, workers)
    if workers > 1:  # as uvicorn.run() does, with the socket above
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    else:
        config.load_app()
        server = uvicorn.Server(config)
        server.run()
        if not server.started:
            sys.exit(3)  # uvicorn's STARTUP_FAILURE, as uvicorn.run() exits
